//! `snnbench cost`: builds the inputs of `models::cost_report` from the command line (chip TOML, GPU preset and
//! power basis, seeded samples) and formats the report as text or JSON.

use anyhow::{Context, Result, bail};
use models::{
    NetConfig, Params,
    cost_report::{CostInputs, CostReport, cost_report},
    gpu_cost::{GPU_PRESETS, PowerBasis, gpu_preset},
    spinnaker2::ChipConfig,
};

use crate::cli::CostArgs;

fn power_basis(s: &str) -> Result<PowerBasis> {
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
        Ok(w) if w > 0.0 && w.is_finite() => Ok(PowerBasis::Measured(w)),
        _ => bail!("--gpu-power {s}: expected `tdp`, `util:U` or a positive wattage"),
    }
}

/// Runs the analysis for `a`.
pub fn run(a: CostArgs) -> Result<String> {
    let chip = match &a.chip {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
            toml::from_str::<ChipConfig>(&text).with_context(|| format!("{}: not a valid chip TOML", p.display()))?
        }
        None => ChipConfig::default(),
    };
    let level = match a.clock_mhz {
        Some(f) => Some(
            chip.levels.iter().find(|l| (l.clock_mhz - f).abs() < 1e-9).map(|l| l.name.clone()).with_context(|| {
                let have: Vec<String> =
                    chip.levels.iter().map(|l| format!("{} MHz ({})", l.clock_mhz, l.name)).collect();
                format!("--clock-mhz {f}: the chip has no such level; it has {}", have.join(", "))
            })?,
        ),
        None => None,
    };
    let gpu = gpu_preset(&a.gpu).with_context(|| {
        let names: Vec<&str> = GPU_PRESETS.iter().map(|g| g.name).collect();
        format!("--gpu {}: unknown; choose one of {}", a.gpu, names.join(", "))
    })?;
    if !(a.gpu_time_per_sample.is_finite() && a.gpu_time_per_sample > 0.0) {
        bail!("--gpu-time-per-sample must be a positive number of seconds");
    }
    if a.samples == 0 || a.steps_t == 0 {
        bail!("--samples and --steps-t must be at least 1");
    }
    let cfg = NetConfig { n_in: a.n_in, n_rec: a.n_rec, n_out: a.n_out, ..NetConfig::default() };
    cfg.validate()?;
    if a.pes > a.n_rec {
        bail!("--pes {} is more than the {} neurons to place", a.pes, a.n_rec);
    }
    let params = Params::init_authors(&cfg, a.seed);
    let (x, y) = models::inputs::smooth_random_batch(
        a.samples,
        a.steps_t,
        cfg.n_in,
        cfg.n_out,
        models::inputs::REALISTIC_GAIN,
        a.seed + 1,
    );
    let len = a.steps_t * cfg.n_in;
    let samples: Vec<(Vec<f32>, usize)> =
        (0..a.samples).map(|b| (x[b * len..(b + 1) * len].to_vec(), y[b] as usize)).collect();
    let report = cost_report(&CostInputs {
        cfg,
        chip,
        pes: a.pes,
        level,
        gpu,
        gpu_power: power_basis(&a.gpu_power)?,
        gpu_time_per_sample_s: a.gpu_time_per_sample,
        params: &params,
        samples: &samples,
    })?;
    Ok(if a.json { serde_json::to_string_pretty(&report)? } else { describe(&report) })
}

fn kib(b: usize) -> String {
    format!("{b} B ({:.1} KiB)", b as f64 / 1024.0)
}

/// The report as text.
pub fn describe(r: &CostReport) -> String {
    let mut o = String::new();
    let mut line = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    line(format!(
        "Emulated {} — {}→{}→{} network, T = {}, {} PEs; counts from {} samples trained online ({:.0} spikes/sample)",
        r.chip, r.n_in, r.n_rec, r.n_out, r.t_steps, r.pes, r.samples_counted, r.spikes_per_sample
    ));
    line("\nMemory per PE (bytes): neurons, weights, Adam, grad, traces/synapse, ε^v, state, buffers, reserve".into());
    for (p, m) in r.memory_map.iter().enumerate() {
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
    line(format!(
        "  total data (reserve excluded): {}; learning state (weights, Adam, gradient, traces): {}",
        kib(r.memory_bytes_total),
        kib(r.memory_bytes_learning_state)
    ));
    line(format!(
        "  paper: 680 KB read as 680 KiB = {} → ours is {:+.2} % (modelled vs quoted)",
        kib(r.memory_bytes_paper),
        100.0 * r.memory_vs_paper
    ));
    line(format!("  {}", r.memory_note));
    let c = &r.chip_cost;
    line(format!("\nCycles per sample by phase (all PEs; level {}):", c.level));
    let total: f64 = c.cycles_by_phase.iter().map(|(_, v)| v).sum();
    for (name, v) in &c.cycles_by_phase {
        line(format!("  {name:<18} {v:>12.0}  {:>5.1} %", 100.0 * v / total));
    }
    line(format!(
        "Real time: {} — slowest step {:.0} cycles of {:.0} per 1 ms tick (margin {:+.1} %); end of sample {:.0} cycles",
        if r.real_time { "yes" } else { "NO (deadline missed)" },
        c.cycles_per_step_max,
        c.cycles_per_tick,
        100.0 * c.real_time_margin,
        c.cycles_end_of_sample
    ));
    line(format!(
        "\nEnergy per training sample (default set): chip {:.3} mJ (active {:.3}, idle {:.3}, packets {:.4}, \
         accelerators {:.4}) vs GPU {:.3} mJ → ratio {:.2}×; per GSC epoch: chip {:.1} J, GPU {:.1} J",
        1e3 * r.energy_j_per_sample_chip,
        1e3 * c.energy_active_j,
        1e3 * c.energy_idle_j,
        1e3 * c.energy_packets_j,
        1e3 * c.energy_accelerators_j,
        1e3 * r.energy_j_per_sample_gpu,
        r.energy_ratio,
        r.energy_j_per_epoch_chip,
        r.energy_j_per_epoch_gpu
    ));
    line(format!(
        "Ratio band over the named sets: {:.2}× – {:.2}× (the paper: 12×, quoted, an estimate)",
        r.energy_ratio_band[0], r.energy_ratio_band[1]
    ));
    for s in &r.assumption_sets {
        line(format!(
            "  {:<8} {:>8.2}×  chip {:.3} mJ, GPU {:.3} mJ (12× would need {:.3} ms/sample on the GPU) — {} [{}; \
             GPU {} {}, {:.2} ms/sample]",
            s.set.name,
            s.energy_ratio,
            1e3 * s.energy_j_per_sample_chip,
            1e3 * s.energy_j_per_sample_gpu,
            1e3 * s.gpu_time_per_sample_for_12x_s,
            s.set.description,
            s.set.level,
            s.set.gpu,
            s.set.gpu_power.describe(),
            1e3 * s.set.gpu_time_per_sample_s
        ));
    }
    line("\nSensitivity of the default ratio (one factor at a time):".into());
    for s in &r.sensitivity {
        line(format!("  {:<30} {:>9.2}× … {:>9.2}×   ({})", s.factor, s.ratio_low, s.ratio_high, s.settings));
    }
    line("\nWhat-ifs: speed-up of the slowest step, largest PE map, total data, real time, chip energy/sample".into());
    for w in &r.what_ifs {
        line(format!(
            "  {:<58} {:>6.2}×  {:>7} B  {:>7} B  {:<3}  {:.3} mJ{}",
            w.change,
            w.speedup,
            w.memory_bytes_max_pe,
            w.memory_bytes_total,
            if w.real_time { "yes" } else { "no" },
            1e3 * w.energy_j_per_sample_chip,
            w.error.as_ref().map_or(String::new(), |_| "  (does not fit the SRAM)".into())
        ));
    }
    o
}
