//! The summary CSVs of a run folder, derived from its raw CSVs alone: `summary_training.csv` (per experiment: final
//! and best accuracies, throughput, determinism), `summary_memory.csv` (bytes per algorithm, scope and T) and
//! `summary_paper.csv` (the paper's headline figures beside ours, each tagged measured, modelled or literature).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::train::TrainingRow;
use crate::results::table::Table;

const PAPER: &str = "Rostami et al. 2022 (Front. Neurosci.)";

pub(super) fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.2} %", 100.0 * v))
}

pub(super) fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

pub(super) fn sci(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3e}"))
}

pub(super) fn first(t: &Table, col: &str) -> Result<Option<f64>> {
    Ok(t.f64s(col)?.first().copied().flatten())
}

pub(super) fn first_s(t: &Table, col: &str) -> Result<String> {
    Ok(t.strs(col)?.first().cloned().unwrap_or_default())
}

/// Whether a same-seed rerun of a training CSV's backend gives the same bits (`Kind::determinism`).
fn determinism(backend: &str) -> String {
    let backend = if backend == "spinnaker2-emulator" { "chip" } else { backend };
    crate::contender::Kind::parse(backend, 12)
        .map_or_else(|| format!("unknown backend `{backend}`"), |k| k.determinism().to_string())
}

/// A row of `summary_training.csv`: one experiment over all its epochs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SummaryTrainingRow {
    pub experiment: String,
    pub algorithm: String,
    pub backend: String,
    pub adapter: String,
    pub batch: usize,
    pub epochs: usize,
    pub train_samples: usize,
    pub final_test_accuracy: f64,
    pub best_validation_accuracy: f64,
    pub test_accuracy_at_best_validation: f64,
    /// 1-based.
    pub best_epoch: usize,
    pub wall_time_s: f64,
    pub mean_samples_per_s: f64,
    /// The validation and test evaluation after each epoch, summed (not in `wall_time_s`), when every epoch has it.
    pub evaluation_s: Option<f64>,
    /// Where the last epoch was evaluated (the device or the host reference).
    pub evaluated_on: Option<String>,
    /// Summed over the epochs when every epoch has one.
    pub chip_time_s: Option<f64>,
    pub gpu_energy_j: Option<f64>,
    pub determinism: String,
    pub source: String,
}

/// summary_training.csv from training_*.csv.
pub(super) fn summarise_training(dir: &Path) -> Result<Table> {
    let mut s = Table::of::<SummaryTrainingRow>()?;
    for name in ["chip_eprop", "gpu_eprop", "gpu_bptt", "burn_bptt"] {
        let p = dir.join(format!("training_{name}.csv"));
        if !p.exists() {
            continue;
        }
        let rows: Vec<TrainingRow> = Table::read_csv(&p)?.typed().with_context(|| format!("{}", p.display()))?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else { continue };
        let best = (0..rows.len())
            .max_by(|&a, &b| rows[a].validation_accuracy.total_cmp(&rows[b].validation_accuracy))
            .unwrap_or(0);
        let all = |v: Vec<Option<f64>>| -> Option<f64> { v.into_iter().sum() };
        let wall: f64 = rows.iter().map(|r| r.wall_time_s).sum();
        let samples: usize = rows.iter().map(|r| r.train_samples).sum();
        s.push_row(&SummaryTrainingRow {
            experiment: name.into(),
            algorithm: first.algorithm.clone(),
            backend: first.backend.clone(),
            adapter: first.adapter.clone(),
            batch: first.batch,
            epochs: rows.len(),
            train_samples: samples,
            final_test_accuracy: last.test_accuracy,
            best_validation_accuracy: rows[best].validation_accuracy,
            test_accuracy_at_best_validation: rows[best].test_accuracy,
            best_epoch: best + 1,
            wall_time_s: wall,
            mean_samples_per_s: samples as f64 / wall,
            evaluation_s: all(rows.iter().map(|r| r.evaluation_s).collect()),
            evaluated_on: last.evaluated_on.clone(),
            chip_time_s: all(rows.iter().map(|r| r.chip_time_s).collect()),
            gpu_energy_j: all(rows.iter().map(|r| r.gpu_energy_j).collect()),
            determinism: determinism(&first.backend),
            source: format!("derived from training_{name}.csv"),
        })?;
    }
    Ok(s)
}

/// A row of `summary_memory.csv`: one platform and scope of the memory sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SummaryMemoryRow {
    pub platform: String,
    pub scope: String,
    pub batch: Option<usize>,
    pub eprop_bytes_min: f64,
    pub eprop_bytes_max: f64,
    pub bptt_bytes_at_t_min: Option<f64>,
    pub bptt_bytes_per_step: f64,
    /// The smallest T at which BPTT needs more than e-prop, when the sweep reaches it.
    pub crossover_t: Option<f64>,
    /// The chip: the largest T at which BPTT still fits a PE.
    pub largest_t_that_fits: Option<f64>,
    pub source: String,
}

/// summary_memory.csv from memory_sweep.csv: per platform and scope, e-prop's range, BPTT's bytes per step, the
/// crossover and (chip) the largest T at which BPTT fits a PE.
pub(super) fn summarise_memory(dir: &Path) -> Result<Table> {
    let t = Table::read_csv(&dir.join("memory_sweep.csv"))?;
    let mut s = Table::of::<SummaryMemoryRow>()?;
    for (platform, scope) in [("gpu", "per_sample"), ("gpu", "per_batch"), ("spinnaker2", "per_sample")] {
        let sel = t.filter("platform", platform)?.filter("scope", scope)?;
        let e = sel.filter("algorithm", "eprop")?;
        let b = sel.filter("algorithm", "bptt")?;
        if e.is_empty() || b.is_empty() {
            continue;
        }
        let ts: Vec<f64> = e.f64s("t_steps")?.into_iter().flatten().collect();
        let eb: Vec<f64> = e.f64s("bytes")?.into_iter().flatten().collect();
        let bb: Vec<f64> = b.f64s("bytes")?.into_iter().flatten().collect();
        let bh: Vec<f64> = b.f64s("bytes_history")?.into_iter().flatten().collect();
        let n = ts.len().min(bb.len()).min(bh.len());
        let slope = if n >= 2 { (bh[n - 1] - bh[0]) / (ts[n - 1] - ts[0]) } else { f64::NAN };
        let fits = b.strs("fits")?;
        let largest = ts
            .iter()
            .zip(&fits)
            .filter(|(_, f)| f.as_str() == "yes")
            .map(|(t, _)| *t)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        s.push_row(&SummaryMemoryRow {
            platform: platform.into(),
            scope: scope.into(),
            batch: first(&e, "batch")?.map(|v| v as usize),
            eprop_bytes_min: eb.iter().copied().fold(f64::INFINITY, f64::min),
            eprop_bytes_max: eb.iter().copied().fold(0.0, f64::max),
            bptt_bytes_at_t_min: bb.first().copied(),
            bptt_bytes_per_step: slope,
            crossover_t: super::sweep::crossover(&ts[..n], &eb[..n], &bb[..n]),
            largest_t_that_fits: if platform == "spinnaker2" { largest } else { None },
            source: "derived from memory_sweep.csv".into(),
        })?;
    }
    Ok(s)
}

/// A row of `summary_paper.csv`: one of the paper's headline figures beside ours.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaperRow {
    pub quantity: String,
    pub paper: String,
    /// Where the paper's figure comes from (literature).
    pub paper_source: String,
    pub ours: String,
    /// measured, modelled or assumed, and how.
    pub our_source: String,
    pub note: String,
}

/// summary_paper.csv: the paper's headline figures beside ours.
pub(super) fn summarise_paper(dir: &Path, training: &Table) -> Result<Table> {
    let mut s = Table::of::<PaperRow>()?;
    let totals = Table::read_csv(&dir.join("cost_totals.csv"))?;
    let dataset = std::fs::read_to_string(dir.join("dataset.txt")).unwrap_or_default();
    let dataset = dataset.lines().next().unwrap_or("").to_string();
    let synthetic = dataset.contains("synthetic");
    let gsc = dataset.starts_with("GSC at");
    let chip = training.filter("experiment", "chip_eprop")?;
    let acc = first(&chip, "test_accuracy_at_best_validation")?;
    s.push_row(&PaperRow {
        quantity: "test accuracy, e-prop on SpiNNaker 2 (12 classes)".into(),
        paper: "91.12 %".into(),
        paper_source: format!("literature: {PAPER}, GSC v0.02"),
        ours: pct(acc),
        our_source: "measured (emulated chip, test split at the best validation epoch)".into(),
        note: if synthetic {
            format!("not comparable: {dataset}, not GSC; run with --gsc DIR for the paper's task")
        } else if gsc {
            dataset.clone()
        } else {
            format!("comparable only if these are GSC's features: {dataset}")
        },
    })?;
    let mem = first(&totals, "memory_bytes_total")?;
    let paper_mem = first(&totals, "memory_bytes_paper")?;
    s.push_row(&PaperRow {
        quantity: "training memory on the chip (12 PEs)".into(),
        paper: "680 KB".into(),
        paper_source: format!("literature: {PAPER}"),
        ours: mem.map_or("–".into(), |m| format!("{m:.0} B ({:.1} KiB)", m / 1024.0)),
        our_source: "modelled (memory map of the emulator)".into(),
        note: mem.zip(paper_mem).map_or(String::new(), |(m, p)| {
            format!(
                "{:+.2} % vs 680 KiB = {p:.0} B; the difference is buffers and neuron state outside the learning state",
                100.0 * (m / p - 1.0)
            )
        }),
    })?;
    let rt = first_s(&totals, "real_time")?;
    let margin = first(&totals, "real_time_margin")?;
    s.push_row(&PaperRow {
        quantity: "real time (every 1 ms step within its deadline)".into(),
        paper: "yes".into(),
        paper_source: format!("literature: {PAPER}"),
        ours: format!("{rt} (worst step uses {} of the tick)", pct(margin.map(|m| 1.0 - m))),
        our_source: "modelled (counted operations × cycle table, slowest PE per step)".into(),
        note: "".into(),
    })?;
    let ratio = first(&totals, "energy_ratio")?;
    let lo = first(&totals, "energy_ratio_min")?;
    let hi = first(&totals, "energy_ratio_max")?;
    let measured = first_s(&totals, "gpu_measured")? == "true";
    s.push_row(&PaperRow {
        quantity: "energy per training sample, GPU (BPTT) / chip (e-prop); total boundary on both sides".into(),
        paper: "12×".into(),
        paper_source: format!("literature: {PAPER} (an estimate against a V100; boundary not stated)"),
        ours: format!(
            "{}× total (band {}–{}× over the bounds); {}× dynamic",
            num(ratio, 2),
            num(lo, 2),
            num(hi, 2),
            num(first(&totals, "energy_ratio_dynamic")?, 2)
        ),
        our_source: if measured {
            "measured (GPU: this run's time and NVML energy); modelled (chip: the chip run's counted work)"
        } else {
            "modelled (chip: the chip run's counted work); assumed (GPU: no GPU measured in this run)"
        }
        .into(),
        note: format!("GPU side: {}", first_s(&totals, "headline_gpu")?),
    })?;
    let bptt = training.filter("experiment", "gpu_bptt")?;
    let raw = dir.join("training_gpu_bptt.csv");
    if !bptt.is_empty() && raw.exists() {
        // The steady rate, from epoch 2 on: the kernels compile in a warm-up step outside epoch 1's clock, but the
        // first epoch still runs with cold caches (on lavapipe here up to ≈ 1.5× the later epochs' time).
        let t = Table::read_csv(&raw)?;
        let (samples, wall) = (t.f64s("train_samples")?, t.f64s("wall_time_s")?);
        let later = |v: &[Option<f64>]| v.iter().skip(1).map(|x| x.unwrap_or(f64::NAN)).sum::<f64>();
        let rate = (t.len() > 1).then(|| later(&samples) / later(&wall)).filter(|r| r.is_finite());
        let first_wall = wall.first().copied().flatten();
        s.push_row(&PaperRow {
            quantity: "BPTT training time, 30 epochs of GSC on a GPU".into(),
            paper: "≈ 3 h (TF2, A100)".into(),
            paper_source: "literature: the authors' TF2 code (docs/model.md)".into(),
            ours: format!(
                "{} samples/s on {} → {} s per 30 GSC epochs (55,948 samples each)",
                num(rate, 0),
                first_s(&bptt, "adapter")?,
                num(rate.map(|r| 30.0 * 55_948.0 / r), 0)
            ),
            our_source: "measured (this run's throughput after its first epoch, extrapolated to GSC's size)".into(),
            note: format!(
                "from epoch 2 on; epoch 1 took {} s (its kernels compiled in a warm-up step before its clock)",
                num(first_wall, 1)
            ),
        })?;
    }
    Ok(s)
}
