//! The physical floor beside every benchmark figure: the work and the memory traffic of one training sample (what
//! no implementation of the formulation can skip; modelled from the shape) against the adapter's peak arithmetic
//! rate and memory bandwidth, so a row says how far its time is from what the hardware could do. The floor is the
//! larger of the two times (a roofline's lower bound).
//!
//! Work (MAC = multiply-add = 2 FLOP; sparse recurrent input and everything per neuron left out, so a lower bound):
//! both rules compute the input current W_inᵀx(t) every step (T·N_in·N_rec); e-prop adds its input rows'
//! eligibility sums Σ_t x(t)·(L Λv)(t) (T·N_in·N_rec, docs/model.md); BPTT adds Xᵀ·dV (T·N_in·N_rec) and the
//! recurrent adjoint W_rec·dv(t+1) (T·N_rec², dense: dv is dense).
//!
//! Memory traffic: the sample's input, read once from the adapter's memory (T·N_in f32 values and its i32 label).
//! Everything else is counted as staying on chip: the weights and Adam's moments (25,440 × 3 f32 ≈ 0.3 MB for the
//! paper's network), the neuron state, and BPTT's history (≈ 9.6 MB per minibatch at batch 100, T = 100), which a
//! kernel that keeps the minibatch's T loop on chip achieves where they fit. Where they do not, the real traffic is
//! higher, so this too is a lower bound.
//!
//! Peaks: a CPU (or a CPU adapter such as lavapipe) = cores × 2 FMA units (assumed: two 256/512-bit FMA ports is
//! what current x86 server cores have; a guess for this VM) × SIMD lanes × 2 FLOP × the clock /proc/cpuinfo reports,
//! and its bandwidth measured here (a copy of 256 MiB over every core, best of three: read and written bytes per
//! second); a GPU from the presets' published FP32 peak and memory bandwidth (docs/hardware.md) when its name
//! matches one, else unknown.

use models::{NetConfig, Rule};

/// FLOP per training sample that the formulation cannot skip (a lower bound; see the module docs).
pub fn flop_per_sample(cfg: &NetConfig, rule: Rule, t_steps: usize) -> f64 {
    let input = (t_steps * cfg.n_in * cfg.n_rec) as f64;
    let macs = match rule {
        Rule::Eprop(_) => 2.0 * input,
        Rule::Bptt(_) => 2.0 * input + (t_steps * cfg.n_rec * cfg.n_rec) as f64,
    };
    2.0 * macs
}

/// Bytes per training sample that must come from the adapter's memory (a lower bound; see the module docs).
pub fn bytes_per_sample(cfg: &NetConfig, t_steps: usize) -> f64 {
    (t_steps * cfg.n_in * 4 + 4) as f64
}

/// The floor in ms per sample, the larger of `flop` at `peak_gflops` and `bytes` at `peak_gbs` (either peak may be
/// unknown), and which of the two decides: `compute`, `memory`, or why neither can.
pub fn roofline_ms(
    flop: f64,
    peak_gflops: Option<f64>,
    bytes: f64,
    peak_gbs: Option<f64>,
) -> (Option<f64>, &'static str) {
    let compute = peak_gflops.map(|p| 1e3 * flop / (p * 1e9));
    let memory = peak_gbs.map(|b| 1e3 * bytes / (b * 1e9));
    match (compute, memory) {
        (Some(c), Some(m)) if m > c => (Some(m), "memory"),
        (Some(c), _) => (Some(c), "compute"),
        (None, Some(m)) => (Some(m), "memory (the peak FLOP/s unknown)"),
        (None, None) => (None, "unknown: neither peak is known"),
    }
}

/// Whether a backend's figures are the host CPU's (a CPU adapter such as lavapipe included).
fn on_cpu(backend: &str, adapter: &str) -> bool {
    matches!(backend, "cpu" | "burn-cpu" | "chip") || adapter.contains("llvmpipe")
}

/// The GPU preset of docs/hardware.md whose name the adapter's name contains.
fn gpu_preset_of(adapter: &str) -> Option<&'static models::gpu_cost::GpuPreset> {
    let name = adapter.to_ascii_lowercase();
    let preset = if name.contains("v100") {
        Some(if name.contains("pcie") { "v100-pcie" } else { "v100-sxm2" })
    } else if name.contains("h100") {
        Some(if name.contains("pcie") { "h100-pcie" } else { "h100-sxm5" })
    } else if name.contains("h200") {
        Some("h200-sxm")
    } else {
        None
    };
    preset.and_then(models::gpu_cost::gpu_preset)
}

/// The adapter's peak in GFLOP/s (FP32) and where the figure comes from, or why there is none.
pub fn peak_gflops(backend: &str, adapter: &str) -> (Option<f64>, String) {
    if on_cpu(backend, adapter) {
        return cpu_peak(adapter);
    }
    match gpu_preset_of(adapter) {
        Some(p) => {
            (Some(p.fp32_tflops * 1e3), format!("{}: FP32 peak {} TFLOP/s ({})", p.name, p.fp32_tflops, p.source))
        }
        None => (None, format!("no published FP32 peak for `{adapter}` in docs/hardware.md's presets")),
    }
}

/// The adapter's memory bandwidth in GB/s and where the figure comes from, or why there is none.
pub fn peak_bandwidth_gbs(backend: &str, adapter: &str) -> (Option<f64>, String) {
    if on_cpu(backend, adapter) {
        let gbs = host_copy_bandwidth_gbs();
        return (Some(gbs), format!("{gbs:.1} GB/s measured (a copy of 256 MiB over every core, best of three)"));
    }
    match gpu_preset_of(adapter) {
        Some(p) => (Some(p.mem_bw_gbs), format!("{}: memory bandwidth {} GB/s ({})", p.name, p.mem_bw_gbs, p.source)),
        None => (None, format!("no published memory bandwidth for `{adapter}` in docs/hardware.md's presets")),
    }
}

/// The host's memory bandwidth, GB/s of bytes read plus bytes written: 256 MiB copied between two buffers, the
/// cores each copying their share, the best of three (measured once per process).
pub fn host_copy_bandwidth_gbs() -> f64 {
    use rayon::prelude::*;
    static BW: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *BW.get_or_init(|| {
        const BYTES: usize = 256 << 20;
        let src = vec![1u64; BYTES / 8];
        let mut dst = vec![0u64; BYTES / 8];
        let piece = (src.len() / rayon::current_num_threads().max(1)).max(1 << 16);
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t0 = std::time::Instant::now();
            dst.par_chunks_mut(piece).zip(src.par_chunks(piece)).for_each(|(d, s)| d.copy_from_slice(s));
            best = best.min(t0.elapsed().as_secs_f64());
            std::hint::black_box(&dst);
        }
        2.0 * BYTES as f64 / best / 1e9
    })
}

fn cpu_peak(adapter: &str) -> (Option<f64>, String) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // lavapipe says its vector width in its name ("… 256 bits"); the CPU backends use what the CPU has.
    let bits = lavapipe_bits(adapter).unwrap_or_else(crate::results::run::simd_bits);
    let lanes = bits / 32;
    let Some(mhz) = crate::results::run::cpu_mhz() else {
        return (None, "the clock is unknown (/proc/cpuinfo has no `cpu MHz`)".into());
    };
    let gflops = cores as f64 * 2.0 * lanes as f64 * 2.0 * mhz / 1e3;
    (
        Some(gflops),
        format!(
            "{cores} cores × 2 FMA units (assumed) × {lanes} lanes ({bits}-bit) × 2 FLOP × {:.2} GHz (/proc/cpuinfo)",
            mhz / 1e3
        ),
    )
}

/// "… 256 bits)" in a lavapipe adapter name.
fn lavapipe_bits(adapter: &str) -> Option<usize> {
    let i = adapter.find(" bits")?;
    adapter[..i].rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The Mesa release of a lavapipe adapter ("… driver llvmpipe Mesa 22.3.6 (LLVM 15.0.6)"): its major version.
fn lavapipe_mesa_major(adapter: &str) -> Option<u32> {
    if !adapter.contains("llvmpipe") {
        return None;
    }
    let rest = &adapter[adapter.find("Mesa ")? + 5..];
    rest.split('.').next()?.parse().ok()
}

/// A note beside a lavapipe figure when the adapter is Mesa's lavapipe from a release before 25: on one machine the
/// same kernels trained ≈ 1.4× (older kernels) to ≈ 2× (today's) faster on Mesa 25.0.7 than on Debian 12's 22.3.6
/// (docs/bench.md, "Which lavapipe"), so a slow figure there may be the driver's.
pub fn old_lavapipe_note(adapter: &str) -> Option<String> {
    let major = lavapipe_mesa_major(adapter)?;
    (major < 25).then(|| {
        format!(
            "lavapipe from Mesa {major}: on one measured machine the same kernels trained ≈ 1.9–2.2× faster on Mesa 25 \
             (Debian 12: scripts/setup.sh installs it from bookworm-backports; docs/bench.md, \"Which lavapipe\")"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{TraceVariant, bptt::BpttOptions};

    #[test]
    fn work_of_the_paper_network_at_t_100() {
        let cfg = NetConfig::default();
        // 2 × 100·80·120 MAC = 1.92 MMAC for e-prop; + 100·120² = 1.44 MMAC for BPTT.
        assert_eq!(flop_per_sample(&cfg, Rule::Eprop(TraceVariant::Authors), 100), 2.0 * 1_920_000.0);
        assert_eq!(flop_per_sample(&cfg, Rule::Bptt(BpttOptions::default()), 100), 2.0 * 3_360_000.0);
    }

    #[test]
    fn an_old_lavapipe_gets_a_note_and_nothing_else_does() {
        let old = "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu, driver llvmpipe Mesa 22.3.6 (LLVM 15.0.6))";
        let new = "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu, driver llvmpipe Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6))";
        assert_eq!(lavapipe_mesa_major(old), Some(22));
        assert_eq!(lavapipe_mesa_major(new), Some(25));
        assert!(old_lavapipe_note(old).is_some_and(|n| n.contains("Mesa 22")));
        assert_eq!(old_lavapipe_note(new), None);
        assert_eq!(old_lavapipe_note("NVIDIA H200 (Vulkan, DiscreteGpu, driver NVIDIA 570.0)"), None);
        assert_eq!(old_lavapipe_note("cpu (2 threads)"), None);
    }

    #[test]
    fn peaks_come_from_the_name_or_say_why_not() {
        assert_eq!(lavapipe_bits("llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)"), Some(256));
        assert_eq!(lavapipe_bits("NVIDIA H200"), None);
        let (h100, src) = peak_gflops("wgpu", "NVIDIA H100 80GB HBM3 (Vulkan, DiscreteGpu)");
        assert_eq!(h100, Some(67_000.0));
        assert!(src.contains("h100-sxm5"));
        let (h200, src) = peak_gflops("torch-cuda", "torch 2.11.0+cu130 cuda NVIDIA H200 (16 threads, eager)");
        assert_eq!(h200, Some(67_000.0));
        assert!(src.contains("h200-sxm"));
        let (none, why) = peak_gflops("wgpu", "NVIDIA A100-SXM4-80GB (Vulkan, DiscreteGpu)");
        assert!(none.is_none() && why.contains("no published"));
        let (h200, src) = peak_bandwidth_gbs("wgpu", "NVIDIA H200 (Vulkan, DiscreteGpu, driver NVIDIA 570.0)");
        assert_eq!(h200, Some(4800.0));
        assert!(src.contains("h200-sxm"));
        let (none, why) = peak_bandwidth_gbs("wgpu", "NVIDIA A100-SXM4-80GB (Vulkan, DiscreteGpu)");
        assert!(none.is_none() && why.contains("no published"));
        // A CPU adapter's bandwidth is the host's, measured: a plausible figure for any machine since DDR3.
        let (cpu, src) = peak_bandwidth_gbs("wgpu", "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)");
        assert!(cpu.is_some_and(|b| (1.0..10_000.0).contains(&b)), "{cpu:?}");
        assert!(src.contains("measured"));
    }

    #[test]
    fn the_input_is_the_bytes_and_the_larger_time_is_the_floor() {
        // 100 steps × 80 f32 inputs + the label.
        assert_eq!(bytes_per_sample(&NetConfig::default(), 100), 32_004.0);
        // 1 MFLOP at 1 TFLOP/s = 1 µs; 32 kB at 1 TB/s = 0.032 µs: compute decides; at 10 GB/s memory does.
        assert_eq!(roofline_ms(1e6, Some(1e3), 32e3, Some(1e3)), (Some(1e-3), "compute"));
        let (m, bound) = roofline_ms(1e6, Some(1e3), 32e3, Some(10.0));
        assert_eq!(bound, "memory");
        assert!(m.is_some_and(|m| (m - 3.2e-3).abs() < 1e-12), "{m:?}");
        assert_eq!(roofline_ms(1e6, None, 32e3, None).0, None);
        assert_eq!(roofline_ms(1e6, None, 32e3, Some(10.0)).1, "memory (the peak FLOP/s unknown)");
    }
}
