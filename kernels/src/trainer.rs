//! The host side of batched training on the GPU: allocates every buffer once (and counts its bytes), builds the
//! pipelines and bind groups for one rule, and records whole training steps — forward, gradients, loss, Adam — into
//! command buffers with no host round trip between time steps or between steps.

use crate::{
    GpuContext, KernelError,
    shaders::{Kernel, Variant, coeffs_workgroup, n_rec_padded, per_sample_workgroup, pipeline},
};
use models::{AdamConfig, AdamState, GradOutput, NetConfig, Params, Rule, TraceVariant};

/// Exact bytes of every GPU buffer the trainer allocated, by role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferBytes {
    /// Weights, gradient, Adam m and v, counters, uniforms, losses.
    pub weights_optimizer: u64,
    /// Per-sample state that does not grow with T (e-prop traces; per-sample readout record).
    pub per_sample_state: u64,
    /// BPTT's stored history (z, A, ψ, dv per step), linear in T. Zero for e-prop.
    pub history: u64,
    /// Optional outputs (spike record), linear in T when present.
    pub outputs: u64,
    /// The input batch (x, y), counted apart.
    pub input: u64,
}

impl BufferBytes {
    fn add(&mut self, role: Role, size: u64) {
        *match role {
            Role::WeightsOptimizer => &mut self.weights_optimizer,
            Role::PerSample => &mut self.per_sample_state,
            Role::History => &mut self.history,
            Role::Output => &mut self.outputs,
            Role::Input => &mut self.input,
        } += size;
    }

    /// Everything except the input batch.
    pub fn total(&self) -> u64 {
        self.weights_optimizer + self.per_sample_state + self.history + self.outputs
    }
}

/// GPU time of a call, from timestamp queries when the adapter has them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTiming {
    /// Seconds between the first and last timestamp of each submission, summed; `None` without timestamp queries.
    pub gpu_time_s: Option<f64>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n_batch: u32,
    t_steps: u32,
    n_total: u32,
    record_spikes: u32,
    l2: f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    k0: u32,
    _pad: [u32; 2],
}

/// One recorded dispatch.
struct Dispatch {
    stem: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ChunkInfo {
    t0: u32,
    tc: u32,
    index: u32,
    last: u32,
}

/// Steps per forward chunk for e-prop: the chunk buffers (and so e-prop's memory) do not depend on T. Chosen on
/// lavapipe (see the issue note): longer chunks amortise the per-chunk trace update, shorter ones save memory.
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
}

/// Loop iterations one invocation of a subgroup kernel may run: below the 65,535 after which Mesa 22.3's llvmpipe
/// silently leaves a loop nest (ARCHITECTURE.md), with a margin.
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

/// [`subgroup_kernels_fit`] on this context's adapter (its uniform binding limit and subgroup sizes).
fn subgroup_kernels_fit_on(cfg: &NetConfig, ctx: &GpuContext) -> bool {
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
        }
    }

    /// What runs: the subgroup kernels on an adapter where they fit — for BPTT at any T, for e-prop when the sequence
    /// fits one chunk (T ≤ [`EPROP_CHUNK`]; longer ones run the chunked trace kernels) — and then with enough sample
    /// groups that no invocation loops more than [`LOOP_BUDGET`] times (lavapipe silently stops longer loop nests;
    /// each sample costs T steps plus ≈ 3·N_OUT readout iterations). Past that (T alone too long) the general kernels
    /// run.
    pub fn resolved(self, rule: Rule, n_batch: usize, t_steps: usize, fits: bool) -> Self {
        let per_sample = t_steps + 64;
        let rule_ok = !matches!(rule, Rule::Eprop(_)) || t_steps <= EPROP_CHUNK;
        let sg = self.subgroup_kernels && fits && rule_ok && per_sample <= LOOP_BUDGET;
        let mut r = Self { subgroup_kernels: sg, ..self };
        if sg {
            let samples_per_group = (LOOP_BUDGET / per_sample).max(1);
            let groups = n_batch.div_ceil(samples_per_group) as u32;
            r.grad_splits = r.grad_splits.max(groups).min(n_batch.max(1) as u32);
        }
        r
    }

    /// The defaults for an adapter type and minibatch size, all measured (see reports/2026-11-26-h200-training.md and
    /// reports/2026-11-26-lavapipe-training.md). `SNNBENCH_BPTT_SG=0|1` overrides the choice of backward kernel.
    /// A CPU adapter (lavapipe) has a few threads: 8 samples per backward workgroup share each weight read, and 4
    /// gradient groups halve bptt_weight_grads against 1. A GPU needs thousands of threads in flight and the backward
    /// pass is latency-bound: on an H200, one sample per workgroup and up to 128 gradient groups train a GSC epoch
    /// at batch 100 in 0.67 s against 1.61 s with 8 samples per workgroup and 7.6 s unsplit.
    pub fn for_adapter(device_type: wgpu::DeviceType, n_batch: usize) -> Self {
        let (spw, splits) = match device_type {
            wgpu::DeviceType::Cpu => (8, n_batch.min(4) as u32),
            _ => (1, n_batch.min(128) as u32),
        };
        let env = |name: &str, default: u32| {
            std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok()).filter(|&v| v > 0).unwrap_or(default)
        };
        let sg_default = device_type == wgpu::DeviceType::Cpu;
        let subgroup_kernels = match std::env::var("SNNBENCH_BPTT_SG").ok().as_deref() {
            Some("0") => false,
            Some("1") => true,
            _ => sg_default,
        };
        Self {
            samples_per_workgroup: env("SNNBENCH_BPTT_SPW", spw),
            grad_splits: env("SNNBENCH_BPTT_SPLITS", splits).min(n_batch.max(1) as u32),
            subgroup_kernels,
        }
    }
}

/// Batched e-prop or BPTT training on one device, for a fixed network, rule, minibatch size and T.
pub struct GpuTrainer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    cfg: NetConfig,
    rule: Rule,
    n_batch: usize,
    n_total: usize,
    t_steps: usize,
    record_spikes: bool,
    max_steps: usize,
    dims: wgpu::Buffer,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    w: wgpu::Buffer,
    grad: wgpu::Buffer,
    m: wgpu::Buffer,
    v: wgpu::Buffer,
    counters: wgpu::Buffer,
    losses: wgpu::Buffer,
    sample_out: wgpu::Buffer,
    spikes: wgpu::Buffer,
    /// `spikes` is the forward's z record [N, T, N_RECP] (BPTT, and e-prop on the subgroup kernels).
    z_history: bool,
    gradient: Vec<Dispatch>,
    loss: Dispatch,
    adam: Dispatch,
    timestamps: Option<(wgpu::QuerySet, wgpu::Buffer, f64)>,
    bytes: BufferBytes,
}

impl std::fmt::Debug for GpuTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTrainer")
            .field("rule", &self.rule)
            .field("n_batch", &self.n_batch)
            .field("n_total", &self.n_total)
            .field("t_steps", &self.t_steps)
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// The CE slot at the end of each per-sample record (layout in common.wgsl).
const S_OUT_EXTRA: usize = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    WeightsOptimizer,
    PerSample,
    History,
    Output,
    Input,
}

/// One buffer the trainer allocates.
#[derive(Clone, Copy, Debug)]
struct BufferSpec {
    label: &'static str,
    size: u64,
    role: Role,
    uniform: bool,
    /// A storage buffer that another kernel binds as uniform.
    also_uniform: bool,
}

impl BufferSpec {
    /// The buffer's size, if the adapter can bind it (`max_bind` bytes at most).
    fn bindable(&self, max_bind: u64) -> Result<u64, KernelError> {
        if self.size > max_bind {
            return Err(KernelError::Limits(format!(
                "buffer `{}` needs {} bytes; the adapter binds at most {max_bind} (try a smaller batch or T)",
                self.label, self.size
            )));
        }
        Ok(self.size)
    }
}

/// Every buffer [`GpuTrainer::new`] allocates for this configuration, with its exact size and role: the one place
/// where sizes are decided.
#[allow(clippy::too_many_arguments)]
fn buffer_plan(
    cfg: &NetConfig,
    rule: Rule,
    n_total: usize,
    n_batch: usize,
    t_steps: usize,
    record_spikes: bool,
    max_steps: usize,
    tuning: BpttTuning,
) -> Vec<BufferSpec> {
    use Role::*;
    let is_eprop = matches!(rule, Rule::Eprop(_));
    let tc = if is_eprop { EPROP_CHUNK } else { t_steps };
    let f = 4u64;
    let n_w = cfg.n_weights() as u64;
    let (n_in, n_rec, n_out) = (cfg.n_in as u64, cfg.n_rec as u64, cfg.n_out as u64);
    let n_pre = n_in + n_rec;
    let n_recp = n_rec_padded(cfg.n_rec) as u64;
    let (nb, nt, tt, tcu) = (n_batch as u64, n_total as u64, t_steps as u64, tc as u64);
    let s_out = 2 * n_rec + 2 * n_out + S_OUT_EXTRA as u64;
    let mut v = Vec::new();
    let mut add = |label: &'static str, size: u64, role: Role| {
        v.push(BufferSpec {
            label,
            size: size.max(4),
            role,
            uniform: label == "dims",
            also_uniform: label.ends_with("_u"),
        });
    };
    add("dims", std::mem::size_of::<Dims>() as u64, WeightsOptimizer);
    add("x", nt * tt * n_in * f, Input);
    add("y", nt * f, Input);
    add("w", n_w * f, WeightsOptimizer);
    add("grad", n_w * f, WeightsOptimizer);
    add("adam_m", n_w * f, WeightsOptimizer);
    add("adam_v", n_w * f, WeightsOptimizer);
    add("counters", 2 * f, WeightsOptimizer);
    add("losses", max_steps.max(1) as u64 * f, WeightsOptimizer);
    add("sample_out", nb * s_out * f, PerSample);
    add("state", nb * 5 * n_recp * f, PerSample);
    add("z_start", nb * n_recp * f, PerSample);
    // The forward chunk buffers: e-prop's are per-sample state of fixed size, BPTT's (TC = T) its history.
    let chunk_role = if is_eprop { PerSample } else { History };
    let chunk_bytes = nb * tcu * n_recp * f;
    // The subgroup kernels compute the input current in place. e-prop runs them only when T fits one chunk: its
    // buffers keep the size of one chunk (TC steps) whatever T ≤ TC is.
    let sg = tuning.subgroup_kernels;
    let eprop_sg = is_eprop && sg;
    add("cur_in", if sg { 4 } else { chunk_bytes }, if sg { PerSample } else { chunk_role });
    add("z_c", chunk_bytes, chunk_role);
    add("psi_c", chunk_bytes, chunk_role);
    add("thr_c", if is_eprop { 4 } else { chunk_bytes }, chunk_role);
    // BPTT's spike record is its z history, as is e-prop's on the subgroup kernels; otherwise e-prop writes a
    // separate one when asked.
    add("spikes", if record_spikes && is_eprop && !sg { nb * tt * n_rec * f } else { 4 }, Output);
    // BPTT lists every neuron's spike times for the recurrent weight gradient (history: up to T per neuron), and so
    // does e-prop on the subgroup kernels (up to TC); otherwise e-prop binds 4-byte placeholders.
    let lists = !is_eprop || eprop_sg;
    add("spike_t", if lists { nb * n_rec * tcu * f } else { 4 }, chunk_role);
    add("n_spikes", if lists { nb * n_rec * f } else { 4 }, PerSample);
    if eprop_sg {
        add("dv", chunk_bytes, PerSample);
        add("grad_parts", tuning.grad_splits.max(1) as u64 * n_pre * n_recp * f, WeightsOptimizer);
        let n_inp = n_rec_padded(cfg.n_in) as u64;
        add("wr_u", n_rec * n_recp * f, WeightsOptimizer);
        add("wrt_u", n_rec * n_recp * f, WeightsOptimizer);
        add("wit_u", n_rec * n_inp * f, WeightsOptimizer);
        add("wo_u", (n_rec * n_out).div_ceil(4) * 4 * f, WeightsOptimizer);
    } else if is_eprop {
        add("ev_carry", 2 * nb * n_pre * f, PerSample);
        add("coef", nb * 2 * (tcu + 1) * n_recp * f, PerSample);
        add("scal", nb * 2 * n_recp * f, PerSample);
        add("eps_a", nb * n_pre * n_recp * f, PerSample);
        add("e_sum", nb * n_pre * n_recp * f, PerSample);
        add("events", nb * n_rec * tcu * f, PerSample);
        add("n_events", nb * n_rec * f, PerSample);
    } else {
        add("dv", chunk_bytes, History);
        // Partial weight-gradient sums (gradient scratch, independent of T).
        add("grad_parts", tuning.grad_splits.max(1) as u64 * n_pre * n_recp * f, WeightsOptimizer);
        // The subgroup kernels read the weights, padded, as uniform buffers (pack_weights.wgsl).
        let sg = tuning.subgroup_kernels;
        let n_inp = n_rec_padded(cfg.n_in) as u64;
        add("wr_u", if sg { n_rec * n_recp * f } else { 4 }, WeightsOptimizer);
        add("wrt_u", if sg { n_rec * n_recp * f } else { 4 }, WeightsOptimizer);
        add("wit_u", if sg { n_rec * n_inp * f } else { 4 }, WeightsOptimizer);
        add("wo_u", if sg { (n_rec * n_out).div_ceil(4) * 4 * f } else { 4 }, WeightsOptimizer);
    }
    v
}

/// Which of e-prop's two kernel paths [`GpuTrainer::new`] runs for this network, minibatch and T on this adapter,
/// in words (each path's bytes are constant in T; the one-chunk path holds no per-synapse state).
pub fn eprop_kernel_path(cfg: &NetConfig, n_batch: usize, t_steps: usize, ctx: &GpuContext) -> &'static str {
    let fits = subgroup_kernels_fit_on(cfg, ctx);
    let tuning = BpttTuning::for_adapter(ctx.info.device_type, n_batch).clamped(n_batch);
    if tuning.resolved(Rule::Eprop(TraceVariant::Authors), n_batch, t_steps, fits).subgroup_kernels {
        "e-prop kernels: one chunk (T ≤ TC), subgroup forward + trace adjoint, no per-synapse state"
    } else {
        "e-prop kernels: chunked traces (TC steps per chunk), per-synapse ε^a and E"
    }
}

/// The bytes [`GpuTrainer::new`] would allocate on an adapter of this type, without a device (for memory sweeps past
/// what an adapter can bind). Equal to [`GpuTrainer::bytes`] of a trainer built with the same arguments.
#[allow(clippy::too_many_arguments)]
pub fn plan_bytes(
    cfg: &NetConfig,
    rule: Rule,
    n_total: usize,
    n_batch: usize,
    t_steps: usize,
    record_spikes: bool,
    max_steps: usize,
    device_type: wgpu::DeviceType,
) -> BufferBytes {
    let tuning = BpttTuning::for_adapter(device_type, n_batch).clamped(n_batch);
    // Without a device: assume what lavapipe and WebGPU's defaults give, a 64 KiB uniform binding and (on a CPU
    // adapter) fixed subgroups.
    let sizes = (device_type == wgpu::DeviceType::Cpu).then_some((8, 8));
    let fits = subgroup_kernels_fit(cfg, 65536, sizes);
    let tuning = tuning.resolved(rule, n_batch, t_steps, fits);
    let mut b = BufferBytes::default();
    for spec in buffer_plan(cfg, rule, n_total, n_batch, t_steps, record_spikes, max_steps, tuning) {
        b.add(spec.role, spec.size);
    }
    let tc = if matches!(rule, Rule::Eprop(_)) { EPROP_CHUNK } else { t_steps.max(1) };
    b.input += t_steps.div_ceil(tc) as u64 * std::mem::size_of::<ChunkInfo>() as u64;
    b
}

/// The work split a trainer runs with on `ctx` (the kernels that fit, the split clamped to the batch), after the
/// shape checks.
fn settle(
    ctx: &GpuContext,
    cfg: &NetConfig,
    rule: Rule,
    n_total: usize,
    n_batch: usize,
    t_steps: usize,
    tuning: BpttTuning,
) -> Result<BpttTuning, KernelError> {
    let fits = subgroup_kernels_fit_on(cfg, ctx);
    let tuning = tuning.clamped(n_batch).resolved(rule, n_batch, t_steps, fits);
    check_shape(ctx, cfg, rule, n_total, n_batch, t_steps)?;
    Ok(tuning)
}

/// The checks [`GpuTrainer::new`] makes before it allocates: a valid network, some work, workgroups the adapter
/// allows.
fn check_shape(
    ctx: &GpuContext,
    cfg: &NetConfig,
    rule: Rule,
    n_total: usize,
    n_batch: usize,
    t_steps: usize,
) -> Result<(), KernelError> {
    cfg.validate().map_err(|e| KernelError::Input(e.to_string()))?;
    if n_total == 0 || n_batch == 0 || t_steps == 0 {
        return Err(KernelError::Input(format!(
            "empty work: B = {n_total}, N = {n_batch}, T = {t_steps}; all must be at least 1"
        )));
    }
    let lim = &ctx.limits;
    let wg = per_sample_workgroup(cfg.n_rec).max(coeffs_workgroup(cfg.n_in, cfg.n_rec));
    if wg > lim.max_compute_invocations_per_workgroup || wg > lim.max_compute_workgroup_size_x {
        return Err(KernelError::Limits(format!(
            "a {}→{} network needs {wg} threads per workgroup; the adapter allows {}",
            cfg.n_in, cfg.n_rec, lim.max_compute_invocations_per_workgroup
        )));
    }
    let tc = if matches!(rule, Rule::Eprop(_)) { EPROP_CHUNK } else { t_steps };
    let rows_tiles = (n_batch * tc).div_ceil(16);
    let max_groups = lim.max_compute_workgroups_per_dimension as usize;
    if n_batch > max_groups || rows_tiles > max_groups {
        return Err(KernelError::Limits(format!(
            "minibatch of {n_batch} × {tc} steps exceeds the adapter's {max_groups} workgroups per dimension"
        )));
    }
    Ok(())
}

/// Allocates on the adapter every buffer [`GpuTrainer::new`] would allocate for these arguments — the same buffer
/// plan, the same checks and binding limits — and frees them; returns their bytes (equal to that trainer's
/// [`GpuTrainer::bytes`], tested). Memory sweeps measure with it: building the trainer itself would also compile
/// its kernels, seconds per shape on a CPU adapter with an empty shader cache.
#[allow(clippy::too_many_arguments)]
pub fn allocate_plan(
    ctx: &GpuContext,
    cfg: &NetConfig,
    rule: Rule,
    n_total: usize,
    n_batch: usize,
    t_steps: usize,
    record_spikes: bool,
    max_steps: usize,
) -> Result<BufferBytes, KernelError> {
    let tuning = BpttTuning::for_adapter(ctx.info.device_type, n_batch);
    let tuning = settle(ctx, cfg, rule, n_total, n_batch, t_steps, tuning)?;
    let lim = &ctx.limits;
    let max_bind = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
    let mut bytes = BufferBytes::default();
    let mut held = vec![];
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    for spec in buffer_plan(cfg, rule, n_total, n_batch, t_steps, record_spikes, max_steps, tuning) {
        bytes.add(spec.role, spec.bindable(max_bind)?);
        held.push(ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(spec.label),
            size: spec.size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
    }
    let tc = if matches!(rule, Rule::Eprop(_)) { EPROP_CHUNK } else { t_steps };
    let chunk = std::mem::size_of::<ChunkInfo>() as u64;
    for _ in 0..t_steps.div_ceil(tc) {
        bytes.input += chunk;
        held.push(ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("chunk"),
            size: chunk,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
    }
    // An allocation the adapter could not make is an error here (a trainer would fail the same way).
    if let Some(err) = pollster::block_on(scope.pop()) {
        return Err(KernelError::Device(format!("allocating the buffers: {err}")));
    }
    drop(held);
    Ok(bytes)
}

impl GpuTrainer {
    /// Allocates buffers for minibatches of `n_batch` drawn from `n_total` samples of length `t_steps`, and at most
    /// `max_steps` recorded losses per [`GpuTrainer::train`] call. `record_spikes` keeps a `[N, T, N_REC]` spike
    /// record (for `grads`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &GpuContext,
        cfg: &NetConfig,
        rule: Rule,
        n_total: usize,
        n_batch: usize,
        t_steps: usize,
        record_spikes: bool,
        max_steps: usize,
    ) -> Result<Self, KernelError> {
        let tuning = BpttTuning::for_adapter(ctx.info.device_type, n_batch);
        Self::with_tuning(ctx, cfg, rule, n_total, n_batch, t_steps, record_spikes, max_steps, tuning)
    }

    /// [`GpuTrainer::new`] with BPTT's work split given explicitly (tests use it to cover every split on any adapter).
    #[allow(clippy::too_many_arguments)]
    pub fn with_tuning(
        ctx: &GpuContext,
        cfg: &NetConfig,
        rule: Rule,
        n_total: usize,
        n_batch: usize,
        t_steps: usize,
        record_spikes: bool,
        max_steps: usize,
        tuning: BpttTuning,
    ) -> Result<Self, KernelError> {
        let tuning = settle(ctx, cfg, rule, n_total, n_batch, t_steps, tuning)?;
        let is_eprop = matches!(rule, Rule::Eprop(_));
        // e-prop's chunk buffers are sized for EPROP_CHUNK steps whatever T is, so its bytes do not depend on T.
        let tc = if is_eprop { EPROP_CHUNK } else { t_steps };
        let n_chunks = t_steps.div_ceil(tc);
        let lim = &ctx.limits;
        let device = ctx.device.clone();
        let queue = ctx.queue.clone();
        let plan = buffer_plan(cfg, rule, n_total, n_batch, t_steps, record_spikes, max_steps, tuning);
        let max_bind = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
        let mut bytes = BufferBytes::default();
        let mut created = 0usize;
        // Every buffer is created from the plan, so `bytes` is the plan's total by construction (and `plan_bytes`
        // tells what a configuration needs without a device).
        let mut make = |label: &str| -> Result<wgpu::Buffer, KernelError> {
            let spec = plan.iter().find(|b| b.label == label).ok_or_else(|| {
                KernelError::Input(format!("internal: buffer `{label}` is missing from the buffer plan"))
            })?;
            let size = spec.bindable(max_bind)?;
            bytes.add(spec.role, size);
            created += 1;
            let usage = if spec.uniform {
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST
            } else if spec.also_uniform {
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_SRC
            } else {
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC
            };
            Ok(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(spec.label),
                size,
                usage,
                mapped_at_creation: false,
            }))
        };
        let dims = make("dims")?;
        let x = make("x")?;
        let y = make("y")?;
        let w = make("w")?;
        let grad = make("grad")?;
        let m = make("adam_m")?;
        let v = make("adam_v")?;
        let counters = make("counters")?;
        let losses = make("losses")?;
        let sample_out = make("sample_out")?;
        let state = make("state")?;
        let z_start = make("z_start")?;
        let cur_in = make("cur_in")?;
        let z_c = make("z_c")?;
        let psi_c = make("psi_c")?;
        let thr_c = make("thr_c")?;
        let spikes = make("spikes")?;
        let spike_t = make("spike_t")?;
        let n_spikes = make("n_spikes")?;
        let (n_in, n_rec, n_out) = (cfg.n_in as u64, cfg.n_rec as u64, cfg.n_out as u64);
        let n_pre = n_in + n_rec;

        let sg = tuning.subgroup_kernels;
        let var = match rule {
            // On the subgroup kernels e-prop's one chunk is the whole sequence (T ≤ TC): the kernels shared with
            // BPTT index its buffers by T.
            Rule::Eprop(t) if sg => Variant {
                trace_aligned: t == TraceVariant::Aligned,
                chunk: t_steps,
                grad_splits: tuning.grad_splits,
                subgroup_size: ctx.info.subgroup_min_size,
                dense_in_backward: true,
                eprop_grads: true,
                ..Variant::default()
            },
            Rule::Eprop(t) => Variant { trace_aligned: t == TraceVariant::Aligned, chunk: tc, ..Variant::default() },
            Rule::Bptt(o) => Variant {
                detach_reset: o.detach_reset,
                stop_recurrent: o.stop_recurrent,
                chunk: tc,
                store_thr: true,
                samples_per_workgroup: tuning.samples_per_workgroup,
                grad_splits: tuning.grad_splits,
                subgroup_size: if tuning.subgroup_kernels { ctx.info.subgroup_min_size } else { 0 },
                dense_in_backward: tuning.subgroup_kernels,
                ..Variant::default()
            },
        };
        let chunks: Vec<wgpu::Buffer> = (0..n_chunks)
            .map(|c| {
                let t0 = c * tc;
                let info = ChunkInfo {
                    t0: t0 as u32,
                    tc: (tc.min(t_steps - t0)) as u32,
                    index: c as u32,
                    last: u32::from(c + 1 == n_chunks),
                };
                let b = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("chunk"),
                    size: std::mem::size_of::<ChunkInfo>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                queue.write_buffer(&b, 0, bytemuck::bytes_of(&info));
                b
            })
            .collect();
        // The chunk descriptors describe the input's time axis (16 B per chunk): counted with the input.
        let chunk_info_bytes = n_chunks as u64 * std::mem::size_of::<ChunkInfo>() as u64;
        let chunk_len = |c: usize| tc.min(t_steps - c * tc);

        let make_dispatch =
            |kernel: Kernel, bufs: &[&wgpu::Buffer], groups: (u32, u32)| -> Result<Dispatch, KernelError> {
                if kernel.is_unrolled() {
                    tracing::info!(
                        kernel = kernel.stem(),
                        "building the unrolled kernel for this network (≈ 20 s on lavapipe the first time; the driver \
                         caches it)"
                    );
                }
                let pipeline = pipeline(&device, kernel, cfg, var)?;
                let entries: Vec<wgpu::BindGroupEntry> = bufs
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
                    .collect();
                let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(kernel.stem()),
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
                if let Some(err) = pollster::block_on(scope.pop()) {
                    return Err(KernelError::Shader { stem: kernel.stem(), message: format!("bind group: {err}") });
                }
                Ok(Dispatch { stem: kernel.stem(), pipeline, bind_group, groups })
            };
        let nb32 = n_batch as u32;
        let pre_tiles = (n_pre as u32).div_ceil(8);
        let weight_groups = (cfg.n_weights() as u32).div_ceil(256);
        let mut gradient = Vec::new();
        let forward = |gradient: &mut Vec<Dispatch>, c: usize| -> Result<(), KernelError> {
            let ch = &chunks[c];
            let tiles = (n_batch * chunk_len(c)).div_ceil(16) as u32;
            gradient.push(make_dispatch(
                Kernel::InputProjection,
                &[&dims, ch, &x, &w, &cur_in, &counters, &w],
                (tiles, 1),
            )?);
            gradient.push(make_dispatch(
                Kernel::AlifForward,
                &[
                    &dims,
                    ch,
                    &y,
                    &w,
                    &cur_in,
                    &z_c,
                    &thr_c,
                    &psi_c,
                    &state,
                    &z_start,
                    &sample_out,
                    &spikes,
                    &counters,
                    &spike_t,
                    &n_spikes,
                ],
                (nb32, 1),
            )?);
            Ok(())
        };
        // The recurrent (and, without the subgroup backward, the dense) weight-gradient sums from dv and the spike
        // lists, then the fixed-order reduction: shared by BPTT and by e-prop on the subgroup kernels.
        let weight_grads = |gradient: &mut Vec<Dispatch>, dv: &wgpu::Buffer, grad_parts: &wgpu::Buffer| {
            gradient.push(make_dispatch(
                Kernel::BpttWeightGrads,
                &[&dims, &x, dv, grad_parts, &counters, &spike_t, &n_spikes],
                (pre_tiles, tuning.grad_splits),
            )?);
            gradient.push(make_dispatch(
                Kernel::BpttGradReduce,
                &[&dims, &w, grad_parts, &grad],
                (((n_pre * n_rec) as u32).div_ceil(256), 1),
            )?);
            Ok::<(), KernelError>(())
        };
        if sg {
            // Both rules on a CPU adapter: the subgroup forward, then BPTT's backward or e-prop's trace adjoint
            // (each summing the dense input rows), the recurrent rows from the spike lists, the fixed-order reduction.
            let dv = make("dv")?;
            let grad_parts = make("grad_parts")?;
            let (wr_u, wrt_u, wit_u, wo_u) = (make("wr_u")?, make("wrt_u")?, make("wit_u")?, make("wo_u")?);
            let packed = n_rec * n_rec_padded(cfg.n_rec).max(n_rec_padded(cfg.n_in)) as u64;
            gradient.push(make_dispatch(
                Kernel::PackWeights,
                &[&w, &wr_u, &wrt_u, &wit_u, &wo_u],
                ((packed as u32).div_ceil(256), 1),
            )?);
            gradient.push(make_dispatch(
                Kernel::AlifForwardSg,
                &[
                    &dims,
                    &wit_u,
                    &wrt_u,
                    &wo_u,
                    &x,
                    &y,
                    &counters,
                    &z_c,
                    &thr_c,
                    &psi_c,
                    &sample_out,
                    &spike_t,
                    &n_spikes,
                ],
                (tuning.grad_splits, 1),
            )?);
            if is_eprop {
                gradient.push(make_dispatch(
                    Kernel::EpropBackwardSg,
                    &[&dims, &psi_c, &sample_out, &dv, &x, &counters, &grad_parts],
                    (tuning.grad_splits, 1),
                )?);
            } else {
                gradient.push(make_dispatch(
                    Kernel::BpttBackwardSg,
                    &[&dims, &wr_u, &z_c, &thr_c, &psi_c, &sample_out, &dv, &x, &counters, &grad_parts],
                    (tuning.grad_splits, 1),
                )?);
            }
            weight_grads(&mut gradient, &dv, &grad_parts)?;
        } else if is_eprop {
            let ev_carry = make("ev_carry")?;
            let coef = make("coef")?;
            let scal = make("scal")?;
            let eps_a = make("eps_a")?;
            let e_sum = make("e_sum")?;
            let events = make("events")?;
            let n_events = make("n_events")?;
            for c in 0..n_chunks {
                forward(&mut gradient, c)?;
                let ch = &chunks[c];
                gradient.push(make_dispatch(
                    Kernel::EpropCoeffs,
                    &[&dims, ch, &x, &z_c, &psi_c, &z_start, &ev_carry, &coef, &scal, &counters, &events, &n_events],
                    (nb32, 1),
                )?);
                gradient.push(make_dispatch(
                    Kernel::EpropTraces,
                    &[ch, &ev_carry, &coef, &scal, &eps_a, &e_sum, &events, &n_events, &dims, &x, &counters],
                    (pre_tiles, nb32),
                )?);
            }
            let groups = ((n_in * n_rec + n_rec * n_rec) as u32).div_ceil(256);
            gradient.push(make_dispatch(Kernel::EpropAssemble, &[&dims, &w, &e_sum, &sample_out, &grad], (groups, 1))?);
        } else {
            let dv = make("dv")?;
            let grad_parts = make("grad_parts")?;
            // The subgroup kernels' packed weights: 4-byte placeholders here.
            for label in ["wr_u", "wrt_u", "wit_u", "wo_u"] {
                make(label)?;
            }
            forward(&mut gradient, 0)?;
            gradient.push(make_dispatch(
                Kernel::BpttBackward,
                &[&dims, &w, &z_c, &thr_c, &psi_c, &sample_out, &dv, &w],
                (nb32.div_ceil(tuning.samples_per_workgroup), 1),
            )?);
            weight_grads(&mut gradient, &dv, &grad_parts)?;
        }
        let out_groups = ((n_rec * n_out) as u32).div_ceil(64);
        gradient.push(make_dispatch(Kernel::ReadoutGrads, &[&dims, &w, &sample_out, &grad], (out_groups, 1))?);
        let loss = make_dispatch(Kernel::LossReduce, &[&dims, &w, &sample_out, &losses, &counters], (1, 1))?;
        let adam = make_dispatch(Kernel::Adam, &[&dims, &w, &grad, &m, &v, &counters], (weight_groups, 1))?;
        bytes.input += chunk_info_bytes;
        if created != plan.len() {
            return Err(KernelError::Input(format!(
                "internal: {created} buffers created but the plan lists {}",
                plan.len()
            )));
        }
        let timestamps = ctx.has_timestamps.then(|| {
            let qs = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("step timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let buf = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (qs, buf, queue.get_timestamp_period() as f64 * 1e-9)
        });
        Ok(Self {
            device,
            queue,
            cfg: cfg.clone(),
            rule,
            n_batch,
            n_total,
            t_steps,
            record_spikes,
            max_steps: max_steps.max(1),
            dims,
            x,
            y,
            w,
            grad,
            m,
            v,
            counters,
            losses,
            sample_out,
            spikes: if is_eprop && !sg { spikes } else { z_c },
            z_history: !is_eprop || sg,
            gradient,
            loss,
            adam,
            timestamps,
            bytes,
        })
    }
}

impl GpuTrainer {
    /// The kernels of one gradient pass, in dispatch order (file stems; chunked kernels repeat).
    pub fn gradient_kernels(&self) -> Vec<&'static str> {
        self.gradient.iter().map(|d| d.stem).collect()
    }

    /// Exact bytes of every buffer, by role.
    pub fn bytes(&self) -> BufferBytes {
        self.bytes
    }

    /// The rule this trainer runs.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Uploads the whole input set: `x [B, T, n_in]`, `y [B]` with B and T as given to [`GpuTrainer::new`].
    pub fn upload_batch(&self, x: &[f32], y: &[i64]) -> Result<(), KernelError> {
        let expected = self.n_total * self.t_steps * self.cfg.n_in;
        if x.len() != expected || y.len() != self.n_total {
            return Err(KernelError::Input(format!(
                "batch is x[{}], y[{}]; the trainer was built for x[{expected}] (B = {}, T = {}, n_in = {}), y[{}]",
                x.len(),
                y.len(),
                self.n_total,
                self.t_steps,
                self.cfg.n_in,
                self.n_total
            )));
        }
        if let Some((i, l)) = y.iter().enumerate().find(|(_, l)| **l < 0 || **l >= self.cfg.n_out as i64) {
            return Err(KernelError::Input(format!("label y[{i}] = {l} is outside 0..{}", self.cfg.n_out)));
        }
        let y32: Vec<u32> = y.iter().map(|&l| l as u32).collect();
        self.queue.write_buffer(&self.x, 0, bytemuck::cast_slice(x));
        self.queue.write_buffer(&self.y, 0, bytemuck::cast_slice(&y32));
        Ok(())
    }

    fn flat(p: &Params<f32>) -> Vec<f32> {
        p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).copied().collect()
    }

    fn unflat(&self, v: &[f32]) -> Params<f32> {
        let (n_in, n_rec, n_out) = (self.cfg.n_in, self.cfg.n_rec, self.cfg.n_out);
        let a = n_in * n_rec;
        let b = a + n_rec * n_rec;
        Params { n_in, n_rec, n_out, w_in: v[..a].to_vec(), w_rec: v[a..b].to_vec(), w_out: v[b..].to_vec() }
    }

    fn check_shape(&self, p: &Params<f32>) -> Result<(), KernelError> {
        p.check_shape(&self.cfg).map_err(|e| KernelError::Input(e.to_string()))
    }

    /// Uploads the weights.
    pub fn set_params(&self, p: &Params<f32>) -> Result<(), KernelError> {
        self.check_shape(p)?;
        self.queue.write_buffer(&self.w, 0, bytemuck::cast_slice(&Self::flat(p)));
        Ok(())
    }

    /// Uploads Adam's moments and step count.
    pub fn set_adam(&self, a: &AdamState<f32>) -> Result<(), KernelError> {
        self.check_shape(&a.m)?;
        self.check_shape(&a.v)?;
        self.queue.write_buffer(&self.m, 0, bytemuck::cast_slice(&Self::flat(&a.m)));
        self.queue.write_buffer(&self.v, 0, bytemuck::cast_slice(&Self::flat(&a.v)));
        let step = u32::try_from(a.step).map_err(|_| KernelError::Input(format!("Adam step {} too large", a.step)))?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[step, 0u32]));
        Ok(())
    }

    fn write_dims(&self, n_batch: usize, l2: f64, adam: &AdamConfig, lr: f64, k0: u32) {
        let d = Dims {
            n_batch: n_batch as u32,
            t_steps: self.t_steps as u32,
            n_total: self.n_total as u32,
            record_spikes: u32::from(self.record_spikes),
            l2: l2 as f32,
            lr: lr as f32,
            beta1: adam.beta1 as f32,
            beta2: adam.beta2 as f32,
            eps: adam.eps as f32,
            k0,
            _pad: [0; 2],
        };
        self.queue.write_buffer(&self.dims, 0, bytemuck::bytes_of(&d));
    }

    /// Records `steps` training steps (gradient passes, loss, optionally Adam) into one compute pass and submits.
    fn run(&self, steps: usize, with_adam: bool) -> Option<f64> {
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("train") });
        {
            let timestamp_writes = self.timestamps.as_ref().map(|(qs, _, _)| wgpu::ComputePassTimestampWrites {
                query_set: qs,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            });
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes });
            for _ in 0..steps {
                let adam = with_adam.then_some(&self.adam);
                for d in self.gradient.iter().chain(std::iter::once(&self.loss)).chain(adam) {
                    pass.set_pipeline(&d.pipeline);
                    pass.set_bind_group(0, &d.bind_group, &[]);
                    pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
                }
            }
        }
        let staging = self.timestamps.as_ref().map(|(qs, resolve, _)| {
            enc.resolve_query_set(qs, 0..2, resolve, 0);
            let staging = self.staging(16);
            enc.copy_buffer_to_buffer(resolve, 0, &staging, 0, 16);
            staging
        });
        self.queue.submit([enc.finish()]);
        let staging = staging?;
        let ticks: Vec<u64> = self.map_read(&staging).ok()?;
        let period = self.timestamps.as_ref().map(|t| t.2)?;
        Some(ticks[1].saturating_sub(ticks[0]) as f64 * period)
    }

    fn staging(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn map_read<T: bytemuck::Pod>(&self, staging: &wgpu::Buffer) -> Result<Vec<T>, KernelError> {
        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| KernelError::Device(e.to_string()))?;
        rx.recv().map_err(|e| KernelError::Device(e.to_string()))?.map_err(|e| KernelError::Device(e.to_string()))?;
        let view = staging.get_mapped_range(..).map_err(|e| KernelError::Device(e.to_string()))?;
        let out = bytemuck::pod_collect_to_vec(&view);
        drop(view);
        staging.unmap();
        Ok(out)
    }

    fn read<T: bytemuck::Pod>(&self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<T>, KernelError> {
        let staging = self.staging(bytes);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        enc.copy_buffer_to_buffer(buf, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        self.map_read(&staging)
    }

    /// Waits until the queue is idle.
    pub fn wait(&self) -> Result<(), KernelError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| KernelError::Device(e.to_string()))
    }

    /// Gradients of the whole uploaded batch (N must equal B) with the conventions of `models::compute_grads`.
    pub fn grads(&self, l2: f64) -> Result<GradOutput<f32>, KernelError> {
        if self.n_batch != self.n_total {
            return Err(KernelError::Input(format!(
                "grads needs the minibatch to be the whole batch: built with N = {}, B = {}",
                self.n_batch, self.n_total
            )));
        }
        self.write_dims(self.n_batch, l2, &AdamConfig::default(), 0.0, 0);
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[0u32, 0u32]));
        self.run(1, false);
        let (n_rec, n_out) = (self.cfg.n_rec, self.cfg.n_out);
        let n_w = self.cfg.n_weights() as u64;
        let grads: Vec<f32> = self.read(&self.grad, n_w * 4)?;
        let s_out = 2 * n_rec + 2 * n_out + S_OUT_EXTRA;
        let so: Vec<f32> = self.read(&self.sample_out, (self.n_batch * s_out * 4) as u64)?;
        let loss: Vec<f32> = self.read(&self.losses, 4)?;
        let spikes = if !self.record_spikes {
            Vec::new()
        } else if matches!(self.rule, Rule::Eprop(_)) && !self.z_history {
            let n = (self.n_batch * self.t_steps * n_rec * 4) as u64;
            self.read::<u32>(&self.spikes, n)?.iter().map(|&v| v as u8).collect()
        } else {
            // BPTT: the z history [N, T, N_RECP].
            let n_recp = n_rec_padded(n_rec);
            let z: Vec<f32> = self.read(&self.spikes, (self.n_batch * self.t_steps * n_recp * 4) as u64)?;
            z.chunks_exact(n_recp).flat_map(|r| r[..n_rec].iter().map(|&v| u8::from(v != 0.0))).collect()
        };
        let logits =
            so.chunks_exact(s_out).flat_map(|r| r[2 * n_rec + n_out..2 * n_rec + 2 * n_out].to_vec()).collect();
        Ok(GradOutput { grads: self.unflat(&grads), logits, loss: loss[0], spikes })
    }

    /// `steps` Adam steps on minibatches (k·N + i) mod B for k = `first_minibatch`.., continuing from the uploaded
    /// weights and Adam state. Returns the per-step losses and the GPU time. Nothing is read back between steps.
    pub fn train(
        &self,
        first_minibatch: usize,
        steps: usize,
        lr: f64,
        l2: f64,
        adam: &AdamConfig,
    ) -> Result<(Vec<f32>, StepTiming), KernelError> {
        if steps > self.max_steps {
            return Err(KernelError::Input(format!(
                "{steps} steps requested; the trainer holds {} losses",
                self.max_steps
            )));
        }
        // Keep Adam's step count, set the minibatch index; loss_reduce writes step k's loss to slot k − k0.
        let counters: Vec<u32> = self.read(&self.counters, 8)?;
        let first =
            u32::try_from(first_minibatch).map_err(|_| KernelError::Input("first minibatch too large".into()))?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[counters[0], first]));
        self.write_dims(self.n_batch, l2, adam, lr, first);
        let mut gpu = self.timestamps.as_ref().map(|_| 0.0);
        const CHUNK: usize = 64;
        let mut done = 0;
        while done < steps {
            let n = CHUNK.min(steps - done);
            let t = self.run(n, true);
            if let (Some(g), Some(t)) = (gpu.as_mut(), t) {
                *g += t;
            }
            done += n;
        }
        let losses: Vec<f32> = if steps > 0 { self.read(&self.losses, steps as u64 * 4)? } else { Vec::new() };
        Ok((losses, StepTiming { gpu_time_s: gpu }))
    }

    /// The current weights.
    pub fn params(&self) -> Result<Params<f32>, KernelError> {
        let v: Vec<f32> = self.read(&self.w, self.cfg.n_weights() as u64 * 4)?;
        Ok(self.unflat(&v))
    }

    /// The current Adam state.
    pub fn adam_state(&self) -> Result<AdamState<f32>, KernelError> {
        let n = self.cfg.n_weights() as u64 * 4;
        let m: Vec<f32> = self.read(&self.m, n)?;
        let v: Vec<f32> = self.read(&self.v, n)?;
        let c: Vec<u32> = self.read(&self.counters, 8)?;
        Ok(AdamState { m: self.unflat(&m), v: self.unflat(&v), step: c[0] as u64 })
    }
}

impl GpuTrainer {
    /// Device time of each kernel of one training step, from timestamp queries around one compute pass per
    /// kernel (`None` when the adapter has no timestamp queries). Runs minibatch 0 and advances Adam by one step.
    pub fn profile_step(
        &self,
        lr: f64,
        l2: f64,
        adam: &AdamConfig,
    ) -> Result<Option<Vec<(&'static str, f64)>>, KernelError> {
        if self.timestamps.is_none() {
            return Ok(None);
        }
        let period = self.timestamps.as_ref().map_or(0.0, |t| t.2);
        let passes: Vec<&Dispatch> = self.gradient.iter().chain([&self.loss, &self.adam]).collect();
        let n = passes.len() as u32;
        let qs = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * n,
        });
        let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile resolve"),
            size: 16 * n as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let counters: Vec<u32> = self.read(&self.counters, 8)?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[counters[0], 0u32]));
        self.write_dims(self.n_batch, l2, adam, lr, 0);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("profile") });
        for (i, p) in passes.iter().enumerate() {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(p.stem),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &qs,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, &p.bind_group, &[]);
            pass.dispatch_workgroups(p.groups.0, p.groups.1, 1);
        }
        enc.resolve_query_set(&qs, 0..2 * n, &resolve, 0);
        let staging = self.staging(16 * n as u64);
        enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, 16 * n as u64);
        self.queue.submit([enc.finish()]);
        let ticks: Vec<u64> = self.map_read(&staging)?;
        // Chunked kernels run several times per step: sum by kernel, in first-use order.
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        for (i, p) in passes.iter().enumerate() {
            let t = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period;
            match out.iter_mut().find(|(s, _)| *s == p.stem) {
                Some(e) => e.1 += t,
                None => out.push((p.stem, t)),
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::bptt::BpttOptions;

    #[test]
    fn subgroup_groups_keep_every_invocation_inside_the_loop_budget() {
        let bptt = Rule::Bptt(BpttOptions::default());
        let base = BpttTuning { samples_per_workgroup: 8, grad_splits: 4, subgroup_kernels: true };
        for (n, t) in [(1, 100), (32, 100), (256, 1000), (1000, 1000), (7, 30_000)] {
            let r = base.clamped(n).resolved(bptt, n, t, true);
            assert!(r.subgroup_kernels, "N = {n}, T = {t}");
            let per_group = n.div_ceil(r.grad_splits as usize);
            assert!(per_group * (t + 64) <= LOOP_BUDGET, "N = {n}, T = {t}: {per_group} samples per group");
            assert!(r.grad_splits >= 4.min(n as u32), "never fewer groups than asked for");
        }
        // e-prop while T fits one chunk, for both trace variants.
        for v in [TraceVariant::Authors, TraceVariant::Aligned] {
            assert!(base.resolved(Rule::Eprop(v), 32, EPROP_CHUNK, true).subgroup_kernels);
            assert!(base.resolved(Rule::Eprop(v), 100, 1, true).subgroup_kernels);
        }
        // T alone past the budget, e-prop over several chunks, or a network that does not fit: the general kernels.
        assert!(!base.resolved(bptt, 2, 70_000, true).subgroup_kernels);
        assert!(!base.resolved(Rule::Eprop(TraceVariant::Authors), 32, EPROP_CHUNK + 1, true).subgroup_kernels);
        assert!(!base.resolved(bptt, 32, 100, false).subgroup_kernels);
    }
}
