//! GPU buffer accounting: e-prop's bytes (input excluded) do not depend on T; BPTT's history is exactly linear in
//! T; `bench-train --json` carries the contract keys.

use kernels::GpuTrainer;
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions};
use tests::{gpu, snnbench};

#[test]
fn eprop_bytes_are_flat_in_t_and_bptt_history_is_linear() {
    let ctx = gpu();
    let cfg = NetConfig::default();
    let bytes = |rule, t| GpuTrainer::new(&ctx, &cfg, rule, 4, 4, t, false, 1).expect("trainer").bytes();
    let e = Rule::Eprop(TraceVariant::Authors);
    let b = Rule::Bptt(BpttOptions::default());
    // e-prop: constant in T within each kernel path — T ≤ TC (one chunk; on a CPU adapter the subgroup path with no
    // per-synapse state) and T > TC (chunked traces) — and one chunk never needs more than several.
    let tc = kernels::trainer::EPROP_CHUNK;
    for ts in [vec![25, tc], vec![tc + 1, 250, 1000]] {
        let first = bytes(e, ts[0]);
        let path = kernels::eprop_kernel_path(&cfg, 4, ts[0], &ctx);
        for &t in &ts[1..] {
            let et = bytes(e, t);
            assert_eq!(kernels::eprop_kernel_path(&cfg, 4, t, &ctx), path);
            assert_eq!(et.total(), first.total(), "e-prop bytes at T = {t} vs T = {} ({path})", ts[0]);
            assert_eq!(et.history, 0);
            assert!(et.input > first.input, "the input grows with T");
        }
    }
    let (one, chunked) = (bytes(e, 25), bytes(e, 250));
    assert!(one.total() <= chunked.total(), "one chunk {one:?} needs more than several {chunked:?}");
    let (h100, h200, h400) = (bytes(b, 100).history, bytes(b, 200).history, bytes(b, 400).history);
    assert!(h100 > 0);
    assert_eq!(h200, 2 * h100);
    assert_eq!(h400, 4 * h100);
    // At T = 100 BPTT's history is smaller than e-prop's per-synapse traces (docs/hardware.md's crossover).
    assert!(bytes(b, 100).total() < chunked.total());
}

/// `bench-train --json` of a tiny wgpu case (batch 2, T 20, 2 samples, 1 run) with `extra` flags.
fn bench_train_json(rule: &str, extra: &[&str]) -> String {
    let mut args = vec!["bench-train", "--rule", rule, "--backend", "wgpu", "--batch", "2", "--steps-t", "20"];
    args.extend(["--samples", "2", "--reps", "1", "--json"]);
    args.extend_from_slice(extra);
    snnbench(&args).expect("bench-train runs")
}

#[test]
fn bench_train_json_has_the_contract_keys() {
    let out = bench_train_json("eprop", &[]);
    for key in [
        "samples_per_s",
        "wall_time_s",
        "gpu_time_s",
        "bytes_total",
        "bytes_history",
        "bytes_input",
        "adapter",
        "rule",
        "backend",
        "batch",
        "t_steps",
    ] {
        assert!(out.contains(&format!("\"{key}\":")), "missing {key} in {out}");
    }
}

/// `bench-train --energy-window S` measures GPU energy where NVML works and otherwise says why not, in the JSON —
/// never a failure.
#[test]
fn bench_train_energy_window_gives_a_figure_or_a_reason() {
    let out = bench_train_json("bptt", &["--energy-window", "1"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    match (&v["gpu_energy"], &v["gpu_energy_note"]) {
        (serde_json::Value::Object(e), _) => {
            assert!(e["total_j_per_sample"].as_f64().is_some_and(|j| j > 0.0), "{out}");
            assert!(e["window_s"].as_f64().is_some_and(|s| s >= 1.0), "{out}");
        }
        (_, serde_json::Value::String(n)) => assert!(n.starts_with("GPU energy not measured: "), "{out}"),
        _ => panic!("neither gpu_energy nor gpu_energy_note in {out}"),
    }
}

/// The buffer plan (what a memory sweep reports past the adapter's binding limit) and the allocation without kernels
/// (what it measures below that limit) both equal what the trainer allocates.
#[test]
fn planned_bytes_equal_allocated_bytes() {
    let ctx = gpu();
    let cfg = NetConfig::default();
    let rules =
        [Rule::Eprop(TraceVariant::Authors), Rule::Eprop(TraceVariant::Aligned), Rule::Bptt(BpttOptions::default())];
    for rule in rules {
        for (n_total, n_batch, t, record) in
            [(4, 4, 25, false), (7, 3, 217, true), (16, 16, 100, false), (1, 1, 1000, true)]
        {
            let tr = GpuTrainer::new(&ctx, &cfg, rule, n_total, n_batch, t, record, 5).expect("trainer");
            let planned = kernels::plan_bytes(&cfg, rule, n_total, n_batch, t, record, 5, ctx.info.device_type);
            assert_eq!(planned, tr.bytes(), "{} B {n_total} N {n_batch} T {t}", rule.name());
            let allocated =
                kernels::allocate_plan(&ctx, &cfg, rule, n_total, n_batch, t, record, 5).expect("allocation");
            assert_eq!(allocated, tr.bytes(), "{} B {n_total} N {n_batch} T {t} allocated", rule.name());
        }
    }
}
