//! The partition of the network over processing elements and each PE's SRAM map in bytes. The map lists the arrays
//! of the chip program's layout, which the emulator's PEs hold too (weights, Adam m/v, ε^a/ē/E, ε^v, neuron state;
//! see `emulator.rs`) — except the gradient buffer of the authors' layout (`gradient_buffer`, on by default), which
//! the emulator does not need because it applies Adam row by row as soon as a row's gradient exists. The total
//! follows the network's shape, the chip's options and the partition — nothing here is a constant chosen to match
//! the paper.
//!
//! Layout per PE p owning posts [start, end) (n_local neurons), float32 unless `trace_bytes` says otherwise:
//! - weights: W_in[:, own] (n_in·n_local), W_rec[:, own] (n_rec·n_local), W_out[own, :] (n_local·n_out)
//! - Adam m and v: two more copies of the above
//! - gradient buffer (authors' layout): one more copy
//! - per-synapse traces: ε^a, ē, E = Σ_t ē for every input and recurrent synapse of its neurons (autapse included,
//!   kept at 0), plus ε^v per synapse unless `eps_v_per_presynaptic`
//! - per-presynaptic traces: ε^v for each of the n_in + n_rec sources (each PE keeps its own copy)
//! - neuron state: v, a, z, ψ, z̄, Σz̄ for its neurons
//! - buffers: the input frame (n_in), the spike bit mask of the previous step (⌈n_rec/32⌉ words), partial logits and
//!   output error (n_out each), the learning signal of its neurons (n_local)
//! - code/stack reserve (`code_stack_reserve_bytes`, a stated guess)

use std::ops::Range;

use serde::Serialize;

use super::chip::ChipConfig;
use crate::NetConfig;

/// Which posts each PE owns: contiguous, balanced (the first n_rec mod P PEs take one more).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// Post-synaptic neuron ranges, one per PE.
    pub posts: Vec<Range<usize>>,
}

impl Partition {
    /// Splits `n_rec` neurons over `n_pes` PEs.
    pub fn balanced(n_rec: usize, n_pes: usize) -> Self {
        let base = n_rec / n_pes;
        let extra = n_rec % n_pes;
        let mut start = 0;
        let posts = (0..n_pes)
            .map(|p| {
                let len = base + usize::from(p < extra);
                let r = start..start + len;
                start += len;
                r
            })
            .collect();
        Self { posts }
    }

    /// Number of PEs.
    pub fn n_pes(&self) -> usize {
        self.posts.len()
    }
}

/// Bytes of one PE's SRAM, by role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PeMemory {
    /// Neurons this PE owns.
    pub neurons: usize,
    /// W_in, W_rec columns and W_out rows.
    pub weights: usize,
    /// Adam m and v.
    pub adam: usize,
    /// Gradient buffer (0 without one).
    pub gradient: usize,
    /// Per-synapse traces.
    pub traces_per_synapse: usize,
    /// Per-presynaptic ε^v.
    pub traces_per_presynaptic: usize,
    /// Neuron state.
    pub neuron_state: usize,
    /// Input frame, spike mask, logits, error, learning signal.
    pub buffers: usize,
    /// Stored history, linear in T (BPTT's model only; 0 for e-prop).
    pub history: usize,
    /// Code, stack, runtime.
    pub code_stack_reserve: usize,
}

impl PeMemory {
    /// Data bytes (everything but the code/stack reserve).
    pub fn data(&self) -> usize {
        self.weights
            + self.adam
            + self.gradient
            + self.traces_per_synapse
            + self.traces_per_presynaptic
            + self.neuron_state
            + self.buffers
            + self.history
    }

    /// The learning state alone: weights, Adam, gradient buffer and all traces.
    pub fn learning_state(&self) -> usize {
        self.weights + self.adam + self.gradient + self.traces_per_synapse + self.traces_per_presynaptic
    }

    /// Weights, Adam, gradient buffer and per-synapse traces (no per-presynaptic traces).
    pub fn synaptic_state(&self) -> usize {
        self.weights + self.adam + self.gradient + self.traces_per_synapse
    }

    /// Everything, reserve included.
    pub fn total(&self) -> usize {
        self.data() + self.code_stack_reserve
    }
}

/// A PE whose map does not fit its SRAM.
#[derive(Clone, Debug, PartialEq)]
pub struct SramOverflow {
    /// The first PE that overflows.
    pub pe: usize,
    /// Its neurons.
    pub neurons: usize,
    /// Bytes it needs (reserve included).
    pub needed: usize,
    /// Bytes available for data.
    pub available: usize,
    /// SRAM size.
    pub sram: usize,
    /// Code/stack reserve.
    pub reserve: usize,
    /// needed − SRAM.
    pub over: usize,
    /// Largest neuron count that fits one PE.
    pub max_neurons_per_pe: usize,
    /// Smallest PE count whose balanced partition fits.
    pub min_pes: usize,
}

impl std::error::Error for SramOverflow {}

impl std::fmt::Display for SramOverflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PE {} needs {} B of SRAM for {} neurons but has {} B ({} B minus a {} B code/stack reserve): {} B too \
             many. {}",
            self.pe,
            self.needed,
            self.neurons,
            self.available,
            self.sram,
            self.reserve,
            self.over,
            self.advice()
        )
    }
}

impl SramOverflow {
    /// What would fit.
    fn advice(&self) -> String {
        if self.max_neurons_per_pe == 0 {
            "Not even one neuron with its synapses fits a PE's SRAM: reduce --n-in/--n-rec or use a chip with more \
             SRAM (--chip FILE.toml)"
                .into()
        } else {
            format!(
                "At most {} neurons fit per PE here: use at least {} PEs (--pes {}) or a chip with more SRAM",
                self.max_neurons_per_pe, self.min_pes, self.min_pes
            )
        }
    }
}

/// The SRAM map of a PE with `n_local` neurons.
pub fn pe_memory(cfg: &NetConfig, chip: &ChipConfig, n_local: usize) -> PeMemory {
    let f = 4;
    let tb = chip.trace_bytes;
    let n_pre = cfg.n_in + cfg.n_rec;
    let weights = (n_pre * n_local + n_local * cfg.n_out) * f;
    let per_synapse = 3 + usize::from(!chip.eps_v_per_presynaptic);
    PeMemory {
        neurons: n_local,
        weights,
        adam: 2 * weights,
        gradient: if chip.gradient_buffer { weights } else { 0 },
        traces_per_synapse: n_pre * n_local * per_synapse * tb,
        traces_per_presynaptic: if chip.eps_v_per_presynaptic { n_pre * tb } else { 0 },
        neuron_state: 6 * n_local * f,
        buffers: (cfg.n_in + 2 * cfg.n_rec.div_ceil(32) + 2 * cfg.n_out + n_local) * f,
        history: 0,
        code_stack_reserve: chip.code_stack_reserve_bytes,
    }
}

/// The SRAM map BPTT would need on a PE with `n_local` neurons for samples of `t_steps` steps — a model, not emulated
/// (the chip runs e-prop; this is the comparison the paper's memory argument rests on). Same weights, Adam state,
/// gradient buffer (BPTT accumulates over the backward pass), neuron state and buffers as [`pe_memory`], no
/// per-synapse traces, plus the history the backward pass reads, per step: ψ(t) and A(t) of its own neurons (f32
/// each), the spike bit mask of all n_rec neurons (the recurrent gradient needs every presynaptic z(t−1)) and the
/// input frame (n_in f32: each PE computes the input gradient of its own neurons), i.e. linear in T.
pub fn bptt_pe_memory(cfg: &NetConfig, chip: &ChipConfig, n_local: usize, t_steps: usize) -> PeMemory {
    let f = 4;
    let e = pe_memory(cfg, chip, n_local);
    let history_per_step = (2 * n_local + cfg.n_rec.div_ceil(32) + cfg.n_in) * f;
    PeMemory {
        gradient: e.weights,
        traces_per_synapse: 0,
        traces_per_presynaptic: 0,
        history: t_steps * history_per_step,
        ..e
    }
}

/// Maps every PE of `part`, or the typed error of the first that does not fit.
pub fn memory_map(cfg: &NetConfig, chip: &ChipConfig, part: &Partition) -> Result<Vec<PeMemory>, SramOverflow> {
    let maps: Vec<PeMemory> = part.posts.iter().map(|r| pe_memory(cfg, chip, r.len())).collect();
    if let Some((pe, m)) = maps.iter().enumerate().find(|(_, m)| m.total() > chip.sram_bytes_per_pe) {
        let max_neurons_per_pe = (0..=cfg.n_rec)
            .take_while(|&n| pe_memory(cfg, chip, n).total() <= chip.sram_bytes_per_pe)
            .last()
            .unwrap_or(0);
        let min_pes = if max_neurons_per_pe == 0 { usize::MAX } else { cfg.n_rec.div_ceil(max_neurons_per_pe) };
        return Err(SramOverflow {
            pe,
            neurons: m.neurons,
            needed: m.total(),
            available: chip.data_bytes_per_pe(),
            sram: chip.sram_bytes_per_pe,
            reserve: chip.code_stack_reserve_bytes,
            over: m.total() - chip.sram_bytes_per_pe,
            max_neurons_per_pe,
            min_pes,
        });
    }
    Ok(maps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_balanced_and_covers_all() {
        let p = Partition::balanced(120, 12);
        assert!(p.posts.iter().all(|r| r.len() == 10));
        let p = Partition::balanced(121, 12);
        assert_eq!(p.posts[0].len(), 11);
        assert_eq!(p.posts.last().map(|r| r.end), Some(121));
    }

    #[test]
    fn learning_state_of_the_paper_network_is_the_hardware_md_layout() {
        // docs/hardware.md: W, m, v, grad + 3 traces per synapse (ε^v per pre only) = 695,040 B.
        let cfg = NetConfig::default();
        let chip = ChipConfig::default();
        let maps = memory_map(&cfg, &chip, &Partition::balanced(120, 12)).expect("fits");
        let ls: usize = maps.iter().map(|m| m.learning_state() - m.traces_per_presynaptic).sum();
        assert_eq!(ls, 695_040);
    }

    #[test]
    fn bptt_model_is_linear_in_t_and_has_no_traces() {
        let cfg = NetConfig::default();
        let chip = ChipConfig::default();
        let b = |t| bptt_pe_memory(&cfg, &chip, 10, t);
        assert_eq!(b(100).traces_per_synapse + b(100).traces_per_presynaptic, 0);
        assert_eq!(b(200).history, 2 * b(100).history);
        assert_eq!(b(200).data() - b(100).data(), b(100).history);
        // Per step: ψ and A of 10 neurons, 4 words of spike mask, 80 inputs → (20 + 4 + 80)·4 B.
        assert_eq!(b(1).history, 416);
        // e-prop's per-synapse traces outweigh BPTT's history at T = 25 but not at T = 1000.
        let e = pe_memory(&cfg, &chip, 10).data();
        assert!(b(25).data() < e && b(1000).data() > e);
    }

    #[test]
    fn oversized_network_is_a_typed_error() {
        let cfg = NetConfig { n_rec: 600, ..NetConfig::default() };
        let err = memory_map(&cfg, &ChipConfig::default(), &Partition::balanced(600, 12)).expect_err("too big");
        assert_eq!(err.pe, 0);
        assert!(err.min_pes > 12 && err.max_neurons_per_pe < 50);
        assert!(err.to_string().contains("--pes"));
    }
}
