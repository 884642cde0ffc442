//! Helpers shared by the integration tests: fixture paths, tolerance presets, comparisons that refuse to pass
//! vacuously (all-zero or non-finite references fail), and temporary input files for the CLI.

use std::path::{Path, PathBuf};

use bench_harness::tensors::{self, BatchData, Tensor};
use models::Params;

/// The tolerance presets: every bound a comparison in the test suite uses, by name, each about 10× the worst error
/// measured on this project's CI machine (2-core VM, lavapipe = Mesa 22.3.6 llvmpipe) with the measurement beside it,
/// so a regression cannot hide inside a bound. A comparison can only take one of these ([`Tolerance`]'s fields are
/// private: no test can spell out a bound of its own). `SNNBENCH_TEST_ERRORS=FILE` appends
/// each comparison's preset, worst error and share of its bound to FILE (`scripts/tolerance-report.sh` summarises).
pub mod tol {
    use super::Tolerance;

    const fn rel(name: &'static str, rel: f64) -> Tolerance {
        Tolerance { name, rel, abs: 0.0 }
    }

    /// Same code, same operation order (or the same expression in float64): bit for bit. Measured: 0.
    pub const EXACT: Tolerance = rel("EXACT", 0.0);
    /// The comparison helper's own tests (`guards.rs`): any small bound.
    pub const GUARD: Tolerance = rel("GUARD", 1e-6);

    // Gradients of one batch, per tensor, relative to that tensor's max|g|.
    /// e-prop, an f32 implementation (WGSL under both kernel families, the chip per sample, the CLI) vs the f32 or
    /// float64 reference: measured ≤ 1.15e-6 (WGSL, general kernels, B = 2, T = 1000, g_in).
    pub const EPROP_F32: Tolerance = rel("EPROP_F32", 1e-5);
    /// e-prop, the f32 reference vs the float64 one on one sample, at each of 20 Adam steps of a run (weights drift
    /// into spike-threshold margins as training goes on): measured ≤ 5.2e-6 (step 17, g_out; ≤ 1.7e-6 before it).
    pub const EPROP_F32_ONE_SAMPLE: Tolerance = rel("EPROP_F32_ONE_SAMPLE", 5e-5);
    /// BPTT, the f32 CLI vs the float64 fixture (JAX autodiff) and burn-cpu's CLI vs the CPU's: measured ≤ 9.6e-7.
    pub const BPTT_F32: Tolerance = rel("BPTT_F32", 1e-5);
    /// BPTT, two f32 implementations (burn, the WGSL kernel families and work splits) against the f32 reference:
    /// measured ≤ 1.71e-6 (burn-wgpu, B = 16, detach-reset, g_in).
    pub const BPTT_F32_PER_TENSOR: Tolerance = rel("BPTT_F32_PER_TENSOR", 2e-5);
    /// `grads --backend wgpu` against `--backend cpu`, both f32: measured ≤ 2.9e-7.
    pub const WGPU_VS_CPU_GRADS: Tolerance = rel("WGPU_VS_CPU_GRADS", 4e-6);
    /// The emulated chip's gradient (f32, its own operation order) against the float64 reference: measured
    /// ≤ 5.0e-7 (g_out).
    pub const CHIP_VS_F64: Tolerance = rel("CHIP_VS_F64", 5e-6);
    /// Logits of an f32 forward pass against the reference's: measured ≤ 2.6e-7.
    pub const LOGITS_F32: Tolerance = rel("LOGITS_F32", 3e-6);
    /// The batch loss of an f32 forward pass against the reference's: measured ≤ 1.0e-7.
    pub const LOSS_F32: Tolerance = rel("LOSS_F32", 1e-6);
    /// Two float64 implementations of the same equations (the library vs the fixtures' generators): round-off,
    /// measured ≤ 9.2e-16.
    pub const F64_ROUNDOFF: Tolerance = rel("F64_ROUNDOFF", 1e-14);
    /// A float64 loss against the fixture's: measured ≤ 2.1e-16.
    pub const F64_LOSS: Tolerance = rel("F64_LOSS", 2e-15);
    /// An analytic readout gradient against central finite differences (h = 1e-5, float64): measured ≤ 5.2e-10.
    pub const FINITE_DIFFERENCES: Tolerance = rel("FINITE_DIFFERENCES", 5e-9);

    // Trajectories: several Adam steps, free-running from the same start.
    /// Per-step losses of an f32 run (the emulator, the CLI, burn's CLI) against a float64 fixture or the f32
    /// reference: measured ≤ 8.9e-7 (the emulator on 7 PEs).
    pub const TRAJECTORY_LOSSES_F32: Tolerance = rel("TRAJECTORY_LOSSES_F32", 1e-5);
    /// Final weights of an f32 run against a float64 fixture: measured ≤ 2.5e-6 (the emulator on 7 PEs).
    pub const TRAJECTORY_WEIGHTS_F32: Tolerance = rel("TRAJECTORY_WEIGHTS_F32", 2e-5);
    /// Per-step losses of the float64 reference against its fixture: measured ≤ 6.5e-16.
    pub const TRAJECTORY_LOSSES_F64: Tolerance = rel("TRAJECTORY_LOSSES_F64", 1e-14);

    // Forced steps through the contender API (`contender_training.rs`): from the reference's state before step k,
    // one step of the contender against the reference's state after it.
    /// A forced step's loss, any contender vs the f32 reference: measured ≤ 1.1e-7 of max (wgpu e-prop, N = 4);
    /// chip, burn-cpu and the other wgpu cases 0.
    pub const STEP_LOSS: Tolerance = rel("STEP_LOSS", 1e-6);
    /// A forced step's weights: measured ≤ 1.17e-6 of max|W| (wgpu; Adam turns a gradient difference δ on an element
    /// with |g| ≲ ε into a step difference ≈ lr·δ/ε), 3.1e-7 burn-cpu, 1.5e-7 chip.
    pub const STEP_WEIGHTS: Tolerance = rel("STEP_WEIGHTS", 1.2e-5);
    /// A forced step's Adam m: measured ≤ 2.8e-7 of max|m| (wgpu), 1.6e-7 burn-cpu, 8e-8 chip.
    pub const STEP_ADAM_M: Tolerance = rel("STEP_ADAM_M", 3e-6);
    /// A forced step's Adam v (≈ g²: twice g's relative error, on tiny elements): measured ≤ 1.31e-5 of max|v|
    /// (burn-cpu BPTT), 3.7e-7 wgpu, 4.5e-8 chip.
    pub const STEP_ADAM_V: Tolerance = rel("STEP_ADAM_V", 1.3e-4);
    /// The f64 reference against the f32 one (BPTT, N = 3): measured ≤ 4.0e-7 of max (weights 2.5e-7, Adam m 4.0e-7,
    /// loss 0).
    pub const F64_VS_F32: Tolerance = rel("F64_VS_F32", 4e-6);
    /// Adam v of the f64 reference against the f32 one (v ≈ g² of tiny elements): measured ≤ 1.33e-5 of max|v|.
    pub const F64_VS_F32_ADAM_V: Tolerance = rel("F64_VS_F32_ADAM_V", 1.4e-4);

    /// The speech front end against librosa, at the paper's hop (log-mel features in dB, absolute): measured
    /// ≤ 5.7e-6 (tone440).
    pub const FEATURES_ABS: Tolerance = Tolerance { name: "FEATURES_ABS", rel: 0.0, abs: 6e-5 };
    /// The same at hop 16 (1,001 frames): measured ≤ 5.9e-5 (tone440: a pure tone leaves most mel bins near the
    /// floor, where f32 rounding of the power moves the dB value most); the other clips ≤ 9.5e-6.
    pub const FEATURES_ABS_HOP16: Tolerance = Tolerance { name: "FEATURES_ABS_HOP16", rel: 0.0, abs: 6e-4 };
}

/// Path of a committed fixture in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// All tensors of a fixture.
pub fn load_fixture(name: &str) -> std::collections::BTreeMap<String, Tensor> {
    tensors::read_all(&fixture(name)).unwrap_or_else(|e| panic!("cannot read fixture {name}: {e}"))
}

/// One tensor of a loaded file, as f64.
pub fn get(t: &std::collections::BTreeMap<String, Tensor>, name: &str) -> Vec<f64> {
    t.get(name).unwrap_or_else(|| panic!("tensor {name} missing; have {:?}", t.keys().collect::<Vec<_>>())).to_f64()
}

/// max|x|.
pub fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Cosine similarity.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Euclidean norm.
pub fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Parameters stored in a fixture.
pub fn fixture_params(t: &std::collections::BTreeMap<String, Tensor>, prefix: &str) -> Params<f64> {
    let dims = t[&format!("{prefix}w_in")].dims().to_vec();
    let n_out = t[&format!("{prefix}w_out")].dims()[1];
    Params {
        n_in: dims[0],
        n_rec: dims[1],
        n_out,
        w_in: get(t, &format!("{prefix}w_in")),
        w_rec: get(t, &format!("{prefix}w_rec")),
        w_out: get(t, &format!("{prefix}w_out")),
    }
}

/// The batch stored in a fixture.
pub fn fixture_batch(t: &std::collections::BTreeMap<String, Tensor>) -> BatchData {
    let dims = t["x"].dims().to_vec();
    let x = match &t["x"] {
        Tensor::F32 { data, .. } => data.clone(),
        other => panic!("fixture x must be f32, found {other:?}"),
    };
    let y = get(t, "y").iter().map(|&v| v as i64).collect();
    BatchData { x, y, batch: dims[0], t_steps: dims[1], n_in: dims[2] }
}

/// Writes a fixture's params and batch as the CLI's input files in a fresh temporary folder.
pub fn cli_inputs(t: &std::collections::BTreeMap<String, Tensor>) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("params.safetensors");
    let b = dir.path().join("batch.safetensors");
    tensors::write_params(&p, &fixture_params(t, "").cast(), vec![]).expect("write params");
    tensors::write_batch(&b, &fixture_batch(t)).expect("write batch");
    (dir, p, b)
}

/// Runs `snnbench` in-process with these arguments (program name added).
pub fn snnbench(args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["snnbench"];
    all.extend_from_slice(args);
    bench_harness::cli::run_args(all)
}

/// Params and batch of the paper's network with the authors' init and realistic smooth inputs (≈ 1 % spikes).
pub fn random_case(batch: usize, t_steps: usize, seed: u64) -> (models::NetConfig, Params<f64>, BatchData) {
    let cfg = models::NetConfig::default();
    let (p, data) = seeded_case(&cfg, batch, t_steps, seed, seed + 1000);
    (cfg, p.cast(), data)
}

/// Flattens params into one vector (w_in, w_rec, w_out).
pub fn flat(p: &Params<f64>) -> Vec<f64> {
    p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).copied().collect()
}

/// The GPU context every GPU test uses: one device per test binary, shared by its tests (running in parallel),
/// so that a kernel built for one test is not built again for the next (the slow part on lavapipe). Without an
/// adapter this panics with the install hint: tests fail, never skip (CI installs Mesa's lavapipe).
pub fn gpu() -> kernels::GpuContext {
    static SHARED: std::sync::OnceLock<kernels::GpuContext> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| kernels::GpuContext::new(None).unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}")))
        .clone()
}

/// Params and smooth realistic inputs for any network shape (authors' init, gain for ≈ 1 % spiking).
pub fn random_case_shaped(
    cfg: &models::NetConfig,
    batch: usize,
    t_steps: usize,
    seed: u64,
) -> (Params<f32>, BatchData) {
    seeded_case(cfg, batch, t_steps, seed, seed + 1)
}

fn seeded_case(
    cfg: &models::NetConfig,
    batch: usize,
    t_steps: usize,
    params_seed: u64,
    inputs_seed: u64,
) -> (Params<f32>, BatchData) {
    let p = Params::init_authors(cfg, params_seed);
    let gain = models::inputs::REALISTIC_GAIN;
    let (x, y) = models::inputs::smooth_random_batch(batch, t_steps, cfg.n_in, cfg.n_out, gain, inputs_seed);
    (p, BatchData { x, y, batch, t_steps, n_in: cfg.n_in })
}

/// Spike mismatches between two `[B, T, N]` records: (flat index) list; empty when identical.
pub fn spike_flips(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len(), "spike records differ in length");
    a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i).collect()
}

/// f32 params widened.
pub fn flat32(p: &Params<f32>) -> Vec<f64> {
    flat(&p.cast())
}

/// A bound for [`assert_close`]: |got − want| ≤ rel·max|want| + abs, with the name of its preset. Only the presets in
/// [`tol`] exist: the fields are private, so a test cannot pass a bound made up on the spot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    name: &'static str,
    rel: f64,
    abs: f64,
}

/// Compares `got` with `want` to `tol` (one of the [`tol`] presets: |got − want| ≤ rel·max|want| + abs). Fails (with
/// the first mismatches: index, both values, the bound) when lengths differ, anything is non-finite, or the reference
/// is all zero, so a broken reference cannot make a test pass. Returns the worst |got − want| / max|want|.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: Tolerance) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length {} vs reference {}", got.len(), want.len());
    assert!(!want.is_empty(), "{what}: empty reference");
    if let Some(i) = want.iter().position(|v| !v.is_finite()) {
        panic!("{what}: reference[{i}] = {} is not finite", want[i]);
    }
    if let Some(i) = got.iter().position(|v| !v.is_finite()) {
        panic!("{what}: value[{i}] = {} is not finite", got[i]);
    }
    let scale = max_abs(want);
    assert!(scale > 0.0, "{what}: the reference is all zero, a comparison with it would pass vacuously");
    let bound = tol.rel * scale + tol.abs;
    let bad: Vec<String> = got
        .iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (g, w))| (*g - *w).abs() > bound)
        .take(5)
        .map(|(i, (g, w))| format!("[{i}] got {g:.9e} want {w:.9e} |diff| {:.3e}", (g - w).abs()))
        .collect();
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max) / scale;
    record(what, tol, worst, scale, bound);
    assert!(
        bad.is_empty(),
        "{what}: {} values differ by more than {:e}·max|ref| + {:e} = {bound:.3e} (worst {worst:.3e}·max|ref|):\n  {}",
        got.iter().zip(want).filter(|(g, w)| (*g - *w).abs() > bound).count(),
        tol.rel,
        tol.abs,
        bad.join("\n  ")
    );
    worst
}

/// Compares gradients (or weights) tensor by tensor — `w_in`, `w_rec`, `w_out` each to `tol` of its own max —
/// so a tensor with small values (W_rec's gradient is ≈ 1/20 of the others') is not judged against another's
/// scale. Returns the worst relative error per tensor.
pub fn assert_close_per_tensor(what: &str, got: &Params<f32>, want: &Params<f32>, tol: Tolerance) -> [f64; 3] {
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    [
        assert_close(&format!("{what} w_in"), &f(&got.w_in), &f(&want.w_in), tol),
        assert_close(&format!("{what} w_rec"), &f(&got.w_rec), &f(&want.w_rec), tol),
        assert_close(&format!("{what} w_out"), &f(&got.w_out), &f(&want.w_out), tol),
    ]
}

/// With `SNNBENCH_TEST_ERRORS=FILE`, appends one line per comparison to FILE: preset, bound (rel, abs), worst error
/// relative to max|want|, worst absolute error, the share of the bound used, and what was compared. How the presets'
/// "measured" figures are taken (`scripts/tolerance-report.sh`).
fn record(what: &str, tol: Tolerance, worst_rel: f64, scale: f64, bound: f64) {
    let Some(path) = std::env::var_os("SNNBENCH_TEST_ERRORS") else { return };
    let used = if bound > 0.0 {
        worst_rel * scale / bound
    } else if worst_rel == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    let line = format!(
        "{}\t{:e}\t{:e}\t{:.3e}\t{:.3e}\t{:.3}\t{}\n",
        tol.name,
        tol.rel,
        tol.abs,
        worst_rel,
        worst_rel * scale,
        used,
        what.replace(['\t', '\n'], " ")
    );
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(line.as_bytes());
    }
}
