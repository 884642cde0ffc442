//! The host side of batched training on the GPU: allocates every buffer once (and counts its bytes), builds the
//! pipelines and bind groups for one rule, and records whole training steps — forward, gradients, loss, Adam — into
//! command buffers with no host round trip between time steps or between steps.
//!
//! One concern per file: [`TrainerConfig`] and the trainer's state here; `tuning` (which kernel family and work
//! split an adapter runs), `plan` (every buffer and its bytes, the shape checks), `graph` (building the pipelines and
//! the dispatch graph of one step), `run` (uploads, recorded steps, gradients, readback, profiling).

mod eval;
mod graph;
mod jit;
mod plan;
mod run;
pub(crate) use run::check_labels;
mod tuning;

pub use eval::{EvalSet, Evaluation};
pub use jit::{CompileReport, CompiledAhead, PARALLEL_JIT_ENV, compile_ahead};
pub use plan::{BufferBytes, allocate_plan, eprop_chunk_for_least_memory, eprop_kernel_path, plan_bytes};
pub use tuning::{
    BpttTuning, EPROP_CHUNK, LOOP_BUDGET, eprop_one_chunk, subgroup_kernels_fit, subgroup_kernels_fit_on,
};

use models::{NetConfig, Rule};

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
    n_lif: u32,
    window: u32,
}

/// One recorded dispatch.
struct Dispatch {
    stem: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
    /// For the unrolled kernels (the ones a CPU adapter takes minutes to compile): which source the pipeline is.
    jit: Option<crate::context::SourceId>,
}

/// A forward dispatch with its buffers in binding order, so that the evaluation can bind a held-out set's x and y in
/// place of the resident set's (same pipeline: nothing new to compile).
struct Recipe {
    stem: &'static str,
    pipeline: wgpu::ComputePipeline,
    bufs: Vec<wgpu::Buffer>,
    groups: (u32, u32),
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ChunkInfo {
    t0: u32,
    tc: u32,
    index: u32,
    /// The chunk records' rows per sample (the chunk length TC; T for BPTT).
    stride: u32,
}

/// What a trainer is built for: the network, the rule, how many samples are resident and how many make a minibatch,
/// the sequence length, and what it records. [`TrainerConfig::new`] gives the common case (the minibatch is the whole
/// resident batch, no spike record, one recorded loss); the `with_*` methods change one field each.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerConfig {
    /// The network's shape and neuron constants.
    pub net: NetConfig,
    /// e-prop (with its trace variant) or BPTT (with its options).
    pub rule: Rule,
    /// B: samples uploaded to the device, from which minibatches are drawn.
    pub n_total: usize,
    /// N: samples per minibatch (per gradient).
    pub n_batch: usize,
    /// T: time steps per sample.
    pub t_steps: usize,
    /// Keep a `[N, T, N_REC]` spike record for [`GpuTrainer::grads`].
    pub record_spikes: bool,
    /// At most this many losses are recorded per [`GpuTrainer::train`] call.
    pub max_steps: usize,
    /// e-prop's steps per forward chunk (TC; [`EPROP_CHUNK`] unless set): its chunk buffers hold this many steps
    /// whatever T is, and a sequence of at most this many steps runs in one chunk (the trace adjoint, no per-synapse
    /// state). `None`: the whole sequence in one chunk (TC = T; the buffers are then its history, linear in T). Not
    /// used by BPTT, whose chunk is its whole history.
    pub eprop_chunk: Option<usize>,
}

impl TrainerConfig {
    /// Minibatches of `n_batch` = the whole resident batch, sequences of `t_steps`, no spike record, one loss slot.
    pub fn new(net: &NetConfig, rule: Rule, n_batch: usize, t_steps: usize) -> Self {
        Self {
            net: net.clone(),
            rule,
            n_total: n_batch,
            n_batch,
            t_steps,
            record_spikes: false,
            max_steps: 1,
            eprop_chunk: Some(EPROP_CHUNK),
        }
    }

    /// e-prop's forward in chunks of `steps` (≥ 1) instead of [`EPROP_CHUNK`], or (`None`) the whole sequence in one
    /// chunk: longer chunks run faster and hold more memory. Ignored by BPTT.
    pub fn with_eprop_chunk(self, steps: Option<usize>) -> Self {
        Self { eprop_chunk: steps, ..self }
    }

    /// Whether e-prop's chunk buffers hold the whole sequence by construction (`eprop_chunk` = `None`): then they
    /// grow with T and count as history.
    fn eprop_whole_sequence(&self) -> bool {
        self.is_eprop() && self.eprop_chunk.is_none()
    }

    /// `n_total` samples resident on the device, minibatches drawn from them.
    pub fn with_resident(self, n_total: usize) -> Self {
        Self { n_total, ..self }
    }

    /// Keep the spike record (for gradient checks).
    pub fn with_spike_record(self) -> Self {
        Self { record_spikes: true, ..self }
    }

    /// Room for `max_steps` losses per [`GpuTrainer::train`] call.
    pub fn with_max_steps(self, max_steps: usize) -> Self {
        Self { max_steps, ..self }
    }

    /// Whether a trainer built for `self` can run what `want` asks: the same in everything but the loss slots, of
    /// which it has at least as many.
    pub fn serves(&self, want: &TrainerConfig) -> bool {
        self.max_steps >= want.max_steps && *self == TrainerConfig { max_steps: self.max_steps, ..want.clone() }
    }

    fn is_eprop(&self) -> bool {
        matches!(self.rule, Rule::Eprop(_))
    }

    /// Steps per forward chunk: the configured chunk for e-prop (its buffers do not grow with T), all of T for BPTT.
    fn chunk_steps(&self) -> usize {
        match self.eprop_chunk {
            Some(n) if self.is_eprop() => n.max(1),
            _ => self.t_steps.max(1),
        }
    }

    /// Whether e-prop's whole sequence fits one chunk (see [`eprop_one_chunk`]).
    fn eprop_one_chunk(&self) -> bool {
        eprop_one_chunk(self.t_steps, self.chunk_steps())
    }
}

/// Batched e-prop or BPTT training on one device, for a fixed network, rule, minibatch size and T.
pub struct GpuTrainer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    config: TrainerConfig,
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
    /// `spikes` is the forward's z record [N, T, N_RECP] (BPTT, and e-prop in one chunk on the subgroup kernels).
    z_history: bool,
    gradient: Vec<Dispatch>,
    /// The forward of one minibatch (the weight packing, the forward chunks; empty when the forward is fused into
    /// the gradient kernel): what [`GpuTrainer::evaluate`] runs.
    forward: Vec<Recipe>,
    loss: Dispatch,
    adam: Dispatch,
    /// Seconds per timestamp tick; `None` without timestamp queries.
    timestamp_period: Option<f64>,
    bytes: BufferBytes,
    /// What was compiled in parallel before this trainer was built (CPU adapters; `jit`).
    compiled_ahead: Option<CompiledAhead>,
}

impl std::fmt::Debug for GpuTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTrainer").field("config", &self.config).field("bytes", &self.bytes).finish()
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
        self.config.rule
    }

    /// The resident set's buffers, x [B, T, n_in] and y [B] (u32 labels): where [`crate::SamplePool`] copies a
    /// selection.
    pub(crate) fn input_buffers(&self) -> (&wgpu::Buffer, &wgpu::Buffer) {
        (&self.x, &self.y)
    }

    /// What this trainer was built for.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// The unrolled kernels this trainer's construction compiled in parallel, on how many devices and in how long;
    /// `None` when it compiled none (not a CPU adapter, fewer than two kernels not yet compiled in this process,
    /// one CPU, Mesa's shader cache off, or `SNNBENCH_PARALLEL_JIT=0`).
    pub fn compiled_ahead(&self) -> Option<&CompiledAhead> {
        self.compiled_ahead.as_ref()
    }
}
