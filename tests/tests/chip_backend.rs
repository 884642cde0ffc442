//! `--backend chip` (the emulated SpiNNaker 2) on the command line: `grads` equals the float64 reference per tensor,
//! `train-steps` gives exactly what the emulator gives through its API, `bench-train` reports host throughput and
//! the chip's modelled time and energy, and what the chip cannot serve (BPTT, minibatches in training, the aligned
//! traces) is one clear error each.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use models::{
    AdamConfig, AdamState, NetConfig, Params,
    spinnaker2::{Emulator, Partition},
};
use tests::snnbench;

#[test]
fn train_steps_on_the_chip_equal_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let (p, b, out) = (dir.path().join("p.st"), dir.path().join("b.st"), dir.path().join("out.st"));
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    snnbench(&["init", "--seed", "3", "--out", &s(&p)]).unwrap();
    snnbench(&["random-batch", "--batch", "3", "--steps-t", "30", "--seed", "4", "--out", &s(&b)]).unwrap();
    snnbench(&[
        "train-steps",
        "--rule",
        "eprop",
        "--backend",
        "chip",
        "--params",
        &s(&p),
        "--batch",
        &s(&b),
        "--steps",
        "5",
        "--batch-size",
        "1",
        "--lr",
        "0.01",
        "--out",
        &s(&out),
    ])
    .unwrap();
    let got = bench_harness::tensors::read_params(&out).unwrap();
    // The same through the API: step k trains sample k mod 3.
    let cfg = NetConfig::default();
    let p0: Params<f32> = bench_harness::tensors::read_params(&p).unwrap();
    let data = bench_harness::tensors::read_batch(&b, cfg.n_in, cfg.n_out).unwrap();
    let mut emu = Emulator::new(&cfg, &Partition::balanced(cfg.n_rec, 12), &p0);
    emu.set_adam(&AdamState::like(&p0));
    let len = 30 * cfg.n_in;
    for k in 0..5 {
        let i = k % 3;
        emu.train_sample(&data.x[i * len..(i + 1) * len], data.y[i] as usize, &AdamConfig::default(), 0.01, 1e-5);
    }
    let want = emu.params();
    let bits = |p: &Params<f32>| p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&want), "train-steps --backend chip differs from the emulator");
    assert_ne!(bits(&got), bits(&p0), "the weights did not move");
}

#[test]
fn bench_train_on_the_chip_reports_its_modelled_cost() {
    let j: serde_json::Value = serde_json::from_str(
        &snnbench(&[
            "bench-train",
            "--rule",
            "eprop",
            "--backend",
            "chip",
            "--batch",
            "1",
            "--samples",
            "8",
            "--reps",
            "1",
            "--json",
        ])
        .unwrap(),
    )
    .unwrap();
    assert_eq!(j["backend"], "chip");
    assert!(j["samples_per_s"].as_f64().unwrap() > 0.0);
    let c = &j["chip"];
    assert_eq!(c["pes"], 12);
    assert_eq!(c["real_time"], true);
    // T = 100 ticks of 1 ms plus one for the end of the sample.
    assert!((c["chip_time_per_sample_s"].as_f64().unwrap() - 0.101).abs() < 1e-12);
    let (total, dynamic) = (
        c["chip_energy_j_per_sample_total"].as_f64().unwrap(),
        c["chip_energy_j_per_sample_dynamic"].as_f64().unwrap(),
    );
    // The total includes the 75 mW floor for 101 ms (7.575 mJ) on top of the dynamic energy.
    assert!(dynamic > 0.0 && total > dynamic + 7.575e-3, "{total} {dynamic}");
    assert_eq!(c["samples_counted"], 8);
}

#[test]
fn what_the_chip_cannot_do_is_one_clear_error() {
    let err = |args: &[&str]| format!("{:#}", snnbench(args).expect_err("must be refused"));
    let e = err(&["bench-train", "--rule", "bptt", "--backend", "chip", "--batch", "1"]);
    assert!(e.contains("e-prop"), "{e}");
    let e = err(&["bench-train", "--rule", "eprop", "--backend", "chip", "--batch", "8"]);
    assert!(e.contains("--batch 1"), "{e}");
    let e = err(&["bench-train", "--rule", "eprop", "--trace", "aligned", "--backend", "chip", "--batch", "1"]);
    assert!(e.contains("authors"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let (p, b) = (dir.path().join("p.st"), dir.path().join("b.st"));
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    snnbench(&["init", "--out", &s(&p)]).unwrap();
    snnbench(&["random-batch", "--batch", "2", "--steps-t", "10", "--out", &s(&b)]).unwrap();
}

/// The chip's e-prop gradient of a batch (each sample's gradient without its update, averaged as the reference
/// does) against the CPU reference in float64: spikes identical, each tensor within 5e-6 of its max|g| (measured
/// 4.0e-7 g_in, 4.1e-7 g_rec, 5.0e-7 g_out, batch 8, T = 100; the bound is 10× the largest).
#[test]
fn grads_on_the_chip_equal_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (p, b) = (dir.path().join("p.st"), dir.path().join("b.st"));
    snnbench(&["init", "--seed", "1", "--out", &s(&p)]).unwrap();
    snnbench(&["random-batch", "--batch", "8", "--steps-t", "100", "--seed", "2", "--out", &s(&b)]).unwrap();
    let run = |backend: &str, precision: &str| {
        let out = dir.path().join(format!("g-{backend}.st"));
        snnbench(&[
            "grads",
            "--rule",
            "eprop",
            "--backend",
            backend,
            "--precision",
            precision,
            "--params",
            &s(&p),
            "--batch",
            &s(&b),
            "--out",
            &s(&out),
        ])
        .unwrap();
        bench_harness::tensors::read_all(&out).unwrap()
    };
    let (chip, reference) = (run("chip", "f32"), run("cpu", "f64"));
    assert_eq!(tests::get(&chip, "spikes"), tests::get(&reference, "spikes"), "spikes differ");
    for name in ["g_in", "g_rec", "g_out", "logits", "loss"] {
        let (a, r) = (tests::get(&chip, name), tests::get(&reference, name));
        let worst = tests::assert_close(&format!("chip {name}"), &a, &r, tests::tol::CHIP_VS_F64);
        eprintln!("chip {name}: within {worst:.2e} of max|ref|");
    }
}
