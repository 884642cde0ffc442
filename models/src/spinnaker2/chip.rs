//! The chip description: processing elements, SRAM, clock/voltage levels, cycle costs per operation, power and
//! energy constants. Every constant carries its source and trust tag (the table in `docs/hardware.md`):
//! [V] read in the primary source, [Q] quoted through reading notes, [S] secondary source, [U] unverified or a
//! guess, [D] derived here (the arithmetic is in the comment). Loadable from TOML so users can model other chips.
//! The instruction timings are the ARM Cortex-M4 TRM's FPU and integer tables (Table 7-1 and 3-1 of r0p1).

use serde::{Deserialize, Serialize};

/// A clock / supply operating point of a processing element.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerfLevel {
    /// Name used on the command line (`--level`).
    pub name: String,
    /// Clock in MHz.
    pub clock_mhz: f64,
    /// Supply in volts.
    pub voltage_v: f64,
    /// Energy per active cycle of one PE, pJ.
    pub energy_pj_per_cycle: f64,
    /// Power of one PE while idle (clocked, waiting for the next tick), mW.
    pub idle_power_mw: f64,
    /// Where the numbers come from.
    pub source: String,
}

/// Cycles per operation on the ARM Cortex-M4F, as the emulator counts them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CycleCosts {
    /// VADD/VSUB/VMUL, single precision: 1 cycle. [V] ARM Cortex-M4 TRM (via TI SWCU192).
    pub fadd: f64,
    /// VMUL: 1 cycle. [V] ARM Cortex-M4 TRM.
    pub fmul: f64,
    /// VFMA: 3 cycles. [V] ARM Cortex-M4 TRM.
    pub fma: f64,
    /// VDIV / VSQRT: 14 cycles. [V] ARM Cortex-M4 TRM.
    pub fdiv: f64,
    /// VSQRT: 14 cycles. [V] ARM Cortex-M4 TRM.
    pub fsqrt: f64,
    /// VLDR (single word from SRAM): 2 cycles. [V] ARM Cortex-M4 TRM.
    pub load: f64,
    /// VSTR (single word to SRAM): 2 cycles. [V] ARM Cortex-M4 TRM, FPU table (integer STR is 1: `int_store`).
    pub store: f64,
    /// VLDM/VSTM: 1 cycle plus 1 per word (`multiple_base` + N × `multiple_per_word`). [V] ARM Cortex-M4 TRM.
    pub multiple_base: f64,
    /// VLDM/VSTM: cycles per word moved. [V] ARM Cortex-M4 TRM.
    pub multiple_per_word: f64,
    /// LDR/LDRH (integer load, not pipelined with a neighbour): 2 cycles. [V] ARM Cortex-M4 TRM.
    pub int_load: f64,
    /// STR/STRH: 1 cycle. [V] ARM Cortex-M4 TRM.
    pub int_store: f64,
    /// Integer ALU operation (ADD, SUB, CMP, address arithmetic): 1 cycle. [V] ARM Cortex-M4 TRM.
    pub int_op: f64,
    /// Taken branch: 1 + P cycles, P = 1–3 for the pipeline refill [V] TRM; P = 1 taken for a short backward loop
    /// branch [U] (within the TRM's range).
    pub branch_taken: f64,
    /// VMOV between a core and an FPU register: 1 cycle. [V] ARM Cortex-M4 TRM.
    pub vmov: f64,
    /// VCVTB/VCVTT (f16 ↔ f32): 1 cycle. [V] ARM Cortex-M4 TRM.
    pub vcvt: f64,
    /// Loop overhead per iteration (compare + taken branch, 1 + 1–3 cycles): 3. [V] TRM range, 3 chosen [U].
    pub loop_iter: f64,
    /// Software expf: 50–150 cycles; 100 taken. [U] docs/hardware.md.
    pub exp_software: f64,
    /// exp on the exp/log accelerator: ≈ 50× software throughput [V Partzsch 2017] → 100 / 50 = 2 cycles [D].
    pub exp_accelerator: f64,
    /// A float multiply-accumulate with its loads and loop overhead on the ARM core alone: 7.07 cycles.
    /// [Q] Yan et al. 2021, Neuromorph. Comput. Eng. 1:014002.
    pub mac_arm: f64,
    /// The same MAC on the 64×8-bit MAC array (input/recurrent MACs only): 0.13 cycles. [Q] Yan et al. 2021.
    pub mac_array: f64,
    /// Cycles a PE spends to send or receive one NoC packet (DMA/comms unit set-up and handling): 20. [U] a guess.
    pub packet: f64,
}

impl Default for CycleCosts {
    fn default() -> Self {
        Self {
            fadd: 1.0,
            fmul: 1.0,
            fma: 3.0,
            fdiv: 14.0,
            fsqrt: 14.0,
            load: 2.0,
            store: 2.0,
            multiple_base: 1.0,
            multiple_per_word: 1.0,
            int_load: 2.0,
            int_store: 1.0,
            int_op: 1.0,
            branch_taken: 2.0,
            vmov: 1.0,
            vcvt: 1.0,
            loop_iter: 3.0,
            exp_software: 100.0,
            exp_accelerator: 2.0,
            mac_arm: 7.07,
            mac_array: 0.13,
            packet: 20.0,
        }
    }
}

/// Optional hardware the schedule may use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Accelerators {
    /// Input and recurrent MACs on the MAC array instead of the ARM core.
    pub mac_array: bool,
    /// The surrogate's exponentials on the exp accelerator.
    pub exp_accelerator: bool,
    /// Energy per exponential on the accelerator, nJ: 0.21 (0.7 V) – 0.44 (1.0 V); 0.21 taken for low-voltage
    /// levels. [V] Partzsch et al. 2017 abstract.
    pub exp_energy_nj: f64,
    /// Energy per MAC on the MAC array, pJ: not published for SpiNNaker 2; 1 pJ taken. [U] a guess.
    pub mac_array_energy_pj: f64,
}

impl Default for Accelerators {
    fn default() -> Self {
        Self { mac_array: false, exp_accelerator: false, exp_energy_nj: 0.21, mac_array_energy_pj: 1.0 }
    }
}

/// A SpiNNaker 2 like chip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChipConfig {
    /// Name for reports.
    pub name: String,
    /// Processing elements on the chip: 152 (production). [V] SpiNNaker2 datasheet v0.03.
    pub pes_on_chip: usize,
    /// SRAM per PE: 128 KB = 131,072 B. [V] SpiNNaker2 datasheet v0.03.
    pub sram_bytes_per_pe: usize,
    /// SRAM reserved per PE for code, stack and runtime: 16 KiB. [U] a guess (the e-prop C code plus a small
    /// runtime); what-ifs show its effect on fit.
    pub code_stack_reserve_bytes: usize,
    /// Bytes per trace value (4: float32; 2 models f16 traces).
    pub trace_bytes: usize,
    /// Keep ε^v once per presynaptic source (true, what the emulator does) or once per synapse (the textbook
    /// layout, 24,000 more floats).
    pub eps_v_per_presynaptic: bool,
    /// Keep a gradient buffer per weight (the authors' C code computes the gradient, then applies Adam).
    pub gradient_buffer: bool,
    /// Chip power with all PEs off: 75 mW. [S] summary of Scholze et al. 2026.
    pub chip_floor_mw: f64,
    /// Energy per NoC packet (one hop, 32-bit payload), pJ: not published here; 10 pJ taken. [U] a guess.
    pub packet_energy_pj: f64,
    /// The operating points.
    pub levels: Vec<PerfLevel>,
    /// The level used unless another is named.
    pub default_level: String,
    /// Cycle table.
    pub cycles: CycleCosts,
    /// Accelerators.
    pub accelerators: Accelerators,
}

impl Default for ChipConfig {
    fn default() -> Self {
        Self {
            name: "SpiNNaker 2 (docs/hardware.md defaults)".into(),
            pes_on_chip: 152,
            sram_bytes_per_pe: 131_072,
            code_stack_reserve_bytes: 16 * 1024,
            trace_bytes: 4,
            eps_v_per_presynaptic: true,
            gradient_buffer: true,
            chip_floor_mw: 75.0,
            packet_energy_pj: 10.0,
            levels: vec![
                PerfLevel {
                    name: "0.50V-150MHz".into(),
                    clock_mhz: 150.0,
                    voltage_v: 0.5,
                    // 26 pJ/cycle at 0.8 V scaled by (0.5/0.8)² ≈ 0.39 → ≈ 10 pJ. [D] docs/hardware.md's scaling.
                    energy_pj_per_cycle: 10.0,
                    // 1.5 mW per PE at 0.5 V / 150 MHz [D]; idle taken as 20 % of it after DVFS/clock gating
                    // ("DVFS cuts PE power 75 %, baseline 80 %" [V] Höppner 2019) → 0.3 mW. [U]
                    idle_power_mw: 0.3,
                    source: "[D] scaled from Scholze et al. 2026 CoreMark power; idle [U]".into(),
                },
                PerfLevel {
                    name: "0.80V-300MHz".into(),
                    clock_mhz: 300.0,
                    voltage_v: 0.8,
                    // 1.248 W − 75 mW floor over 152 PEs = 7.7 mW/PE at 300 MHz → 25.7 pJ/cycle. [S]+[D]
                    energy_pj_per_cycle: 25.7,
                    // 20 % of 7.7 mW. [U]
                    idle_power_mw: 1.54,
                    source: "[S] Scholze et al. 2026 (152 PEs, CoreMark, 0.8 V / 300 MHz) + [D]".into(),
                },
                PerfLevel {
                    name: "0.60V-500MHz".into(),
                    clock_mhz: 500.0,
                    voltage_v: 0.6,
                    // The 22FDX roadmap point 500 MHz at 0.6 V [S] (docs/hardware.md: ~100 MHz @ 0.45 V, 250 MHz @ 0.5 V,
                    // 500 MHz @ 0.6 V); energy per cycle scaled from the 0.8 V CoreMark point by V² alone:
                    // 25.7 pJ × (0.6/0.8)² = 14.5 pJ. [D] (V² scaling ignores leakage: see the ×0.5…×2 bound)
                    energy_pj_per_cycle: 14.5,
                    // 20 % of 14.5 pJ × 500 MHz = 7.2 mW → 1.45 mW. [U] (as the other levels)
                    idle_power_mw: 1.45,
                    source: "[S] 22FDX roadmap point (500 MHz at 0.6 V) + [D] V² scaling of the 0.8 V point; idle [U]"
                        .into(),
                },
            ],
            default_level: "0.50V-150MHz".into(),
            cycles: CycleCosts::default(),
            accelerators: Accelerators::default(),
        }
    }
}

impl ChipConfig {
    /// The named level, or the default when `name` is `None`.
    pub fn level(&self, name: Option<&str>) -> Option<&PerfLevel> {
        let want = name.unwrap_or(&self.default_level);
        self.levels.iter().find(|l| l.name == want)
    }

    /// SRAM a PE can give to data: SRAM minus the code/stack reserve.
    pub fn data_bytes_per_pe(&self) -> usize {
        self.sram_bytes_per_pe.saturating_sub(self.code_stack_reserve_bytes)
    }
}
