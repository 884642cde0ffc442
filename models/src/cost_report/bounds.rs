//! The uncertain constants of the cost model: each with a low and a high value and its source, as settings
//! (`Knobs`) that the analysis applies to the chip and the GPU side.

use super::{Bound, CostInputs};
use crate::spinnaker2::{ChipConfig, TraceCode};

/// The uncertain constants' settings (1 / the model's value unless stated).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Knobs {
    pub(crate) energy_per_cycle: f64,
    /// `None`: the level's idle power; `Some(f)`: f × the level's full active power (0 = perfect gating).
    pub(crate) idle_of_active: Option<f64>,
    pub(crate) trace_code: Option<TraceCode>,
    pub(crate) packet_energy: f64,
    pub(crate) chip_floor: f64,
    /// GPU board power: `None` the set's; `Some(u)`: idle + u·(TDP − idle) of the set's preset.
    pub(crate) gpu_utilisation: Option<f64>,
    pub(crate) gpu_time: f64,
    pub(crate) gpu_measured_energy: f64,
}

pub(crate) const NOMINAL: Knobs = Knobs {
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
    pub(crate) fn chip(&self, chip: &ChipConfig) -> ChipConfig {
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

/// The uncertain constants, their bounds and sources, and the knob settings (low, high) for each.
pub(crate) fn bounds(inp: &CostInputs, measured: bool) -> Vec<(Bound, Knobs, Knobs)> {
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

/// `k` with the settings of `b` that differ from nominal.
pub(crate) fn merge(mut k: Knobs, b: &Knobs) -> Knobs {
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
