//! `snnbench sweep`, `train`, partial configs and run-folder locks, end to end through the binary: a 3-seed ×
//! 2-contender sweep on the quick synthetic set run locally and through a real one-node Slurm cluster
//! (scripts/slurm-one-node.sh) gives the same cells and the same aggregate, which equals a recomputation from the
//! cells' own CSVs; a killed cell resumes and a failed cell is named by a re-run; a second process on a run folder
//! refuses and a kill -9 resumes; `reproduce --seeds` aggregates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use bench_harness::reproduce::ReproduceConfig;
use bench_harness::results::table::Table;
use common::{csv, ok, snnbench, snnbench_loud};

/// Every training CSV of every cell, without the columns that measure time.
fn cell_results(run: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let timing = ["wall_time_s", "gpu_time_s", "samples_per_s", "evaluation_s"];
    let mut out = BTreeMap::new();
    for cell in std::fs::read_dir(run.join("cells")).expect("cells") {
        let cell = cell.expect("entry").path();
        let Ok(files) = std::fs::read_dir(&cell) else { continue };
        for f in files {
            let f = f.expect("entry").path();
            let name = f.file_name().expect("name").to_string_lossy().to_string();
            if !(name.starts_with("training_") && name.ends_with(".csv")) {
                continue;
            }
            let t = csv(&f);
            let keep: Vec<usize> = (0..t.columns.len()).filter(|&i| !timing.contains(&t.columns[i].as_str())).collect();
            let rows = t.rows.iter().map(|r| keep.iter().map(|&i| format!("{:?}", r[i])).collect()).collect();
            out.insert(format!("{}/{name}", cell.file_name().expect("cell").to_string_lossy()), rows);
        }
    }
    out
}

/// `aggregate.csv` without the timing metric, as text rows.
fn aggregate_rows(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("aggregate.csv"))
        .expect("aggregate.csv")
        .lines()
        .filter(|l| !l.contains(",samples_per_s,"))
        .map(String::from)
        .collect()
}

const SPEC: &str =
    "job = \"train\"\nrule = \"eprop\"\nquick = true\n[axes]\nbackend = [\"chip\", \"wgpu\"]\nseed = [0, 1, 2]\n";

/// The one-node cluster of scripts/slurm-one-node.sh, stopped on drop.
struct Cluster {
    state: PathBuf,
}

impl Cluster {
    fn start(state: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-one-node.sh");
        let o = Command::new("bash").arg(&script).arg("start").arg(state).output().expect("slurm-one-node.sh");
        ok(&o, "scripts/slurm-one-node.sh start (needs root and slurm-wlm + munge: scripts/setup.sh installs them)");
        Self { state: state.to_path_buf() }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-one-node.sh");
        let _ = Command::new("bash").arg(script).arg("stop").arg(&self.state).output();
    }
}

#[test]
fn a_sweep_runs_the_same_locally_and_on_slurm_and_its_aggregate_is_the_cells_statistics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let spec = tmp.path().join("spec.toml");
    std::fs::write(&spec, SPEC).expect("spec");
    let local = tmp.path().join("local");
    let o = snnbench().arg("sweep").arg(&spec).arg("--out").arg(&local).args(["--jobs", "2"]).output().expect("run");
    ok(&o, "sweep (local)");

    // The aggregate is the cells' statistics, recomputed here from their own training CSVs.
    let agg = csv(&local.join("aggregate.csv"));
    let (conds, contenders, metrics) =
        (agg.strs("condition").expect("c"), agg.strs("contender").expect("c"), agg.strs("metric").expect("m"));
    let (n, mean, se, lo, hi) = (
        agg.f64s("n").expect("n"),
        agg.f64s("mean").expect("mean"),
        agg.f64s("se").expect("se"),
        agg.f64s("ci95_low").expect("lo"),
        agg.f64s("ci95_high").expect("hi"),
    );
    let mut checked = 0;
    for backend in ["chip", "wgpu"] {
        let contender = if backend == "chip" { "chip_eprop" } else { "gpu_eprop" };
        for (metric, col) in [("final_test_accuracy", "test_accuracy"), ("final_test_loss", "test_loss")] {
            let v: Vec<f64> = (0..3)
                .map(|s| {
                    let t = csv(&local.join(format!("cells/backend={backend}__seed={s}/training_{contender}.csv")));
                    t.f64s(col).expect(col).last().copied().flatten().expect("value")
                })
                .collect();
            let m = v.iter().sum::<f64>() / 3.0;
            let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 2.0).sqrt();
            let s = sd / 3f64.sqrt();
            // Student t, 0.975 quantile, 2 degrees of freedom: 4.302652729749464 (statistical tables: 4.303).
            let t = 4.302652729749464;
            let i = (0..agg.len())
                .find(|&i| {
                    conds[i] == format!("backend={backend}") && contenders[i] == contender && metrics[i] == metric
                })
                .unwrap_or_else(|| panic!("no aggregate row for {backend} {metric}"));
            assert_eq!(n[i], Some(3.0));
            let close = |a: Option<f64>, b: f64| (a.expect("value") - b).abs() <= 1e-12 * b.abs().max(1e-12);
            assert!(close(mean[i], m), "{metric} mean {:?} vs {m}", mean[i]);
            assert!(close(se[i], s), "{metric} SE {:?} vs {s}", se[i]);
            assert!(close(lo[i], m - t * s) && close(hi[i], m + t * s), "{metric} CI");
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
    for f in ["cell_metrics.csv", "report.md", "accuracy_by_contender.png", "accuracy_by_contender.svg"] {
        assert!(local.join(f).is_file(), "{f} missing");
    }
    let report = std::fs::read_to_string(local.join("report.md")).expect("report");
    assert!(report.contains("**6 of 6 cells finished**"), "{report}");

    // The same spec through a real Slurm (one node, its own daemons): the same cells, the same aggregate. Starting
    // the daemons needs root (CI runs as root; scripts/setup.sh installs slurm-wlm and munge).
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        eprintln!("the Slurm half of this test needs root to start a one-node cluster; skipped as a non-root user");
        return;
    }
    let cluster = Cluster::start(&tmp.path().join("slurm-state"));
    let slurm = tmp.path().join("slurm");
    let through_slurm = || {
        snnbench()
            .arg("sweep")
            .arg(&spec)
            .arg("--out")
            .arg(&slurm)
            .args(["--executor", "slurm"])
            .env("SLURM_CONF", cluster.state.join("slurm.conf"))
            .output()
            .expect("run")
    };
    ok(&through_slurm(), "sweep --executor slurm");
    assert!(slurm.join("slurm/array-1.sh").is_file());
    let (a, b) = (cell_results(&local), cell_results(&slurm));
    assert_eq!(a.len(), 6);
    assert_eq!(a, b, "the cells' results differ between the local and the Slurm run");
    assert_eq!(aggregate_rows(&local), aggregate_rows(&slurm));
    // A re-run of the same command submits nothing (every cell is done).
    ok(&through_slurm(), "sweep --executor slurm again");
    assert!(!slurm.join("slurm/array-2.sh").exists(), "a finished sweep was submitted again");
}

fn wait_for(what: &str, child: &mut Child, f: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(120), "{what}: not within 2 minutes");
        assert!(child.try_wait().expect("wait").is_none(), "{what}: the process ended first");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn rows(path: &Path) -> usize {
    Table::read_csv(path).map_or(0, |t| t.len())
}

fn kill9(pid: u32) {
    assert!(Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill").success());
}

fn lock_pid(dir: &Path) -> u32 {
    let text = std::fs::read_to_string(dir.join(".snnbench.lock")).expect("lock");
    text.lines().find_map(|l| l.strip_prefix("pid=")).expect("pid=").trim().parse().expect("pid")
}

#[test]
fn a_killed_cell_resumes_and_a_failed_cell_is_named_by_a_rerun() {
    let tmp = tempfile::tempdir().expect("tmp");
    let spec = tmp.path().join("spec.toml");
    // Two conditions: every training sample (1000 > the set), and none (the cell fails: an empty split).
    std::fs::write(
        &spec,
        "job = \"train\"\nbackend = \"chip\"\nrule = \"eprop\"\nquick = true\n[schedule]\nepochs = 10\n\
         max_samples_per_epoch = 200\n[axes]\n\"data.max_train_samples\" = [1000, 0]\nseed = [0]\n",
    )
    .expect("spec");
    let run = tmp.path().join("run");
    let cmd = || {
        let mut c = snnbench();
        c.arg("sweep").arg(&spec).arg("--out").arg(&run);
        c
    };
    let mut child = cmd().stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let cell = run.join("cells/data.max_train_samples=1000__seed=0");
    let csv_path = cell.join("training_chip_eprop.csv");
    wait_for("the first epoch of the first cell", &mut child, || rows(&csv_path) >= 1);
    // kill -9 the cell's process (the lock names it) and the sweep.
    kill9(lock_pid(&cell));
    kill9(child.id());
    let _ = child.wait();
    let first = std::fs::read_to_string(&csv_path).expect("csv");
    assert!(rows(&csv_path) < 10, "the cell finished before the kill");
    // The epochs its checkpoint holds (a row written after the last checkpoint is written again on resume).
    let done_before: usize = std::fs::read_to_string(cell.join("checkpoints/chip_eprop.epochs"))
        .map_or(0, |s| s.trim().parse().expect("epochs"));
    let o = cmd().output().expect("rerun");
    assert!(!o.status.success(), "a sweep with a failed cell must exit non-zero");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("data.max_train_samples=0__seed=0 (failed:") && err.contains("empty"), "stderr: {err}");
    // The killed cell resumed from its checkpoint: all epochs, the rows its checkpoint holds unchanged.
    assert_eq!(rows(&csv_path), 10);
    let after = std::fs::read_to_string(&csv_path).expect("csv");
    let first_rows: Vec<&str> = first.lines().take(1 + done_before).collect();
    assert_eq!(after.lines().take(1 + done_before).collect::<Vec<_>>(), first_rows);
    let status =
        String::from_utf8_lossy(&snnbench_loud().args(["sweep", "status"]).arg(&run).output().expect("status").stdout)
            .to_string();
    assert!(status.contains("1 done, 1 failed"), "{status}");
    let report = std::fs::read_to_string(run.join("report.md")).expect("report");
    assert!(
        report.contains("**1 of 2 cells finished**") && report.contains("`data.max_train_samples=0__seed=0`: failed"),
        "{report}"
    );
}

#[test]
fn a_second_process_on_a_run_folder_refuses_naming_the_first_and_a_kill_resumes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("run");
    let cmd = || {
        let mut c = snnbench();
        c.args(["train", "--backend", "chip", "--rule", "eprop", "--quick", "--epochs", "12", "--out"]).arg(&run);
        c
    };
    let mut first = cmd().stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let csv_path = run.join("training_chip_eprop.csv");
    wait_for("the first epoch", &mut first, || rows(&csv_path) >= 1);
    let o = cmd().output().expect("second");
    assert!(!o.status.success(), "the second process ran in a locked folder");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("is in use by pid {} on ", first.id())), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    kill9(first.id());
    let _ = first.wait();
    let o = cmd().output().expect("resume");
    ok(&o, "train after kill -9");
    assert_eq!(rows(&csv_path), 12);
    assert!(run.join("weights.safetensors").is_file());
    // `evaluate` takes the run folder (its weights and its network).
    let test = tmp.path().join("synth-gsc-9-seed0/features/test.safetensors");
    let o = snnbench().args(["evaluate", "--params"]).arg(&run).arg("--batch").arg(&test).output().expect("evaluate");
    ok(&o, "evaluate --params RUN");
}

#[test]
fn config_files_may_be_partial_and_a_misspelt_key_is_one_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let read = |text: &str| {
        let p = tmp.path().join("c.toml");
        std::fs::write(&p, text).expect("write");
        ReproduceConfig::read(&p, false)
    };
    assert_eq!(read("").expect("empty"), ReproduceConfig::full());
    let c = read("quick = true\n[gpu]\nepochs = 1\n[net]\nn_rec = 64\n").expect("partial");
    let mut want = ReproduceConfig::quick();
    want.gpu.epochs = 1;
    want.net.n_rec = 64;
    assert_eq!(c, want);
    // A full config.toml written before configs were partial (and before [net]) reads as it did.
    let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/2026-11-26-ci-vm-reproduce/config.toml");
    assert_eq!(ReproduceConfig::read(&old, false).expect("old config"), ReproduceConfig::full());
    // Through the command line: one line naming the key, its line and the known keys; nothing is run.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "quick = true\n[gpu]\nepohcs = 1\n").expect("write");
    let o = snnbench()
        .args(["reproduce", "--config"])
        .arg(&bad)
        .arg("--out")
        .arg(tmp.path().join("r"))
        .output()
        .expect("run");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml:3: unknown field `epohcs`") && err.contains("`epochs`"), "{err}");
    assert!(!tmp.path().join("r").exists(), "a run folder was made for a bad config");
}

#[test]
fn reproduce_seeds_reports_mean_and_se_over_seeds() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("c.toml");
    // The quick run, smaller still: only the training experiments matter here.
    std::fs::write(&cfg, "quick = true\n[gpu]\nepochs = 1\n[chip]\nepochs = 1\n[sweep]\nt_steps = [25]\n")
        .expect("cfg");
    let run = tmp.path().join("seeds");
    let o = snnbench()
        .args(["reproduce", "--seeds", "2", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&run)
        .output()
        .expect("run");
    ok(&o, "reproduce --seeds 2");
    for s in [0, 1] {
        assert!(run.join(format!("cells/seed={s}/report.md")).is_file(), "seed {s}: no report");
    }
    let agg = csv(&run.join("aggregate.csv"));
    let contenders = agg.strs("contender").expect("contender");
    for c in ["chip_eprop", "gpu_eprop", "gpu_bptt"] {
        assert!(contenders.iter().any(|x| x == c), "{c} missing from the aggregate");
    }
    assert!(agg.f64s("n").expect("n").iter().all(|n| *n == Some(2.0)));
    let report = std::fs::read_to_string(run.join("report.md")).expect("report");
    assert!(report.contains("91.12 %") && report.contains("91.3 %"), "the paper's figures are missing");
    assert!(run.join("accuracy_by_contender.png").is_file());
}

/// The paper's task at T = 1,001 (hop 16: one frame per ms): a synthetic set prepared at that hop trains with the
/// chip, WGSL e-prop and WGSL BPTT; e-prop's device buffers in chunks of 100 are the bytes they are at T = 201 (both
/// several chunks) and never fewer than at T = 100 (one chunk: on a CPU adapter a path with no per-synapse state);
/// the default chunk length (`auto`) at T = 201 needs no more than chunks of 100; BPTT's grow.
#[test]
fn the_speech_task_trains_at_t_1001_with_every_contender() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bytes_with = |backend: &str, rule: &str, hop: usize, chunk: &str| -> (usize, Option<f64>) {
        let cfg = tmp.path().join(format!("{backend}-{rule}-{hop}-{chunk}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "backend = \"{backend}\"\nrule = \"{rule}\"\nquick = true\n[data]\nhop_length = {hop}\n\
                 [schedule]\nepochs = 1\nbatch = 16\nmax_samples_per_epoch = 32\neprop_chunk = \"{chunk}\"\n"
            ),
        )
        .expect("cfg");
        let run = tmp.path().join(format!("{backend}-{rule}-{hop}-{chunk}"));
        let o = snnbench().args(["train", "--config"]).arg(&cfg).arg("--out").arg(&run).output().expect("train");
        ok(&o, &format!("train {backend} {rule} at hop {hop}"));
        let name = if backend == "chip" { "chip_eprop".to_string() } else { format!("gpu_{rule}") };
        let t = csv(&run.join(format!("training_{name}.csv")));
        let steps = t.f64s("t_steps").expect("t_steps")[0].expect("T") as usize;
        let loss = t.f64s("train_loss").expect("loss")[0].expect("loss");
        assert!(loss.is_finite() && loss > 0.0, "{backend} {rule}: loss {loss}");
        (steps, t.f64s("gpu_buffer_bytes").expect("bytes")[0])
    };
    let bytes = |backend: &str, rule: &str, hop: usize| bytes_with(backend, rule, hop, "100");
    assert_eq!(bytes("chip", "eprop", 16).0, 1001);
    let (t_long, eprop_long) = bytes("wgpu", "eprop", 16);
    let (t_mid, eprop_mid) = bytes("wgpu", "eprop", 80);
    let (t_short, eprop_short) = bytes("wgpu", "eprop", 161);
    assert_eq!((t_long, t_mid, t_short), (1001, 201, 100));
    assert_eq!(eprop_long, eprop_mid, "e-prop's device memory in chunks of 100 changed with T");
    assert!(eprop_short.expect("bytes") <= eprop_long.expect("bytes"), "one chunk needs more than several");
    let (_, eprop_mid_auto) = bytes_with("wgpu", "eprop", 80, "auto");
    assert!(eprop_mid_auto.expect("bytes") <= eprop_mid.expect("bytes"), "auto took more memory than chunks of 100");
    let (_, bptt_long) = bytes("wgpu", "bptt", 16);
    let (_, bptt_short) = bytes("wgpu", "bptt", 161);
    assert!(bptt_long.expect("bytes") > 5.0 * bptt_short.expect("bytes"), "BPTT's history did not grow with T");
}
