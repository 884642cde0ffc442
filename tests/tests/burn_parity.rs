//! The burn baseline (BPTT through burn's autodiff), through the contender API every command uses, against the CPU
//! reference: gradients of full and reset-detached BPTT on random realistic cases, batch 1 and 16, on burn's CPU
//! backend and its wgpu backend (lavapipe in CI); identical spikes; gradients per tensor within
//! `tol::BPTT_F32_PER_TENSOR` of that tensor's max|g|. burn's Adam steps are checked forced, step by step, with every
//! other contender in `contender_training.rs`.

use bench_harness::contender::{self, Data, Kind, StepConfig};
use models::{AdamConfig, AdamState, NetConfig, Rule, bptt::BpttOptions, compute_grads};
use tests::{assert_close, assert_close_per_tensor, random_case_shaped, spike_flips, tol};

const L2: f64 = 1e-5;

fn check(kind: Kind, batch: usize, seed: u64) {
    check_net(kind, &NetConfig::default(), batch, 100, seed);
}

fn check_net(kind: Kind, cfg: &NetConfig, batch: usize, t_steps: usize, seed: u64) {
    let (p, data) = random_case_shaped(cfg, batch, t_steps, seed);
    let mut c = contender::open(kind, cfg, None).expect("open");
    c.load_data(Data { x: &data.x, y: &data.y, t_steps: data.t_steps }).expect("data");
    c.set_state(&p, &AdamState::like(&p)).expect("state");
    for opts in [BpttOptions::default(), BpttOptions { detach_reset: true, stop_recurrent: false }] {
        let what = format!("{} B = {batch} detach_reset = {}", kind.name(), opts.detach_reset);
        let rule = Rule::Bptt(opts);
        let cpu = compute_grads::<f32>(cfg, &p, &data.as_batch(), rule, L2).expect("cpu");
        let step = StepConfig { rule, lr: 0.0, l2: L2, adam: AdamConfig::default() };
        let g = c.grads(&step).expect("burn");
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
        assert_close(&format!("{what} logits"), &l, &lc, tol::LOGITS_F32);
        assert_close(&format!("{what} loss"), &[g.loss as f64], &[cpu.loss as f64], tol::LOSS_F32);
    }
}

#[test]
fn burn_cpu_bptt_gradients_batch_1_and_16() {
    check(Kind::BurnCpu, 1, 41);
    check(Kind::BurnCpu, 16, 42);
}

#[test]
fn burn_wgpu_bptt_gradients_batch_1_and_16() {
    check(Kind::BurnWgpu, 1, 43);
    check(Kind::BurnWgpu, 16, 44);
}

/// Plain LIF neurons beside adaptive ones (per-neuron β) and a readout window (the cue task's description).
#[test]
fn burn_cpu_bptt_lif_mix_and_readout_window() {
    let cfg = NetConfig { n_lif: 60, readout_window: 40, ..NetConfig::default() };
    check_net(Kind::BurnCpu, &cfg, 4, 150, 45);
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
    assert_close("CLI train-steps losses", &losses[1], &losses[0], tol::TRAJECTORY_LOSSES_F32);
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
