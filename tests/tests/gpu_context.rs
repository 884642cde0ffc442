//! The wgpu context opens an adapter. With no adapter this test fails (CI installs Mesa's lavapipe); it never skips.

#[test]
fn opens_an_adapter_and_reports_it() {
    let ctx = kernels::context::GpuContext::new(None).unwrap_or_else(|e| panic!("{e}"));
    let text = ctx.describe();
    eprintln!("adapter: {text}");
    assert!(!ctx.info.name.is_empty());
    assert!(ctx.limits.max_storage_buffers_per_shader_stage >= 8, "limits: {:?}", ctx.limits);
}

#[test]
fn unknown_adapter_name_is_a_clear_error() {
    let err = kernels::context::GpuContext::new(Some("no-such-adapter-xyz")).expect_err("must not match");
    let msg = err.to_string();
    assert!(msg.contains("no-such-adapter-xyz") && msg.contains("available"), "{msg}");
}

/// A device builds each kernel once: a second trainer of the same shape reuses all of the first's pipelines, one of
/// another T and batch reuses the unrolled CPU-adapter kernels (they take T and the batch at run time; the general
/// kernels have T's chunk as a constant), a rule option that changes a kernel's source builds that kernel anew, and
/// a trainer on reused pipelines computes the same gradient bits as the first.
#[test]
fn trainers_on_one_device_share_their_pipelines() {
    use kernels::{GpuTrainer, TrainerConfig};
    use models::{NetConfig, Rule, bptt::BpttOptions};
    let ctx = kernels::GpuContext::new(None).unwrap_or_else(|e| panic!("{e}"));
    let cfg = NetConfig { n_in: 13, n_rec: 37, n_out: 5, ..NetConfig::default() };
    let bptt = Rule::Bptt(BpttOptions::default());
    let grads = |tr: &GpuTrainer, batch: usize, t: usize| {
        let (p, data) = tests::random_case_shaped(&cfg, batch, t, 5);
        tr.upload_batch(&data.x, &data.y).expect("upload");
        tr.set_params(&p).expect("params");
        let g = tr.grads(0.0).expect("grads").grads;
        g.w_in.iter().chain(&g.w_rec).chain(&g.w_out).map(|v| v.to_bits()).collect::<Vec<u32>>()
    };
    assert!(ctx.pipelines_built().is_empty());
    let first = GpuTrainer::new(&ctx, &TrainerConfig::new(&cfg, bptt, 4, 30)).expect("trainer");
    let built = ctx.pipelines_built();
    assert!(built.len() >= 5, "BPTT's step has at least a forward, a backward, the reductions and Adam: {built:?}");
    for stem in first.gradient_kernels() {
        assert_eq!(built.iter().filter(|s| **s == stem).count(), 1, "{stem} built more than once: {built:?}");
    }
    let g_first = grads(&first, 4, 30);
    drop(first);
    let again = GpuTrainer::new(&ctx, &TrainerConfig::new(&cfg, bptt, 4, 30)).expect("trainer");
    assert_eq!(ctx.pipelines_built(), built, "a second trainer of the same shape built kernels again");
    assert_eq!(grads(&again, 4, 30), g_first, "the same case on reused pipelines gave other bits");
    let other_shape = GpuTrainer::new(&ctx, &TrainerConfig::new(&cfg, bptt, 3, 41)).expect("trainer");
    let _ = grads(&other_shape, 3, 41);
    let unrolled = |stems: &[&str]| stems.iter().filter(|s| s.ends_with("_sg")).count();
    if other_shape.gradient_kernels().contains(&"alif_forward_sg") {
        assert_eq!(unrolled(&ctx.pipelines_built()), unrolled(&built), "{:?}", ctx.pipelines_built());
    }
    let before = ctx.pipelines_built().len();
    let detached = Rule::Bptt(BpttOptions { detach_reset: true, stop_recurrent: false });
    let _d = GpuTrainer::new(&ctx, &TrainerConfig::new(&cfg, detached, 4, 30)).expect("trainer");
    assert!(ctx.pipelines_built().len() > before, "detach_reset changes the backward's source: it must be built anew");
}

/// One `train` call of several recorded chunks (64 steps each, submitted without a host sync between them) trains
/// exactly as calls of one chunk each, and measures its device time from every chunk's timestamps.
#[test]
fn a_long_train_call_equals_short_ones_and_times_every_chunk() {
    use kernels::{GpuTrainer, TrainerConfig};
    let ctx = tests::gpu();
    let cfg = models::NetConfig { n_in: 7, n_rec: 11, n_out: 3, ..models::NetConfig::default() };
    let (p, data) = tests::random_case_shaped(&cfg, 6, 9, 5);
    let rule = models::Rule::Bptt(models::bptt::BpttOptions::default());
    let config = TrainerConfig::new(&cfg, rule, 2, 9).with_resident(6).with_max_steps(150);
    let adam = models::AdamConfig::default();
    let run = |calls: &[(usize, usize)]| {
        let tr = GpuTrainer::new(&ctx, &config).expect("trainer");
        tr.upload_batch(&data.x, &data.y).expect("upload");
        tr.set_params(&p).expect("params");
        let t0 = std::time::Instant::now();
        let mut losses = vec![];
        let mut gpu = Some(0.0);
        for &(first, steps) in calls {
            let (l, timing) = tr.train(first, steps, 1e-3, 1e-5, &adam).expect("train");
            losses.extend(l);
            gpu = gpu.zip(timing.gpu_time_s).map(|(a, b)| a + b);
        }
        let wall = t0.elapsed().as_secs_f64();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let w = tr.params().expect("params");
        ((bits(&losses), bits(&w.w_in), bits(&w.w_rec), bits(&w.w_out)), gpu, wall)
    };
    let (long, gpu, wall) = run(&[(0, 150)]);
    let (short, _, _) = run(&[(0, 64), (64, 64), (128, 22)]);
    assert_eq!(long.0.len(), 150);
    assert_eq!(long, short, "one call of three chunks trained differently from three calls");
    if ctx.has_timestamps {
        let gpu = gpu.expect("an adapter with timestamp queries gave no device time");
        assert!(gpu > 0.0 && gpu <= wall, "device time {gpu} s outside (0, wall {wall} s]");
    }
}
