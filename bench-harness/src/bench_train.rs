//! `snnbench bench-train`: trains M samples with one rule on one backend and reports throughput, GPU time and the
//! exact bytes of every GPU buffer (weights/optimizer, per-sample state, BPTT history; input apart); on the
//! emulated chip, also the chip's modelled time and energy per sample.

use std::time::Instant;

use anyhow::{Result, bail};
use models::{AdamConfig, AdamState, NetConfig, Params, Rule};
use serde::Serialize;

/// One measurement, as printed by `--json` (a contract: keep the field names).
#[derive(Debug, Clone, Serialize)]
pub struct BenchTrainResult {
    /// Training samples per second of wall time (gradient + Adam, after waiting for the device).
    pub samples_per_s: f64,
    /// Timed runs; wall and GPU times are medians over them.
    pub reps: usize,
    /// Wall time of one timed run (median), seconds.
    pub wall_time_s: f64,
    /// Device time from timestamp queries; `None` when the adapter has none (or on the CPU backend).
    pub gpu_time_s: Option<f64>,
    /// Bytes of every GPU buffer except the input batch; `None` on the CPU backend.
    pub bytes_total: Option<u64>,
    /// BPTT's stored history (linear in T); 0 for e-prop.
    pub bytes_history: Option<u64>,
    /// Weights, gradient, Adam state, counters.
    pub bytes_weights_optimizer: Option<u64>,
    /// Per-sample state that does not grow with T.
    pub bytes_per_sample_state: Option<u64>,
    /// The input batch.
    pub bytes_input: Option<u64>,
    /// Adapter name and backend, or "cpu (N threads)".
    pub adapter: String,
    /// `eprop` or `bptt`.
    pub rule: String,
    /// `cpu` or `wgpu`.
    pub backend: String,
    /// Minibatch size N.
    pub batch: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Samples trained in the timed run.
    pub samples: usize,
    /// Milliseconds per training sample.
    pub time_per_sample_ms: f64,
    /// Device seconds per kernel for one training step (timestamp queries, one pass per kernel), when available.
    pub kernel_time_s: Option<Vec<(String, f64)>>,
    /// `--backend chip`: the emulated chip's modelled cost of the samples it trained (absent on other backends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip: Option<ChipBench>,
}

/// What `bench-train --backend chip` adds: the chip's modelled time and energy per training sample, priced from the
/// counts of the samples it trained (default chip, its default level, compiled-C trace loop).
#[derive(Debug, Clone, Serialize)]
pub struct ChipBench {
    /// PEs.
    pub pes: usize,
    /// Performance level.
    pub level: String,
    /// Modelled chip time per training sample, s (T ticks of 1 ms when real time).
    pub chip_time_per_sample_s: f64,
    /// Every step within its 1 ms tick.
    pub real_time: bool,
    /// Slowest step, cycles (upper bound over the samples).
    pub cycles_per_step_max: f64,
    /// Modelled chip energy per sample, total boundary (PEs active + idle + the chip's floor), J.
    pub chip_energy_j_per_sample_total: f64,
    /// Modelled chip energy per sample, dynamic boundary (PEs active + packets), J.
    pub chip_energy_j_per_sample_dynamic: f64,
    /// Mean spikes per sample.
    pub spikes_per_sample: f64,
    /// Samples behind the counts.
    pub samples_counted: u64,
}

/// The arguments checked, and what every contender trains on: the paper's network with the authors' init and a
/// seeded realistic batch `x [batch, t_steps, n_in]`, labels `y`.
type BenchCase = (NetConfig, Params<f32>, Vec<f32>, Vec<i64>);

fn bench_case(batch: usize, t_steps: usize, samples: usize, reps: usize) -> Result<BenchCase> {
    if batch == 0 || t_steps == 0 || samples == 0 || reps == 0 {
        bail!("--batch, --steps-t, --samples and --reps must be at least 1");
    }
    let cfg = NetConfig::default();
    let p = Params::init_authors(&cfg, 0);
    let (x, y) =
        models::inputs::smooth_random_batch(batch, t_steps, cfg.n_in, cfg.n_out, models::inputs::REALISTIC_GAIN, 1);
    Ok((cfg, p, x, y))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark: one warm-up step (shader JIT, caches), then `reps` timed runs of ⌈M/N⌉ steps on minibatches
/// of N drawn from a seeded realistic batch of N samples; wall and GPU times are the medians over the runs.
pub fn bench_train(
    rule: Rule,
    gpu: Option<&kernels::GpuContext>,
    batch: usize,
    t_steps: usize,
    samples: usize,
    reps: usize,
) -> Result<BenchTrainResult> {
    let (cfg, p, x, y) = bench_case(batch, t_steps, samples, reps)?;
    let steps = samples.div_ceil(batch);
    let adam_cfg = AdamConfig::default();
    let mut kernel_time_s = None;
    let (wall, gpu_time, bytes, adapter) = match gpu {
        None => {
            let data = models::Batch::new(&x, &y, t_steps, cfg.n_in, cfg.n_out)?;
            let mut pw = p.clone();
            let mut adam = AdamState::like(&pw);
            models::train_steps(&cfg, &mut pw, &mut adam, &adam_cfg, &data, rule, 1e-5, 1, batch, 0.01)?;
            let mut walls = Vec::new();
            for _ in 0..reps {
                let start = Instant::now();
                models::train_steps(&cfg, &mut pw, &mut adam, &adam_cfg, &data, rule, 1e-5, steps, batch, 0.01)?;
                walls.push(start.elapsed().as_secs_f64());
            }
            (median(walls), None, None, format!("cpu ({} threads)", rayon_threads()))
        }
        Some(ctx) => {
            let tr = kernels::GpuTrainer::new(ctx, &cfg, rule, batch, batch, t_steps, false, steps.max(1))?;
            tr.upload_batch(&x, &y)?;
            tr.set_params(&p)?;
            tr.set_adam(&AdamState::like(&p))?;
            tr.train(0, 1, 0.01, 1e-5, &adam_cfg)?;
            kernel_time_s = tr
                .profile_step(0.01, 1e-5, &adam_cfg)?
                .map(|v| v.into_iter().map(|(k, t)| (k.to_string(), t)).collect());
            tr.wait()?;
            let mut walls = Vec::new();
            let mut gpus = Vec::new();
            for _ in 0..reps {
                let start = Instant::now();
                let (_, timing) = tr.train(0, steps, 0.01, 1e-5, &adam_cfg)?;
                tr.wait()?;
                walls.push(start.elapsed().as_secs_f64());
                gpus.extend(timing.gpu_time_s);
            }
            let gpu = (!gpus.is_empty()).then(|| median(gpus));
            (median(walls), gpu, Some(tr.bytes()), ctx.describe())
        }
    };
    let n = steps * batch;
    Ok(BenchTrainResult {
        samples_per_s: n as f64 / wall,
        reps,
        wall_time_s: wall,
        gpu_time_s: gpu_time,
        bytes_total: bytes.map(|b| b.total()),
        bytes_history: bytes.map(|b| b.history),
        bytes_weights_optimizer: bytes.map(|b| b.weights_optimizer),
        bytes_per_sample_state: bytes.map(|b| b.per_sample_state),
        bytes_input: bytes.map(|b| b.input),
        adapter,
        rule: rule.name().into(),
        backend: if gpu.is_some() { "wgpu" } else { "cpu" }.into(),
        batch,
        t_steps,
        samples: n,
        time_per_sample_ms: 1e3 * wall / n as f64,
        kernel_time_s,
        chip: None,
    })
}

/// e-prop on the emulated SpiNNaker 2 (`pes` PEs, online: batch 1): host throughput of the emulator, and the chip's
/// modelled time and energy per sample from the counts of the samples it trained.
pub fn bench_train_chip(
    pes: usize,
    batch: usize,
    t_steps: usize,
    samples: usize,
    reps: usize,
) -> Result<BenchTrainResult> {
    use models::spinnaker2::{Activity, ChipConfig, Emulator, Partition, TraceCode, memory_map, model::sample_cost};
    if batch != 1 {
        bail!("--backend chip trains online, one sample per Adam step: pass --batch 1 (found {batch})");
    }
    let (cfg, p, x, y) = bench_case(samples.min(1024), t_steps, samples, reps)?;
    if pes == 0 || pes > cfg.n_rec {
        bail!("--pes {pes} must be between 1 and the {} neurons to place", cfg.n_rec);
    }
    let chip = ChipConfig::default();
    let part = Partition::balanced(cfg.n_rec, pes);
    memory_map(&cfg, &chip, &part)?;
    let n_data = samples.min(1024);
    let len = t_steps * cfg.n_in;
    let adam_cfg = AdamConfig::default();
    let mut emu = Emulator::new(&cfg, &chip, &part, &p);
    let _ = emu.train_sample(&x[..len], y[0] as usize, &adam_cfg, 0.01, 1e-5);
    let mut activity = Activity::new(&cfg, t_steps, format!("counted: bench-train --backend chip, {samples} samples"));
    let mut walls = Vec::new();
    for rep in 0..reps {
        let start = Instant::now();
        for k in 0..samples {
            let i = k % n_data;
            let (_, c) = emu.train_sample(&x[i * len..(i + 1) * len], y[i] as usize, &adam_cfg, 0.01, 1e-5);
            if rep == 0 {
                activity.record(&c);
            }
        }
        walls.push(start.elapsed().as_secs_f64());
    }
    let wall = median(walls);
    let level = chip.level(None).ok_or_else(|| anyhow::anyhow!("the default chip has no default level"))?;
    let cost = sample_cost(&chip, level, &activity.workload(&part), TraceCode::default());
    Ok(BenchTrainResult {
        samples_per_s: samples as f64 / wall,
        reps,
        wall_time_s: wall,
        gpu_time_s: None,
        bytes_total: None,
        bytes_history: None,
        bytes_weights_optimizer: None,
        bytes_per_sample_state: None,
        bytes_input: None,
        adapter: format!("emulated SpiNNaker 2 ({pes} PEs), on the host CPU"),
        rule: "eprop".into(),
        backend: "chip".into(),
        batch,
        t_steps,
        samples,
        time_per_sample_ms: 1e3 * wall / samples as f64,
        kernel_time_s: None,
        chip: Some(ChipBench {
            pes,
            level: level.name.clone(),
            chip_time_per_sample_s: cost.time_s,
            real_time: cost.real_time,
            cycles_per_step_max: cost.cycles_per_step_max,
            chip_energy_j_per_sample_total: cost.energy_total_j,
            chip_energy_j_per_sample_dynamic: cost.energy_dynamic_j,
            spikes_per_sample: activity.spikes_per_sample(),
            samples_counted: activity.samples,
        }),
    })
}

/// The same measurement for the burn baseline (BPTT through burn's autodiff on its wgpu or CPU backend): wall time
/// only (burn does not expose its buffers' bytes or GPU timestamps).
#[cfg(feature = "burn")]
pub fn bench_train_burn(
    backend: burn_baseline::BurnBackend,
    batch: usize,
    t_steps: usize,
    samples: usize,
    reps: usize,
) -> Result<BenchTrainResult> {
    let (cfg, mut p, x, y) = bench_case(batch, t_steps, samples, reps)?;
    let steps = samples.div_ceil(batch);
    let adam_cfg = AdamConfig::default();
    let mut adam = AdamState::like(&p);
    let opts = models::bptt::BpttOptions::default();
    // Warm-up: kernel compilation and autotuning.
    burn_baseline::train_steps(
        backend, &cfg, &mut p, &mut adam, &adam_cfg, &x, &y, t_steps, opts, 1e-5, 1, batch, 0.01,
    )?;
    let mut walls = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        burn_baseline::train_steps(
            backend, &cfg, &mut p, &mut adam, &adam_cfg, &x, &y, t_steps, opts, 1e-5, steps, batch, 0.01,
        )?;
        walls.push(start.elapsed().as_secs_f64());
    }
    let wall = median(walls);
    let n = steps * batch;
    Ok(BenchTrainResult {
        samples_per_s: n as f64 / wall,
        reps,
        wall_time_s: wall,
        gpu_time_s: None,
        bytes_total: None,
        bytes_history: None,
        bytes_weights_optimizer: None,
        bytes_per_sample_state: None,
        bytes_input: None,
        adapter: format!("burn 0.22.1 {}", backend.name()),
        rule: "bptt".into(),
        backend: backend.name().into(),
        batch,
        t_steps,
        samples: n,
        time_per_sample_ms: 1e3 * wall / n as f64,
        kernel_time_s: None,
        chip: None,
    })
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

impl BenchTrainResult {
    /// Human-readable lines.
    pub fn describe(&self) -> String {
        let mb = |b: Option<u64>| b.map_or("n/a".to_string(), |b| format!("{b} B ({:.2} MiB)", b as f64 / 1048576.0));
        let bytes = if self.chip.is_some() {
            String::new()
        } else {
            format!(
                "\n  GPU bytes: total {} = weights/optimizer {} + per-sample state {} + history {}; input {}",
                mb(self.bytes_total),
                mb(self.bytes_weights_optimizer),
                mb(self.bytes_per_sample_state),
                mb(self.bytes_history),
                mb(self.bytes_input),
            )
        };
        format!(
            "bench-train: {} on {} [{}], N = {}, T = {}, {} samples, median of {} runs\n  \
             {:.1} samples/s, {:.3} ms/sample (wall {:.3} s; GPU time {}){bytes}",
            self.rule,
            self.backend,
            self.adapter,
            self.batch,
            self.t_steps,
            self.samples,
            self.reps,
            self.samples_per_s,
            self.time_per_sample_ms,
            self.wall_time_s,
            self.gpu_time_s.map_or("not measured".into(), |t| format!("{t:.3} s")),
        ) + &self.kernel_time_s.as_ref().map_or(String::new(), |k| {
            let parts: Vec<String> = k.iter().map(|(n, t)| format!("{n} {:.3} ms", 1e3 * t)).collect();
            format!("\n  one step by kernel: {}", parts.join(", "))
        }) + &self.chip.as_ref().map_or(String::new(), |c| {
            format!(
                "\n  the chip (modelled, {} PEs at {}): {:.1} ms per sample, real time {} (slowest step {:.0} \
                 cycles); {:.3} mJ per sample total (PEs + idle + floor), {:.3} mJ dynamic; {:.0} spikes/sample",
                c.pes,
                c.level,
                1e3 * c.chip_time_per_sample_s,
                if c.real_time { "yes" } else { "no" },
                c.cycles_per_step_max,
                1e3 * c.chip_energy_j_per_sample_total,
                1e3 * c.chip_energy_j_per_sample_dynamic,
                c.spikes_per_sample
            )
        })
    }
}
