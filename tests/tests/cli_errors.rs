//! Every bad input of `snnbench grads` / `train-steps` gives one clear error naming the file, the tensor and what was
//! expected, and leaves no output file behind.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};

use bench_harness::tensors::{Tensor, write_tensors};
use tests::{random_case, snnbench};

struct Case {
    dir: tempfile::TempDir,
    params: PathBuf,
    batch: PathBuf,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let params = dir.path().join("params.safetensors");
        let batch = dir.path().join("batch.safetensors");
        let (_, p, data) = random_case(2, 20, 1);
        bench_harness::tensors::write_params(&params, &p.cast(), vec![]).expect("params");
        bench_harness::tensors::write_batch(&batch, &data).expect("batch");
        Self { dir, params, batch }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs grads and train-steps with these inputs; both must fail, mention every needle, and write nothing.
    fn expect_error(&self, params: &Path, batch: &Path, needles: &[&str]) {
        let out = self.path("out.safetensors");
        let (p, b, o) = (params.to_str().unwrap(), batch.to_str().unwrap(), out.to_str().unwrap());
        let runs: [Vec<&str>; 2] = [
            vec!["grads", "--rule", "bptt", "--params", p, "--batch", b, "--out", o],
            vec![
                "train-steps",
                "--rule",
                "eprop",
                "--params",
                p,
                "--batch",
                b,
                "--steps",
                "2",
                "--batch-size",
                "1",
                "--out",
                o,
            ],
        ];
        for args in runs {
            let err = snnbench(&args).expect_err("must fail");
            let msg = format!("{err:#}");
            for n in needles {
                assert!(msg.contains(n), "{}: message {msg:?} does not mention {n:?}", args[0]);
            }
            assert!(!msg.contains('\n'), "one line expected: {msg:?}");
            assert!(!out.exists(), "{}: an output file was left behind", args[0]);
            let leftovers: Vec<_> = std::fs::read_dir(self.dir.path())
                .expect("read dir")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        }
    }

    fn params_with(&self, name: &str, tensors: Vec<(&str, Tensor)>) -> PathBuf {
        let p = self.path(name);
        write_tensors(&p, &tensors, &[]).expect("write");
        p
    }

    fn good_params(&self) -> Vec<(&'static str, Tensor)> {
        let p = bench_harness::tensors::read_params(&self.params).expect("read");
        bench_harness::tensors::params_tensors(&p, bench_harness::tensors::PARAM_NAMES)
    }

    fn good_batch(&self) -> (Vec<f32>, Vec<i64>) {
        let b = bench_harness::tensors::read_batch(&self.batch, 80, 12).expect("read");
        (b.x, b.y)
    }
}

#[test]
fn good_inputs_work() {
    let c = Case::new();
    let out = c.path("g.safetensors");
    snnbench(&[
        "grads",
        "--rule",
        "eprop",
        "--params",
        c.params.to_str().unwrap(),
        "--batch",
        c.batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .expect("good inputs");
    assert!(out.exists());
}

#[test]
fn misspelled_tensor_name() {
    let c = Case::new();
    let mut t = c.good_params();
    t[0].0 = "W_in";
    let p = c.params_with("bad.safetensors", t);
    c.expect_error(&p, &c.batch, &["bad.safetensors", "W_in", "w_in"]);
}

#[test]
fn missing_tensor() {
    let c = Case::new();
    let mut t = c.good_params();
    t.remove(2);
    let p = c.params_with("missing.safetensors", t);
    c.expect_error(&p, &c.batch, &["missing.safetensors", "w_out", "missing"]);
}

#[test]
fn wrong_shape() {
    let c = Case::new();
    let mut t = c.good_params();
    t[1].1 = Tensor::f32(&[120, 119], vec![0.0; 120 * 119]);
    let p = c.params_with("shape.safetensors", t);
    c.expect_error(&p, &c.batch, &["shape.safetensors", "w_rec", "[120, 120]", "[120, 119]"]);
}

#[test]
fn wrong_dtype() {
    let c = Case::new();
    let mut t = c.good_params();
    t[0].1 = Tensor::F64 { shape: vec![80, 120], data: vec![0.0; 9600] };
    let p = c.params_with("dtype.safetensors", t);
    c.expect_error(&p, &c.batch, &["dtype.safetensors", "w_in", "F64", "F32"]);
}

#[test]
fn nan_weight() {
    let c = Case::new();
    let mut t = c.good_params();
    if let Tensor::F32 { data, .. } = &mut t[2].1 {
        data[5] = f32::NAN;
    }
    let p = c.params_with("nan.safetensors", t);
    c.expect_error(&p, &c.batch, &["nan.safetensors", "w_out", "NaN", "finite"]);
}

#[test]
fn infinite_input() {
    let c = Case::new();
    let (mut x, y) = c.good_batch();
    x[17] = f32::INFINITY;
    let b = c.path("inf.safetensors");
    write_tensors(&b, &[("x", Tensor::f32(&[2, 20, 80], x)), ("y", Tensor::i64(&[2], y))], &[]).expect("write");
    c.expect_error(&c.params, &b, &["inf.safetensors", "`x`", "inf", "finite"]);
}

#[test]
fn label_out_of_range() {
    let c = Case::new();
    let (x, _) = c.good_batch();
    for (name, label) in [("label12.safetensors", 12), ("labelneg.safetensors", -1)] {
        let b = c.path(name);
        write_tensors(
            &b,
            &[("x", Tensor::f32(&[2, 20, 80], x.clone())), ("y", Tensor::i64(&[2], vec![0, label]))],
            &[],
        )
        .expect("write");
        c.expect_error(&c.params, &b, &[name, "`y`", &label.to_string(), "0 ≤ y < 12"]);
    }
}

#[test]
fn label_wrong_dtype_and_length() {
    let c = Case::new();
    let (x, _) = c.good_batch();
    let b = c.path("y32.safetensors");
    write_tensors(&b, &[("x", Tensor::f32(&[2, 20, 80], x.clone())), ("y", Tensor::u8(&[2], vec![0, 1]))], &[])
        .expect("write");
    c.expect_error(&c.params, &b, &["y32.safetensors", "`y`", "I64"]);
    let b = c.path("ylen.safetensors");
    write_tensors(&b, &[("x", Tensor::f32(&[2, 20, 80], x)), ("y", Tensor::i64(&[3], vec![0, 1, 2]))], &[])
        .expect("write");
    c.expect_error(&c.params, &b, &["ylen.safetensors", "`y`", "[2]"]);
}

#[test]
fn feature_width_mismatch() {
    let c = Case::new();
    let b = c.path("width.safetensors");
    write_tensors(&b, &[("x", Tensor::f32(&[2, 20, 40], vec![0.1; 1600])), ("y", Tensor::i64(&[2], vec![0, 1]))], &[])
        .expect("write");
    c.expect_error(&c.params, &b, &["width.safetensors", "`x`", "feature width 40", "n_in = 80"]);
}

#[test]
fn unreadable_file() {
    let c = Case::new();
    let missing = c.path("does-not-exist.safetensors");
    c.expect_error(&missing, &c.batch, &["does-not-exist.safetensors", "cannot read"]);
}

#[test]
fn truncated_file() {
    let c = Case::new();
    let bytes = std::fs::read(&c.params).expect("read");
    let p = c.path("truncated.safetensors");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write");
    c.expect_error(&p, &c.batch, &["truncated.safetensors", "not a valid safetensors file"]);
    let b = c.path("header-cut.safetensors");
    std::fs::write(&b, &std::fs::read(&c.batch).expect("read")[..5]).expect("write");
    c.expect_error(&c.params, &b, &["header-cut.safetensors", "not a valid safetensors file"]);
}

#[test]
fn not_a_safetensors_file() {
    let c = Case::new();
    let p = c.path("text.safetensors");
    std::fs::write(&p, "w_in,w_rec,w_out\n1,2,3\n").expect("write");
    c.expect_error(&p, &c.batch, &["text.safetensors", "not a valid safetensors file"]);
}

#[test]
fn existing_output_is_kept_when_the_command_fails() {
    let c = Case::new();
    let out = c.path("keep.safetensors");
    std::fs::write(&out, b"previous result").expect("write");
    let missing = c.path("nope.safetensors");
    let _ = snnbench(&[
        "grads",
        "--rule",
        "eprop",
        "--params",
        missing.to_str().unwrap(),
        "--batch",
        c.batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .expect_err("fails");
    assert_eq!(std::fs::read(&out).expect("read"), b"previous result");
}
