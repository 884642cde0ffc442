//! Benchmark (not a test): training throughput side by side in one run, interleaved round by round so that a
//! noisy machine moves every contender alike. Contenders: WGSL e-prop and BPTT on the wgpu adapter (lavapipe
//! without a GPU), the CPU reference, and the PyTorch peer (`bench-harness/peers/torch_bptt.py`, eager autograd,
//! float32) when `python3 -c "import torch"` works. Every timed run waits for the device. Prints medians and ratios.
//!
//! Run: `cargo bench -p bench-harness --bench train [-- --batch 32 --steps-t 100 --samples 128 --rounds 5]`

use std::process::Command;

use bench_harness::bench_train::{BenchTrainResult, bench_train};
use bench_harness::contender::{EpropChunk, Kind};
use models::{Rule, TraceVariant, bptt::BpttOptions};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds of untimed training before each timed run, for every contender (`snnbench bench`'s default).
const WARMUP_S: f64 = 0.5;

fn torch_run(batch: usize, t_steps: usize, samples: usize) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/torch_bptt.py");
    let out = Command::new("python3")
        .args([script, "--batch", &batch.to_string(), "--steps-t", &t_steps.to_string()])
        .args(["--samples", &samples.to_string(), "--warmup-s", &WARMUP_S.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    v["time_per_sample_ms"].as_f64()
}

fn main() {
    let batch = arg("--batch", 32);
    let t_steps = arg("--steps-t", 100);
    let samples = arg("--samples", 128);
    let rounds = arg("--rounds", 5);
    let ctx = match kernels::GpuContext::new(None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("no GPU adapter: {e}");
            std::process::exit(1);
        }
    };
    let torch_ok = Command::new("python3").args(["-c", "import torch"]).output().is_ok_and(|o| o.status.success());
    println!("adapter: {}", ctx.describe());
    println!("N = {batch}, T = {t_steps}, {samples} samples per run, {rounds} interleaved rounds (medians)");
    if !torch_ok {
        println!("note: PyTorch not importable; the torch-cpu row is skipped");
    }
    let eprop = Rule::Eprop(TraceVariant::Authors);
    let bptt = Rule::Bptt(BpttOptions::default());
    let names = ["eprop wgpu", "bptt wgpu", "eprop cpu-ref", "bptt cpu-ref", "bptt torch-cpu"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    // One timed run of a contender, its ms per sample (the default e-prop chunk length).
    let ms = |kind: Kind, rule: Rule, gpu: Option<&kernels::GpuContext>| {
        let r: anyhow::Result<BenchTrainResult> =
            bench_train(kind, rule, gpu, batch, t_steps, samples, 1, EpropChunk::default(), WARMUP_S, None);
        r.map(|r| r.time_per_sample_ms).ok()
    };
    for round in 0..rounds {
        let row = [
            ms(Kind::Wgpu, eprop, Some(&ctx)),
            ms(Kind::Wgpu, bptt, Some(&ctx)),
            ms(Kind::Cpu { f64: false }, eprop, None),
            ms(Kind::Cpu { f64: false }, bptt, None),
            if torch_ok { torch_run(batch, t_steps, samples) } else { None },
        ];
        for (t, v) in times.iter_mut().zip(row) {
            t.extend(v);
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }
    let med: Vec<Option<f64>> = times.into_iter().map(|t| (!t.is_empty()).then(|| median(t))).collect();
    println!("{:<16} {:>12}", "contender", "ms/sample");
    for (n, m) in names.iter().zip(&med) {
        match m {
            Some(m) => println!("{n:<16} {m:>12.3}"),
            None => println!("{n:<16} {:>12}", "n/a"),
        }
    }
    if let (Some(g), Some(t)) = (med[1], med[4]) {
        println!("ratio torch-cpu / bptt wgpu = {:.2} (> 1: WGSL BPTT on this adapter is faster)", t / g);
    }
    if let Some(e) = med[0] {
        println!(
            "eprop wgpu vs the authors' C (11.5 ms/sample, one core of this machine class): {:.1}× faster",
            11.5 / e
        );
    }
}
