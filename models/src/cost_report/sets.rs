//! The named assumption sets: the headline (a measured GPU side when there is one, else the assumed one) at both
//! boundaries, and the sets that show how the paper's 12× can arise.

use super::{AssumptionSet, Boundary, CostInputs};
use crate::{
    gpu_cost::{PowerBasis, gpu_preset},
    spinnaker2::PerfLevel,
};

/// The named sets: the headline (measured GPU when there is one, else the assumed one) at both boundaries, the
/// assumed GPU side when a measurement leads, and the sets that show how 12× can arise.
pub(crate) fn assumption_sets(inp: &CostInputs) -> Vec<AssumptionSet> {
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
