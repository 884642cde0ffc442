//! The SpiNNaker 2 emulator trains like the reference: 20 online e-prop steps on the float64 fixture give the same
//! per-step losses and final weights (to f32 round-off and the readout's cross-PE summation order), for the
//! paper's 12-PE split and for an uneven one; and its counts are what the schedule implies.

use models::{
    AdamConfig, NetConfig,
    spinnaker2::{Activity, ChipConfig, Emulator, Partition},
};
use tests::{assert_close, fixture_batch, fixture_params, flat32, get, load_fixture};

/// Trains `emu` online on the fixture's sample k (mod its batch) with the fixture's schedule (lr 0.01, l2 1e-5).
fn train_on(
    emu: &mut Emulator,
    data: &bench_harness::tensors::BatchData,
    k: usize,
) -> (f32, models::spinnaker2::SampleCounts) {
    let len = data.t_steps * data.n_in;
    let b = k % data.batch;
    emu.train_sample(&data.x[b * len..(b + 1) * len], data.y[b] as usize, &AdamConfig::default(), 0.01, 1e-5)
}

fn run(pes: usize) {
    let t = load_fixture("reference_train_eprop.safetensors");
    let p0 = fixture_params(&t, "").cast::<f32>();
    let data = fixture_batch(&t);
    let cfg = NetConfig::default();
    let _chip = ChipConfig::default();
    let part = Partition::balanced(cfg.n_rec, pes);
    let mut emu = Emulator::new(&cfg, &part, &p0);
    let mut losses = Vec::new();
    for k in 0..20 {
        let (loss, counts) = train_on(&mut emu, &data, k);
        losses.push(loss as f64);
        assert_eq!(counts.steps.len(), data.t_steps);
        assert_eq!(counts.end.len(), pes);
        // Every PE updates all its synapses every step; the input frame reaches every PE.
        let syn: f64 = counts.steps[0].iter().map(|c| c.synapse_updates).sum();
        assert_eq!(syn, (cfg.n_rec * (cfg.n_in + cfg.n_rec - 1)) as f64);
        assert!(counts.steps.iter().all(|s| s.iter().all(|c| c.packets_received >= cfg.n_in as f64)));
        // Counts flow one way: the sample's recorded activity, split over the same PEs, gives the emulator's own
        // counts exactly (the mean of one sample).
        let mut act = Activity::new(&cfg, data.t_steps, "test");
        act.record(&counts);
        let w = act.workload(&part);
        assert_eq!(w.steps, counts.steps, "{pes} PEs, sample {k}: steps");
        assert_eq!(w.worst_steps.len(), counts.steps.len());
        assert_eq!(w.end, counts.end, "{pes} PEs, sample {k}: end of sample");
        assert_eq!(act.spikes_per_sample(), counts.spikes as f64);
    }
    let worst = assert_close(
        &format!("{pes} PEs per-step losses"),
        &losses,
        &get(&t, "losses"),
        tests::tol::TRAJECTORY_LOSSES_F32,
    );
    eprintln!("{pes} PEs: losses within {worst:.2e}");
    let worst = assert_close(
        &format!("{pes} PEs final weights"),
        &flat32(&emu.params()),
        &flat(&t),
        tests::tol::TRAJECTORY_WEIGHTS_F32,
    );
    eprintln!("{pes} PEs: final weights within {worst:.2e} of max|W|");
}

fn flat(t: &std::collections::BTreeMap<String, bench_harness::tensors::Tensor>) -> Vec<f64> {
    tests::flat(&fixture_params(t, "final_"))
}

#[test]
fn twelve_pes_match_the_reference() {
    run(12);
}

#[test]
fn uneven_split_matches_the_reference() {
    run(7);
}

#[test]
fn params_round_trip_through_the_pes() {
    let cfg = NetConfig::default();
    let p = models::Params::init_authors(&cfg, 4);
    let emu = Emulator::new(&cfg, &Partition::balanced(cfg.n_rec, 5), &p);
    assert_eq!(emu.params(), p);
}

/// A checkpoint (weights + Adam state gathered from the PEs) resumes training exactly: 3 + 2 samples with a reload
/// in between equal 5 samples straight through, bit for bit.
#[test]
fn checkpoint_resumes_bit_exactly() {
    let t = load_fixture("reference_train_eprop.safetensors");
    let p0 = fixture_params(&t, "").cast::<f32>();
    let data = fixture_batch(&t);
    let cfg = NetConfig::default();
    let _chip = ChipConfig::default();
    let part = Partition::balanced(cfg.n_rec, 12);
    let step = |emu: &mut Emulator, k: usize| {
        train_on(emu, &data, k);
    };
    let mut straight = Emulator::new(&cfg, &part, &p0);
    (0..5).for_each(|k| step(&mut straight, k));
    let mut first = Emulator::new(&cfg, &part, &p0);
    (0..3).for_each(|k| step(&mut first, k));
    let (p3, a3) = (first.params(), first.adam_state());
    assert_eq!(a3.step, 3);
    let mut resumed = Emulator::new(&cfg, &part, &p3);
    resumed.set_adam(&a3);
    (3..5).for_each(|k| step(&mut resumed, k));
    assert_eq!(resumed.params(), straight.params());
    assert_eq!(resumed.adam_state().m, straight.adam_state().m);
}

/// The end-of-sample work split over two host threads (the helper thread) gives the same bits as one thread:
/// weights, Adam state, losses and counts, for an even and an uneven split, and after switching back and forth.
#[test]
fn two_host_threads_equal_one() {
    let t = load_fixture("reference_train_eprop.safetensors");
    let p0 = fixture_params(&t, "").cast::<f32>();
    let data = fixture_batch(&t);
    let cfg = NetConfig::default();
    for pes in [12, 7] {
        let part = Partition::balanced(cfg.n_rec, pes);
        let run = |threads: &[usize]| {
            let mut emu = Emulator::new(&cfg, &part, &p0);
            let mut out = Vec::new();
            for (k, &th) in threads.iter().enumerate() {
                emu.set_host_threads(th);
                let (loss, counts) = train_on(&mut emu, &data, k);
                out.push((loss.to_bits(), counts));
            }
            (out, emu.params(), emu.adam_state())
        };
        let one = run(&[1; 6]);
        let two = run(&[2; 6]);
        let mixed = run(&[2, 1, 2, 2, 1, 2]);
        assert!(one == two, "{pes} PEs: two host threads differ from one");
        assert!(one == mixed, "{pes} PEs: switching host threads changes the result");
    }
}

/// The cue task's network description on the chip: plain LIF neurons beside adaptive ones and a readout window.
/// One sample's raw gradient (no update) against the float64 reference's e-prop (authors' traces), per tensor.
#[test]
fn lif_alif_mix_and_readout_window_match_the_reference() {
    use models::{Rule, TraceVariant, compute_grads};
    let cfg = NetConfig { n_lif: 60, readout_window: 37, ..NetConfig::default() };
    let (p, data) = tests::random_case_shaped(&cfg, 3, 150, 51);
    let part = Partition::balanced(cfg.n_rec, 12);
    let mut emu = Emulator::new(&cfg, &part, &p);
    let len = data.t_steps * data.n_in;
    for b in 0..data.batch {
        let x = &data.x[b * len..(b + 1) * len];
        let one = bench_harness::tensors::BatchData { x: x.to_vec(), y: vec![data.y[b]], batch: 1, ..data.clone() };
        let r = compute_grads::<f64>(&cfg, &p.cast(), &one.as_batch(), Rule::Eprop(TraceVariant::Authors), 0.0)
            .expect("reference");
        assert!(r.spikes.contains(&1), "sample {b}: no spikes");
        let g = emu.sample_gradient(x, data.y[b] as usize, 0.0);
        let worst =
            tests::assert_close_per_tensor(&format!("sample {b}"), &g.grads, &r.grads.cast(), tests::tol::EPROP_F32);
        eprintln!(
            "sample {b}: chip vs float64 reference within {:.2e} {:.2e} {:.2e} of max|g|",
            worst[0], worst[1], worst[2]
        );
    }
}
