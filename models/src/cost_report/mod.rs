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

mod bounds;
mod sets;
mod what_ifs;

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

pub(crate) fn level_names(chip: &ChipConfig) -> String {
    chip.levels.iter().map(|l| l.name.clone()).collect::<Vec<_>>().join(", ")
}

pub(crate) fn level<'a>(chip: &'a ChipConfig, name: &str) -> Result<&'a PerfLevel, CostError> {
    chip.level(Some(name)).ok_or_else(|| CostError::Level(name.into(), level_names(chip)))
}
pub(crate) struct Analysis<'a> {
    pub(crate) inp: &'a CostInputs,
    pub(crate) work: Workload,
}

impl Analysis<'_> {
    pub(crate) fn chip_cost(&self, chip: &ChipConfig, lvl: &str, code: TraceCode) -> Result<SampleCost, CostError> {
        Ok(sample_cost(chip, level(chip, lvl)?, &self.work, code))
    }

    /// The ratio of `set` with the constants at `k`.
    pub(crate) fn evaluate(&self, set: &AssumptionSet, k: &Knobs) -> Result<SetResult, CostError> {
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

    pub(crate) fn ratio(&self, set: &AssumptionSet, k: &Knobs) -> Result<f64, CostError> {
        self.evaluate(set, k).map(|r| r.energy_ratio)
    }
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

use bounds::{Knobs, NOMINAL, bounds, merge};
use sets::assumption_sets;
use what_ifs::what_ifs;
