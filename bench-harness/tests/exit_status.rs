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
