//! The SpiNNaker 2 vs GPU analysis behind `snnbench cost` and `reproduce`'s cost stage. It takes the network's
//! shape, the chip, a counted workload ([`Activity`]: a training run's spikes, or a model of them) and the
//! assumptions, and nothing else — no weights, no samples. It gives memory per PE, cycles per phase, the real-time
//! verdict, and the GPU/chip energy ratio per training sample at one stated boundary on both sides:
//!
//! - **total**: everything the chip draws (PEs active and idle, plus its floor power with all PEs off) against the
//!   GPU's board power (TDP, a modelled or a measured board power);
//! - **dynamic**: the PEs' active energy (plus packets and accelerators) against the GPU's energy above idle.
//!
//! The headline (`energy_ratio`) is the total boundary; when the GPU side was measured (time and NVML energy) it
//! uses the measurement, otherwise it says which assumed figure it took. Every uncertain constant has a low and a
//! high value with its source ([`Bound`]); the band is the range over every combination of them (so it contains
//! each one-factor sensitivity). Nothing is tuned to a target.

use serde::Serialize;

use crate::{
    NetConfig,
    gpu_cost::{GpuPreset, PowerBasis, gpu_preset},
    spinnaker2::{
        Activity, ChipConfig, Partition, PeMemory, PerfLevel, SramOverflow, TraceCode, Workload, memory_map,
        model::{SampleCost, sample_cost},
        workload::ActivityError,
    },
};

/// The paper's training memory, read as 680 KiB (the layout that explains it is 678.8 KiB).
pub const PAPER_MEMORY_BYTES: usize = 680 * 1024;

/// The paper's 680 KB read as decimal kilobytes (the other reading).
pub const PAPER_MEMORY_BYTES_DECIMAL: usize = 680_000;

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
    /// The workload does not belong to the network.
    #[error(transparent)]
    Activity(#[from] ActivityError),
    /// A named level does not exist on the chip.
    #[error("no performance level {0:?} on this chip; it has {1}")]
    Level(String, String),
    /// Inconsistent inputs.
    #[error("{0}")]
    Input(String),
}

/// What a ratio counts on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// Chip: PEs active + idle + the chip's floor power; GPU: board power (idle included).
    Total,
    /// Chip: PEs' active energy + packets + accelerators; GPU: energy above idle.
    Dynamic,
}

impl Boundary {
    /// Name in CSVs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Total => "total",
            Boundary::Dynamic => "dynamic",
        }
    }
}

/// A GPU run that was measured: time per training sample, and NVML energy when the counter was read.
#[derive(Clone, Debug, Serialize)]
pub struct MeasuredGpu {
    /// The adapter's name.
    pub name: String,
    /// Seconds per training sample (measured).
    pub time_per_sample_s: f64,
    /// Board energy per sample, idle included (NVML), J.
    pub energy_j_per_sample_total: Option<f64>,
    /// Energy per sample above idle (NVML minus idle power × time), J.
    pub energy_j_per_sample_above_idle: Option<f64>,
    /// Idle power measured before the window, W.
    pub idle_w: Option<f64>,
    /// How it was measured (window, counter).
    pub note: String,
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
    /// How the trace loop is coded.
    pub trace_code: TraceCode,
    /// What both sides count.
    pub boundary: Boundary,
    /// The chip's floor power is counted (the total boundary).
    pub include_chip_floor: bool,
    /// GPU (preset name or the measured adapter).
    pub gpu: String,
    /// GPU board power (for the dynamic boundary, minus `gpu_idle_w`).
    pub gpu_power: PowerBasis,
    /// GPU idle power, W.
    pub gpu_idle_w: f64,
    /// GPU time per training sample, s.
    pub gpu_time_per_sample_s: f64,
    /// Where the GPU side's figures come from: "measured …", "literature …" or "assumed …".
    pub gpu_source: String,
}

/// The ratio under one set.
#[derive(Clone, Debug, Serialize)]
pub struct SetResult {
    /// The set.
    pub set: AssumptionSet,
    /// Chip energy per sample at the set's boundary, J.
    pub energy_j_per_sample_chip: f64,
    /// GPU energy per sample at the set's boundary, J.
    pub energy_j_per_sample_gpu: f64,
    /// GPU / chip.
    pub energy_ratio: f64,
    /// The GPU time per sample at which this set would give the paper's 12× (all else equal), s.
    pub gpu_time_per_sample_for_12x_s: f64,
}

/// An uncertain constant: its low and high value with their source.
#[derive(Clone, Debug, Serialize)]
pub struct Bound {
    /// What it is.
    pub constant: String,
    /// The value the model uses.
    pub value: String,
    /// Low setting.
    pub low: String,
    /// High setting.
    pub high: String,
    /// Why these values (source and trust tag).
    pub source: String,
}

/// One row of the sensitivity table: the headline ratio when one uncertain constant moves to its low and high
/// value (the rows are the [`Bound`]s, in the same order before sorting).
#[derive(Clone, Debug, Serialize)]
pub struct SensitivityRow {
    /// What moves.
    pub factor: String,
    /// Ratio at the setting that lowers it.
    pub ratio_low: f64,
    /// Ratio at the setting that raises it.
    pub ratio_high: f64,
    /// The two settings.
    pub settings: String,
    /// The source of the two settings.
    pub source: String,
}

/// One level of the trace loop's code, priced.
#[derive(Clone, Debug, Serialize)]
pub struct TraceCodeRow {
    /// The level.
    pub trace_code: TraceCode,
    /// Instructions per synapse-step.
    pub instructions_per_synapse_step: f64,
    /// Cycles per synapse-step.
    pub cycles_per_synapse_step: f64,
    /// Slowest step, cycles.
    pub cycles_per_step_max: f64,
    /// Slowest step / the 1 ms tick.
    pub share_of_tick: f64,
    /// Every step within its tick.
    pub real_time: bool,
    /// Chip energy per sample, dynamic boundary, J.
    pub energy_j_per_sample_dynamic: f64,
    /// Chip energy per sample, total boundary, J.
    pub energy_j_per_sample_total: f64,
    /// The headline ratio with this level (total boundary).
    pub energy_ratio: f64,
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
    /// Chip energy per sample at the total boundary, J.
    pub energy_j_per_sample_chip: f64,
    /// Chip energy per sample at the dynamic boundary, J.
    pub energy_j_per_sample_chip_dynamic: f64,
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
    /// Samples behind the workload.
    pub samples_counted: u64,
    /// Where the workload came from (counted from a run or an emulation, or derived from the shape).
    pub workload_source: String,
    /// Mean spikes per sample in those.
    pub spikes_per_sample: f64,
    /// Per-PE maps.
    pub memory_map: Vec<PeMemory>,
    /// Data bytes per PE (reserve excluded).
    pub memory_bytes_per_pe: Vec<usize>,
    /// Data bytes of all PEs.
    pub memory_bytes_total: usize,
    /// Learning state: weights, Adam, gradient buffer, per-synapse traces and each PE's per-source ε^v.
    pub memory_bytes_learning_state: usize,
    /// The paper's figure as read (680 KiB).
    pub memory_bytes_paper: usize,
    /// memory_bytes_total / paper − 1.
    pub memory_vs_paper: f64,
    /// Synaptic state: weights, Adam, gradient buffer and per-synapse traces only (the learning state without the
    /// per-PE ε^v copies; the candidate layout for the paper's figure).
    pub memory_bytes_synaptic_state: usize,
    /// The chip's cost at the headline's level and trace code.
    pub chip_cost: SampleCost,
    /// Critical-path cycles per step.
    pub cycles_per_step_max: f64,
    /// Real-time verdict.
    pub real_time: bool,
    /// The headline's boundary ("total").
    pub boundary: Boundary,
    /// The named set behind the headline.
    pub headline_set: String,
    /// The headline's GPU side in words: measured (and how) or assumed (which figure).
    pub headline_gpu: String,
    /// The headline's GPU side was measured on this run's GPU.
    pub gpu_measured: bool,
    /// Chip energy per sample, headline (total boundary), J.
    pub energy_j_per_sample_chip: f64,
    /// GPU energy per sample, headline (total boundary), J.
    pub energy_j_per_sample_gpu: f64,
    /// GPU / chip energy per training sample: the headline, total boundary on both sides.
    pub energy_ratio: f64,
    /// [min, max] of the headline ratio over every combination of the bounds' low and high values.
    pub energy_ratio_band: [f64; 2],
    /// The same comparison at the dynamic boundary.
    pub energy_ratio_dynamic: f64,
    /// Its band.
    pub energy_ratio_band_dynamic: [f64; 2],
    /// Chip energy per GSC epoch (55,948 samples), headline, J.
    pub energy_j_per_epoch_chip: f64,
    /// GPU energy per GSC epoch, headline, J.
    pub energy_j_per_epoch_gpu: f64,
    /// Every named set.
    pub assumption_sets: Vec<SetResult>,
    /// The uncertain constants.
    pub bounds: Vec<Bound>,
    /// One bound at a time around the headline, widest first.
    pub sensitivity: Vec<SensitivityRow>,
    /// The three codes of the trace loop.
    pub trace_codes: Vec<TraceCodeRow>,
    /// The paper's what-ifs.
    pub what_ifs: Vec<WhatIfRow>,
}

/// What the analysis needs: the shape, the chip, the workload and the assumptions.
#[derive(Clone, Debug)]
pub struct CostInputs {
    /// Network shape (and constants).
    pub cfg: NetConfig,
    /// Chip.
    pub chip: ChipConfig,
    /// PEs.
    pub pes: usize,
    /// Level (the chip's default when `None`).
    pub level: Option<String>,
    /// How the trace loop is coded.
    pub trace_code: TraceCode,
    /// GPU preset of the assumed GPU side.
    pub gpu: &'static GpuPreset,
    /// Assumed GPU board power.
    pub gpu_power: PowerBasis,
    /// Assumed GPU time per training sample, s.
    pub gpu_time_per_sample_s: f64,
    /// A measured GPU side, which the headline then uses.
    pub measured_gpu: Option<MeasuredGpu>,
    /// The counted (or derived) activity.
    pub activity: Activity,
}

fn level_names(chip: &ChipConfig) -> String {
    chip.levels.iter().map(|l| l.name.clone()).collect::<Vec<_>>().join(", ")
}

fn level<'a>(chip: &'a ChipConfig, name: &str) -> Result<&'a PerfLevel, CostError> {
    chip.level(Some(name)).ok_or_else(|| CostError::Level(name.into(), level_names(chip)))
}

/// The uncertain constants' settings (1 / the model's value unless stated).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Knobs {
    energy_per_cycle: f64,
    /// `None`: the level's idle power; `Some(f)`: f × the level's full active power (0 = perfect gating).
    idle_of_active: Option<f64>,
    trace_code: Option<TraceCode>,
    packet_energy: f64,
    chip_floor: f64,
    /// GPU board power: `None` the set's; `Some(u)`: idle + u·(TDP − idle) of the set's preset.
    gpu_utilisation: Option<f64>,
    gpu_time: f64,
    gpu_measured_energy: f64,
}

const NOMINAL: Knobs = Knobs {
    energy_per_cycle: 1.0,
    idle_of_active: None,
    trace_code: None,
    packet_energy: 1.0,
    chip_floor: 1.0,
    gpu_utilisation: None,
    gpu_time: 1.0,
    gpu_measured_energy: 1.0,
};

impl Knobs {
    fn chip(&self, chip: &ChipConfig) -> ChipConfig {
        let mut c = chip.clone();
        for l in &mut c.levels {
            l.energy_pj_per_cycle *= self.energy_per_cycle;
            if let Some(f) = self.idle_of_active {
                // pJ per cycle × MHz = µW.
                l.idle_power_mw = f * l.energy_pj_per_cycle * l.clock_mhz * 1e-3;
            }
        }
        c.packet_energy_pj *= self.packet_energy;
        c.chip_floor_mw *= self.chip_floor;
        c
    }
}

struct Analysis<'a> {
    inp: &'a CostInputs,
    work: Workload,
}

impl Analysis<'_> {
    fn chip_cost(&self, chip: &ChipConfig, lvl: &str, code: TraceCode) -> Result<SampleCost, CostError> {
        Ok(sample_cost(chip, level(chip, lvl)?, &self.work, code))
    }

    /// The ratio of `set` with the constants at `k`.
    fn evaluate(&self, set: &AssumptionSet, k: &Knobs) -> Result<SetResult, CostError> {
        let chip = k.chip(&self.inp.chip);
        let c = self.chip_cost(&chip, &set.level, k.trace_code.unwrap_or(set.trace_code))?;
        let chip_j = match set.boundary {
            Boundary::Total => c.energy_total_j,
            Boundary::Dynamic => c.energy_dynamic_j,
        };
        let preset = gpu_preset(&set.gpu).unwrap_or(self.inp.gpu);
        let board_w = match k.gpu_utilisation {
            Some(u) => set.gpu_idle_w + u * (preset.tdp_w - set.gpu_idle_w),
            None => set.gpu_power.power_w(preset),
        } * k.gpu_measured_energy;
        let power_w = match set.boundary {
            Boundary::Total => board_w,
            Boundary::Dynamic => (board_w - set.gpu_idle_w).max(0.0),
        };
        let time = set.gpu_time_per_sample_s * k.gpu_time;
        let gpu_j = power_w * time;
        Ok(SetResult {
            set: set.clone(),
            energy_j_per_sample_chip: chip_j,
            energy_j_per_sample_gpu: gpu_j,
            energy_ratio: gpu_j / chip_j,
            gpu_time_per_sample_for_12x_s: PAPER_RATIO * chip_j / power_w,
        })
    }

    fn ratio(&self, set: &AssumptionSet, k: &Knobs) -> Result<f64, CostError> {
        self.evaluate(set, k).map(|r| r.energy_ratio)
    }
}

/// The named sets: the headline (measured GPU when there is one, else the assumed one) at both boundaries, the
/// assumed GPU side when a measurement leads, and the sets that show how 12× can arise.
fn assumption_sets(inp: &CostInputs) -> Vec<AssumptionSet> {
    let chip = &inp.chip;
    let top = chip.levels.iter().max_by(|a, b| a.voltage_v.total_cmp(&b.voltage_v));
    let mid = chip.levels.iter().find(|l| (l.voltage_v - 0.8).abs() < 0.05).or(top);
    let low = chip.levels.iter().min_by(|a, b| a.voltage_v.total_cmp(&b.voltage_v));
    let name = |l: Option<&PerfLevel>| l.map_or(chip.default_level.clone(), |l| l.name.clone());
    let lvl = inp.level.clone().unwrap_or(chip.default_level.clone());
    let both = |s: AssumptionSet| {
        let d = AssumptionSet {
            name: format!("{}-dynamic", s.name),
            description: format!("{} — dynamic boundary", s.description),
            boundary: Boundary::Dynamic,
            include_chip_floor: false,
            ..s.clone()
        };
        [s, d]
    };
    let v100 = |power: PowerBasis, time: f64, source: &str| AssumptionSet {
        name: String::new(),
        description: String::new(),
        level: lvl.clone(),
        trace_code: inp.trace_code,
        boundary: Boundary::Total,
        include_chip_floor: true,
        gpu: "v100-sxm2".into(),
        gpu_power: power,
        gpu_idle_w: gpu_preset("v100-sxm2").map_or(48.0, |g| g.idle_w),
        gpu_time_per_sample_s: time,
        gpu_source: source.into(),
    };
    let mut sets = Vec::new();
    if let Some(m) = &inp.measured_gpu {
        let (board, idle, src) = match (m.energy_j_per_sample_total, m.idle_w) {
            (Some(e), Some(i)) => (
                PowerBasis::Watts(e / m.time_per_sample_s),
                i,
                format!("measured: time and NVML energy on {} ({})", m.name, m.note),
            ),
            _ => (
                PowerBasis::Tdp,
                inp.gpu.idle_w,
                format!(
                    "measured time on {}; power assumed: the {} preset's TDP {} W and idle {} W",
                    m.name, inp.gpu.name, inp.gpu.tdp_w, inp.gpu.idle_w
                ),
            ),
        };
        sets.extend(both(AssumptionSet {
            name: "measured".into(),
            description: format!("this run's GPU ({}) vs the chip at {lvl}", m.name),
            level: lvl.clone(),
            trace_code: inp.trace_code,
            boundary: Boundary::Total,
            include_chip_floor: true,
            gpu: m.name.clone(),
            gpu_power: board,
            gpu_idle_w: idle,
            gpu_time_per_sample_s: m.time_per_sample_s,
            gpu_source: src,
        }));
    }
    sets.extend(both(AssumptionSet {
        name: "assumed".into(),
        description: format!(
            "the chip at {lvl} vs {} at {}, {} ms/sample",
            inp.gpu.name,
            inp.gpu_power.describe(),
            inp.gpu_time_per_sample_s * 1e3
        ),
        level: lvl.clone(),
        trace_code: inp.trace_code,
        boundary: Boundary::Total,
        include_chip_floor: true,
        gpu: inp.gpu.name.into(),
        gpu_power: inp.gpu_power,
        gpu_idle_w: inp.gpu.idle_w,
        gpu_time_per_sample_s: inp.gpu_time_per_sample_s,
        gpu_source: format!(
            "assumed: {} at {} = {:.0} W [{}] × {} ms/sample [a guess for batch ~100, not a measurement]",
            inp.gpu.name,
            inp.gpu_power.describe(),
            inp.gpu_power.power_w(inp.gpu),
            if inp.gpu_power == PowerBasis::Tdp { "S, an upper bound" } else { "U" },
            inp.gpu_time_per_sample_s * 1e3
        ),
    }));
    sets.extend(both(AssumptionSet {
        name: "A".into(),
        description: "the chip at ~0.8 V vs a V100 at TDP and 0.4 ms/sample (batch ~100)".into(),
        level: name(mid),
        ..v100(PowerBasis::Tdp, 0.4e-3, "literature: V100 TDP 300 W [S]; assumed: 0.4 ms/sample")
    }));
    sets.push(AssumptionSet {
        name: "B".into(),
        description: "the chip at its lowest voltage vs a V100-class GPU drawing 60 W, 0.4 ms/sample".into(),
        level: name(low),
        ..v100(
            PowerBasis::Watts(60.0),
            0.4e-3,
            "literature: 60 W is within the 41–92 W a Titan V (V100's chip) drew for a 256-neuron ALIF network \
             (GeNN e-prop paper) — not a V100 measurement; assumed: 0.4 ms/sample",
        )
    });
    sets.push(AssumptionSet {
        name: "C".into(),
        description: "12 PEs + the chip floor (≈ 0.1 W) at ~0.8 V vs an online (batch 1) V100-class GPU at 45 W \
                      and 20 ms/sample"
            .into(),
        level: name(mid),
        ..v100(
            PowerBasis::Watts(45.0),
            20e-3,
            "literature: 45 W is at the low end of the Titan V's 41–92 W (GeNN e-prop paper); assumed: 20 ms/sample \
             online",
        )
    });
    sets
}

/// The uncertain constants, their bounds and sources, and the knob settings (low, high) for each.
fn bounds(inp: &CostInputs, measured: bool) -> Vec<(Bound, Knobs, Knobs)> {
    let b = |constant: &str, value: String, low: &str, high: &str, source: &str| Bound {
        constant: constant.into(),
        value,
        low: low.into(),
        high: high.into(),
        source: source.into(),
    };
    let lvl = inp.chip.level(inp.level.as_deref());
    let mut v = vec![
        (
            b(
                "PE energy per cycle",
                lvl.map_or(String::new(), |l| format!("{} pJ at {}", l.energy_pj_per_cycle, l.name)),
                "×0.5",
                "×2",
                "[U] one CoreMark power point [S] scaled by V² [D]; an FP- and SRAM-heavy loop may differ either way",
            ),
            Knobs { energy_per_cycle: 0.5, ..NOMINAL },
            Knobs { energy_per_cycle: 2.0, ..NOMINAL },
        ),
        (
            b(
                "PE idle power",
                lvl.map_or(String::new(), |l| format!("{} mW at {}", l.idle_power_mw, l.name)),
                "0 (ideal gating)",
                "the PE's full active power (no gating)",
                "[U] 20 % of active power taken; [V] Höppner 2019: DVFS cuts PE power by 75 %, baseline by 80 %",
            ),
            Knobs { idle_of_active: Some(0.0), ..NOMINAL },
            Knobs { idle_of_active: Some(1.0), ..NOMINAL },
        ),
        (
            b(
                "trace cycles per synapse-step",
                inp.trace_code.name().into(),
                "hand-scheduled",
                "authors-three-pass",
                "[D] instruction recipes from the emulator's operations with TRM timings; the three-pass one [U]",
            ),
            Knobs { trace_code: Some(TraceCode::HandScheduled), ..NOMINAL },
            Knobs { trace_code: Some(TraceCode::AuthorsThreePass), ..NOMINAL },
        ),
        (
            b(
                "packet energy",
                format!("{} pJ", inp.chip.packet_energy_pj),
                "×0.1",
                "×10",
                "[U] a guess (no published per-packet energy)",
            ),
            Knobs { packet_energy: 0.1, ..NOMINAL },
            Knobs { packet_energy: 10.0, ..NOMINAL },
        ),
        (
            b(
                "chip floor power (all PEs off)",
                format!("{} mW", inp.chip.chip_floor_mw),
                "×0.5",
                "×2",
                "[S] 75 mW from a summary of Scholze et al. 2026; ×0.5…×2 [U]; counts at the total boundary only",
            ),
            Knobs { chip_floor: 0.5, ..NOMINAL },
            Knobs { chip_floor: 2.0, ..NOMINAL },
        ),
    ];
    if measured {
        v.push((
            b(
                "measured GPU energy",
                "NVML".into(),
                "×0.95",
                "×1.05",
                "[U] ±5 % for NVML's energy counter over a window of seconds",
            ),
            Knobs { gpu_measured_energy: 0.95, ..NOMINAL },
            Knobs { gpu_measured_energy: 1.05, ..NOMINAL },
        ));
    } else {
        v.push((
            b(
                "GPU board power",
                inp.gpu_power.describe(),
                "idle + 10 % of (TDP − idle)",
                "TDP",
                "[V] a Titan V drew 41–92 W over a 35–41 W floor for small networks (GeNN e-prop paper); TDP [S] is \
                 an upper bound",
            ),
            Knobs { gpu_utilisation: Some(0.1), ..NOMINAL },
            Knobs { gpu_utilisation: Some(1.0), ..NOMINAL },
        ));
        v.push((
            b(
                "GPU time per sample",
                format!("{} ms", inp.gpu_time_per_sample_s * 1e3),
                "×0.25",
                "×4",
                "[U] a guess around the assumed time; measured on a GPU it replaces this bound",
            ),
            Knobs { gpu_time: 0.25, ..NOMINAL },
            Knobs { gpu_time: 4.0, ..NOMINAL },
        ));
    }
    v
}

/// The full analysis.
pub fn cost_report(inp: &CostInputs) -> Result<CostReport, CostError> {
    let cfg = &inp.cfg;
    cfg.validate().map_err(|e| CostError::Input(e.to_string()))?;
    if inp.pes == 0 || inp.pes > cfg.n_rec {
        return Err(CostError::Input(format!(
            "--pes {} must be between 1 and the {} neurons to place",
            inp.pes, cfg.n_rec
        )));
    }
    if let Some(m) = &inp.measured_gpu
        && !(m.time_per_sample_s.is_finite() && m.time_per_sample_s > 0.0)
    {
        return Err(CostError::Input(format!(
            "measured GPU time per sample {} s is not positive",
            m.time_per_sample_s
        )));
    }
    inp.activity.check(cfg)?;
    let part = Partition::balanced(cfg.n_rec, inp.pes);
    let maps = memory_map(cfg, &inp.chip, &part)?;
    let a = Analysis { inp, work: inp.activity.workload(&part) };
    let sets = assumption_sets(inp);
    let results: Vec<SetResult> = sets.iter().map(|s| a.evaluate(s, &NOMINAL)).collect::<Result<_, _>>()?;
    // The headline: the first set at each boundary (measured when there is one).
    let head = results.iter().find(|r| r.set.boundary == Boundary::Total).expect("a total-boundary set");
    let head_dyn = results.iter().find(|r| r.set.boundary == Boundary::Dynamic).expect("a dynamic set");
    let measured = inp.measured_gpu.is_some();
    let bounds = bounds(inp, measured);
    let mut sensitivity = Vec::new();
    for (bound, lo, hi) in &bounds {
        let (r_lo, r_hi) = (a.ratio(&head.set, lo)?, a.ratio(&head.set, hi)?);
        sensitivity.push(SensitivityRow {
            factor: bound.constant.clone(),
            ratio_low: r_lo.min(r_hi),
            ratio_high: r_lo.max(r_hi),
            settings: format!("{} / {}", bound.low, bound.high),
            source: bound.source.clone(),
        });
    }
    let band = |set: &AssumptionSet, extra: &[f64]| -> Result<[f64; 2], CostError> {
        let mut b = [f64::INFINITY, 0.0f64];
        let mut see = |r: f64| b = [b[0].min(r), b[1].max(r)];
        extra.iter().copied().for_each(&mut see);
        // Every combination of low and high values (the ratio is monotone in each, so the corners span the box).
        for corner in 0u32..(1 << bounds.len()) {
            let mut k = NOMINAL;
            for (i, (_, lo, hi)) in bounds.iter().enumerate() {
                k = merge(k, if corner & (1 << i) == 0 { lo } else { hi });
            }
            see(a.ratio(set, &k)?);
        }
        Ok(b)
    };
    let sens_values: Vec<f64> =
        sensitivity.iter().flat_map(|s| [s.ratio_low, s.ratio_high]).chain([head.energy_ratio]).collect();
    let energy_ratio_band = band(&head.set, &sens_values)?;
    let energy_ratio_band_dynamic = band(&head_dyn.set, &[head_dyn.energy_ratio])?;
    sensitivity.sort_by(|a, b| (b.ratio_high - b.ratio_low).total_cmp(&(a.ratio_high - a.ratio_low)));
    let lvl = head.set.level.clone();
    let chip_cost = a.chip_cost(&inp.chip, &lvl, inp.trace_code)?;
    let mut trace_codes = Vec::new();
    for code in TraceCode::ALL {
        let c = a.chip_cost(&inp.chip, &lvl, code)?;
        let ins = code.synapse(&inp.chip);
        trace_codes.push(TraceCodeRow {
            trace_code: code,
            instructions_per_synapse_step: ins.instructions(),
            cycles_per_synapse_step: ins.cycles(&inp.chip.cycles),
            cycles_per_step_max: c.cycles_per_step_max,
            share_of_tick: c.cycles_per_step_max / c.cycles_per_tick,
            real_time: c.real_time,
            energy_j_per_sample_dynamic: c.energy_dynamic_j,
            energy_j_per_sample_total: c.energy_total_j,
            energy_ratio: a.ratio(&head.set, &Knobs { trace_code: Some(code), ..NOMINAL })?,
        });
    }
    let what_ifs = what_ifs(inp, &lvl, chip_cost.cycles_per_step_max / level(&inp.chip, &lvl)?.clock_mhz)?;
    let per_pe: Vec<usize> = maps.iter().map(PeMemory::data).collect();
    let total: usize = per_pe.iter().sum();
    let headline_gpu = head.set.gpu_source.clone();
    Ok(CostReport {
        n_in: cfg.n_in,
        n_rec: cfg.n_rec,
        n_out: cfg.n_out,
        t_steps: inp.activity.t_steps,
        pes: inp.pes,
        chip: inp.chip.name.clone(),
        samples_counted: inp.activity.samples,
        workload_source: inp.activity.source.clone(),
        spikes_per_sample: inp.activity.spikes_per_sample(),
        memory_bytes_per_pe: per_pe,
        memory_bytes_total: total,
        memory_bytes_learning_state: maps.iter().map(PeMemory::learning_state).sum(),
        memory_bytes_paper: PAPER_MEMORY_BYTES,
        memory_vs_paper: total as f64 / PAPER_MEMORY_BYTES as f64 - 1.0,
        memory_bytes_synaptic_state: maps.iter().map(PeMemory::synaptic_state).sum(),
        memory_map: maps,
        cycles_per_step_max: chip_cost.cycles_per_step_max,
        real_time: chip_cost.real_time,
        boundary: Boundary::Total,
        headline_set: head.set.name.clone(),
        headline_gpu,
        gpu_measured: measured,
        energy_j_per_sample_chip: head.energy_j_per_sample_chip,
        energy_j_per_sample_gpu: head.energy_j_per_sample_gpu,
        energy_ratio: head.energy_ratio,
        energy_ratio_band,
        energy_ratio_dynamic: head_dyn.energy_ratio,
        energy_ratio_band_dynamic,
        energy_j_per_epoch_chip: head.energy_j_per_sample_chip * GSC_TRAIN_SAMPLES as f64,
        energy_j_per_epoch_gpu: head.energy_j_per_sample_gpu * GSC_TRAIN_SAMPLES as f64,
        chip_cost,
        assumption_sets: results,
        bounds: bounds.into_iter().map(|b| b.0).collect(),
        sensitivity,
        trace_codes,
        what_ifs,
    })
}

/// `k` with the settings of `b` that differ from nominal.
fn merge(mut k: Knobs, b: &Knobs) -> Knobs {
    if b.energy_per_cycle != 1.0 {
        k.energy_per_cycle = b.energy_per_cycle;
    }
    if b.idle_of_active.is_some() {
        k.idle_of_active = b.idle_of_active;
    }
    if b.trace_code.is_some() {
        k.trace_code = b.trace_code;
    }
    if b.packet_energy != 1.0 {
        k.packet_energy = b.packet_energy;
    }
    if b.chip_floor != 1.0 {
        k.chip_floor = b.chip_floor;
    }
    if b.gpu_utilisation.is_some() {
        k.gpu_utilisation = b.gpu_utilisation;
    }
    if b.gpu_time != 1.0 {
        k.gpu_time = b.gpu_time;
    }
    if b.gpu_measured_energy != 1.0 {
        k.gpu_measured_energy = b.gpu_measured_energy;
    }
    k
}

/// The paper's what-ifs (each priced on the same activity, re-split where the PE count changes). `base_step` is
/// the baseline's slowest step in µs (cycles / MHz).
fn what_ifs(inp: &CostInputs, lvl: &str, base_step: f64) -> Result<Vec<WhatIfRow>, CostError> {
    let mut rows = Vec::new();
    let mut run = |change: String, chip: ChipConfig, pes: usize, lvl: String| -> Result<(), CostError> {
        let part = Partition::balanced(inp.cfg.n_rec, pes);
        let (maps, error) = match memory_map(&inp.cfg, &chip, &part) {
            Ok(m) => (m, None),
            Err(e) => {
                let maps: Vec<PeMemory> =
                    part.posts.iter().map(|r| crate::spinnaker2::memory::pe_memory(&inp.cfg, &chip, r.len())).collect();
                (maps, Some(e.to_string()))
            }
        };
        let l = level(&chip, &lvl)?;
        let cost = sample_cost(&chip, l, &inp.activity.workload(&part), inp.trace_code);
        rows.push(WhatIfRow {
            change,
            error,
            memory_bytes_max_pe: maps.iter().map(PeMemory::total).max().unwrap_or(0),
            memory_bytes_total: maps.iter().map(PeMemory::data).sum(),
            cycles_per_step_max: cost.cycles_per_step_max,
            speedup: base_step / (cost.cycles_per_step_max / l.clock_mhz),
            real_time: cost.real_time,
            energy_j_per_sample_chip: cost.energy_total_j,
            energy_j_per_sample_chip_dynamic: cost.energy_dynamic_j,
        });
        Ok(())
    };
    let lvl = lvl.to_string();
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
    let variants: [(&str, fn(&mut ChipConfig)); 6] = [
        ("MAC array for input/recurrent MACs", |c| c.accelerators.mac_array = true),
        ("exp accelerator for the surrogate", |c| c.accelerators.exp_accelerator = true),
        ("ε^v per synapse instead of per presynaptic source", |c| c.eps_v_per_presynaptic = false),
        ("f16 traces (with their conversions)", |c| c.trace_bytes = 2),
        ("no gradient buffer (gradient applied synapse by synapse)", |c| c.gradient_buffer = false),
        ("SRAM ×2 per PE, 6 PEs", |c| c.sram_bytes_per_pe *= 2),
    ];
    for (change, f) in variants {
        let mut c = inp.chip.clone();
        f(&mut c);
        let pes = if change.contains("6 PEs") { 6.min(inp.cfg.n_rec) } else { inp.pes };
        run(change.into(), c, pes, lvl.clone())?;
    }
    Ok(rows)
}
