//! Evaluation on the device (`GpuTrainer::evaluate` of an `EvalSet`) against the CPU reference's forward pass: each
//! sample's spike count exactly, its logits and cross-entropy within the forward's tolerances, for both rules'
//! trainers under both kernel families, e-prop's forward in one chunk and in several, held-out sets that are not a
//! multiple of the minibatch and sets cut into several pieces. Evaluating between training calls changes nothing
//! in the training, bit for bit.

use kernels::{BpttTuning, EvalSet, GpuTrainer, TrainerConfig};
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions};
use tests::{assert_close, gpu, random_case_shaped, tol};

const EPROP: Rule = Rule::Eprop(TraceVariant::Authors);
const BPTT: Rule = Rule::Bptt(BpttOptions { detach_reset: false, stop_recurrent: false });

fn small() -> NetConfig {
    NetConfig { n_in: 13, n_rec: 37, n_out: 5, ..NetConfig::default() }
}

/// A trainer of `rule` with minibatches of `batch` from `resident` samples, the kernel family asked for.
fn trainer(cfg: &NetConfig, rule: Rule, batch: usize, resident: usize, t: usize, chunk: usize, sg: bool) -> GpuTrainer {
    let ctx = gpu();
    let tuning = BpttTuning { subgroup_kernels: sg, fused: false, ..BpttTuning::defaults(ctx.info.device_type, batch) };
    let config =
        TrainerConfig::new(cfg, rule, batch, t).with_resident(resident).with_eprop_chunk(Some(chunk)).with_max_steps(2);
    GpuTrainer::with_tuning(&ctx, &config, tuning).expect("trainer")
}

#[test]
fn the_device_evaluation_equals_the_host_forward_pass() {
    let cfg = small();
    let ctx = gpu();
    let (batch, t, n_eval) = (8, 61, 37);
    let (p, held_out) = random_case_shaped(&cfg, n_eval, t, 41);
    let (_, train) = random_case_shaped(&cfg, batch, t, 42);
    let (logits, spikes) = models::srnn::forward::<f32>(&cfg, &p, &held_out.as_batch());
    let counts: Vec<u64> =
        spikes.chunks_exact(t * cfg.n_rec).map(|s| s.iter().map(|&z| z as u64).sum::<u64>()).collect();
    assert!(counts.iter().all(|&c| c > 0), "a sample without spikes: the case does not test the counts");
    let ce: Vec<f64> = logits
        .chunks_exact(cfg.n_out)
        .zip(&held_out.y)
        .map(|(row, &y)| models::srnn::cross_entropy(row, y as usize).0 as f64)
        .collect();
    let set = EvalSet::new(&ctx, &cfg, &held_out.x, &held_out.y, t, u64::MAX).expect("eval set");
    // Three pieces of at most 16 samples: the same values as one piece.
    let pieces = EvalSet::new(&ctx, &cfg, &held_out.x, &held_out.y, t, (16 * t * cfg.n_in * 4) as u64).expect("set");
    assert_eq!(format!("{pieces:?}"), format!("EvalSet(37 samples of T = {t} in 3 pieces)"));
    let mut families = vec![];
    for (name, rule, chunk) in [("BPTT", BPTT, t), ("e-prop, one chunk", EPROP, t), ("e-prop, chunks of 16", EPROP, 16)]
    {
        for sg in [false, true] {
            let tr = trainer(&cfg, rule, batch, batch, t, chunk, sg);
            let ran = tr.gradient_kernels();
            let family = if ran.contains(&"alif_forward_sg") { "subgroup kernels" } else { "general kernels" };
            families.push(family);
            let what = format!("{name}, {family}");
            tr.upload_batch(&train.x, &train.y).expect("upload");
            tr.set_params(&p).expect("params");
            let e = tr.evaluate(&set).expect("evaluate").expect("a forward of its own");
            assert_eq!(e.spike_counts, counts, "{what}: spike counts");
            let lg: Vec<f64> = e.logits.iter().map(|&v| v as f64).collect();
            let lc: Vec<f64> = logits.iter().map(|&v| v as f64).collect();
            assert_close(&format!("{what}: logits"), &lg, &lc, tol::LOGITS_F32);
            let ce_gpu: Vec<f64> = e.ce.iter().map(|&v| v as f64).collect();
            assert_close(&format!("{what}: cross-entropy"), &ce_gpu, &ce, tol::LOSS_F32);
            let by_pieces = tr.evaluate(&pieces).expect("evaluate").expect("a forward of its own");
            assert_eq!(by_pieces, e, "{what}: three pieces differ from one");
        }
    }
    if ctx.info.device_type == kernels::wgpu::DeviceType::Cpu {
        assert!(families.contains(&"subgroup kernels"), "lavapipe must run the subgroup forward: {families:?}");
    }
}

#[test]
fn evaluating_between_training_calls_changes_no_bit_of_the_training() {
    let cfg = small();
    let ctx = gpu();
    let (batch, resident, t) = (4, 12, 29);
    let (p, data) = random_case_shaped(&cfg, resident, t, 7);
    let (_, held_out) = random_case_shaped(&cfg, 9, t, 8);
    let set = EvalSet::new(&ctx, &cfg, &held_out.x, &held_out.y, t, u64::MAX).expect("eval set");
    let adam = models::AdamConfig::default();
    for rule in [BPTT, EPROP] {
        for sg in [false, true] {
            let run = |evaluate: bool| {
                let tr = trainer(&cfg, rule, batch, resident, t, t, sg);
                tr.upload_batch(&data.x, &data.y).expect("upload");
                tr.set_params(&p).expect("params");
                let (mut losses, _) = tr.train(0, 2, 1e-3, 1e-5, &adam).expect("train");
                if evaluate {
                    tr.evaluate(&set).expect("evaluate").expect("a forward of its own");
                }
                losses.extend(tr.train(2, 2, 1e-3, 1e-5, &adam).expect("train").0);
                let w = tr.params().expect("params");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                (bits(&losses), bits(&w.w_in), bits(&w.w_rec), bits(&w.w_out), tr.adam_state().expect("adam").step)
            };
            assert_eq!(run(true), run(false), "{rule:?}, subgroup kernels {sg}: evaluation changed the training");
        }
    }
}

#[test]
fn the_fused_kernel_has_no_forward_to_evaluate_with() {
    let cfg = small();
    let ctx = gpu();
    if !kernels::subgroup_kernels_fit_on(&cfg, &ctx) {
        eprintln!("skipped: the subgroup kernels do not run on {}", ctx.describe());
        return;
    }
    let (batch, t) = (4, 23);
    let (_, held_out) = random_case_shaped(&cfg, 5, t, 3);
    let set = EvalSet::new(&ctx, &cfg, &held_out.x, &held_out.y, t, u64::MAX).expect("eval set");
    let tuning = BpttTuning { samples_per_workgroup: 1, grad_splits: 2, subgroup_kernels: true, fused: true };
    let tr = GpuTrainer::with_tuning(&ctx, &TrainerConfig::new(&cfg, BPTT, batch, t), tuning).expect("trainer");
    assert!(tr.gradient_kernels().contains(&"bptt_fused_sg"));
    assert!(tr.evaluate(&set).expect("evaluate").is_none(), "the fused trainer evaluated without a forward");
    let long = random_case_shaped(&cfg, 2, t + 1, 3).1;
    let wrong_t = EvalSet::new(&ctx, &cfg, &long.x, &long.y, t + 1, u64::MAX).expect("set");
    let split = trainer(&cfg, BPTT, batch, batch, t, t, true);
    let err = split.evaluate(&wrong_t).expect_err("a set of another T evaluated").to_string();
    assert!(err.contains("T = 24") && err.contains("T = 23"), "{err}");
}
