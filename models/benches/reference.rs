//! Benchmark (not a test): time per training sample of the CPU reference, e-prop and BPTT, T = 100, f32.
//! Single-sample timings run on one thread (comparable with the authors' C code, 11.5 ms per sample on one core
//! of this machine class); batch timings use all threads through rayon. Warm-up, then the median of several runs.
//!
//! Run: `cargo bench -p models --bench reference` (add `-- --quick` for fewer repetitions).

use std::time::Instant;

use models::{
    AdamConfig, AdamState, Batch, NetConfig, Params, Rule, TraceVariant, bptt::BpttOptions, inputs::smooth_random_batch,
};

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
    // Median seconds per training sample (gradient + Adam) over `reps` runs of `steps` minibatches of `n`, after
    // one warm-up run.
    let time = |rule: Rule, steps: usize, n: usize| {
        let mut per_sample: Vec<f64> = (0..=reps)
            .map(|_| {
                let mut params = p.clone();
                let mut adam = AdamState::like(&params);
                let start = Instant::now();
                models::train_steps(
                    &cfg,
                    &mut params,
                    &mut adam,
                    &AdamConfig::default(),
                    &batch,
                    rule,
                    1e-5,
                    steps,
                    n,
                    0.01,
                )
                .expect("train");
                start.elapsed().as_secs_f64() / (steps * n) as f64
            })
            .skip(1)
            .collect();
        per_sample.sort_by(f64::total_cmp);
        per_sample[per_sample.len() / 2]
    };
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    for (name, rule) in rules {
        // Online (batch 1) on one thread; minibatches of 16 across all threads.
        let per_sample = single.install(|| time(rule, samples, 1));
        let batched = time(rule, 2, 16);
        println!("{:<22} {:>16.3} {:>16.3}", name, 1e3 * per_sample, 1e3 * batched);
    }
}
