//! Memory against T: the GPU's buffer bytes of e-prop and BPTT (per sample = a minibatch of 1, per batch = the
//! configured minibatch), allocated on the adapter where it can bind them (measured) and from the trainer's buffer
//! plan past that (modelled; the plan is tested equal to the allocation), and the chip's SRAM bytes from the memory
//! map (e-prop, as emulated) and from BPTT's modelled map, with the largest T at which BPTT still fits a PE.

use anyhow::{Context, Result, bail};
use models::{
    Rule, TraceVariant,
    bptt::BpttOptions,
    spinnaker2::{ChipConfig, Partition, bptt_pe_memory, pe_memory},
};
use serde::{Deserialize, Serialize};

use super::{ReproduceConfig, RunInfo, interrupted, progress};
use crate::contender::{self, Measure, StepBytes};
use crate::results::table::Table;

/// A row of `memory_sweep.csv`: one platform × algorithm × scope × T.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryRow {
    /// `gpu` or `spinnaker2`.
    pub platform: String,
    /// `eprop` or `bptt`.
    pub algorithm: String,
    /// `per_sample` (a minibatch of 1) or `per_batch` (the configured minibatch).
    pub scope: String,
    pub batch: usize,
    pub t_steps: usize,
    /// Every buffer (GPU, input excluded) or the data in every PE's SRAM (chip).
    pub bytes: u64,
    /// The part that grows with T.
    pub bytes_history: u64,
    pub bytes_input: u64,
    /// "yes", or why not.
    pub fits: String,
    pub adapter: String,
    pub git_rev: String,
    /// measured (allocated on the adapter) or modelled (plan, memory map).
    pub source: String,
    pub note: String,
}

/// Runs the sweep into `memory_sweep.csv`.
pub fn run(cfg: &ReproduceConfig, info: &RunInfo, ctx: &kernels::GpuContext) -> Result<()> {
    let path = info.out.join("memory_sweep.csv");
    if path.exists() {
        return Ok(());
    }
    let net = cfg.net.clone();
    let mut gpu = contender::open(contender::Kind::Wgpu, &net, Some(ctx))?;
    // The sweep shows e-prop's online mode, memory flat in T: chunks of the built-in length whatever T is (not
    // `auto`, which takes one chunk where that is smaller, so its bytes grow with T up to the crossover).
    gpu.set_eprop_chunk(contender::EpropChunk::Steps(kernels::trainer::EPROP_CHUNK));
    let mut t = Table::of::<MemoryRow>()?;
    let rules = [("eprop", Rule::Eprop(TraceVariant::Authors)), ("bptt", Rule::Bptt(BpttOptions::default()))];
    let scopes = [("per_sample", 1usize), ("per_batch", cfg.sweep.batch)];
    let bar = progress(info.quiet, (cfg.sweep.t_steps.len() * 4) as u64, "memory sweep");
    for &steps in &cfg.sweep.t_steps {
        for (alg, rule) in rules {
            for (scope, n) in scopes {
                if interrupted() {
                    bar.abandon();
                    return Err(super::Interrupted(info.out.display().to_string()).into());
                }
                // Through the WGSL contender: its trainer's buffers for one step, allocated on the adapter without
                // compiling kernels up to the configured T, from the same buffer plan past it (or where the adapter
                // refuses).
                let planned = || -> Result<StepBytes> {
                    gpu.step_bytes(rule, n, steps, Measure::Plan)?.context("internal: the wgpu contender has bytes")
                };
                let (measured, source, mut note) = if steps <= cfg.sweep.allocate_up_to_t {
                    match gpu.step_bytes(rule, n, steps, Measure::Allocate) {
                        Ok(Some(b)) => (b, "measured (buffers allocated on the adapter)", String::new()),
                        Ok(None) => bail!("internal: the wgpu contender has bytes"),
                        Err(e) => (planned()?, "modelled (buffer plan)", format!("not allocated: {e}")),
                    }
                } else {
                    (
                        planned()?,
                        "modelled (buffer plan)",
                        format!("allocation sweep stops at T = {}", cfg.sweep.allocate_up_to_t),
                    )
                };
                // e-prop's bytes are constant in T within each of its two kernel paths; say which one this row is.
                if let Some(path) = measured.path {
                    note = if note.is_empty() { path.to_string() } else { format!("{path}; {note}") };
                }
                let bytes = measured.bytes;
                t.push_row(&MemoryRow {
                    platform: "gpu".into(),
                    algorithm: alg.into(),
                    scope: scope.into(),
                    batch: n,
                    t_steps: steps,
                    bytes: bytes.total(),
                    bytes_history: bytes.history,
                    bytes_input: bytes.input,
                    fits: "yes".into(),
                    adapter: info.adapter.clone(),
                    git_rev: info.git_rev.clone(),
                    source: source.into(),
                    note,
                })?;
                bar.inc(1);
            }
        }
        // The chip: online (one sample), all PEs together.
        let chip = ChipConfig::default();
        let part = Partition::balanced(net.n_rec, cfg.cost.pes);
        for alg in ["eprop", "bptt"] {
            let maps: Vec<_> = part
                .posts
                .iter()
                .map(|r| {
                    if alg == "eprop" {
                        pe_memory(&net, &chip, r.len())
                    } else {
                        bptt_pe_memory(&net, &chip, r.len(), steps)
                    }
                })
                .collect();
            let total: usize = maps.iter().map(|m| m.data()).sum();
            let history: usize = maps.iter().map(|m| m.history).sum();
            let worst = maps.iter().map(|m| m.total()).max().unwrap_or(0);
            let fits = worst <= chip.sram_bytes_per_pe;
            t.push_row(&MemoryRow {
                platform: "spinnaker2".into(),
                algorithm: alg.into(),
                scope: "per_sample".into(),
                batch: 1,
                t_steps: steps,
                bytes: total as u64,
                bytes_history: history as u64,
                bytes_input: 0,
                fits: if fits {
                    "yes".to_string()
                } else {
                    format!("no: {worst} B on the fullest PE > {} B SRAM", chip.sram_bytes_per_pe)
                },
                adapter: format!("{} PEs, {} KiB SRAM each", cfg.cost.pes, chip.sram_bytes_per_pe / 1024),
                git_rev: info.git_rev.clone(),
                source: if alg == "eprop" {
                    "modelled (memory map of the emulator)"
                } else {
                    "modelled (BPTT memory map, not emulated)"
                }
                .into(),
                note: String::new(),
            })?;
        }
    }
    bar.finish_and_clear();
    t.write_csv(&path)
}

/// The smallest T at which `b` exceeds `a` on a common T grid (linear interpolation between grid points), if any.
pub fn crossover(ts: &[f64], a: &[f64], b: &[f64]) -> Option<f64> {
    for k in 1..ts.len() {
        let (d0, d1) = (b[k - 1] - a[k - 1], b[k] - a[k]);
        if d0 <= 0.0 && d1 > 0.0 {
            return Some(ts[k - 1] + (ts[k] - ts[k - 1]) * (-d0) / (d1 - d0));
        }
        if k == 1 && d0 > 0.0 {
            return Some(ts[0]);
        }
    }
    None
}
