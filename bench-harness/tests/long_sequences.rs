//! Long sequences end to end through the binary: the cue task of Bellec et al. 2020 trains above chance with the
//! emulated chip's e-prop and the WGSL kernels' e-prop and BPTT at T = 1,200; e-prop's device bytes do not change
//! with T while BPTT's grow linearly; an epoch trained in parts (from the device's sample pool, or gathered on the
//! host) equals one trained from one resident set; a BPTT run
//! whose history does not fit the adapter is recorded as a result with the bytes it needed; the map's time side is
//! measured on the adapter within its cap and modelled beyond it, each cell tagged.

mod common;

use std::path::Path;

use bench_harness::results::table::Table;
use common::{csv, ok, snnbench, snnbench_loud};

/// Trains `backend`/`rule` on the cue task with the given `[data.cue]` and `[schedule]` lines; returns its training CSV.
fn train(dir: &Path, name: &str, backend: &str, rule: &str, cue: &str, schedule: &str, env: &[(&str, &str)]) -> Table {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "backend = \"{backend}\"\nrule = \"{rule}\"\n[data]\ntask = \"cue\"\n[data.cue]\n{cue}\n[schedule]\n{schedule}\n"
        ),
    )
    .expect("cfg");
    let run = dir.join(name);
    let mut c = snnbench();
    c.args(["train", "--config"]).arg(&cfg).arg("--out").arg(&run);
    for (k, v) in env {
        c.env(k, v);
    }
    ok(&c.output().expect("train"), &format!("train {name}"));
    let csv_name = if backend == "chip" { "chip_eprop".to_string() } else { format!("gpu_{rule}") };
    csv(&run.join(format!("training_{csv_name}.csv")))
}

fn last(t: &Table, col: &str) -> f64 {
    t.f64s(col).expect(col).last().copied().flatten().unwrap_or(f64::NAN)
}

#[test]
fn the_cue_task_trains_above_chance_with_chip_eprop_wgsl_eprop_and_wgsl_bptt() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cue = "t_steps = 1200\ntrain_samples = 384\nvalidation_samples = 32\ntest_samples = 256";
    for (backend, rule) in [("chip", "eprop"), ("wgpu", "eprop"), ("wgpu", "bptt")] {
        let t = train(tmp.path(), &format!("{backend}-{rule}"), backend, rule, cue, "epochs = 2\nbatch = 16", &[]);
        let acc = last(&t, "test_accuracy");
        eprintln!("cue task T = 1200, {backend} {rule}: test accuracy {:.1} %", 100.0 * acc);
        // Chance is 50 %; 256 test samples put its 99.9 % bound near 60 %.
        assert!(acc > 0.7, "{backend} {rule}: test accuracy {acc} after 768 samples");
        assert_eq!(last(&t, "t_steps"), 1200.0);
    }
}

#[test]
fn eprop_bytes_stay_flat_and_bptt_bytes_grow_linearly_in_t() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bytes = |rule: &str, t: usize| {
        let cue = format!("t_steps = {t}\ntrain_samples = 16\nvalidation_samples = 4\ntest_samples = 4");
        let tab = train(tmp.path(), &format!("{rule}-{t}"), "wgpu", rule, &cue, "epochs = 1\nbatch = 16", &[]);
        last(&tab, "gpu_buffer_bytes")
    };
    let e: Vec<f64> = [1200, 2400, 3600].iter().map(|&t| bytes("eprop", t)).collect();
    assert!(e[0] > 0.0 && e[0] == e[1] && e[1] == e[2], "e-prop's bytes changed with T: {e:?}");
    let b: Vec<f64> = [1200, 2400, 3600].iter().map(|&t| bytes("bptt", t)).collect();
    assert_eq!(b[1] - b[0], b[2] - b[1], "BPTT's bytes are not linear in T: {b:?}");
    assert!(
        b[1] - b[0] > e[0],
        "BPTT's history per 1,200 steps ({}) is smaller than e-prop's whole state",
        b[1] - b[0]
    );
}

#[test]
fn an_epoch_in_parts_equals_one_resident_set() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cue = "t_steps = 1200\ntrain_samples = 88\nvalidation_samples = 16\ntest_samples = 32";
    let sched = "epochs = 2\nbatch = 16";
    let whole = train(tmp.path(), "whole", "wgpu", "eprop", cue, sched, &[]);
    // 40 samples' worth of inputs: parts of 32 samples (two minibatches), the last part wrapping around the epoch.
    let per_sample = 1200 * 40 * 4;
    let limit = (40 * per_sample).to_string();
    // Each part copied on the device from the pool (kept in pieces of the same 40 samples), and gathered and uploaded
    // from the host (SNNBENCH_SAMPLE_POOL=0).
    let parts = train(tmp.path(), "parts", "wgpu", "eprop", cue, sched, &[("SNNBENCH_RESIDENT_BYTES", &limit)]);
    let host = [("SNNBENCH_RESIDENT_BYTES", limit.as_str()), ("SNNBENCH_SAMPLE_POOL", "0")];
    let parts_host = train(tmp.path(), "parts-host", "wgpu", "eprop", cue, sched, &host);
    let cols = ["train_samples", "train_loss", "validation_accuracy", "test_loss", "test_accuracy", "spike_rate"];
    for col in cols.into_iter().chain(["gpu_buffer_bytes"]) {
        assert_eq!(whole.f64s(col).expect(col), parts.f64s(col).expect(col), "{col}");
        assert_eq!(whole.f64s(col).expect(col), parts_host.f64s(col).expect(col), "{col} (host gather)");
    }
}

#[test]
fn bptt_that_does_not_fit_is_a_result_with_the_bytes_it_needed() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 64 samples × 8,000 steps × 100 neurons × 4 B = 205 MB per history buffer: above lavapipe's 128 MiB binding.
    let cfg = tmp.path().join("big.toml");
    std::fs::write(
        &cfg,
        "backend = \"wgpu\"\nrule = \"bptt\"\n[data]\ntask = \"cue\"\n[data.cue]\nt_steps = 8000\ntrain_samples = 64\n\
         validation_samples = 4\ntest_samples = 4\n[schedule]\nepochs = 1\nbatch = 64\n",
    )
    .expect("cfg");
    let run = tmp.path().join("big");
    // Without --quiet: the summary line is what the user reads.
    let o = snnbench_loud().args(["train", "--config"]).arg(&cfg).arg("--out").arg(&run).output().expect("train");
    ok(&o, "train that does not fit");
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("does not fit") && said.contains("fit_gpu_bptt.csv"), "{said}");
    let t = csv(&run.join("fit_gpu_bptt.csv"));
    assert_eq!(last(&t, "fits"), 0.0);
    let needed = last(&t, "bytes_needed");
    // At least two records per sample, step and neuron (the subgroup kernels' history: u = v − A and A; the general
    // kernels keep z, ψ, A and dv).
    assert!(needed >= 2.0 * 64.0 * 8000.0 * 100.0 * 4.0, "bytes_needed {needed}");
    assert!(!run.join("training_gpu_bptt.csv").exists(), "a run that did not fit wrote training rows");
}

fn energy_rows(out: &Path) -> Vec<bench_harness::crossover::energy::EnergyRow> {
    Table::read_csv(&out.join("crossover_energy.csv")).expect("crossover_energy.csv").typed().expect("rows")
}

#[test]
fn the_map_times_both_rules_on_the_adapter_within_the_cap_and_models_them_beyond() {
    let tmp = tempfile::tempdir().expect("tmp");
    let map = |cap: &str, n_rec: &str, t_steps: &str, out: &Path| {
        let o = snnbench()
            .args(["crossover", "--measure", "--measure-cap-s", cap, "--adapter-watts", "7", "--n-rec", n_rec])
            .args(["--t-steps", t_steps, "--batch", "2", "--out"])
            .arg(out)
            .output()
            .expect("crossover");
        ok(&o, "crossover --measure");
    };
    // A cap no step meets: each rule's first cell is measured (nothing to predict from), every other one modelled.
    let out = tmp.path().join("capped");
    map("1e-9", "16,24", "20,40", &out);
    let rows = energy_rows(&out);
    assert_eq!(rows.len(), 2 * 2 * 2, "2 sizes × 2 T × 2 rules");
    let syn = |n: f64| (80.0 + n) * n;
    for alg in ["eprop", "bptt"] {
        let get = |n: usize, t: usize| {
            rows.iter().find(|r| r.algorithm == alg && r.n_rec == n && r.t_steps == t).expect("row").clone()
        };
        let first = get(16, 20);
        assert_eq!(first.time_source, "measured", "{first:?}");
        let s0 = first.time_per_sample_s.expect("time");
        assert!(s0 > 0.0);
        for (n, t, want) in
            [(16, 40, 2.0 * s0), (24, 20, s0 * syn(24.0) / syn(16.0)), (24, 40, 2.0 * s0 * syn(24.0) / syn(16.0))]
        {
            let r = get(n, t);
            assert_eq!(r.time_source, "modelled", "{r:?}");
            let got = r.time_per_sample_s.expect("time");
            assert!((got / want - 1.0).abs() < 1e-9, "{alg} n_rec {n} T {t}: {got} against {want}");
            assert!(r.time_note.contains("n_rec = 16, T = 20") || r.time_note.contains("at T = 20"), "{}", r.time_note);
        }
        for r in rows.iter().filter(|r| r.algorithm == alg) {
            let (s, e) = (r.time_per_sample_s.expect("time"), r.energy_j_per_sample.expect("energy"));
            assert!((e / (7.0 * s) - 1.0).abs() < 1e-9, "energy = time × the given 7 W: {r:?}");
            let q = r.energy_ratio_over_chip.expect("ratio");
            assert!((q * r.chip_energy_j_per_sample / e - 1.0).abs() < 1e-9, "{r:?}");
            assert_eq!(r.chip_real_time, 1, "{r:?}");
            assert!(r.chip_time_per_sample_s >= r.t_steps as f64 * 1e-3, "{r:?}");
        }
        assert!(get(16, 40).chip_energy_j_per_sample > get(16, 20).chip_energy_j_per_sample);
    }
    for f in ["crossover_energy_bptt.png", "crossover_energy_eprop.svg", "crossover_map.csv"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("crossover.md")).expect("md");
    assert!(md.contains("Time and energy per training sample") && md.contains("7 W"), "{md}");
    // A cap every step meets: everything measured that fits the adapter. At T = 210,000 one minibatch's inputs
    // (2 × 210,000 × 80 × 4 B = 134.4 MB) pass lavapipe's 128 MiB binding: modelled from T = 40, and the row says why.
    let out = tmp.path().join("open");
    map("1e6", "16", "20,40,210000", &out);
    let rows = energy_rows(&out);
    assert_eq!(rows.len(), 6);
    for r in &rows {
        if r.t_steps < 1000 {
            assert!(r.time_source == "measured" && r.time_per_sample_s.is_some_and(|s| s > 0.0), "{r:?}");
        } else {
            assert_eq!(r.time_source, "modelled", "{r:?}");
            assert!(r.time_note.starts_with("did not fit this adapter") && r.time_note.contains("at T = 40"), "{r:?}");
            let s40 =
                rows.iter().find(|q| q.algorithm == r.algorithm && q.t_steps == 40).and_then(|q| q.time_per_sample_s);
            let want = s40.expect("T = 40") * 210_000.0 / 40.0;
            assert!((r.time_per_sample_s.expect("time") / want - 1.0).abs() < 1e-9, "{r:?}");
        }
    }
}
