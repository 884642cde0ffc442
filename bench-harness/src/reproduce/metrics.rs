//! NeuroBench-style metrics of a trained network on the test split, with NeuroBench's names (Yik et al., "The
//! neurobench framework for benchmarking neuromorphic computing algorithms and systems", Nature Communications 2025):
//! footprint, connection sparsity, activation sparsity, and synaptic operations per sample — dense (every connection
//! every step) and effective (only non-zero activations), split into MACs (non-binary activations: the input
//! features and the readout's filtered spikes z̄) and ACs (binary spikes through the recurrent weights).

use anyhow::Result;
use models::{NetConfig, Params};
use serde::{Deserialize, Serialize};

use super::RunInfo;
use crate::results::table::Table;
use crate::tensors::BatchData;

/// A row of `neurobench.csv`: one experiment's trained network on the test split.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NeuroBenchRow {
    pub experiment: String,
    pub algorithm: String,
    pub footprint_bytes: usize,
    pub parameter_bytes: usize,
    pub connection_sparsity: f64,
    pub activation_sparsity: f64,
    pub dense_synops_per_sample: f64,
    pub effective_macs_per_sample: f64,
    pub effective_acs_per_sample: f64,
    pub test_samples: usize,
    pub t_steps: usize,
    pub git_rev: String,
    pub source: String,
}

/// The metrics of `p` on `d`.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuroBench {
    /// Parameters (f32) + per-neuron state the network carries between steps (v, a, z, z̄: 4 f32 each), bytes.
    pub footprint_bytes: usize,
    /// Parameters alone, bytes.
    pub parameter_bytes: usize,
    /// Fraction of weights that are exactly zero.
    pub connection_sparsity: f64,
    /// 1 − spikes / (neurons × steps), over the test split.
    pub activation_sparsity: f64,
    /// T × (n_in·n_rec + n_rec·n_rec + n_rec·n_out).
    pub dense_synops_per_sample: f64,
    /// Σ_t nnz(x_t)·n_rec + nnz(z̄_t)·n_out, mean per sample.
    pub effective_macs_per_sample: f64,
    /// Σ_t nnz(z_{t−1})·n_rec, mean per sample.
    pub effective_acs_per_sample: f64,
}

/// Computes the metrics (CPU reference forward pass).
pub fn neurobench(cfg: &NetConfig, p: &Params<f32>, d: &BatchData) -> NeuroBench {
    let (n_in, n_rec, n_out) = (cfg.n_in, cfg.n_rec, cfg.n_out);
    let t = d.t_steps;
    let (_, spikes) = models::srnn::forward::<f32>(cfg, p, &d.as_batch());
    let n_w = p.w_in.len() + p.w_rec.len() + p.w_out.len();
    let zeros = p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).filter(|&&w| w == 0.0).count();
    let kappa = cfg.consts::<f32>().kappa;
    let (mut macs, mut acs, mut n_spikes) = (0f64, 0f64, 0f64);
    for b in 0..d.batch {
        let x = d.as_batch().sample(b);
        let mut zbar = vec![0f32; n_rec];
        for step in 0..t {
            macs += (x[step * n_in..(step + 1) * n_in].iter().filter(|&&v| v != 0.0).count() * n_rec) as f64;
            let z = &spikes[(b * t + step) * n_rec..(b * t + step + 1) * n_rec];
            if step > 0 {
                let zp = &spikes[(b * t + step - 1) * n_rec..(b * t + step) * n_rec];
                acs += (zp.iter().filter(|&&s| s != 0).count() * n_rec) as f64;
            }
            for (zb, &s) in zbar.iter_mut().zip(z) {
                *zb = kappa * *zb + f32::from(s);
            }
            macs += (zbar.iter().filter(|&&v| v != 0.0).count() * n_out) as f64;
            n_spikes += z.iter().filter(|&&s| s != 0).count() as f64;
        }
    }
    let nb = d.batch.max(1) as f64;
    NeuroBench {
        footprint_bytes: 4 * n_w + 4 * 4 * n_rec,
        parameter_bytes: 4 * n_w,
        connection_sparsity: zeros as f64 / n_w as f64,
        activation_sparsity: 1.0 - n_spikes / (nb * (t * n_rec) as f64),
        dense_synops_per_sample: (t * (n_in * n_rec + n_rec * n_rec + n_rec * n_out)) as f64,
        effective_macs_per_sample: macs / nb,
        effective_acs_per_sample: acs / nb,
    }
}

/// Adds (or replaces) the row of `e` in `neurobench.csv`.
pub fn write_for(
    info: &RunInfo,
    net: &NetConfig,
    name: &str,
    algorithm: &str,
    p: &Params<f32>,
    test: &BatchData,
) -> Result<()> {
    let path = info.out.join("neurobench.csv");
    // Every other experiment's row as it was; this experiment's replaced.
    let mut rows: Vec<NeuroBenchRow> = if path.exists() { Table::read_csv(&path)?.typed()? } else { vec![] };
    rows.retain(|r| r.experiment != name);
    let m = neurobench(net, p, test);
    rows.push(NeuroBenchRow {
        experiment: name.into(),
        algorithm: algorithm.into(),
        footprint_bytes: m.footprint_bytes,
        parameter_bytes: m.parameter_bytes,
        connection_sparsity: m.connection_sparsity,
        activation_sparsity: m.activation_sparsity,
        dense_synops_per_sample: m.dense_synops_per_sample,
        effective_macs_per_sample: m.effective_macs_per_sample,
        effective_acs_per_sample: m.effective_acs_per_sample,
        test_samples: test.batch,
        t_steps: test.t_steps,
        git_rev: info.git_rev.clone(),
        source: "measured (forward pass of the trained weights on the test split)".into(),
    });
    let t = Table::from_rows(&rows)?;
    t.write_csv(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_definitions() {
        let cfg = NetConfig::default();
        let p = Params::init_authors(&cfg, 0);
        let (x, y) = models::inputs::smooth_random_batch(3, 20, cfg.n_in, cfg.n_out, 1.3, 1);
        let d = BatchData { x, y, batch: 3, t_steps: 20, n_in: cfg.n_in };
        let m = neurobench(&cfg, &p, &d);
        assert_eq!(m.parameter_bytes, 4 * 25_440);
        assert_eq!(m.dense_synops_per_sample, 20.0 * 25_440.0);
        assert_eq!(m.connection_sparsity, 0.0);
        assert!(m.activation_sparsity > 0.5 && m.activation_sparsity < 1.0);
        // Dense inputs: every input MAC happens; ACs are far fewer than dense recurrent operations.
        assert!(m.effective_macs_per_sample >= 20.0 * 80.0 * 120.0);
        assert!(m.effective_acs_per_sample < 20.0 * 120.0 * 120.0);
    }
}
