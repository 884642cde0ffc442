//! How the work of a training step is spread over an adapter: which kernel family runs (the subgroup kernels where
//! they fit, the general ones elsewhere), BPTT's samples per workgroup and gradient groups, and the loop budget that
//! keeps every invocation inside what llvmpipe runs.

use crate::{
    GpuContext,
    shaders::{FUSED_MAX_T, WRITEBACK_ITERATIONS, n_rec_padded},
};
use models::{NetConfig, Rule};

/// Steps per forward chunk for e-prop by default: the chunk buffers (and so e-prop's memory) do not depend on T.
/// Longer chunks amortise the per-chunk trace update, shorter ones save memory; a sequence that fits one chunk runs
/// the trace adjoint instead (no per-synapse state, the fastest path). [`TrainerConfig::with_eprop_chunk`] sets
/// another length per trainer (docs/bench.md, "e-prop's chunk length").
///
/// [`TrainerConfig::with_eprop_chunk`]: super::TrainerConfig::with_eprop_chunk
pub const EPROP_CHUNK: usize = 100;

/// How BPTT's backward work is spread over the device: chosen per adapter type, overridable for experiments with
/// `SNNBENCH_BPTT_SPW` and `SNNBENCH_BPTT_SPLITS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpttTuning {
    /// Samples per workgroup of bptt_backward: each W_rec quad read once per step serves all of them.
    pub samples_per_workgroup: u32,
    /// Groups of samples whose weight-gradient sums are computed in parallel, then reduced in a fixed order.
    pub grad_splits: u32,
    /// Run BPTT's forward and backward passes as alif_forward_sg and bptt_backward_sg (one subgroup per group of
    /// samples, the weights in private values, other neurons' values by subgroup broadcast; the input projection
    /// and the dense input gradient fused in) where the adapter allows it (see [`subgroup_kernels_fit`]);
    /// otherwise input_projection + alif_forward and bptt_backward. Chosen for CPU adapters, where memory loads are
    /// loops over lanes and these kernels are several times faster (reports/2026-11-26-lavapipe-training.md).
    pub subgroup_kernels: bool,
    /// BPTT on the subgroup kernels with T ≤ [`FUSED_MAX_T`]: the forward and the backward as one kernel per sample
    /// group, bptt_fused_sg, which keeps the forward's records (u = v − A, A, x) in private arrays instead of storage
    /// buffers — the same code and results bit for bit, 15–18 % faster per sample on lavapipe (Mesa 25.0.7,
    /// T = 100, batch 100) and no history buffers, but 66 s for llvmpipe to compile on one core, where the two
    /// kernels it replaces take 27 s and 18 s and compile side by side (docs/bench.md, "BPTT's fused kernel on
    /// lavapipe"). Off by default (`SNNBENCH_BPTT_FUSED=1`): with an empty shader cache it repays its compile only
    /// after ≈ 1 million training samples. Otherwise alif_forward_sg and bptt_backward_sg run.
    pub fused: bool,
}

/// Whether e-prop's sequence of `t_steps` fits one chunk of `chunk` steps: then the subgroup kernels keep its whole
/// forward record and sum the gradient over samples directly (eprop_backward_sg, no per-synapse state); longer
/// sequences carry per-synapse ε^a and E from chunk to chunk.
pub fn eprop_one_chunk(t_steps: usize, chunk: usize) -> bool {
    t_steps <= chunk
}

/// Loop iterations one invocation of a subgroup kernel may run, counted over all its loops: below the 65,535 after
/// which Mesa 22.3's llvmpipe silently stops every loop of the invocation (one counter shared by all of them;
/// ARCHITECTURE.md), with a margin.
pub const LOOP_BUDGET: usize = 60_000;

/// Whether the subgroup kernels can run a network: W_rec and W_in (rows padded to a multiple of 4) and W_out must
/// each fit one uniform binding, and the adapter must have subgroups of one fixed size.
pub fn subgroup_kernels_fit(cfg: &NetConfig, max_uniform_binding: u64, subgroup_sizes: Option<(u32, u32)>) -> bool {
    let largest =
        [cfg.n_rec * n_rec_padded(cfg.n_rec), cfg.n_rec * n_rec_padded(cfg.n_in), n_rec_padded(cfg.n_rec * cfg.n_out)]
            .into_iter()
            .max()
            .unwrap_or(0);
    matches!(subgroup_sizes, Some((lo, hi)) if lo == hi && lo > 0) && (largest * 4) as u64 <= max_uniform_binding
}

/// [`subgroup_kernels_fit`] on this context's adapter (its uniform binding limit and subgroup sizes): whether the
/// subgroup kernels can run this network here.
pub fn subgroup_kernels_fit_on(cfg: &NetConfig, ctx: &GpuContext) -> bool {
    let sizes = ctx.has_subgroups.then_some((ctx.info.subgroup_min_size, ctx.info.subgroup_max_size));
    subgroup_kernels_fit(cfg, ctx.limits.max_uniform_buffer_binding_size, sizes)
}

impl BpttTuning {
    /// Within what the kernels support: 1–64 samples per workgroup, 1–N gradient groups.
    pub fn clamped(self, n_batch: usize) -> Self {
        Self {
            samples_per_workgroup: self.samples_per_workgroup.clamp(1, 64),
            grad_splits: self.grad_splits.clamp(1, n_batch.max(1) as u32),
            subgroup_kernels: self.subgroup_kernels,
            fused: self.fused,
        }
    }

    /// [`BpttTuning::clamped`] and [`BpttTuning::resolved`] for a trainer configuration: its minibatch, T, rule and
    /// chunk length.
    pub(super) fn for_config(self, c: &super::TrainerConfig, fits: bool) -> Self {
        self.clamped(c.n_batch).resolved(c.rule, c.n_batch, c.t_steps, c.chunk_steps(), fits)
    }

    /// What runs: the subgroup kernels on an adapter where they fit — for BPTT at any T, for e-prop at any T (one
    /// dispatch per chunk of `eprop_chunk` steps past one chunk, see [`eprop_one_chunk`]) — and then with enough
    /// sample groups that no invocation loops more than [`LOOP_BUDGET`] times (lavapipe silently stops longer loop
    /// nests; each sample costs its steps per dispatch, T or one chunk, plus ≈ 3·N_OUT readout iterations; twice the
    /// steps in BPTT's fused kernel, forward and backward; and once per invocation the [`WRITEBACK_ITERATIONS`] of its
    /// gradient write-back). Past that (T alone too long for BPTT) the general kernels
    /// run. BPTT's fused kernel where asked for and T ≤ [`FUSED_MAX_T`].
    pub fn resolved(self, rule: Rule, n_batch: usize, t_steps: usize, eprop_chunk: usize, fits: bool) -> Self {
        let steps = if matches!(rule, Rule::Eprop(_)) { t_steps.min(eprop_chunk) } else { t_steps };
        // Once per invocation, the gradient write-back's loop (shaders.rs, writeback_rows).
        let budget = LOOP_BUDGET - WRITEBACK_ITERATIONS;
        let sg = self.subgroup_kernels && fits && steps + 64 <= budget;
        let fused = self.fused && sg && matches!(rule, Rule::Bptt(_)) && t_steps <= FUSED_MAX_T;
        let per_sample = if fused { 2 * steps + 64 } else { steps + 64 };
        let mut r = Self { subgroup_kernels: sg, fused, ..self };
        if sg {
            let samples_per_group = (budget / per_sample).max(1);
            let groups = n_batch.div_ceil(samples_per_group) as u32;
            r.grad_splits = r.grad_splits.max(groups).min(n_batch.max(1) as u32);
        }
        r
    }

    /// The defaults for an adapter type and minibatch size, all measured (see reports/2026-11-26-h200-training.md and
    /// reports/2026-11-26-lavapipe-training.md). `SNNBENCH_BPTT_SG=0|1` overrides the choice of backward kernel,
    /// `SNNBENCH_BPTT_FUSED=0|1` that of BPTT's fused kernel on the subgroup family.
    /// A CPU adapter (lavapipe) has a few threads: on the general kernels 8 samples per backward workgroup share each
    /// weight read, and 4 gradient groups halved bptt_weight_grads against 1 (the subgroup kernels, lavapipe's
    /// default, run one backward workgroup per gradient group and need no bptt_weight_grads). A GPU needs thousands
    /// of threads in flight and the backward pass is latency-bound: on an H200, one sample per workgroup and up to 128
    /// gradient groups train a GSC epoch at batch 100 in 0.67 s against 1.61 s with 8 samples per workgroup and 7.6 s
    /// unsplit.
    pub fn for_adapter(device_type: wgpu::DeviceType, n_batch: usize) -> Self {
        let d = Self::defaults(device_type, n_batch);
        let env = |name: &str, default: u32| {
            std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok()).filter(|&v| v > 0).unwrap_or(default)
        };
        let flag = |name: &str, default: bool| match std::env::var(name).ok().as_deref() {
            Some("0") => false,
            Some("1") => true,
            _ => default,
        };
        Self {
            samples_per_workgroup: env("SNNBENCH_BPTT_SPW", d.samples_per_workgroup),
            grad_splits: env("SNNBENCH_BPTT_SPLITS", d.grad_splits).min(n_batch.max(1) as u32),
            subgroup_kernels: flag("SNNBENCH_BPTT_SG", d.subgroup_kernels),
            fused: flag("SNNBENCH_BPTT_FUSED", d.fused),
        }
    }

    /// [`BpttTuning::for_adapter`] without the `SNNBENCH_*` overrides: what an adapter type gets by default. Tests
    /// build from it so that a tuning variable left in the environment cannot change what they check.
    pub fn defaults(device_type: wgpu::DeviceType, n_batch: usize) -> Self {
        let (spw, splits) = match device_type {
            wgpu::DeviceType::Cpu => (8, n_batch.min(4) as u32),
            _ => (1, n_batch.min(128) as u32),
        };
        Self {
            samples_per_workgroup: spw,
            grad_splits: splits.min(n_batch.max(1) as u32),
            subgroup_kernels: device_type == wgpu::DeviceType::Cpu,
            fused: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{TraceVariant, bptt::BpttOptions};

    #[test]
    fn subgroup_groups_keep_every_invocation_inside_the_loop_budget() {
        let bptt = Rule::Bptt(BpttOptions::default());
        let base = BpttTuning { samples_per_workgroup: 8, grad_splits: 4, subgroup_kernels: true, fused: true };
        for (n, t) in [(1, 100), (32, 100), (1000, FUSED_MAX_T), (256, 1000), (1000, 1000), (7, 30_000)] {
            let r = base.clamped(n).resolved(bptt, n, t, EPROP_CHUNK, true);
            assert!(r.subgroup_kernels, "N = {n}, T = {t}");
            let per_group = n.div_ceil(r.grad_splits as usize);
            let per_sample = if r.fused { 2 * t + 64 } else { t + 64 };
            assert!(
                per_group * per_sample + WRITEBACK_ITERATIONS <= LOOP_BUDGET,
                "N = {n}, T = {t}: {per_group} samples per group"
            );
            assert!(r.grad_splits >= 4.min(n as u32), "never fewer groups than asked for");
            assert_eq!(r.fused, t <= FUSED_MAX_T, "N = {n}, T = {t}: BPTT's fused kernel exactly while T fits it");
        }
        // e-prop while T fits one chunk, for both trace variants.
        for v in [TraceVariant::Authors, TraceVariant::Aligned] {
            assert!(base.resolved(Rule::Eprop(v), 32, EPROP_CHUNK, EPROP_CHUNK, true).subgroup_kernels);
            assert!(base.resolved(Rule::Eprop(v), 100, 1, EPROP_CHUNK, true).subgroup_kernels);
        }
        // e-prop over many chunks: one chunk per dispatch, so any T.
        assert!(
            base.resolved(Rule::Eprop(TraceVariant::Authors), 32, EPROP_CHUNK + 1, EPROP_CHUNK, true).subgroup_kernels
        );
        assert!(base.resolved(Rule::Eprop(TraceVariant::Aligned), 1000, 100_000, EPROP_CHUNK, true).subgroup_kernels);
        // e-prop with the whole sequence as its chunk: one sample costs all of T per dispatch, as BPTT's.
        for (n, t) in [(100, 1000), (64, 8500), (3, 59_000)] {
            let r = base.clamped(n).resolved(Rule::Eprop(TraceVariant::Authors), n, t, t, true);
            assert!(r.subgroup_kernels, "N = {n}, T = {t}");
            let per_group = n.div_ceil(r.grad_splits as usize);
            assert!(
                per_group * (t + 64) + WRITEBACK_ITERATIONS <= LOOP_BUDGET,
                "N = {n}, T = {t}: {per_group} samples per group"
            );
        }
        assert!(eprop_one_chunk(1000, 1000) && !eprop_one_chunk(1001, 1000));
        // The fused kernel only for BPTT on the subgroup kernels, and only when asked for.
        assert!(!base.resolved(Rule::Eprop(TraceVariant::Authors), 32, 100, EPROP_CHUNK, true).fused);
        assert!(!base.resolved(bptt, 32, 100, EPROP_CHUNK, false).fused);
        assert!(!BpttTuning { fused: false, ..base }.resolved(bptt, 32, 100, EPROP_CHUNK, true).fused);
        assert!(BpttTuning { grad_splits: 1, ..base }.resolved(bptt, 1000, FUSED_MAX_T, EPROP_CHUNK, true).fused);
        // BPTT's T alone past the budget, or a network that does not fit: the general kernels.
        assert!(!base.resolved(bptt, 2, 70_000, EPROP_CHUNK, true).subgroup_kernels);
        assert!(!base.resolved(bptt, 32, 100, EPROP_CHUNK, false).subgroup_kernels);
        assert!(!base.resolved(Rule::Eprop(TraceVariant::Authors), 32, 1000, EPROP_CHUNK, false).subgroup_kernels);
    }
}
