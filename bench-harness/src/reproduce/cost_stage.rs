//! `reproduce`'s cost stage: prices the chip run's own recorded activity (`chip_activity.json`, written by the chip
//! experiment after every epoch) with `models::cost_report`, against the assumed GPU and — when this run trained on
//! a real GPU — against the GPU's measured time and NVML energy (`gpu_energy.csv`), which then lead. Reads only the
//! run folder and its config, so `snnbench cost --run DIR` can price a finished run again.

use std::path::Path;

use anyhow::{Result, bail};
use models::{
    cost_report::{CostInputs, CostReport, MeasuredGpu, cost_report},
    gpu_cost::PowerBasis,
    spinnaker2::{Activity, ChipConfig, TraceCode},
};

use super::ReproduceConfig;
use super::activity::{ACTIVITY_FILE, read_activity};
use super::experiment::Experiment;
use serde::{Deserialize, Serialize};

use crate::results::table::Table;

/// The GPU side this run measured: BPTT's time per sample and NVML energy from `gpu_energy.csv` when the counter was
/// read, else BPTT's training time from its CSV when the adapter is a real GPU; `None` on a CPU adapter.
fn measured_gpu(out: &Path, adapter_is_cpu: bool) -> Result<Option<MeasuredGpu>> {
    if adapter_is_cpu {
        return Ok(None);
    }
    let energy = out.join("gpu_energy.csv");
    if energy.exists() {
        let t = Table::read_csv(&energy)?.filter("experiment", "gpu_bptt")?;
        let f = |c: &str| t.f64s(c).ok().and_then(|v| v.first().copied().flatten());
        if let (Some(n), Some(secs), Some(total), Some(idle)) =
            (f("samples"), f("seconds"), f("energy_j_total"), f("idle_w"))
            && n > 0.0
        {
            let adapter = t.strs("adapter")?.first().cloned().unwrap_or_default();
            return Ok(Some(MeasuredGpu {
                name: adapter,
                time_per_sample_s: secs / n,
                energy_j_per_sample_total: Some(total / n),
                energy_j_per_sample_above_idle: f("energy_j_above_idle").map(|a| a / n),
                idle_w: Some(idle),
                note: format!(
                    "BPTT at batch {}, {n:.0} samples over {secs:.1} s of repeated epochs, idle {idle:.1} W; \
                     gpu_energy.csv",
                    t.strs("batch")?.first().cloned().unwrap_or_default()
                ),
            }));
        }
    }
    let bptt = out.join(Experiment::GpuBptt.csv());
    if !bptt.exists() {
        return Ok(None);
    }
    let t = Table::read_csv(&bptt)?;
    let secs: f64 = t.f64s("wall_time_s")?.iter().flatten().sum();
    let samples: f64 = t.f64s("train_samples")?.iter().flatten().sum();
    if samples <= 0.0 {
        return Ok(None);
    }
    Ok(Some(MeasuredGpu {
        name: t.strs("adapter")?.first().cloned().unwrap_or_default(),
        time_per_sample_s: secs / samples,
        energy_j_per_sample_total: None,
        energy_j_per_sample_above_idle: None,
        idle_w: None,
        note: "BPTT training wall time (training_gpu_bptt.csv); no NVML energy".into(),
    }))
}

/// Prices the run in `out` and writes its cost CSVs. `activity` is the chip run's record (or the fallback).
pub fn run(
    net: &models::NetConfig,
    cost: &super::CostConfig,
    out: &Path,
    adapter_is_cpu: bool,
    chip: ChipConfig,
    activity: Activity,
) -> Result<()> {
    let gpu = crate::cost::preset(&cost.gpu)?;
    // The assumed GPU time, 0.4 ms per sample, is a guess for the paper's network (25,440 weights) at T = 100 and
    // batch ~100. Another network or T scales it linearly in the work, T/100 × weights/25,440 (BPTT's time is
    // linear in both; as much a guess as the figure): the paper's run keeps 0.4 ms exactly.
    let work =
        activity.t_steps as f64 / 100.0 * net.n_weights() as f64 / models::NetConfig::default().n_weights() as f64;
    let report = cost_report(&CostInputs {
        cfg: net.clone(),
        chip: chip.clone(),
        pes: cost.pes,
        level: None,
        trace_code: TraceCode::default(),
        gpu,
        gpu_power: PowerBasis::Tdp,
        gpu_time_per_sample_s: 0.4e-3 * work,
        measured_gpu: measured_gpu(out, adapter_is_cpu)?,
        activity,
    })?;
    write_csvs(out, &chip, &report)
}

/// `snnbench cost --run DIR`: prices a finished run again (the chip from `chip`, else the defaults) and rebuilds
/// its report.
pub fn recost(dir: &Path, chip: Option<ChipConfig>) -> Result<String> {
    let cfg_path = dir.join("config.toml");
    if !cfg_path.is_file() {
        bail!("{}: no config.toml; is {} a reproduce run folder?", dir.display(), dir.display());
    }
    // A `train --backend chip` run folder: price its chip run again, no report to rebuild.
    if let Ok(tc) = crate::train::TrainConfig::read(&cfg_path)
        && tc.backend == "chip"
    {
        let Some(rec) = read_activity(dir)? else {
            bail!("{}: no {ACTIVITY_FILE}; train the chip run again", dir.display());
        };
        run(&tc.net, &tc.cost, dir, true, chip.unwrap_or_default(), rec.activity)?;
        return Ok(format!("priced the chip run in {} again; cost_*.csv rewritten", dir.display()));
    }
    let cfg = ReproduceConfig::read(&cfg_path, false)?;
    let Some(rec) = read_activity(dir)? else {
        bail!(
            "{}: no {ACTIVITY_FILE}; the chip experiment records it (runs made before it existed need their chip \
             experiment re-run: `snnbench reproduce --config {} --out NEW`)",
            dir.display(),
            cfg_path.display()
        );
    };
    // The adapter a GPU experiment ran on: a CPU adapter (lavapipe) says ", Cpu," in its description.
    let adapter = Table::read_csv(&dir.join(Experiment::GpuBptt.csv()))
        .ok()
        .and_then(|t| t.strs("adapter").ok()?.first().cloned())
        .unwrap_or_default();
    let is_cpu = adapter.is_empty() || adapter.contains(", Cpu,");
    run(&cfg.net, &cfg.cost, dir, is_cpu, chip.unwrap_or_default(), rec.activity)?;
    super::report::rebuild(dir)?;
    Ok(format!(
        "priced {} again from its {ACTIVITY_FILE} ({} epochs); cost_*.csv and report.md rewritten",
        dir.display(),
        rec.epochs
    ))
}

/// A row of `cost_memory_pe.csv`: one PE's SRAM by use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryPeRow {
    pub pe: usize,
    pub neurons: usize,
    pub weights: usize,
    pub adam: usize,
    pub gradient: usize,
    pub traces_per_synapse: usize,
    pub traces_per_presynaptic: usize,
    pub neuron_state: usize,
    pub buffers: usize,
    pub data_bytes: usize,
    pub code_stack_reserve: usize,
    pub sram_bytes: usize,
    pub source: String,
}

/// A row of `cost_phases.csv`: one phase's time per step on the busiest PE.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseRow {
    pub phase: String,
    pub cycles_per_step: f64,
    pub time_per_step_us: f64,
    pub deadline_us: f64,
    pub level: String,
    pub trace_code: String,
    pub real_time: bool,
    pub real_time_margin: f64,
    pub source: String,
}

/// A row of `cost_energy.csv`: one named assumption set at its boundary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnergyRow {
    pub set: String,
    pub description: String,
    pub boundary: String,
    pub chip_level: String,
    pub trace_code: String,
    pub gpu: String,
    pub gpu_power_basis: String,
    pub gpu_idle_w: f64,
    pub gpu_time_per_sample_s: f64,
    pub energy_j_per_sample_chip: f64,
    pub energy_j_per_sample_gpu: f64,
    pub energy_ratio: f64,
    pub gpu_time_per_sample_for_12x_s: f64,
    pub gpu_source: String,
    pub source: String,
}

/// A row of `cost_bounds.csv`: an uncertain constant's value and bounds, with its source.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BoundRow {
    pub constant: String,
    pub value: String,
    pub low: String,
    pub high: String,
    pub source: String,
}

/// A row of `cost_sensitivity.csv`: the energy ratio at one factor's bounds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SensitivityCsvRow {
    pub factor: String,
    pub settings: String,
    pub ratio_low: f64,
    pub ratio_high: f64,
    pub ratio_default: f64,
    pub boundary: String,
    pub source: String,
}

/// A row of `cost_trace_codes.csv`: one level of the trace update's code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceCodeCsvRow {
    pub trace_code: String,
    pub instructions_per_synapse_step: f64,
    pub cycles_per_synapse_step: f64,
    pub cycles_per_step_max: f64,
    pub share_of_tick: f64,
    pub real_time: bool,
    pub energy_j_per_sample_dynamic: f64,
    pub energy_j_per_sample_total: f64,
    pub energy_ratio: f64,
    pub source: String,
}

/// A row of `cost_what_ifs.csv`: one change to the chip or the network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WhatIfCsvRow {
    pub change: String,
    /// "yes", or why the change does not fit.
    pub fits: String,
    pub memory_bytes_max_pe: usize,
    pub memory_bytes_total: usize,
    pub cycles_per_step_max: f64,
    pub speedup: f64,
    pub real_time: bool,
    pub energy_j_per_sample_chip: f64,
    pub energy_j_per_sample_chip_dynamic: f64,
    pub source: String,
}

/// The one row of `cost_totals.csv`: the headline figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TotalsRow {
    pub memory_bytes_total: usize,
    pub memory_bytes_learning_state: usize,
    pub memory_bytes_synaptic_state: usize,
    pub memory_bytes_paper: usize,
    pub memory_note: String,
    pub cycles_per_step_max: f64,
    pub cycles_per_tick: f64,
    pub cycles_end_of_sample: f64,
    pub chip_time_s_per_sample: f64,
    pub real_time: bool,
    pub real_time_margin: f64,
    pub trace_code: String,
    pub boundary: String,
    pub headline_set: String,
    pub headline_gpu: String,
    pub gpu_measured: bool,
    pub energy_j_per_sample_chip: f64,
    pub energy_j_per_sample_gpu: f64,
    pub energy_ratio: f64,
    pub energy_ratio_min: f64,
    pub energy_ratio_max: f64,
    pub energy_ratio_dynamic: f64,
    pub energy_ratio_dynamic_min: f64,
    pub energy_ratio_dynamic_max: f64,
    pub spikes_per_sample: f64,
    pub samples_counted: u64,
    pub workload_source: String,
    pub source: String,
}

fn write_csvs(out: &Path, chip: &ChipConfig, report: &CostReport) -> Result<()> {
    let modelled_chip = "modelled (chip: the chip run's counted activity × instruction recipes × cycle table)";
    let rows: Vec<MemoryPeRow> = report
        .memory_map
        .iter()
        .enumerate()
        .map(|(pe, m)| MemoryPeRow {
            pe,
            neurons: m.neurons,
            weights: m.weights,
            adam: m.adam,
            gradient: m.gradient,
            traces_per_synapse: m.traces_per_synapse,
            traces_per_presynaptic: m.traces_per_presynaptic,
            neuron_state: m.neuron_state,
            buffers: m.buffers,
            data_bytes: m.data(),
            code_stack_reserve: m.code_stack_reserve,
            sram_bytes: chip.sram_bytes_per_pe,
            source: "modelled (memory map of what the emulator allocates)".into(),
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_memory_pe.csv"))?;
    // Time per step by phase on the busiest PE.
    let c = &report.chip_cost;
    let clock_hz = c.cycles_per_tick / 1e-3;
    let rows: Vec<PhaseRow> = c
        .cycles_by_phase_busiest_pe
        .iter()
        .map(|(name, cyc)| {
            let per_step = cyc / c.t_steps as f64;
            PhaseRow {
                phase: name.clone(),
                cycles_per_step: per_step,
                time_per_step_us: per_step / clock_hz * 1e6,
                deadline_us: 1000.0,
                level: c.level.clone(),
                trace_code: c.trace_code.name().into(),
                real_time: c.real_time,
                real_time_margin: c.real_time_margin,
                source: modelled_chip.into(),
            }
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_phases.csv"))?;
    // Energy per sample: every named set at its boundary.
    let rows: Vec<EnergyRow> = report
        .assumption_sets
        .iter()
        .map(|r| {
            let measured = r.set.gpu_source.starts_with("measured");
            EnergyRow {
                set: r.set.name.clone(),
                description: r.set.description.clone(),
                boundary: r.set.boundary.name().into(),
                chip_level: r.set.level.clone(),
                trace_code: r.set.trace_code.name().into(),
                gpu: r.set.gpu.clone(),
                gpu_power_basis: r.set.gpu_power.describe(),
                gpu_idle_w: r.set.gpu_idle_w,
                gpu_time_per_sample_s: r.set.gpu_time_per_sample_s,
                energy_j_per_sample_chip: r.energy_j_per_sample_chip,
                energy_j_per_sample_gpu: r.energy_j_per_sample_gpu,
                energy_ratio: r.energy_ratio,
                gpu_time_per_sample_for_12x_s: r.gpu_time_per_sample_for_12x_s,
                gpu_source: r.set.gpu_source.clone(),
                source: if measured {
                    "measured (GPU); modelled (chip)"
                } else {
                    "modelled (chip); literature/assumed (GPU: see gpu_source)"
                }
                .into(),
            }
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_energy.csv"))?;
    let rows: Vec<BoundRow> = report
        .bounds
        .iter()
        .map(|b| BoundRow {
            constant: b.constant.clone(),
            value: b.value.clone(),
            low: b.low.clone(),
            high: b.high.clone(),
            source: b.source.clone(),
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_bounds.csv"))?;
    let rows: Vec<SensitivityCsvRow> = report
        .sensitivity
        .iter()
        .map(|r| SensitivityCsvRow {
            factor: r.factor.clone(),
            settings: r.settings.clone(),
            ratio_low: r.ratio_low,
            ratio_high: r.ratio_high,
            ratio_default: report.energy_ratio,
            boundary: report.boundary.name().into(),
            source: format!("modelled; bounds: {}", r.source),
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_sensitivity.csv"))?;
    let rows: Vec<TraceCodeCsvRow> = report
        .trace_codes
        .iter()
        .map(|t| TraceCodeCsvRow {
            trace_code: t.trace_code.name().into(),
            instructions_per_synapse_step: t.instructions_per_synapse_step,
            cycles_per_synapse_step: t.cycles_per_synapse_step,
            cycles_per_step_max: t.cycles_per_step_max,
            share_of_tick: t.share_of_tick,
            real_time: t.real_time,
            energy_j_per_sample_dynamic: t.energy_j_per_sample_dynamic,
            energy_j_per_sample_total: t.energy_j_per_sample_total,
            energy_ratio: t.energy_ratio,
            source: modelled_chip.into(),
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_trace_codes.csv"))?;
    let rows: Vec<WhatIfCsvRow> = report
        .what_ifs
        .iter()
        .map(|w| WhatIfCsvRow {
            change: w.change.clone(),
            fits: w.error.clone().unwrap_or_else(|| "yes".into()),
            memory_bytes_max_pe: w.memory_bytes_max_pe,
            memory_bytes_total: w.memory_bytes_total,
            cycles_per_step_max: w.cycles_per_step_max,
            speedup: w.speedup,
            real_time: w.real_time,
            energy_j_per_sample_chip: w.energy_j_per_sample_chip,
            energy_j_per_sample_chip_dynamic: w.energy_j_per_sample_chip_dynamic,
            source: "modelled".into(),
        })
        .collect();
    Table::from_rows(&rows)?.write_csv(&out.join("cost_what_ifs.csv"))?;
    let r = report;
    let totals = TotalsRow {
        memory_bytes_total: r.memory_bytes_total,
        memory_bytes_learning_state: r.memory_bytes_learning_state,
        memory_bytes_synaptic_state: r.memory_bytes_synaptic_state,
        memory_bytes_paper: r.memory_bytes_paper,
        memory_note: crate::cost::memory_note(&r.memory_map),
        cycles_per_step_max: r.cycles_per_step_max,
        cycles_per_tick: c.cycles_per_tick,
        cycles_end_of_sample: c.cycles_end_of_sample,
        chip_time_s_per_sample: c.time_s,
        real_time: r.real_time,
        real_time_margin: c.real_time_margin,
        trace_code: c.trace_code.name().into(),
        boundary: r.boundary.name().into(),
        headline_set: r.headline_set.clone(),
        headline_gpu: r.headline_gpu.clone(),
        gpu_measured: r.gpu_measured,
        energy_j_per_sample_chip: r.energy_j_per_sample_chip,
        energy_j_per_sample_gpu: r.energy_j_per_sample_gpu,
        energy_ratio: r.energy_ratio,
        energy_ratio_min: r.energy_ratio_band[0],
        energy_ratio_max: r.energy_ratio_band[1],
        energy_ratio_dynamic: r.energy_ratio_dynamic,
        energy_ratio_dynamic_min: r.energy_ratio_band_dynamic[0],
        energy_ratio_dynamic_max: r.energy_ratio_band_dynamic[1],
        spikes_per_sample: r.spikes_per_sample,
        samples_counted: r.samples_counted,
        workload_source: r.workload_source.clone(),
        source: modelled_chip.into(),
    };
    Table::from_rows(&[totals])?.write_csv(&out.join("cost_totals.csv"))?;
    Ok(())
}
