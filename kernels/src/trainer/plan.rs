//! The buffer plan: every buffer a trainer allocates for a configuration, with its exact size and role — the one
//! place where sizes are decided — and what is derived from it without compiling a kernel (bytes without a device,
//! an allocation-only probe, the shape checks).

use super::{
    ChunkInfo, Dims, TrainerConfig,
    tuning::{BpttTuning, LOOP_BUDGET, subgroup_kernels_fit, subgroup_kernels_fit_on},
};
use crate::{
    GpuContext, KernelError,
    shaders::{FUSED_MAX_T, coeffs_workgroup, n_rec_padded, per_sample_workgroup},
};
use models::{Rule, TraceVariant};

/// Exact bytes of every GPU buffer the trainer allocated, by role (and of the kernel private memory the buffer plan
/// lists: bptt_fused_sg's records).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferBytes {
    /// Weights, gradient, Adam m and v, counters, uniforms, losses.
    pub weights_optimizer: u64,
    /// Per-sample state that does not grow with T (e-prop traces; per-sample readout record).
    pub per_sample_state: u64,
    /// BPTT's stored history (z, A, ψ, dv per step), linear in T; with its fused kernel on a CPU adapter (T ≤ 128) the
    /// records one sample per group holds in private memory instead, constant in T. Zero for e-prop.
    pub history: u64,
    /// Optional outputs (spike record), linear in T when present.
    pub outputs: u64,
    /// The input batch (x, y), counted apart.
    pub input: u64,
}

impl BufferBytes {
    pub(super) fn add(&mut self, role: Role, size: u64) {
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

/// The CE and spike-count slots at the end of each per-sample record (layout in common.wgsl).
pub(super) const S_OUT_EXTRA: usize = 2;

/// Where the host reads a per-sample record (`sample_out`, common.wgsl's S_OUT layout): its stride in floats and the
/// offsets of the logits, the CE and the spike count.
pub(super) struct SampleOut {
    pub(super) stride: usize,
    pub(super) logits: std::ops::Range<usize>,
    pub(super) ce: usize,
    pub(super) spikes: usize,
}

impl SampleOut {
    pub(super) fn of(net: &models::NetConfig) -> Self {
        let (n_rec, n_out) = (net.n_rec, net.n_out);
        let ce = 2 * n_rec + 2 * n_out;
        Self { stride: ce + S_OUT_EXTRA, logits: 2 * n_rec + n_out..ce, ce, spikes: ce + 1 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    WeightsOptimizer,
    PerSample,
    History,
    Output,
    Input,
}

/// One buffer the trainer allocates.
#[derive(Clone, Copy, Debug)]
pub(super) struct BufferSpec {
    pub(super) label: &'static str,
    pub(super) size: u64,
    pub(super) role: Role,
    pub(super) uniform: bool,
    /// A storage buffer that another kernel binds as uniform.
    pub(super) also_uniform: bool,
    /// Not a buffer: a kernel's private memory, counted with the buffers but never allocated by the trainer (the
    /// driver provides it as scratch; bptt_fused_sg's records).
    pub(super) private: bool,
}

impl BufferSpec {
    /// The buffer's size, if the adapter can bind it (`max_bind` bytes at most).
    pub(super) fn bindable(&self, max_bind: u64) -> Result<u64, KernelError> {
        if self.size > max_bind {
            return Err(KernelError::Limits(format!(
                "buffer `{}` needs {} bytes; the adapter binds at most {max_bind} (try a smaller batch or T)",
                self.label, self.size
            )));
        }
        Ok(self.size)
    }
}

/// Every buffer [`GpuTrainer::new`](super::GpuTrainer::new) allocates for this configuration, with its exact size
/// and role: the one place where sizes are decided.
pub(super) fn buffer_plan(c: &TrainerConfig, tuning: BpttTuning) -> Vec<BufferSpec> {
    use Role::*;
    let (cfg, n_total, n_batch, t_steps) = (&c.net, c.n_total, c.n_batch, c.t_steps);
    let is_eprop = c.is_eprop();
    let tc = c.chunk_steps();
    let f = 4u64;
    let n_w = cfg.n_weights() as u64;
    let (n_in, n_rec, n_out) = (cfg.n_in as u64, cfg.n_rec as u64, cfg.n_out as u64);
    let n_pre = n_in + n_rec;
    let n_recp = n_rec_padded(cfg.n_rec) as u64;
    let (nb, nt, tt, tcu) = (n_batch as u64, n_total as u64, t_steps as u64, tc as u64);
    let s_out = SampleOut::of(cfg).stride as u64;
    let mut v = Vec::new();
    let mut add = |label: &'static str, size: u64, role: Role| {
        v.push(BufferSpec {
            label,
            size: size.max(4),
            role,
            uniform: label == "dims",
            also_uniform: label.ends_with("_u"),
            private: false,
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
    add("losses", c.max_steps.max(1) as u64 * f, WeightsOptimizer);
    add("sample_out", nb * s_out * f, PerSample);
    add("state", nb * 5 * n_recp * f, PerSample);
    add("z_start", nb * n_recp * f, PerSample);
    // The forward chunk buffers: e-prop's are per-sample state of fixed size, BPTT's (TC = T) its history, as are
    // e-prop's when its chunk is the whole sequence.
    let chunk_role = if is_eprop && !c.eprop_whole_sequence() { PerSample } else { History };
    let chunk_bytes = nb * tcu * n_recp * f;
    // The subgroup kernels compute the input current in place. e-prop on them either holds its whole sequence in one
    // chunk (T ≤ TC; buffers of one chunk whatever T is, gradient summed over samples directly) or carries
    // per-synapse traces from chunk to chunk as the general kernels do.
    let sg = tuning.subgroup_kernels;
    let eprop_one = is_eprop && sg && c.eprop_one_chunk();
    let eprop_chunked_sg = is_eprop && sg && !eprop_one;
    add("cur_in", if sg { 4 } else { chunk_bytes }, if sg { PerSample } else { chunk_role });
    // The subgroup kernels record u = v − A (in psi_c; BPTT also A) and compute ψ(u) and z = H(u) from it: z_c only as
    // the spike record of the whole sequence, if asked for (chunked, the spikes have their own buffer). BPTT's fused
    // kernel keeps u and A in private arrays.
    let fused = tuning.fused;
    // A record not kept is a 4-byte placeholder, counted as per-sample state so that the history stays exactly linear.
    let record = |add: &mut dyn FnMut(&'static str, u64, Role), name: &'static str, kept: bool| {
        if kept { add(name, chunk_bytes, chunk_role) } else { add(name, 4, PerSample) }
    };
    record(&mut add, "z_c", !sg || (c.record_spikes && !eprop_chunked_sg));
    record(&mut add, "psi_c", !fused);
    record(&mut add, "thr_c", !(is_eprop || fused));
    // BPTT's spike record is its z history, as is e-prop's in one chunk on the subgroup kernels; otherwise e-prop
    // writes a separate one when asked.
    add("spikes", if c.record_spikes && is_eprop && !eprop_one { nb * tt * n_rec * f } else { 4 }, Output);
    // BPTT on the general kernels lists every neuron's spike times for bptt_weight_grads (history: up to T per
    // neuron); the subgroup backward kernels read z(t−1) from z_c instead, and e-prop's general kernels list each
    // chunk's sources in `events`: 4-byte placeholders there.
    let lists = !is_eprop && !sg;
    add("spike_t", if lists { nb * n_rec * tcu * f } else { 4 }, if lists { chunk_role } else { PerSample });
    add("n_spikes", if lists { nb * n_rec * f } else { 4 }, PerSample);
    let n_inp = n_rec_padded(cfg.n_in) as u64;
    // The subgroup kernels read the weights, padded, as uniform buffers (pack_weights.wgsl); 4-byte placeholders
    // elsewhere.
    let packed = |add: &mut dyn FnMut(&'static str, u64, Role)| {
        add("wr_u", if sg { n_rec * n_recp * f } else { 4 }, WeightsOptimizer);
        add("wrt_u", if sg { n_rec * n_recp * f } else { 4 }, WeightsOptimizer);
        add("wit_u", if sg { n_rec * n_inp * f } else { 4 }, WeightsOptimizer);
        add("wo_u", if sg { (n_rec * n_out).div_ceil(4) * 4 * f } else { 4 }, WeightsOptimizer);
    };
    if eprop_one {
        add("grad_parts", tuning.grad_splits.max(1) as u64 * n_pre * n_recp * f, WeightsOptimizer);
        packed(&mut add);
    } else if is_eprop {
        add("ev_carry", 2 * nb * n_pre * f, PerSample);
        add("coef", nb * 2 * (tcu + 1) * n_recp * f, chunk_role);
        add("scal", nb * 2 * n_recp * f, PerSample);
        add("eps_a", nb * n_pre * n_recp * f, PerSample);
        add("e_sum", nb * n_pre * n_recp * f, PerSample);
        add("events", nb * n_rec * tcu * f, chunk_role);
        add("n_events", nb * n_rec * f, PerSample);
        if eprop_chunked_sg {
            packed(&mut add);
        }
    } else {
        // dv leaves the backward kernel only on the general kernels (the subgroup backward sums it in the lanes).
        if !sg {
            add("dv", chunk_bytes, History);
        }
        // Partial weight-gradient sums (gradient scratch, independent of T).
        add("grad_parts", tuning.grad_splits.max(1) as u64 * n_pre * n_recp * f, WeightsOptimizer);
        packed(&mut add);
    }
    if fused {
        // bptt_fused_sg's records of one sample per group at a time (u and A of each neuron and the inputs,
        // FUSED_MAX_T steps) in private arrays: counted as history, as if every group ran at once (a CPU adapter runs as
        // many as it has threads), the values the arrays hold (not the driver's padding lanes).
        v.push(BufferSpec {
            label: "fused_records",
            size: tuning.grad_splits.max(1) as u64 * FUSED_MAX_T as u64 * (2 * n_rec + n_in) * f,
            role: History,
            uniform: false,
            also_uniform: false,
            private: true,
        });
    }
    v
}

/// Which of e-prop's three kernel paths [`GpuTrainer::new`](super::GpuTrainer::new) runs for this network, minibatch
/// and T on this adapter, in words (each path's bytes are constant in T at a fixed chunk length; the one-chunk path
/// holds no per-synapse state). The configuration's rule is not consulted: the answer is e-prop's.
pub fn eprop_kernel_path(c: &TrainerConfig, ctx: &GpuContext) -> &'static str {
    let fits = subgroup_kernels_fit_on(&c.net, ctx);
    let tuning = BpttTuning::for_adapter(ctx.info.device_type, c.n_batch).clamped(c.n_batch);
    let eprop = Rule::Eprop(TraceVariant::Authors);
    let sg = tuning.resolved(eprop, c.n_batch, c.t_steps, c.chunk_steps(), fits).subgroup_kernels;
    match (sg, c.eprop_one_chunk()) {
        (true, true) => "e-prop kernels: one chunk (T ≤ TC), subgroup forward + trace adjoint, no per-synapse state",
        (true, false) => "e-prop kernels: subgroup forward and traces, TC steps per chunk, per-synapse ε^a and E",
        (false, _) => "e-prop kernels: chunked traces (TC steps per chunk), per-synapse ε^a and E",
    }
}

/// e-prop's chunk length with the least device memory for this configuration on `ctx`'s adapter: the whole sequence
/// in one chunk (`None`) when T is longer than [`EPROP_CHUNK`](super::EPROP_CHUNK) and one chunk's record needs no
/// more bytes than chunks of that length with their per-synapse traces (on a CPU adapter's subgroup kernels, for the
/// paper's network, up to T = 608 / 758 / 800 at batch 1 / 16 / 100; never on the general kernels, which keep the
/// traces either way), else `Some(EPROP_CHUNK)`. One chunk is then also the faster path. Computed from the buffer
/// plan, nothing allocated.
pub fn eprop_chunk_for_least_memory(ctx: &GpuContext, c: &TrainerConfig) -> Option<usize> {
    let chunked = c.clone().with_eprop_chunk(Some(super::EPROP_CHUNK));
    if c.t_steps <= super::EPROP_CHUNK {
        return chunked.eprop_chunk;
    }
    let whole = c.clone().with_eprop_chunk(None);
    let fits = subgroup_kernels_fit_on(&c.net, ctx);
    let bytes = |c: &TrainerConfig| {
        let tuning = BpttTuning::for_adapter(ctx.info.device_type, c.n_batch).for_config(c, fits);
        buffer_plan(c, tuning).iter().map(|s| s.size).sum::<u64>()
    };
    if bytes(&whole) <= bytes(&chunked) { None } else { chunked.eprop_chunk }
}

/// The bytes [`GpuTrainer::new`](super::GpuTrainer::new) would allocate on an adapter of this type, without a device
/// (for memory sweeps past what an adapter can bind). Equal to [`GpuTrainer::bytes`](super::GpuTrainer::bytes) of a
/// trainer built with the same configuration.
pub fn plan_bytes(c: &TrainerConfig, device_type: wgpu::DeviceType) -> BufferBytes {
    // Without a device: assume what lavapipe and WebGPU's defaults give, a 64 KiB uniform binding and (on a CPU
    // adapter) fixed subgroups.
    let sizes = (device_type == wgpu::DeviceType::Cpu).then_some((8, 8));
    let fits = subgroup_kernels_fit(&c.net, 65536, sizes);
    let tuning = BpttTuning::for_adapter(device_type, c.n_batch).for_config(c, fits);
    let mut b = BufferBytes::default();
    for spec in buffer_plan(c, tuning) {
        b.add(spec.role, spec.size);
    }
    b.input += chunk_info_bytes(c);
    b
}

/// The work split a trainer runs with on `ctx` (the kernels that fit, the split clamped to the batch), after the
/// shape checks.
pub(super) fn settle(ctx: &GpuContext, c: &TrainerConfig, tuning: BpttTuning) -> Result<BpttTuning, KernelError> {
    let fits = subgroup_kernels_fit_on(&c.net, ctx);
    let tuning = tuning.for_config(c, fits);
    check_shape(ctx, c)?;
    Ok(tuning)
}

/// The chunk descriptors (one uniform of [`ChunkInfo`] per forward chunk), counted with the input: they describe its
/// time axis.
pub(super) fn chunk_info_bytes(c: &TrainerConfig) -> u64 {
    c.t_steps.div_ceil(c.chunk_steps()) as u64 * std::mem::size_of::<ChunkInfo>() as u64
}

/// The checks [`GpuTrainer::new`](super::GpuTrainer::new) makes before it allocates: a valid network, some work,
/// workgroups the adapter allows, and on a CPU adapter no dispatch longer than its loop limit.
fn check_shape(ctx: &GpuContext, c: &TrainerConfig) -> Result<(), KernelError> {
    let (cfg, n_total, n_batch, t_steps) = (&c.net, c.n_total, c.n_batch, c.t_steps);
    cfg.validate().map_err(|e| KernelError::Input(e.to_string()))?;
    if c.is_eprop() && c.eprop_chunk == Some(0) {
        return Err(KernelError::Input("e-prop's chunk length must be at least 1 step".into()));
    }
    // One invocation runs a whole chunk (e-prop) or the whole sequence (BPTT) on any kernel family; llvmpipe silently
    // stops an invocation after 65,535 loop iterations (LOOP_BUDGET keeps a margin), so refuse rather than risk
    // training on wrong gradients.
    let steps = if c.is_eprop() { t_steps.min(c.chunk_steps()) } else { t_steps };
    if ctx.info.device_type == wgpu::DeviceType::Cpu && steps + 64 > LOOP_BUDGET {
        let fix = if c.is_eprop() {
            format!("choose an e-prop chunk of at most {} steps (--eprop-chunk)", LOOP_BUDGET - 64)
        } else {
            "train with e-prop (its forward runs chunk by chunk) or on a GPU".to_string()
        };
        return Err(KernelError::Limits(format!(
            "{steps} time steps in one dispatch: a CPU adapter (llvmpipe) stops every loop of an invocation after \
             65,535 iterations in all (60,000 allowed, with a margin), so this could train on truncated sequences; \
             {fix}"
        )));
    }
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
    let tc = c.chunk_steps();
    let rows_tiles = (n_batch * tc).div_ceil(16);
    let max_groups = lim.max_compute_workgroups_per_dimension as usize;
    if n_batch > max_groups || rows_tiles > max_groups {
        return Err(KernelError::Limits(format!(
            "minibatch of {n_batch} × {tc} steps exceeds the adapter's {max_groups} workgroups per dimension"
        )));
    }
    Ok(())
}

/// Allocates on the adapter every buffer [`GpuTrainer::new`](super::GpuTrainer::new) would allocate for this
/// configuration — the same buffer plan, the same checks and binding limits — and frees them; returns their bytes
/// (equal to that trainer's [`GpuTrainer::bytes`](super::GpuTrainer::bytes), tested). Memory sweeps measure with it:
/// building the trainer itself would also compile its kernels, seconds per shape on a CPU adapter with an empty
/// shader cache.
pub fn allocate_plan(ctx: &GpuContext, c: &TrainerConfig) -> Result<BufferBytes, KernelError> {
    let tuning = settle(ctx, c, BpttTuning::for_adapter(ctx.info.device_type, c.n_batch))?;
    let lim = &ctx.limits;
    let max_bind = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
    let mut bytes = BufferBytes::default();
    let mut held = vec![];
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    for spec in buffer_plan(c, tuning) {
        if spec.private {
            bytes.add(spec.role, spec.size);
            continue;
        }
        bytes.add(spec.role, spec.bindable(max_bind)?);
        held.push(ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(spec.label),
            size: spec.size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
    }
    let chunk = std::mem::size_of::<ChunkInfo>() as u64;
    for _ in 0..c.t_steps.div_ceil(c.chunk_steps()) {
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
