//! The paper's what-ifs: other PE counts, levels, accelerators and layouts, priced on the same activity.

use super::{CostError, CostInputs, WhatIfRow, level};
use crate::spinnaker2::{ChipConfig, Partition, PeMemory, memory_map, model::sample_cost};

/// The paper's what-ifs (each priced on the same activity, re-split where the PE count changes). `base_step` is
/// the baseline's slowest step in µs (cycles / MHz).
pub(crate) fn what_ifs(inp: &CostInputs, lvl: &str, base_step: f64) -> Result<Vec<WhatIfRow>, CostError> {
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
    type ChipChange = fn(&mut ChipConfig);
    let variants: [(&str, ChipChange); 6] = [
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
