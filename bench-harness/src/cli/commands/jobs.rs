//! The jobs: cost (and re-pricing a run), reproduce, bench.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::super::args::*;

pub fn cost(a: CostArgs) -> Result<String> {
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

pub fn reproduce(a: ReproduceArgs, quiet: bool) -> Result<String> {
    use crate::reproduce::ReproduceConfig;
    let mut cfg = match &a.config {
        Some(p) => ReproduceConfig::read(p, a.quick)?,
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
    if let Some(w) = a.energy_window {
        cfg.energy.window_s = w;
    }
    let out = a.out.clone().unwrap_or_else(|| default_folder("reproduce"));
    if let Some(n) = a.seeds {
        if n == 0 {
            bail!("--seeds must be at least 1");
        }
        // A sweep over the seed: the resolved config shared, the seeds as the one axis.
        let mut shared = toml::Table::try_from(&cfg)?;
        shared.remove("seed");
        let seeds = (cfg.seed..cfg.seed + n as u64).map(|s| toml::Value::Integer(s as i64)).collect();
        let spec =
            crate::sweep::SweepSpec { job: crate::sweep::Job::Reproduce, shared, axes: vec![("seed".into(), seeds)] };
        let opts = crate::sweep::SweepOptions {
            executor: crate::sweep::Executor::Local { jobs: a.jobs },
            snnbench: std::env::current_exe()?,
            quiet,
        };
        return crate::sweep::run_spec(&spec, std::path::Path::new("--seeds"), &out, &opts);
    }
    crate::reproduce::reproduce(&cfg, &out, quiet)
}

pub fn bench(a: BenchArgs, quiet: bool) -> Result<String> {
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
        eprop_chunks: a.eprop_chunk.clone(),
        adapter: a.adapter.clone(),
        peers: !a.no_peers,
        compile_peer: !a.no_peers,
        energy: crate::power::EnergyConfig { window_s: a.energy_window, ..Default::default() },
        warmup_s: a.warmup_s,
    };
    let out = a.out.clone().unwrap_or_else(|| default_folder("bench"));
    crate::bench::run(&plan, &out, quiet)
}

pub fn train(a: TrainArgs, quiet: bool) -> Result<String> {
    let flags = crate::train::TrainFlags {
        config: a.config,
        backend: a.backend,
        rule: a.rule,
        quick: a.quick,
        data: a.data,
        synth: a.synth,
        task: a.task,
        t_steps: a.t_steps,
        epochs: a.epochs,
        batch: a.batch,
        eprop_chunk: a.eprop_chunk,
        seed: a.seed,
        net: a.net,
        adapter: a.adapter,
        energy_window: a.energy_window,
    };
    let cfg = flags.resolve()?;
    let out = a.out.unwrap_or_else(|| default_folder("train"));
    crate::train::train(&cfg, &out, quiet)
}

pub fn sweep(a: SweepArgs, quiet: bool) -> Result<String> {
    match a.action {
        Some(SweepAction::Status { dir }) => return crate::sweep::status(&dir),
        Some(SweepAction::Report { dir }) => return crate::sweep::aggregate::report(&dir),
        Some(SweepAction::Cell { dir, id }) => return crate::sweep::run_cell(&dir, &id),
        None => {}
    }
    let Some(spec) = a.spec else {
        bail!(
            "sweep needs a spec file: `snnbench sweep SPEC.toml --out DIR` (or `sweep status DIR`, `sweep report DIR`)"
        );
    };
    let Some(out) = a.out else { bail!("sweep needs --out DIR") };
    let executor = match a.executor {
        ExecutorName::Local => {
            if a.submit_only {
                bail!("--submit-only is for --executor slurm");
            }
            crate::sweep::Executor::Local { jobs: a.jobs }
        }
        ExecutorName::Slurm => crate::sweep::Executor::Slurm(crate::sweep::exec::SlurmOptions {
            partition: a.partition,
            time: a.time,
            cpus_per_task: a.cpus_per_task,
            gres: a.gres,
            submit_only: a.submit_only,
        }),
    };
    let snnbench = match a.snnbench {
        Some(p) => p,
        None => std::env::current_exe()?,
    };
    crate::sweep::run(&spec, &out, &crate::sweep::SweepOptions { executor, snnbench, quiet })
}

pub fn crossover(a: CrossoverArgs, quiet: bool) -> Result<String> {
    let net = match &a.net {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
            crate::config::check::<models::NetConfig>(&text, p)?;
            crate::config::overlay(&models::NetConfig::default(), crate::config::parse_table(&text, p)?, p)?
        }
        None => models::NetConfig::default(),
    };
    let gpu = if a.measure { Some(open_gpu(a.adapter.as_deref())?) } else { None };
    let measure = match &gpu {
        Some(g) => Some(crate::crossover::energy::Measure::for_adapter(
            &g.info.name,
            g.info.device_type,
            a.measure_cap_s,
            a.adapter_watts,
        )?),
        None => None,
    };
    let cfg = crate::crossover::CrossoverConfig {
        net,
        n_rec: a.n_rec,
        t_steps: a.t_steps,
        batch: a.batch,
        gpu_budgets: a.gpu_gb.iter().map(|g| (format!("{g} GB GPU"), (g * 1e9) as u64)).collect(),
        measure,
        ..Default::default()
    };
    crate::crossover::run(&cfg, gpu.as_ref(), &a.out, quiet)
}
