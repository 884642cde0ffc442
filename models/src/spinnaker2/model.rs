//! Cycles, time and energy from the emulator's counts: each counted item costs cycles from the chip's cycle table
//! (the recipes below list the instructions assumed per item); per step the slowest PE sets the time; energy =
//! active cycles × energy per cycle + idle power × the rest of the tick + packets + accelerator work (+ the chip's
//! floor power when the assumption set says so).

use serde::Serialize;

use super::{
    chip::{ChipConfig, PerfLevel},
    emulator::{PhaseCounts, SampleCounts},
};

/// The phases of MODEL.md's on-chip schedule, in report order.
pub const PHASES: [&str; 9] = [
    "input projection",
    "recurrent input",
    "neuron update",
    "surrogate",
    "trace update",
    "readout",
    "learning signal",
    "adam",
    "communication",
];

/// Cycles of one PE's counts, by phase (the order of [`PHASES`]).
pub fn phase_cycles(chip: &ChipConfig, k: &PhaseCounts) -> [f64; 9] {
    let c = &chip.cycles;
    let acc = &chip.accelerators;
    let mac = if acc.mac_array { c.mac_array } else { c.mac_arm };
    // Recurrent input: load the weight, add, loop (or one MAC on the array).
    let rec_add = if acc.mac_array { c.mac_array } else { c.load + c.fadd + c.loop_iter };
    // Neuron update: a, A, v, u, z, z̄, Σz̄ ≈ 8 multiplies, 7 adds, 6 state loads and 6 stores, one loop iteration.
    let neuron = 8.0 * c.fmul + 7.0 * c.fadd + 6.0 * c.load + 6.0 * c.store + c.loop_iter;
    // Surrogate: 3 exponentials + ≈ 14 multiplies/adds (squares, scalings, weighted sum).
    let exp = if acc.exp_accelerator { c.exp_accelerator } else { c.exp_software };
    let surrogate = 3.0 * exp + 14.0 * c.fmul;
    // ε^v per source: load, multiply-add, scale, store, loop.
    let pre = c.load + c.fmul + c.fadd + c.fmul + c.store + c.loop_iter;
    // Per synapse: load ε^a, ē, E; ε^a = d·ε^a + g·ε^v (2 mul, 1 add); e = ψ(ε̃^v − β ε^a) (2 mul, 1 add);
    // ē = κē + e (1 mul, 1 add); E += ē (1 add); store three; loop.
    let syn = 3.0 * c.load + 5.0 * c.fmul + 4.0 * c.fadd + 3.0 * c.store + c.loop_iter;
    // Adam per weight: g = L·E + 2·l2·W, m, v, √v, division, update: loads W, m, v, E (+ gradient buffer round
    // trip), 8 multiplies, 5 adds, one sqrt, one division, three stores, loop.
    let grad_buf = if chip.gradient_buffer { c.store + c.load } else { 0.0 };
    let adam = 4.0 * c.load + 8.0 * c.fmul + 5.0 * c.fadd + c.fsqrt + c.fdiv + 3.0 * c.store + c.loop_iter + grad_buf;
    [
        k.input_macs as f64 * mac,
        k.recurrent_adds as f64 * rec_add,
        k.neuron_updates as f64 * neuron,
        k.surrogates as f64 * surrogate,
        k.presynaptic_updates as f64 * pre + k.synapse_updates as f64 * syn,
        k.readout_macs as f64 * c.mac_arm,
        k.signal_macs as f64 * c.mac_arm + k.softmax_exps as f64 * exp,
        k.adam_updates as f64 * adam,
        (k.packets_sent + k.packets_received) as f64 * c.packet,
    ]
}

/// Time and energy of training one sample on the chip.
#[derive(Clone, Debug, Serialize)]
pub struct SampleCost {
    /// Level used.
    pub level: String,
    /// PEs.
    pub pes: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Largest per-step cycle count over steps and PEs (the real-time critical path).
    pub cycles_per_step_max: f64,
    /// Mean over steps of the slowest PE's cycles.
    pub cycles_per_step_mean: f64,
    /// Cycles of the end-of-sample phase on its slowest PE.
    pub cycles_end_of_sample: f64,
    /// 1 ms deadline in cycles at this clock.
    pub cycles_per_tick: f64,
    /// Every step met its 1 ms deadline.
    pub real_time: bool,
    /// Deadline headroom of the worst step: 1 − max/tick (negative when missed).
    pub real_time_margin: f64,
    /// Cycles per phase summed over all PEs and the sample (order of [`PHASES`]).
    pub cycles_by_phase: Vec<(String, f64)>,
    /// Per-step cycles by phase, summed over steps, of the PE with the most work (for the step-time plot).
    pub cycles_by_phase_busiest_pe: Vec<(String, f64)>,
    /// Wall time of the sample, seconds (T ticks of 1 ms when real time, longer otherwise).
    pub time_s: f64,
    /// Active-cycle energy of all PEs, J.
    pub energy_active_j: f64,
    /// Idle energy of all PEs for the rest of each tick, J.
    pub energy_idle_j: f64,
    /// Packet energy, J.
    pub energy_packets_j: f64,
    /// Accelerator energy (exp accelerator, MAC array), J.
    pub energy_accelerators_j: f64,
    /// Chip floor power × time, J (0 when the assumption set leaves it out).
    pub energy_floor_j: f64,
    /// Sum, J.
    pub energy_j: f64,
    /// Energy by PE (active + idle + packets + accelerators), J.
    pub energy_j_per_pe: Vec<f64>,
}

/// Evaluates the counts of one or more samples (averaged) on `chip` at `level`.
pub fn sample_cost(chip: &ChipConfig, level: &PerfLevel, samples: &[SampleCounts], include_floor: bool) -> SampleCost {
    let n = samples.len().max(1) as f64;
    let pes = samples.first().map_or(0, |s| s.end.len());
    let t_steps = samples.first().map_or(0, |s| s.steps.len());
    let tick = level.clock_mhz * 1e3; // cycles per 1 ms
    let e_cycle = level.energy_pj_per_cycle * 1e-12;
    let mut max_step: f64 = 0.0;
    let mut sum_step_max = 0.0;
    let mut end_max: f64 = 0.0;
    let mut by_phase = [0.0f64; 9];
    let mut pe_cycles = vec![0.0f64; pes];
    let mut pe_phase = vec![[0.0f64; 9]; pes];
    let mut time_s = 0.0;
    let mut packets = 0.0;
    let mut exps = 0.0;
    let mut array_macs = 0.0;
    let mut idle_s_per_pe = vec![0.0f64; pes];
    for s in samples {
        for step in &s.steps {
            let cyc: Vec<[f64; 9]> = step.iter().map(|k| phase_cycles(chip, k)).collect();
            let totals: Vec<f64> = cyc.iter().map(|c| c.iter().sum()).collect();
            let worst = totals.iter().copied().fold(0.0, f64::max);
            max_step = max_step.max(worst);
            sum_step_max += worst;
            let step_time = (worst.max(tick)) / (level.clock_mhz * 1e6);
            time_s += step_time;
            for (p, c) in cyc.iter().enumerate() {
                for (a, b) in by_phase.iter_mut().zip(c) {
                    *a += b;
                }
                for (a, b) in pe_phase[p].iter_mut().zip(c) {
                    *a += b;
                }
                pe_cycles[p] += totals[p];
                idle_s_per_pe[p] += step_time - totals[p] / (level.clock_mhz * 1e6);
            }
            for k in step {
                packets += k.packets_sent as f64;
                exps += 3.0 * k.surrogates as f64;
                array_macs += (k.input_macs + k.recurrent_adds) as f64;
            }
        }
        let cyc: Vec<[f64; 9]> = s.end.iter().map(|k| phase_cycles(chip, k)).collect();
        let worst = cyc.iter().map(|c| c.iter().sum::<f64>()).fold(0.0, f64::max);
        end_max = end_max.max(worst);
        // The end-of-sample work takes at least one tick.
        let end_time = worst.max(tick) / (level.clock_mhz * 1e6);
        time_s += end_time;
        for (p, c) in cyc.iter().enumerate() {
            let tot: f64 = c.iter().sum();
            for (a, b) in by_phase.iter_mut().zip(c) {
                *a += b;
            }
            pe_cycles[p] += tot;
            idle_s_per_pe[p] += end_time - tot / (level.clock_mhz * 1e6);
        }
        for k in &s.end {
            packets += k.packets_sent as f64;
            exps += k.softmax_exps as f64;
        }
    }
    let active: Vec<f64> = pe_cycles.iter().map(|c| c / n * e_cycle).collect();
    let idle: Vec<f64> = idle_s_per_pe.iter().map(|s| s / n * level.idle_power_mw * 1e-3).collect();
    let energy_packets_j = packets / n * chip.packet_energy_pj * 1e-12;
    let acc = &chip.accelerators;
    let energy_accelerators_j = (if acc.exp_accelerator { exps / n * acc.exp_energy_nj * 1e-9 } else { 0.0 })
        + if acc.mac_array { array_macs / n * acc.mac_array_energy_pj * 1e-12 } else { 0.0 };
    let time_s = time_s / n;
    let energy_floor_j = if include_floor { chip.chip_floor_mw * 1e-3 * time_s } else { 0.0 };
    let energy_active_j: f64 = active.iter().sum();
    let energy_idle_j: f64 = idle.iter().sum();
    let per_pe_extra = (energy_packets_j + energy_accelerators_j) / pes.max(1) as f64;
    let busiest = (0..pes).max_by(|&a, &b| pe_cycles[a].total_cmp(&pe_cycles[b])).unwrap_or(0);
    SampleCost {
        level: level.name.clone(),
        pes,
        t_steps,
        cycles_per_step_max: max_step,
        cycles_per_step_mean: sum_step_max / (n * t_steps.max(1) as f64),
        cycles_end_of_sample: end_max,
        cycles_per_tick: tick,
        real_time: max_step <= tick,
        real_time_margin: 1.0 - max_step / tick,
        cycles_by_phase: PHASES.iter().zip(by_phase).map(|(p, c)| (p.to_string(), c / n)).collect(),
        cycles_by_phase_busiest_pe: PHASES
            .iter()
            .zip(pe_phase.get(busiest).copied().unwrap_or_default())
            .map(|(p, c)| (p.to_string(), c / n))
            .collect(),
        time_s,
        energy_active_j,
        energy_idle_j,
        energy_packets_j,
        energy_accelerators_j,
        energy_floor_j,
        energy_j: energy_active_j + energy_idle_j + energy_packets_j + energy_accelerators_j + energy_floor_j,
        energy_j_per_pe: active.iter().zip(&idle).map(|(a, i)| a + i + per_pe_extra).collect(),
    }
}
