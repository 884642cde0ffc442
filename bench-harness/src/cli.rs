//! The `snnbench` command line: argument definitions and the commands that do not need a GPU. Commands return a
//! human-readable summary; only `main` prints it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use models::{AdamConfig, AdamState, NetConfig, Params, Rule, TraceVariant, bptt::BpttOptions};

use crate::contender::{Data, Kind, Minibatches, StepConfig};
use crate::tensors::{self, BatchData, Tensor};

/// e-prop workbench: the paper's spiking RNN trained with e-prop and BPTT on CPU, GPU and an emulated SpiNNaker 2.
#[derive(Debug, Parser)]
#[command(name = "snnbench", version, about)]
pub struct Cli {
    /// Only print errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write freshly initialised weights (the authors' init, W ~ N(0, 1/fan_in)).
    Init(InitArgs),
    /// Compute d(loss)/dW of one batch with e-prop or BPTT and write gradients, logits, loss and spikes.
    Grads(GradsArgs),
    /// Run K Adam steps from fresh Adam state (or a checkpoint's) and write the weights and per-step losses.
    TrainSteps(TrainStepsArgs),
    /// Write a seeded random batch with the statistics of normalised speech features (for tests and demos).
    RandomBatch(RandomBatchArgs),
    /// Run the forward pass on a batch and report loss and accuracy.
    Evaluate(EvaluateArgs),
    /// Train M samples and report samples/s, GPU time and the bytes of every GPU buffer.
    BenchTrain(BenchTrainArgs),
    /// The paper's log-Mel + delta features of one clip: tensor `x [100, 80]` f32.
    Features(FeaturesArgs),
    /// Extract the features of a Google Speech Commands copy once into a cache (x, y and paths per split).
    Prepare(PrepareArgs),
    /// Make a GSC-shaped dataset by speech synthesis (flite, espeak-ng).
    Synth(SynthArgs),
    /// The emulated SpiNNaker 2: memory per PE (vs the paper's 680 KB), cycles per phase, real-time verdict,
    /// energy per sample vs a GPU, the ratio's band over named assumption sets, sensitivity and what-ifs.
    Cost(CostArgs),
    /// The main job: train e-prop on the emulated SpiNNaker 2 and e-prop and BPTT on the GPU on the same data,
    /// sweep memory against T, price chip vs GPU, and write CSVs, plots and report.md into one run folder.
    Reproduce(ReproduceArgs),
    /// Rebuild summaries, plots and report.md of a reproduce run folder from its CSVs.
    Report(ReportArgs),
    /// The performance suite: samples/s and bytes per rule × backend × batch × T (and the PyTorch peer) → bench.csv.
    Bench(BenchArgs),
}

/// `snnbench reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// A local Google Speech Commands copy (unpacked); without it, a synthetic GSC is made (or reused).
    #[arg(long)]
    pub gsc: Option<PathBuf>,
    /// Already prepared features (`snnbench prepare --out DIR`) instead of a dataset to read.
    #[arg(long, conflicts_with = "gsc")]
    pub features: Option<PathBuf>,
    /// Shrink everything to finish in about 2 minutes on a 2-core machine (CI runs this).
    #[arg(long)]
    pub quick: bool,
    /// The run folder itself (default reports/<date>-<machine>-reproduce/); an existing one with the same config
    /// resumes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A config.toml of an earlier run, to repeat it exactly (overrides --quick).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// wgpu adapter name filter for the GPU runs (also `SNNBENCH_ADAPTER`).
    #[arg(long)]
    pub adapter: Option<String>,
}

/// `snnbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run folder.
    pub dir: PathBuf,
}

/// `snnbench bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Output folder (default reports/<date>-<machine>-bench/); a reproduce run folder works too.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A short suite (batch 32 and 100, T = 100).
    #[arg(long)]
    pub quick: bool,
    /// Minibatch sizes (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 32, 100])]
    pub batches: Vec<usize>,
    /// Steps per sample (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![100usize, 1000])]
    pub t: Vec<usize>,
    /// Backends (comma-separated): cpu, wgpu, burn-wgpu, burn-cpu (burn: BPTT only).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["cpu".to_string(), "wgpu".to_string(), "burn-wgpu".to_string(), "burn-cpu".to_string()])]
    pub backends: Vec<String>,
    /// Samples per timed run.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Timed runs (medians reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// wgpu adapter name filter.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Skip the PyTorch peer.
    #[arg(long)]
    pub no_peers: bool,
}

/// `snnbench features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Input WAV (any bit depth, channel count and sample rate; converted with a note).
    #[arg(long)]
    pub wav: PathBuf,
    /// Output `.safetensors` with `x [100, 80]` f32 (time-major, feature = channel·40 + mel).
    #[arg(long)]
    pub out: PathBuf,
}

/// Which GSC task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskName {
    /// The paper's 12 classes: unknown, silence and ten commands.
    #[value(name = "12")]
    Paper12,
    /// Every word (30 in v0.01, 35 in v0.02).
    #[value(name = "35")]
    AllWords,
}

/// `snnbench prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// The unpacked dataset folder (word folders, list files, `_background_noise_`).
    #[arg(long)]
    pub gsc: PathBuf,
    /// Task.
    #[arg(long, value_enum, default_value = "12")]
    pub task: TaskName,
    /// Output folder: {train,validation,test}.safetensors and .paths.txt, manifest.txt.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the silence crops.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Silence crops for training (the paper's split: 2,300).
    #[arg(long, default_value_t = 2300)]
    pub silence_train: usize,
    /// Silence crops for validation (the paper's split: 260).
    #[arg(long, default_value_t = 260)]
    pub silence_validation: usize,
}

/// `snnbench synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output folder (GSC layout).
    #[arg(long)]
    pub out: PathBuf,
    /// Speakers (each says all 30 GSC v0.01 words once).
    #[arg(long, default_value_t = 40)]
    pub speakers: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `snnbench cost`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Inputs.
    #[arg(long, default_value_t = 80)]
    pub n_in: usize,
    /// Recurrent neurons.
    #[arg(long, default_value_t = 120)]
    pub n_rec: usize,
    /// Readouts.
    #[arg(long, default_value_t = 12)]
    pub n_out: usize,
    /// Steps per sample.
    #[arg(long, default_value_t = 100)]
    pub steps_t: usize,
    /// Processing elements.
    #[arg(long, default_value_t = 12)]
    pub pes: usize,
    /// Use the chip's performance level with this clock (see --chip; defaults: 150, 300, 500).
    #[arg(long)]
    pub clock_mhz: Option<f64>,
    /// Chip description (TOML, fields of `models::spinnaker2::ChipConfig`); default: docs/hardware.md's figures.
    #[arg(long)]
    pub chip: Option<PathBuf>,
    /// How the chip's trace loop is coded: hand-scheduled, compiled-c or authors-three-pass (the other two bound
    /// the result either way).
    #[arg(long, default_value = "compiled-c")]
    pub trace_code: String,
    /// GPU preset: v100-sxm2, v100-pcie, h100-sxm5, h100-pcie.
    #[arg(long, default_value = "v100-sxm2")]
    pub gpu: String,
    /// Assumed GPU time per training sample in seconds. Default: 0.4 ms, a guess for a V100 at batch ~100 (not a
    /// measurement; pass --measured-gpu-* for one).
    #[arg(long, default_value_t = 0.4e-3)]
    pub gpu_time_per_sample: f64,
    /// Assumed GPU board power: `tdp`, `util:U` (idle + U·(TDP − idle)) or a wattage such as `60`.
    #[arg(long, default_value = "tdp")]
    pub gpu_power: String,
    /// A measured GPU time per training sample, s (e.g. `bench-train --backend wgpu` on that GPU): the headline
    /// then uses it.
    #[arg(long)]
    pub measured_gpu_time_per_sample: Option<f64>,
    /// Measured GPU board energy per training sample, idle included, J (NVML); needs --measured-gpu-idle-w.
    #[arg(long, requires = "measured_gpu_time_per_sample", requires = "measured_gpu_idle_w")]
    pub measured_gpu_j_per_sample: Option<f64>,
    /// The GPU's measured idle power, W.
    #[arg(long, requires = "measured_gpu_j_per_sample")]
    pub measured_gpu_idle_w: Option<f64>,
    /// The measured GPU's name.
    #[arg(long, default_value = "the measured GPU")]
    pub measured_gpu_name: String,
    /// Derive the counts from the shape with every neuron spiking at this rate per step, instead of emulating
    /// seeded samples (networks too large to emulate are always derived, at 0.02 unless given).
    #[arg(long)]
    pub spike_rate: Option<f64>,
    /// Samples the emulator trains on to count the work (seeded, feature-like inputs, authors' init).
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Seed of those samples and weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Price a `reproduce` run folder again from its own files (the chip run's recorded activity, config.toml,
    /// gpu_energy.csv) and rewrite its cost_*.csv and report.md; the shape, PE and GPU flags are the run's.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `snnbench bench-train`.
#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Minibatch size N.
    #[arg(long)]
    pub batch: usize,
    /// Steps per sample T.
    #[arg(long, default_value_t = 100)]
    pub steps_t: usize,
    /// Samples to train in the timed run (rounded up to whole minibatches).
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    /// Timed runs (the reported times are their medians).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// `--backend chip`: processing elements.
    #[arg(long, default_value_t = 12)]
    pub pes: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `snnbench evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Parameters (a checkpoint works too).
    #[arg(long)]
    pub params: PathBuf,
    /// Batch file.
    #[arg(long)]
    pub batch: PathBuf,
    /// Also print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Which learning rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuleName {
    /// Online e-prop.
    Eprop,
    /// Exact backpropagation through time.
    Bptt,
}

/// e-prop's trace alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceName {
    /// The authors' code (same-time ψ in ε^a).
    Authors,
    /// Time-aligned (equals stopped-gradient BPTT).
    Aligned,
}

/// Where the computation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The plain CPU reference (`models`).
    Cpu,
    /// WGSL compute shaders through wgpu (any GPU; Mesa's lavapipe without one).
    Wgpu,
    /// BPTT through burn's autodiff on burn's wgpu backend (the in-ecosystem baseline; BPTT only).
    #[value(name = "burn-wgpu")]
    BurnWgpu,
    /// BPTT through burn's autodiff on burn's CPU backend (`flex`; BPTT only).
    #[value(name = "burn-cpu")]
    BurnCpu,
    /// e-prop on the emulated SpiNNaker 2 (online, the authors' traces; 12 PEs, `--pes` for bench-train).
    Chip,
}

/// Arithmetic precision of the CPU reference. Files are always f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    /// Production precision.
    F32,
    /// Double precision, for cross-checks.
    F64,
}

/// Options shared by commands that run the network.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// TOML file overriding the network's constants (time constants, threshold, β, surrogate). Sizes come from
    /// the params; if the file gives sizes they must agree.
    #[arg(long)]
    pub net: Option<PathBuf>,
    /// DATA.md step 7: divide each input feature by its std over the batch file's samples and steps.
    #[arg(long)]
    pub normalize_features: bool,
}

/// Options that choose the rule.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Learning rule.
    #[arg(long, value_enum)]
    pub rule: RuleName,
    /// e-prop trace variant.
    #[arg(long, value_enum, default_value = "authors")]
    pub trace: TraceName,
    /// BPTT: stop the gradient through the whole reset term z(t−1)·A(t).
    #[arg(long)]
    pub detach_reset: bool,
    /// L2 coefficient: loss += l2·ΣW² over all weights.
    #[arg(long, default_value_t = 1e-5)]
    pub l2: f64,
    /// Where to compute.
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: Backend,
    /// Arithmetic precision of the CPU reference (the GPU computes in f32).
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: Precision,
    /// wgpu backend: use the first adapter whose name contains this (also `SNNBENCH_ADAPTER`).
    #[arg(long)]
    pub adapter: Option<String>,
}

impl RuleArgs {
    fn rule(&self) -> Result<Rule> {
        Ok(match self.rule {
            RuleName::Eprop => {
                if self.detach_reset {
                    bail!("--detach-reset applies to --rule bptt only (e-prop never propagates through the reset)");
                }
                Rule::Eprop(match self.trace {
                    TraceName::Authors => TraceVariant::Authors,
                    TraceName::Aligned => TraceVariant::Aligned,
                })
            }
            RuleName::Bptt => Rule::Bptt(BpttOptions { detach_reset: self.detach_reset, stop_recurrent: false }),
        })
    }

    fn check_l2(&self) -> Result<()> {
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            bail!("--l2 must be a finite number ≥ 0, found {}", self.l2);
        }
        if self.backend != Backend::Cpu && self.precision == Precision::F64 {
            bail!("--precision f64 is for the CPU reference only; the wgpu and burn backends compute in f32");
        }
        Ok(())
    }

    /// The contender this backend (and precision) names; the chip with `pes` PEs.
    fn kind(&self, pes: usize) -> Kind {
        match self.backend {
            Backend::Cpu => Kind::Cpu { f64: self.precision == Precision::F64 },
            Backend::Wgpu => Kind::Wgpu,
            Backend::BurnWgpu => Kind::BurnWgpu,
            Backend::BurnCpu => Kind::BurnCpu,
            Backend::Chip => Kind::Chip { pes },
        }
    }

    fn gpu(&self) -> Result<kernels::GpuContext> {
        let ctx = kernels::GpuContext::new(self.adapter.as_deref())?;
        tracing::info!("adapter: {}", ctx.describe());
        Ok(ctx)
    }
}

/// `snnbench init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output `.safetensors` with `w_in`, `w_rec`, `w_out`.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `snnbench grads`.
#[derive(Debug, Args)]
pub struct GradsArgs {
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Parameters (`w_in`, `w_rec`, `w_out`).
    #[arg(long)]
    pub params: PathBuf,
    /// Batch (`x [B,T,n_in]` f32, `y [B]` i64).
    #[arg(long)]
    pub batch: PathBuf,
    /// Output file: `g_in`, `g_rec`, `g_out`, `logits`, `loss`, `spikes`.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `snnbench train-steps`.
#[derive(Debug, Args)]
pub struct TrainStepsArgs {
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Starting parameters; if the file also holds Adam state (a checkpoint written by this command), pass
    /// `--resume` to continue from it.
    #[arg(long)]
    pub params: PathBuf,
    /// Continue from the Adam state stored in `--params` instead of starting fresh.
    #[arg(long)]
    pub resume: bool,
    /// Batch file the minibatches are drawn from: step k uses samples (k·N + i) mod B.
    #[arg(long)]
    pub batch: PathBuf,
    /// Number of Adam steps K.
    #[arg(long)]
    pub steps: usize,
    /// Minibatch size N.
    #[arg(long)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Output checkpoint: `w_in`, `w_rec`, `w_out`, `losses [K]`, and the Adam state (`adam_m_*`, `adam_v_*`,
    /// `adam_step`).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `snnbench random-batch`.
#[derive(Debug, Args)]
pub struct RandomBatchArgs {
    /// Number of samples B.
    #[arg(long)]
    pub batch: usize,
    /// Steps per sample T.
    #[arg(long, default_value_t = 100)]
    pub steps_t: usize,
    /// Feature width.
    #[arg(long, default_value_t = 80)]
    pub n_in: usize,
    /// Number of classes.
    #[arg(long, default_value_t = 12)]
    pub n_out: usize,
    /// Input std (1.3 ≈ the 1 % spike rate of real normalised features).
    #[arg(long, default_value_t = models::inputs::REALISTIC_GAIN)]
    pub gain: f64,
    /// Strength of a class-specific input pattern (0: labels carry no information; 0.5: an easy toy task).
    #[arg(long, default_value_t = 0.0)]
    pub class_signal: f64,
    /// RNG seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file (`x`, `y`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Reads the optional network TOML and reconciles it with the parameters' sizes.
pub fn net_config(net: &NetArgs, p: Option<&Params<f32>>) -> Result<NetConfig> {
    let mut cfg = match &net.net {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            let cfg: NetConfig =
                toml::from_str(&text).with_context(|| format!("{}: not a valid network TOML", path.display()))?;
            if let Some(p) = p {
                let file_sizes = (cfg.n_in, cfg.n_rec, cfg.n_out);
                let defaults = NetConfig::default();
                let given = (defaults.n_in, defaults.n_rec, defaults.n_out) != file_sizes;
                if given && file_sizes != (p.n_in, p.n_rec, p.n_out) {
                    bail!(
                        "{}: sizes {}→{}→{} do not match the params' {}→{}→{}",
                        path.display(),
                        cfg.n_in,
                        cfg.n_rec,
                        cfg.n_out,
                        p.n_in,
                        p.n_rec,
                        p.n_out
                    );
                }
            }
            cfg
        }
        None => NetConfig::default(),
    };
    if let Some(p) = p {
        (cfg.n_in, cfg.n_rec, cfg.n_out) = (p.n_in, p.n_rec, p.n_out);
    }
    cfg.validate()?;
    Ok(cfg)
}

fn load(params: &Path, batch: &Path, net: &NetArgs) -> Result<(NetConfig, Params<f32>, BatchData)> {
    let p = tensors::read_params(params)?;
    let cfg = net_config(net, Some(&p))?;
    let mut b = tensors::read_batch(batch, p.n_in, p.n_out)?;
    if net.normalize_features {
        crate::data::features::normalise_batch(&mut b.x, b.n_in);
    }
    Ok((cfg, p, b))
}

fn check_out(out: &Path, inputs: &[&Path]) -> Result<()> {
    for i in inputs {
        if let (Ok(a), Ok(b)) = (out.canonicalize(), i.canonicalize())
            && a == b
        {
            bail!("--out {} is also an input file; choose another output path", out.display());
        }
    }
    Ok(())
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Runs a parsed command and returns what to print.
pub fn run(cli: Cli) -> Result<String> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Init(a) => init(a),
        Command::Grads(a) => grads(a),
        Command::TrainSteps(a) => train_steps(a),
        Command::RandomBatch(a) => random_batch(a),
        Command::Evaluate(a) => evaluate(a),
        Command::BenchTrain(a) => bench_train(a),
        Command::Cost(a) => cost(a),
        Command::Features(a) => features(a),
        Command::Prepare(a) => prepare(a),
        Command::Synth(a) => synth(a),
        Command::Reproduce(a) => reproduce(a, quiet),
        Command::Report(a) => crate::reproduce::report_only(&a.dir),
        Command::Bench(a) => bench(a, quiet),
    }
}

fn cost(a: CostArgs) -> Result<String> {
    if let Some(dir) = &a.run {
        let chip = a.chip.as_deref().map(crate::cost::read_chip).transpose()?;
        return crate::reproduce::cost_stage::recost(dir, chip);
    }
    let req = crate::cost::CostRequest {
        cfg: models::NetConfig { n_in: a.n_in, n_rec: a.n_rec, n_out: a.n_out, ..models::NetConfig::default() },
        t_steps: a.steps_t,
        pes: a.pes,
        clock_mhz: a.clock_mhz,
        chip: a.chip,
        trace_code: a.trace_code,
        gpu: a.gpu,
        gpu_time_per_sample_s: a.gpu_time_per_sample,
        gpu_power: a.gpu_power,
        measured: a.measured_gpu_time_per_sample.map(|t| crate::cost::MeasuredArgs {
            name: a.measured_gpu_name.clone(),
            time_per_sample_s: t,
            j_per_sample: a.measured_gpu_j_per_sample,
            idle_w: a.measured_gpu_idle_w,
        }),
        spike_rate: a.spike_rate,
        samples: a.samples,
        seed: a.seed,
    };
    let out = crate::cost::run(&req)?;
    Ok(if a.json { serde_json::to_string_pretty(&out)? } else { crate::cost::describe(&out) })
}

fn default_folder(job: &str) -> PathBuf {
    PathBuf::from("reports").join(format!(
        "{}-{}-{job}",
        crate::results::run::today(),
        crate::results::run::machine_name()
    ))
}

fn reproduce(a: ReproduceArgs, quiet: bool) -> Result<String> {
    use crate::reproduce::ReproduceConfig;
    let mut cfg = match &a.config {
        Some(p) => toml::from_str::<ReproduceConfig>(
            &std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?,
        )
        .with_context(|| format!("{}: not a reproduce config.toml", p.display()))?,
        None if a.quick => ReproduceConfig::quick(),
        None => ReproduceConfig::full(),
    };
    if let Some(g) = &a.gsc {
        if !g.is_dir() {
            bail!("--gsc {}: not a folder; point it at an unpacked Google Speech Commands copy", g.display());
        }
        cfg.data.gsc = Some(g.clone());
    }
    if let Some(f) = &a.features {
        cfg.data.features = Some(f.clone());
    }
    if a.adapter.is_some() {
        cfg.adapter = a.adapter.clone();
    }
    let out = a.out.clone().unwrap_or_else(|| default_folder("reproduce"));
    crate::reproduce::reproduce(&cfg, &out, quiet)
}

fn bench(a: BenchArgs, quiet: bool) -> Result<String> {
    for b in &a.backends {
        if !["cpu", "wgpu", "burn-wgpu", "burn-cpu"].contains(&b.as_str()) {
            bail!("--backends {b}: expected cpu, wgpu, burn-wgpu or burn-cpu");
        }
    }
    if a.batches.contains(&0) || a.t.contains(&0) || a.samples == 0 || a.reps == 0 {
        bail!("--batches, --t, --samples and --reps must be at least 1");
    }
    let plan = crate::bench::BenchPlan {
        rules: vec!["eprop", "bptt"],
        backends: a.backends.clone(),
        batches: if a.quick { vec![32, 100] } else { a.batches.clone() },
        t_steps: if a.quick { vec![100] } else { a.t.clone() },
        samples: a.samples,
        reps: a.reps,
        adapter: a.adapter.clone(),
        peers: !a.no_peers,
    };
    let out = a.out.clone().unwrap_or_else(|| default_folder("bench"));
    crate::bench::run(&plan, &out, quiet)
}

/// Parses `args` (including the program name) and runs them; for tests.
pub fn run_args<I, S>(args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    run(Cli::try_parse_from(args)?)
}

fn init(a: InitArgs) -> Result<String> {
    let cfg = net_config(&a.net, None)?;
    let p = Params::init_authors(&cfg, a.seed);
    tensors::write_params(&a.out, &p, vec![])?;
    Ok(format!(
        "wrote {}: {}→{}→{} network, {} weights, seed {}",
        a.out.display(),
        cfg.n_in,
        cfg.n_rec,
        cfg.n_out,
        cfg.n_weights(),
        a.seed
    ))
}

fn grads(a: GradsArgs) -> Result<String> {
    let rule = a.rule.rule()?;
    a.rule.check_l2()?;
    check_out(&a.out, &[&a.params, &a.batch])?;
    let (cfg, p, b) = load(&a.params, &a.batch, &a.net)?;
    let kind = a.rule.kind(12.min(cfg.n_rec));
    kind.check_rule(rule)?;
    let ctx = if kind == Kind::Wgpu { Some(a.rule.gpu()?) } else { None };
    let mut c = crate::contender::open(kind, &cfg, ctx.as_ref())?;
    c.set_state(&p, &AdamState::like(&p))?;
    c.load_data(Data { x: &b.x, y: &b.y, t_steps: b.t_steps })?;
    let out = c.grads(&StepConfig { rule, lr: 0.0, l2: a.rule.l2, adam: AdamConfig::default() })?;
    let device = c.device();
    let g = &out.grads;
    let mut t = tensors::params_tensors(g, ["g_in", "g_rec", "g_out"]);
    t.push(("logits", Tensor::f32(&[b.batch, cfg.n_out], out.logits.clone())));
    t.push(("loss", Tensor::f32(&[], vec![out.loss])));
    t.push(("spikes", Tensor::u8(&[b.batch, b.t_steps, cfg.n_rec], out.spikes.clone())));
    tensors::write_tensors(&a.out, &t, &[("format", "eprop-workbench"), ("kind", "grads"), ("rule", rule.name())])?;
    let rate = out.spikes.iter().map(|&s| s as f64).sum::<f64>() / out.spikes.len() as f64;
    Ok(format!(
        "wrote {}: rule {} on {device}, B = {}, T = {}, loss {:.6}, spike rate {:.3} %, max|g_in| {:.3e}, max|g_rec| {:.3e}, max|g_out| {:.3e}",
        a.out.display(),
        rule.name(),
        b.batch,
        b.t_steps,
        out.loss,
        100.0 * rate,
        max_abs(&g.w_in),
        max_abs(&g.w_rec),
        max_abs(&g.w_out)
    ))
}

fn train_steps(a: TrainStepsArgs) -> Result<String> {
    let rule = a.rule.rule()?;
    a.rule.check_l2()?;
    if a.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        bail!("--lr must be a positive number, found {}", a.lr);
    }
    check_out(&a.out, &[&a.params, &a.batch])?;
    let (cfg, p, b) = load(&a.params, &a.batch, &a.net)?;
    let adam = if a.resume {
        tensors::read_adam(&a.params, &p)?.with_context(|| {
            format!(
                "{}: --resume needs a checkpoint with Adam state (`adam_step`, `adam_m_*`, `adam_v_*`)",
                a.params.display()
            )
        })?
    } else {
        AdamState::like(&p)
    };
    let kind = a.rule.kind(12.min(cfg.n_rec));
    kind.check_rule(rule)?;
    let ctx = if kind == Kind::Wgpu { Some(a.rule.gpu()?) } else { None };
    let mut c = crate::contender::open(kind, &cfg, ctx.as_ref())?;
    c.set_state(&p, &adam)?;
    c.load_data(Data { x: &b.x, y: &b.y, t_steps: b.t_steps })?;
    let step = StepConfig { rule, lr: a.lr, l2: a.rule.l2, adam: AdamConfig::default() };
    let losses = c.train(Minibatches { first: 0, steps: a.steps, batch: a.batch_size }, &step)?.losses;
    let (p2, adam2) = c.state()?;
    let device = c.device();
    let mut extra = vec![("losses", Tensor::f32(&[losses.len()], losses.clone()))];
    extra.extend(tensors::params_tensors(&adam2.m, ["adam_m_w_in", "adam_m_w_rec", "adam_m_w_out"]));
    extra.extend(tensors::params_tensors(&adam2.v, ["adam_v_w_in", "adam_v_w_rec", "adam_v_w_out"]));
    extra.push(("adam_step", Tensor::i64(&[], vec![adam2.step as i64])));
    tensors::write_params(&a.out, &p2, extra)?;
    let first = losses.first().copied().unwrap_or(f32::NAN);
    let last = losses.last().copied().unwrap_or(f32::NAN);
    Ok(format!(
        "wrote {}: rule {} on {device}, {} steps of {} samples, loss {:.5} → {:.5}, Adam step {}",
        a.out.display(),
        rule.name(),
        a.steps,
        a.batch_size,
        first,
        last,
        adam2.step
    ))
}

fn random_batch(a: RandomBatchArgs) -> Result<String> {
    if a.batch == 0 || a.steps_t == 0 || a.n_in == 0 || a.n_out == 0 {
        bail!("--batch, --steps-t, --n-in and --n-out must all be at least 1");
    }
    if !(a.gain.is_finite() && a.gain >= 0.0) {
        bail!("--gain must be a finite number ≥ 0, found {}", a.gain);
    }
    if !a.class_signal.is_finite() {
        bail!("--class-signal must be finite, found {}", a.class_signal);
    }
    let (x, y) = models::inputs::toy_task_batch(a.batch, a.steps_t, a.n_in, a.n_out, a.gain, a.class_signal, a.seed);
    let data = BatchData { x, y, batch: a.batch, t_steps: a.steps_t, n_in: a.n_in };
    tensors::write_batch(&a.out, &data)?;
    Ok(format!(
        "wrote {}: x [{}, {}, {}], y [{}], seed {}",
        a.out.display(),
        a.batch,
        a.steps_t,
        a.n_in,
        a.batch,
        a.seed
    ))
}

fn evaluate(a: EvaluateArgs) -> Result<String> {
    let (cfg, p, b) = load(&a.params, &a.batch, &a.net)?;
    let (logits, spikes) = models::srnn::forward::<f32>(&cfg, &p, &b.as_batch());
    let mut correct = 0usize;
    let mut ce = 0.0f64;
    for (row, &label) in logits.chunks_exact(cfg.n_out).zip(&b.y) {
        let (l, _) = models::srnn::cross_entropy(row, label as usize);
        ce += l as f64;
        let pred = row.iter().enumerate().fold(0, |best, (k, v)| if *v > row[best] { k } else { best });
        correct += usize::from(pred == label as usize);
    }
    let n = b.batch as f64;
    let acc = correct as f64 / n;
    let rate = spikes.iter().map(|&s| s as f64).sum::<f64>() / spikes.len() as f64;
    if a.json {
        return Ok(format!(
            "{{\"samples\": {}, \"accuracy\": {acc}, \"cross_entropy\": {}, \"spike_rate\": {rate}}}",
            b.batch,
            ce / n
        ));
    }
    Ok(format!(
        "{}: {} samples, accuracy {:.2} %, mean cross-entropy {:.4}, spike rate {:.3} %",
        a.batch.display(),
        b.batch,
        100.0 * acc,
        ce / n,
        100.0 * rate
    ))
}

fn bench_train(a: BenchTrainArgs) -> Result<String> {
    let rule = a.rule.rule()?;
    a.rule.check_l2()?;
    let kind = a.rule.kind(a.pes);
    let ctx = if kind == Kind::Wgpu { Some(a.rule.gpu()?) } else { None };
    let r = crate::bench_train::bench_train(kind, rule, ctx.as_ref(), a.batch, a.steps_t, a.samples, a.reps)?;
    Ok(if a.json { serde_json::to_string(&r)? } else { r.describe() })
}

fn features(a: FeaturesArgs) -> Result<String> {
    let clip = crate::data::audio::read_wav(&a.wav)?;
    let n = clip.samples.len();
    let x = crate::data::features::FeatureExtractor::new().features(&clip.samples);
    let shape = [crate::data::features::N_FRAMES, crate::data::features::N_FEATURES];
    tensors::write_tensors(
        &a.out,
        &[("x", Tensor::f32(&shape, x))],
        &[("format", "eprop-workbench"), ("kind", "features")],
    )?;
    let mut notes = clip.notes;
    if n != crate::data::features::CLIP_SAMPLES {
        notes.push(format!("{n} samples placed in the 1 s window (centred)"));
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
    Ok(format!("wrote {}: x [100, 80] from {}{notes}", a.out.display(), a.wav.display()))
}

fn prepare(a: PrepareArgs) -> Result<String> {
    use crate::data::gsc::{PrepareConfig, Task};
    let cfg = PrepareConfig {
        task: match a.task {
            TaskName::Paper12 => Task::Paper12,
            TaskName::AllWords => Task::AllWords,
        },
        seed: a.seed,
        silence_train: a.silence_train,
        silence_validation: a.silence_validation,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("features");
    if let Ok(s) = crate::data::gsc::scan(&a.gsc, &cfg) {
        bar.set_length(s.items.len() as u64);
    }
    let report = crate::data::gsc::prepare(&a.gsc, &a.out, &cfg, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    let mut lines = vec![format!(
        "{} {} → {} ({} classes)",
        if report.reused { "reused the cache for" } else { "prepared" },
        a.gsc.display(),
        a.out.display(),
        report.classes.len()
    )];
    for (split, c) in &report.counts {
        let per: Vec<String> = report.classes.iter().zip(c).map(|(n, k)| format!("{n} {k}")).collect();
        lines.push(format!("  {:<10} {:>6}: {}", split.name(), c.iter().sum::<usize>(), per.join(", ")));
    }
    for w in &report.warnings {
        lines.push(format!("  warning: {w}"));
    }
    if !report.skipped.is_empty() {
        lines.push(format!("  skipped {} files:", report.skipped.len()));
        for (p, why) in &report.skipped {
            lines.push(format!("    {p}: {why}"));
        }
    }
    Ok(lines.join("\n"))
}

fn synth(a: SynthArgs) -> Result<String> {
    if a.speakers < 3 {
        bail!("--speakers must be at least 3 (one per split)");
    }
    let cfg = crate::data::synth::SynthConfig { speakers: a.speakers, seed: a.seed, ..Default::default() };
    let r = crate::data::synth::synth(&a.out, &cfg)?;
    let sp: Vec<String> = r.speakers.iter().map(|(s, n)| format!("{} {n}", s.name())).collect();
    Ok(format!("wrote {} clips to {} (speakers: {})", r.clips, r.out.display(), sp.join(", ")))
}
