//! The `snnbench` command line: the argument definitions (`args`) and one module of commands per kind of work
//! (`commands::{network, data, jobs}`). Commands turn arguments into the library's domain structs and return a
//! human-readable summary; only `main` prints it.

mod args;
mod commands;

use anyhow::Result;
use clap::{Parser, Subcommand};

pub use args::*;

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
    /// The emulated SpiNNaker 2: memory per PE (vs the paper's 680 KB), cycles per phase, real-time verdict at three
    /// levels of trace-loop code, and GPU/chip energy per sample at one boundary on both sides (total and dynamic;
    /// a measured GPU first), with every uncertain constant's bounds, the band, sensitivity and what-ifs
    Cost(CostArgs),
    /// The main job: train e-prop on the emulated SpiNNaker 2 and e-prop and BPTT on the GPU on the same data,
    /// sweep memory against T, price chip vs GPU, and write CSVs, plots and report.md into one run folder.
    Reproduce(ReproduceArgs),
    /// Train one contender with one rule on prepared features or the synthetic set: per-epoch CSV rows (reproduce's
    /// columns), checkpoints, resume, final weights, and the chip's cost for `--backend chip`.
    Train(TrainArgs),
    /// Run `reproduce` or `train` over the Cartesian product of axes (seeds, sizes, any config field), locally or as
    /// a Slurm array job, and aggregate mean, SE and 95 % CI per condition with error-bar plots; `sweep status DIR`,
    /// `sweep report DIR`.
    Sweep(SweepArgs),
    /// The map of where BPTT stops fitting a GPU's memory or a PE's SRAM while e-prop still trains, over network
    /// size × sequence length (modelled bytes), with heat maps; with --measure also each rule's time and energy per
    /// sample on a wgpu adapter against e-prop on the emulated chip.
    Crossover(CrossoverArgs),
    /// Rebuild summaries, plots and report.md of a reproduce run folder from its CSVs.
    Report(ReportArgs),
    /// The performance suite: samples/s and bytes per rule × backend × batch × T (and the PyTorch peer) → bench.csv.
    Bench(BenchArgs),
}

/// Runs a parsed command and returns what to print.
pub fn run(cli: Cli) -> Result<String> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Init(a) => commands::network::init(a),
        Command::Grads(a) => commands::network::grads(a),
        Command::TrainSteps(a) => commands::network::train_steps(a),
        Command::RandomBatch(a) => commands::network::random_batch(a),
        Command::Evaluate(a) => commands::network::evaluate(a),
        Command::BenchTrain(a) => commands::network::bench_train(a),
        Command::Cost(a) => commands::jobs::cost(a),
        Command::Features(a) => commands::data::features(a),
        Command::Prepare(a) => commands::data::prepare(a),
        Command::Synth(a) => commands::data::synth(a),
        Command::Reproduce(a) => commands::jobs::reproduce(a, quiet),
        Command::Train(a) => commands::jobs::train(a, quiet),
        Command::Sweep(a) => commands::jobs::sweep(a, quiet),
        Command::Crossover(a) => commands::jobs::crossover(a, quiet),
        Command::Report(a) => crate::reproduce::report_only(&a.dir),
        Command::Bench(a) => commands::jobs::bench(a, quiet),
    }
}

/// Parses `args` (including the program name) and runs them; for tests.
pub fn run_args<I, S>(args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    run(Cli::try_parse_from(args)?)
}
