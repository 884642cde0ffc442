//! What one counted item costs on the ARM Cortex-M4F, as instruction counts: a synapse's trace update per step, a
//! source's ε^v update per step. Cycles = Σ instructions × the chip's cycle table (`CycleCosts`, every entry from
//! the Cortex-M4 TRM). The per-synapse update is the emulator's, operation for operation (`emulator.rs`,
//! `tiles`): with the neuron's ψ(t), decay(t) = ρ − (1−ρ)·β·ψ(t) and gain(t) = (1−ρ)·(1−α)·ψ(t) in registers,
//!
//! ```text
//!   ε^a ← decay·ε^a + gain·ε^v                  2 VMUL, 1 VADD
//!   e   = ψ·((1−α)·ε^v − β·ε^a)                 3 VMUL, 1 VSUB
//!   ē   ← κ·ē + e                               1 VMUL, 1 VADD
//!   E   ← E + ē                                 1 VADD
//! ```
//!
//! reading ε^a, ē, E and the source's ε^v and writing ε^a, ē, E: 4 loads, 6 multiplies, 4 adds, 3 stores. How
//! those loads, stores and the loop are coded is the uncertain part, so there are three named levels
//! ([`TraceCode`]); the model uses one at a time and the cost report bounds the result by the other two.

use serde::{Deserialize, Serialize};

use super::chip::{ChipConfig, CycleCosts};

/// Instruction counts of one item (fractions where a block of items shares an instruction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Instrs {
    /// VLDR (one float).
    pub vldr: f64,
    /// VLDM instructions (each also moves `vldm_words`).
    pub vldm: f64,
    /// Words moved by VLDM.
    pub vldm_words: f64,
    /// VSTR (one float).
    pub vstr: f64,
    /// VSTM instructions.
    pub vstm: f64,
    /// Words moved by VSTM.
    pub vstm_words: f64,
    /// LDRH (an f16 trace into a core register).
    pub ldrh: f64,
    /// STRH.
    pub strh: f64,
    /// VMOV core ↔ FPU register.
    pub vmov: f64,
    /// VCVTB/VCVTT f16 ↔ f32.
    pub vcvt: f64,
    /// VMUL.
    pub vmul: f64,
    /// VADD / VSUB.
    pub vadd: f64,
    /// Integer ALU operations (index increment, compare, address arithmetic).
    pub alu: f64,
    /// Taken branches.
    pub branch: f64,
}

impl Instrs {
    /// Cycles on a core with cycle table `c`.
    pub fn cycles(&self, c: &CycleCosts) -> f64 {
        self.vldr * c.load
            + (self.vldm + self.vstm) * c.multiple_base
            + (self.vldm_words + self.vstm_words) * c.multiple_per_word
            + self.vstr * c.store
            + self.ldrh * c.int_load
            + self.strh * c.int_store
            + self.vmov * c.vmov
            + self.vcvt * c.vcvt
            + self.vmul * c.fmul
            + self.vadd * c.fadd
            + self.alu * c.int_op
            + self.branch * c.branch_taken
    }

    /// Instructions issued (VLDM/VSTM count once each).
    pub fn instructions(&self) -> f64 {
        self.vldr
            + self.vldm
            + self.vstr
            + self.vstm
            + self.ldrh
            + self.strh
            + self.vmov
            + self.vcvt
            + self.vmul
            + self.vadd
            + self.alu
            + self.branch
    }

    fn plus(mut self, o: Instrs) -> Instrs {
        self.vldr += o.vldr;
        self.vldm += o.vldm;
        self.vldm_words += o.vldm_words;
        self.vstr += o.vstr;
        self.vstm += o.vstm;
        self.vstm_words += o.vstm_words;
        self.ldrh += o.ldrh;
        self.strh += o.strh;
        self.vmov += o.vmov;
        self.vcvt += o.vcvt;
        self.vmul += o.vmul;
        self.vadd += o.vadd;
        self.alu += o.alu;
        self.branch += o.branch;
        self
    }
}

/// How the per-synapse trace loop is coded: the three levels the cost report prices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceCode {
    /// Hand-scheduled assembly: blocks of 4 synapses, each array moved with one VLDM/VSTM (writeback, so no index
    /// arithmetic), 6 loop constants and 16 loaded values in the 32 FPU registers, SUBS + BNE per block. [D]
    HandScheduled,
    /// What a C compiler emits for the emulator's single loop with one array per trace: one synapse per iteration,
    /// VLDR/VSTR with a shared index, index increment, compare and branch. [D] (no unrolling, no FMA contraction —
    /// the emulator does not contract either)
    #[default]
    CompiledC,
    /// The authors' public C code's structure: three passes over the synapses (ε^a; e and ē; E), `[pre][post]`
    /// arrays with the post index inner, the neuron's decay, gain and ψ loaded per synapse, the source's ε^v and
    /// (1−α)·ε^v hoisted out of the inner loop, one address computation per access pass. [U] a reconstruction of
    /// the loop structure from the code's description, not compiled from its source.
    AuthorsThreePass,
}

impl TraceCode {
    /// All levels, cheapest first.
    pub const ALL: [TraceCode; 3] = [TraceCode::HandScheduled, TraceCode::CompiledC, TraceCode::AuthorsThreePass];

    /// Name used on the command line and in CSVs.
    pub fn name(self) -> &'static str {
        match self {
            TraceCode::HandScheduled => "hand-scheduled",
            TraceCode::CompiledC => "compiled-c",
            TraceCode::AuthorsThreePass => "authors-three-pass",
        }
    }

    /// Parses [`TraceCode::name`].
    pub fn parse(s: &str) -> Option<TraceCode> {
        TraceCode::ALL.into_iter().find(|c| c.name() == s)
    }

    /// One synapse's trace update in one step on `chip` (its trace width and ε^v layout change the work).
    pub fn synapse(self, chip: &ChipConfig) -> Instrs {
        let f16 = chip.trace_bytes == 2;
        let per_synapse_eps_v = !chip.eps_v_per_presynaptic;
        let arith = Instrs { vmul: 6.0, vadd: 4.0, ..Instrs::default() };
        match self {
            TraceCode::HandScheduled => {
                // Per block of 4: one VLDM per array read, one VSTM per array written, SUBS + BNE.
                let block = 4.0;
                // ε^a, ē, E: f32 → 4 words per array and block; f16 → 2 words, then VCVTB/VCVTT per value each way.
                let trace_words = if f16 { 2.0 } else { 4.0 };
                let mut i = arith.plus(Instrs {
                    vldm: 4.0 / block,
                    vldm_words: (3.0 * trace_words + 4.0) / block,
                    vstm: 3.0 / block,
                    vstm_words: 3.0 * trace_words / block,
                    vcvt: if f16 { 6.0 } else { 0.0 },
                    alu: 1.0 / block,
                    branch: 1.0 / block,
                    ..Instrs::default()
                });
                if per_synapse_eps_v {
                    // ε^v ← α·ε^v + p per synapse: the source values as one more array read, ε^v written back.
                    i = i.plus(Instrs {
                        vldm: 1.0 / block,
                        vldm_words: 1.0,
                        vmul: 1.0,
                        vadd: 1.0,
                        vstm: 1.0 / block,
                        vstm_words: 1.0,
                        ..Instrs::default()
                    });
                }
                i
            }
            TraceCode::CompiledC => {
                let mut i = arith.plus(Instrs { vldr: 1.0, alu: 2.0, branch: 1.0, ..Instrs::default() });
                i = i.plus(trace_access(f16, 3.0, 3.0));
                if per_synapse_eps_v {
                    i = i.plus(Instrs { vldr: 1.0, vmul: 1.0, vadd: 1.0, vstr: 1.0, ..Instrs::default() });
                }
                i
            }
            TraceCode::AuthorsThreePass => {
                // Pass 1: ε^a (reads ε^a, decay, gain; writes ε^a). Pass 2: e and ē (reads ε^a, ψ, ē; writes ē).
                // Pass 3: E (reads ē, E; writes E). Each pass: index increment, compare, branch, one address add.
                let per_pass_loop = Instrs { alu: 3.0, branch: 1.0, ..Instrs::default() };
                let mut i = arith.plus(Instrs {
                    vldr: 3.0, // decay, gain (pass 1), ψ (pass 2): per-neuron values, post index inner
                    ..Instrs::default()
                });
                for _ in 0..3 {
                    i = i.plus(per_pass_loop);
                }
                // Trace reads: ε^a twice, ē twice, E once; writes: ε^a, ē, E.
                i = i.plus(trace_access(f16, 5.0, 3.0));
                if per_synapse_eps_v {
                    i = i.plus(Instrs { vldr: 2.0, vmul: 1.0, vadd: 1.0, vstr: 1.0, ..Instrs::default() });
                }
                i
            }
        }
    }

    /// One source's ε^v ← α·ε^v + p in one step (per PE; zero work when ε^v is kept per synapse, where the
    /// synapse's recipe does it): load ε^v and the source value, multiply, add, store, loop.
    pub fn presynaptic(self, chip: &ChipConfig) -> Instrs {
        if !chip.eps_v_per_presynaptic {
            return Instrs::default();
        }
        Instrs { vldr: 2.0, vmul: 1.0, vadd: 1.0, vstr: 1.0, alu: 2.0, branch: 1.0, ..Instrs::default() }
    }
}

/// Reads and writes of trace values: VLDR/VSTR for f32; for f16 LDRH + VMOV + VCVTB to read, VCVTB + VMOV +
/// STRH to write.
fn trace_access(f16: bool, reads: f64, writes: f64) -> Instrs {
    if f16 {
        Instrs { ldrh: reads, strh: writes, vmov: reads + writes, vcvt: reads + writes, ..Instrs::default() }
    } else {
        Instrs { vldr: reads, vstr: writes, ..Instrs::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three levels' cycles per synapse-step with the default (TRM) table, by hand:
    /// hand-scheduled: VLDM 4×(1+4)/4 = 5, 6 VMUL + 4 VADD = 10, VSTM 3×(1+4)/4 = 3.75, (SUBS 1 + BNE 2)/4 = 0.75
    /// → 19.5; compiled C: 4 VLDR × 2 = 8, 10, 3 VSTR × 2 = 6, ADD + CMP + BNE = 4 → 28; three passes: 8 VLDR × 2 =
    /// 16, 10, 3 VSTR × 2 = 6, 3 × (3 ALU + BNE 2) = 15 → 47.
    #[test]
    fn cycles_per_synapse_step_by_hand() {
        let chip = ChipConfig::default();
        let c = |code: TraceCode| code.synapse(&chip).cycles(&chip.cycles);
        assert_eq!(c(TraceCode::HandScheduled), 19.5);
        assert_eq!(c(TraceCode::CompiledC), 28.0);
        assert_eq!(c(TraceCode::AuthorsThreePass), 47.0);
        assert_eq!(TraceCode::CompiledC.presynaptic(&chip).cycles(&chip.cycles), 12.0);
    }

    /// The what-ifs that change the work change the cycles: f16 traces add conversions, ε^v per synapse adds its
    /// update to every synapse and removes the per-source one.
    #[test]
    fn layouts_change_the_cycles() {
        let base = ChipConfig::default();
        let f16 = ChipConfig { trace_bytes: 2, ..base.clone() };
        let per_syn = ChipConfig { eps_v_per_presynaptic: false, ..base.clone() };
        for code in TraceCode::ALL {
            let c = |chip: &ChipConfig| code.synapse(chip).cycles(&chip.cycles);
            assert!(c(&f16) > c(&base), "{code:?}");
            assert!(c(&per_syn) > c(&base), "{code:?}");
        }
        // Compiled C with f16 traces: 3 reads × (LDRH 2 + VMOV 1 + VCVT 1) + 3 writes × (VCVT + VMOV + STRH) = 21
        // instead of 3 × 2 + 3 × 2 = 12 → 28 + 9 = 37.
        assert_eq!(TraceCode::CompiledC.synapse(&f16).cycles(&f16.cycles), 37.0);
        assert_eq!(TraceCode::CompiledC.presynaptic(&per_syn).cycles(&per_syn.cycles), 0.0);
    }
}
