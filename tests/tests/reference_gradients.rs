//! `snnbench grads` (CPU backend, f32) against independent float64 references written by
//! `tests/fixtures/gen_reference.py`: JAX autodiff for BPTT, a numpy transcription of docs/model.md for e-prop.
//! Spikes must be identical; gradients within the named tolerances of max|g|.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use models::{Rule, TraceVariant, bptt::BpttOptions};
use tests::{assert_close, cli_inputs, fixture_batch, fixture_params, get, load_fixture, snnbench, tol};

fn check_cli(fixture: &str, tag: &str, args: &[&str], rel_tol: tests::Tolerance) {
    let t = load_fixture(fixture);
    let (dir, p, b) = cli_inputs(&t);
    let out = dir.path().join("grads.safetensors");
    let mut all = vec!["grads", "--params", p.to_str().unwrap(), "--batch", b.to_str().unwrap()];
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    all.extend_from_slice(args);
    snnbench(&all).expect("grads runs");
    let g = bench_harness::tensors::read_all(&out).expect("read output");
    assert_eq!(get(&g, "spikes"), get(&t, "spikes"), "{fixture} {tag}: spikes differ from the reference");
    let spikes: f64 = get(&g, "spikes").iter().sum();
    assert!(spikes > 0.0, "{fixture}: no spikes at all, the case would not test the recurrent path");
    for n in ["g_in", "g_rec", "g_out"] {
        let worst =
            assert_close(&format!("{fixture} {tag} {n}"), &get(&g, n), &get(&t, &format!("{tag}_{n}")), rel_tol);
        eprintln!("{fixture} {tag} {n}: max error {worst:.2e} of max|g|");
    }
    assert_close(&format!("{fixture} {tag} logits"), &get(&g, "logits"), &get(&t, "logits"), tol::LOGITS_F32);
    assert_close(&format!("{fixture} {tag} loss"), &get(&g, "loss"), &get(&t, &format!("{tag}_loss")), tol::LOSS_F32);
    assert!(g["loss"].dims().is_empty(), "loss must be a scalar of shape []");
}

#[test]
fn eprop_authors_batch1() {
    check_cli("reference_b1.safetensors", "eprop", &["--rule", "eprop"], tol::EPROP_F32);
}

#[test]
fn eprop_authors_batch16() {
    check_cli("reference_b16.safetensors", "eprop", &["--rule", "eprop", "--trace", "authors"], tol::EPROP_F32);
}

#[test]
fn eprop_aligned_batch16() {
    check_cli("reference_b16.safetensors", "eprop_aligned", &["--rule", "eprop", "--trace", "aligned"], tol::EPROP_F32);
}

#[test]
fn bptt_batch1() {
    check_cli("reference_b1.safetensors", "bptt", &["--rule", "bptt"], tol::BPTT_F32);
}

#[test]
fn bptt_batch16() {
    check_cli("reference_b16.safetensors", "bptt", &["--rule", "bptt"], tol::BPTT_F32);
}

#[test]
fn bptt_detach_reset_batch1() {
    check_cli("reference_b1.safetensors", "bptt_detach", &["--rule", "bptt", "--detach-reset"], tol::BPTT_F32);
}

#[test]
fn bptt_detach_reset_batch16() {
    check_cli("reference_b16.safetensors", "bptt_detach", &["--rule", "bptt", "--detach-reset"], tol::BPTT_F32);
}

/// The f64 mode of the reference equals the float64 references to round-off: same equations, not just close.
#[test]
fn f64_reference_matches_to_roundoff() {
    for fixture in ["reference_b1.safetensors", "reference_b16.safetensors"] {
        let t = load_fixture(fixture);
        let p = fixture_params(&t, "");
        let data = fixture_batch(&t);
        let cfg = models::NetConfig::default();
        for (tag, rule) in [
            ("eprop", Rule::Eprop(TraceVariant::Authors)),
            ("eprop_aligned", Rule::Eprop(TraceVariant::Aligned)),
            ("bptt", Rule::Bptt(BpttOptions::default())),
            ("bptt_detach", Rule::Bptt(BpttOptions { detach_reset: true, stop_recurrent: false })),
        ] {
            let out = models::compute_grads::<f64>(&cfg, &p, &data.as_batch(), rule, 1e-5).expect("grads");
            for (n, g) in [("g_in", &out.grads.w_in), ("g_rec", &out.grads.w_rec), ("g_out", &out.grads.w_out)] {
                assert_close(
                    &format!("{fixture} f64 {tag} {n}"),
                    g,
                    &get(&t, &format!("{tag}_{n}")),
                    tol::F64_ROUNDOFF,
                );
            }
            assert_close(
                &format!("{fixture} f64 {tag} loss"),
                &[out.loss],
                &get(&t, &format!("{tag}_loss")),
                tol::F64_LOSS,
            );
        }
    }
}
