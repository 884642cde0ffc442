//! The GPU side of the energy comparison: energy per training sample = power × time per sample, with the power
//! from a named basis and the time measured (the WGSL benchmark) or given. Presets with their sources and trust tags (docs/hardware.md).

use serde::{Deserialize, Serialize};

/// A GPU's published figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuPreset {
    /// Name used on the command line.
    pub name: &'static str,
    /// Board power limit (TDP), W.
    pub tdp_w: f64,
    /// Idle power, W.
    pub idle_w: f64,
    /// FP32 peak, TFLOP/s.
    pub fp32_tflops: f64,
    /// Memory bandwidth, GB/s.
    pub mem_bw_gbs: f64,
    /// Sources and tags.
    pub source: &'static str,
}

/// V100 SXM2, V100 PCIe, H100 SXM5, H100 PCIe, H200 SXM (docs/hardware.md, "GPUs").
pub const GPU_PRESETS: [GpuPreset; 5] = [
    GpuPreset {
        name: "v100-sxm2",
        tdp_w: 300.0,
        idle_w: 48.0,
        fp32_tflops: 15.7,
        mem_bw_gbs: 900.0,
        source: "TDP, peak, bandwidth [S]; idle 44–53 W [V] NVML dump, midpoint 48 taken",
    },
    GpuPreset {
        name: "v100-pcie",
        tdp_w: 250.0,
        idle_w: 40.0,
        fp32_tflops: 14.0,
        mem_bw_gbs: 900.0,
        source: "TDP, peak, bandwidth [S]; idle 35–45 W [U], 40 taken",
    },
    GpuPreset {
        name: "h100-sxm5",
        tdp_w: 700.0,
        idle_w: 65.0,
        fp32_tflops: 67.0,
        mem_bw_gbs: 3350.0,
        source: "TDP, peak, bandwidth [S]; idle ≈ 65 W [U]",
    },
    GpuPreset {
        name: "h100-pcie",
        tdp_w: 350.0,
        idle_w: 50.0,
        fp32_tflops: 51.0,
        mem_bw_gbs: 2000.0,
        source: "TDP [S]; idle ≈ 50 W [U]; peak ≈ 51 TFLOP/s [U]; bandwidth ≈ 2 TB/s [S]",
    },
    GpuPreset {
        name: "h200-sxm",
        tdp_w: 700.0,
        idle_w: 124.5,
        fp32_tflops: 67.0,
        mem_bw_gbs: 4800.0,
        source: "TDP, peak, bandwidth [S]; idle 124.5 W [V] NVML on one H200 here (reports/2026-11-26-h200-training.md)",
    },
];

/// Looks a preset up by name.
pub fn gpu_preset(name: &str) -> Option<&'static GpuPreset> {
    GPU_PRESETS.iter().find(|g| g.name == name)
}

/// How the GPU's power during training is taken.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum PowerBasis {
    /// The board limit: an upper bound (small networks leave a GPU far below it, docs/hardware.md).
    Tdp,
    /// idle + utilisation × (TDP − idle), utilisation in [0, 1] (a model, not a measurement).
    IdlePlusUtilization(f64),
    /// A board power in W, idle included: measured (NVML's energy counter over a window ÷ its length) or given.
    Watts(f64),
}

impl PowerBasis {
    /// Power in W for `gpu`.
    pub fn power_w(&self, gpu: &GpuPreset) -> f64 {
        match *self {
            PowerBasis::Tdp => gpu.tdp_w,
            PowerBasis::IdlePlusUtilization(u) => gpu.idle_w + u.clamp(0.0, 1.0) * (gpu.tdp_w - gpu.idle_w),
            PowerBasis::Watts(w) => w,
        }
    }

    /// Short description for reports.
    pub fn describe(&self) -> String {
        match *self {
            PowerBasis::Tdp => "TDP".into(),
            PowerBasis::IdlePlusUtilization(u) => format!("idle + {:.0} % of (TDP − idle)", 100.0 * u),
            PowerBasis::Watts(w) => format!("{w:.1} W board power"),
        }
    }
}

/// Energy of one training sample on the GPU, J.
pub fn gpu_energy_j_per_sample(gpu: &GpuPreset, basis: PowerBasis, time_per_sample_s: f64) -> f64 {
    basis.power_w(gpu) * time_per_sample_s
}
