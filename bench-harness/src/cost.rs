//! `snnbench cost`: turns a request (a network shape, the chip, the GPU side, how to get the workload) into the
//! inputs of `models::cost_report` and formats the report as text or JSON. The workload is counted by emulating a
//! few seeded samples when the network is small enough to emulate, and derived from the shape (an assumed spike
//! rate) otherwise, so any shape gets an answer or one typed error — the network's weights are never needed to
//! price it. The prose about memory (`memory_note`) is built here, not in `models`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use models::{
    AdamConfig, NetConfig, Params,
    cost_report::{CostInputs, CostReport, MeasuredGpu, PAPER_MEMORY_BYTES, PAPER_MEMORY_BYTES_DECIMAL, cost_report},
    gpu_cost::{GPU_PRESETS, GpuPreset, PowerBasis, gpu_preset},
    spinnaker2::{Activity, ChipConfig, Emulator, Partition, PeMemory, TraceCode, memory_map},
};
use serde::Serialize;

/// Largest network (synapses: (n_in + n_rec) · n_rec) whose workload is counted by emulation; larger ones are
/// derived from the shape (an emulated sample of that size takes seconds and its weights hundreds of MB).
pub const MAX_EMULATED_SYNAPSES: usize = 4_000_000;

/// The spike rate assumed when the workload is derived from the shape and none is given: ≈ the paper network's
/// rate on seeded feature-like inputs (2.0 % in `snnbench cost` with the defaults). [U] for other networks.
pub const DEFAULT_SPIKE_RATE: f64 = 0.02;

/// A measured GPU side.
#[derive(Clone, Debug)]
pub struct MeasuredArgs {
    /// The GPU's name.
    pub name: String,
    /// Seconds per training sample.
    pub time_per_sample_s: f64,
    /// Board energy per sample, idle included, J.
    pub j_per_sample: Option<f64>,
    /// Idle power, W.
    pub idle_w: Option<f64>,
}

/// What `snnbench cost` is asked.
#[derive(Clone, Debug)]
pub struct CostRequest {
    /// Network shape and constants.
    pub cfg: NetConfig,
    /// Steps per sample.
    pub t_steps: usize,
    /// PEs.
    pub pes: usize,
    /// Chip level by clock.
    pub clock_mhz: Option<f64>,
    /// Chip TOML.
    pub chip: Option<PathBuf>,
    /// Trace loop code level name.
    pub trace_code: String,
    /// GPU preset name.
    pub gpu: String,
    /// Assumed GPU time per sample, s.
    pub gpu_time_per_sample_s: f64,
    /// Assumed GPU power basis (`tdp`, `util:U`, watts).
    pub gpu_power: String,
    /// A measured GPU side.
    pub measured: Option<MeasuredArgs>,
    /// Derive the workload at this spike rate instead of emulating.
    pub spike_rate: Option<f64>,
    /// Samples to emulate.
    pub samples: usize,
    /// Seed of the emulated samples and weights.
    pub seed: u64,
}

/// The report plus what the harness says about it.
#[derive(Clone, Debug, Serialize)]
pub struct CostOutput {
    /// The analysis.
    #[serde(flatten)]
    pub report: CostReport,
    /// How the memory total relates to the paper's 680 KB, part by part (derived from the map, not fixed text).
    pub memory_note: String,
}

/// Parses `--gpu-power`.
pub fn power_basis(s: &str) -> Result<PowerBasis> {
    if s == "tdp" {
        return Ok(PowerBasis::Tdp);
    }
    if let Some(u) = s.strip_prefix("util:") {
        let u: f64 = u.parse().with_context(|| format!("--gpu-power {s}: expected util:U with U in [0, 1]"))?;
        if !(0.0..=1.0).contains(&u) {
            bail!("--gpu-power {s}: utilisation must be in [0, 1]");
        }
        return Ok(PowerBasis::IdlePlusUtilization(u));
    }
    match s.parse::<f64>() {
        Ok(w) if w > 0.0 && w.is_finite() => Ok(PowerBasis::Watts(w)),
        _ => bail!("--gpu-power {s}: expected `tdp`, `util:U` or a positive wattage"),
    }
}

/// Reads a chip TOML.
pub fn read_chip(p: &Path) -> Result<ChipConfig> {
    let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
    toml::from_str::<ChipConfig>(&text).with_context(|| format!("{}: not a valid chip TOML", p.display()))
}

/// Looks up a GPU preset by name, naming the known ones on failure.
pub fn preset(name: &str) -> Result<&'static GpuPreset> {
    gpu_preset(name).with_context(|| {
        let names: Vec<&str> = GPU_PRESETS.iter().map(|g| g.name).collect();
        format!("--gpu {name}: unknown; choose one of {}", names.join(", "))
    })
}

/// Parses `--trace-code`.
pub fn trace_code(s: &str) -> Result<TraceCode> {
    TraceCode::parse(s).with_context(|| {
        let names: Vec<&str> = TraceCode::ALL.iter().map(|c| c.name()).collect();
        format!("--trace-code {s}: unknown; choose one of {}", names.join(", "))
    })
}

/// The activity of `samples` seeded feature-like samples trained online on the emulator from the authors' init.
pub fn emulated_activity(cfg: &NetConfig, t_steps: usize, pes: usize, samples: usize, seed: u64) -> Activity {
    let params = Params::init_authors(cfg, seed);
    let (x, y) = models::inputs::smooth_random_batch(
        samples,
        t_steps,
        cfg.n_in,
        cfg.n_out,
        models::inputs::REALISTIC_GAIN,
        seed + 1,
    );
    let len = t_steps * cfg.n_in;
    let mut emu = Emulator::new(cfg, &Partition::balanced(cfg.n_rec, pes), &params);
    let mut act = Activity::new(
        cfg,
        t_steps,
        format!("counted: {samples} seeded feature-like samples trained online on the emulator (seed {seed})"),
    );
    for b in 0..samples {
        let (_, counts) =
            emu.train_sample(&x[b * len..(b + 1) * len], y[b] as usize, &AdamConfig::default(), 0.01, 1e-5);
        act.record(&counts);
    }
    act
}

/// Runs the analysis of `r`.
pub fn run(r: &CostRequest) -> Result<CostOutput> {
    let chip = match &r.chip {
        Some(p) => read_chip(p)?,
        None => ChipConfig::default(),
    };
    let level = match r.clock_mhz {
        Some(f) => Some(
            chip.levels.iter().find(|l| (l.clock_mhz - f).abs() < 1e-9).map(|l| l.name.clone()).with_context(|| {
                let have: Vec<String> =
                    chip.levels.iter().map(|l| format!("{} MHz ({})", l.clock_mhz, l.name)).collect();
                format!("--clock-mhz {f}: the chip has no such level; it has {}", have.join(", "))
            })?,
        ),
        None => None,
    };
    let gpu = preset(&r.gpu)?;
    if !(r.gpu_time_per_sample_s.is_finite() && r.gpu_time_per_sample_s > 0.0) {
        bail!("--gpu-time-per-sample must be a positive number of seconds");
    }
    if r.samples == 0 || r.t_steps == 0 {
        bail!("--samples and --steps-t must be at least 1");
    }
    let cfg = &r.cfg;
    cfg.validate()?;
    if r.pes == 0 || r.pes > cfg.n_rec {
        bail!("--pes {} must be between 1 and the {} neurons to place", r.pes, cfg.n_rec);
    }
    // Fit first: a network that does not fit the PEs is a typed error before anything is allocated.
    memory_map(cfg, &chip, &Partition::balanced(cfg.n_rec, r.pes))?;
    let synapses = (cfg.n_in + cfg.n_rec).saturating_mul(cfg.n_rec);
    let activity = match r.spike_rate {
        Some(rate) if !(0.0..=1.0).contains(&rate) => bail!("--spike-rate {rate}: expected a rate in [0, 1]"),
        Some(rate) => Activity::from_rate(cfg, r.t_steps, rate),
        None if synapses > MAX_EMULATED_SYNAPSES => Activity::from_rate(cfg, r.t_steps, DEFAULT_SPIKE_RATE),
        None => emulated_activity(cfg, r.t_steps, r.pes, r.samples, r.seed),
    };
    let measured = match &r.measured {
        None => None,
        Some(m) => {
            for (what, v) in [("time per sample", Some(m.time_per_sample_s)), ("J per sample", m.j_per_sample)] {
                if let Some(v) = v
                    && !(v.is_finite() && v > 0.0)
                {
                    bail!("measured GPU {what} {v}: expected a positive number");
                }
            }
            Some(MeasuredGpu {
                name: m.name.clone(),
                time_per_sample_s: m.time_per_sample_s,
                energy_j_per_sample_total: m.j_per_sample,
                energy_j_per_sample_above_idle: m.j_per_sample.zip(m.idle_w).map(|(j, i)| j - i * m.time_per_sample_s),
                idle_w: m.idle_w,
                note: "given on the command line".into(),
            })
        }
    };
    let report = cost_report(&CostInputs {
        cfg: cfg.clone(),
        chip,
        pes: r.pes,
        level,
        trace_code: trace_code(&r.trace_code)?,
        gpu,
        gpu_power: power_basis(&r.gpu_power)?,
        gpu_time_per_sample_s: r.gpu_time_per_sample_s,
        measured_gpu: measured,
        activity,
    })?;
    Ok(with_note(report))
}

/// Adds the memory note.
pub fn with_note(report: CostReport) -> CostOutput {
    CostOutput { memory_note: memory_note(&report.memory_map), report }
}

/// Explains the derived total against the paper's 680 KB part by part: which sums of the map land within 2 % of
/// either reading and what the rest is. The paper does not publish its layout, so no one sum is "the" match.
pub fn memory_note(maps: &[PeMemory]) -> String {
    let sum = |f: fn(&PeMemory) -> usize| maps.iter().map(f).sum::<usize>();
    let (total, learning, synaptic) =
        (sum(PeMemory::data), sum(PeMemory::learning_state), sum(PeMemory::synaptic_state));
    let rest = total - learning;
    let vs = |b: usize| {
        let (kib, dec) =
            (b as f64 / PAPER_MEMORY_BYTES as f64 - 1.0, b as f64 / PAPER_MEMORY_BYTES_DECIMAL as f64 - 1.0);
        let within = match (kib.abs() <= 0.02, dec.abs() <= 0.02) {
            (true, true) => "within 2 % of both readings",
            (true, false) => "within 2 % of 680 KiB",
            (false, true) => "within 2 % of 680,000 B",
            (false, false) => "not within 2 % of either reading",
        };
        format!("{b} B = {:+.2} % vs 680 KiB, {:+.2} % vs 680,000 B: {within}", 100.0 * kib, 100.0 * dec)
    };
    format!(
        "680 KB read both ways (680 KiB = {PAPER_MEMORY_BYTES} B; 680,000 B). Data total (every PE's map, code/stack \
         reserve excluded): {}. Synaptic state (weights, Adam m/v, gradient buffer and per-synapse traces: the \
         layout closest to the paper's figure): {}. Learning state (the synaptic state plus each PE's own copy of \
         the per-source ε^v): {}. The rest ({rest} B) is neuron state, the input frame, the spike mask, logits, \
         error and learning-signal buffers of every PE, which the paper's figure most likely leaves out; its layout \
         is not published.",
        vs(total),
        vs(synaptic),
        vs(learning)
    )
}

fn kib(b: usize) -> String {
    format!("{b} B ({:.1} KiB)", b as f64 / 1024.0)
}

fn mj(j: f64) -> String {
    format!("{:.3} mJ", 1e3 * j)
}

/// The report as text.
pub fn describe(out: &CostOutput) -> String {
    let r = &out.report;
    let mut o = String::new();
    let mut line = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    line(format!(
        "Emulated {} — {}→{}→{} network, T = {}, {} PEs; workload {} ({:.0} spikes/sample)",
        r.chip, r.n_in, r.n_rec, r.n_out, r.t_steps, r.pes, r.workload_source, r.spikes_per_sample
    ));
    line("\nMemory per PE (bytes): neurons, weights, Adam, grad, traces/synapse, ε^v, state, buffers, reserve".into());
    for (p, m) in r.memory_map.iter().enumerate().take(16) {
        line(format!(
            "  PE {p:>2}: {:>3} | {:>6} {:>6} {:>6} {:>6} {:>5} {:>4} {:>5} {:>6} = {} of SRAM",
            m.neurons,
            m.weights,
            m.adam,
            m.gradient,
            m.traces_per_synapse,
            m.traces_per_presynaptic,
            m.neuron_state,
            m.buffers,
            m.code_stack_reserve,
            m.total()
        ));
    }
    if r.memory_map.len() > 16 {
        line(format!("  … {} more PEs", r.memory_map.len() - 16));
    }
    line(format!(
        "  total data (reserve excluded): {}; learning state: {}; synaptic state: {}",
        kib(r.memory_bytes_total),
        kib(r.memory_bytes_learning_state),
        kib(r.memory_bytes_synaptic_state)
    ));
    line(format!(
        "  paper: 680 KB read as 680 KiB = {} → ours is {:+.2} % (modelled vs quoted)",
        kib(r.memory_bytes_paper),
        100.0 * r.memory_vs_paper
    ));
    line(format!("  {}", out.memory_note));
    let c = &r.chip_cost;
    line(format!("\nCycles per sample by phase (all PEs; level {}, trace loop {}):", c.level, c.trace_code.name()));
    let total: f64 = c.cycles_by_phase.iter().map(|(_, v)| v).sum();
    for (name, v) in &c.cycles_by_phase {
        line(format!("  {name:<18} {v:>12.0}  {:>5.1} %", 100.0 * v / total));
    }
    line(format!(
        "Real time: {} — slowest step {:.0} cycles of {:.0} per 1 ms tick ({:.0} % of it); end of sample {:.0} cycles",
        if r.real_time { "yes" } else { "NO (deadline missed)" },
        c.cycles_per_step_max,
        c.cycles_per_tick,
        100.0 * c.cycles_per_step_max / c.cycles_per_tick,
        c.cycles_end_of_sample
    ));
    line(
        "\nThe trace loop at three levels of code (cycles per synapse-step → slowest step, real time, chip energy):"
            .into(),
    );
    for t in &r.trace_codes {
        line(format!(
            "  {:<20} {:>4.0} instr {:>5.2} cycles → {:>3.0} % of the tick, real time {:<3}; {} dynamic, {} total; ratio {:.2}×",
            t.trace_code.name(),
            t.instructions_per_synapse_step,
            t.cycles_per_synapse_step,
            100.0 * t.share_of_tick,
            if t.real_time { "yes" } else { "no" },
            mj(t.energy_j_per_sample_dynamic),
            mj(t.energy_j_per_sample_total),
            t.energy_ratio
        ));
    }
    line(format!(
        "\nEnergy per training sample, GPU / chip — headline at the {} boundary (chip: PEs + idle + floor; GPU: \
         board power): {:.2}× (chip {}, GPU {}); band {:.2}× – {:.2}× over every bound below",
        r.boundary.name(),
        r.energy_ratio,
        mj(r.energy_j_per_sample_chip),
        mj(r.energy_j_per_sample_gpu),
        r.energy_ratio_band[0],
        r.energy_ratio_band[1]
    ));
    line(format!(
        "  dynamic boundary (chip: PE active + packets; GPU: above idle): {:.2}× (band {:.2}× – {:.2}×)",
        r.energy_ratio_dynamic, r.energy_ratio_band_dynamic[0], r.energy_ratio_band_dynamic[1]
    ));
    line(format!(
        "  GPU side {}: {}",
        if r.gpu_measured { "MEASURED" } else { "ASSUMED (no measured GPU given)" },
        r.headline_gpu
    ));
    line(format!(
        "  per GSC epoch: chip {:.1} J, GPU {:.1} J; the paper: 12× (an estimate, boundary not stated)",
        r.energy_j_per_epoch_chip, r.energy_j_per_epoch_gpu
    ));
    line("\nNamed sets (boundary, chip J, GPU J, ratio, GPU ms/sample for 12×):".into());
    for s in &r.assumption_sets {
        line(format!(
            "  {:<18} {:<7} {} vs {} → {:>8.2}× (12× at {:.3} ms/sample) — {} [{}, {}; GPU: {}]",
            s.set.name,
            s.set.boundary.name(),
            mj(s.energy_j_per_sample_chip),
            mj(s.energy_j_per_sample_gpu),
            s.energy_ratio,
            1e3 * s.gpu_time_per_sample_for_12x_s,
            s.set.description,
            s.set.level,
            s.set.trace_code.name(),
            s.set.gpu_source
        ));
    }
    line("\nBounds of the uncertain constants (value; low / high; source):".into());
    for b in &r.bounds {
        line(format!("  {:<32} {}; {} / {} — {}", b.constant, b.value, b.low, b.high, b.source));
    }
    line("\nSensitivity of the headline ratio (one bound at a time, widest first):".into());
    for s in &r.sensitivity {
        line(format!("  {:<32} {:>9.2}× … {:>9.2}×   ({})", s.factor, s.ratio_low, s.ratio_high, s.settings));
    }
    line(
        "\nWhat-ifs: speed-up of the slowest step, largest PE map, total data, real time, chip energy/sample (total)"
            .into(),
    );
    for w in &r.what_ifs {
        line(format!(
            "  {:<58} {:>6.2}×  {:>7} B  {:>7} B  {:<3}  {}{}",
            w.change,
            w.speedup,
            w.memory_bytes_max_pe,
            w.memory_bytes_total,
            if w.real_time { "yes" } else { "no" },
            mj(w.energy_j_per_sample_chip),
            w.error.as_ref().map_or(String::new(), |_| "  (does not fit the SRAM)".into())
        ));
    }
    o
}
