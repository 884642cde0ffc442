//! Cycles, time and energy from a counted [`Workload`]: each counted item costs cycles from the chip's cycle table
//! (the recipes below and in [`recipes`](super::recipes) list the instructions per item); per step the slowest PE
//! sets the time; energy is reported by part — active cycles × energy per cycle, idle power × the rest of each
//! tick, packets, accelerator work, the chip's floor power × time — and summed at two boundaries: *dynamic*
//! (active + packets + accelerators: what running the work adds) and *total* (everything the chip draws).

use serde::Serialize;

use super::{
    chip::{ChipConfig, PerfLevel},
    recipes::TraceCode,
    workload::PhaseCounts,
    workload::Workload,
};

/// The phases of docs/model.md's on-chip schedule, in report order.
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

/// Cycles of one PE's counts, by phase (the order of [`PHASES`]), with the trace loop coded as `code`.
pub fn phase_cycles(chip: &ChipConfig, code: TraceCode, k: &PhaseCounts) -> [f64; 9] {
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
    // ε^v per source and the per-synapse trace update: `recipes` (instructions from the emulator's operations).
    let pre = code.presynaptic(chip).cycles(c);
    let syn = code.synapse(chip).cycles(c);
    // Adam per weight: g = L·E + 2·l2·W, m, v, √v, division, update: loads W, m, v, E (+ gradient buffer round
    // trip), 8 multiplies, 5 adds, one sqrt, one division, three stores, loop.
    let grad_buf = if chip.gradient_buffer { c.store + c.load } else { 0.0 };
    let adam = 4.0 * c.load + 8.0 * c.fmul + 5.0 * c.fadd + c.fsqrt + c.fdiv + 3.0 * c.store + c.loop_iter + grad_buf;
    [
        k.input_macs * mac,
        k.recurrent_adds * rec_add,
        k.neuron_updates * neuron,
        k.surrogates * surrogate,
        k.presynaptic_updates * pre + k.synapse_updates * syn,
        k.readout_macs * c.mac_arm,
        k.signal_macs * c.mac_arm + k.softmax_exps * exp,
        k.adam_updates * adam,
        (k.packets_sent + k.packets_received) * c.packet,
    ]
}

/// Time and energy of training one sample on the chip.
#[derive(Clone, Debug, Serialize)]
pub struct SampleCost {
    /// Level used.
    pub level: String,
    /// How the trace loop is coded.
    pub trace_code: TraceCode,
    /// PEs.
    pub pes: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Largest per-step cycle count over steps and PEs (the real-time critical path; an upper bound when the
    /// workload is a mean over several samples: every PE at the step's largest spike count).
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
    /// Chip floor power (all PEs off) × time, J.
    pub energy_floor_j: f64,
    /// Dynamic boundary: active + packets + accelerators, J.
    pub energy_dynamic_j: f64,
    /// Total boundary: dynamic + PE idle + chip floor, J.
    pub energy_total_j: f64,
    /// Energy by PE (active + idle + packets + accelerators), J.
    pub energy_j_per_pe: Vec<f64>,
}

/// Prices one training sample of `work` on `chip` at `level`, the trace loop coded as `code`.
pub fn sample_cost(chip: &ChipConfig, level: &PerfLevel, work: &Workload, code: TraceCode) -> SampleCost {
    let pes = work.pes;
    let hz = level.clock_mhz * 1e6;
    let tick = level.clock_mhz * 1e3; // cycles per 1 ms
    let e_cycle = level.energy_pj_per_cycle * 1e-12;
    let cycles = |k: &PhaseCounts| phase_cycles(chip, code, k);
    let total = |c: &[f64; 9]| c.iter().sum::<f64>();
    let mut max_step: f64 = 0.0;
    let mut sum_step_max = 0.0;
    let mut by_phase = [0.0f64; 9];
    let mut pe_cycles = vec![0.0f64; pes];
    let mut pe_phase = vec![[0.0f64; 9]; pes];
    let mut time_s = 0.0;
    let (mut packets, mut exps, mut array_macs) = (0.0, 0.0, 0.0);
    let mut idle_s_per_pe = vec![0.0f64; pes];
    let mut account = |cyc: &[[f64; 9]], dur_s: f64, pe_phase: Option<&mut Vec<[f64; 9]>>| {
        for (p, c) in cyc.iter().enumerate() {
            for (a, b) in by_phase.iter_mut().zip(c) {
                *a += b;
            }
            pe_cycles[p] += total(c);
            idle_s_per_pe[p] += dur_s - total(c) / hz;
        }
        if let Some(pp) = pe_phase {
            for (p, c) in cyc.iter().enumerate() {
                for (a, b) in pp[p].iter_mut().zip(c) {
                    *a += b;
                }
            }
        }
    };
    for (step, worst) in work.steps.iter().zip(&work.worst_steps) {
        let cyc: Vec<[f64; 9]> = step.iter().map(cycles).collect();
        let slowest = cyc.iter().map(total).fold(0.0, f64::max);
        max_step = max_step.max(worst.iter().map(|k| total(&cycles(k))).fold(0.0, f64::max));
        sum_step_max += slowest;
        let step_s = slowest.max(tick) / hz;
        time_s += step_s;
        account(&cyc, step_s, Some(&mut pe_phase));
        for k in step {
            packets += k.packets_sent;
            exps += 3.0 * k.surrogates;
            array_macs += k.input_macs + k.recurrent_adds;
        }
    }
    let cyc: Vec<[f64; 9]> = work.end.iter().map(cycles).collect();
    let end_max = cyc.iter().map(total).fold(0.0, f64::max);
    // The end-of-sample work takes at least one tick.
    let end_s = end_max.max(tick) / hz;
    time_s += end_s;
    account(&cyc, end_s, None);
    for k in &work.end {
        packets += k.packets_sent;
        exps += k.softmax_exps;
    }
    let active: Vec<f64> = pe_cycles.iter().map(|c| c * e_cycle).collect();
    let idle: Vec<f64> = idle_s_per_pe.iter().map(|s| s * level.idle_power_mw * 1e-3).collect();
    let energy_packets_j = packets * chip.packet_energy_pj * 1e-12;
    let acc = &chip.accelerators;
    let energy_accelerators_j = (if acc.exp_accelerator { exps * acc.exp_energy_nj * 1e-9 } else { 0.0 })
        + if acc.mac_array { array_macs * acc.mac_array_energy_pj * 1e-12 } else { 0.0 };
    let energy_floor_j = chip.chip_floor_mw * 1e-3 * time_s;
    let energy_active_j: f64 = active.iter().sum();
    let energy_idle_j: f64 = idle.iter().sum();
    let energy_dynamic_j = energy_active_j + energy_packets_j + energy_accelerators_j;
    let per_pe_extra = (energy_packets_j + energy_accelerators_j) / pes.max(1) as f64;
    let busiest = (0..pes).max_by(|&a, &b| pe_cycles[a].total_cmp(&pe_cycles[b])).unwrap_or(0);
    SampleCost {
        level: level.name.clone(),
        trace_code: code,
        pes,
        t_steps: work.t_steps,
        cycles_per_step_max: max_step,
        cycles_per_step_mean: sum_step_max / work.t_steps.max(1) as f64,
        cycles_end_of_sample: end_max,
        cycles_per_tick: tick,
        real_time: max_step <= tick,
        real_time_margin: 1.0 - max_step / tick,
        cycles_by_phase: PHASES.iter().zip(by_phase).map(|(p, c)| (p.to_string(), c)).collect(),
        cycles_by_phase_busiest_pe: PHASES
            .iter()
            .zip(pe_phase.get(busiest).copied().unwrap_or_default())
            .map(|(p, c)| (p.to_string(), c))
            .collect(),
        time_s,
        energy_active_j,
        energy_idle_j,
        energy_packets_j,
        energy_accelerators_j,
        energy_floor_j,
        energy_dynamic_j,
        energy_total_j: energy_dynamic_j + energy_idle_j + energy_floor_j,
        energy_j_per_pe: active.iter().zip(&idle).map(|(a, i)| a + i + per_pe_extra).collect(),
    }
}
