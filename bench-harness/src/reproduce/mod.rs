//! `snnbench reproduce`: the workbench's main job. On one dataset (a local GSC copy or the built-in synthetic one)
//! it trains e-prop on the emulated SpiNNaker 2 (online), e-prop and BPTT on the GPU (WGSL, batch 100), sweeps memory
//! against T, prices the chip against a GPU, and writes one run folder: `config.toml`, raw CSVs (one row per epoch or
//! per measurement, each with a `source` column), summary CSVs derived from them, plots (PNG and SVG) and
//! `report.md`. Every stage leaves its results on disk as it completes; Ctrl-C keeps them and a checkpoint, and the
//! same command resumes. `snnbench report DIR` rebuilds summaries, plots and report from the raw CSVs.

pub mod activity;
pub mod cost_stage;
pub mod energy;
pub mod experiment;
pub mod metrics;
pub mod plots;
pub mod report;
pub mod summary;
pub mod sweep;
pub mod train;

pub use crate::results::run::{git_revision, machine_name, progress, today};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Set by Ctrl-C; long loops check it between units of work.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once the user pressed Ctrl-C.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Installs the Ctrl-C handler (once per process).
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        tracing::warn!(
            "interrupted: finishing the current unit of work and saving a checkpoint (Ctrl-C again to quit now)"
        );
    });
}

/// The error a stage returns when Ctrl-C stopped it after saving.
#[derive(Debug, thiserror::Error)]
#[error("interrupted; completed results and a checkpoint are in {0}; run the same command again to resume")]
pub struct Interrupted(pub String);

/// Where the data comes from and how it is prepared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// A local Google Speech Commands copy; absent: the synthetic GSC.
    pub gsc: Option<PathBuf>,
    /// Already prepared features (`{train,validation,test}.safetensors` from `snnbench prepare`); when given, no
    /// dataset is made or read.
    pub features: Option<PathBuf>,
    /// Synthetic speakers (each says the 30 words once).
    pub synth_speakers: usize,
    /// Seed of the synthetic dataset and of the silence crops.
    pub seed: u64,
    /// Silence crops for training.
    pub silence_train: usize,
    /// Silence crops for validation.
    pub silence_validation: usize,
    /// Use at most this many training samples (all when absent).
    pub max_train_samples: Option<usize>,
    /// Samples between feature frames: the sequence length T = 1 + ⌊16000 / hop⌋ (161: the paper's 100 steps; 16:
    /// 1,001 steps, the network then runs in real audio time at 1 ms per step).
    pub hop_length: usize,
    /// The task: `speech` (the paper's keyword spotting: GSC or the synthetic GSC, the fields above) or `cue`
    /// (the evidence-accumulation task of Bellec et al. 2020, generated from `seed` with the settings in `cue`;
    /// `train` and `train` sweeps only).
    pub task: DataTask,
    /// The cue task's settings (used when `task = "cue"`).
    pub cue: crate::data::cue::CueConfig,
}

/// Which task the data is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataTask {
    /// Keyword spotting on (synthetic) Google Speech Commands: 80 features, 12 classes.
    #[default]
    Speech,
    /// Evidence accumulation (Bellec et al. 2020): 40 spiking channels, 2 classes, long sequences.
    Cue,
}

/// A training schedule (docs/model.md's table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// Minibatch size (1 = online).
    pub batch: usize,
    /// Epochs.
    pub epochs: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// Learning-rate factor applied every `decay_every` epochs.
    pub lr_decay: f64,
    /// Epochs between decays (0: no decay).
    pub decay_every: usize,
    /// L2 coefficient.
    pub l2: f64,
    /// Shuffle the training set every epoch.
    pub shuffle: bool,
    /// Train on at most this many samples per epoch (all when absent).
    pub max_samples_per_epoch: Option<usize>,
    /// e-prop's chunk length on the WGSL kernels: steps, `"all"` or `"auto"` (absent: `auto`; see
    /// [`crate::contender::EpropChunk`]). The other contenders ignore it.
    pub eprop_chunk: Option<crate::contender::EpropChunk>,
}

impl Schedule {
    /// Learning rate of epoch `e` (0-based): `models::adam::decayed_lr`, the one definition (`decay_every = 0`: no
    /// decay).
    pub fn lr_at(&self, e: usize) -> f64 {
        models::adam::decayed_lr(self.lr, self.lr_decay, self.decay_every, e)
    }
}

/// The memory-vs-T sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepConfig {
    /// Steps per sample to visit.
    pub t_steps: Vec<usize>,
    /// The per-batch minibatch size.
    pub batch: usize,
    /// Allocate the GPU buffers (a measurement) up to this T; past it, and past the adapter's limits, the buffer
    /// plan gives the bytes (modelled).
    pub allocate_up_to_t: usize,
}

/// The cost model's inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostConfig {
    /// PEs.
    pub pes: usize,
    /// GPU preset for the default assumption set.
    pub gpu: String,
    /// Training samples the emulator counts the work of (real data, the first of the training split).
    pub samples_counted: usize,
}

/// Everything that decides a run; written to `config.toml` so it can be repeated exactly (`--config`). A config
/// file may be partial: see [`ReproduceConfig::from_toml`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReproduceConfig {
    /// Shrunk for CI (≤ 2 minutes on a 2-core machine with lavapipe).
    pub quick: bool,
    /// Seed of the initial weights (shared by every experiment).
    pub seed: u64,
    /// Adapter name filter for the GPU runs (`--adapter`); the best adapter when absent.
    pub adapter: Option<String>,
    /// Data.
    pub data: DataConfig,
    /// e-prop on the emulated chip: online, docs/model.md's on-chip schedule.
    pub chip: Schedule,
    /// e-prop and BPTT on the GPU: docs/model.md's GPU schedule.
    pub gpu: Schedule,
    /// Memory sweep.
    pub sweep: SweepConfig,
    /// Cost model.
    pub cost: CostConfig,
    /// The network: sizes and neuron constants (the paper's when absent). The cost stage prices this network.
    pub net: models::NetConfig,
    /// GPU energy (`gpu_energy.csv`): the MLPerf-style protocol; NVML only, a note elsewhere.
    pub energy: crate::power::EnergyConfig,
}

impl Default for ReproduceConfig {
    fn default() -> Self {
        Self::full()
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        ReproduceConfig::full().data
    }
}

/// The GPU schedule of the full run.
impl Default for Schedule {
    fn default() -> Self {
        ReproduceConfig::full().gpu
    }
}

impl Default for SweepConfig {
    fn default() -> Self {
        ReproduceConfig::full().sweep
    }
}

impl Default for CostConfig {
    fn default() -> Self {
        ReproduceConfig::full().cost
    }
}

impl ReproduceConfig {
    /// The full run (≤ 15 minutes on the 2-core CI machine with lavapipe): the paper's schedules on a synthetic set of
    /// 60 speakers.
    pub fn full() -> Self {
        Self {
            quick: false,
            seed: 0,
            adapter: None,
            data: DataConfig {
                gsc: None,
                features: None,
                synth_speakers: 60,
                seed: 0,
                silence_train: 100,
                silence_validation: 12,
                max_train_samples: None,
                hop_length: crate::data::features::HOP,
                task: DataTask::Speech,
                cue: crate::data::cue::CueConfig::default(),
            },
            chip: Schedule {
                batch: 1,
                epochs: 33,
                lr: 0.01,
                lr_decay: 0.3,
                decay_every: 2,
                l2: 1e-5,
                shuffle: false,
                max_samples_per_epoch: None,
                eprop_chunk: None,
            },
            gpu: Schedule {
                batch: 100,
                epochs: 30,
                lr: 0.01,
                lr_decay: 0.3,
                decay_every: 6,
                l2: 5e-7,
                shuffle: true,
                max_samples_per_epoch: None,
                eprop_chunk: None,
            },
            sweep: SweepConfig {
                t_steps: vec![25, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
                batch: 100,
                allocate_up_to_t: 2000,
            },
            cost: CostConfig { pes: 12, gpu: "v100-sxm2".into(), samples_counted: 16 },
            net: models::NetConfig::default(),
            energy: crate::power::EnergyConfig::default(),
        }
    }

    /// A (partial) config file: every field it leaves out takes the quick run's value when the file says
    /// `quick = true` or `quick` is passed, else the full run's; an unknown key is a one-line error naming it.
    pub fn from_toml(text: &str, origin: &Path, quick: bool) -> Result<Self> {
        crate::config::check::<Self>(text, origin)?;
        let mut table = crate::config::parse_table(text, origin)?;
        if quick {
            table.insert("quick".into(), toml::Value::Boolean(true));
        }
        Self::from_table(table, origin)
    }

    /// The config a table gives: every field it leaves out takes the quick run's value when it says
    /// `quick = true`, else the full run's.
    pub fn from_table(table: toml::Table, origin: &Path) -> Result<Self> {
        let quick = table.get("quick").and_then(toml::Value::as_bool).unwrap_or(false);
        let base = if quick { Self::quick() } else { Self::full() };
        let cfg: Self = crate::config::overlay(&base, table, origin)?;
        cfg.net.validate().map_err(|e| anyhow::anyhow!("{}: [net]: {e}", origin.display()))?;
        if cfg.data.task != DataTask::Speech {
            bail!(
                "{}: data.task = \"cue\": reproduce is the paper's keyword-spotting comparison; train the cue task \
                 with `snnbench train --task cue` or a `job = \"train\"` sweep",
                origin.display()
            );
        }
        Ok(cfg)
    }

    /// Reads a (partial) config file: [`ReproduceConfig::from_toml`].
    pub fn read(path: &Path, quick: bool) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::from_toml(&text, path, quick)
    }

    /// The CI run: everything shrunk (9 speakers, 3 GPU epochs, 2 chip epochs of 120 samples, fewer allocations).
    pub fn quick() -> Self {
        let mut c = Self::full();
        c.quick = true;
        c.data.synth_speakers = 9;
        c.data.silence_train = 16;
        c.data.silence_validation = 4;
        c.chip.epochs = 2;
        c.chip.decay_every = 1;
        c.chip.max_samples_per_epoch = Some(120);
        c.gpu.epochs = 3;
        c.gpu.decay_every = 2;
        c.sweep.allocate_up_to_t = 100;
        c.energy = crate::power::EnergyConfig::quick();
        c.cost.samples_counted = 4;
        c
    }
}

/// What every raw row carries about the run.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The run folder.
    pub out: PathBuf,
    /// Git revision.
    pub git_rev: String,
    /// The GPU adapter's description.
    pub adapter: String,
    /// Whether the adapter is a CPU (lavapipe).
    pub adapter_is_cpu: bool,
    /// Quiet: no progress bars.
    pub quiet: bool,
}

/// Makes (or reuses) the dataset and returns the folder of its prepared features. Caches (the synthetic clips, the
/// features) live in `cache_dir` (the run folder's parent, so runs side by side share them).
pub fn dataset(cfg: &DataConfig, cache_dir: &Path, quiet: bool) -> Result<(PathBuf, String)> {
    use crate::data::gsc::{PrepareConfig, Task};
    if let Some(dir) = &cfg.features {
        let missing: Vec<&str> = ["train", "validation", "test"]
            .into_iter()
            .filter(|s| !dir.join(format!("{s}.safetensors")).is_file())
            .collect();
        if !missing.is_empty() {
            bail!(
                "--features {}: no {}.safetensors; make it with `snnbench prepare --gsc DIR --out {}`",
                dir.display(),
                missing.join(".safetensors, no "),
                dir.display()
            );
        }
        // A `source.txt` beside the features says where they came from (e.g. "synthetic GSC (18 speakers, seed 0)").
        if let Ok(src) = std::fs::read_to_string(dir.join("source.txt")) {
            return Ok((dir.clone(), format!("{} (prepared features at {})", src.trim(), dir.display())));
        }
        let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap_or_default();
        let origin = manifest
            .lines()
            .next()
            .map_or("no manifest.txt".to_string(), |f| format!("manifest fingerprint {}", &f[..f.len().min(16)]));
        return Ok((dir.clone(), format!("prepared features at {} ({origin})", dir.display())));
    }
    crate::data::features::FeatureExtractor::with_hop(cfg.hop_length)?;
    // One feature cache per hop (the paper's keeps its old name).
    let hop =
        if cfg.hop_length == crate::data::features::HOP { String::new() } else { format!("-hop{}", cfg.hop_length) };
    let (root, cache, what) = match &cfg.gsc {
        Some(root) => {
            // One cache per GSC copy and settings: prepare's manifest fingerprints both and re-extracts on change.
            let cache = cache_dir.join(format!("gsc-features{hop}"));
            (root.clone(), cache, format!("GSC at {}", root.display()))
        }
        None => {
            let base = cache_dir.join(format!("synth-gsc-{}-seed{}", cfg.synth_speakers, cfg.seed));
            let clips = base.join("clips");
            let marker = base.join("complete");
            if !marker.exists() {
                tracing::info!(
                    "synthesising a GSC-shaped dataset of {} speakers into {}",
                    cfg.synth_speakers,
                    clips.display()
                );
                let sc = crate::data::synth::SynthConfig {
                    speakers: cfg.synth_speakers,
                    seed: cfg.seed,
                    ..Default::default()
                };
                let bar = progress(quiet, 0, &format!("synthesising {} speakers", cfg.synth_speakers));
                bar.set_position(0);
                crate::data::synth::synth(&clips, &sc)?;
                bar.finish_and_clear();
                std::fs::write(&marker, "synthesis complete\n")?;
            }
            (
                clips,
                base.join(format!("features{hop}")),
                format!(
                    "synthetic GSC ({} speakers, seed {}{})",
                    cfg.synth_speakers,
                    cfg.seed,
                    if hop.is_empty() {
                        String::new()
                    } else {
                        format!(", hop {}: T = {}", cfg.hop_length, crate::data::features::frames_for(cfg.hop_length))
                    }
                ),
            )
        }
    };
    let pc = PrepareConfig {
        task: Task::Paper12,
        seed: cfg.seed,
        silence_train: cfg.silence_train,
        silence_validation: cfg.silence_validation,
        hop_length: cfg.hop_length,
    };
    let bar = progress(quiet, 0, "features");
    if let Ok(s) = crate::data::gsc::scan(&root, &pc) {
        bar.set_length(s.items.len() as u64);
    }
    let r = crate::data::gsc::prepare(&root, &cache, &pc, &|n| bar.inc(n)).with_context(|| {
        format!("preparing {what}: check the path (a GSC copy has word folders and _background_noise_)")
    })?;
    bar.finish_and_clear();
    let counts: Vec<String> =
        r.counts.iter().map(|(s, c)| format!("{} {}", s.name(), c.iter().sum::<usize>())).collect();
    Ok((cache, format!("{what}: {}", counts.join(", "))))
}

/// Reads or writes the run's config (`read` parses the file there): a folder that already holds a different config
/// is refused; returns whether the run resumes.
pub fn settle_config<T: Serialize + PartialEq>(out: &Path, cfg: &T, read: impl Fn(&Path) -> Result<T>) -> Result<bool> {
    let path = out.join("config.toml");
    let text = toml::to_string_pretty(cfg)?;
    if path.exists() {
        let old = read(&path).with_context(|| format!("{}: not this job's config", path.display()))?;
        if &old != cfg {
            bail!(
                "{} holds a run with another config; choose another --out, pass --config {} to resume it, or delete the folder",
                out.display(),
                path.display()
            );
        }
        return Ok(true);
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    std::fs::write(&path, text)?;
    Ok(false)
}

/// Runs every stage into `out` and returns a summary.
pub fn reproduce(cfg: &ReproduceConfig, out: &Path, quiet: bool) -> Result<String> {
    install_interrupt_handler();
    let _lock = crate::results::lock::RunLock::acquire(out)?;
    let resumed = settle_config(out, cfg, |p| ReproduceConfig::read(p, false))?;
    let ctx = kernels::GpuContext::new(cfg.adapter.as_deref()).context(
        "the GPU runs need a wgpu adapter; on a machine without a GPU run scripts/setup.sh (Mesa's lavapipe)",
    )?;
    let info = RunInfo {
        out: out.to_path_buf(),
        git_rev: git_revision(),
        adapter: ctx.describe(),
        adapter_is_cpu: ctx.info.device_type == wgpu::DeviceType::Cpu,
        quiet,
    };
    tracing::info!(
        "run folder {} ({}), adapter {}",
        out.display(),
        if resumed { "resuming" } else { "new" },
        info.adapter
    );
    let cache_dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (features, data_note) = dataset(&cfg.data, cache_dir, quiet)?;
    std::fs::write(out.join("dataset.txt"), format!("{data_note}\nfeatures: {}\n", features.display()))?;
    let data = train::Data::load(&features, &cfg.net, cfg.data.max_train_samples)?;
    let meter = energy::Meter::open();
    train::run_all(cfg, &info, &ctx, &data, &meter)?;
    sweep::run(cfg, &info, &ctx)?;
    let activity = match activity::read_activity(out)? {
        Some(r) => r.activity,
        // The chip experiment always records it; this covers a run folder from before it did.
        None => {
            let net = cfg.net.clone();
            let k = cfg.cost.samples_counted.clamp(1, data.train.batch);
            tracing::warn!("no {}: counting {k} training samples from the initial weights", activity::ACTIVITY_FILE);
            let mut emu = models::spinnaker2::Emulator::new(
                &net,
                &models::spinnaker2::Partition::balanced(net.n_rec, cfg.cost.pes),
                &models::Params::init_authors(&net, cfg.seed),
            );
            let len = data.train.t_steps * net.n_in;
            let mut a = models::spinnaker2::Activity::new(
                &net,
                data.train.t_steps,
                format!("counted: {k} training samples from the initial weights (no chip run record)"),
            );
            for i in 0..k {
                let x = &data.train.x[i * len..(i + 1) * len];
                let (_, c) = emu.train_sample(x, data.train.y[i] as usize, &models::AdamConfig::default(), 0.01, 1e-5);
                a.record(&c);
            }
            a
        }
    };
    cost_stage::run(
        &cfg.net,
        &cfg.cost,
        out,
        info.adapter_is_cpu,
        models::spinnaker2::ChipConfig::default(),
        activity,
    )?;
    bench_stage(cfg, out, quiet)?;
    report::rebuild(out)?;
    Ok(format!("reproduce: results, plots and report in {} (report.md)", out.display()))
}

/// The bench stage: throughput side by side — CPU reference, WGSL, burn (BPTT) and the PyTorch peer — at the GPU
/// schedule's batch, into `bench.csv`. Done once; but a run folder made by a build without burn (the quickstart's
/// first, lean pass) gets its burn rows measured when a build with burn resumes it, in place of the rows that say
/// burn was not built.
fn bench_stage(cfg: &ReproduceConfig, out: &Path, quiet: bool) -> Result<()> {
    use crate::bench::BenchRow;
    use crate::contender::Kind;
    use crate::results::table::Table;
    let plan = |backends: &[&str], peers: bool| crate::bench::BenchPlan {
        rules: vec!["eprop", "bptt"],
        backends: backends.iter().map(|b| b.to_string()).collect(),
        batches: vec![cfg.gpu.batch],
        t_steps: vec![100],
        samples: if cfg.quick { cfg.gpu.batch } else { 4 * cfg.gpu.batch },
        reps: if cfg.quick { 1 } else { 3 },
        eprop_chunks: vec![cfg.gpu.eprop_chunk.unwrap_or_default()],
        adapter: cfg.adapter.clone(),
        peers,
        // torch.compile's row only on full runs: its compile (15 s to 2 min) would dominate a quick run's bench.
        compile_peer: peers && !cfg.quick,
        // The run's GPU energy is gpu_energy.csv's (energy_probe), measured once per rule.
        energy: crate::power::EnergyConfig { window_s: 0.0, ..Default::default() },
        // A quick run times one run per row, right after its warm-up step; a full one as `bench` does.
        warmup_s: if cfg.quick { 0.0 } else { 0.5 },
    };
    let path = out.join("bench.csv");
    if !path.exists() {
        crate::bench::run(&plan(&["cpu", "wgpu", "burn-wgpu", "burn-cpu"], true), out, quiet)?;
        return Ok(());
    }
    let mut rows: Vec<BenchRow> = Table::read_csv(&path)?.typed().context("bench.csv")?;
    let unbuilt: Vec<usize> = (0..rows.len())
        .filter(|&k| rows[k].backend.starts_with("burn-") && rows[k].note.contains(crate::contender::WITHOUT_BURN))
        .collect();
    if unbuilt.is_empty() || !Kind::BurnCpu.available() {
        return Ok(());
    }
    let scratch = out.join(".bench-burn");
    crate::bench::run(&plan(&["burn-wgpu", "burn-cpu"], false), &scratch, quiet)?;
    let fresh: Vec<BenchRow> = Table::read_csv(&scratch.join("bench.csv"))?.typed()?;
    let key = |r: &BenchRow| (r.rule.clone(), r.backend.clone(), r.batch, r.t_steps);
    for k in unbuilt {
        if let Some(f) = fresh.iter().find(|f| key(f) == key(&rows[k])) {
            rows[k] = f.clone();
        }
    }
    let table = Table::from_rows(&rows)?;
    table.write_csv(&path)?;
    std::fs::write(out.join("bench.md"), crate::bench::markdown(&table)?)?;
    std::fs::remove_dir_all(&scratch).with_context(|| format!("{}: cannot remove", scratch.display()))?;
    Ok(())
}

/// `snnbench report DIR`.
pub fn report_only(dir: &Path) -> Result<String> {
    report::rebuild(dir)?;
    Ok(format!("rebuilt summaries, plots and report.md in {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One schedule everywhere: `decay_every = 0` means no decay (it used to mean a decay every epoch here while
    /// `models::adam::decayed_lr` kept the rate), and the paper's schedules are unchanged.
    #[test]
    fn the_schedule_is_models_one() {
        let mut s = ReproduceConfig::full().gpu;
        assert_eq!(s.lr_at(5), s.lr);
        assert_eq!(s.lr_at(6), s.lr * s.lr_decay);
        assert_eq!(s.lr_at(13), s.lr * s.lr_decay * s.lr_decay);
        s.decay_every = 0;
        assert_eq!(s.lr_at(7), s.lr);
    }
}
