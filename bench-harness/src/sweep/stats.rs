//! What a sweep's report computes with: the metrics it reads from each cell (in report order, with their units),
//! the statistics of a sample (n, mean, SD, SE, Student-t 95 % CI, min, max) and the condition a cell belongs to.
//! Shared by `aggregate` (the tables and `report.md`) and `plots`.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::spec::{is_grouping_axis, show};

/// The metrics, in report order: name, what it is, unit scale for the report, unit.
pub const METRICS: [(&str, &str, f64, &str); 13] = [
    ("final_test_accuracy", "test accuracy after the last epoch", 100.0, "%"),
    ("best_validation_test_accuracy", "test accuracy at the epoch of best validation accuracy", 100.0, "%"),
    ("final_test_loss", "test cross-entropy after the last epoch", 1.0, ""),
    ("samples_per_s", "training samples per second of wall time (all epochs)", 1.0, "samples/s"),
    ("gpu_buffer_bytes", "bytes of the device buffers (wgpu)", 1e-6, "MB"),
    ("chip_energy_j_per_sample", "chip energy per training sample (modelled, total boundary)", 1e3, "mJ"),
    ("gpu_energy_j_per_sample", "GPU energy per training sample of the cost headline (measured or assumed)", 1e3, "mJ"),
    ("energy_ratio_gpu_over_chip", "GPU / chip energy per sample, total boundary (cost headline)", 1.0, "×"),
    ("chip_time_s_per_sample", "chip time per training sample (modelled: T ticks of 1 ms in real time)", 1e3, "ms"),
    ("chip_memory_bytes", "chip data memory over all PEs (modelled)", 1e-3, "kB"),
    ("chip_cycles_per_step_max", "cycles of the slowest PE per step (modelled)", 1.0, "cycles"),
    ("fits", "the run fit its device (1) or recorded that it did not (0)", 1.0, ""),
    ("bytes_needed", "bytes of device buffers a run that did not fit needed", 1e-6, "MB"),
];

/// Statistics of a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (n − 1); none for one value.
    pub sd: Option<f64>,
    /// Standard error sd/√n.
    pub se: Option<f64>,
    /// t quantile 0.975 with n − 1 degrees of freedom.
    pub t: Option<f64>,
    /// 95 % confidence interval of the mean, mean ± t·se.
    pub ci95: Option<(f64, f64)>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Statistics of `v` (not empty).
pub fn stats(v: &[f64]) -> Stats {
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let (min, max) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if n < 2 {
        return Stats { n, mean, sd: None, se: None, t: None, ci95: None, min, max };
    }
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let se = sd / (n as f64).sqrt();
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).map(|d| d.inverse_cdf(0.975)).ok();
    let ci95 = t.map(|t| (mean - t * se, mean + t * se));
    Stats { n, mean, sd: Some(sd), se: Some(se), t, ci95, min, max }
}

/// The condition of a cell: its axes without the seed (`all` when only seeds vary).
pub fn condition(axes: &[(String, toml::Value)]) -> String {
    let parts: Vec<String> =
        axes.iter().filter(|(k, _)| !is_grouping_axis(k)).map(|(k, v)| format!("{k}={}", show(v))).collect();
    if parts.is_empty() { "all".into() } else { parts.join(", ") }
}

/// One aggregated group: condition index, contender, metric index, its statistics.
pub(super) type Row = (usize, String, usize, Stats);
