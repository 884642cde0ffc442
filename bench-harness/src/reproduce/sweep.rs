//! Memory against T: the GPU's buffer bytes of e-prop and BPTT (per sample = a minibatch of 1, per batch = the
//! configured minibatch), allocated on the adapter where it can bind them (measured) and from the trainer's buffer
//! plan past that (modelled; the plan is tested equal to the allocation), and the chip's SRAM bytes from the memory
//! map (e-prop, as emulated) and from BPTT's modelled map, with the largest T at which BPTT still fits a PE.

use anyhow::Result;
use models::{
    Rule, TraceVariant,
    bptt::BpttOptions,
    spinnaker2::{ChipConfig, Partition, bptt_pe_memory, pe_memory},
};

use super::{ReproduceConfig, RunInfo, interrupted, progress};
use crate::results::table::Table;

/// Columns of `memory_sweep.csv`.
pub const SWEEP_COLUMNS: [&str; 13] = [
    "platform",
    "algorithm",
    "scope",
    "batch",
    "t_steps",
    "bytes",
    "bytes_history",
    "bytes_input",
    "fits",
    "adapter",
    "git_rev",
    "source",
    "note",
];

/// Runs the sweep into `memory_sweep.csv`.
pub fn run(cfg: &ReproduceConfig, info: &RunInfo, ctx: &kernels::GpuContext) -> Result<()> {
    let path = info.out.join("memory_sweep.csv");
    if path.exists() {
        return Ok(());
    }
    let net = cfg.net.clone();
    let mut t = Table::new(&SWEEP_COLUMNS);
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
                let shape = kernels::TrainerConfig::new(&net, rule, n, steps);
                let planned = kernels::plan_bytes(&shape, ctx.info.device_type);
                let (bytes, source, mut note) = if steps <= cfg.sweep.allocate_up_to_t {
                    // The trainer's buffers, allocated on the adapter without compiling its kernels.
                    match kernels::allocate_plan(ctx, &shape) {
                        Ok(b) => (b, "measured (buffers allocated on the adapter)", String::new()),
                        Err(e) => (planned, "modelled (buffer plan)", format!("not allocated: {e}")),
                    }
                } else {
                    (
                        planned,
                        "modelled (buffer plan)",
                        format!("allocation sweep stops at T = {}", cfg.sweep.allocate_up_to_t),
                    )
                };
                // e-prop's bytes are constant in T within each of its two kernel paths; say which one this row is.
                if alg == "eprop" {
                    let path = kernels::eprop_kernel_path(&shape, ctx);
                    note = if note.is_empty() { path.to_string() } else { format!("{path}; {note}") };
                }
                t.push(vec![
                    ("platform", "gpu".into()),
                    ("algorithm", alg.into()),
                    ("scope", scope.into()),
                    ("batch", n.into()),
                    ("t_steps", steps.into()),
                    ("bytes", bytes.total().into()),
                    ("bytes_history", bytes.history.into()),
                    ("bytes_input", bytes.input.into()),
                    ("fits", "yes".into()),
                    ("adapter", info.adapter.clone().into()),
                    ("git_rev", info.git_rev.clone().into()),
                    ("source", source.into()),
                    ("note", note.into()),
                ])?;
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
            t.push(vec![
                ("platform", "spinnaker2".into()),
                ("algorithm", alg.into()),
                ("scope", "per_sample".into()),
                ("batch", 1usize.into()),
                ("t_steps", steps.into()),
                ("bytes", total.into()),
                ("bytes_history", history.into()),
                ("bytes_input", 0usize.into()),
                (
                    "fits",
                    if fits {
                        "yes".to_string()
                    } else {
                        format!("no: {worst} B on the fullest PE > {} B SRAM", chip.sram_bytes_per_pe)
                    }
                    .into(),
                ),
                ("adapter", format!("{} PEs, {} KiB SRAM each", cfg.cost.pes, chip.sram_bytes_per_pe / 1024).into()),
                ("git_rev", info.git_rev.clone().into()),
                (
                    "source",
                    if alg == "eprop" {
                        "modelled (memory map of the emulator)"
                    } else {
                        "modelled (BPTT memory map, not emulated)"
                    }
                    .into(),
                ),
                ("note", "".into()),
            ])?;
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
