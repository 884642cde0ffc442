//! `snnbench reproduce --quick` end to end (CI runs it on lavapipe): every file of the run folder, the columns of
//! every CSV, finite and sane numbers (e-prop's GPU memory flat in T, BPTT's history exactly linear, the chip's map
//! within 2 % of the paper's 680 KiB), a report built from the CSVs alone, `snnbench report` rebuilding it, and
//! Ctrl-C leaving results and a checkpoint from which the same command resumes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_harness::reproduce::ReproduceConfig;
use bench_harness::results::table::Table;

// The run folder's column contracts, spelled out here on purpose: the row types in the library write them, and a
// renamed or dropped field must fail this test rather than silently change the files users parse.
const TRAINING_COLUMNS: [&str; 28] = [
    "experiment",
    "algorithm",
    "backend",
    "adapter",
    "batch",
    "t_steps",
    "seed",
    "git_rev",
    "epoch",
    "lr",
    "train_samples",
    "train_loss",
    "validation_loss",
    "validation_accuracy",
    "test_loss",
    "test_accuracy",
    "wall_time_s",
    "gpu_time_s",
    "samples_per_s",
    "chip_time_s",
    "gpu_energy_j",
    "gpu_energy_note",
    "spike_rate",
    "evaluation_s",
    "evaluated_on",
    "gpu_buffer_bytes",
    "source",
    "host",
];
const SWEEP_COLUMNS: [&str; 13] = [
    "platform",
    "algorithm",
    "scope",
    "batch",
    "t_steps",
    "bytes",
    "bytes_history",
    "bytes_input",
    "fits",
    "adapter",
    "git_rev",
    "source",
    "note",
];
const NEUROBENCH_COLUMNS: [&str; 13] = [
    "experiment",
    "algorithm",
    "footprint_bytes",
    "parameter_bytes",
    "connection_sparsity",
    "activation_sparsity",
    "dense_synops_per_sample",
    "effective_macs_per_sample",
    "effective_acs_per_sample",
    "test_samples",
    "t_steps",
    "git_rev",
    "source",
];

fn snnbench() -> Command {
    let mut c = snnbench_loud();
    c.arg("--quiet");
    c
}

/// Without `--quiet`: progress on stderr.
fn snnbench_loud() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_snnbench"));
    // A user's SNNBENCH_* settings (adapter, kernel choice, git revision) must not steer the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("SNNBENCH_") {
            c.env_remove(k);
        }
    }
    c
}

/// The revision the run's rows carry.
fn git_rev_of(run: &Path) -> String {
    csv(run, "training_gpu_bptt.csv").strs("git_rev").expect("git_rev")[0].clone()
}

fn csv(dir: &Path, name: &str) -> Table {
    Table::read_csv(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

fn finite(t: &Table, col: &str) -> Vec<f64> {
    t.f64s(col)
        .expect(col)
        .into_iter()
        .map(|v| v.unwrap_or_else(|| panic!("{col}: empty cell")))
        .inspect(|v| assert!(v.is_finite(), "{col}: {v}"))
        .collect()
}

#[test]
fn quick_run_writes_every_file_with_sane_numbers() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("run");
    let o = snnbench_loud().args(["reproduce", "--quick", "--out"]).arg(&run).output().expect("run");
    assert!(o.status.success(), "reproduce --quick failed: {}", String::from_utf8_lossy(&o.stderr));
    // stderr is a pipe here: progress comes as plain lines (a start and an end per stage), and nothing reads as a
    // failure.
    let err = String::from_utf8_lossy(&o.stderr);
    for stage in ["chip_eprop", "gpu_eprop", "gpu_bptt", "memory sweep", "bench"] {
        assert!(err.contains(&format!("{stage}: started")), "no start line for {stage}: {err}");
        assert!(err.lines().any(|l| l.starts_with(&format!("{stage}: done at "))), "no end line for {stage}: {err}");
    }
    // Where the kernels were not in the driver's cache yet (a CPU adapter, first run), their compile shows as a stage of
    // its own, ended before the first GPU experiment starts.
    let at = |prefix: &str| err.lines().position(|l| l.starts_with(prefix));
    if let Some(start) = at("compiling WGSL kernels (cached for later runs): started") {
        let done = at("compiling WGSL kernels (cached for later runs): done at ").expect("an end line for the compile");
        let gpu = at("gpu_eprop: started").expect("gpu_eprop");
        assert!(start < done && done < gpu, "compile lines out of order: {err}");
    }
    assert!(!err.to_lowercase().contains("error") && !err.to_lowercase().contains("warn"), "stderr: {err}");
    let cfg = ReproduceConfig::quick();
    for f in [
        "config.toml",
        "dataset.txt",
        "report.md",
        "memory_sweep.csv",
        "neurobench.csv",
        "cost_memory_pe.csv",
        "cost_phases.csv",
        "cost_energy.csv",
        "cost_sensitivity.csv",
        "cost_what_ifs.csv",
        "cost_totals.csv",
        "cost_bounds.csv",
        "cost_trace_codes.csv",
        "chip_activity.json",
        "gpu_energy.csv",
        "bench.csv",
        "summary_training.csv",
        "summary_memory.csv",
        "summary_paper.csv",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    for p in ["accuracy", "loss", "memory_vs_t", "step_time_phases", "energy_per_sample", "sensitivity_tornado"] {
        for ext in ["png", "svg"] {
            let f = run.join(format!("{p}.{ext}"));
            assert!(std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false), "{} missing or empty", f.display());
        }
    }
    // Training: one row per epoch, the contract columns, accuracies in [0, 1], finite losses.
    for (name, epochs) in [
        ("chip_eprop", cfg.chip.epochs),
        ("gpu_eprop", cfg.gpu.epochs),
        ("gpu_bptt", cfg.gpu.epochs),
        ("burn_bptt", cfg.gpu.epochs),
    ] {
        let t = csv(&run, &format!("training_{name}.csv"));
        assert_eq!(t.columns, TRAINING_COLUMNS, "{name} columns");
        assert_eq!(t.len(), epochs, "{name}: one row per epoch");
        assert_eq!(finite(&t, "epoch"), (1..=epochs).map(|e| e as f64).collect::<Vec<_>>());
        for col in ["validation_accuracy", "test_accuracy"] {
            assert!(finite(&t, col).iter().all(|a| (0.0..=1.0).contains(a)), "{name} {col}");
        }
        assert!(finite(&t, "train_loss").iter().all(|l| *l > 0.0 && *l < 20.0), "{name} train_loss");
        assert!(finite(&t, "samples_per_s").iter().all(|s| *s > 0.0));
        assert!(t.strs("source").expect("source").iter().all(|s| s.starts_with("measured")));
        assert!(t.strs("git_rev").expect("rev").iter().all(|s| !s.is_empty()));
    }
    // Memory: e-prop flat in T on the GPU, BPTT's history exactly linear; the chip's BPTT model linear too.
    let m = csv(&run, "memory_sweep.csv");
    assert_eq!(m.columns, SWEEP_COLUMNS);
    assert_eq!(m.len(), cfg.sweep.t_steps.len() * 6);
    for scope in ["per_sample", "per_batch"] {
        let g = m.filter("platform", "gpu").and_then(|t| t.filter("scope", scope)).expect("filter");
        // e-prop: constant in T within each kernel path (one chunk on a CPU adapter while T ≤ TC, chunked past it),
        // the one-chunk path never above the chunked one.
        let e = g.filter("algorithm", "eprop").expect("eprop");
        let bytes = finite(&e, "bytes");
        let notes = e.strs("note").expect("note");
        let mut by_path: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for (b, note) in bytes.iter().zip(&notes) {
            let path = note.split(';').next().unwrap_or("").to_string();
            assert!(path.starts_with("e-prop kernels: "), "gpu e-prop row without its kernel path: {note:?}");
            by_path.entry(path).or_default().push(*b);
        }
        for (path, b) in &by_path {
            assert!(b.iter().all(|v| *v == b[0]), "gpu e-prop {scope} bytes vary with T within `{path}`: {b:?}");
        }
        let first_of = |p: &str| by_path.iter().find(|(k, _)| k.contains(p)).map(|(_, v)| v[0]);
        if let (Some(one), Some(chunked)) = (first_of("one chunk"), first_of("chunked")) {
            assert!(one <= chunked, "gpu e-prop {scope}: one-chunk path {one} B above the chunked path {chunked} B");
        }
        let b = g.filter("algorithm", "bptt").expect("bptt");
        let (ts, hist) = (finite(&b, "t_steps"), finite(&b, "bytes_history"));
        let per_step = hist[0] / ts[0];
        assert!(per_step > 0.0);
        for (t, h) in ts.iter().zip(&hist) {
            assert_eq!(*h, per_step * t, "gpu BPTT {scope} history not linear at T = {t}");
        }
        let sources = b.strs("source").expect("source");
        assert!(sources.iter().any(|s| s.starts_with("measured")) && sources.iter().any(|s| s.starts_with("modelled")));
    }
    let chip = m.filter("platform", "spinnaker2").expect("chip");
    let ce = finite(&chip.filter("algorithm", "eprop").expect("e"), "bytes");
    assert!(ce.iter().all(|b| *b == ce[0]));
    // Cost: the chip's total is the sum of its per-PE maps and near the paper's 680 KiB, real time, a finite ratio
    // band containing the default.
    let tot = csv(&run, "cost_totals.csv");
    let mem = finite(&tot, "memory_bytes_total")[0];
    assert_eq!(mem, finite(&csv(&run, "cost_memory_pe.csv"), "data_bytes").iter().sum::<f64>());
    assert!((mem / 696_320.0 - 1.0).abs() < 0.05, "chip memory {mem} B");
    assert_eq!(tot.strs("real_time").expect("rt")[0], "true");
    let (r, lo, hi) =
        (finite(&tot, "energy_ratio")[0], finite(&tot, "energy_ratio_min")[0], finite(&tot, "energy_ratio_max")[0]);
    assert!(lo <= r && r <= hi && lo > 0.0);
    // The cost stage priced the chip run's own activity: every training sample of its epochs (2 × 120 here).
    assert_eq!(finite(&tot, "samples_counted")[0], 240.0);
    assert!(tot.strs("workload_source").expect("ws")[0].contains("chip experiment"));
    // One boundary on both sides; on lavapipe the GPU side is assumed and says so.
    assert_eq!(tot.strs("boundary").expect("b")[0], "total");
    assert_eq!(tot.strs("gpu_measured").expect("m")[0], "false");
    assert!(tot.strs("headline_gpu").expect("h")[0].starts_with("assumed"));
    let sens = csv(&run, "cost_sensitivity.csv");
    for v in finite(&sens, "ratio_low").into_iter().chain(finite(&sens, "ratio_high")) {
        assert!(lo <= v * (1.0 + 1e-9) && v <= hi * (1.0 + 1e-9), "sensitivity {v} outside the band [{lo}, {hi}]");
    }
    let energy = csv(&run, "cost_energy.csv");
    assert!(energy.strs("boundary").expect("b").iter().all(|b| b == "total" || b == "dynamic"));
    let ph = csv(&run, "cost_phases.csv");
    assert!(finite(&ph, "time_per_step_us").iter().sum::<f64>() < 1000.0);
    let nb = csv(&run, "neurobench.csv");
    assert_eq!(nb.columns, NEUROBENCH_COLUMNS);
    assert_eq!(nb.len(), 4);
    assert!(finite(&nb, "activation_sparsity").iter().all(|s| (0.5..1.0).contains(s)));
    assert!(finite(&nb, "dense_synops_per_sample").iter().all(|s| *s == 100.0 * 25_440.0));
    // The bench stage: BPTT rows for the CPU reference, WGSL and both burn backends side by side, measured.
    let b = csv(&run, "bench.csv");
    let backends = b.filter("rule", "bptt").expect("bptt").strs("backend").expect("backend");
    for want in ["cpu", "wgpu", "burn-wgpu", "burn-cpu"] {
        assert!(backends.iter().any(|x| x == want), "bench.csv lacks a BPTT row for {want}: {backends:?}");
    }
    // Each backend's rows are that backend's measurement (an e-prop row on burn, or a burn row whose adapter is not
    // burn's, would be a mislabelled CPU measurement).
    for burn in ["burn-wgpu", "burn-cpu"] {
        let rows = b.filter("backend", burn).expect("burn rows");
        assert!(rows.strs("rule").expect("rule").iter().all(|r| r == "bptt"), "{burn}: rows other than BPTT");
        assert!(rows.strs("adapter").expect("adapter").iter().all(|a| a.starts_with("burn")), "{burn}: adapter column");
    }
    let measured = b.filter("source", &bench_harness::bench::interleaved_source(0.0)).expect("measured");
    assert!(measured.len() >= 6, "{} measured bench rows", measured.len());
    assert!(finite(&measured, "samples_per_s").iter().all(|s| *s > 0.0));
    // The report quotes the paper and shows our numbers read from the CSVs.
    let report = std::fs::read_to_string(run.join("report.md")).expect("report");
    for needle in ["91.12 %", "680 KB", "12×", &format!("{mem:.0} B"), "burn-wgpu"] {
        assert!(report.contains(needle), "report.md lacks {needle:?}");
    }
    // `snnbench report` rebuilds the same report from the CSVs.
    std::fs::remove_file(run.join("report.md")).expect("rm");
    std::fs::remove_file(run.join("memory_vs_t.png")).expect("rm");
    let o = snnbench().arg("report").arg(&run).output().expect("report");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(run.join("report.md")).expect("report"), report);
    assert!(run.join("memory_vs_t.png").is_file());
    // The same command on a finished folder resumes to the same results; another config is refused. Bench rows
    // a build without burn wrote (the quickstart's lean pass) are measured when a build with burn resumes, in place;
    // the other rows stay byte for byte.
    let bench_text = std::fs::read_to_string(run.join("bench.csv")).expect("bench.csv");
    let lean: Vec<String> = bench_text
        .lines()
        .map(|l| {
            if l.starts_with("bptt,burn-") {
                let backend = l.split(',').nth(1).expect("backend");
                format!(
                    "bptt,{backend},,100,100,0,0,,,,,,,,{},not measured,\"--backend {backend}: {}\",,,,",
                    git_rev_of(&run),
                    bench_harness::contender::WITHOUT_BURN
                )
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(run.join("bench.csv"), lean.join("\n") + "\n").expect("write bench.csv");
    let o = snnbench().args(["reproduce", "--quick", "--out"]).arg(&run).output().expect("rerun");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(csv(&run, "training_gpu_bptt.csv").len(), cfg.gpu.epochs);
    let again = std::fs::read_to_string(run.join("bench.csv")).expect("bench.csv");
    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (bench_text.lines().collect(), again.lines().collect());
    assert_eq!(old_lines.len(), new_lines.len());
    for (a, b) in old_lines.iter().zip(&new_lines) {
        if a.starts_with("bptt,burn-") {
            assert!(b.contains("measured (median"), "burn row not measured again: {b}");
        } else {
            assert_eq!(a, b);
        }
    }
    assert!(!run.join(".bench-burn").exists());
    let o = snnbench().args(["reproduce", "--out"]).arg(&run).output().expect("other config");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("another config"));
}

/// A quick config whose chip run is long enough to be interrupted in the middle, written to `dir/config.toml`;
/// returns it, its path and the run folder.
fn interruptible_run(dir: &std::path::Path) -> (ReproduceConfig, std::path::PathBuf, std::path::PathBuf) {
    let mut cfg = ReproduceConfig::quick();
    cfg.chip.epochs = 12;
    cfg.chip.max_samples_per_epoch = Some(200);
    let cfg_path = dir.join("config.toml");
    std::fs::write(&cfg_path, toml::to_string(&cfg).expect("toml")).expect("write");
    (cfg, cfg_path, dir.join("run"))
}

#[test]
fn ctrl_c_keeps_results_and_the_same_command_resumes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (cfg, cfg_path, run) = interruptible_run(tmp.path());
    let args = |c: &mut Command| {
        c.args(["reproduce", "--config"]).arg(&cfg_path).arg("--out").arg(&run);
    };
    let mut c = snnbench();
    args(&mut c);
    let mut child = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let csv_path = run.join("training_chip_eprop.csv");
    let start = Instant::now();
    while !csv_path.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no epoch finished in 2 minutes");
        assert!(child.try_wait().expect("wait").is_none(), "reproduce ended before the first epoch was written");
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an interrupted run must exit non-zero");
    assert!(err.contains("interrupted"), "stderr: {err}");
    let done = csv(&run, "training_chip_eprop.csv").len();
    assert!(done >= 1 && done < cfg.chip.epochs, "{done} epochs written before the interrupt");
    assert!(run.join("checkpoints/chip_eprop.safetensors").is_file());
    let before = std::fs::read_to_string(&csv_path).expect("csv");
    let mut c = snnbench();
    args(&mut c);
    let o = c.output().expect("resume");
    assert!(o.status.success(), "resume failed: {}", String::from_utf8_lossy(&o.stderr));
    let t = csv(&run, "training_chip_eprop.csv");
    let epochs: Vec<f64> = t.f64s("epoch").expect("epoch").into_iter().flatten().collect();
    assert_eq!(epochs, (1..=cfg.chip.epochs).map(|e| e as f64).collect::<Vec<_>>(), "epochs after resuming");
    // Resumed, not restarted: the rows written before the interrupt come back byte for byte (wall times included,
    // which a restart from scratch would rewrite).
    let after = std::fs::read_to_string(&csv_path).expect("csv");
    assert!(
        after.starts_with(&before),
        "rows written before the interrupt changed:\nbefore:\n{before}\nafter:\n{after}"
    );
    assert!(run.join("report.md").is_file());
}

/// After `kill -9` (no chance to save anything) the same command resumes from the last checkpoint: the epochs
/// written before come back byte for byte and the run completes.
#[test]
fn kill_9_resumes_from_the_last_checkpoint() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (cfg, cfg_path, run) = interruptible_run(tmp.path());
    let cmd = || {
        let mut c = snnbench();
        c.args(["reproduce", "--config"]).arg(&cfg_path).arg("--out").arg(&run);
        c
    };
    let mut child = cmd().stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let ck = run.join("checkpoints/chip_eprop.epochs");
    let start = Instant::now();
    // Wait for the second checkpoint, then kill without warning.
    while std::fs::read_to_string(&ck).ok().and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(0) < 2 {
        assert!(start.elapsed() < Duration::from_secs(180), "no second epoch in 3 minutes");
        assert!(child.try_wait().expect("wait").is_none(), "reproduce ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    let csv_path = run.join("training_chip_eprop.csv");
    let kept: usize = std::fs::read_to_string(&ck).expect("ck").trim().parse().expect("epochs");
    assert!(kept < cfg.chip.epochs, "killed too late ({kept} epochs)");
    let before: Vec<String> =
        std::fs::read_to_string(&csv_path).expect("csv").lines().take(1 + kept).map(String::from).collect();
    let o = cmd().output().expect("resume");
    assert!(o.status.success(), "resume after kill -9 failed: {}", String::from_utf8_lossy(&o.stderr));
    let after: Vec<String> = std::fs::read_to_string(&csv_path).expect("csv").lines().map(String::from).collect();
    assert_eq!(after.len(), 1 + cfg.chip.epochs, "every epoch after resuming");
    assert_eq!(&after[..before.len()], &before[..], "the checkpointed epochs' rows changed: a restart, not a resume");
}

/// A training CSV written before the evaluation and host columns existed still reads (a run folder from an older build
/// resumes): the new columns come back empty.
#[test]
fn a_training_csv_without_the_evaluation_and_host_columns_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("training_gpu_bptt.csv");
    let old: Vec<&str> =
        TRAINING_COLUMNS.iter().copied().filter(|c| !["evaluation_s", "evaluated_on", "host"].contains(c)).collect();
    let values: Vec<&str> = old
        .iter()
        .map(|c| match *c {
            "experiment" => "gpu_bptt",
            "algorithm" => "bptt",
            "backend" | "adapter" | "git_rev" | "gpu_energy_note" | "source" => "x",
            "chip_time_s" | "gpu_time_s" | "gpu_energy_j" | "gpu_buffer_bytes" => "",
            _ => "1",
        })
        .collect();
    std::fs::write(&path, format!("{}\n{}\n", old.join(","), values.join(","))).expect("write");
    let rows: Vec<bench_harness::reproduce::train::TrainingRow> =
        Table::read_csv(&path).expect("read").typed().expect("an older training CSV must still read");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].evaluation_s, rows[0].evaluated_on.clone(), rows[0].host.clone()), (None, None, None));
}
