//! Helpers shared by the integration tests: fixture paths, tolerance presets, comparisons that refuse to pass
//! vacuously (all-zero or non-finite references fail), and temporary input files for the CLI.

use std::path::{Path, PathBuf};

use bench_harness::tensors::{self, BatchData, Tensor};
use models::Params;

/// Tolerances, as a fraction of the reference's max|g| over the compared tensor.
pub mod tol {
    /// e-prop gradients, f32 implementation vs float64 reference (issue #2's contract). Measured: ≈ 6e-7.
    pub const EPROP_F32: f64 = 1e-5;
    /// BPTT gradients, f32 vs float64 (issue #2's contract; the backward pass sums more terms). Measured: ≈ 7e-7.
    pub const BPTT_F32: f64 = 1e-4;
    /// Two float64 implementations of the same equations: round-off only.
    pub const F64_ROUNDOFF: f64 = 1e-9;
    /// BPTT gradients of two f32 implementations (burn, the WGSL work splits) against the f32 reference, per tensor:
    /// measured ≤ 1.71e-6 (burn-wgpu, B = 16, g_in), ≤ 1.28e-6 (WGSL, subgroup kernels, one gradient group); ≈ 10×.
    pub const BPTT_F32_PER_TENSOR: f64 = 2e-5;
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

/// Compares `got` with `want` to `rel_tol · max|want|`. Fails (with the first mismatches: index, both values, the
/// tolerance) when lengths differ, anything is non-finite, or the reference is all zero, so a broken reference
/// cannot make a test pass. Returns the observed max error relative to max|want|.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rel_tol: f64) -> f64 {
    assert_within(what, got, want, Tolerance { rel: rel_tol, abs: 0.0 })
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

/// The GPU context every GPU test uses. Without an adapter this panics with the install hint: tests fail, never
/// skip (CI installs Mesa's lavapipe).
pub fn gpu() -> kernels::GpuContext {
    kernels::GpuContext::new(None).unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}"))
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

/// A bound for [`assert_within`]: |got − want| ≤ rel·max|want| + abs. Every preset in [`step_tol`] says where its numbers
/// came from; keep them about 10× the measured error, so a regression cannot hide inside them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Relative to max|want|.
    pub rel: f64,
    /// Absolute.
    pub abs: f64,
}

/// The tolerance presets of the forced-step contender tests (`tests/tests/contender_training.rs`), each ≈ 10× the
/// worst error measured on lavapipe (Mesa 22.3.6 llvmpipe) and the 2-core VM, 2026-12-01.
pub mod step_tol {
    use super::Tolerance;

    /// The reference in f32 against itself through the contender API (same code, same order): exact.
    pub const EXACT: Tolerance = Tolerance { rel: 0.0, abs: 0.0 };
    /// A forced step's loss, any contender vs the f32 reference: measured ≤ 1.1e-7 of max (wgpu e-prop, N = 4);
    /// chip, burn-cpu and the other wgpu cases 0.
    pub const STEP_LOSS: Tolerance = Tolerance { rel: 1e-6, abs: 0.0 };
    /// A forced step's weights: measured ≤ 1.17e-6 of max|W| (wgpu; Adam turns a gradient difference δ on an element
    /// with |g| ≲ ε into a step difference ≈ lr·δ/ε), 3.1e-7 burn-cpu, 1.5e-7 chip.
    pub const STEP_WEIGHTS: Tolerance = Tolerance { rel: 1.2e-5, abs: 0.0 };
    /// A forced step's Adam m: measured ≤ 2.8e-7 of max|m| (wgpu), 1.6e-7 burn-cpu, 8e-8 chip.
    pub const STEP_ADAM_M: Tolerance = Tolerance { rel: 3e-6, abs: 0.0 };
    /// A forced step's Adam v (≈ g²: twice g's relative error, on tiny elements): measured ≤ 1.31e-5 of max|v|
    /// (burn-cpu BPTT), 3.7e-7 wgpu, 4.5e-8 chip.
    pub const STEP_ADAM_V: Tolerance = Tolerance { rel: 1.3e-4, abs: 0.0 };
    /// The f64 reference against the f32 one (BPTT, N = 3): measured ≤ 4.0e-7 of max (weights 2.5e-7, Adam m 4.0e-7,
    /// loss 0).
    pub const F64_VS_F32: Tolerance = Tolerance { rel: 4e-6, abs: 0.0 };
    /// Adam v of the f64 reference against the f32 one (v ≈ g² of tiny elements): measured ≤ 1.33e-5 of max|v|.
    pub const F64_VS_F32_ADAM_V: Tolerance = Tolerance { rel: 1.4e-4, abs: 0.0 };
}

/// Compares `got` with `want` to `tol` (see [`Tolerance`]); the same failure report and the same refusal of an
/// all-zero or non-finite reference as [`assert_close`]. Returns the worst |got − want| / max|want|.
pub fn assert_within(what: &str, got: &[f64], want: &[f64], tol: Tolerance) -> f64 {
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

/// Compares gradients (or weights) tensor by tensor — `w_in`, `w_rec`, `w_out` each to `rel_tol` of its own max —
/// so a tensor with small values (W_rec's gradient is ≈ 1/20 of the others') is not judged against another's
/// scale. Returns the worst relative error per tensor.
pub fn assert_close_per_tensor(what: &str, got: &Params<f32>, want: &Params<f32>, rel_tol: f64) -> [f64; 3] {
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    [
        assert_close(&format!("{what} w_in"), &f(&got.w_in), &f(&want.w_in), rel_tol),
        assert_close(&format!("{what} w_rec"), &f(&got.w_rec), &f(&want.w_rec), rel_tol),
        assert_close(&format!("{what} w_out"), &f(&got.w_out), &f(&want.w_out), rel_tol),
    ]
}
