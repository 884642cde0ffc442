//! The real `snnbench` process: success prints a summary and exits 0; bad input prints one `error:` line on stderr
//! and exits non-zero.

use std::process::Command;

fn snnbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_snnbench"))
}

#[test]
fn bad_input_exits_non_zero_with_one_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("g.safetensors");
    let o = snnbench()
        .args([
            "grads",
            "--rule",
            "eprop",
            "--params",
            "/nonexistent/p.safetensors",
            "--batch",
            "/nonexistent/b.safetensors",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run snnbench");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "stderr: {err}");
    assert!(lines[0].contains("/nonexistent/p.safetensors"), "{err}");
    assert!(!out.exists());
}

#[test]
fn init_then_grads_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("p.safetensors");
    let b = dir.path().join("b.safetensors");
    let g = dir.path().join("g.safetensors");
    assert!(snnbench().args(["init", "--seed", "3", "--out"]).arg(&p).status().expect("init").success());
    assert!(
        snnbench()
            .args(["random-batch", "--batch", "2", "--steps-t", "10", "--out"])
            .arg(&b)
            .status()
            .expect("batch")
            .success()
    );
    let o = snnbench()
        .args(["grads", "--rule", "bptt", "--params"])
        .arg(&p)
        .arg("--batch")
        .arg(&b)
        .arg("--out")
        .arg(&g)
        .output()
        .expect("grads");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("loss"));
}

/// A successful run prints no line a reader takes for a failure, also in a session without `XDG_RUNTIME_DIR` (the
/// desktop-less CI and ssh case, where EGL's Wayland probe used to print "error: XDG_RUNTIME_DIR is invalid or not
/// set"): the WGSL kernels and burn's wgpu backend both open an adapter here.
#[test]
fn success_without_a_desktop_session_prints_no_alarming_line() {
    let mut backends = vec!["wgpu"];
    if cfg!(feature = "burn") {
        backends.push("burn-wgpu");
    }
    for backend in backends {
        let o = snnbench()
            .args(["bench-train", "--rule", "bptt", "--backend", backend, "--batch", "2", "--steps-t", "10"])
            .args(["--samples", "2", "--reps", "1"])
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("WGPU_BACKEND")
            .env_remove("RUST_LOG")
            .output()
            .expect("run snnbench");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{backend}: {err}");
        let alarming: Vec<&str> =
            err.lines().filter(|l| l.to_lowercase().contains("error") || l.to_lowercase().contains("warn")).collect();
        assert!(alarming.is_empty(), "{backend}: stderr says {alarming:?}");
    }
}
