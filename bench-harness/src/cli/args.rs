//! The command line's arguments: one struct per subcommand and the options several share (clap derive).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use models::{Rule, TraceVariant, bptt::BpttOptions};

use crate::contender::Kind;

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
    /// A config TOML: an earlier run's config.toml repeats it exactly; a partial one changes only the fields it
    /// names (the rest from --quick's or the full run's defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run the whole comparison for N seeds (the config's seed and the N − 1 after it), each in
    /// OUT/cells/seed=S/, and report mean ± SE over them (a sweep over `seed`).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// With --seeds: seeds at once on this machine.
    #[arg(long, default_value_t = 1, requires = "seeds")]
    pub jobs: usize,
    /// wgpu adapter name filter for the GPU runs (also `SNNBENCH_ADAPTER`).
    #[arg(long)]
    pub adapter: Option<String>,
    /// GPU energy (`gpu_energy.csv`, NVML): per GPU rule, at least this many seconds of repeated epochs (MLPerf: 60,
    /// the default; 5 with --quick) between idle measurements from the energy counter; as `[energy] window_s`. 0: off.
    #[arg(long, value_parser = energy_window)]
    pub energy_window: Option<f64>,
}

/// `snnbench train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The contender: cpu, wgpu, burn-wgpu, burn-cpu (BPTT only) or chip (the emulated SpiNNaker 2, e-prop online).
    #[arg(long)]
    pub backend: Option<String>,
    /// The rule: eprop (the authors' traces) or bptt.
    #[arg(long)]
    pub rule: Option<String>,
    /// A prepared feature folder (`snnbench prepare --out DIR`); default: the built-in synthetic set.
    #[arg(long, conflicts_with = "synth")]
    pub data: Option<PathBuf>,
    /// Speakers of the built-in synthetic set (each says the 30 words once; default 60, 9 with --quick).
    #[arg(long)]
    pub synth: Option<usize>,
    /// The task: speech (keyword spotting, the default) or cue (the evidence-accumulation task of Bellec et al.
    /// 2020, generated from the seed, with its own network and schedule defaults).
    #[arg(long, value_parser = ["speech", "cue"])]
    pub task: Option<String>,
    /// Steps per sample of the cue task (1 ms each; at least 1,200 for its 7 cues; Bellec et al.: 2,250).
    #[arg(long)]
    pub t_steps: Option<usize>,
    /// A (partial) config TOML: backend, rule, quick, seed, adapter, [data], [schedule], [net], [cost]; flags win.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Epochs (default: the schedule's: 33 on the chip, 30 on the GPU).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Minibatch size (default 100; the chip trains online).
    #[arg(long)]
    pub batch: Option<usize>,
    /// WGSL e-prop: time steps per forward chunk (memory constant in T), `all` (the whole sequence in one chunk:
    /// faster, memory that grows with T) or `auto` (the default: the one of 100 and `all` that needs less device
    /// memory); as `schedule.eprop_chunk` in the config.
    #[arg(long)]
    pub eprop_chunk: Option<crate::contender::EpropChunk>,
    /// Seed of the initial weights and the shuffles.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Network TOML (sizes and neuron constants), as `[net]` in the config.
    #[arg(long)]
    pub net: Option<PathBuf>,
    /// The quick run's data and schedule (as `reproduce --quick`).
    #[arg(long)]
    pub quick: bool,
    /// wgpu adapter name filter.
    #[arg(long)]
    pub adapter: Option<String>,
    /// GPU energy (GPU backends, NVML): the whole run is the window, topped up with repeated training to at least
    /// this many seconds (MLPerf: 60, the default; 5 with --quick), the board's energy counter sampled at 2 Hz, idle
    /// from the counter before and after a cooldown; `gpu_energy.csv`. 0: off. Without NVML a row says why.
    #[arg(long, value_parser = energy_window)]
    pub energy_window: Option<f64>,
    /// The run folder (default reports/<date>-<machine>-train/); the same command resumes it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `snnbench crossover`.
#[derive(Debug, Args)]
pub struct CrossoverArgs {
    /// Recurrent sizes (rows of the map).
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 120, 256, 512])]
    pub n_rec: Vec<usize>,
    /// Sequence lengths (columns of the map).
    #[arg(long, value_delimiter = ',', default_values_t = [100usize, 250, 500, 1000, 2000, 5000, 10000])]
    pub t_steps: Vec<usize>,
    /// Minibatch of the GPU rows.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// GPU memory budgets in GB (decimal).
    #[arg(long, value_delimiter = ',', default_values_t = [16.0f64, 80.0])]
    pub gpu_gb: Vec<f64>,
    /// Network TOML (n_in, n_out and neuron constants; n_rec comes from --n-rec). Default: the paper's network.
    #[arg(long)]
    pub net: Option<PathBuf>,
    /// Also time both rules on a wgpu adapter at --batch (measured where one step fits --measure-cap-s, modelled
    /// beyond) and price their energy per sample against e-prop on the emulated chip: crossover_energy.csv.
    #[arg(long)]
    pub measure: bool,
    /// --measure: a cell is timed when one predicted step of the batch takes at most this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub measure_cap_s: f64,
    /// --measure: the adapter's power in W (default: a stated guess for a CPU adapter, the preset TDP of a V100 or
    /// a Hopper GPU; required for other GPUs).
    #[arg(long)]
    pub adapter_watts: Option<f64>,
    /// --measure: the wgpu adapter whose name contains this (default: the first).
    #[arg(long)]
    pub adapter: Option<String>,
    /// The output folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// `snnbench sweep`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    /// The spec: `job = "reproduce"` or `"train"`, the job's (partial) config shared by every cell, and `[axes]`
    /// mapping `seed` or a dotted config field (`"net.n_rec"`) to a list of values.
    pub spec: Option<PathBuf>,
    /// The sweep folder (cells in DIR/cells/<cell-id>/); the same command resumes it.
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Cells at once on this machine.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Where the cells run: child processes here, or one Slurm array job.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorName,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per cell (e.g. 01:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm CPUs per cell.
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// Slurm generic resources per cell (e.g. gpu:1).
    #[arg(long)]
    pub gres: Option<String>,
    /// Slurm: submit, print the job id and return (aggregate later with `sweep report DIR`).
    #[arg(long)]
    pub submit_only: bool,
    /// The snnbench binary the cells run (default: this one); on a cluster, a path every node can read.
    #[arg(long)]
    pub snnbench: Option<PathBuf>,
}

/// Where a sweep's cells run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExecutorName {
    /// Child processes on this machine (`--jobs` at a time).
    Local,
    /// One `sbatch --array` job (needs Slurm's client and a shared folder).
    Slurm,
}

/// `snnbench sweep status|report|cell`.
#[derive(Debug, Subcommand)]
pub enum SweepAction {
    /// Each cell's state: done, failed (with its error), running (holder) or pending.
    Status {
        /// The sweep folder.
        dir: PathBuf,
    },
    /// Aggregate the finished cells: aggregate.csv, cell_metrics.csv, error-bar plots, report.md.
    Report {
        /// The sweep folder.
        dir: PathBuf,
    },
    /// Run one cell in this process (what each executor runs; records status.json).
    #[command(hide = true)]
    Cell {
        /// The sweep folder.
        dir: PathBuf,
        /// The cell's id (its folder under cells/).
        id: String,
    },
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
    /// Seconds of untimed training before each timed run of a contender, PyTorch's included: a CPU that sat idle
    /// (between rounds, while the peer's process imports torch) runs slower for a while (docs/bench.md).
    #[arg(long, default_value_t = 0.5)]
    pub warmup_s: f64,
    /// WGSL e-prop's steps per forward chunk (comma-separated; `all` = the whole sequence in one chunk, `auto` = the
    /// one of 100 and `all` with less device memory): one row per length, with its GPU bytes; lengths that come to
    /// the same at a T run once (docs/bench.md, "e-prop's chunk length").
    #[arg(long, value_delimiter = ',', default_value = "100,all")]
    pub eprop_chunk: Vec<crate::contender::EpropChunk>,
    /// wgpu adapter name filter.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Skip the PyTorch peer (eager, and `torch.compile` of the same network).
    #[arg(long)]
    pub no_peers: bool,
    /// GPU energy of every wgpu row by the MLPerf-style protocol (NVML): at least this many seconds of repeated
    /// timed runs (MLPerf: 60) between idle measurements from the energy counter, 10 s cooldown and 10 s idle each
    /// side; columns gpu_* of bench.csv. 0 (the default): off. Without NVML the rows say why.
    #[arg(long, default_value_t = 0.0, value_parser = energy_window)]
    pub energy_window: f64,
}

/// `snnbench features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Input WAV (any bit depth, channel count and sample rate; converted with a note).
    #[arg(long)]
    pub wav: PathBuf,
    /// Samples between frames: 161 (the paper's) gives 100 frames per 1 s clip, 16 gives 1,001 (one per ms);
    /// T = 1 + ⌊16000 / hop⌋.
    #[arg(long, default_value_t = crate::data::features::HOP)]
    pub hop_length: usize,
    /// Output `.safetensors` with `x [T, 80]` f32 (time-major, feature = channel·40 + mel; T = 100 at the default
    /// hop).
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
    /// Samples between feature frames (161: 100 frames per clip; 16: 1,001, one per ms).
    #[arg(long, default_value_t = crate::data::features::HOP)]
    pub hop_length: usize,
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
    /// GPU preset: v100-sxm2, v100-pcie, h100-sxm5, h100-pcie, h200-sxm.
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
    /// Seconds of untimed training before the first timed run (the timed runs follow each other directly).
    #[arg(long, default_value_t = 0.5)]
    pub warmup_s: f64,
    /// WGSL e-prop: time steps per forward chunk (memory constant in T), `all` (the whole sequence in one chunk:
    /// faster, memory that grows with T) or `auto` (the one of 100 and `all` that needs less device memory;
    /// docs/bench.md, "e-prop's chunk length").
    #[arg(long, default_value = "auto")]
    pub eprop_chunk: crate::contender::EpropChunk,
    /// `--backend chip`: processing elements.
    #[arg(long, default_value_t = 12)]
    pub pes: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also measure GPU energy per sample by the MLPerf-style protocol: at least this many seconds of repeated
    /// training (MLPerf: 60), the board's energy counter sampled at ≥ 2 Hz, idle before and after after a 10 s
    /// cooldown (NVML; on other devices a note says why not). 0: off.
    #[arg(long, default_value_t = 0.0, value_parser = energy_window)]
    pub energy_window: f64,
}

/// `snnbench evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Parameters (a checkpoint works too), or a `train` run folder (its weights.safetensors and its config's
    /// network).
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
    /// docs/data.md step 7: divide each input feature by its std over the batch file's samples and steps.
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
    pub(crate) fn rule(&self) -> Result<Rule> {
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

    pub(crate) fn check_l2(&self) -> Result<()> {
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            bail!("--l2 must be a finite number ≥ 0, found {}", self.l2);
        }
        if self.backend != Backend::Cpu && self.precision == Precision::F64 {
            bail!("--precision f64 is for the CPU reference only; the wgpu and burn backends compute in f32");
        }
        Ok(())
    }

    /// The contender this backend (and precision) names; the chip with `pes` PEs.
    pub(crate) fn kind(&self, pes: usize) -> Kind {
        match self.backend {
            Backend::Cpu => Kind::Cpu { f64: self.precision == Precision::F64 },
            Backend::Wgpu => Kind::Wgpu,
            Backend::BurnWgpu => Kind::BurnWgpu,
            Backend::BurnCpu => Kind::BurnCpu,
            Backend::Chip => Kind::Chip { pes },
        }
    }

    pub(crate) fn gpu(&self) -> Result<kernels::GpuContext> {
        open_gpu(self.adapter.as_deref())
    }
}

/// The wgpu adapter whose name contains `adapter` (default: the first), logged.
pub(crate) fn open_gpu(adapter: Option<&str>) -> Result<kernels::GpuContext> {
    let ctx = kernels::GpuContext::new(adapter)?;
    tracing::info!("adapter: {}", ctx.describe());
    Ok(ctx)
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

/// `--energy-window S`: seconds ≥ 0 (0 turns the GPU energy measurement off).
fn energy_window(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(w) if w >= 0.0 && w.is_finite() => Ok(w),
        _ => Err(format!("{v}: expected seconds ≥ 0 (MLPerf: 60; 0 turns the measurement off)")),
    }
}
