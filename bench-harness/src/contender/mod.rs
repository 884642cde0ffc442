//! One type for every way of training the paper's network: the CPU reference, the WGSL kernels on a wgpu adapter,
//! burn's autodiff on its wgpu or CPU backend, and e-prop on the emulated SpiNNaker 2. Every command that trains
//! talks to a [`Contender`]; adding a backend is one implementation here plus one line in the CLI's enum.
//!
//! A contender holds the network's state (weights and Adam state, on its device), a resident training set
//! ([`Contender::load_data`]) and trains minibatches from a schedule: step k of a call uses samples
//! `(k0 + k)·N + i mod B` (B the resident samples, N the minibatch), the convention of `models::train_steps`.

mod chip;
mod cpu;
mod gpu;
#[path = "burn.rs"]
mod with_burn;

use anyhow::{Result, bail};
use models::{AdamConfig, AdamState, GradOutput, NetConfig, Params, Rule, TraceVariant, spinnaker2::Activity};

/// What a burn contender says in a build without the `burn` feature (`reproduce` measures the bench rows that say
/// it when a build with burn resumes the run).
pub const WITHOUT_BURN: &str = "this snnbench was built without the `burn` feature";

/// How many steps the WGSL kernels run e-prop's forward per chunk (`--eprop-chunk`, `schedule.eprop_chunk`). Chunk
/// by chunk, e-prop carries per-synapse traces and its device memory does not grow with T; a sequence that fits one
/// chunk runs the trace adjoint over its whole record instead, faster and with memory that grows with T
/// (docs/bench.md, "e-prop's chunk length"). The gradient is the same in real arithmetic; the other contenders
/// compute it over the whole sequence and ignore this. Written as a number of steps, `"all"` or `"auto"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ChunkValue", into = "ChunkValue")]
pub enum EpropChunk {
    /// The least device memory: the whole sequence where one chunk's record needs no more bytes than chunks of
    /// [`kernels::trainer::EPROP_CHUNK`] steps with their traces (on the adapter's kernel family; see
    /// [`kernels::eprop_chunk_for_least_memory`]), else chunks of that length (`auto`, the default).
    #[default]
    Auto,
    /// This many steps (≥ 1).
    Steps(usize),
    /// The whole sequence in one chunk (`all`).
    Whole,
}

impl EpropChunk {
    /// As [`kernels::TrainerConfig::eprop_chunk`] takes it for `config` on `ctx`'s adapter: `None` for the whole
    /// sequence.
    pub fn kernel_steps(self, ctx: &kernels::GpuContext, config: &kernels::TrainerConfig) -> Option<usize> {
        match self {
            EpropChunk::Auto => kernels::eprop_chunk_for_least_memory(ctx, config),
            EpropChunk::Steps(n) => Some(n),
            EpropChunk::Whole => None,
        }
    }

    /// `auto` decided for `config` on `ctx`'s adapter (a number of steps or `all`; the others as they are).
    pub fn resolved(self, ctx: &kernels::GpuContext, config: &kernels::TrainerConfig) -> EpropChunk {
        match self.kernel_steps(ctx, config) {
            Some(n) => EpropChunk::Steps(n),
            None => EpropChunk::Whole,
        }
    }

    /// How a result names it: `100`, `all`, or `auto (all)` with what `auto` chose.
    pub fn label(self, ctx: &kernels::GpuContext, config: &kernels::TrainerConfig) -> String {
        match self {
            EpropChunk::Auto => format!("auto ({})", self.resolved(ctx, config)),
            other => other.to_string(),
        }
    }

    /// Steps in the first chunk of a sequence of `t_steps` once resolved (rows whose chunks come to the same steps
    /// run the same kernels with the same buffers).
    pub fn first_chunk(self, ctx: &kernels::GpuContext, config: &kernels::TrainerConfig) -> usize {
        self.kernel_steps(ctx, config).unwrap_or(config.t_steps).min(config.t_steps)
    }
}

impl std::str::FromStr for EpropChunk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "all" => Ok(EpropChunk::Whole),
            "auto" => Ok(EpropChunk::Auto),
            n => match n.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!(
                    "e-prop chunk `{n}`: give a number of time steps (≥ 1), `all` (the whole sequence in one chunk) \
                     or `auto` (the least device memory)"
                )),
                Ok(n) => Ok(EpropChunk::Steps(n)),
            },
        }
    }
}

impl std::fmt::Display for EpropChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EpropChunk::Auto => f.write_str("auto"),
            EpropChunk::Steps(n) => write!(f, "{n}"),
            EpropChunk::Whole => f.write_str("all"),
        }
    }
}

/// [`EpropChunk`] in a config file: a number of steps or the string `"all"`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum ChunkValue {
    Steps(i64),
    Word(String),
}

impl TryFrom<ChunkValue> for EpropChunk {
    type Error = String;
    fn try_from(v: ChunkValue) -> Result<Self, String> {
        match v {
            ChunkValue::Steps(n) => n.to_string().parse(),
            ChunkValue::Word(w) => w.parse(),
        }
    }
}

impl From<EpropChunk> for ChunkValue {
    fn from(c: EpropChunk) -> Self {
        match c {
            EpropChunk::Steps(n) => ChunkValue::Steps(n as i64),
            other => ChunkValue::Word(other.to_string()),
        }
    }
}

/// Which contender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The CPU reference (`models`), in f32 or f64 (`f64 = true`; files and results stay f32).
    Cpu {
        /// Compute in f64.
        f64: bool,
    },
    /// The WGSL kernels on the context's wgpu adapter.
    Wgpu,
    /// BPTT through burn's autodiff on burn's wgpu backend.
    BurnWgpu,
    /// BPTT through burn's autodiff on burn's CPU backend (`flex`).
    BurnCpu,
    /// e-prop on the emulated SpiNNaker 2, online.
    Chip {
        /// Processing elements.
        pes: usize,
    },
}

impl Kind {
    /// The backend's name in CSVs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cpu { .. } => "cpu",
            Kind::Wgpu => "wgpu",
            Kind::BurnWgpu => "burn-wgpu",
            Kind::BurnCpu => "burn-cpu",
            Kind::Chip { .. } => "chip",
        }
    }

    /// Parses [`Kind::name`] (the chip with `pes` PEs, the CPU in f32).
    pub fn parse(name: &str, pes: usize) -> Option<Kind> {
        Some(match name {
            "cpu" => Kind::Cpu { f64: false },
            "wgpu" => Kind::Wgpu,
            "burn-wgpu" => Kind::BurnWgpu,
            "burn-cpu" => Kind::BurnCpu,
            "chip" => Kind::Chip { pes },
            _ => return None,
        })
    }

    /// Whether a rerun with the same seed, data and adapter gives the same bits, and why (what the CSVs' readers and
    /// the report are told; `reruns_give_the_same_bits` in tests/tests/contender_training.rs checks the claims).
    pub fn determinism(self) -> &'static str {
        match self {
            Kind::Cpu { .. } => {
                "bitwise on any machine and thread count: per-sample work on rayon threads, batch sums in sample order"
            }
            Kind::Wgpu => {
                "bitwise on the same adapter and driver: every reduction in a fixed order (partial sums reduced in \
                 group order, no float atomics); another adapter or driver may round differently (FMA contraction, \
                 exp), within the parity tolerances"
            }
            Kind::BurnWgpu | Kind::BurnCpu => {
                "not promised: burn's kernels do not fix their reduction order across runs (a rerun of the reference \
                 job differed in the 4th digit of the loss on burn-cpu)"
            }
            Kind::Chip { .. } => {
                "bitwise on any machine: every synapse sees the chip's operations in the chip's order, whatever the \
                 host's threads or SIMD width"
            }
        }
    }

    /// Whether this build has the contender (burn needs the `burn` feature).
    pub fn available(self) -> bool {
        !matches!(self, Kind::BurnWgpu | Kind::BurnCpu) || with_burn::BUILT
    }

    /// Whether this contender can train `rule`, and why not.
    pub fn check_rule(self, rule: Rule) -> Result<()> {
        match (self, rule) {
            (Kind::BurnWgpu | Kind::BurnCpu, Rule::Eprop(_)) => {
                bail!(
                    "--backend burn-*: burn trains BPTT through autodiff; use --rule bptt (e-prop runs on cpu or wgpu)"
                )
            }
            (Kind::BurnWgpu | Kind::BurnCpu, _) if !self.available() => bail!(
                "--backend {}: {WITHOUT_BURN}; rebuild with default features \
                 (`cargo build --release -p bench-harness --bin snnbench`)",
                self.name()
            ),
            (Kind::Chip { .. }, Rule::Bptt(_)) => {
                bail!("--backend chip runs e-prop (the chip's program); BPTT runs on cpu, wgpu or burn-*")
            }
            (Kind::Chip { .. }, Rule::Eprop(TraceVariant::Aligned)) => {
                bail!("--backend chip runs the authors' traces (the chip's program): drop --trace aligned")
            }
            _ => Ok(()),
        }
    }
}

/// What one training step does, besides the rule's gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepConfig {
    /// Learning rule (trace variant, detach-reset inside).
    pub rule: Rule,
    /// Learning rate.
    pub lr: f64,
    /// L2 coefficient: loss += l2·ΣW².
    pub l2: f64,
    /// Adam's constants (its `lr` is ignored: `lr` above is the one used).
    pub adam: AdamConfig,
}

impl StepConfig {
    /// Adam's constants with this step's learning rate.
    pub fn adam_config(&self) -> AdamConfig {
        AdamConfig { lr: self.lr, ..self.adam }
    }
}

/// A training set: `x [B, T, n_in]` f32, `y [B]`.
#[derive(Clone, Copy, Debug)]
pub struct Data<'a> {
    /// Inputs, flat.
    pub x: &'a [f32],
    /// Labels.
    pub y: &'a [i64],
    /// Steps per sample.
    pub t_steps: usize,
}

impl Data<'_> {
    /// B.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// Which minibatches a [`Contender::train`] call runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Minibatches {
    /// Index of the first minibatch (k0).
    pub first: usize,
    /// Adam steps.
    pub steps: usize,
    /// Samples per minibatch (N).
    pub batch: usize,
}

/// What a [`Contender::train`] call measured.
#[derive(Clone, Debug, Default)]
pub struct Trained {
    /// Loss of every step (mean CE + l2·ΣW², before the step's update).
    pub losses: Vec<f32>,
    /// Device time from timestamp queries, when the contender has them.
    pub gpu_time_s: Option<f64>,
    /// The chip's recorded spike activity of these steps (the emulated chip only).
    pub activity: Option<Activity>,
}

/// How [`Contender::step_bytes`] finds a step's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Allocate the buffers on the device and free them.
    Allocate,
    /// Compute them from the buffer plan (any size, no device memory).
    Plan,
}

/// The device bytes of one training step, and which kernel path the contender would run for it (in words).
#[derive(Clone, Debug, PartialEq)]
pub struct StepBytes {
    /// By role.
    pub bytes: kernels::BufferBytes,
    /// The kernel family or path, when the rule has several.
    pub path: Option<&'static str>,
}

/// A way of training the network.
pub trait Contender: std::fmt::Debug {
    /// Which one.
    fn kind(&self) -> Kind;
    /// The device, in words (adapter name, threads, PEs).
    fn device(&self) -> String;
    /// Sets weights and Adam state.
    fn set_state(&mut self, params: &Params<f32>, adam: &AdamState<f32>) -> Result<()>;
    /// Reads weights and Adam state back.
    fn state(&mut self) -> Result<(Params<f32>, AdamState<f32>)>;
    /// Makes `data` the resident training set (on a GPU: uploaded once, reused by every `train` call).
    fn load_data(&mut self, data: Data<'_>) -> Result<()>;
    /// Keeps `data` on the device as a pool from which [`Contender::select`] makes resident sets, so that a loop
    /// that reorders its data every epoch uploads it once. `false` (and nothing kept) where the contender has no
    /// such pool or the pool would not fit beside the resident set; then gather on the host and call `load_data`.
    fn load_pool(&mut self, _data: Data<'_>) -> Result<bool> {
        Ok(false)
    }
    /// Makes pool[order] the resident training set — the same as `load_data` of the host-gathered samples, bit for
    /// bit — after a `load_pool` that returned `true`.
    fn select(&mut self, _order: &[usize]) -> Result<()> {
        anyhow::bail!("internal: {} keeps no sample pool (load_pool returned false)", self.kind().name())
    }
    /// Keeps held-out sets (validation, test) on the device so that [`Contender::evaluate`] runs their forward passes
    /// there. `false` (and nothing kept) where the contender evaluates on the host (the CPU reference, the chip,
    /// burn) or the sets do not fit beside the training data; then evaluate with the host reference.
    fn load_eval_sets(&mut self, _sets: &[Data<'_>]) -> Result<bool> {
        Ok(false)
    }
    /// Each sample's forward pass through held-out set `which` (in `load_eval_sets`' order) with the current
    /// weights, on the device. `None` where it cannot run there (no sets kept, no trainer yet, a trainer without a
    /// forward of its own): evaluate with the host reference then.
    fn evaluate(&mut self, _which: usize) -> Result<Option<kernels::Evaluation>> {
        Ok(None)
    }
    /// Runs `mb.steps` Adam steps on minibatches of the resident set.
    fn train(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Trained>;
    /// d(loss)/dW of the whole resident set as one batch, with logits, loss and spikes; the state is unchanged.
    fn grads(&mut self, step: &StepConfig) -> Result<GradOutput<f32>>;
    /// How the WGSL kernels chunk e-prop's forward (see [`EpropChunk`]); the other contenders compute e-prop over the
    /// whole sequence and keep no chunk, so for them this does nothing.
    fn set_eprop_chunk(&mut self, _chunk: EpropChunk) {}
    /// Compiles ahead, spread over the CPUs, the kernels that training each of `rules` with minibatches of `batch`
    /// from `resident` samples of `t_steps` steps will need, so that a job training several rules compiles them at
    /// once instead of one after another at each first step (the WGSL kernels on a CPU adapter, which compiles at
    /// first dispatch); the others have nothing to compile. `report` hears `(compiled, to compile)` for a progress.
    fn compile_ahead(
        &mut self,
        _rules: &[Rule],
        _batch: usize,
        _resident: usize,
        _t_steps: usize,
        _report: kernels::CompileReport,
    ) {
    }
    /// Allocates what `train` calls of up to `mb.steps` steps need (compiles, sizes buffers), without training.
    fn prepare(&mut self, _mb: Minibatches, _step: &StepConfig) -> Result<()> {
        Ok(())
    }
    /// The most samples of `t_steps` steps the device can hold as one resident set (`None`: no limit). Larger
    /// epochs are trained in parts of this size.
    fn max_resident_samples(&self, _t_steps: usize) -> Option<usize> {
        None
    }
    /// Exact bytes of the device buffers, where the contender allocates them itself (wgpu).
    fn gpu_bytes(&self) -> Option<kernels::BufferBytes> {
        None
    }
    /// The device bytes one training step of `batch` samples × `t_steps` steps of `rule` would take (e.g. for a
    /// memory sweep), without building or running it: `Measure::Allocate` allocates the buffers on the device (same
    /// plan, checks and limits as training; no kernels compiled), `Measure::Plan` only computes them. `None` where
    /// the contender has no device buffers of its own.
    fn step_bytes(&self, _rule: Rule, _batch: usize, _t_steps: usize, _how: Measure) -> Result<Option<StepBytes>> {
        Ok(None)
    }
    /// Device time per kernel of one training step (advances the state by one step), where measurable.
    fn profile_step(&mut self, _step: &StepConfig, _batch: usize) -> Result<Option<Vec<(String, f64)>>> {
        Ok(None)
    }
}

/// Opens a contender for `cfg` (the wgpu one on `ctx`, which it needs). The state starts at zero weights: call
/// [`Contender::set_state`].
pub fn open(kind: Kind, cfg: &NetConfig, ctx: Option<&kernels::GpuContext>) -> Result<Box<dyn Contender>> {
    cfg.validate()?;
    Ok(match kind {
        Kind::Cpu { f64 } => Box::new(cpu::Cpu::new(cfg, f64)),
        Kind::Wgpu => match ctx {
            Some(ctx) => Box::new(gpu::Wgpu::new(cfg, ctx.clone())),
            None => bail!("internal: the wgpu contender needs a GPU context"),
        },
        Kind::BurnWgpu | Kind::BurnCpu => with_burn::open(kind, cfg)?,
        Kind::Chip { pes } => Box::new(chip::Chip::new(cfg, pes)?),
    })
}

/// The state and the resident set of a contender that keeps them on the host (the CPU reference, burn).
#[derive(Debug)]
struct Host {
    cfg: NetConfig,
    params: Params<f32>,
    adam: AdamState<f32>,
    x: Vec<f32>,
    y: Vec<i64>,
    t_steps: usize,
}

impl Host {
    fn new(cfg: &NetConfig) -> Self {
        let (params, adam) = zero_state(cfg);
        Self { cfg: cfg.clone(), params, adam, x: vec![], y: vec![], t_steps: 0 }
    }

    fn set_state(&mut self, params: &Params<f32>, adam: &AdamState<f32>) -> Result<()> {
        params.check_shape(&self.cfg)?;
        (self.params, self.adam) = (params.clone(), adam.clone());
        Ok(())
    }

    fn state(&self) -> (Params<f32>, AdamState<f32>) {
        (self.params.clone(), self.adam.clone())
    }

    fn load_data(&mut self, data: Data<'_>) -> Result<()> {
        models::Batch::new(data.x, data.y, data.t_steps, self.cfg.n_in, self.cfg.n_out)?;
        (self.x, self.y, self.t_steps) = (data.x.to_vec(), data.y.to_vec(), data.t_steps);
        Ok(())
    }

    fn batch(&self) -> Result<models::Batch<'_>> {
        Ok(models::Batch::new(&self.x, &self.y, self.t_steps, self.cfg.n_in, self.cfg.n_out)?)
    }
}

/// The zero state of `cfg`, for a contender's initial state.
fn zero_state(cfg: &NetConfig) -> (Params<f32>, AdamState<f32>) {
    let p = Params::zeros_shaped(cfg.n_in, cfg.n_rec, cfg.n_out);
    let a = AdamState::like(&p);
    (p, a)
}

/// The samples of minibatch `k`: `(k·N + i) mod B`.
fn minibatch(k: usize, n: usize, b: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |i| (k * n + i) % b)
}
