//! The training experiments of `reproduce` (e-prop on the emulated chip, e-prop and BPTT on the GPU, BPTT through
//! burn), each writing one raw CSV row per epoch and a checkpoint after every epoch; the chip experiment also keeps
//! its spike activity (`chip_activity.json`), which the cost stage prices.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use models::{AdamConfig, AdamState, NetConfig, Params, Rule, spinnaker2::Activity};
use rand::{SeedableRng, seq::SliceRandom};
use serde::{Deserialize, Serialize};

use super::activity::{ActivityRecord, read_activity, write_activity};
pub use super::experiment::{Experiment, Spec};
use super::{Interrupted, ReproduceConfig, RunInfo, Schedule, energy::Meter, interrupted, progress};
use crate::contender::{self, Data as TrainingSet, Kind, Minibatches, StepConfig};
use crate::power::EnergyRow;
use crate::results::table::Table;
use crate::tensors::{self, BatchData, Tensor};

/// The prepared splits.
#[derive(Debug)]
pub struct Data {
    /// Training split.
    pub train: BatchData,
    /// Validation split.
    pub validation: BatchData,
    /// Test split.
    pub test: BatchData,
}

impl Data {
    /// Reads `{train,validation,test}.safetensors` of a prepared folder.
    pub fn load(dir: &Path, cfg: &NetConfig, max_train: Option<usize>) -> Result<Self> {
        let read = |s: &str| tensors::read_batch(&dir.join(format!("{s}.safetensors")), cfg.n_in, cfg.n_out);
        let mut train = read("train")?;
        if let Some(m) = max_train.filter(|&m| m < train.batch) {
            train.x.truncate(m * train.t_steps * train.n_in);
            train.y.truncate(m);
            train.batch = m;
        }
        let (validation, test) = (read("validation")?, read("test")?);
        if train.batch == 0 || validation.batch == 0 || test.batch == 0 {
            bail!("{}: a split is empty; use more speakers or a larger dataset", dir.display());
        }
        Ok(Self { train, validation, test })
    }
}

impl Data {
    /// The cue task's three splits, generated from `seed` (each split its own random stream).
    pub fn cue(cfg: &crate::data::cue::CueConfig, seed: u64) -> Self {
        use crate::data::cue::{N_CHANNELS, Split, generate};
        let make = |split, n| {
            let s = generate(cfg, seed, split, n);
            BatchData { x: s.x, y: s.y, batch: s.n, t_steps: s.t_steps, n_in: N_CHANNELS }
        };
        Self {
            train: make(Split::Train, cfg.train_samples),
            validation: make(Split::Validation, cfg.validation_samples),
            test: make(Split::Test, cfg.test_samples),
        }
    }
}

/// Loss and accuracy of `p` on a split (CPU reference forward pass, samples spread over rayon's threads), and the
/// spikes.
pub fn evaluate(cfg: &NetConfig, p: &Params<f32>, d: &BatchData) -> (f64, f64, Vec<u8>) {
    // The samples are independent: groups of them run on rayon's threads and are joined in order, so logits and
    // spikes are the one-thread pass's bit for bit (and the sums below run in sample order as before).
    use rayon::prelude::*;
    const GROUP: usize = 32;
    let row = d.t_steps * d.n_in;
    let parts: Vec<(Vec<f32>, Vec<u8>)> = (0..d.batch.div_ceil(GROUP))
        .into_par_iter()
        .map(|g| {
            let (lo, hi) = (g * GROUP, ((g + 1) * GROUP).min(d.batch));
            let b = models::Batch {
                x: &d.x[lo * row..hi * row],
                y: &d.y[lo..hi],
                batch: hi - lo,
                t_steps: d.t_steps,
                n_in: d.n_in,
            };
            models::srnn::forward::<f32>(cfg, p, &b)
        })
        .collect();
    let (mut logits, mut spikes) = (Vec::with_capacity(d.batch * cfg.n_out), Vec::new());
    for (l, s) in parts {
        logits.extend(l);
        spikes.extend(s);
    }
    let ce: Vec<f32> = logits
        .chunks_exact(cfg.n_out)
        .zip(&d.y)
        .map(|(row, &label)| models::srnn::cross_entropy(row, label as usize).0)
        .collect();
    let (loss, acc) = loss_and_accuracy(cfg, &logits, &ce, &d.y);
    (loss, acc, spikes)
}

/// Mean cross-entropy (each sample's f32, summed in f64 in sample order) and accuracy (the first largest logit as
/// the prediction) of a split, from its per-sample logits and CEs: the one scoring of the host and device evaluations.
fn loss_and_accuracy(cfg: &NetConfig, logits: &[f32], ce: &[f32], y: &[i64]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let correct = logits
        .chunks_exact(cfg.n_out)
        .zip(y)
        .filter(|(row, label)| {
            let pred = row.iter().enumerate().fold(0, |best, (k, v)| if *v > row[best] { k } else { best });
            pred == **label as usize
        })
        .count();
    (ce.iter().map(|&l| l as f64).sum::<f64>() / n, correct as f64 / n)
}

/// Loss, accuracy and spike rate of a held-out split, and whether the device computed them: the contender's
/// forward kernels on the set it keeps there (`which`: 0 validation, 1 test) when `on_device` and it can, else the
/// host reference. Both take each sample's f32 cross-entropy and logits, the first largest logit as the prediction.
fn evaluate_split(
    contender: &mut dyn crate::contender::Contender,
    cfg: &NetConfig,
    p: &Params<f32>,
    d: &BatchData,
    which: usize,
    on_device: bool,
) -> Result<(f64, f64, f64, bool)> {
    let device = if on_device { contender.evaluate(which)? } else { None };
    let Some(e) = device else {
        let (loss, acc, spikes) = evaluate(cfg, p, d);
        let rate = spikes.iter().map(|&s| s as f64).sum::<f64>() / spikes.len().max(1) as f64;
        return Ok((loss, acc, rate, false));
    };
    anyhow::ensure!(
        e.ce.len() == d.batch && e.logits.len() == d.batch * cfg.n_out,
        "internal: the device evaluated {} samples of a split of {}",
        e.ce.len(),
        d.batch
    );
    let (loss, acc) = loss_and_accuracy(cfg, &e.logits, &e.ce, &d.y);
    let spikes = e.spike_counts.iter().sum::<u64>() as f64;
    let rate = spikes / (d.batch * d.t_steps * cfg.n_rec).max(1) as f64;
    Ok((loss, acc, rate, true))
}

/// A row of a training CSV (`training_<experiment>.csv`): one epoch. Its columns are a contract of the run folder
/// (the test checks them).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingRow {
    pub experiment: String,
    pub algorithm: String,
    pub backend: String,
    pub adapter: String,
    pub batch: usize,
    pub t_steps: usize,
    pub seed: u64,
    pub git_rev: String,
    /// 1-based.
    pub epoch: usize,
    pub lr: f64,
    pub train_samples: usize,
    pub train_loss: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub wall_time_s: f64,
    pub gpu_time_s: Option<f64>,
    pub samples_per_s: f64,
    /// The chip's modelled time (T × 1 ms per sample); chip runs only.
    pub chip_time_s: Option<f64>,
    pub gpu_energy_j: Option<f64>,
    pub gpu_energy_note: String,
    pub spike_rate: f64,
    /// Wall seconds of this epoch's validation and test evaluation (not in `wall_time_s`; empty in files written
    /// before it was recorded).
    pub evaluation_s: Option<f64>,
    /// Where the validation and test splits were evaluated: on the device or with the host reference.
    pub evaluated_on: Option<String>,
    pub gpu_buffer_bytes: Option<u64>,
    pub source: String,
    /// The machine this epoch ran on (crate::results::run::host_description; empty in files written before it was
    /// recorded).
    pub host: Option<String>,
}

struct Checkpoint {
    params: Params<f32>,
    adam: AdamState<f32>,
    epochs_done: usize,
}

/// The checkpoint of the run named `name` in a run folder (weights and Adam state; `evaluate --params` reads it).
pub fn checkpoint_path(out: &Path, name: &str) -> std::path::PathBuf {
    out.join("checkpoints").join(format!("{name}.safetensors"))
}

fn save_checkpoint(out: &Path, name: &str, c: &Checkpoint) -> Result<()> {
    std::fs::create_dir_all(out.join("checkpoints"))?;
    let mut extra = tensors::params_tensors(&c.adam.m, ["adam_m_w_in", "adam_m_w_rec", "adam_m_w_out"]);
    extra.extend(tensors::params_tensors(&c.adam.v, ["adam_v_w_in", "adam_v_w_rec", "adam_v_w_out"]));
    extra.push(("adam_step", Tensor::i64(&[], vec![c.adam.step as i64])));
    // Weights and Adam state first (a `train-steps --resume` checkpoint), then the epoch count: a checkpoint is
    // only trusted when its epoch count matches the CSV's rows.
    tensors::write_params(&checkpoint_path(out, name), &c.params, extra)?;
    std::fs::write(checkpoint_path(out, name).with_extension("epochs"), format!("{}\n", c.epochs_done))?;
    Ok(())
}

fn load_checkpoint(out: &Path, name: &str) -> Result<Option<Checkpoint>> {
    let path = checkpoint_path(out, name);
    if !path.exists() {
        return Ok(None);
    }
    let params = tensors::read_params(&path)?;
    let adam = tensors::read_adam(&path, &params)?.with_context(|| format!("{}: no Adam state", path.display()))?;
    let Some(epochs_done) =
        std::fs::read_to_string(path.with_extension("epochs")).ok().and_then(|s| s.trim().parse::<usize>().ok())
    else {
        return Ok(None);
    };
    Ok(Some(Checkpoint { params, adam, epochs_done }))
}

/// Runs the three experiments (each resumes from its checkpoint).
pub fn run_all(
    cfg: &ReproduceConfig,
    info: &RunInfo,
    ctx: &kernels::GpuContext,
    data: &Data,
    meter: &Meter,
) -> Result<()> {
    let mut compiled = false;
    for e in Experiment::ALL {
        // Before the first GPU experiment, after the chip's (whose results come first, as they always did).
        if matches!(e, Experiment::GpuEprop | Experiment::GpuBptt) && !compiled {
            compile_gpu_kernels_ahead(cfg, info, ctx, data)?;
            compiled = true;
        }
        if e == Experiment::BurnBptt && !Kind::BurnCpu.available() {
            // Not a fault (the quickstart's first, lean pass): report.md says so, and a build with burn resumes the
            // run and adds it.
            tracing::info!("burn_bptt: left out ({})", crate::contender::WITHOUT_BURN);
            continue;
        }
        run_experiment(cfg, info, ctx, data, meter, e)?;
    }
    energy_probe(cfg, info, ctx, data)
}

/// The WGSL kernels of the GPU experiments that still have epochs to train, compiled at once and spread over the
/// CPUs (a CPU adapter compiles each kernel at its first dispatch: without this, one after another at each
/// experiment's first step).
fn compile_gpu_kernels_ahead(
    cfg: &ReproduceConfig,
    info: &RunInfo,
    ctx: &kernels::GpuContext,
    data: &Data,
) -> Result<()> {
    let rules: Vec<Rule> = [Experiment::GpuEprop, Experiment::GpuBptt]
        .into_iter()
        .filter(|e| !matches!(load_checkpoint(&info.out, e.name()), Ok(Some(c)) if c.epochs_done >= cfg.gpu.epochs))
        .map(Experiment::rule)
        .collect();
    if rules.is_empty() {
        return Ok(());
    }
    let n_train = samples_per_epoch(&cfg.gpu, data);
    let mut c = contender::open(Kind::Wgpu, &cfg.net, Some(ctx))?;
    c.set_eprop_chunk(cfg.gpu.eprop_chunk.unwrap_or_default());
    crate::results::run::with_kernel_compile_progress(info.quiet, |report| {
        c.compile_ahead(&rules, cfg.gpu.batch, n_train, data.train.t_steps, report)
    });
    Ok(())
}

/// Training samples per epoch: the training set, or the schedule's cap on it.
fn samples_per_epoch(sched: &Schedule, data: &Data) -> usize {
    sched.max_samples_per_epoch.map_or(data.train.batch, |m| m.min(data.train.batch))
}

/// GPU energy per training sample of each GPU experiment by the MLPerf-style protocol of `cfg.energy`
/// ([`crate::power::measure`]): idle from the energy counter after a cooldown, then repeated epochs of the run's
/// training data (fresh weights, the GPU schedule's batch and lr, after one warm-up epoch) for at least the window
/// (60 s by default), then idle again. Without NVML (or with the window set to 0) the rows say why not.
pub fn energy_probe(cfg: &ReproduceConfig, info: &RunInfo, ctx: &kernels::GpuContext, data: &Data) -> Result<()> {
    let path = info.out.join("gpu_energy.csv");
    if path.exists() {
        return Ok(());
    }
    let net = NetConfig::default();
    let counter = cfg.energy.counter();
    let mut table = Table::of::<EnergyRow>()?;
    for e in [Experiment::GpuEprop, Experiment::GpuBptt] {
        if interrupted() {
            return Err(Interrupted(info.out.display().to_string()).into());
        }
        let counter = match &counter {
            Ok(c) => c.clone(),
            Err(why) => {
                table.push_row(&EnergyRow::not_measured(e.name(), &info.adapter, cfg.gpu.batch, why))?;
                continue;
            }
        };
        let n = data.train.batch;
        let steps = n.div_ceil(cfg.gpu.batch);
        let mut c = contender::open(Kind::Wgpu, &net, Some(ctx))?;
        c.set_eprop_chunk(cfg.gpu.eprop_chunk.unwrap_or_default());
        let p = Params::init_authors(&net, cfg.seed);
        c.set_state(&p, &AdamState::like(&p))?;
        c.load_data(TrainingSet { x: &data.train.x, y: &data.train.y, t_steps: data.train.t_steps })?;
        let step = StepConfig { rule: e.rule(), lr: cfg.gpu.lr, l2: cfg.gpu.l2, adam: AdamConfig::default() };
        let epoch = Minibatches { first: 0, steps, batch: cfg.gpu.batch };
        c.train(epoch, &step)?;
        let m = crate::power::measure(counter, cfg.energy.protocol(), &crate::power::real_sleep, || {
            if interrupted() {
                return Err(Interrupted(info.out.display().to_string()).into());
            }
            c.train(epoch, &step)?;
            Ok((steps * cfg.gpu.batch) as u64)
        })?;
        let what = format!("repeated epochs of the run's training data ({n} samples, fresh weights)");
        table.push_row(&EnergyRow::measured(e.name(), &info.adapter, cfg.gpu.batch, &m, &what))?;
    }
    table.write_csv(&path)
}

fn run_experiment(
    cfg: &ReproduceConfig,
    info: &RunInfo,
    ctx: &kernels::GpuContext,
    data: &Data,
    meter: &Meter,
    e: Experiment,
) -> Result<()> {
    // burn trains on its wgpu backend where the adapter is a real GPU; beside lavapipe, on its CPU backend (its wgpu
    // backend through lavapipe is ~15× slower than both; reports/2026-11-26-burn-baseline.md).
    let burn_wgpu = !info.adapter_is_cpu;
    let kind = match e {
        Experiment::ChipEprop => Kind::Chip { pes: cfg.cost.pes },
        Experiment::BurnBptt if burn_wgpu => Kind::BurnWgpu,
        Experiment::BurnBptt => Kind::BurnCpu,
        _ => Kind::Wgpu,
    };
    let spec = Spec {
        name: e.name().to_string(),
        kind,
        rule: e.rule(),
        schedule: if e == Experiment::ChipEprop { cfg.chip.clone() } else { cfg.gpu.clone() },
        seed: cfg.seed,
        backend: backend_label(kind).to_string(),
        adapter: adapter_label(kind, &info.adapter),
    };
    match run_training(&spec, &cfg.net, info, Some(ctx), data, meter, None)? {
        Outcome::Trained => Ok(()),
        Outcome::DidNotFit(msg) => bail!("{msg}; use a smaller batch or T, or an adapter with more memory"),
    }
}

/// The `backend` column of a contender.
pub fn backend_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Chip { .. } => "spinnaker2-emulator",
        k => k.name(),
    }
}

/// The `adapter` column of a contender (`gpu`: the wgpu adapter's description).
pub fn adapter_label(kind: Kind, gpu: &str) -> String {
    match kind {
        Kind::Chip { pes } => format!("emulated SpiNNaker 2 ({pes} PEs), on the host CPU"),
        Kind::BurnWgpu => format!("burn 0.22.1 wgpu: {gpu}"),
        Kind::BurnCpu => "burn 0.22.1 flex (CPU)".to_string(),
        Kind::Cpu { f64: false } => "CPU reference (f32)".to_string(),
        Kind::Cpu { f64: true } => "CPU reference (f64)".to_string(),
        Kind::Wgpu => gpu.to_string(),
    }
}

/// How a training run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every epoch trained (or had been).
    Trained,
    /// The contender cannot hold one training step of this size: a result (`fit_<name>.csv` says what it needed),
    /// not a failure.
    DidNotFit(String),
}

/// The row of `fit_<name>.csv`, written when a run does not fit its device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitRow {
    pub experiment: String,
    pub algorithm: String,
    pub backend: String,
    pub adapter: String,
    pub batch: usize,
    pub t_steps: usize,
    pub n_rec: usize,
    /// 0: it did not fit.
    pub fits: usize,
    /// The device bytes one training step needs (the trainer's buffer plan).
    pub bytes_needed: usize,
    pub git_rev: String,
    pub reason: String,
}

/// The file that records a run that did not fit.
pub fn fit_path(out: &Path, name: &str) -> std::path::PathBuf {
    out.join(format!("fit_{name}.csv"))
}

/// Trains one contender into `info.out`: one raw CSV row per epoch (`training_<name>.csv`), a checkpoint after each
/// (`checkpoints/<name>.safetensors`), resumed from it; the chip also records its spike activity. Ends with the
/// NeuroBench row of the trained weights. When the device cannot hold one training step (the adapter's limits),
/// writes `fit_<name>.csv` with the bytes the step needed and returns [`Outcome::DidNotFit`].
pub fn run_training(
    spec: &Spec,
    net: &NetConfig,
    info: &RunInfo,
    ctx: Option<&kernels::GpuContext>,
    data: &Data,
    meter: &Meter,
    energy: Option<&crate::power::EnergyConfig>,
) -> Result<Outcome> {
    let sched = &spec.schedule;
    let is_chip = spec.is_chip();
    let csv = info.out.join(spec.csv());
    let mut rows: Vec<TrainingRow> = if csv.exists() {
        Table::read_csv(&csv)?.typed().with_context(|| format!("{}", csv.display()))?
    } else {
        vec![]
    };
    // The CSV row of an epoch is written before its checkpoint: after a kill between the two the CSV holds one row
    // more, which the resumed run drops and writes again; the rows before stay as they were, byte for byte.
    let mut ck = match load_checkpoint(&info.out, &spec.name)? {
        Some(c) if c.epochs_done <= rows.len() => {
            rows.truncate(c.epochs_done);
            c
        }
        _ => {
            rows.clear();
            let p = Params::init_authors(net, spec.seed);
            Checkpoint { adam: AdamState::like(&p), params: p, epochs_done: 0 }
        }
    };
    if ck.epochs_done >= sched.epochs {
        return Ok(Outcome::Trained);
    }
    let n_train = samples_per_epoch(sched, data);
    let t = data.train.t_steps;
    let kind = spec.kind;
    let batch = if is_chip { 1 } else { sched.batch };
    let steps = n_train.div_ceil(batch);
    let mut contender = contender::open(kind, net, ctx)?;
    contender.set_eprop_chunk(sched.eprop_chunk.unwrap_or_default());
    contender.set_state(&ck.params, &ck.adam)?;
    // An epoch larger than the device holds is trained in parts of whole minibatches, each loaded in turn; the
    // minibatches see the same samples in the same order as from one resident set.
    let part = if is_chip {
        None
    } else {
        contender.max_resident_samples(t).filter(|&m| m < n_train).map(|m| (m / batch) * batch)
    };
    let resident = part.unwrap_or(n_train);
    let part_steps = resident / batch.max(1);
    // A CPU adapter compiles a network's kernels for minutes the first time: shown as a progress of its own (nothing
    // when the driver's cache holds them), so that the training's progress starts with training.
    if resident > 0 {
        crate::results::run::with_kernel_compile_progress(info.quiet, |report| {
            contender.compile_ahead(&[spec.rule], batch, resident, t, report)
        });
    }
    let bar = progress(info.quiet, (sched.epochs * n_train) as u64, &spec.name);
    bar.set_position((ck.epochs_done * n_train) as u64);
    // Build the trainer (kernels, buffers) before the first epoch's clock starts.
    let probe = StepConfig { rule: spec.rule, lr: sched.lr, l2: sched.l2, adam: AdamConfig::default() };
    let built = if resident == 0 {
        Err(anyhow::Error::new(kernels::KernelError::Limits(format!(
            "one minibatch of {batch} samples × {t} steps × {} inputs does not bind as one buffer on this adapter",
            net.n_in
        ))))
    } else {
        let (x0, y0) = gather(&data.train, &(0..resident).map(|j| j % n_train).collect::<Vec<_>>());
        contender.load_data(TrainingSet { x: &x0, y: &y0, t_steps: t }).and_then(|()| {
            // Sized for a whole epoch's steps even when it trains in parts: the per-call loss record (and with it
            // the device bytes) then does not depend on how many parts T forces.
            let mb = Minibatches { first: 0, steps, batch };
            contender.prepare(mb, &probe)
        })
    };
    if let Err(e) = built {
        let Some(kernels::KernelError::Limits(reason)) = e.downcast_ref::<kernels::KernelError>() else {
            return Err(e);
        };
        bar.abandon();
        let device_type = ctx.map_or(wgpu::DeviceType::Cpu, |c| c.info.device_type);
        let shape = kernels::TrainerConfig::new(net, spec.rule, batch, t)
            .with_resident(resident.max(batch))
            .with_max_steps(steps);
        let chunk = match ctx {
            Some(ctx) => sched.eprop_chunk.unwrap_or_default().kernel_steps(ctx, &shape),
            None => shape.eprop_chunk,
        };
        let shape = shape.with_eprop_chunk(chunk);
        let needed = kernels::plan_bytes(&shape, device_type);
        let fit = FitRow {
            experiment: spec.name.clone(),
            algorithm: spec.rule.name().into(),
            backend: spec.backend.clone(),
            adapter: spec.adapter.clone(),
            batch,
            t_steps: t,
            n_rec: net.n_rec,
            fits: 0,
            bytes_needed: needed.total() as usize,
            git_rev: info.git_rev.clone(),
            reason: reason.clone(),
        };
        Table::from_rows(&[fit])?.write_csv(&fit_path(&info.out, &spec.name))?;
        let msg = format!(
            "{} does not fit this device at batch {batch}, T = {t}: it needs {:.1} MB of buffers ({reason})",
            spec.name,
            needed.total() as f64 / 1e6
        );
        tracing::warn!("{msg}");
        return Ok(Outcome::DidNotFit(msg));
    }
    // One warm-up step, then the state put back: a GPU adapter compiles each kernel at its first dispatch (lavapipe
    // on an empty shader cache: ≈ 50 s, which made epoch 1 of the 2026-12-01 reproduce run 50× slower than epoch 2),
    // and the epoch's clock must not count that, as bench-train's warm-up step does not. The epochs that follow
    // train exactly as without it: the state is the checkpoint's again, and a step depends on nothing else.
    let on_gpu = matches!(kind, Kind::Wgpu | Kind::BurnWgpu);
    if on_gpu {
        let t0 = Instant::now();
        contender.train(Minibatches { first: 0, steps: 1, batch }, &probe)?;
        contender.set_state(&ck.params, &ck.adam)?;
        let s = t0.elapsed().as_secs_f64();
        tracing::info!("{}: kernels compiled and warmed up in {s:.1} s (one step, state restored)", spec.name);
    }
    // The chip run's spikes, summed over every training sample (resumed with the checkpoint when the record has its
    // epoch count; otherwise counted from the resumed epoch on, which its `source` says).
    let mut activity = match read_activity(&info.out)? {
        _ if !is_chip => None,
        Some(r) if r.epochs == ck.epochs_done => Some(r.activity),
        _ => Some(Activity::new(
            net,
            t,
            format!(
                "counted: the chip experiment's training samples from epoch {} on (emulator, online)",
                ck.epochs_done + 1
            ),
        )),
    };
    // GPU energy of a `train` run by the MLPerf-style protocol: the whole run (training and the evaluation
    // between epochs) is the window, topped up after the last epoch with repeated training when it is shorter.
    let first_epoch = ck.epochs_done;
    let mut window = match energy {
        Some(e) if on_gpu => match e.counter() {
            Ok(c) => Some(crate::power::Window::open(c, e.protocol(), &crate::power::real_sleep)?),
            Err(why) => {
                let row = EnergyRow::not_measured(&spec.name, &spec.adapter, batch, &why);
                Table::from_rows(&[row])?.write_csv(&info.out.join("gpu_energy.csv"))?;
                None
            }
        },
        _ => None,
    };
    // The whole training set kept on the device once, each epoch's resident set copied from it in the epoch's order
    // (Contender::load_pool); where there is no room or no pool, gathered on the host and uploaded every epoch.
    let pooled = !is_chip
        && n_train > 0
        && contender.load_pool(TrainingSet { x: &data.train.x, y: &data.train.y, t_steps: t })?;
    if pooled {
        tracing::info!(
            "{}: the training set ({} samples, {:.1} MB) stays on the device; each epoch's order is copied there",
            spec.name,
            data.train.batch,
            (data.train.x.len() * 4) as f64 / 1e6
        );
    }
    // The validation and test sets kept on the device, evaluated there by the contender's own forward kernels;
    // where it has no room or no such kernels, the host reference evaluates them.
    // `SNNBENCH_DEVICE_EVAL=0` evaluates on the host for every contender (one evaluator for all of them).
    let on_device = kind == Kind::Wgpu
        && !std::env::var("SNNBENCH_DEVICE_EVAL").is_ok_and(|v| v == "0")
        && [&data.validation, &data.test].iter().all(|d| d.t_steps == t && d.batch > 0)
        && contender.load_eval_sets(&[
            TrainingSet { x: &data.validation.x, y: &data.validation.y, t_steps: t },
            TrainingSet { x: &data.test.x, y: &data.test.y, t_steps: t },
        ])?;
    let mut order: Vec<usize> = (0..data.train.batch).collect();
    let host = crate::results::run::host_description();
    for epoch in ck.epochs_done..sched.epochs {
        if interrupted() {
            bar.abandon();
            return Err(Interrupted(info.out.display().to_string()).into());
        }
        let lr = sched.lr_at(epoch);
        if sched.shuffle {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed ^ (0x5eed_0000 + epoch as u64));
            order = (0..data.train.batch).collect();
            order.shuffle(&mut rng);
        }
        let idx = &order[..n_train];
        let start = Instant::now();
        let step = StepConfig { rule: spec.rule, lr, l2: sched.l2, adam: AdamConfig::default() };
        if pooled && part.is_none() {
            contender.select(idx)?;
        } else if part.is_none() {
            let (x, y) = gather(&data.train, idx);
            contender.load_data(TrainingSet { x: &x, y: &y, t_steps: t })?;
        }
        let (mut gpu_time, mut energy, mut energy_note) = (None, None, String::new());
        let mut losses = Vec::with_capacity(steps);
        if is_chip {
            // Online, in chunks of 64 samples so Ctrl-C and the progress bar stay responsive.
            let mut k = 0;
            while k < steps {
                if interrupted() {
                    bar.abandon();
                    return Err(Interrupted(info.out.display().to_string()).into());
                }
                let n = 64.min(steps - k);
                let tr = contender.train(Minibatches { first: k, steps: n, batch: 1 }, &step)?;
                if let (Some(a), Some(b)) = (activity.as_mut(), tr.activity.as_ref()) {
                    a.merge(b)?;
                }
                losses.extend(tr.losses);
                bar.inc(n as u64);
                k += n;
            }
        } else {
            let window = meter.start();
            let t0 = Instant::now();
            match part {
                None => {
                    let tr = contender.train(Minibatches { first: 0, steps, batch }, &step)?;
                    gpu_time = tr.gpu_time_s;
                    losses = tr.losses;
                }
                Some(p) => {
                    // Minibatch k reads positions k·N + b of the epoch's order (mod n_train), as one set would.
                    let mut k = 0;
                    while k < steps {
                        let n = part_steps.min(steps - k);
                        let pos: Vec<usize> = (k * batch..k * batch + p).map(|j| idx[j % n_train]).collect();
                        if pooled {
                            contender.select(&pos)?;
                        } else {
                            let (x, y) = gather(&data.train, &pos);
                            contender.load_data(TrainingSet { x: &x, y: &y, t_steps: t })?;
                        }
                        let tr = contender.train(Minibatches { first: 0, steps: n, batch }, &step)?;
                        gpu_time = match (gpu_time, tr.gpu_time_s) {
                            (Some(a), Some(b)) => Some(a + b),
                            (None, b) if k == 0 => b,
                            _ => None,
                        };
                        losses.extend(tr.losses);
                        k += n;
                    }
                }
            }
            if kind == Kind::Wgpu {
                let (en, note) = meter.finish(window, t0.elapsed().as_secs_f64());
                (energy, energy_note) = (en, note);
            }
            bar.inc(n_train as u64);
        }
        let train_loss = losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len().max(1) as f64;
        let wall = start.elapsed().as_secs_f64();
        let (params, adam) = contender.state()?;
        let t_eval = Instant::now();
        let (vl, va, _, v_dev) = evaluate_split(contender.as_mut(), net, &params, &data.validation, 0, on_device)?;
        let (tl, ta, rate, t_dev) = evaluate_split(contender.as_mut(), net, &params, &data.test, 1, on_device)?;
        let evaluation_s = t_eval.elapsed().as_secs_f64();
        let evaluated_on = match (v_dev, t_dev) {
            (true, true) => "device (the contender's forward kernels)",
            (false, false) => "host (CPU reference forward)",
            _ => "validation and test on different sides (see the log)",
        };
        let trained = if is_chip { n_train } else { steps * batch };
        // The chip runs in real time when every step meets its deadline (the cost stage checks that): T ms/sample.
        let chip_time = is_chip.then_some(n_train as f64 * t as f64 * net.dt_ms * 1e-3);
        // The warm-up's seconds go to the log, not into this column: a timing in a text column would make two runs
        // of the same training differ outside the timing columns.
        let src = if is_chip {
            "measured (emulator wall time, accuracy); modelled (chip_time_s = T × 1 ms per sample)"
        } else if on_gpu && epoch == first_epoch {
            "measured (after a warm-up step outside the clock: kernel compilation)"
        } else {
            "measured"
        };
        rows.push(TrainingRow {
            experiment: spec.name.clone(),
            algorithm: spec.rule.name().into(),
            backend: spec.backend.clone(),
            adapter: spec.adapter.clone(),
            batch,
            t_steps: t,
            seed: spec.seed,
            git_rev: info.git_rev.clone(),
            epoch: epoch + 1,
            lr,
            train_samples: trained,
            train_loss,
            validation_loss: vl,
            validation_accuracy: va,
            test_loss: tl,
            test_accuracy: ta,
            wall_time_s: wall,
            gpu_time_s: gpu_time,
            samples_per_s: trained as f64 / wall,
            chip_time_s: chip_time,
            gpu_energy_j: energy,
            gpu_energy_note: if is_chip { "n/a".to_string() } else { energy_note },
            spike_rate: rate,
            evaluation_s: Some(evaluation_s),
            evaluated_on: Some(evaluated_on.into()),
            gpu_buffer_bytes: contender.gpu_bytes().map(|b| b.total()),
            source: src.into(),
            host: Some(host.clone()),
        });
        ck = Checkpoint { params, adam, epochs_done: epoch + 1 };
        Table::from_rows(&rows)?.write_csv(&csv)?;
        if let Some(a) = &activity {
            write_activity(&info.out, &ActivityRecord { epochs: epoch + 1, activity: a.clone() })?;
        }
        save_checkpoint(&info.out, &spec.name, &ck)?;
        if let Some(w) = window.as_mut() {
            w.count(trained as u64);
        }
        tracing::info!("{} epoch {}: validation {:.1} %, test {:.1} %", spec.name, epoch + 1, 100.0 * va, 100.0 * ta);
    }
    if let Some(mut w) = window {
        // The weights are saved: the top-up trains on from them and is not kept.
        let mb = Minibatches { first: 0, steps: if part.is_some() { part_steps } else { steps }, batch };
        let last_lr = sched.lr_at(sched.epochs.saturating_sub(1));
        let step = StepConfig { rule: spec.rule, lr: last_lr, l2: sched.l2, adam: AdamConfig::default() };
        let mut calls = 0;
        while w.needs_more() {
            if interrupted() {
                bar.abandon();
                return Err(Interrupted(info.out.display().to_string()).into());
            }
            contender.train(mb, &step)?;
            w.count((mb.steps * batch) as u64);
            calls += 1;
        }
        let m = w.close(&crate::power::real_sleep)?;
        let what = format!(
            "the run's epochs {}–{} (training and evaluation){}",
            first_epoch + 1,
            sched.epochs,
            if calls > 0 {
                format!(
                    ", then {calls} repeated trainings of {} samples of the last epoch's data to fill the window",
                    mb.steps * batch
                )
            } else {
                String::new()
            }
        );
        let row = EnergyRow::measured(&spec.name, &spec.adapter, batch, &m, &what);
        Table::from_rows(&[row])?.write_csv(&info.out.join("gpu_energy.csv"))?;
    }
    bar.finish_and_clear();
    metrics::write_for(info, net, &spec.name, spec.rule.name(), &ck.params, &data.test)?;
    Ok(Outcome::Trained)
}

use super::metrics;

/// The samples `idx` of a split, in that order: `x [n, T, n_in]`, `y [n]`.
fn gather(d: &BatchData, idx: &[usize]) -> (Vec<f32>, Vec<i64>) {
    let len = d.t_steps * d.n_in;
    let mut x = Vec::with_capacity(idx.len() * len);
    for &i in idx {
        x.extend_from_slice(&d.x[i * len..(i + 1) * len]);
    }
    (x, idx.iter().map(|&i| d.y[i]).collect())
}
