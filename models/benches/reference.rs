//! Benchmark (not a test): time per training sample of the CPU reference, e-prop and BPTT, T = 100, f32.
//! Single-sample timings run on one thread (comparable with the authors' C code, 11.5 ms per sample on one core
//! of this machine class); batch timings use all threads through rayon. Warm-up, then the median of several runs.
//!
//! Run: `cargo bench -p models --bench reference` (add `-- --quick` for fewer repetitions).

use std::time::Instant;

use models::{
    AdamConfig, AdamState, Batch, NetConfig, Params, Rule, TraceVariant, bptt::BpttOptions, inputs::smooth_random_batch,
};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (reps, samples) = if quick { (3, 4) } else { (7, 16) };
    let cfg = NetConfig::default();
    let t_steps = 100;
    let p = Params::init_authors(&cfg, 0);
    let (x, y) = smooth_random_batch(64, t_steps, cfg.n_in, cfg.n_out, models::inputs::REALISTIC_GAIN, 1);
    let batch = Batch::new(&x, &y, t_steps, cfg.n_in, cfg.n_out).expect("batch");
    let threads = rayon::current_num_threads();
    println!(
        "CPU reference, f32, T = {t_steps}, {}→{}→{} ({} weights), median of {reps} runs",
        cfg.n_in,
        cfg.n_rec,
        cfg.n_out,
        cfg.n_weights()
    );
    println!("{:<22} {:>16} {:>16}", "rule", "1 thread ms/sample", format!("{threads} threads ms/sample"));
    let rules = [("eprop (authors)", Rule::Eprop(TraceVariant::Authors)), ("bptt", Rule::Bptt(BpttOptions::default()))];
    for (name, rule) in rules {
        // One training sample = gradient + Adam update, online (batch 1), on one thread.
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
        let mut per_sample = Vec::new();
        for rep in 0..=reps {
            let mut params = p.clone();
            let mut adam = AdamState::like(&params);
            let start = Instant::now();
            single.install(|| {
                models::train_steps(
                    &cfg,
                    &mut params,
                    &mut adam,
                    &AdamConfig::default(),
                    &batch,
                    rule,
                    1e-5,
                    samples,
                    1,
                    0.01,
                )
                .expect("train")
            });
            if rep > 0 {
                per_sample.push(start.elapsed().as_secs_f64() / samples as f64);
            }
        }
        // Minibatches of 16 across all threads.
        let mut batched = Vec::new();
        for rep in 0..=reps {
            let mut params = p.clone();
            let mut adam = AdamState::like(&params);
            let start = Instant::now();
            let steps = 2;
            models::train_steps(
                &cfg,
                &mut params,
                &mut adam,
                &AdamConfig::default(),
                &batch,
                rule,
                1e-5,
                steps,
                16,
                0.01,
            )
            .expect("train");
            if rep > 0 {
                batched.push(start.elapsed().as_secs_f64() / (steps * 16) as f64);
            }
        }
        println!("{:<22} {:>16.3} {:>16.3}", name, 1e3 * median(per_sample), 1e3 * median(batched));
    }
}
