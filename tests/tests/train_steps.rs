//! `train-steps`: 20 online e-prop Adam steps (batch size 1) against the float64 numpy reference, step by step.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use bench_harness::tensors::BatchData;
use models::{AdamConfig, AdamState, NetConfig, Params, Rule, TraceVariant, compute_grads};
use tests::{assert_close, cli_inputs, fixture_batch, fixture_params, flat, get, load_fixture, snnbench, tol};

const FIXTURE: &str = "reference_train_eprop.safetensors";
const STEPS: usize = 20;

/// The fixture, its starting weights (f64), its batch and the paper's network.
fn setup() -> (std::collections::BTreeMap<String, bench_harness::tensors::Tensor>, Params<f64>, BatchData, NetConfig) {
    let t = load_fixture(FIXTURE);
    let p = fixture_params(&t, "");
    let data = fixture_batch(&t);
    (t, p, data, NetConfig::default())
}

/// The f64 reference run free: per-step losses and final weights equal numpy's to round-off.
#[test]
fn f64_training_matches_reference() {
    let (t, mut p, data, cfg) = setup();
    let mut adam = AdamState::like(&p);
    let rule = Rule::Eprop(TraceVariant::Authors);
    let losses = models::train_steps(
        &cfg,
        &mut p,
        &mut adam,
        &AdamConfig::default(),
        &data.as_batch(),
        rule,
        1e-5,
        STEPS,
        1,
        0.01,
    )
    .expect("train");
    assert_close("losses", &losses, &get(&t, "losses"), tol::TRAJECTORY_LOSSES_F64);
    assert_close("final weights", &flat(&p), &flat(&fixture_params(&t, "final_")), tol::F64_ROUNDOFF);
    assert_eq!(adam.step, STEPS as u64);
}

/// Forced comparison: at every step of the f64 trajectory, the f32 gradient from the same weights matches.
#[test]
fn f32_gradients_match_f64_at_every_step() {
    let (_, mut p, data, cfg) = setup();
    let mut adam = AdamState::like(&p);
    let rule = Rule::Eprop(TraceVariant::Authors);
    let sample_len = data.t_steps * data.n_in;
    for k in 0..STEPS {
        let b = k % data.batch;
        let x = &data.x[b * sample_len..(b + 1) * sample_len];
        let y = &data.y[b..b + 1];
        let mb = models::Batch::new(x, y, data.t_steps, data.n_in, cfg.n_out).expect("batch");
        let g64 = compute_grads::<f64>(&cfg, &p, &mb, rule, 1e-5).expect("f64");
        let g32 = compute_grads::<f32>(&cfg, &p.cast(), &mb, rule, 1e-5).expect("f32");
        assert_eq!(g64.spikes, g32.spikes, "step {k}: spikes differ");
        let g32: models::Params<f64> = g32.grads.cast();
        // Per tensor: W_rec's gradient is ≈ 1/20 of the others', so one joined bound would not see it.
        for (n, a, b) in [
            ("g_in", &g32.w_in, &g64.grads.w_in),
            ("g_rec", &g32.w_rec, &g64.grads.w_rec),
            ("g_out", &g32.w_out, &g64.grads.w_out),
        ] {
            assert_close(&format!("step {k} {n}"), a, b, tol::EPROP_F32_ONE_SAMPLE);
        }
        adam.update(&AdamConfig::default(), 0.01, &mut p, &g64.grads);
    }
}

/// The CLI (f32) free-running: per-step losses and final weights stay close to the float64 reference.
#[test]
fn cli_train_steps_matches_reference() {
    let t = load_fixture(FIXTURE);
    let (dir, params, batch) = cli_inputs(&t);
    let out = dir.path().join("trained.safetensors");
    let steps = STEPS.to_string();
    snnbench(&[
        "train-steps",
        "--rule",
        "eprop",
        "--params",
        params.to_str().unwrap(),
        "--batch",
        batch.to_str().unwrap(),
        "--steps",
        &steps,
        "--batch-size",
        "1",
        "--lr",
        "0.01",
        "--out",
        out.to_str().unwrap(),
    ])
    .expect("train-steps runs");
    let o = bench_harness::tensors::read_all(&out).expect("read");
    let worst = assert_close("losses", &get(&o, "losses"), &get(&t, "losses"), tol::TRAJECTORY_LOSSES_F32);
    eprintln!("per-step losses: max error {worst:.2e} of max loss");
    let got = flat(&fixture_params(&o, ""));
    let want = flat(&fixture_params(&t, "final_"));
    let worst = assert_close("final weights", &got, &want, tol::TRAJECTORY_WEIGHTS_F32);
    eprintln!("final weights after {STEPS} steps: max error {worst:.2e} of max|W|");
    assert_eq!(get(&o, "adam_step"), vec![STEPS as f64]);
}
