//! The SpiNNaker 2 vs GPU analysis behind `snnbench cost`: memory per PE against the paper's 680 KB, cycles per
//! phase, the real-time verdict, chip and GPU energy per training sample, their ratio under named assumption sets
//! (HARDWARE.md, "Why 12× is a band"), a one-factor-at-a-time sensitivity table and the paper's what-ifs. The chip
//! side runs the functional emulator on the given samples and prices what it counted; nothing is tuned to a target.

use serde::Serialize;

use crate::{
    AdamConfig, NetConfig, Params,
    gpu_cost::{GpuPreset, PowerBasis, gpu_energy_j_per_sample, gpu_preset},
    spinnaker2::{
        ChipConfig, Emulator, Partition, PeMemory, SampleCounts, SramOverflow, memory_map,
        model::{SampleCost, sample_cost},
    },
};

/// The paper's training memory, read as 680 KiB (the HARDWARE.md layout that explains it is 678.8 KiB).
pub const PAPER_MEMORY_BYTES: usize = 680 * 1024;

/// The paper's 680 KB read as decimal kilobytes (the other reading).
pub const PAPER_MEMORY_BYTES_DECIMAL: usize = 680_000;

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
         reserve excluded): {}. Weights, Adam m/v, gradient buffer and per-synapse traces (the layout HARDWARE.md \
         finds closest to the paper's figure): {}. Adding each PE's own copy of the per-source ε^v: {}. The rest \
         ({rest} B) is neuron state, the input frame, the spike mask, logits, error and learning-signal buffers of \
         every PE, which the paper's figure most likely leaves out; its layout is not published.",
        vs(total),
        vs(synaptic),
        vs(learning)
    )
}
/// The paper's energy ratio (GPU / SpiNNaker 2), an estimate there.
pub const PAPER_RATIO: f64 = 12.0;
/// Training samples per GSC epoch (the authors' 12-class split).
pub const GSC_TRAIN_SAMPLES: usize = 55_948;

/// Why an analysis cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The network does not fit the PEs.
    #[error(transparent)]
    Sram(#[from] SramOverflow),
    /// A named level does not exist on the chip.
    #[error("no performance level {0:?} on this chip; it has {1}")]
    Level(String, String),
    /// Inconsistent inputs.
    #[error("{0}")]
    Input(String),
}

/// One coherent set of bookkeeping choices.
#[derive(Clone, Debug, Serialize)]
pub struct AssumptionSet {
    /// Short name.
    pub name: String,
    /// What it assumes.
    pub description: String,
    /// Chip level.
    pub level: String,
    /// Count the chip's floor power (all PEs off) for the sample's duration.
    pub include_chip_floor: bool,
    /// GPU preset.
    pub gpu: String,
    /// GPU power basis.
    pub gpu_power: PowerBasis,
    /// GPU time per training sample, s.
    pub gpu_time_per_sample_s: f64,
}

/// The ratio under one set.
#[derive(Clone, Debug, Serialize)]
pub struct SetResult {
    /// The set.
    pub set: AssumptionSet,
    /// Chip energy per sample, J.
    pub energy_j_per_sample_chip: f64,
    /// GPU energy per sample, J.
    pub energy_j_per_sample_gpu: f64,
    /// GPU / chip.
    pub energy_ratio: f64,
    /// The GPU time per sample at which this set would give the paper's 12× (all else equal), s.
    pub gpu_time_per_sample_for_12x_s: f64,
}

/// One row of the sensitivity table: the ratio when one constant moves to its low and high value.
#[derive(Clone, Debug, Serialize)]
pub struct SensitivityRow {
    /// What moves.
    pub factor: String,
    /// Ratio at the low setting.
    pub ratio_low: f64,
    /// Ratio at the high setting.
    pub ratio_high: f64,
    /// The two settings.
    pub settings: String,
}

/// One what-if.
#[derive(Clone, Debug, Serialize)]
pub struct WhatIfRow {
    /// The change.
    pub change: String,
    /// `None` when it fits; the SRAM error otherwise.
    pub error: Option<String>,
    /// Largest PE map, bytes (reserve included).
    pub memory_bytes_max_pe: usize,
    /// All PEs' data bytes.
    pub memory_bytes_total: usize,
    /// Critical-path cycles per step.
    pub cycles_per_step_max: f64,
    /// Baseline time per step / this time per step.
    pub speedup: f64,
    /// Every step within 1 ms.
    pub real_time: bool,
    /// Chip energy per sample under the default set, J.
    pub energy_j_per_sample_chip: f64,
}

/// Everything `snnbench cost` prints.
#[derive(Clone, Debug, Serialize)]
pub struct CostReport {
    /// Network.
    pub n_in: usize,
    /// Network.
    pub n_rec: usize,
    /// Network.
    pub n_out: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// PEs used.
    pub pes: usize,
    /// Chip name.
    pub chip: String,
    /// Samples the emulator trained on to count.
    pub samples_counted: usize,
    /// Mean spikes per sample in those.
    pub spikes_per_sample: f64,
    /// Per-PE maps.
    pub memory_map: Vec<PeMemory>,
    /// Data bytes per PE (reserve excluded).
    pub memory_bytes_per_pe: Vec<usize>,
    /// Data bytes of all PEs.
    pub memory_bytes_total: usize,
    /// Weights, Adam, gradient buffer and traces of all PEs.
    pub memory_bytes_learning_state: usize,
    /// The paper's figure as read (680 KiB).
    pub memory_bytes_paper: usize,
    /// memory_bytes_total / paper − 1.
    pub memory_vs_paper: f64,
    /// Weights, Adam, gradient buffer and per-synapse traces only (HARDWARE.md's candidate layout for the paper's
    /// figure; no per-PE copies of ε^v, neuron state or buffers).
    pub memory_bytes_synaptic_state: usize,
    /// How the total relates to the paper's 680 KB, part by part (derived from the map, not fixed text).
    pub memory_note: String,
    /// The chip's cost at the default set's level.
    pub chip_cost: SampleCost,
    /// Critical-path cycles per step.
    pub cycles_per_step_max: f64,
    /// Real-time verdict.
    pub real_time: bool,
    /// Chip energy per sample under the default set, J.
    pub energy_j_per_sample_chip: f64,
    /// GPU energy per sample under the default set, J.
    pub energy_j_per_sample_gpu: f64,
    /// GPU / chip energy per training sample under the default set.
    pub energy_ratio: f64,
    /// [min, max] of the ratio over the named sets.
    pub energy_ratio_band: [f64; 2],
    /// Chip energy per GSC epoch (55,948 samples), J.
    pub energy_j_per_epoch_chip: f64,
    /// GPU energy per GSC epoch, J.
    pub energy_j_per_epoch_gpu: f64,
    /// Every named set.
    pub assumption_sets: Vec<SetResult>,
    /// One factor at a time, around the default set.
    pub sensitivity: Vec<SensitivityRow>,
    /// The paper's what-ifs.
    pub what_ifs: Vec<WhatIfRow>,
}

/// What the analysis needs.
#[derive(Clone, Debug)]
pub struct CostInputs<'a> {
    /// Network.
    pub cfg: NetConfig,
    /// Chip.
    pub chip: ChipConfig,
    /// PEs.
    pub pes: usize,
    /// Level for the default set (the chip's default when `None`).
    pub level: Option<String>,
    /// GPU for the default set.
    pub gpu: &'static GpuPreset,
    /// GPU power basis for the default set.
    pub gpu_power: PowerBasis,
    /// GPU time per training sample for the default set, s.
    pub gpu_time_per_sample_s: f64,
    /// Initial weights.
    pub params: &'a Params<f32>,
    /// Samples `x [T, n_in]` and labels the emulator trains on to count.
    pub samples: &'a [(Vec<f32>, usize)],
}

/// Runs the emulator online over `samples` and returns what it counted.
pub fn count(
    cfg: &NetConfig,
    chip: &ChipConfig,
    part: &Partition,
    p: &Params<f32>,
    samples: &[(Vec<f32>, usize)],
) -> Vec<SampleCounts> {
    let mut emu = Emulator::new(cfg, chip, part, p);
    samples.iter().map(|(x, y)| emu.train_sample(x, *y, &AdamConfig::default(), 0.01, 1e-5).1).collect()
}

fn level_names(chip: &ChipConfig) -> String {
    chip.levels.iter().map(|l| l.name.clone()).collect::<Vec<_>>().join(", ")
}

fn chip_energy(chip: &ChipConfig, level: &str, counts: &[SampleCounts], floor: bool) -> Result<SampleCost, CostError> {
    let lv = chip.level(Some(level)).ok_or_else(|| CostError::Level(level.into(), level_names(chip)))?;
    Ok(sample_cost(chip, lv, counts, floor))
}

fn evaluate(chip: &ChipConfig, counts: &[SampleCounts], set: &AssumptionSet) -> Result<SetResult, CostError> {
    let c = chip_energy(chip, &set.level, counts, set.include_chip_floor)?;
    let gpu = gpu_preset(&set.gpu).ok_or_else(|| CostError::Input(format!("unknown GPU {}", set.gpu)))?;
    let g = gpu_energy_j_per_sample(gpu, set.gpu_power, set.gpu_time_per_sample_s);
    Ok(SetResult {
        set: set.clone(),
        energy_j_per_sample_chip: c.energy_j,
        energy_j_per_sample_gpu: g,
        energy_ratio: g / c.energy_j,
        gpu_time_per_sample_for_12x_s: PAPER_RATIO * c.energy_j / set.gpu_power.power_w(gpu),
    })
}

/// HARDWARE.md's three coherent sets that give ≈ 12×, plus the default set of these inputs.
pub fn assumption_sets(inp: &CostInputs) -> Vec<AssumptionSet> {
    let top = inp.chip.levels.iter().max_by(|a, b| a.voltage_v.total_cmp(&b.voltage_v));
    let mid = inp.chip.levels.iter().find(|l| (l.voltage_v - 0.8).abs() < 0.05).or(top);
    let low = inp.chip.levels.iter().min_by(|a, b| a.voltage_v.total_cmp(&b.voltage_v));
    let name = |l: Option<&super::spinnaker2::PerfLevel>| l.map_or(inp.chip.default_level.clone(), |l| l.name.clone());
    vec![
        AssumptionSet {
            name: "default".into(),
            description: "PEs only at the chosen level; the chosen GPU, power basis and time per sample".into(),
            level: inp.level.clone().unwrap_or(inp.chip.default_level.clone()),
            include_chip_floor: false,
            gpu: inp.gpu.name.into(),
            gpu_power: inp.gpu_power,
            gpu_time_per_sample_s: inp.gpu_time_per_sample_s,
        },
        AssumptionSet {
            name: "A".into(),
            description: "PEs at ~0.8 V (PE-only) vs a V100 at TDP and 0.4 ms/sample (batch ~100)".into(),
            level: name(mid),
            include_chip_floor: false,
            gpu: "v100-sxm2".into(),
            gpu_power: PowerBasis::Tdp,
            gpu_time_per_sample_s: 0.4e-3,
        },
        AssumptionSet {
            name: "B".into(),
            description: "PEs at the lowest voltage (PE-only) vs a V100 at 60 W measured and 0.4 ms/sample".into(),
            level: name(low),
            include_chip_floor: false,
            gpu: "v100-sxm2".into(),
            gpu_power: PowerBasis::Measured(60.0),
            gpu_time_per_sample_s: 0.4e-3,
        },
        AssumptionSet {
            name: "C".into(),
            description: "the whole chip (floor power included) at ~0.8 V vs an online (batch 1) V100 at 45 W and \
                          20 ms/sample"
                .into(),
            level: name(mid),
            include_chip_floor: true,
            gpu: "v100-sxm2".into(),
            gpu_power: PowerBasis::Measured(45.0),
            gpu_time_per_sample_s: 20e-3,
        },
    ]
}

/// The full analysis.
pub fn cost_report(inp: &CostInputs) -> Result<CostReport, CostError> {
    let cfg = &inp.cfg;
    cfg.validate().map_err(|e| CostError::Input(e.to_string()))?;
    if inp.pes == 0 {
        return Err(CostError::Input("--pes must be at least 1".into()));
    }
    if inp.samples.is_empty() {
        return Err(CostError::Input("at least one sample is needed to count the work".into()));
    }
    let t_steps = inp.samples[0].0.len() / cfg.n_in;
    let part = Partition::balanced(cfg.n_rec, inp.pes);
    let maps = memory_map(cfg, &inp.chip, &part)?;
    let counts = count(cfg, &inp.chip, &part, inp.params, inp.samples);
    let sets = assumption_sets(inp);
    let results: Vec<SetResult> = sets.iter().map(|s| evaluate(&inp.chip, &counts, s)).collect::<Result<_, _>>()?;
    let default = &results[0];
    let chip_cost = chip_energy(&inp.chip, &sets[0].level, &counts, false)?;
    let band =
        results.iter().fold([f64::INFINITY, 0.0f64], |b, r| [b[0].min(r.energy_ratio), b[1].max(r.energy_ratio)]);
    let sensitivity = sensitivity(inp, &counts, &sets[0])?;
    let what_ifs = what_ifs(inp, &sets[0], chip_cost.cycles_per_step_max / chip::clock(inp, &sets[0].level))?;
    let per_pe: Vec<usize> = maps.iter().map(PeMemory::data).collect();
    let total: usize = per_pe.iter().sum();
    Ok(CostReport {
        n_in: cfg.n_in,
        n_rec: cfg.n_rec,
        n_out: cfg.n_out,
        t_steps,
        pes: inp.pes,
        chip: inp.chip.name.clone(),
        samples_counted: counts.len(),
        spikes_per_sample: counts.iter().map(|c| c.spikes as f64).sum::<f64>() / counts.len() as f64,
        memory_bytes_per_pe: per_pe,
        memory_bytes_total: total,
        memory_bytes_learning_state: maps.iter().map(PeMemory::learning_state).sum(),
        memory_bytes_paper: PAPER_MEMORY_BYTES,
        memory_vs_paper: total as f64 / PAPER_MEMORY_BYTES as f64 - 1.0,
        memory_bytes_synaptic_state: maps.iter().map(PeMemory::synaptic_state).sum(),
        memory_note: memory_note(&maps),
        memory_map: maps,
        cycles_per_step_max: chip_cost.cycles_per_step_max,
        real_time: chip_cost.real_time,
        energy_j_per_sample_chip: default.energy_j_per_sample_chip,
        energy_j_per_sample_gpu: default.energy_j_per_sample_gpu,
        energy_ratio: default.energy_ratio,
        energy_ratio_band: band,
        energy_j_per_epoch_chip: default.energy_j_per_sample_chip * GSC_TRAIN_SAMPLES as f64,
        energy_j_per_epoch_gpu: default.energy_j_per_sample_gpu * GSC_TRAIN_SAMPLES as f64,
        chip_cost,
        assumption_sets: results,
        sensitivity,
        what_ifs,
    })
}

/// Clock of a level in cycles per second (helper for speed-ups).
mod chip {
    use super::CostInputs;
    pub fn clock(inp: &CostInputs, level: &str) -> f64 {
        inp.chip.level(Some(level)).map_or(1.0, |l| l.clock_mhz * 1e6)
    }
}

fn sensitivity(
    inp: &CostInputs,
    counts: &[SampleCounts],
    base: &AssumptionSet,
) -> Result<Vec<SensitivityRow>, CostError> {
    let ratio = |chip: &ChipConfig, set: &AssumptionSet| evaluate(chip, counts, set).map(|r| r.energy_ratio);
    let mut rows = Vec::new();
    let scaled = |f: f64| {
        let mut c = inp.chip.clone();
        for l in &mut c.levels {
            l.energy_pj_per_cycle *= f;
        }
        c
    };
    rows.push(SensitivityRow {
        factor: "PE energy per cycle".into(),
        ratio_low: ratio(&scaled(2.0), base)?,
        ratio_high: ratio(&scaled(0.5), base)?,
        settings: "×2 (low ratio) / ×0.5 (high)".into(),
    });
    let idle = |f: f64| {
        let mut c = inp.chip.clone();
        for l in &mut c.levels {
            l.idle_power_mw *= f;
        }
        c
    };
    rows.push(SensitivityRow {
        factor: "PE idle power".into(),
        ratio_low: ratio(&idle(3.0), base)?,
        ratio_high: ratio(&idle(0.0), base)?,
        settings: "×3 / ×0".into(),
    });
    let floor = AssumptionSet { include_chip_floor: true, ..base.clone() };
    rows.push(SensitivityRow {
        factor: "chip floor power (75 mW)".into(),
        ratio_low: ratio(&inp.chip, &floor)?,
        ratio_high: ratio(&inp.chip, base)?,
        settings: "included / left out".into(),
    });
    let mut pk = inp.chip.clone();
    pk.packet_energy_pj *= 10.0;
    let mut pk0 = inp.chip.clone();
    pk0.packet_energy_pj *= 0.1;
    rows.push(SensitivityRow {
        factor: "packet energy".into(),
        ratio_low: ratio(&pk, base)?,
        ratio_high: ratio(&pk0, base)?,
        settings: "×10 / ×0.1".into(),
    });
    let gpu = |p: PowerBasis| AssumptionSet { gpu_power: p, ..base.clone() };
    rows.push(SensitivityRow {
        factor: "GPU power basis".into(),
        ratio_low: ratio(&inp.chip, &gpu(PowerBasis::IdlePlusUtilization(0.1)))?,
        ratio_high: ratio(&inp.chip, &gpu(PowerBasis::Tdp))?,
        settings: "idle + 10 % / TDP".into(),
    });
    let time = |f: f64| AssumptionSet { gpu_time_per_sample_s: base.gpu_time_per_sample_s * f, ..base.clone() };
    rows.push(SensitivityRow {
        factor: "GPU time per sample".into(),
        ratio_low: ratio(&inp.chip, &time(0.25))?,
        ratio_high: ratio(&inp.chip, &time(4.0))?,
        settings: "×0.25 / ×4".into(),
    });
    let mut acc = inp.chip.clone();
    acc.accelerators.exp_accelerator = true;
    acc.accelerators.mac_array = true;
    let with_acc = ratio(&acc, base)?;
    let plain = ratio(&inp.chip, base)?;
    rows.push(SensitivityRow {
        factor: "MAC array + exp accelerator".into(),
        ratio_low: plain.min(with_acc),
        ratio_high: plain.max(with_acc),
        settings: "off / on".into(),
    });
    let mut levels: Vec<f64> = Vec::new();
    for l in &inp.chip.levels {
        levels.push(ratio(&inp.chip, &AssumptionSet { level: l.name.clone(), ..base.clone() })?);
    }
    rows.push(SensitivityRow {
        factor: "clock/voltage level".into(),
        ratio_low: levels.iter().copied().fold(f64::INFINITY, f64::min),
        ratio_high: levels.iter().copied().fold(0.0, f64::max),
        settings: format!("over {}", level_names(&inp.chip)),
    });
    rows.sort_by(|a, b| (b.ratio_high - b.ratio_low).total_cmp(&(a.ratio_high - a.ratio_low)));
    Ok(rows)
}

fn what_ifs(inp: &CostInputs, base: &AssumptionSet, base_step_s: f64) -> Result<Vec<WhatIfRow>, CostError> {
    let mut rows = Vec::new();
    let mut run = |change: String, chip: ChipConfig, pes: usize, level: String| -> Result<(), CostError> {
        let part = Partition::balanced(inp.cfg.n_rec, pes);
        let (maps, error) = match memory_map(&inp.cfg, &chip, &part) {
            Ok(m) => (m, None),
            Err(e) => {
                let maps: Vec<PeMemory> =
                    part.posts.iter().map(|r| super::spinnaker2::memory::pe_memory(&inp.cfg, &chip, r.len())).collect();
                (maps, Some(e.to_string()))
            }
        };
        let counts = count(&inp.cfg, &chip, &part, inp.params, inp.samples);
        let cost = chip_energy(&chip, &level, &counts, base.include_chip_floor)?;
        let step_s = cost.cycles_per_step_max / chip::clock(inp, &level).max(1.0);
        rows.push(WhatIfRow {
            change,
            error,
            memory_bytes_max_pe: maps.iter().map(PeMemory::total).max().unwrap_or(0),
            memory_bytes_total: maps.iter().map(PeMemory::data).sum(),
            cycles_per_step_max: cost.cycles_per_step_max,
            speedup: base_step_s / step_s,
            real_time: cost.real_time,
            energy_j_per_sample_chip: cost.energy_j,
        });
        Ok(())
    };
    let lvl = base.level.clone();
    run(format!("baseline ({} PEs, {lvl})", inp.pes), inp.chip.clone(), inp.pes, lvl.clone())?;
    for pes in [6, 24, 48] {
        if pes != inp.pes && pes <= inp.cfg.n_rec {
            run(format!("{pes} PEs"), inp.chip.clone(), pes, lvl.clone())?;
        }
    }
    for l in &inp.chip.levels {
        if l.name != lvl {
            run(format!("level {}", l.name), inp.chip.clone(), inp.pes, l.name.clone())?;
        }
    }
    let mut c = inp.chip.clone();
    c.accelerators.mac_array = true;
    run("MAC array for input/recurrent MACs".into(), c, inp.pes, lvl.clone())?;
    let mut c = inp.chip.clone();
    c.accelerators.exp_accelerator = true;
    run("exp accelerator for the surrogate".into(), c, inp.pes, lvl.clone())?;
    let mut c = inp.chip.clone();
    c.eps_v_per_presynaptic = false;
    run("ε^v per synapse instead of per presynaptic source".into(), c, inp.pes, lvl.clone())?;
    let mut c = inp.chip.clone();
    c.trace_bytes = 2;
    run("f16 traces".into(), c, inp.pes, lvl.clone())?;
    let mut c = inp.chip.clone();
    c.gradient_buffer = false;
    run("no gradient buffer (gradient applied synapse by synapse)".into(), c, inp.pes, lvl.clone())?;
    let mut c = inp.chip.clone();
    c.sram_bytes_per_pe *= 2;
    run("SRAM ×2 per PE, 6 PEs".into(), c, 6.min(inp.cfg.n_rec), lvl)?;
    Ok(rows)
}
