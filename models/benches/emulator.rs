//! Benchmark (not a test): emulated SpiNNaker 2 e-prop training, 12 PEs, T = 100, time per training sample
//! (functional emulation + counting), median of several runs. Floor (issue #5): ≤ 1 ms/sample on this 2-core
//! machine, i.e. ≥ 100× faster than the chip's real time (100 ms/sample).
//!
//! Run: `cargo bench -p models --bench emulator`

use std::time::Instant;

use models::{
    AdamConfig, NetConfig, Params,
    spinnaker2::{Emulator, Partition},
};

fn main() {
    let cfg = NetConfig::default();
    let p = Params::init_authors(&cfg, 0);
    let n = 64;
    let runs = 11;
    let (x, y) = models::inputs::smooth_random_batch(n, 100, cfg.n_in, cfg.n_out, models::inputs::REALISTIC_GAIN, 1);
    let len = 100 * cfg.n_in;
    let mut emu = Emulator::new(&cfg, &Partition::balanced(cfg.n_rec, 12), &p);
    let mut times = Vec::new();
    // Run 0 warms up (and starts the emulator's helper thread); runs 1.. are timed.
    for rep in 0..=runs {
        let start = Instant::now();
        for b in 0..n {
            let _ = emu.train_sample(&x[b * len..(b + 1) * len], y[b] as usize, &AdamConfig::default(), 0.01, 1e-5);
        }
        if rep > 0 {
            times.push(start.elapsed().as_secs_f64() / n as f64);
        }
    }
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "emulated SpiNNaker 2 e-prop, 12 PEs, T = 100: {:.3} ms per training sample (median of {runs} runs of {n}; \
         min {:.3}, max {:.3}; {threads} CPUs available)",
        1e3 * med,
        1e3 * times[0],
        1e3 * times[times.len() - 1]
    );
    println!("vs the chip's real time (100 ms/sample): {:.0}× faster; floor (issue #5): ≤ 1 ms", 0.1 / med);
}
