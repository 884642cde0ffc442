//! `snnbench train`: one contender, one rule, on a prepared feature folder or the built-in synthetic set, into one
//! run folder: the resolved `config.toml`, `training_<name>.csv` (the columns of `reproduce`'s training CSVs, one row
//! per epoch), a checkpoint after every epoch (`checkpoints/<name>.safetensors`, which `evaluate --params` reads and
//! the same command resumes from), the final weights (`weights.safetensors`), `neurobench.csv`, and for the chip its
//! spike activity and cost (`chip_activity.json`, `cost_*.csv`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions};
use serde::{Deserialize, Serialize};

use crate::contender::Kind;
use crate::reproduce::{
    CostConfig, DataConfig, DataTask, ReproduceConfig, RunInfo, Schedule, activity, cost_stage,
    energy::Meter,
    install_interrupt_handler, settle_config,
    train::{Data, Spec, adapter_label, backend_label, checkpoint_path},
};
use crate::results::{lock::RunLock, run::git_revision, table::Table};

/// Everything that decides a `train` run; written to the run folder's `config.toml`. A config file may be partial
/// ([`TrainConfig::from_table`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The contender: cpu, wgpu, burn-wgpu, burn-cpu or chip.
    pub backend: String,
    /// The rule: eprop (the authors' traces) or bptt.
    pub rule: String,
    /// Shrunk data and schedule (as `reproduce --quick`).
    pub quick: bool,
    /// Seed of the initial weights and of the shuffles.
    pub seed: u64,
    /// wgpu adapter name filter.
    pub adapter: Option<String>,
    /// Data.
    pub data: DataConfig,
    /// The schedule (default: the on-chip schedule for `chip`, the GPU schedule otherwise).
    pub schedule: Schedule,
    /// The network.
    pub net: NetConfig,
    /// The chip's PEs and the GPU its cost is compared with (`chip` only).
    pub cost: CostConfig,
    /// GPU energy of the run (`gpu_energy.csv`, GPU backends with NVML): the MLPerf-style protocol.
    pub energy: crate::power::EnergyConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self::base("wgpu", "eprop", false)
    }
}

impl TrainConfig {
    /// The defaults for a backend and rule: `reproduce`'s data, and its on-chip schedule for the chip or its GPU
    /// schedule for every other contender (both shrunk when `quick`).
    pub fn base(backend: &str, rule: &str, quick: bool) -> Self {
        Self::base_for(backend, rule, quick, DataTask::Speech)
    }

    /// The defaults for a backend, rule and task. The cue task's: [`NetConfig::cue_task`] and Bellec et al.'s
    /// optimiser (Adam, learning rate 0.005, batch 64, no L2, no decay) for the batched contenders; the chip
    /// trains online (batch 1) with the same learning rate, as the paper's chip schedule keeps the GPU's for the
    /// speech task (a choice, not a tuned value).
    pub fn base_for(backend: &str, rule: &str, quick: bool, task: DataTask) -> Self {
        let r = if quick { ReproduceConfig::quick() } else { ReproduceConfig::full() };
        let mut c = Self {
            backend: backend.into(),
            rule: rule.into(),
            quick,
            seed: r.seed,
            adapter: None,
            data: r.data,
            schedule: if backend == "chip" { r.chip } else { r.gpu },
            net: r.net,
            cost: r.cost,
            energy: r.energy,
        };
        if task == DataTask::Cue {
            c.data.task = DataTask::Cue;
            c.net = NetConfig::cue_task();
            let chip = backend == "chip";
            c.schedule = Schedule {
                batch: if chip { 1 } else { 64 },
                epochs: if quick { 2 } else { 8 },
                lr: 0.005,
                lr_decay: 1.0,
                decay_every: 0,
                l2: 0.0,
                shuffle: true,
                max_samples_per_epoch: None,
                eprop_chunk: None,
            };
            if quick {
                let cue = &mut c.data.cue;
                (cue.t_steps, cue.train_samples, cue.validation_samples, cue.test_samples) = (1200, 128, 32, 64);
            }
        }
        c
    }

    /// The config a table gives (every field it leaves out from [`TrainConfig::base`] of its backend, rule and
    /// `quick`), checked.
    pub fn from_table(table: toml::Table, origin: &Path) -> Result<Self> {
        let s = |k: &str, d: &str| table.get(k).and_then(toml::Value::as_str).unwrap_or(d).to_string();
        let quick = table.get("quick").and_then(toml::Value::as_bool).unwrap_or(false);
        let task = match crate::config::get_dotted(&table, "data.task").and_then(toml::Value::as_str) {
            None | Some("speech") => DataTask::Speech,
            Some("cue") => DataTask::Cue,
            Some(other) => bail!("{}: data.task = \"{other}\": expected \"speech\" or \"cue\"", origin.display()),
        };
        let base = Self::base_for(&s("backend", "wgpu"), &s("rule", "eprop"), quick, task);
        let cfg: Self = crate::config::overlay(&base, table, origin)?;
        cfg.contender()?;
        cfg.net.validate().map_err(|e| anyhow::anyhow!("{}: [net]: {e}", origin.display()))?;
        if task == DataTask::Cue {
            cfg.data.cue.validate().map_err(|e| anyhow::anyhow!("{}: {e}", origin.display()))?;
            let (n_in, n_out) = (crate::data::cue::N_CHANNELS, crate::data::cue::N_CLASSES);
            if (cfg.net.n_in, cfg.net.n_out) != (n_in, n_out) {
                bail!(
                    "{}: the cue task has {n_in} input channels and {n_out} classes, but [net] says n_in = {}, \
                     n_out = {}",
                    origin.display(),
                    cfg.net.n_in,
                    cfg.net.n_out
                );
            }
        }
        if cfg.schedule.batch == 0 || cfg.schedule.epochs == 0 {
            bail!("{}: schedule.batch and schedule.epochs must be at least 1", origin.display());
        }
        Ok(cfg)
    }

    /// Reads a (partial) config file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        crate::config::check::<Self>(&text, path)?;
        Self::from_table(crate::config::parse_table(&text, path)?, path)
    }

    /// The contender and rule this config names, checked against each other and against this build.
    pub fn contender(&self) -> Result<(Kind, Rule)> {
        let kind = Kind::parse(&self.backend, self.cost.pes)
            .with_context(|| format!("backend `{}`: expected cpu, wgpu, burn-wgpu, burn-cpu or chip", self.backend))?;
        let rule = match self.rule.as_str() {
            "eprop" => Rule::Eprop(TraceVariant::Authors),
            "bptt" => Rule::Bptt(BpttOptions::default()),
            r => bail!("rule `{r}`: expected eprop or bptt"),
        };
        kind.check_rule(rule)?;
        if matches!(kind, Kind::Chip { .. }) && rule.name() != "eprop" {
            bail!("backend chip trains e-prop online; use rule eprop");
        }
        Ok((kind, rule))
    }
}

/// Trains into `out` (resuming what is there) and returns a summary.
pub fn train(cfg: &TrainConfig, out: &Path, quiet: bool) -> Result<String> {
    install_interrupt_handler();
    let (kind, rule) = cfg.contender()?;
    let _lock = RunLock::acquire(out)?;
    let resumed = settle_config(out, cfg, TrainConfig::read)?;
    let ctx = match kind {
        Kind::Wgpu | Kind::BurnWgpu => Some(kernels::GpuContext::new(cfg.adapter.as_deref()).context(
            "this backend needs a wgpu adapter; on a machine without a GPU run scripts/setup.sh (Mesa's lavapipe)",
        )?),
        _ => None,
    };
    let adapter = ctx.as_ref().map_or("none (host CPU)".to_string(), |c| c.describe());
    let info = RunInfo {
        out: out.to_path_buf(),
        git_rev: git_revision(),
        adapter_is_cpu: ctx.as_ref().is_none_or(|c| c.info.device_type == wgpu::DeviceType::Cpu),
        adapter: adapter.clone(),
        quiet,
    };
    let spec = Spec {
        name: Spec::name_for(kind, rule),
        kind,
        rule,
        schedule: cfg.schedule.clone(),
        seed: cfg.seed,
        backend: backend_label(kind).to_string(),
        adapter: adapter_label(kind, &adapter),
    };
    tracing::info!("run folder {} ({}), {}", out.display(), if resumed { "resuming" } else { "new" }, spec.name);
    let data = match cfg.data.task {
        DataTask::Speech => {
            let cache_dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let (features, data_note) = crate::reproduce::dataset(&cfg.data, cache_dir, quiet)?;
            std::fs::write(out.join("dataset.txt"), format!("{data_note}\nfeatures: {}\n", features.display()))?;
            Data::load(&features, &cfg.net, cfg.data.max_train_samples)?
        }
        DataTask::Cue => {
            std::fs::write(out.join("dataset.txt"), format!("{}\n", cfg.data.cue.describe(cfg.data.seed)))?;
            Data::cue(&cfg.data.cue, cfg.data.seed)
        }
    };
    let outcome = crate::reproduce::train::run_training(
        &spec,
        &cfg.net,
        &info,
        ctx.as_ref(),
        &data,
        &Meter::open(),
        Some(&cfg.energy),
    )?;
    if let crate::reproduce::train::Outcome::DidNotFit(msg) = outcome {
        return Ok(format!(
            "train {}: {msg}. Recorded in {} (a result, not an error)",
            spec.name,
            crate::reproduce::train::fit_path(out, &spec.name).display()
        ));
    }
    let ck = checkpoint_path(out, &spec.name);
    let params = crate::tensors::read_params(&ck)?;
    let weights = out.join("weights.safetensors");
    crate::tensors::write_params(&weights, &params, vec![])?;
    if spec.is_chip()
        && let Some(rec) = activity::read_activity(out)?
    {
        cost_stage::run(&cfg.net, &cfg.cost, out, true, models::spinnaker2::ChipConfig::default(), rec.activity)?;
    }
    let t = Table::read_csv(&out.join(spec.csv()))?;
    let (acc, val) = (t.f64s("test_accuracy")?, t.f64s("validation_accuracy")?);
    let last = acc.last().copied().flatten().unwrap_or(f64::NAN);
    let best = (0..val.len()).max_by(|&a, &b| val[a].unwrap_or(-1.0).total_cmp(&val[b].unwrap_or(-1.0)));
    Ok(format!(
        "train {}: {} epochs, test accuracy {:.2} % (at the best validation epoch {}: {:.2} %); weights in {}, \
         per-epoch rows in {}",
        spec.name,
        t.len(),
        100.0 * last,
        best.map_or(0, |b| b + 1),
        100.0 * best.and_then(|b| acc[b]).unwrap_or(f64::NAN),
        weights.display(),
        out.join(spec.csv()).display()
    ))
}

/// A config from `train`'s flags: the file (partial), then every flag given, which wins.
#[derive(Debug, Default)]
pub struct TrainFlags {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--backend`.
    pub backend: Option<String>,
    /// `--rule`.
    pub rule: Option<String>,
    /// `--quick`.
    pub quick: bool,
    /// `--data`: a prepared feature folder.
    pub data: Option<PathBuf>,
    /// `--synth`: speakers of the synthetic set.
    pub synth: Option<usize>,
    /// `--task`: speech or cue.
    pub task: Option<String>,
    /// `--t-steps`: the cue task's sequence length.
    pub t_steps: Option<usize>,
    /// `--epochs`.
    pub epochs: Option<usize>,
    /// `--batch`.
    pub batch: Option<usize>,
    /// `--eprop-chunk`: WGSL e-prop's steps per forward chunk.
    pub eprop_chunk: Option<crate::contender::EpropChunk>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--net`: a network TOML.
    pub net: Option<PathBuf>,
    /// `--adapter`.
    pub adapter: Option<String>,
    /// `--energy-window`: seconds of the GPU energy window (0: off).
    pub energy_window: Option<f64>,
}

impl TrainFlags {
    /// The resolved config.
    pub fn resolve(&self) -> Result<TrainConfig> {
        use toml::Value as V;
        let (mut table, origin) = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
                crate::config::check::<TrainConfig>(&text, p)?;
                (crate::config::parse_table(&text, p)?, p.clone())
            }
            None => (toml::Table::new(), PathBuf::from("the command line")),
        };
        let set = crate::config::set_dotted;
        if let Some(b) = &self.backend {
            set(&mut table, "backend", V::String(b.clone()))?;
        }
        if let Some(r) = &self.rule {
            set(&mut table, "rule", V::String(r.clone()))?;
        }
        if self.quick {
            set(&mut table, "quick", V::Boolean(true))?;
        }
        if let Some(d) = &self.data {
            if !d.is_dir() {
                bail!(
                    "--data {}: not a folder; make one with `snnbench prepare --gsc DIR --out FEATURES`",
                    d.display()
                );
            }
            set(&mut table, "data.features", V::String(d.display().to_string()))?;
        }
        if let Some(n) = self.synth {
            set(&mut table, "data.synth_speakers", V::Integer(n as i64))?;
        }
        if let Some(t) = &self.task {
            set(&mut table, "data.task", V::String(t.clone()))?;
        }
        if let Some(t) = self.t_steps {
            let task = crate::config::get_dotted(&table, "data.task").and_then(V::as_str);
            if task != Some("cue") {
                bail!(
                    "--t-steps sets the cue task's length; add --task cue (the speech task's T comes from data.hop_length)"
                );
            }
            set(&mut table, "data.cue.t_steps", V::Integer(t as i64))?;
        }
        if let Some(e) = self.epochs {
            set(&mut table, "schedule.epochs", V::Integer(e as i64))?;
        }
        if let Some(b) = self.batch {
            set(&mut table, "schedule.batch", V::Integer(b as i64))?;
        }
        if let Some(c) = self.eprop_chunk {
            set(&mut table, "schedule.eprop_chunk", V::try_from(c)?)?;
        }
        if let Some(s) = self.seed {
            set(&mut table, "seed", V::Integer(s as i64))?;
        }
        if let Some(a) = &self.adapter {
            set(&mut table, "adapter", V::String(a.clone()))?;
        }
        if let Some(w) = self.energy_window {
            set(&mut table, "energy.window_s", V::Float(w))?;
        }
        if let Some(p) = &self.net {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
            crate::config::check::<NetConfig>(&text, p)?;
            let net = crate::config::parse_table(&text, p)?;
            let mut merged = table.get("net").and_then(V::as_table).cloned().unwrap_or_default();
            crate::config::merge(&mut merged, net);
            table.insert("net".into(), V::Table(merged));
        }
        if !table.contains_key("backend") || !table.contains_key("rule") {
            bail!(
                "train needs --backend (cpu, wgpu, burn-wgpu, burn-cpu, chip) and --rule (eprop, bptt), as flags or in --config"
            );
        }
        TrainConfig::from_table(table, &origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chip_defaults_to_the_on_chip_schedule_and_flags_win_over_the_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "backend = \"chip\"\nrule = \"eprop\"\nseed = 3\n[schedule]\nepochs = 5\n")?;
        let flags = TrainFlags { config: Some(file.clone()), epochs: Some(2), ..Default::default() };
        let c = flags.resolve()?;
        assert_eq!(c.schedule, Schedule { epochs: 2, ..ReproduceConfig::full().chip });
        assert_eq!(c.seed, 3);
        std::fs::write(&file, "backend = \"chip\"\nrule = \"bptt\"\n")?;
        let err = TrainFlags { config: Some(file), ..Default::default() }.resolve().expect_err("chip BPTT accepted");
        assert!(err.to_string().contains("e-prop"), "{err}");
        Ok(())
    }

    #[test]
    fn the_eprop_chunk_is_a_number_of_steps_or_all_from_the_file_or_the_flag() -> Result<()> {
        use crate::contender::EpropChunk;
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("c.toml");
        let read = |text: &str| -> Result<TrainConfig> {
            std::fs::write(&file, format!("backend = \"wgpu\"\nrule = \"eprop\"\n{text}"))?;
            TrainFlags { config: Some(file.clone()), ..Default::default() }.resolve()
        };
        assert_eq!(read("")?.schedule.eprop_chunk, None);
        assert_eq!(read("[schedule]\neprop_chunk = 500\n")?.schedule.eprop_chunk, Some(EpropChunk::Steps(500)));
        assert_eq!(read("[schedule]\neprop_chunk = \"all\"\n")?.schedule.eprop_chunk, Some(EpropChunk::Whole));
        for bad in ["0", "-3", "\"most\""] {
            let err = read(&format!("[schedule]\neprop_chunk = {bad}\n")).expect_err(bad).to_string();
            assert!(err.contains("`all`") && !err.contains('\n'), "{bad}: {err}");
        }
        let flag = TrainFlags {
            backend: Some("wgpu".into()),
            rule: Some("eprop".into()),
            eprop_chunk: Some(EpropChunk::Whole),
            ..Default::default()
        }
        .resolve()?;
        assert_eq!(flag.schedule.eprop_chunk, Some(EpropChunk::Whole));
        // Written back (the run folder's config) and read again, it is the same value.
        let c = read("[schedule]\neprop_chunk = 250\n")?;
        let again = read(&toml::to_string(&c.schedule).map(|s| format!("[schedule]\n{s}"))?)?;
        assert_eq!(again.schedule.eprop_chunk, Some(EpropChunk::Steps(250)));
        assert_eq!(read("[schedule]\neprop_chunk = \"auto\"\n")?.schedule.eprop_chunk, Some(EpropChunk::Auto));
        assert_eq!(EpropChunk::default(), EpropChunk::Auto);
        Ok(())
    }
}
