//! `snnbench bench-train`: trains M samples with one rule on one backend and reports throughput, GPU time and the
//! exact bytes of every GPU buffer (weights/optimizer, per-sample state, BPTT history; input apart); on the
//! emulated chip, also the chip's modelled time and energy per sample.

use std::time::Instant;

use anyhow::{Result, bail};
use models::{AdamConfig, AdamState, NetConfig, Params, Rule};

use crate::contender::{self, Data, EpropChunk, Kind, Minibatches, StepConfig};
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
    /// `cpu`, `wgpu`, `burn-wgpu`, `burn-cpu` or `chip`.
    pub backend: String,
    /// Minibatch size N.
    pub batch: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Samples trained in the timed run.
    pub samples: usize,
    /// Milliseconds per training sample.
    pub time_per_sample_ms: f64,
    /// WGSL e-prop: steps per forward chunk (`--eprop-chunk`: a number, `all` for the whole sequence) and the kernel
    /// path that ran (absent for other rules and backends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eprop_chunk: Option<String>,
    /// Device seconds per kernel for one training step (timestamp queries, one pass per kernel), when available.
    pub kernel_time_s: Option<Vec<(String, f64)>>,
    /// `--backend chip`: the emulated chip's modelled cost of the samples it trained (absent on other backends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip: Option<ChipBench>,
    /// `--energy-window S`: GPU energy per sample by the MLPerf-style protocol (crate::power), when NVML works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_energy: Option<crate::power::Measurement>,
    /// `--energy-window S`: why there is no energy figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_energy_note: Option<String>,
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
/// seeded realistic batch `x [n, t_steps, n_in]`, labels `y` (n = the minibatch, or for the online chip up to 1,024
/// distinct samples, so its counted activity is not one sample's).
type BenchCase = (NetConfig, Params<f32>, Vec<f32>, Vec<i64>);

fn bench_case(cfg: &NetConfig, n: usize, t_steps: usize, samples: usize, reps: usize) -> Result<BenchCase> {
    if n == 0 || t_steps == 0 || samples == 0 || reps == 0 {
        bail!("--batch, --steps-t, --samples and --reps must be at least 1");
    }
    let cfg = cfg.clone();
    let p = Params::init_authors(&cfg, 0);
    let (x, y) =
        models::inputs::smooth_random_batch(n, t_steps, cfg.n_in, cfg.n_out, models::inputs::REALISTIC_GAIN, 1);
    Ok((cfg, p, x, y))
}

/// The middle value (the upper one of an even count).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark on one contender: one warm-up step (shader JIT, caches), `warmup_s` seconds of untimed steps,
/// then `reps` timed runs of ⌈M/N⌉ steps, back to back, on minibatches of N drawn from a seeded realistic batch; wall
/// and GPU times are the medians over the runs.
/// On the emulated chip it also prices the counted activity of the first timed run; with `energy`, it then measures
/// GPU energy per sample over repeated timed runs by [`crate::power::measure`]. The paper's network.
pub fn bench_train(
    kind: Kind,
    rule: Rule,
    gpu: Option<&kernels::GpuContext>,
    batch: usize,
    t_steps: usize,
    samples: usize,
    reps: usize,
    eprop_chunk: EpropChunk,
    warmup_s: f64,
    energy: Option<(crate::power::SharedCounter, crate::power::Protocol)>,
) -> Result<BenchTrainResult> {
    let case = BenchCaseSpec {
        net: &NetConfig::default(),
        batch,
        t_steps,
        samples,
        reps,
        profile: true,
        eprop_chunk,
        warmup_s,
    };
    bench_train_net(kind, rule, gpu, &case, energy)
}

/// What [`bench_train_net`] trains: any network, and whether to time each kernel of one step too.
#[derive(Clone, Copy, Debug)]
pub struct BenchCaseSpec<'a> {
    /// The network (the authors' init, seed 0).
    pub net: &'a NetConfig,
    /// Minibatch N.
    pub batch: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Samples per timed run (⌈M/N⌉ steps).
    pub samples: usize,
    /// Timed runs.
    pub reps: usize,
    /// Time each kernel of one step (one more pass per kernel; `kernel_time_s`).
    pub profile: bool,
    /// e-prop's chunk length on the WGSL kernels.
    pub eprop_chunk: EpropChunk,
    /// Seconds of untimed steps before a timed run that does not directly follow this contender's previous one
    /// ([`BenchCell::time_one`]).
    pub warmup_s: f64,
}

/// [`bench_train`] on any network.
pub fn bench_train_net(
    kind: Kind,
    rule: Rule,
    gpu: Option<&kernels::GpuContext>,
    case: &BenchCaseSpec<'_>,
    energy: Option<(crate::power::SharedCounter, crate::power::Protocol)>,
) -> Result<BenchTrainResult> {
    let mut cell = BenchCell::open(kind, rule, gpu, case)?;
    for _ in 0..case.reps {
        cell.time_one()?;
    }
    cell.finish(energy)
}

/// One contender set up and warmed up for timed runs: [`bench_train_net`] in parts, so that `bench` can time the
/// runs of several contenders interleaved, round by round (each sees the same phases of a noisy machine).
pub struct BenchCell<'a> {
    kind: Kind,
    rule: Rule,
    gpu: Option<&'a kernels::GpuContext>,
    cfg: NetConfig,
    c: Box<dyn contender::Contender>,
    step: StepConfig,
    steps: usize,
    batch: usize,
    t_steps: usize,
    eprop_chunk: EpropChunk,
    kernel_time_s: Option<Vec<(String, f64)>>,
    walls: Vec<f64>,
    gpus: Vec<f64>,
    activity: Option<models::spinnaker2::Activity>,
    warmup_s: f64,
    /// When this contender's last timed run ended.
    last_run: Option<Instant>,
}

impl std::fmt::Debug for BenchCell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BenchCell({} {} N={} T={}, {} timed)",
            self.kind.name(),
            self.rule.name(),
            self.batch,
            self.t_steps,
            self.walls.len()
        )
    }
}

impl<'a> BenchCell<'a> {
    /// Opens the contender on the case's data, prepares it, runs one warm-up step (shader JIT, caches) and, when
    /// asked, the per-kernel profile.
    pub fn open(
        kind: Kind,
        rule: Rule,
        gpu: Option<&'a kernels::GpuContext>,
        case: &BenchCaseSpec<'_>,
    ) -> Result<Self> {
        let BenchCaseSpec { net, batch, t_steps, samples, reps, profile, eprop_chunk, warmup_s } = *case;
        kind.check_rule(rule)?;
        let chip = matches!(kind, Kind::Chip { .. });
        let n_data = if chip { samples.clamp(1, 1024) } else { batch };
        let (cfg, p, x, y) = bench_case(net, n_data, t_steps, samples, reps)?;
        let steps = samples.div_ceil(batch);
        let step = StepConfig { rule, lr: 0.01, l2: 1e-5, adam: AdamConfig::default() };
        let mut c = contender::open(kind, &cfg, gpu)?;
        c.set_eprop_chunk(eprop_chunk);
        c.set_state(&p, &AdamState::like(&p))?;
        c.load_data(Data { x: &x, y: &y, t_steps })?;
        c.prepare(Minibatches { first: 0, steps, batch }, &step)?;
        c.train(Minibatches { first: 0, steps: 1, batch }, &step)?;
        let kernel_time_s = if profile { c.profile_step(&step, batch)? } else { None };
        Ok(Self {
            kind,
            rule,
            gpu,
            cfg,
            c,
            step,
            steps,
            batch,
            t_steps,
            eprop_chunk,
            kernel_time_s,
            walls: Vec::new(),
            gpus: Vec::new(),
            activity: None,
            warmup_s,
            last_run: None,
        })
    }

    /// One timed run of ⌈M/N⌉ steps (wall time and, where there are timestamp queries, device time recorded).
    ///
    /// A run that does not directly follow this contender's previous timed run (the first, or one after other
    /// contenders' runs or the PyTorch peer's process in `bench`) comes after `warmup_s` seconds of untimed steps (at
    /// least one step): on the 2-core VM of reports/2026-12-05-bench-warm-up.md, BPTT's timed runs after 3.5 s of an
    /// idle machine took 0.212–0.219 ms/sample against 0.177 back to back; 0.3 s of untimed steps brought them to
    /// 0.180–0.186 and 1 s to 0.176.
    pub fn time_one(&mut self) -> Result<()> {
        let follows = self.last_run.is_some_and(|t| t.elapsed().as_secs_f64() < 0.01);
        if !follows && self.warmup_s > 0.0 {
            let w0 = Instant::now();
            while w0.elapsed().as_secs_f64() < self.warmup_s {
                self.c.train(Minibatches { first: 0, steps: 1, batch: self.batch }, &self.step)?;
            }
        }
        let start = Instant::now();
        let t = self.c.train(Minibatches { first: 0, steps: self.steps, batch: self.batch }, &self.step)?;
        self.walls.push(start.elapsed().as_secs_f64());
        self.last_run = Some(Instant::now());
        self.gpus.extend(t.gpu_time_s);
        self.activity = self.activity.take().or(t.activity);
        Ok(())
    }

    /// The medians of the timed runs, the bytes, the chip's cost and, with `energy`, GPU energy per sample over
    /// repeated timed runs ([`crate::power::measure`]).
    pub fn finish(
        mut self,
        energy: Option<(crate::power::SharedCounter, crate::power::Protocol)>,
    ) -> Result<BenchTrainResult> {
        if self.walls.is_empty() {
            bail!("internal: no timed run");
        }
        let (kind, rule, batch, t_steps, steps, eprop_chunk) =
            (self.kind, self.rule, self.batch, self.t_steps, self.steps, self.eprop_chunk);
        let reps = self.walls.len();
        let wall = median(std::mem::take(&mut self.walls));
        let gpu_time = (!self.gpus.is_empty()).then(|| median(std::mem::take(&mut self.gpus)));
        // The energy window (crate::power) repeats the same timed steps on the same warmed-up contender.
        let (c, step) = (&mut self.c, &self.step);
        let gpu_energy = match energy {
            Some((counter, protocol)) => {
                Some(crate::power::measure(counter, protocol, &crate::power::real_sleep, || {
                    c.train(Minibatches { first: 0, steps, batch }, step)?;
                    Ok((steps * batch) as u64)
                })?)
            }
            None => None,
        };
        let c = &self.c;
        let cfg = &self.cfg;
        let bytes = c.gpu_bytes();
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
            adapter: c.device(),
            rule: rule.name().into(),
            backend: kind.name().into(),
            batch,
            t_steps,
            samples: n,
            time_per_sample_ms: 1e3 * wall / n as f64,
            eprop_chunk: match (kind, rule, self.gpu) {
                (Kind::Wgpu, Rule::Eprop(_), Some(ctx)) => {
                    let path = c.step_bytes(rule, batch, t_steps, contender::Measure::Plan)?.and_then(|s| s.path);
                    let shape = kernels::TrainerConfig::new(cfg, rule, batch, t_steps);
                    Some(format!(
                        "--eprop-chunk {}: {} steps per chunk{}",
                        eprop_chunk.label(ctx, &shape),
                        eprop_chunk.kernel_steps(ctx, &shape).unwrap_or(t_steps),
                        path.map_or(String::new(), |p| format!(" ({p})"))
                    ))
                }
                _ => None,
            },
            kernel_time_s: self.kernel_time_s.take(),
            chip: match (kind, self.activity.take()) {
                (Kind::Chip { pes }, Some(a)) => Some(chip_bench(cfg, pes, &a)?),
                _ => None,
            },
            gpu_energy,
            gpu_energy_note: None,
        })
    }
}

/// The chip's modelled time and energy per sample for the counted activity (default chip, its default level,
/// compiled-C trace loop).
pub(crate) fn chip_bench(cfg: &NetConfig, pes: usize, activity: &models::spinnaker2::Activity) -> Result<ChipBench> {
    use models::spinnaker2::{ChipConfig, Partition, TraceCode, model::sample_cost};
    let chip = ChipConfig::default();
    let level = chip.level(None).ok_or_else(|| anyhow::anyhow!("the default chip has no default level"))?;
    let cost =
        sample_cost(&chip, level, &activity.workload(&Partition::balanced(cfg.n_rec, pes)), TraceCode::default());
    Ok(ChipBench {
        pes,
        level: level.name.clone(),
        chip_time_per_sample_s: cost.time_s,
        real_time: cost.real_time,
        cycles_per_step_max: cost.cycles_per_step_max,
        chip_energy_j_per_sample_total: cost.energy_total_j,
        chip_energy_j_per_sample_dynamic: cost.energy_dynamic_j,
        spikes_per_sample: activity.spikes_per_sample(),
        samples_counted: activity.samples,
    })
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
        ) + &self.eprop_chunk.as_ref().map_or(String::new(), |c| format!("\n  e-prop: {c}"))
            + &self.kernel_time_s.as_ref().map_or(String::new(), |k| {
                let parts: Vec<String> = k.iter().map(|(n, t)| format!("{n} {:.3} ms", 1e3 * t)).collect();
                format!("\n  one step by kernel: {}", parts.join(", "))
            })
            + &crate::floor::old_lavapipe_note(&self.adapter).map_or(String::new(), |n| format!("\n  note: {n}"))
            + &self.chip.as_ref().map_or(String::new(), |c| {
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
            + &self.gpu_energy.as_ref().map_or(String::new(), |e| {
                format!(
                    "\n  GPU energy ({}, measured): {:.3} mJ per sample total, {:.3} mJ above idle; {}",
                    e.gpu,
                    1e3 * e.total_j_per_sample,
                    1e3 * e.above_idle_j_per_sample,
                    e.method
                )
            })
            + &self.gpu_energy_note.as_ref().map_or(String::new(), |n| format!("\n  {n}"))
    }
}
