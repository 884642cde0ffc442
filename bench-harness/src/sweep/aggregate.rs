//! `snnbench sweep report DIR`: every finished cell's metrics (`cell_metrics.csv`, one row per cell, contender and
//! metric, read from the cell's own CSVs), their statistics per condition (the cell's axes without the seed),
//! contender and metric (`aggregate.csv`: n, mean, SD, SE, Student-t 95 % CI, min, max), error-bar plots and
//! `report.md`. Cells that failed or did not finish are counted and named, never averaged over.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::stats::Row;
pub use super::stats::{METRICS, Stats, condition, stats};
use super::{
    CELL_FILE, SPEC_FILE, State, folder_spec,
    spec::{is_grouping_axis, show},
    state,
};
use crate::results::plot::contender_rank;
use crate::results::table::{Table, Value};

/// A row of `cell_metrics.csv`: one metric of one contender in one finished cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellMetricRow {
    pub cell: String,
    /// The cell's axes without the seed.
    pub condition: String,
    pub contender: String,
    pub metric: String,
    pub value: f64,
    /// Which of the cell's files and columns it came from.
    pub source: String,
}

/// Columns of `aggregate.csv` after one column per axis other than `seed` (which depend on the sweep, so this table
/// has no fixed row type).
pub const AGGREGATE_COLUMNS: [&str; 13] = [
    "condition",
    "contender",
    "metric",
    "n",
    "mean",
    "sd",
    "se",
    "ci95_low",
    "ci95_high",
    "t_quantile",
    "min",
    "max",
    "cells",
];

/// One metric value of one cell.
#[derive(Clone, Debug)]
struct Sample {
    cell: String,
    condition: String,
    contender: String,
    metric: &'static str,
    value: f64,
    source: String,
}

fn last(t: &Table, col: &str) -> Option<f64> {
    t.f64s(col).ok()?.last().copied().flatten()
}

/// The metrics of one finished cell, from its own CSVs, and the code revisions (`git_rev`) its training rows were
/// made by.
fn cell_samples(cell_dir: &Path, id: &str, condition: &str) -> Result<(Vec<Sample>, Vec<String>)> {
    let mut out = vec![];
    let mut revs = vec![];
    let mut push = |contender: &str, metric: &'static str, value: Option<f64>, source: String| {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            out.push(Sample {
                cell: id.into(),
                condition: condition.into(),
                contender: contender.into(),
                metric,
                value: v,
                source,
            });
        }
    };
    let mut files: Vec<_> = std::fs::read_dir(cell_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                (n.starts_with("training_") || n.starts_with("fit_")) && n.ends_with(".csv")
            })
        })
        .collect();
    files.sort();
    let mut chip = None;
    for f in files {
        let t = Table::read_csv(&f)?;
        if t.is_empty() {
            continue;
        }
        if let Ok(r) = t.strs("git_rev") {
            revs.extend(r);
        }
        let name = t.strs("experiment")?.first().cloned().unwrap_or_default();
        let file = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if file.starts_with("fit_") {
            // The run did not fit its device: a result with the bytes it needed.
            push(&name, "fits", Some(0.0), format!("{file}: did not fit"));
            push(&name, "bytes_needed", last(&t, "bytes_needed"), format!("{file} bytes_needed"));
            continue;
        }
        push(&name, "fits", Some(1.0), format!("{file}: trained"));
        let (acc, val) = (t.f64s("test_accuracy")?, t.f64s("validation_accuracy")?);
        let best = (0..val.len()).fold(None, |b: Option<usize>, i| match (b, val[i]) {
            (None, Some(_)) => Some(i),
            (Some(j), Some(v)) if v > val[j].unwrap_or(f64::NEG_INFINITY) => Some(i),
            (b, _) => b,
        });
        push(&name, "final_test_accuracy", last(&t, "test_accuracy"), format!("{file}, last row"));
        push(
            &name,
            "best_validation_test_accuracy",
            best.and_then(|b| acc[b]),
            format!("{file}, row of the best validation_accuracy (the first if tied)"),
        );
        push(&name, "final_test_loss", last(&t, "test_loss"), format!("{file}, last row"));
        let samples: f64 = t.f64s("train_samples")?.iter().flatten().sum();
        let secs: f64 = t.f64s("wall_time_s")?.iter().flatten().sum();
        push(
            &name,
            "samples_per_s",
            (secs > 0.0).then(|| samples / secs),
            format!("{file}: Σ train_samples / Σ wall_time_s"),
        );
        if t.columns.iter().any(|c| c == "gpu_buffer_bytes") {
            push(&name, "gpu_buffer_bytes", last(&t, "gpu_buffer_bytes"), format!("{file}, last row"));
        }
        if name.starts_with("chip_") {
            chip = Some(name);
        }
    }
    let totals = cell_dir.join("cost_totals.csv");
    if let (Some(name), true) = (chip, totals.exists()) {
        let t = Table::read_csv(&totals)?;
        for (metric, col) in [
            ("chip_energy_j_per_sample", "energy_j_per_sample_chip"),
            ("gpu_energy_j_per_sample", "energy_j_per_sample_gpu"),
            ("energy_ratio_gpu_over_chip", "energy_ratio"),
            ("chip_time_s_per_sample", "chip_time_s_per_sample"),
            ("chip_memory_bytes", "memory_bytes_total"),
            ("chip_cycles_per_step_max", "cycles_per_step_max"),
        ] {
            push(&name, metric, last(&t, col), format!("cost_totals.csv {col} (modelled)"));
        }
    }
    revs.sort();
    revs.dedup();
    Ok((out, revs))
}

/// Aggregates sweep `dir` and returns a summary.
pub fn report(dir: &Path) -> Result<String> {
    let spec = folder_spec(dir)?;
    let cells = spec.cells(&dir.join(SPEC_FILE))?;
    let mut samples = vec![];
    let mut not_done = vec![];
    let mut revisions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &cells {
        let cell_dir = dir.join("cells").join(&c.id);
        match state(dir, &c.id) {
            State::Done => {
                let (mine, revs) = cell_samples(&cell_dir, &c.id, &condition(&c.axes))?;
                samples.extend(mine);
                for r in revs {
                    revisions.entry(r).or_default().push(c.id.clone());
                }
            }
            State::Failed(err) => not_done.push((c.id.clone(), format!("failed: {err}"))),
            State::Running(h) => not_done.push((c.id.clone(), format!("running (pid {} on {})", h.pid, h.host))),
            State::Pending if cell_dir.join(CELL_FILE).exists() => {
                not_done.push((c.id.clone(), "did not finish (a re-run resumes it)".into()))
            }
            State::Pending => not_done.push((c.id.clone(), "missing (never started)".into())),
        }
    }
    let raw: Vec<CellMetricRow> = samples
        .iter()
        .map(|s| CellMetricRow {
            cell: s.cell.clone(),
            condition: s.condition.clone(),
            contender: s.contender.clone(),
            metric: s.metric.into(),
            value: s.value,
            source: s.source.clone(),
        })
        .collect();
    Table::from_rows(&raw)?.write_csv(&dir.join("cell_metrics.csv"))?;

    // Group: condition (in cell order) × contender (fixed order) × metric (report order).
    let mut conditions: Vec<String> = vec![];
    for c in &cells {
        let k = condition(&c.axes);
        if !conditions.contains(&k) {
            conditions.push(k);
        }
    }
    let mut groups: Groups = BTreeMap::new();
    for s in &samples {
        let ci = conditions.iter().position(|c| *c == s.condition).unwrap_or(0);
        let mi = METRICS.iter().position(|m| m.0 == s.metric).unwrap_or(0);
        groups.entry((ci, contender_rank(&s.contender), mi)).or_default().push(s);
    }
    let axis_cols: Vec<String> = spec.axes.iter().map(|a| a.0.clone()).filter(|k| !is_grouping_axis(k)).collect();
    let mut cols: Vec<&str> = axis_cols.iter().map(String::as_str).collect();
    cols.extend(AGGREGATE_COLUMNS);
    let mut agg = Table::new(&cols);
    let mut rows = vec![];
    for ((ci, (_, contender), mi), group) in &groups {
        let v: Vec<f64> = group.iter().map(|s| s.value).collect();
        let st = stats(&v);
        let axes_of = cells.iter().find(|c| condition(&c.axes) == conditions[*ci]).map(|c| c.axes.clone());
        let mut row: Vec<(&str, Value)> = vec![];
        for k in &axis_cols {
            let v = axes_of.as_ref().and_then(|a| a.iter().find(|(n, _)| n == k)).map(|(_, v)| v.clone());
            row.push((
                k.as_str(),
                match v {
                    Some(toml::Value::Integer(i)) => Value::I(i),
                    Some(toml::Value::Float(f)) => f.into(),
                    Some(v) => show(&v).into(),
                    None => Value::Null,
                },
            ));
        }
        row.extend([
            ("condition", conditions[*ci].clone().into()),
            ("contender", contender.clone().into()),
            ("metric", METRICS[*mi].0.into()),
            ("n", st.n.into()),
            ("mean", st.mean.into()),
            ("sd", st.sd.into()),
            ("se", st.se.into()),
            ("ci95_low", st.ci95.map(|c| c.0).into()),
            ("ci95_high", st.ci95.map(|c| c.1).into()),
            ("t_quantile", st.t.into()),
            ("min", st.min.into()),
            ("max", st.max.into()),
            ("cells", group.iter().map(|s| s.cell.as_str()).collect::<Vec<_>>().join(" ").into()),
        ]);
        agg.push(row)?;
        rows.push((*ci, contender.clone(), *mi, st));
    }
    agg.write_csv(&dir.join("aggregate.csv"))?;
    let plots = super::plots::plot_all(dir, &spec, &cells, &conditions, &rows)?;
    let md = markdown(dir, &spec, cells.len(), &not_done, &revisions, &conditions, &rows, &plots);
    std::fs::write(dir.join("report.md"), md)?;
    Ok(format!(
        "sweep report: {} of {} cells aggregated ({} not finished); aggregate.csv, cell_metrics.csv, {} plots and \
         report.md in {}",
        cells.len() - not_done.len(),
        cells.len(),
        not_done.len(),
        plots.len(),
        dir.display()
    ))
}

/// Samples grouped by (condition, contender rank and name, metric).
type Groups<'a> = BTreeMap<(usize, (usize, String), usize), Vec<&'a Sample>>;

fn fmt(v: f64, scale: f64) -> String {
    let x = v * scale;
    if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn markdown(
    dir: &Path,
    spec: &super::SweepSpec,
    n_cells: usize,
    not_done: &[(String, String)],
    revisions: &BTreeMap<String, Vec<String>>,
    conditions: &[String],
    rows: &[Row],
    plots: &[String],
) -> String {
    let mut m = format!(
        "# Sweep {}\n\nJob `{}` over {} cells (spec: `{SPEC_FILE}`; each cell's resolved config is \
         `cells/<cell>/config.toml`). Axes: {}.\n\n",
        dir.file_name().map_or(String::new(), |n| n.to_string_lossy().to_string()),
        spec.job.name(),
        n_cells,
        if spec.axes.is_empty() {
            "none".to_string()
        } else {
            spec.axes
                .iter()
                .map(|(k, v)| format!("`{k}` ∈ {{{}}}", v.iter().map(show).collect::<Vec<_>>().join(", ")))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    m += &format!("**{} of {n_cells} cells finished** and are aggregated below.", n_cells - not_done.len());
    if not_done.is_empty() {
        m += "\n\n";
    } else {
        m += " These are not (their metrics are left out, never averaged over):\n\n";
        for (id, why) in not_done {
            m += &format!("- `{id}`: {why}\n");
        }
        m += "\n";
    }
    match revisions.len() {
        0 => {}
        1 => m += &format!("Every cell ran code revision `{}`.\n\n", revisions.keys().next().map_or("", |s| s)),
        _ => {
            m += "**The cells ran different code revisions** (the `git_rev` of their rows; a rebuild during the \
                  sweep or a resumed cell does this), so their numbers may not be comparable:\n\n";
            for (rev, ids) in revisions {
                m += &format!("- `{rev}`: {}\n", ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", "));
            }
            m += "\n";
        }
    }
    m += "Statistics per condition (the cell's axes without the seed) and contender over its finished cells: n, \
          mean, standard error SE = SD/√n (SD with n − 1), the 95 % confidence interval of the mean, mean ± t·SE \
          with t the Student-t quantile 0.975 at n − 1 degrees of freedom, and min–max. Every number comes from the \
          cells' own CSVs (`cell_metrics.csv` says which file and row); `aggregate.csv` has them unrounded.\n\n";
    if spec.job == super::Job::Reproduce {
        m += "The paper reports one run: **91.12 %** test accuracy on GSC's 12 classes (e-prop on SpiNNaker 2); \
              the authors' TF2 code averages **91.3 %** (90.9–91.7 %) over 12 runs on an A100. Those are on the \
              real Google Speech Commands; a sweep on the built-in synthetic set measures something else and is \
              not comparable to them.\n\n";
    }
    for (mi, (metric, what, scale, unit)) in METRICS.iter().enumerate() {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.2 == mi).collect();
        if mine.is_empty() {
            continue;
        }
        let u = if unit.is_empty() { String::new() } else { format!(" ({unit})") };
        m += &format!("## {metric}{u}\n\n{what}.\n\n| condition | contender | n | mean | SE | 95 % CI | min–max |\n");
        m += "|---|---|---:|---:|---:|---|---|\n";
        for (ci, contender, _, st) in mine {
            m += &format!(
                "| {} | {contender} | {} | {} | {} | {} | {}–{} |\n",
                conditions[*ci],
                st.n,
                fmt(st.mean, *scale),
                st.se.map_or("–".into(), |s| fmt(s, *scale)),
                st.ci95.map_or("– (n = 1)".into(), |(a, b)| format!("{}–{}", fmt(a, *scale), fmt(b, *scale))),
                fmt(st.min, *scale),
                fmt(st.max, *scale)
            );
        }
        m += "\n";
    }
    if !plots.is_empty() {
        m += "## Plots\n\nMeans with error bars of ±1 SE (n finished cells each); each contender keeps its colour.\n\n";
        for p in plots {
            m += &format!("![{p}]({p}.png)\n\n");
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep folder by hand: two finished cells made by different revisions, one failed.
    #[test]
    fn the_report_aggregates_finished_cells_names_the_rest_and_flags_mixed_revisions() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        let spec = "job = \"train\"\nbackend = \"cpu\"\nrule = \"eprop\"\nquick = true\n[axes]\nseed = [0, 1, 2]\n";
        std::fs::write(d.join(SPEC_FILE), spec)?;
        for (seed, acc, rev) in [(0, 0.5, "aaaa"), (1, 0.7, "bbbb")] {
            let cell = d.join(format!("cells/seed={seed}"));
            std::fs::create_dir_all(&cell)?;
            let mut t = Table::new(&[
                "experiment",
                "git_rev",
                "train_samples",
                "wall_time_s",
                "validation_accuracy",
                "test_accuracy",
                "test_loss",
            ]);
            for (epoch_acc, val) in [(0.1, 0.9), (acc, 0.2)] {
                t.push(vec![
                    ("experiment", "cpu_eprop".into()),
                    ("git_rev", rev.into()),
                    ("train_samples", 100usize.into()),
                    ("wall_time_s", 2.0.into()),
                    ("validation_accuracy", val.into()),
                    ("test_accuracy", epoch_acc.into()),
                    ("test_loss", 1.0.into()),
                ])?;
            }
            t.write_csv(&cell.join("training_cpu_eprop.csv"))?;
            std::fs::write(
                cell.join(super::super::STATUS_FILE),
                r#"{"state":"done","error":null,"host":"h","seconds":1.0}"#,
            )?;
        }
        let failed = d.join("cells/seed=2");
        std::fs::create_dir_all(&failed)?;
        std::fs::write(failed.join(CELL_FILE), "job = \"train\"\n")?;
        std::fs::write(
            failed.join(super::super::STATUS_FILE),
            r#"{"state":"failed","error":"boom","host":"h","seconds":1.0}"#,
        )?;
        report(d)?;
        let md = std::fs::read_to_string(d.join("report.md"))?;
        assert!(md.contains("**2 of 3 cells finished**") && md.contains("`seed=2`: failed: boom"), "{md}");
        assert!(md.contains("different code revisions") && md.contains("`aaaa`: `seed=0`"), "{md}");
        let agg = Table::read_csv(&d.join("aggregate.csv"))?;
        let metrics = agg.strs("metric")?;
        let i = metrics.iter().position(|m| m == "final_test_accuracy").expect("row");
        assert_eq!(agg.f64s("n")?[i], Some(2.0));
        assert!((agg.f64s("mean")?[i].unwrap_or(0.0) - 0.6).abs() < 1e-12);
        // The best-validation epoch is the first (0.9), whose test accuracy is 0.1 in both cells.
        let j = metrics.iter().position(|m| m == "best_validation_test_accuracy").expect("row");
        assert!((agg.f64s("mean")?[j].unwrap_or(0.0) - 0.1).abs() < 1e-12);
        let k = metrics.iter().position(|m| m == "samples_per_s").expect("row");
        assert_eq!(agg.f64s("mean")?[k], Some(50.0));
        Ok(())
    }

    #[test]
    fn statistics_match_a_hand_computation() {
        let s = stats(&[0.90, 0.91, 0.93]);
        assert!((s.mean - 0.9133333333333333).abs() < 1e-15);
        // SD = sqrt(((−0.01333)² + (−0.00333)² + 0.01667²) / 2) = 0.0152753; SE = SD/√3 = 0.0088192.
        assert!((s.sd.unwrap_or(0.0) - 0.015275252316519465).abs() < 1e-12);
        assert!((s.se.unwrap_or(0.0) - 0.008819171036881965).abs() < 1e-12);
        // t(0.975, 2) = 4.302652729911275 (tables give 4.303).
        assert!((s.t.unwrap_or(0.0) - 4.302652729911275).abs() < 1e-9, "{:?}", s.t);
        assert_eq!((s.min, s.max), (0.90, 0.93));
        let one = stats(&[0.5]);
        assert_eq!((one.n, one.sd, one.ci95), (1, None, None));
    }
}
