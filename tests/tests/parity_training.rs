//! GPU training steps (gradients + loss_reduce + adam, recorded back to back with no host round trip) against the
//! CPU reference's `train_steps`. Weights, losses and Adam state are compared step by step from the same state
//! ("forced", docs/model.md); free-running losses only within a loose bound, since a near-threshold spike flip makes
//! trajectories diverge.

use kernels::GpuTrainer;
use models::{AdamConfig, AdamState, NetConfig, Rule, TraceVariant, bptt::BpttOptions};
use tests::{assert_close, flat32, gpu, random_case_shaped};

fn check(rule: Rule, batch_size: usize, steps: usize) {
    let cfg = NetConfig::default();
    let (p0, data) = random_case_shaped(&cfg, 8, 100, 31);
    let adam_cfg = AdamConfig::default();
    let mut p_free = p0.clone();
    let mut adam_free = AdamState::like(&p0);
    let cpu_losses = models::train_steps(
        &cfg,
        &mut p_free,
        &mut adam_free,
        &adam_cfg,
        &data.as_batch(),
        rule,
        1e-5,
        steps,
        batch_size,
        0.01,
    )
    .expect("cpu");
    let ctx = gpu();
    let tr = GpuTrainer::new(&ctx, &cfg, rule, data.batch, batch_size, data.t_steps, false, steps).expect("trainer");
    tr.upload_batch(&data.x, &data.y).expect("upload");
    tr.set_params(&p0).expect("params");
    tr.set_adam(&AdamState::like(&p0)).expect("adam");
    let (losses, _) = tr.train(0, steps, 0.01, 1e-5, &adam_cfg).expect("train");
    let what = format!("{} N = {batch_size}", rule.name());
    let l64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    // Free-running: the first step starts from the same state and must agree closely; later steps may diverge
    // after a near-threshold spike flip (docs/model.md: compare forced, not free-running; seen on an H200, whose FMA
    // contraction differs from lavapipe's), so they only have to stay near the reference's trajectory.
    assert_close(&format!("{what} first step loss"), &l64(&losses[..1]), &l64(&cpu_losses[..1]), 1e-5);
    let worst = assert_close(&format!("{what} free-running losses"), &l64(&losses), &l64(&cpu_losses), 2e-2);
    eprintln!("{what}: free-running per-step losses within {worst:.2e} of max (forced steps are checked below)");
    assert_eq!(tr.adam_state().expect("adam").step, steps as u64);

    // Forced: from the CPU's state before step k, one GPU step must land on the CPU's state after step k.
    let mut p = p0.clone();
    let mut adam = AdamState::like(&p);
    let mut worst_w: f64 = 0.0;
    for k in 0..steps {
        tr.set_params(&p).expect("params");
        tr.set_adam(&adam).expect("adam");
        let (l, _) = tr.train(k, 1, 0.01, 1e-5, &adam_cfg).expect("train");
        let cpu_k = models::train_steps_from(
            &cfg,
            &mut p,
            &mut adam,
            &adam_cfg,
            &data.as_batch(),
            rule,
            1e-5,
            k,
            1,
            batch_size,
            0.01,
        )
        .expect("cpu");
        assert_close(&format!("{what} step {k} loss"), &l64(&l), &l64(&cpu_k), 1e-5);
        let w = tr.params().expect("params");
        // Adam turns a gradient difference δ on an element with |g| ≲ ε into a step difference ≈ lr_t·δ/ε.
        worst_w = worst_w.max(assert_close(&format!("{what} step {k} weights"), &flat32(&w), &flat32(&p), 1e-5));
        let a = tr.adam_state().expect("adam");
        assert_eq!(a.step, adam.step);
        assert_close(&format!("{what} step {k} Adam m"), &flat32(&a.m), &flat32(&adam.m), 1e-4);
    }
    eprintln!("{what}: forced steps, weights within {worst_w:.2e} of max|W|");
}

#[test]
fn eprop_online_20_steps() {
    check(Rule::Eprop(TraceVariant::Authors), 1, 20);
}

#[test]
fn bptt_minibatch_4_for_10_steps() {
    check(Rule::Bptt(BpttOptions::default()), 4, 10);
}

#[test]
fn eprop_wraps_around_the_batch() {
    // 3 steps of 5 from 8 samples: the third minibatch wraps (samples 2, 3, 4, 5, 6 then 7, 0, …).
    check(Rule::Eprop(TraceVariant::Authors), 5, 3);
}
