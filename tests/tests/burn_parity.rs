//! The burn baseline (BPTT through burn's autodiff) against the CPU reference: gradients of full and reset-detached
//! BPTT on random realistic cases, batch 1 and 16, on burn's CPU backend and its wgpu backend (lavapipe in CI);
//! identical spikes; gradients within 1e-4 of max|g| (the contract); and Adam steps forced from the same
//! state, which checks burn-side Adam against the C code's (docs/model.md).

use burn_baseline::BurnBackend;
use models::{AdamConfig, AdamState, NetConfig, Rule, bptt::BpttOptions, compute_grads};
use tests::{assert_close, assert_close_per_tensor, flat32, random_case_shaped, spike_flips, tol};

const L2: f64 = 1e-5;

fn check(backend: BurnBackend, batch: usize, seed: u64) {
    check_net(backend, &NetConfig::default(), batch, 100, seed);
}

fn check_net(backend: BurnBackend, cfg: &NetConfig, batch: usize, t_steps: usize, seed: u64) {
    let cfg = cfg.clone();
    let (p, data) = random_case_shaped(&cfg, batch, t_steps, seed);
    for opts in [BpttOptions::default(), BpttOptions { detach_reset: true, stop_recurrent: false }] {
        let what = format!("{} B = {batch} detach_reset = {}", backend.name(), opts.detach_reset);
        let cpu = compute_grads::<f32>(&cfg, &p, &data.as_batch(), Rule::Bptt(opts), L2).expect("cpu");
        let g = burn_baseline::grads(backend, &cfg, &p, &data.x, &data.y, data.t_steps, opts, L2).expect("burn");
        let flips = spike_flips(&cpu.spikes, &g.spikes);
        assert!(flips.is_empty(), "{what}: {} spike flips", flips.len());
        assert!(cpu.spikes.contains(&1), "{what}: no spikes");
        let worst =
            assert_close_per_tensor(&format!("{what} gradients"), &g.grads, &cpu.grads, tol::BPTT_F32_PER_TENSOR);
        eprintln!(
            "{what}: gradients within {:.2e} {:.2e} {:.2e} of max|g| (g_in, g_rec, g_out)",
            worst[0], worst[1], worst[2]
        );
        let l: Vec<f64> = g.logits.iter().map(|&v| v as f64).collect();
        let lc: Vec<f64> = cpu.logits.iter().map(|&v| v as f64).collect();
        assert_close(&format!("{what} logits"), &l, &lc, 1e-5);
        assert_close(&format!("{what} loss"), &[g.loss as f64], &[cpu.loss as f64], 1e-6);
    }
}

#[test]
fn burn_cpu_bptt_gradients_batch_1_and_16() {
    check(BurnBackend::Cpu, 1, 41);
    check(BurnBackend::Cpu, 16, 42);
}

#[test]
fn burn_wgpu_bptt_gradients_batch_1_and_16() {
    check(BurnBackend::Wgpu, 1, 43);
    check(BurnBackend::Wgpu, 16, 44);
}

/// Three Adam steps of 4 samples, each from the reference's state before it.
/// Plain LIF neurons beside adaptive ones (per-neuron β) and a readout window (the cue task's description).
#[test]
fn burn_cpu_bptt_lif_mix_and_readout_window() {
    let cfg = NetConfig { n_lif: 60, readout_window: 40, ..NetConfig::default() };
    check_net(BurnBackend::Cpu, &cfg, 4, 150, 45);
}

#[test]
fn burn_adam_steps_forced() {
    let cfg = NetConfig::default();
    let (p0, data) = random_case_shaped(&cfg, 8, 60, 45);
    let adam_cfg = AdamConfig::default();
    let rule = Rule::Bptt(BpttOptions::default());
    let (mut p, mut adam) = (p0.clone(), AdamState::like(&p0));
    for k in 0..3 {
        // Step k uses samples (k·4 + i) mod 8: rotate the data so that burn's step 0 is the reference's step k.
        let len = data.t_steps * cfg.n_in;
        let s0 = (k * 4) % 8;
        let mut x = data.x[s0 * len..].to_vec();
        x.extend_from_slice(&data.x[..s0 * len]);
        let mut y = data.y[s0..].to_vec();
        y.extend_from_slice(&data.y[..s0]);
        let (mut pb, mut ab) = (p.clone(), adam.clone());
        let lb = burn_baseline::train_steps(
            BurnBackend::Cpu,
            &cfg,
            &mut pb,
            &mut ab,
            &adam_cfg,
            &x,
            &y,
            data.t_steps,
            BpttOptions::default(),
            L2,
            1,
            4,
            0.01,
        )
        .expect("burn");
        let lc =
            models::train_steps_from(&cfg, &mut p, &mut adam, &adam_cfg, &data.as_batch(), rule, L2, k, 1, 4, 0.01)
                .expect("cpu");
        assert_close(&format!("step {k} loss"), &[lb[0] as f64], &[lc[0] as f64], 1e-5);
        assert_eq!(ab.step, adam.step);
        assert_close(&format!("step {k} weights"), &flat32(&pb), &flat32(&p), 1e-5);
        assert_close(&format!("step {k} Adam m"), &flat32(&ab.m), &flat32(&adam.m), 1e-4);
    }
}

/// The CLI: `grads` and `train-steps` with `--backend burn-cpu` write the same tensors as `--backend cpu` (within the
/// contract), with and without `--detach-reset`; e-prop on a burn backend is refused with a clear error.
#[test]
fn cli_burn_backend_matches_cpu() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = NetConfig::default();
    let (p, data) = random_case_shaped(&cfg, 4, 50, 46);
    let pp = dir.path().join("p.safetensors");
    let bp = dir.path().join("b.safetensors");
    bench_harness::tensors::write_params(&pp, &p, vec![]).expect("params");
    bench_harness::tensors::write_batch(&bp, &data).expect("batch");
    let path = |n: &str| dir.path().join(n).display().to_string();
    let (ps, bs) = (pp.display().to_string(), bp.display().to_string());
    for detach in [false, true] {
        let mut outs = vec![];
        for backend in ["cpu", "burn-cpu"] {
            let out = path(&format!("g-{backend}-{detach}.safetensors"));
            let mut args =
                vec!["grads", "--rule", "bptt", "--backend", backend, "--params", &ps, "--batch", &bs, "--out", &out];
            if detach {
                args.push("--detach-reset");
            }
            tests::snnbench(&args).expect("grads");
            outs.push(bench_harness::tensors::read_all(std::path::Path::new(&out)).expect("read"));
        }
        for name in ["g_in", "g_rec", "g_out", "logits"] {
            let (a, b) = (outs[1][name].to_f64(), outs[0][name].to_f64());
            assert_close(&format!("CLI {name} detach={detach}"), &a, &b, tol::BPTT_F32);
        }
        assert_eq!(outs[1]["spikes"].to_f64(), outs[0]["spikes"].to_f64());
    }
    let mut losses = vec![];
    for backend in ["cpu", "burn-cpu"] {
        let out = path(&format!("t-{backend}.safetensors"));
        tests::snnbench(&[
            "train-steps",
            "--rule",
            "bptt",
            "--backend",
            backend,
            "--params",
            &ps,
            "--batch",
            &bs,
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--out",
            &out,
        ])
        .expect("train-steps");
        losses.push(bench_harness::tensors::read_all(std::path::Path::new(&out)).expect("read")["losses"].to_f64());
    }
    assert_close("CLI train-steps losses", &losses[1], &losses[0], 1e-5);
    let err = tests::snnbench(&[
        "grads",
        "--rule",
        "eprop",
        "--backend",
        "burn-cpu",
        "--params",
        &ps,
        "--batch",
        &bs,
        "--out",
        &path("x"),
    ])
    .expect_err("e-prop on burn");
    assert!(format!("{err:#}").contains("--rule bptt"), "{err:#}");
}
