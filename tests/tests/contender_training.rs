//! One test body, run once per contender (as candle instantiates one test per device): from the same state, each
//! Adam step of the contender — through `bench_harness::contender`, the API every command uses — must land on the
//! CPU reference's step (f32, `models::train_steps_from`): loss, weights, Adam m and v and the step count, forced
//! step by step (a near-threshold spike flip would make free-running trajectories diverge). Tolerances:
//! `tests::tol`, each about 10× the error measured here.

use bench_harness::contender::{self, Data, Kind, Minibatches, StepConfig};
use kernels::TrainerConfig;
use models::{AdamConfig, AdamState, NetConfig, Rule, TraceVariant, bptt::BpttOptions};
use tests::{Tolerance, assert_close, flat32, random_case_shaped, tol};

/// The worst errors of one run, for the message.
#[derive(Default)]
struct Worst {
    loss: f64,
    w: f64,
    m: f64,
    v: f64,
}

fn forced_steps(kind: Kind, rule: Rule, batch: usize, steps: usize, t: [Tolerance; 4]) {
    let cfg = NetConfig::default();
    let (p0, data) = random_case_shaped(&cfg, 6, 60, 41);
    let step = StepConfig { rule, lr: 0.01, l2: 1e-5, adam: AdamConfig::default() };
    let ctx = (kind == Kind::Wgpu).then(tests::gpu);
    let mut c = contender::open(kind, &cfg, ctx.as_ref()).expect("open");
    c.load_data(Data { x: &data.x, y: &data.y, t_steps: data.t_steps }).expect("data");
    let (mut p, mut adam) = (p0.clone(), AdamState::like(&p0));
    let mut worst = Worst::default();
    let what = format!("{} {} N = {batch}", kind.name(), rule.name());
    let l64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    for k in 0..steps {
        c.set_state(&p, &adam).expect("state");
        let got = c.train(Minibatches { first: k, steps: 1, batch }, &step).expect("train");
        let want = models::train_steps_from(
            &cfg,
            &mut p,
            &mut adam,
            &step.adam_config(),
            &data.as_batch(),
            rule,
            step.l2,
            k,
            1,
            batch,
            step.lr,
        )
        .expect("reference");
        let (w, a) = c.state().expect("state");
        assert_eq!(a.step, adam.step, "{what} step {k}: Adam step count");
        worst.loss =
            worst.loss.max(assert_close(&format!("{what} step {k} loss"), &l64(&got.losses), &l64(&want), t[0]));
        worst.w = worst.w.max(assert_close(&format!("{what} step {k} weights"), &flat32(&w), &flat32(&p), t[1]));
        worst.m = worst.m.max(assert_close(&format!("{what} step {k} Adam m"), &flat32(&a.m), &flat32(&adam.m), t[2]));
        worst.v = worst.v.max(assert_close(&format!("{what} step {k} Adam v"), &flat32(&a.v), &flat32(&adam.v), t[3]));
        if let Some(act) = &got.activity {
            assert_eq!(act.samples, batch as u64, "{what} step {k}: recorded activity");
        }
    }
    eprintln!(
        "{what}: {steps} forced steps; worst loss {:.2e}, weights {:.2e}, Adam m {:.2e}, v {:.2e} (of max)",
        worst.loss, worst.w, worst.m, worst.v
    );
}

const STEP: [Tolerance; 4] = [tol::STEP_LOSS, tol::STEP_WEIGHTS, tol::STEP_ADAM_M, tol::STEP_ADAM_V];
const EPROP: Rule = Rule::Eprop(TraceVariant::Authors);
const BPTT: Rule = Rule::Bptt(BpttOptions { detach_reset: false, stop_recurrent: false });

/// One test per contender and rule it trains.
macro_rules! contender_tests {
    ($($name:ident: $kind:expr, $rule:expr, $batch:expr, $steps:expr, $tol:expr;)*) => {
        $(#[test]
        fn $name() {
            forced_steps($kind, $rule, $batch, $steps, $tol);
        })*
    };
}

contender_tests! {
    cpu_f32_eprop: Kind::Cpu { f64: false }, EPROP, 2, 4, [tol::EXACT; 4];
    cpu_f64_bptt: Kind::Cpu { f64: true }, BPTT, 3, 4, [tol::F64_VS_F32, tol::F64_VS_F32, tol::F64_VS_F32, tol::F64_VS_F32_ADAM_V];
    wgpu_eprop_online: Kind::Wgpu, EPROP, 1, 6, STEP;
    wgpu_eprop_minibatch: Kind::Wgpu, EPROP, 4, 3, STEP;
    wgpu_bptt: Kind::Wgpu, BPTT, 4, 3, STEP;
    burn_cpu_bptt: Kind::BurnCpu, BPTT, 4, 2, STEP;
    chip_eprop_online: Kind::Chip { pes: 12 }, EPROP, 1, 6, STEP;
    chip_eprop_uneven_pes: Kind::Chip { pes: 7 }, EPROP, 1, 3, STEP;
}

contender_tests! {
    burn_wgpu_bptt: Kind::BurnWgpu, BPTT, 4, 2, STEP;
}

/// `Kind::determinism` claims same-seed reruns give the same bits for the CPU reference, the WGSL kernels (same
/// adapter) and the emulated chip: two fresh contenders, the same state and data, several free-running steps —
/// losses, weights and Adam state must be equal bit for bit.
#[test]
fn reruns_give_the_same_bits() {
    let cfg = NetConfig::default();
    let (p0, data) = random_case_shaped(&cfg, 6, 60, 43);
    let cases = [
        (Kind::Cpu { f64: false }, Rule::Eprop(TraceVariant::Authors), 3),
        (Kind::Cpu { f64: false }, Rule::Bptt(BpttOptions::default()), 3),
        (Kind::Wgpu, Rule::Eprop(TraceVariant::Authors), 3),
        (Kind::Wgpu, Rule::Bptt(BpttOptions::default()), 3),
        (Kind::Chip { pes: 12 }, Rule::Eprop(TraceVariant::Authors), 1),
    ];
    for (kind, rule, batch) in cases {
        assert!(kind.determinism().starts_with("bitwise"), "{}: {}", kind.name(), kind.determinism());
        let step = StepConfig { rule, lr: 0.01, l2: 1e-5, adam: AdamConfig::default() };
        let run = || {
            let ctx = (kind == Kind::Wgpu).then(tests::gpu);
            let mut c = contender::open(kind, &cfg, ctx.as_ref()).expect("open");
            c.load_data(Data { x: &data.x, y: &data.y, t_steps: data.t_steps }).expect("data");
            c.set_state(&p0, &AdamState::like(&p0)).expect("state");
            let t = c.train(Minibatches { first: 0, steps: 4, batch }, &step).expect("train");
            let (w, a) = c.state().expect("state");
            // f32 → f64 is exact, so the f64 bits are the f32 bits.
            let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let losses: Vec<f64> = t.losses.iter().map(|&l| l as f64).collect();
            (bits(losses), bits(flat32(&w)), bits(flat32(&a.m)), bits(flat32(&a.v)))
        };
        let (first, second) = (run(), run());
        let what = format!("{} {}", kind.name(), rule.name());
        assert_eq!(first.0, second.0, "{what}: losses differ between reruns");
        assert_eq!(first.1, second.1, "{what}: weights differ between reruns");
        assert_eq!((&first.2, &first.3), (&second.2, &second.3), "{what}: Adam state differs between reruns");
    }
}

/// A multi-step `train` call — what `reproduce`, `train` and `bench` record: many Adam steps per call, nothing read
/// back between them, minibatches wrapping around the resident set — lands on the same bits as the same steps called
/// one at a time, each of which the forced tests above check against the reference. So every step of a recorded run
/// is a checked step (before, the recording was compared with the reference only free-running, to 2 %).
#[test]
fn one_call_of_k_steps_equals_k_calls_of_one() {
    let cfg = NetConfig::default();
    let (p0, data) = random_case_shaped(&cfg, 8, 60, 44);
    let steps = 5;
    let cases = [
        (Kind::Cpu { f64: false }, EPROP, 3),
        (Kind::Cpu { f64: false }, BPTT, 3),
        (Kind::Wgpu, EPROP, 1),
        (Kind::Wgpu, EPROP, 5),
        (Kind::Wgpu, BPTT, 4),
        (Kind::Chip { pes: 12 }, EPROP, 1),
    ];
    for (kind, rule, batch) in cases {
        let step = StepConfig { rule, lr: 0.01, l2: 1e-5, adam: AdamConfig::default() };
        let run = |calls: &[Minibatches]| {
            let ctx = (kind == Kind::Wgpu).then(tests::gpu);
            let mut c = contender::open(kind, &cfg, ctx.as_ref()).expect("open");
            c.load_data(Data { x: &data.x, y: &data.y, t_steps: data.t_steps }).expect("data");
            c.set_state(&p0, &AdamState::like(&p0)).expect("state");
            let mut losses = vec![];
            for &mb in calls {
                losses.extend(c.train(mb, &step).expect("train").losses.iter().map(|l| l.to_bits()));
            }
            let (w, a) = c.state().expect("state");
            let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (losses, bits(flat32(&w)), bits(flat32(&a.m)), bits(flat32(&a.v)), a.step)
        };
        let one_call = run(&[Minibatches { first: 0, steps, batch }]);
        let singles: Vec<Minibatches> = (0..steps).map(|k| Minibatches { first: k, steps: 1, batch }).collect();
        let one_by_one = run(&singles);
        let what = format!("{} {} N = {batch}", kind.name(), rule.name());
        assert_eq!(one_call.4, steps as u64, "{what}: Adam step count");
        assert_eq!(one_call.0, one_by_one.0, "{what}: losses of one {steps}-step call vs {steps} calls of one step");
        assert_eq!(one_call.1, one_by_one.1, "{what}: weights");
        assert_eq!((&one_call.2, &one_call.3), (&one_by_one.2, &one_by_one.3), "{what}: Adam state");
        assert_eq!(one_call.4, one_by_one.4, "{what}: Adam step count");
    }
}

/// The pool's two ways of copying a selection, copy commands (CPU adapters) and the gather_samples kernel (GPUs),
/// give a trainer the same inputs as a host upload, bit for bit, whichever adapter runs the tests: in pieces of three
/// samples, with a repeated sample and runs of consecutive samples that stay inside a piece (4, 5), cross a piece's
/// end (2, 3) and fill one (6, 7, 8).
#[test]
fn the_pool_copies_and_the_gather_kernel_select_the_same_samples() {
    let cfg = NetConfig::default();
    let (p0, pool) = random_case_shaped(&cfg, 10, 40, 46);
    let row = pool.t_steps * cfg.n_in;
    let order = [2usize, 3, 9, 0, 4, 4, 5, 6, 7, 8, 1];
    let ctx = tests::gpu();
    let grads = |how: Option<bool>| {
        let config = TrainerConfig::new(&cfg, BPTT, order.len(), pool.t_steps).with_spike_record();
        let tr = kernels::GpuTrainer::new(&ctx, &config).expect("trainer");
        tr.set_params(&p0).expect("params");
        match how {
            Some(copies) => {
                let piece = (3 * row * 4) as u64;
                let mut sp = kernels::SamplePool::new(&ctx, &cfg, &pool.x, &pool.y, pool.t_steps, piece).expect("pool");
                sp.set_copies(copies);
                sp.select_into(&tr, &order).expect("select");
            }
            None => {
                let x: Vec<f32> = order.iter().flat_map(|&i| pool.x[i * row..(i + 1) * row].to_vec()).collect();
                let y: Vec<i64> = order.iter().map(|&i| pool.y[i]).collect();
                tr.upload_batch(&x, &y).expect("upload");
            }
        }
        tr.grads(1e-5).expect("grads")
    };
    let host = grads(None);
    for copies in [true, false] {
        let g = grads(Some(copies));
        let what = if copies { "copy commands" } else { "gather_samples" };
        assert_eq!(g.logits, host.logits, "{what}: logits");
        assert_eq!(g.spikes, host.spikes, "{what}: spikes");
        assert_eq!(flat32(&g.grads), flat32(&host.grads), "{what}: gradients");
    }
}

/// `load_pool` + `select` (the training set copied on the device from a pool, in the epoch's order: what `train` and
/// `reproduce` do each epoch) lands on the same bits as `load_data` of the same samples gathered on the host — for a
/// first selection (a new trainer copies it), a second one into the existing trainer, and a selection of another
/// size (a new trainer again); the labels travel with their samples.
#[test]
fn a_selection_from_the_device_pool_equals_the_host_gathered_set() {
    let cfg = NetConfig::default();
    let (p0, pool) = random_case_shaped(&cfg, 10, 40, 45);
    let row = pool.t_steps * cfg.n_in;
    let orders: [&[usize]; 3] = [&[7, 2, 9, 0, 4, 4], &[1, 3, 5, 8, 6, 2], &[9, 8, 7, 6]];
    for rule in [BPTT, EPROP] {
        let step = StepConfig { rule, lr: 0.01, l2: 1e-5, adam: AdamConfig::default() };
        let ctx = tests::gpu();
        let mut pooled = contender::open(Kind::Wgpu, &cfg, Some(&ctx)).expect("open");
        let mut host = contender::open(Kind::Wgpu, &cfg, Some(&ctx)).expect("open");
        assert!(pooled.load_pool(Data { x: &pool.x, y: &pool.y, t_steps: pool.t_steps }).expect("pool"));
        for c in [&mut pooled, &mut host] {
            c.set_state(&p0, &AdamState::like(&p0)).expect("state");
        }
        for order in orders {
            let x: Vec<f32> = order.iter().flat_map(|&i| pool.x[i * row..(i + 1) * row].to_vec()).collect();
            let y: Vec<i64> = order.iter().map(|&i| pool.y[i]).collect();
            host.load_data(Data { x: &x, y: &y, t_steps: pool.t_steps }).expect("data");
            pooled.select(order).expect("select");
            let mb = Minibatches { first: 0, steps: 3, batch: 2 };
            let a = pooled.train(mb, &step).expect("train");
            let b = host.train(mb, &step).expect("train");
            let what = format!("{} order {order:?}", rule.name());
            let bits = |l: &[f32]| l.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.losses), bits(&b.losses), "{what}: losses");
            let (wa, wb) = (pooled.state().expect("state").0, host.state().expect("state").0);
            assert_eq!(flat32(&wa), flat32(&wb), "{what}: weights");
            let (ga, gb) = (pooled.grads(&step).expect("grads"), host.grads(&step).expect("grads"));
            assert_eq!(ga.logits, gb.logits, "{what}: logits of the whole selected set");
        }
    }
}
