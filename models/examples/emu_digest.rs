//! Prints a digest of the emulator's weights, Adam state, counts and first losses after 16 samples (12 and 7 PEs),
//! so that an optimisation of the emulator can be checked to change no bit: run it before and after.
//!
//! Run: `cargo run --release -p models --example emu_digest`

use models::{
    AdamConfig, NetConfig, Params,
    spinnaker2::{Emulator, Partition},
};
fn main() {
    let cfg = NetConfig::default();
    let p = Params::init_authors(&cfg, 0);
    let n = 16;
    let (x, y) = models::inputs::smooth_random_batch(n, 100, cfg.n_in, cfg.n_out, models::inputs::REALISTIC_GAIN, 1);
    let len = 100 * cfg.n_in;
    for pes in [12, 7] {
        let mut emu = Emulator::new(&cfg, &Partition::balanced(cfg.n_rec, pes), &p);
        let mut losses = Vec::new();
        let mut cs = Vec::new();
        for b in 0..n {
            let (l, c) =
                emu.train_sample(&x[b * len..(b + 1) * len], y[b] as usize, &AdamConfig::default(), 0.01, 1e-5);
            losses.push(l.to_bits());
            cs.push(format!("{:?}", c));
        }
        let p = emu.params();
        let a = emu.adam_state();
        let mut h: u64 = 1469598103934665603;
        for v in p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).chain(&a.m.w_in).chain(&a.v.w_rec).chain(&a.v.w_out) {
            h = (h ^ v.to_bits() as u64).wrapping_mul(1099511628211);
        }
        let mut hc: u64 = 1469598103934665603;
        for b in cs.join("").bytes() {
            hc = (hc ^ b as u64).wrapping_mul(1099511628211);
        }
        println!("pes {pes}: weights {h:016x} counts {hc:016x} losses {:?}", &losses[..4]);
    }
}
