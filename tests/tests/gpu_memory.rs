//! GPU buffer accounting: e-prop's bytes (input excluded) do not depend on T; BPTT's history is exactly linear in
//! T; `bench-train --json` carries the contract keys.

use kernels::{GpuTrainer, TrainerConfig};
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions};
use tests::{gpu, snnbench};

#[test]
fn eprop_bytes_are_flat_in_t_and_bptt_history_is_linear() {
    let ctx = gpu();
    let cfg = NetConfig::default();
    let bytes = |rule, t| GpuTrainer::new(&ctx, &TrainerConfig::new(&cfg, rule, 4, t)).expect("trainer").bytes();
    let e = Rule::Eprop(TraceVariant::Authors);
    let b = Rule::Bptt(BpttOptions::default());
    // e-prop: constant in T within each kernel path — T ≤ TC (one chunk; on a CPU adapter the subgroup path with no
    // per-synapse state) and T > TC (chunked traces) — and one chunk never needs more than several.
    let tc = kernels::trainer::EPROP_CHUNK;
    for ts in [vec![25, tc], vec![tc + 1, 250, 1000]] {
        let first = bytes(e, ts[0]);
        let path = kernels::eprop_kernel_path(&TrainerConfig::new(&cfg, e, 4, ts[0]), &ctx);
        for &t in &ts[1..] {
            let et = bytes(e, t);
            assert_eq!(kernels::eprop_kernel_path(&TrainerConfig::new(&cfg, e, 4, t), &ctx), path);
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

/// e-prop with the whole sequence as one chunk (`--eprop-chunk all`): its chunk buffers are the sequence's record,
/// counted as history and growing linearly with T (on a CPU adapter exactly proportional, half of BPTT's); the rest
/// stays flat. Measured by allocating the buffer plan (no kernels compiled).
#[test]
fn eprop_in_one_whole_chunk_keeps_a_history_linear_in_t() {
    let ctx = gpu();
    let cfg = NetConfig::default();
    let e = Rule::Eprop(TraceVariant::Authors);
    let bytes = |rule, t| {
        let c = TrainerConfig::new(&cfg, rule, 4, t).with_eprop_chunk(None);
        kernels::allocate_plan(&ctx, &c).expect("plan")
    };
    let (e100, e200, e400) = (bytes(e, 100), bytes(e, 200), bytes(e, 400));
    assert!(e200.history > e100.history, "{e100:?} {e200:?}");
    assert_eq!(e400.history - e200.history, 2 * (e200.history - e100.history), "not linear in T");
    assert_eq!(e400.total() - e400.history, e100.total() - e100.history, "only the history grows");
    let path = kernels::eprop_kernel_path(&TrainerConfig::new(&cfg, e, 4, 400).with_eprop_chunk(None), &ctx);
    if ctx.info.device_type == kernels::wgpu::DeviceType::Cpu {
        assert!(path.contains("one chunk"), "{path}");
        assert_eq!(e200.history, 2 * e100.history);
        // u = v − A per step against BPTT's u and threshold A on the same kernels.
        let bptt = bytes(Rule::Bptt(BpttOptions::default()), 400).history;
        assert_eq!(2 * e400.history, bptt, "e-prop {} vs BPTT {bptt}", e400.history);
    }
}

/// `auto` (the default chunk length): one chunk exactly where its buffers need no more bytes than chunks of 100 —
/// on a CPU adapter's subgroup kernels for the paper's network up to T = 608 / 758 / 800 at batch 1 / 16 / 100 (the
/// buffer plan's per-batch parts move it; at batch 100: 37.0 MiB at T = 780 against 37.9, 38.8 at T = 820), never on
/// a GPU's general kernels — and chunks of 100 at T ≤ 100 (one chunk either way; the buffers as before).
#[test]
fn auto_takes_one_chunk_where_it_needs_less_memory() {
    let ctx = gpu();
    let cfg = NetConfig::default();
    let e = Rule::Eprop(TraceVariant::Authors);
    let tc = kernels::trainer::EPROP_CHUNK;
    for (batch, last_one_chunk) in [(1, 608), (16, 758), (100, 800)] {
        let auto = |t| kernels::eprop_chunk_for_least_memory(&ctx, &TrainerConfig::new(&cfg, e, batch, t));
        let bytes = |t, chunk| {
            let c = TrainerConfig::new(&cfg, e, batch, t).with_eprop_chunk(chunk);
            kernels::allocate_plan(&ctx, &c).expect("plan").total()
        };
        assert_eq!(auto(60), Some(tc));
        for t in [101, 250, 440, 460, 780, 820, 1000, 2000] {
            let (one, chunked) = (bytes(t, None), bytes(t, Some(tc)));
            let want = if one <= chunked { None } else { Some(tc) };
            assert_eq!(auto(t), want, "batch {batch}, T = {t}: one chunk {one} B, chunks of {tc} {chunked} B");
        }
        if ctx.info.device_type == kernels::wgpu::DeviceType::Cpu {
            // The last T that takes one chunk (auto is monotone in T: one chunk's record grows, the traces do not).
            let (mut lo, mut hi) = (tc, 2000);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if auto(mid).is_none() { lo = mid } else { hi = mid }
            }
            assert_eq!(lo, last_one_chunk, "batch {batch}: the crossover moved (the buffer plan changed?)");
        } else {
            assert_eq!(auto(440), Some(tc), "batch {batch}: the general kernels keep the traces either way");
        }
    }
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

/// `train` on a GPU backend writes `gpu_energy.csv` (the MLPerf-style window over the whole run, topped up) and
/// `bench --energy-window` fills the wgpu rows' gpu_* columns — a figure where NVML works, otherwise a reason; never
/// a failure. CPU rows carry no energy note.
#[test]
fn train_and_bench_energy_give_a_figure_or_a_reason() {
    use bench_harness::results::table::Table;
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("train");
    let run_s = run.display().to_string();
    let args = ["train", "--backend", "wgpu", "--rule", "bptt", "--quick", "--synth", "3", "--epochs", "1"];
    snnbench(&[&args[..], &["--energy-window", "1", "--out", &run_s]].concat()).expect("train runs");
    let e = Table::read_csv(&run.join("gpu_energy.csv")).expect("gpu_energy.csv");
    assert_eq!(e.len(), 1);
    let (source, note) = (&e.strs("source").expect("source")[0], &e.strs("note").expect("note")[0]);
    if source.starts_with("measured") {
        let f = |c: &str| e.f64s(c).expect(c)[0].unwrap_or(f64::NAN);
        assert!(f("seconds") >= 1.0 && f("min_window_s") == 1.0, "{note}");
        assert!(f("total_j_per_sample") > f("j_per_sample") && f("j_per_sample") > 0.0, "{note}");
        assert!(note.starts_with("the run's epochs 1–1"), "{note}");
    } else {
        assert!(note.starts_with("not measured: no NVIDIA driver"), "{note}");
    }
    let bench = tmp.path().join("bench");
    let bench_s = bench.display().to_string();
    let args = ["bench", "--backends", "cpu,wgpu", "--batches", "2", "--t", "20", "--samples", "2", "--reps", "1"];
    snnbench(&[&args[..], &["--no-peers", "--energy-window", "1", "--out", &bench_s]].concat()).expect("bench runs");
    let b = Table::read_csv(&bench.join("bench.csv")).expect("bench.csv");
    let (backends, notes) = (b.strs("backend").expect("backend"), b.strs("gpu_energy_note").expect("note"));
    let totals = b.f64s("gpu_j_per_sample_total").expect("total");
    assert_eq!(backends.len(), 4, "two rules × two backends");
    for k in 0..backends.len() {
        if backends[k] == "wgpu" {
            let measured = totals[k].is_some_and(|j| j > 0.0) && notes[k].starts_with("MLPerf-style");
            assert!(measured || notes[k].starts_with("GPU energy not measured: "), "{}", notes[k]);
        } else {
            assert!(notes[k].is_empty() && totals[k].is_none(), "{}: {}", backends[k], notes[k]);
        }
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
            let mut shape = TrainerConfig::new(&cfg, rule, n_batch, t).with_resident(n_total).with_max_steps(5);
            shape.record_spikes = record;
            let tr = GpuTrainer::new(&ctx, &shape).expect("trainer");
            let planned = kernels::plan_bytes(&shape, ctx.info.device_type);
            assert_eq!(planned, tr.bytes(), "{} B {n_total} N {n_batch} T {t}", rule.name());
            let allocated = kernels::allocate_plan(&ctx, &shape).expect("allocation");
            assert_eq!(allocated, tr.bytes(), "{} B {n_total} N {n_batch} T {t} allocated", rule.name());
        }
    }
}

/// The trainer's bytes against formulas written from what each rule must keep, not from the buffer plan: BPTT's
/// history is, per sample and step, z, ψ and the threshold A (N_RECP = N_REC rounded up to 4 floats each) and on
/// the general kernels also dv, the input current and a spike-time list entry per neuron; the subgroup kernels record
/// u = v − A and A only (ψ and z come from u, dv stays in the lanes, z(t−1) replaces the list); e-prop's state does
/// not grow with T: its chunked path holds ε^a and E per synapse and sample, its one-chunk path nothing per synapse
/// (and per step only u). Weights and optimiser: W, its gradient, Adam m and v, plus small fixed scratch.
#[test]
fn trainer_bytes_match_formulas() {
    let ctx = gpu();
    let f = 4u64;
    for cfg in [NetConfig::default(), NetConfig { n_in: 13, n_rec: 37, n_out: 5, ..NetConfig::default() }] {
        let (n_in, n_rec) = (cfg.n_in as u64, cfg.n_rec as u64);
        let n_recp = n_rec.div_ceil(4) * 4;
        let n_w = cfg.n_weights() as u64;
        for (n, t) in [(4u64, 100u64), (3, 37), (2, 250)] {
            let build = |rule| {
                let tr =
                    GpuTrainer::new(&ctx, &TrainerConfig::new(&cfg, rule, n as usize, t as usize)).expect("trainer");
                let sg = tr.gradient_kernels().contains(&"alif_forward_sg");
                (tr.bytes(), sg)
            };
            let what = format!("{}→{} N {n} T {t}", cfg.n_in, cfg.n_rec);
            let (b, sg) = build(Rule::Bptt(BpttOptions::default()));
            // Per step: z, ψ and A per neuron, and on the general kernels dv and the spike lists; the subgroup kernels
            // record u = v − A and A only (ψ and z come from u; z_c is the spike record, not asked for here).
            let per_step = if sg { 2 * n_recp } else { 5 * n_recp + n_rec };
            assert_eq!(b.history, f * n * t * per_step, "{what}: BPTT history (subgroup kernels: {sg})");
            assert!(b.weights_optimizer >= 4 * f * n_w, "{what}: W, grad, m, v");
            assert_eq!(b.input, f * n * t * n_in + f * n + 16, "{what}: x, y and one chunk descriptor");
            let (e, sg) = build(Rule::Eprop(TraceVariant::Authors));
            assert_eq!(e.history, 0, "{what}: e-prop keeps no history");
            // Per sample, whatever the path: the neuron state (v, A, ψ-carry, refractory, input: 5·N_RECP), the spikes
            // entering the chunk (N_RECP) and the readout record (2·N_REC + 2·N_OUT + the loss + the spike count).
            let n_out = cfg.n_out as u64;
            let per_sample = 6 * n_recp + 2 * n_rec + 2 * n_out + 2;
            let tc = kernels::trainer::EPROP_CHUNK as u64;
            // Chunked traces: ε^a and E per synapse (2·(N_IN + N_REC)·N_RECP), the carried ε^v and z̄ of the
            // presynaptic side (2·(N_IN + N_REC)), the per-step coefficients (2·(TC + 1)·N_RECP and 2·N_RECP) and the
            // event list (N_REC·TC + N_REC).
            let synapse = 2 * (n_in + n_rec) * n_recp + 2 * (n_in + n_rec);
            let coefficients = 2 * (tc + 1) * n_recp + 2 * n_recp + n_rec * tc + n_rec;
            let want = if sg && t <= tc {
                // One chunk: u = v − A per step (N_RECP) over the chunk's TC steps (ψ and z come from u, the adjoint
                // dv stays in the lanes); the input current is computed in place, e-prop needs no threshold record,
                // the spike record is not asked for here and the backward computes z(t−1) instead of reading spike
                // lists (five 4-byte placeholders).
                f * n * (per_sample + tc * n_recp) + 20
            } else if sg {
                // Chunked on the subgroup kernels: u = v − A per chunk step (z and ψ come from u; the forward computes
                // the input current in place); five 4-byte placeholders (input current, z and threshold records,
                // spike lists).
                f * n * (per_sample + synapse + tc * n_recp + coefficients) + 20
            } else {
                // Chunked on the general kernels: per chunk step the input current, z and ψ (3·N_RECP); three
                // 4-byte placeholders (threshold record, spike lists) the shared forward binds.
                f * n * (per_sample + synapse + 3 * tc * n_recp + coefficients) + 12
            };
            assert_eq!(e.per_sample_state, want, "{what}: e-prop per-sample state (subgroup kernels: {sg}) {e:?}");
        }
    }
}

/// `bench --eprop-chunk`: a WGSL e-prop row per chunk length that differs at a T (500 and `all` are both one chunk
/// at T = 130, so only the first of them runs), labelled in `eprop_chunk`, the whole-sequence chunk's record counted
/// as history; BPTT's row has no chunk.
#[test]
fn bench_gives_a_wgsl_eprop_row_per_distinct_chunk_length() {
    use bench_harness::results::table::Table;
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("bench");
    let args = ["bench", "--backends", "wgpu", "--batches", "2", "--t", "130", "--samples", "2", "--reps", "1"];
    let extra = ["--no-peers", "--eprop-chunk", "100,all,500", "--out", out.to_str().expect("utf-8 path")];
    snnbench(&[&args[..], &extra[..]].concat()).expect("bench runs");
    let b = Table::read_csv(&out.join("bench.csv")).expect("bench.csv");
    let rules = b.strs("rule").expect("rule");
    let chunks = b.strs("eprop_chunk").expect("eprop_chunk");
    assert_eq!(rules, ["eprop", "eprop", "bptt"], "{chunks:?}");
    assert_eq!(chunks, ["100", "all", ""]);
    let sources = b.strs("source").expect("source");
    assert!(sources.iter().all(|s| s.contains("interleaved, round by round")), "{sources:?}");
    let history = b.f64s("bytes_history").expect("bytes_history");
    assert_eq!(history[0], Some(0.0), "chunks of 100 keep no history");
    assert!(history[1].is_some_and(|h| h > 0.0), "the whole-sequence chunk is the sequence's record: {history:?}");
    let md = std::fs::read_to_string(out.join("bench.md")).expect("bench.md");
    assert!(md.contains("| eprop (chunk all) | wgpu |") && md.contains("GPU MiB"), "{md}");
}
