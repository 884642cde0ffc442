//! The summary CSVs of a run folder, derived from its raw CSVs alone: `summary_training.csv` (per experiment: final
//! and best accuracies, throughput, determinism), `summary_memory.csv` (bytes per algorithm, scope and T) and
//! `summary_paper.csv` (the paper's headline figures beside ours, each tagged measured, modelled or literature).

use std::path::Path;

use anyhow::Result;

use crate::results::table::{Table, Value};

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

/// summary_training.csv from training_*.csv.
/// Whether a same-seed rerun of a training CSV's backend gives the same bits (`Kind::determinism`).
fn determinism(backend: &str) -> String {
    let backend = if backend == "spinnaker2-emulator" { "chip" } else { backend };
    crate::contender::Kind::parse(backend, 12)
        .map_or_else(|| format!("unknown backend `{backend}`"), |k| k.determinism().to_string())
}

pub(super) fn summarise_training(dir: &Path) -> Result<Table> {
    let mut s = Table::new(&[
        "experiment",
        "algorithm",
        "backend",
        "adapter",
        "batch",
        "epochs",
        "train_samples",
        "final_test_accuracy",
        "best_validation_accuracy",
        "test_accuracy_at_best_validation",
        "best_epoch",
        "wall_time_s",
        "mean_samples_per_s",
        "chip_time_s",
        "gpu_energy_j",
        "determinism",
        "source",
    ]);
    for name in ["chip_eprop", "gpu_eprop", "gpu_bptt", "burn_bptt"] {
        let p = dir.join(format!("training_{name}.csv"));
        if !p.exists() {
            continue;
        }
        let t = Table::read_csv(&p)?;
        if t.is_empty() {
            continue;
        }
        let va = t.f64s("validation_accuracy")?;
        let ta = t.f64s("test_accuracy")?;
        let best = (0..t.len()).max_by(|&a, &b| va[a].unwrap_or(-1.0).total_cmp(&va[b].unwrap_or(-1.0))).unwrap_or(0);
        let sum = |c: &str| -> Result<Option<f64>> {
            let v: Vec<f64> = t.f64s(c)?.into_iter().flatten().collect();
            Ok((v.len() == t.len()).then(|| v.iter().sum()))
        };
        let wall = sum("wall_time_s")?;
        let samples = sum("train_samples")?;
        s.push(vec![
            ("experiment", name.into()),
            ("algorithm", first_s(&t, "algorithm")?.into()),
            ("backend", first_s(&t, "backend")?.into()),
            ("adapter", first_s(&t, "adapter")?.into()),
            ("batch", first(&t, "batch")?.map(|v| v as usize).into()),
            ("epochs", t.len().into()),
            ("train_samples", samples.map(|v| v as usize).into()),
            ("final_test_accuracy", ta.last().copied().flatten().into()),
            ("best_validation_accuracy", va[best].into()),
            ("test_accuracy_at_best_validation", ta[best].into()),
            ("best_epoch", (best + 1).into()),
            ("wall_time_s", wall.into()),
            ("mean_samples_per_s", samples.zip(wall).map(|(s, w)| s / w).into()),
            ("chip_time_s", sum("chip_time_s")?.into()),
            ("gpu_energy_j", sum("gpu_energy_j")?.into()),
            ("determinism", determinism(&first_s(&t, "backend")?).into()),
            ("source", format!("derived from training_{name}.csv").into()),
        ])?;
    }
    Ok(s)
}

/// summary_memory.csv from memory_sweep.csv: per platform and scope, e-prop's range, BPTT's bytes per step, the
/// crossover and (chip) the largest T at which BPTT fits a PE.
pub(super) fn summarise_memory(dir: &Path) -> Result<Table> {
    let t = Table::read_csv(&dir.join("memory_sweep.csv"))?;
    let mut s = Table::new(&[
        "platform",
        "scope",
        "batch",
        "eprop_bytes_min",
        "eprop_bytes_max",
        "bptt_bytes_at_t_min",
        "bptt_bytes_per_step",
        "crossover_t",
        "largest_t_that_fits",
        "source",
    ]);
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
        s.push(vec![
            ("platform", platform.into()),
            ("scope", scope.into()),
            ("batch", first(&e, "batch")?.map(|v| v as usize).into()),
            ("eprop_bytes_min", eb.iter().copied().fold(f64::INFINITY, f64::min).into()),
            ("eprop_bytes_max", eb.iter().copied().fold(0.0, f64::max).into()),
            ("bptt_bytes_at_t_min", bb.first().copied().into()),
            ("bptt_bytes_per_step", slope.into()),
            ("crossover_t", super::sweep::crossover(&ts[..n], &eb[..n], &bb[..n]).into()),
            ("largest_t_that_fits", if platform == "spinnaker2" { largest.into() } else { Value::Null }),
            ("source", "derived from memory_sweep.csv".into()),
        ])?;
    }
    Ok(s)
}

/// summary_paper.csv: the paper's headline figures beside ours.
pub(super) fn summarise_paper(dir: &Path, training: &Table) -> Result<Table> {
    let mut s = Table::new(&["quantity", "paper", "paper_source", "ours", "our_source", "note"]);
    let totals = Table::read_csv(&dir.join("cost_totals.csv"))?;
    let dataset = std::fs::read_to_string(dir.join("dataset.txt")).unwrap_or_default();
    let dataset = dataset.lines().next().unwrap_or("").to_string();
    let synthetic = dataset.contains("synthetic");
    let gsc = dataset.starts_with("GSC at");
    let chip = training.filter("experiment", "chip_eprop")?;
    let acc = first(&chip, "test_accuracy_at_best_validation")?;
    s.push(vec![
        ("quantity", "test accuracy, e-prop on SpiNNaker 2 (12 classes)".into()),
        ("paper", "91.12 %".into()),
        ("paper_source", format!("literature: {PAPER}, GSC v0.02").into()),
        ("ours", pct(acc).into()),
        ("our_source", "measured (emulated chip, test split at the best validation epoch)".into()),
        (
            "note",
            if synthetic {
                format!("not comparable: {dataset}, not GSC; run with --gsc DIR for the paper's task")
            } else if gsc {
                dataset.clone()
            } else {
                format!("comparable only if these are GSC's features: {dataset}")
            }
            .into(),
        ),
    ])?;
    let mem = first(&totals, "memory_bytes_total")?;
    let paper_mem = first(&totals, "memory_bytes_paper")?;
    s.push(vec![
        ("quantity", "training memory on the chip (12 PEs)".into()),
        ("paper", "680 KB".into()),
        ("paper_source", format!("literature: {PAPER}").into()),
        ("ours", mem.map_or("–".into(), |m| format!("{m:.0} B ({:.1} KiB)", m / 1024.0)).into()),
        ("our_source", "modelled (memory map of the emulator)".into()),
        (
            "note",
            mem.zip(paper_mem)
                .map_or(String::new(), |(m, p)| {
                    format!("{:+.2} % vs 680 KiB = {p:.0} B; the difference is buffers and neuron state outside the learning state", 100.0 * (m / p - 1.0))
                })
                .into(),
        ),
    ])?;
    let rt = first_s(&totals, "real_time")?;
    let margin = first(&totals, "real_time_margin")?;
    s.push(vec![
        ("quantity", "real time (every 1 ms step within its deadline)".into()),
        ("paper", "yes".into()),
        ("paper_source", format!("literature: {PAPER}").into()),
        ("ours", format!("{rt} (worst step uses {} of the tick)", pct(margin.map(|m| 1.0 - m))).into()),
        ("our_source", "modelled (counted operations × cycle table, slowest PE per step)".into()),
        ("note", "".into()),
    ])?;
    let ratio = first(&totals, "energy_ratio")?;
    let lo = first(&totals, "energy_ratio_min")?;
    let hi = first(&totals, "energy_ratio_max")?;
    let measured = first_s(&totals, "gpu_measured")? == "true";
    s.push(vec![
        ("quantity", "energy per training sample, GPU (BPTT) / chip (e-prop); total boundary on both sides".into()),
        ("paper", "12×".into()),
        ("paper_source", format!("literature: {PAPER} (an estimate against a V100; boundary not stated)").into()),
        (
            "ours",
            format!(
                "{}× total (band {}–{}× over the bounds); {}× dynamic",
                num(ratio, 2),
                num(lo, 2),
                num(hi, 2),
                num(first(&totals, "energy_ratio_dynamic")?, 2)
            )
            .into(),
        ),
        (
            "our_source",
            if measured {
                "measured (GPU: this run's time and NVML energy); modelled (chip: the chip run's counted work)"
            } else {
                "modelled (chip: the chip run's counted work); assumed (GPU: no GPU measured in this run)"
            }
            .into(),
        ),
        ("note", format!("GPU side: {}", first_s(&totals, "headline_gpu")?).into()),
    ])?;
    let bptt = training.filter("experiment", "gpu_bptt")?;
    let raw = dir.join("training_gpu_bptt.csv");
    if !bptt.is_empty() && raw.exists() {
        // The steady rate: epoch 1 also builds the trainer and compiles its kernels (a one-off, tens of seconds on
        // a CPU adapter with an empty shader cache), which 30 GSC epochs would not repeat.
        let t = Table::read_csv(&raw)?;
        let (samples, wall) = (t.f64s("train_samples")?, t.f64s("wall_time_s")?);
        let later = |v: &[Option<f64>]| v.iter().skip(1).map(|x| x.unwrap_or(f64::NAN)).sum::<f64>();
        let rate = (t.len() > 1).then(|| later(&samples) / later(&wall)).filter(|r| r.is_finite());
        let first_wall = wall.first().copied().flatten();
        s.push(vec![
            ("quantity", "BPTT training time, 30 epochs of GSC on a GPU".into()),
            ("paper", "≈ 3 h (TF2, A100)".into()),
            ("paper_source", "literature: the authors' TF2 code (docs/model.md)".into()),
            (
                "ours",
                format!(
                    "{} samples/s on {} → {} s per 30 GSC epochs (55,948 samples each)",
                    num(rate, 0),
                    first_s(&bptt, "adapter")?,
                    num(rate.map(|r| 30.0 * 55_948.0 / r), 0)
                )
                .into(),
            ),
            ("our_source", "measured (this run's throughput after its first epoch, extrapolated to GSC's size)".into()),
            (
                "note",
                format!(
                    "epoch 1 took {} s: it also builds the trainer and compiles its kernels, once",
                    num(first_wall, 1)
                )
                .into(),
            ),
        ])?;
    }
    Ok(s)
}
