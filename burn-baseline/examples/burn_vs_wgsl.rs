//! A lean side-by-side benchmark (no polars or plotters, so it fits the device tool's 64 MiB): BPTT training at
//! batch N, T = 100, realistic inputs, through burn's autodiff on its wgpu backend and through the hand-written WGSL
//! (`kernels`), interleaved, one warm-up step each, median of R timed runs. Prints one line per contender.
//!
//! usage: cargo run --release -p burn-baseline --example burn_vs_wgsl -- [N] [samples] [rounds]

use std::time::Instant;

use burn_baseline::BurnBackend;
use models::{AdamConfig, AdamState, NetConfig, Params, Rule, bptt::BpttOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (batch, samples, rounds) =
        (args.first().copied().unwrap_or(100), args.get(1).copied().unwrap_or(1000), args.get(2).copied().unwrap_or(3));
    let cfg = NetConfig::default();
    let t = 100;
    let p0 = Params::init_authors(&cfg, 0);
    let (x, y) = models::inputs::smooth_random_batch(batch, t, cfg.n_in, cfg.n_out, models::inputs::REALISTIC_GAIN, 1);
    let steps = samples.div_ceil(batch);
    let adam_cfg = AdamConfig::default();
    let opts = BpttOptions::default();
    let ctx = kernels::GpuContext::new(None)?;
    let tr = kernels::GpuTrainer::new(
        &ctx,
        &kernels::TrainerConfig::new(&cfg, Rule::Bptt(opts), batch, t).with_max_steps(steps),
    )?;
    tr.upload_batch(&x, &y)?;
    tr.set_params(&p0)?;
    tr.set_adam(&AdamState::like(&p0))?;
    tr.train(0, 1, 0.01, 1e-5, &adam_cfg)?;
    tr.wait()?;
    let (mut pb, mut ab) = (p0.clone(), AdamState::like(&p0));
    burn_baseline::train_steps(
        BurnBackend::Wgpu,
        &cfg,
        &mut pb,
        &mut ab,
        &adam_cfg,
        &x,
        &y,
        t,
        opts,
        1e-5,
        1,
        batch,
        0.01,
    )?;
    let (mut wgsl, mut burn) = (vec![], vec![]);
    for _ in 0..rounds {
        let s = Instant::now();
        tr.train(0, steps, 0.01, 1e-5, &adam_cfg)?;
        tr.wait()?;
        wgsl.push(s.elapsed().as_secs_f64());
        let s = Instant::now();
        burn_baseline::train_steps(
            BurnBackend::Wgpu,
            &cfg,
            &mut pb,
            &mut ab,
            &adam_cfg,
            &x,
            &y,
            t,
            opts,
            1e-5,
            steps,
            batch,
            0.01,
        )?;
        burn.push(s.elapsed().as_secs_f64());
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let n = (steps * batch) as f64;
    let (w, b) = (med(wgsl), med(burn));
    println!("adapter: {}", ctx.describe());
    println!("BPTT N = {batch}, T = {t}, {} samples per run, median of {rounds} interleaved runs:", steps * batch);
    println!("  WGSL (kernels)        {:.4} ms/sample", 1e3 * w / n);
    println!("  burn 0.22.1 burn-wgpu {:.4} ms/sample", 1e3 * b / n);
    println!("  ratio burn / WGSL     {:.1}×", b / w);
    Ok(())
}
