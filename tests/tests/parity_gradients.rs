//! GPU (WGSL on wgpu; lavapipe in CI) against the CPU reference: whole-batch gradients of both rules and all their
//! variants, which exercises eprop_train + eprop_assemble + loss_reduce and bptt_forward + bptt_backward +
//! bptt_weight_grads + loss_reduce. Same weights and inputs; spikes must be identical (flips are listed);
//! gradients within the named tolerances of max|g|.

use kernels::GpuTrainer;
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions, compute_grads};
use tests::{assert_close, assert_close_per_tensor, flat32, gpu, random_case_shaped, spike_flips, tol};

const L2: f64 = 1e-5;

fn rules() -> [(&'static str, Rule, f64); 4] {
    [
        ("eprop authors", Rule::Eprop(TraceVariant::Authors), tol::EPROP_F32),
        ("eprop aligned", Rule::Eprop(TraceVariant::Aligned), tol::EPROP_F32),
        ("bptt", Rule::Bptt(BpttOptions::default()), tol::BPTT_F32),
        ("bptt detach-reset", Rule::Bptt(BpttOptions { detach_reset: true, stop_recurrent: false }), tol::BPTT_F32),
    ]
}

fn check(cfg: &NetConfig, batch: usize, t_steps: usize, seed: u64) {
    let ctx = gpu();
    let (p, data) = random_case_shaped(cfg, batch, t_steps, seed);
    for (name, rule, tolerance) in rules() {
        let what = format!("{name}, {}→{}→{}, B = {batch}, T = {t_steps}", cfg.n_in, cfg.n_rec, cfg.n_out);
        let cpu = compute_grads::<f32>(cfg, &p, &data.as_batch(), rule, L2).expect("cpu");
        let tr = GpuTrainer::new(&ctx, cfg, rule, batch, batch, t_steps, true, 1).expect("trainer");
        tr.upload_batch(&data.x, &data.y).expect("upload");
        tr.set_params(&p).expect("params");
        let g = tr.grads(L2).expect("gpu grads");
        let flips = spike_flips(&cpu.spikes, &g.spikes);
        assert!(flips.is_empty(), "{what}: {} spike flips at {:?}", flips.len(), &flips[..flips.len().min(5)]);
        assert!(cpu.spikes.contains(&1), "{what}: no spikes, the case does not test the network");
        for (n, a, b) in [
            ("g_in", &g.grads.w_in, &cpu.grads.w_in),
            ("g_rec", &g.grads.w_rec, &cpu.grads.w_rec),
            ("g_out", &g.grads.w_out, &cpu.grads.w_out),
        ] {
            let a: Vec<f64> = a.iter().map(|&v| v as f64).collect();
            let b: Vec<f64> = b.iter().map(|&v| v as f64).collect();
            let worst = assert_close(&format!("{what} {n}"), &a, &b, tolerance);
            eprintln!("{what} {n}: max error {worst:.2e} of max|g|");
        }
        let lg: Vec<f64> = g.logits.iter().map(|&v| v as f64).collect();
        let lc: Vec<f64> = cpu.logits.iter().map(|&v| v as f64).collect();
        assert_close(&format!("{what} logits"), &lg, &lc, 1e-5);
        assert_close(&format!("{what} loss"), &[g.loss as f64], &[cpu.loss as f64], 1e-6);
        let _ = flat32(&p);
    }
}

#[test]
fn paper_network_batch_1() {
    check(&NetConfig::default(), 1, 100, 21);
}

#[test]
fn paper_network_batch_64() {
    check(&NetConfig::default(), 64, 100, 22);
}

/// 37 neurons: the per-sample workgroup (64 threads) has idle threads; 13 inputs and 5 outputs are odd too, and
/// N_W = 13·37 + 37² + 37·5 = 1,035 is not a multiple of the 256-thread weight kernels.
#[test]
fn odd_sizes_not_multiple_of_workgroup() {
    let cfg = NetConfig { n_in: 13, n_rec: 37, n_out: 5, ..NetConfig::default() };
    check(&cfg, 3, 30, 23);
}

/// T longer than e-prop's chunk: the traces carry ε^a and ε^v across chunks (the last one shorter).
#[test]
fn eprop_across_several_chunks() {
    let t_steps = 2 * kernels::trainer::EPROP_CHUNK + 17;
    check(&NetConfig::default(), 2, t_steps, 24);
}

/// The cue task's network description: plain LIF neurons beside adaptive ones (per-neuron β), and a readout
/// window that starts inside an e-prop chunk (E sums ē from there; BPTT feeds the readout gradient from there).
#[test]
fn lif_alif_mix_and_readout_window() {
    let t_steps = 2 * kernels::trainer::EPROP_CHUNK + 17;
    let cfg = NetConfig { n_lif: 60, readout_window: kernels::trainer::EPROP_CHUNK + 9, ..NetConfig::default() };
    check(&cfg, 3, t_steps, 25);
}

/// A long sequence: several e-prop chunks, and per-invocation loop counts far above short-clip sizes (lavapipe
/// silently cuts loop nests at 65,535 iterations per invocation; this would expose a kernel that hits that).
#[test]
fn long_sequence_t1000() {
    check(&NetConfig::default(), 2, 1000, 25);
}

/// BPTT's work split (samples per backward workgroup, weight-gradient groups) is chosen per adapter; every split
/// must give the reference's gradients, whatever adapter runs the tests (uneven groups and a partial last workgroup
/// included).
#[test]
fn bptt_every_work_split() {
    let ctx = gpu();
    let cfg = NetConfig::default();
    let batch = 13;
    let (p, data) = random_case_shaped(&cfg, batch, 60, 23);
    let rule = Rule::Bptt(BpttOptions::default());
    let cpu = compute_grads::<f32>(&cfg, &p, &data.as_batch(), rule, L2).expect("cpu");
    let splits_sg = [(0, 1), (0, 4), (0, 13)];
    let cases = [(1, 1), (3, 4), (8, 13), (16, 5), (8, 128)]
        .map(|c| (c, false))
        .into_iter()
        .chain(splits_sg.map(|c| (c, true)));
    for ((spw, splits), sg) in cases {
        let tuning = kernels::BpttTuning { samples_per_workgroup: spw, grad_splits: splits, subgroup_kernels: sg };
        let tr = GpuTrainer::with_tuning(&ctx, &cfg, rule, batch, batch, 60, true, 1, tuning).expect("trainer");
        let kernels_run = tr.gradient_kernels();
        let ran_sg = kernels_run.contains(&"bptt_backward_sg");
        assert_eq!(
            ran_sg,
            kernels_run.contains(&"alif_forward_sg"),
            "both subgroup kernels or neither: {kernels_run:?}"
        );
        // lavapipe (CI) has fixed-size subgroups: there the subgroup kernel must really run when asked for.
        if sg && ctx.info.device_type == kernels::wgpu::DeviceType::Cpu {
            assert!(
                ran_sg,
                "a CPU adapter must run the subgroup kernels when asked (subgroups: {})",
                ctx.has_subgroups
            );
        }
        assert!(sg || !ran_sg, "the subgroup kernels ran although not asked for");
        let spw = if ran_sg { "subgroup".to_string() } else { spw.to_string() };
        tr.upload_batch(&data.x, &data.y).expect("upload");
        tr.set_params(&p).expect("params");
        let g = tr.grads(L2).expect("gpu grads");
        assert!(spike_flips(&cpu.spikes, &g.spikes).is_empty(), "SPW {spw}, splits {splits}: spike flips");
        let what = format!("bptt SPW {spw}, {splits} gradient groups");
        let worst = assert_close_per_tensor(&what, &g.grads, &cpu.grads, tol::BPTT_F32_PER_TENSOR);
        eprintln!(
            "{what}: max error {:.2e} {:.2e} {:.2e} of max|g| (g_in, g_rec, g_out)",
            worst[0], worst[1], worst[2]
        );
    }
}

/// e-prop has two kernel paths: the chunked trace kernels (any T, any adapter) and, when T fits one chunk on an
/// adapter with fixed-size subgroups, the subgroup forward + trace adjoint (eprop_backward_sg). Both must give the
/// reference's gradients for both trace variants; on lavapipe (CI) the subgroup path must really run when asked.
#[test]
fn eprop_both_kernel_paths() {
    let ctx = gpu();
    let cfg = NetConfig { n_lif: 40, readout_window: 37, ..NetConfig::default() };
    let batch = 9;
    let t_steps = 80;
    let (p, data) = random_case_shaped(&cfg, batch, t_steps, 26);
    for variant in [TraceVariant::Authors, TraceVariant::Aligned] {
        let rule = Rule::Eprop(variant);
        let cpu = compute_grads::<f32>(&cfg, &p, &data.as_batch(), rule, L2).expect("cpu");
        for sg in [false, true] {
            let tuning = kernels::BpttTuning { samples_per_workgroup: 1, grad_splits: 4, subgroup_kernels: sg };
            let tr =
                GpuTrainer::with_tuning(&ctx, &cfg, rule, batch, batch, t_steps, true, 1, tuning).expect("trainer");
            let ran = tr.gradient_kernels();
            let ran_sg = ran.contains(&"eprop_backward_sg");
            assert_eq!(ran_sg, ran.contains(&"alif_forward_sg"), "{ran:?}");
            assert_eq!(!ran_sg, ran.contains(&"eprop_traces"), "{ran:?}");
            if sg && ctx.info.device_type == kernels::wgpu::DeviceType::Cpu {
                assert!(ran_sg, "a CPU adapter must run e-prop's subgroup kernels when asked: {ran:?}");
            }
            assert!(sg || !ran_sg, "the subgroup kernels ran although not asked for");
            tr.upload_batch(&data.x, &data.y).expect("upload");
            tr.set_params(&p).expect("params");
            let g = tr.grads(L2).expect("gpu grads");
            let what = format!("e-prop {variant:?}, subgroup path {ran_sg}");
            let flips = spike_flips(&cpu.spikes, &g.spikes);
            assert!(flips.is_empty(), "{what}: {} spike flips", flips.len());
            let worst = assert_close_per_tensor(&what, &g.grads, &cpu.grads, tol::EPROP_F32);
            eprintln!(
                "{what}: max error {:.2e} {:.2e} {:.2e} of max|g| (g_in, g_rec, g_out)",
                worst[0], worst[1], worst[2]
            );
            // The autapse gets only its L2 term on both paths.
            let n = cfg.n_rec;
            for j in 0..n {
                let k = j * n + j;
                let want = (2.0 * L2 * p.w_rec[k] as f64) as f32;
                assert!((g.grads.w_rec[k] - want).abs() <= 1e-9 + 1e-6 * want.abs(), "{what}: autapse {j}");
            }
        }
    }
}
