//! GPU (WGSL on wgpu; lavapipe in CI) against the CPU reference: whole-batch gradients of both rules and all their
//! variants: the general family (input_projection + alif_forward, then eprop_coeffs + eprop_traces + eprop_assemble
//! or bptt_backward + bptt_weight_grads + bptt_grad_reduce) and the subgroup family (pack_weights + alif_forward_sg,
//! then eprop_backward_sg or bptt_backward_sg, + bptt_weight_grads + bptt_grad_reduce), each with readout_grads and
//! loss_reduce. Every case runs under both kernel families — the general kernels, and the
//! subgroup kernels wherever they can run (always on lavapipe; asserted) — with the adapter's default work split and
//! no `SNNBENCH_*` override. Same weights and inputs; spikes must be identical (flips are listed); gradients per
//! tensor within the named tolerances of that tensor's max|g|.

use kernels::{BpttTuning, GpuTrainer, TrainerConfig};
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions, compute_grads};
use tests::{assert_close, assert_close_per_tensor, gpu, random_case_shaped, spike_flips, tol};

const L2: f64 = 1e-5;

fn rules() -> [(&'static str, Rule, tests::Tolerance); 4] {
    [
        ("eprop authors", Rule::Eprop(TraceVariant::Authors), tol::EPROP_F32),
        ("eprop aligned", Rule::Eprop(TraceVariant::Aligned), tol::EPROP_F32),
        ("bptt", Rule::Bptt(BpttOptions::default()), tol::BPTT_F32_PER_TENSOR),
        (
            "bptt detach-reset",
            Rule::Bptt(BpttOptions { detach_reset: true, stop_recurrent: false }),
            tol::BPTT_F32_PER_TENSOR,
        ),
    ]
}

/// Set (to anything) to check every variant on the paper-sized networks too, and the paper's fused BPTT kernel.
const ALL_PAPER_KERNELS: &str = "SNNBENCH_TEST_ALL_PAPER_KERNELS";

/// The rules a test on a paper-sized network (the paper's, the cue task's) checks: the variants `train`, `reproduce`
/// and sweeps run by default (the authors' traces; BPTT with every gradient path), or all of [`rules`] with
/// `SNNBENCH_TEST_ALL_PAPER_KERNELS=1`. Each other variant would be one more paper-sized unrolled kernel for LLVM to
/// compile, 70–90 s each on a 2-core AVX2 CPU adapter with an empty shader cache (CI); their code is the same
/// template expanded for every size, and every run checks them on the odd-sized network
/// (`odd_sizes_not_multiple_of_workgroup`, `eprop_both_kernel_paths`).
fn paper_rules() -> Vec<(&'static str, Rule, tests::Tolerance)> {
    let all = std::env::var_os(ALL_PAPER_KERNELS).is_some();
    let default = |r: Rule| r == Rule::Eprop(TraceVariant::Authors) || r == Rule::Bptt(BpttOptions::default());
    rules().into_iter().filter(|r| all || default(r.1)).collect()
}

/// A trainer for `rule` on `cfg` recording spikes, with the adapter type's default work split (never the
/// `SNNBENCH_*` overrides) and the subgroup kernel family asked for or not. Returns it with the family that ran.
fn trainer(
    ctx: &kernels::GpuContext,
    cfg: &NetConfig,
    rule: Rule,
    batch: usize,
    t_steps: usize,
    eprop_chunk: usize,
    subgroup: bool,
) -> (GpuTrainer, &'static str) {
    let tuning =
        BpttTuning { subgroup_kernels: subgroup, fused: false, ..BpttTuning::defaults(ctx.info.device_type, batch) };
    let config = TrainerConfig::new(cfg, rule, batch, t_steps).with_spike_record().with_eprop_chunk(Some(eprop_chunk));
    let tr = GpuTrainer::with_tuning(ctx, &config, tuning).expect("trainer");
    let ran = tr.gradient_kernels();
    let sg = ran.contains(&"alif_forward_sg");
    assert!(!ran.contains(&"bptt_fused_sg"), "BPTT's fused kernel ran although not asked for: {ran:?}");
    assert!(subgroup || !sg, "the subgroup kernels ran although not asked for: {ran:?}");
    // Where they should run they must: asked for, fitting this adapter, and (e-prop) T within one chunk, with every
    // invocation inside the loop budget. On lavapipe (CI) the paper-sized networks always fit.
    let fits = kernels::subgroup_kernels_fit_on(cfg, ctx);
    if ctx.info.device_type == kernels::wgpu::DeviceType::Cpu && cfg.n_rec <= 128 {
        assert!(fits, "a CPU adapter must fit the subgroup kernels for {}→{}", cfg.n_in, cfg.n_rec);
    }
    let expected = tuning.clamped(batch).resolved(rule, batch, t_steps, eprop_chunk, fits).subgroup_kernels;
    assert_eq!(sg, expected, "subgroup kernels ran: {sg}, expected {expected} ({ran:?})");
    (tr, if sg { "subgroup kernels" } else { "general kernels" })
}

/// Every rule, under both kernel families (the subgroup family only where it can run: see [`trainer`]).
fn check(cfg: &NetConfig, batch: usize, t_steps: usize, seed: u64) {
    check_rules(cfg, batch, t_steps, kernels::trainer::EPROP_CHUNK, &rules(), seed);
}

/// [`paper_rules`] on a paper-sized network, under both kernel families.
fn check_paper(cfg: &NetConfig, batch: usize, t_steps: usize, seed: u64) {
    check_rules(cfg, batch, t_steps, kernels::trainer::EPROP_CHUNK, &paper_rules(), seed);
}

/// The given rules with e-prop's forward in chunks of `eprop_chunk` steps, under both kernel families.
fn check_rules(
    cfg: &NetConfig,
    batch: usize,
    t_steps: usize,
    eprop_chunk: usize,
    rules: &[(&'static str, Rule, tests::Tolerance)],
    seed: u64,
) {
    let ctx = gpu();
    let (p, data) = random_case_shaped(cfg, batch, t_steps, seed);
    for &(name, rule, tolerance) in rules {
        let cpu = compute_grads::<f32>(cfg, &p, &data.as_batch(), rule, L2).expect("cpu");
        let mut families = vec![];
        for subgroup in [false, true] {
            let (tr, family) = trainer(&ctx, cfg, rule, batch, t_steps, eprop_chunk, subgroup);
            if families.contains(&family) {
                continue;
            }
            families.push(family);
            let chunk =
                if matches!(rule, Rule::Eprop(_)) { format!(", chunks of {eprop_chunk}") } else { String::new() };
            let what = format!(
                "{name}, {}→{}→{}, B = {batch}, T = {t_steps}{chunk}, {family}",
                cfg.n_in, cfg.n_rec, cfg.n_out
            );
            tr.upload_batch(&data.x, &data.y).expect("upload");
            tr.set_params(&p).expect("params");
            let g = tr.grads(L2).expect("gpu grads");
            let flips = spike_flips(&cpu.spikes, &g.spikes);
            assert!(flips.is_empty(), "{what}: {} spike flips at {:?}", flips.len(), &flips[..flips.len().min(5)]);
            assert!(cpu.spikes.contains(&1), "{what}: no spikes, the case does not test the network");
            let worst = assert_close_per_tensor(&what, &g.grads, &cpu.grads, tolerance);
            eprintln!(
                "{what}: max error {:.2e} {:.2e} {:.2e} of max|g| (g_in, g_rec, g_out)",
                worst[0], worst[1], worst[2]
            );
            let lg: Vec<f64> = g.logits.iter().map(|&v| v as f64).collect();
            let lc: Vec<f64> = cpu.logits.iter().map(|&v| v as f64).collect();
            assert_close(&format!("{what} logits"), &lg, &lc, tol::LOGITS_F32);
            assert_close(&format!("{what} loss"), &[g.loss as f64], &[cpu.loss as f64], tol::LOSS_F32);
        }
    }
}

#[test]
fn paper_network_batch_1() {
    check_paper(&NetConfig::default(), 1, 100, 21);
}

#[test]
fn paper_network_batch_64() {
    check_paper(&NetConfig::default(), 64, 100, 22);
}

/// 37 neurons: the per-sample workgroup (64 threads) has idle threads; 13 inputs and 5 outputs are odd too, and
/// N_W = 13·37 + 37² + 37·5 = 1,035 is not a multiple of the 256-thread weight kernels. Over several e-prop chunks
/// too: the subgroup lanes past neuron 37 and the input rows past 13 of eprop_traces_sg's row block must not write.
#[test]
fn odd_sizes_not_multiple_of_workgroup() {
    let cfg = NetConfig { n_in: 13, n_rec: 37, n_out: 5, ..NetConfig::default() };
    check(&cfg, 3, 30, 23);
    check(&cfg, 3, kernels::trainer::EPROP_CHUNK + 23, 27);
}

/// T longer than e-prop's chunk: the traces carry ε^a and ε^v across chunks (the last one shorter).
#[test]
fn eprop_across_several_chunks() {
    let t_steps = 2 * kernels::trainer::EPROP_CHUNK + 17;
    check_paper(&NetConfig::default(), 2, t_steps, 24);
}

/// e-prop's chunk length set per trainer (`--eprop-chunk`): the whole sequence in one chunk past the default
/// length (the trace adjoint over T = 237 steps, no per-synapse state), and short chunks whose last one is shorter
/// (37 steps: six full chunks and one of 15), both against the same reference.
#[test]
fn eprop_chunk_lengths() {
    let eprop: Vec<_> = paper_rules().into_iter().filter(|r| matches!(r.1, Rule::Eprop(_))).collect();
    let t_steps = 2 * kernels::trainer::EPROP_CHUNK + 37;
    check_rules(&NetConfig::default(), 2, t_steps, t_steps, &eprop, 26);
    check_rules(&NetConfig::default(), 2, t_steps, 37, &eprop, 26);
}

/// The cue task's network (LIF and ALIF neurons, a readout window of the last 150 steps) at its shortest T, as one
/// chunk and in chunks of the default length: what `train --task cue --eprop-chunk all|100` computes.
#[test]
fn eprop_chunk_lengths_cue_network() {
    let eprop: Vec<_> = rules().into_iter().filter(|r| matches!(r.1, Rule::Eprop(TraceVariant::Authors))).collect();
    let cfg = NetConfig::cue_task();
    check_rules(&cfg, 2, 1200, 1200, &eprop, 28);
    check_rules(&cfg, 2, 1200, kernels::trainer::EPROP_CHUNK, &eprop, 28);
}

/// On a CPU adapter one dispatch must stay inside llvmpipe's loop limit (65,535 iterations per invocation, all loops
/// together): an e-prop chunk or a BPTT sequence longer than that is refused before anything is allocated, since
/// llvmpipe would silently truncate it. A GPU has no such limit (nothing to check there).
#[test]
fn a_dispatch_past_the_cpu_adapter_loop_limit_is_refused() {
    let ctx = gpu();
    if ctx.info.device_type != kernels::wgpu::DeviceType::Cpu {
        return;
    }
    let cfg = NetConfig::default();
    let eprop = Rule::Eprop(TraceVariant::Authors);
    let long = TrainerConfig::new(&cfg, eprop, 1, 61_000).with_eprop_chunk(None);
    let err = GpuTrainer::new(&ctx, &long).expect_err("an e-prop chunk past the loop limit").to_string();
    assert!(err.contains("65,535") && err.contains("--eprop-chunk"), "{err}");
    let bptt = TrainerConfig::new(&cfg, Rule::Bptt(BpttOptions::default()), 1, 61_000);
    let err = GpuTrainer::new(&ctx, &bptt).expect_err("a BPTT sequence past the loop limit").to_string();
    assert!(err.contains("65,535"), "{err}");
    let zero = TrainerConfig::new(&cfg, eprop, 1, 100).with_eprop_chunk(Some(0));
    assert!(GpuTrainer::new(&ctx, &zero).is_err(), "a chunk of 0 steps accepted");
}

/// The cue task's network description: plain LIF neurons beside adaptive ones (per-neuron β), and a readout
/// window that starts inside an e-prop chunk (E sums ē from there; BPTT feeds the readout gradient from there).
#[test]
fn lif_alif_mix_and_readout_window() {
    let t_steps = 2 * kernels::trainer::EPROP_CHUNK + 17;
    let cfg = NetConfig { n_lif: 60, readout_window: kernels::trainer::EPROP_CHUNK + 9, ..NetConfig::default() };
    check_paper(&cfg, 3, t_steps, 25);
}

/// A long sequence: several e-prop chunks, and per-invocation loop counts far above short-clip sizes (lavapipe
/// silently stops an invocation's loops after 65,535 iterations of all of them together; this would expose a kernel
/// that hits that).
#[test]
fn long_sequence_t1000() {
    check_paper(&NetConfig::default(), 2, 1000, 25);
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
        let tuning = BpttTuning { samples_per_workgroup: spw, grad_splits: splits, subgroup_kernels: sg, fused: false };
        let config = TrainerConfig::new(&cfg, rule, batch, 60).with_spike_record();
        let tr = GpuTrainer::with_tuning(&ctx, &config, tuning).expect("trainer");
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
/// On the odd-sized network with a LIF/ALIF mix and a readout window (the paper's network runs both paths with the
/// default variant in `paper_network_batch_1` and `eprop_across_several_chunks`: see [`paper_rules`]).
#[test]
fn eprop_both_kernel_paths() {
    let ctx = gpu();
    let cfg = NetConfig { n_in: 13, n_rec: 37, n_out: 5, n_lif: 12, readout_window: 37, ..NetConfig::default() };
    let batch = 9;
    let t_steps = 80;
    let (p, data) = random_case_shaped(&cfg, batch, t_steps, 26);
    for variant in [TraceVariant::Authors, TraceVariant::Aligned] {
        let rule = Rule::Eprop(variant);
        let cpu = compute_grads::<f32>(&cfg, &p, &data.as_batch(), rule, L2).expect("cpu");
        for sg in [false, true] {
            let tuning = BpttTuning { samples_per_workgroup: 1, grad_splits: 4, subgroup_kernels: sg, fused: false };
            let config = TrainerConfig::new(&cfg, rule, batch, t_steps).with_spike_record();
            let tr = GpuTrainer::with_tuning(&ctx, &config, tuning).expect("trainer");
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

/// The cue task's network (40 inputs, 50 LIF + 50 ALIF, τ_a 2 s, 2 readouts over a 150-step recall window) at the
/// task's shortest T: what the long-sequence experiments train, with the variants they train ([`paper_rules`]).
#[test]
fn cue_task_network_t1200() {
    check_paper(&NetConfig::cue_task(), 2, 1200, 28);
}

/// BPTT's fused kernel (bptt_fused_sg: forward and backward in one dispatch, the records in private arrays) runs the
/// split subgroup kernels' code and must give their results bit for bit — gradients, loss, logits and spikes — for
/// uneven sample groups, a T that is not a multiple of anything, with and without the spike record. The split kernels
/// are checked against the CPU reference above, so this carries their parity over. Only on an adapter where the
/// subgroup kernels run (lavapipe in CI); one BPTT variant. The network is an odd-sized one (37 neurons: uneven
/// slots over the lanes; 13 inputs: padded input slots), whose fused kernel compiles in seconds: the paper's takes
/// ≈ 6 min on lavapipe with an empty shader cache, and the kernel is the same template expanded for other sizes.
/// `SNNBENCH_TEST_ALL_PAPER_KERNELS=1` adds the paper's network (checked that way when the kernel landed).
#[test]
fn bptt_fused_kernel_equals_the_split_kernels_bit_for_bit() {
    let ctx = gpu();
    let mut nets = vec![NetConfig { n_in: 13, n_rec: 37, n_out: 5, ..NetConfig::default() }];
    if std::env::var_os(ALL_PAPER_KERNELS).is_some() {
        nets.push(NetConfig::default());
    }
    for cfg in &nets {
        fused_equals_split(&ctx, cfg);
    }
}

fn fused_equals_split(ctx: &kernels::GpuContext, cfg: &NetConfig) {
    if !kernels::subgroup_kernels_fit_on(cfg, ctx) {
        eprintln!("skipped: the subgroup kernels do not run on {}", ctx.describe());
        return;
    }
    let (batch, t_steps) = (13, 97);
    let (p, data) = random_case_shaped(cfg, batch, t_steps, 31);
    let rule = Rule::Bptt(BpttOptions::default());
    for record in [true, false] {
        let run = |fused: bool, splits: u32| {
            let tuning = BpttTuning { samples_per_workgroup: 1, grad_splits: splits, subgroup_kernels: true, fused };
            let mut config = TrainerConfig::new(cfg, rule, batch, t_steps);
            if record {
                config = config.with_spike_record();
            }
            let tr = GpuTrainer::with_tuning(ctx, &config, tuning).expect("trainer");
            let ran = tr.gradient_kernels();
            assert_eq!(ran.contains(&"bptt_fused_sg"), fused, "{ran:?}");
            assert_eq!(ran.contains(&"bptt_backward_sg"), !fused, "{ran:?}");
            // Both record u = v − A and A, not ψ and z; z_c holds only the spike record, if asked for. The fused
            // kernel's records are private memory, counted as history (one sample per group at a time); a record
            // not kept is a 4-byte placeholder outside the history.
            let history = tr.bytes().history;
            let per_step = (cfg.n_rec.div_ceil(4) * 4 * 4) as u64;
            let z_c = if record { (batch * t_steps) as u64 * per_step } else { 0 };
            if fused {
                let records = (splits as usize * kernels::shaders::FUSED_MAX_T * (2 * cfg.n_rec + cfg.n_in) * 4) as u64;
                assert_eq!(history, records + z_c, "fused kernel's history bytes");
            } else {
                assert_eq!(history, 2 * (batch * t_steps) as u64 * per_step + z_c, "split history");
            }
            tr.upload_batch(&data.x, &data.y).expect("upload");
            tr.set_params(&p).expect("params");
            tr.grads(L2).expect("gpu grads")
        };
        for splits in [4, 5] {
            let (split, fused) = (run(false, splits), run(true, splits));
            assert!(!record || split.spikes.contains(&1), "no spikes: the case does not test the recurrent paths");
            let what =
                format!("{}→{}: fused vs split, {splits} sample groups, spike record {record}", cfg.n_in, cfg.n_rec);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fused.grads.w_in), bits(&split.grads.w_in), "{what}: g_in");
            assert_eq!(bits(&fused.grads.w_rec), bits(&split.grads.w_rec), "{what}: g_rec");
            assert_eq!(bits(&fused.grads.w_out), bits(&split.grads.w_out), "{what}: g_out");
            assert_eq!(fused.loss.to_bits(), split.loss.to_bits(), "{what}: loss");
            assert_eq!(bits(&fused.logits), bits(&split.logits), "{what}: logits");
            if record {
                assert_eq!(fused.spikes, split.spikes, "{what}: spikes");
            }
        }
    }
}
