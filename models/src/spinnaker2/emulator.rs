//! A functional emulator of e-prop on SpiNNaker 2: each PE updates only its neurons and their synapses, spikes are
//! exchanged between PEs every step as counted packets, the partial logits go to a root PE after the last step,
//! which sends the output error back; each PE then applies Adam to its own weights (MODEL.md, on-chip schedule,
//! batch 1). Its arithmetic follows the CPU reference operation by operation (so weights agree with `models` to
//! the readout's summation order), and it counts what it executes, per PE, per step and per phase.

use std::{
    ops::Range,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{
    chip::ChipConfig,
    memory::Partition,
    workload::{end_counts, step_counts},
};
use crate::{AdamConfig, AdamState, NetConfig, Params, config::Consts, srnn::cross_entropy};

/// What one PE executed in one step (or in the end-of-sample phase), as loop trip counts (whole numbers for one sample; means over samples in a
/// [`Workload`](super::workload::Workload)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PhaseCounts {
    /// Input MACs (n_in per own neuron).
    pub input_macs: f64,
    /// Recurrent input additions (received spikes × own neurons).
    pub recurrent_adds: f64,
    /// Neuron updates.
    pub neuron_updates: f64,
    /// Surrogate evaluations (3 exponentials each).
    pub surrogates: f64,
    /// ε^v updates (one per presynaptic source).
    pub presynaptic_updates: f64,
    /// Per-synapse trace updates (ε^a, ē, E).
    pub synapse_updates: f64,
    /// Readout MACs (partial logits, end of sample).
    pub readout_macs: f64,
    /// Learning-signal MACs (end of sample) and the root's softmax terms.
    pub signal_macs: f64,
    /// Output-error exponentials on the root PE.
    pub softmax_exps: f64,
    /// Adam updates (weights).
    pub adam_updates: f64,
    /// Packets sent.
    pub packets_sent: f64,
    /// Packets received.
    pub packets_received: f64,
}

impl PhaseCounts {
    fn add(&mut self, o: &PhaseCounts) {
        self.input_macs += o.input_macs;
        self.recurrent_adds += o.recurrent_adds;
        self.neuron_updates += o.neuron_updates;
        self.surrogates += o.surrogates;
        self.presynaptic_updates += o.presynaptic_updates;
        self.synapse_updates += o.synapse_updates;
        self.readout_macs += o.readout_macs;
        self.signal_macs += o.signal_macs;
        self.softmax_exps += o.softmax_exps;
        self.adam_updates += o.adam_updates;
        self.packets_sent += o.packets_sent;
        self.packets_received += o.packets_received;
    }
}

/// Counts of one training sample: `steps[t][pe]` and the end-of-sample phase per PE.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SampleCounts {
    /// Per step, per PE.
    pub steps: Vec<Vec<PhaseCounts>>,
    /// After the last step (readout, learning signal, Adam, their packets), per PE.
    pub end: Vec<PhaseCounts>,
    /// Spikes emitted in the sample.
    pub spikes: u32,
    /// The neurons that spiked, per step (increasing): what [`Activity`](super::workload::Activity) records.
    pub spiking: Vec<Vec<u32>>,
}

impl SampleCounts {
    /// Everything a PE did in the sample.
    pub fn pe_total(&self, pe: usize) -> PhaseCounts {
        let mut t = self.end[pe];
        for s in &self.steps {
            t.add(&s[pe]);
        }
        t
    }
}

/// What one sample of the emulator gives back.
struct SampleOut {
    loss: f32,
    counts: SampleCounts,
    logits: Vec<f32>,
}

/// [`Emulator::sample_gradient`]'s result.
#[derive(Clone, Debug)]
pub struct SampleGradient {
    /// CE + l2·ΣW² of the sample.
    pub loss: f32,
    /// Logits `[n_out]` (the readout's mean over T).
    pub logits: Vec<f32>,
    /// d(CE)/dW of the sample, `[pre, post]`, no L2 term.
    pub grads: Params<f32>,
    /// What every PE executed (and the spike lists).
    pub counts: SampleCounts,
}

struct Pe {
    posts: Range<usize>,
    /// Own weights, post-major like the traces (a neuron's incoming row is contiguous, so Adam and the gradient
    /// run over whole rows): w_in[j][i], w_rec[j][i], w_out[j][k].
    w_in: Vec<f32>,
    w_rec: Vec<f32>,
    w_out: Vec<f32>,
    m: [Vec<f32>; 3],
    v: [Vec<f32>; 3],
    /// Traces, post-major [j][pre]: ε^a, ē, E.
    eps_a: Vec<f32>,
    e_bar: Vec<f32>,
    e_sum: Vec<f32>,
    /// ε^v per presynaptic source (own copy).
    eps_v: Vec<f32>,
    v_mem: Vec<f32>,
    a: Vec<f32>,
    z: Vec<f32>,
    psi: Vec<f32>,
    zbar: Vec<f32>,
    zsum: Vec<f32>,
    /// Scratch: ψ of the own neurons per step of the current sample, [t][j].
    psi_hist: Vec<f32>,
    /// The last gradient-only sample's raw gradient, post-major like the weights (empty until one ran).
    grad: [Vec<f32>; 3],
}

/// The emulated chip running the network.
///
/// The host runs the PEs' end-of-sample work (ψ, traces, gradients, Adam) on two threads: this one and a helper
/// thread that lives as long as the emulator. Starting a thread per sample costs ≈ 0.3 ms on a 2-vCPU VM and
/// waking a parked one ≈ 0.13 ms (measured), a sizeable part of a sample's ≈ 0.6 ms, so the helper spins for a
/// short while after each job before it parks. Each PE's arithmetic does not depend on which thread runs it.
pub struct Emulator {
    cfg: NetConfig,
    c: Consts<f32>,
    pes: Arc<[Mutex<Pe>]>,
    adam_step: u64,
    host_threads: usize,
    helper: Option<Helper>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Emulator({} PEs, Adam step {})", self.pes.len(), self.adam_step)
    }
}

/// The columns `col_range` of `w [rows, cols]` (pre, post), transposed: `[col in range][row]` (post-major).
fn own_rows(w: &[f32], rows: usize, cols: usize, col_range: Range<usize>) -> Vec<f32> {
    let mut out = Vec::with_capacity(col_range.len() * rows);
    for j in col_range {
        out.extend((0..rows).map(|i| w[i * cols + j]));
    }
    out
}

impl Emulator {
    /// Loads `params` onto the PEs of `part` (fresh Adam state, zero traces).
    pub fn new(cfg: &NetConfig, _chip: &ChipConfig, part: &Partition, params: &Params<f32>) -> Self {
        let (n_in, n_rec, n_out) = (cfg.n_in, cfg.n_rec, cfg.n_out);
        let n_pre = n_in + n_rec;
        let pes = part
            .posts
            .iter()
            .map(|r| {
                let n = r.len();
                let w_in = own_rows(&params.w_in, n_in, n_rec, r.clone());
                let w_rec = own_rows(&params.w_rec, n_rec, n_rec, r.clone());
                let w_out = params.w_out[r.start * n_out..r.end * n_out].to_vec();
                let zeros = |len| vec![0.0f32; len];
                Pe {
                    posts: r.clone(),
                    m: [zeros(w_in.len()), zeros(w_rec.len()), zeros(w_out.len())],
                    v: [zeros(w_in.len()), zeros(w_rec.len()), zeros(w_out.len())],
                    w_in,
                    w_rec,
                    w_out,
                    eps_a: zeros(n * n_pre),
                    e_bar: zeros(n * n_pre),
                    e_sum: zeros(n * n_pre),
                    eps_v: zeros(n_pre),
                    v_mem: zeros(n),
                    a: zeros(n),
                    z: zeros(n),
                    psi: zeros(n),
                    zbar: zeros(n),
                    zsum: zeros(n),
                    psi_hist: Vec::new(),
                    grad: [Vec::new(), Vec::new(), Vec::new()],
                }
            })
            .map(Mutex::new)
            .collect();
        Self { cfg: cfg.clone(), c: cfg.consts::<f32>(), pes, adam_step: 0, host_threads: 2, helper: None }
    }

    /// How many host threads run the PEs' end-of-sample work: 2 (the default; the second one only where the host
    /// has a second CPU) or 1. The results are the same bit for bit; only the speed differs.
    pub fn set_host_threads(&mut self, threads: usize) {
        self.host_threads = threads.clamp(1, 2);
        if self.host_threads == 1
            && let Some(h) = self.helper.take()
        {
            h.stop();
        }
    }

    /// The weights gathered back into `[pre, post]` matrices.
    pub fn params(&self) -> Params<f32> {
        self.gather(|pe| [&pe.w_in, &pe.w_rec, &pe.w_out])
    }

    /// The Adam state gathered back into `[pre, post]` matrices (for checkpoints).
    pub fn adam_state(&self) -> AdamState<f32> {
        AdamState {
            m: self.gather(|pe| [&pe.m[0], &pe.m[1], &pe.m[2]]),
            v: self.gather(|pe| [&pe.v[0], &pe.v[1], &pe.v[2]]),
            step: self.adam_step,
        }
    }

    /// Loads an Adam state (a checkpoint's) onto the PEs: each PE takes the moments of its own weights.
    pub fn set_adam(&mut self, a: &AdamState<f32>) {
        let (n_in, n_rec, n_out) = (self.cfg.n_in, self.cfg.n_rec, self.cfg.n_out);
        for pe in self.pes.iter() {
            let mut pe = lock(pe);
            let r = pe.posts.clone();
            pe.m = [
                own_rows(&a.m.w_in, n_in, n_rec, r.clone()),
                own_rows(&a.m.w_rec, n_rec, n_rec, r.clone()),
                a.m.w_out[r.start * n_out..r.end * n_out].to_vec(),
            ];
            pe.v = [
                own_rows(&a.v.w_in, n_in, n_rec, r.clone()),
                own_rows(&a.v.w_rec, n_rec, n_rec, r.clone()),
                a.v.w_out[r.start * n_out..r.end * n_out].to_vec(),
            ];
        }
        self.adam_step = a.step;
    }

    fn gather(&self, part: impl Fn(&Pe) -> [&Vec<f32>; 3]) -> Params<f32> {
        let pes: Vec<MutexGuard<'_, Pe>> = self.pes.iter().map(lock).collect();
        gather(&self.cfg, pes.iter().map(|g| &**g), part)
    }

    /// Trains on one sample `x [T, n_in]` (online: gradient, then Adam on every PE). Returns the sample's loss
    /// (CE + l2·ΣW², before the update) and what every PE executed.
    ///
    /// The emulator computes in two passes with the chip's arithmetic. First the network's dynamics, step by step
    /// over all PEs (they do not depend on the traces), recording each neuron's u(t) and the ε^v(t) rows; the
    /// readout and the output error follow from the spike counts. Then every PE, in parallel, evaluates ψ for its
    /// neurons, runs its traces step by step over the recorded rows (its trace block stays in L1), forms its
    /// gradients and applies Adam. Every synapse sees the same values in the same order as in a step-by-step run,
    /// so the results are those of the chip's schedule; the counts are that schedule's.
    pub fn train_sample(
        &mut self,
        x: &[f32],
        label: usize,
        adam: &AdamConfig,
        lr: f64,
        l2: f64,
    ) -> (f32, SampleCounts) {
        let out = self.run_sample(x, label, Some((adam, lr)), l2);
        (out.loss, out.counts)
    }

    /// The same sample without the update: the chip's e-prop gradient of the cross-entropy alone (`g = L·E` per
    /// weight, no L2 term, batch of one), the logits and the loss (CE + l2·ΣW²); weights, Adam state and step count
    /// are unchanged. `grads` of a batch is the mean of these plus 2·l2·W, as in the reference.
    pub fn sample_gradient(&mut self, x: &[f32], label: usize, l2: f64) -> SampleGradient {
        let out = self.run_sample(x, label, None, l2);
        let grads = self.gather(|pe| [&pe.grad[0], &pe.grad[1], &pe.grad[2]]);
        SampleGradient { loss: out.loss, logits: out.logits, grads, counts: out.counts }
    }

    fn run_sample(&mut self, x: &[f32], label: usize, update: Option<(&AdamConfig, f64)>, l2: f64) -> SampleOut {
        let (n_in, n_rec, n_out) = (self.cfg.n_in, self.cfg.n_rec, self.cfg.n_out);
        let n_pre = n_in + n_rec;
        let t_steps = x.len() / n_in;
        let c = self.c;
        let mut pes: Vec<MutexGuard<'_, Pe>> = self.pes.iter().map(lock).collect();
        for pe in pes.iter_mut().map(|g| &mut **g) {
            for v in [&mut pe.eps_a, &mut pe.e_bar, &mut pe.e_sum, &mut pe.eps_v, &mut pe.v_mem, &mut pe.a] {
                v.iter_mut().for_each(|x| *x = 0.0);
            }
            for v in [&mut pe.z, &mut pe.psi, &mut pe.zbar, &mut pe.zsum] {
                v.iter_mut().for_each(|x| *x = 0.0);
            }
        }
        let mut counts =
            SampleCounts { steps: Vec::with_capacity(t_steps), end: Vec::new(), spikes: 0, spiking: Vec::new() };
        // The input currents of all PEs are computed together from pre-major copies of the PEs' W_in and W_rec rows:
        // every neuron's sum has the same terms in the same order as its PE's own loop (inputs, then the spiking
        // sources, increasing), but the additions run 120 neurons wide instead of one neuron at a time.
        let Params { w_in: w_in_all, w_rec: w_rec_all, .. } =
            gather(&self.cfg, pes.iter().map(|g| &**g), |pe| [&pe.w_in, &pe.w_rec, &pe.w_out]);
        // The input currents of every step at once (they do not depend on the dynamics).
        let in_cur = input_currents(x, &w_in_all, n_in, n_rec);
        let mut cur_all = vec![0.0f32; n_rec];
        // Spikes of the previous step as received by every PE (multicast packets): indices, increasing.
        let mut spikes_prev: Vec<usize> = Vec::new();
        let mut z_prev = vec![0.0f32; n_rec];
        let mut u_hist = vec![0.0f32; t_steps * n_rec];
        let mut ev_hist = vec![0.0f32; t_steps * n_pre];
        // ε^v is the same on every PE (each keeps its own copy on the chip): computed once here.
        let mut eps_v = vec![0.0f32; n_pre];
        for (t, x_t) in x.chunks_exact(n_in).enumerate() {
            {
                let (ev_in, ev_rec) = eps_v.split_at_mut(n_in);
                for (ev, &p) in ev_in.iter_mut().zip(x_t) {
                    *ev = c.alpha * *ev + p;
                }
                for (ev, &p) in ev_rec.iter_mut().zip(&z_prev) {
                    *ev = c.alpha * *ev + p;
                }
            }
            ev_hist[t * n_pre..(t + 1) * n_pre].copy_from_slice(&eps_v);
            cur_all.copy_from_slice(&in_cur[t * n_rec..(t + 1) * n_rec]);
            for &i in &spikes_prev {
                for (c, &w) in cur_all.iter_mut().zip(&w_rec_all[i * n_rec..(i + 1) * n_rec]) {
                    *c += w;
                }
            }
            let u_t = &mut u_hist[t * n_rec..(t + 1) * n_rec];
            let step: Vec<PhaseCounts> = pes
                .iter_mut()
                .map(|pe| {
                    let pe: &mut Pe = pe;
                    let n = pe.posts.len();
                    for jl in 0..n {
                        let j = pe.posts.start + jl;
                        // Input current then the spiking rows (above), in the reference's order (increasing i).
                        let cur = cur_all[j];
                        let zp = pe.z[jl];
                        let a = c.rho * pe.a[jl] + c.one_minus_rho * zp;
                        let thr = c.v_th + c.beta * a;
                        let v = c.alpha * pe.v_mem[jl] + c.one_minus_alpha * cur - zp * thr;
                        let u = v - thr;
                        let z = if u > 0.0 { 1.0 } else { 0.0 };
                        pe.a[jl] = a;
                        pe.v_mem[jl] = v;
                        pe.z[jl] = z;
                        u_t[j] = u;
                        let zb = c.kappa * pe.zbar[jl] + z;
                        pe.zbar[jl] = zb;
                        pe.zsum[jl] += zb;
                    }
                    let own_spikes = pe.z.iter().filter(|&&z| z != 0.0).count();
                    step_counts(n_in, n_rec, n, spikes_prev.len() as f64, own_spikes as f64)
                })
                .collect();
            spikes_prev.clear();
            for pe in pes.iter() {
                for (jl, &z) in pe.z.iter().enumerate() {
                    z_prev[pe.posts.start + jl] = z;
                    if z != 0.0 {
                        spikes_prev.push(pe.posts.start + jl);
                    }
                }
            }
            counts.spikes += spikes_prev.len() as u32;
            counts.spiking.push(spikes_prev.iter().map(|&j| j as u32).collect());
            counts.steps.push(step);
        }
        // Readout: partial logits per PE (own rows of W_out), summed on the root PE 0 in PE order.
        let t = t_steps as f32;
        let mut logits = vec![0.0f32; n_out];
        for pe in pes.iter() {
            let mut part = vec![0.0f32; n_out];
            for (jl, &s) in pe.zsum.iter().enumerate() {
                if s != 0.0 {
                    for k in 0..n_out {
                        part[k] += pe.w_out[jl * n_out + k] * s;
                    }
                }
            }
            for k in 0..n_out {
                logits[k] += part[k];
            }
        }
        let logits: Vec<f32> = logits.iter().map(|l| l / t).collect();
        let (ce, err) = cross_entropy(&logits, label);
        let two_l2 = (2.0 * l2) as f32;
        let adam = update.map(|(adam, lr)| {
            self.adam_step += 1;
            let step_t = self.adam_step as i32;
            let (b1, b2, eps) = (adam.beta1 as f32, adam.beta2 as f32, adam.eps as f32);
            let lr_t = lr as f32 * (1.0 - b2.powi(step_t)).sqrt() / (1.0 - b1.powi(step_t));
            AdamStep { b1, b2, eps, lr_t, two_l2 }
        });
        let n_pes = pes.len();
        // (1−α)·ε^v, the same product every synapse's trace update forms, once per step and source.
        let oev_hist: Vec<f32> = ev_hist.iter().map(|&ev| c.one_minus_alpha * ev).collect();
        drop(pes);
        let inputs =
            Arc::new(EndInputs { n_in, n_rec, n_out, n_pes, t_steps, c, u_hist, ev_hist, oev_hist, eps_v, err, adam });
        let ends = self.run_end_phase(&inputs);
        // Loss as the reference reports it: CE + l2·ΣW² (before the update), ΣW² gathered in PE order.
        let sum_sq: f32 = ends.iter().map(|e| e.0).sum();
        let loss = ce + l2 as f32 * sum_sq;
        counts.end = ends.into_iter().map(|e| e.1).collect();
        SampleOut { loss, counts, logits }
    }

    /// Every PE's end-of-sample work, the second half of the PEs on the helper thread (started on first use when
    /// the host has a second CPU), the first half here. Returns (ΣW² before the update, counts) per PE.
    fn run_end_phase(&mut self, inputs: &Arc<EndInputs>) -> Vec<(f32, PhaseCounts)> {
        let n_pes = self.pes.len();
        if self.helper.is_none()
            && self.host_threads > 1
            && n_pes > 1
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
        {
            self.helper = Some(Helper::start(self.pes.clone()));
        }
        let mut ends = vec![(0.0f32, PhaseCounts::default()); n_pes];
        let Some(helper) = &self.helper else {
            for (p, out) in ends.iter_mut().enumerate() {
                *out = pe_end(p, &mut lock(&self.pes[p]), inputs);
            }
            return ends;
        };
        let half = n_pes.div_ceil(2);
        let posted = helper.post(inputs.clone(), half..n_pes);
        for (p, out) in ends.iter_mut().enumerate().take(half) {
            *out = pe_end(p, &mut lock(&self.pes[p]), inputs);
        }
        for (p, out) in helper.wait(posted) {
            ends[p] = out;
        }
        ends
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(h) = self.helper.take() {
            h.stop();
        }
    }
}

/// A PE's lock (never contended for long: the main thread and the helper take turns; a poisoned lock means the
/// other thread panicked, and so does this one).
fn lock(pe: &Mutex<Pe>) -> MutexGuard<'_, Pe> {
    pe.lock().expect("a thread of the SpiNNaker 2 emulator panicked")
}

/// Arrays the PEs hold post-major (`part` picks W_in-, W_rec- and W_out-shaped ones: weights or Adam moments),
/// gathered into `[pre, post]` matrices.
fn gather<'a>(cfg: &NetConfig, pes: impl Iterator<Item = &'a Pe>, part: impl Fn(&Pe) -> [&Vec<f32>; 3]) -> Params<f32> {
    let (n_in, n_rec, n_out) = (cfg.n_in, cfg.n_rec, cfg.n_out);
    let mut p = Params::zeros_shaped(n_in, n_rec, n_out);
    for pe in pes {
        let [w_in, w_rec, w_out] = part(pe);
        for (jl, j) in pe.posts.clone().enumerate() {
            for i in 0..n_in {
                p.w_in[i * n_rec + j] = w_in[jl * n_in + i];
            }
            for i in 0..n_rec {
                p.w_rec[i * n_rec + j] = w_rec[jl * n_rec + i];
            }
            p.w_out[j * n_out..(j + 1) * n_out].copy_from_slice(&w_out[jl * n_out..(jl + 1) * n_out]);
        }
    }
    p
}

/// What a PE's end-of-sample work reads: the recorded dynamics, the output error and the step's constants.
struct EndInputs {
    n_in: usize,
    n_rec: usize,
    n_out: usize,
    n_pes: usize,
    t_steps: usize,
    c: Consts<f32>,
    /// u(t) of every neuron, [t][j].
    u_hist: Vec<f32>,
    /// ε^v(t) of every source, [t][pre], and (1−α)·ε^v(t).
    ev_hist: Vec<f32>,
    oev_hist: Vec<f32>,
    /// ε^v after the last step.
    eps_v: Vec<f32>,
    /// Output error (softmax − one-hot).
    err: Vec<f32>,
    /// The update, or `None`: keep the raw gradient in the PE's `grad` rows instead.
    adam: Option<AdamStep>,
}

/// One PE's work after the dynamics: ψ, traces, its share of ΣW² (before the update), learning signal, gradients
/// and Adam.
fn pe_end(p: usize, pe: &mut Pe, inp: &EndInputs) -> (f32, PhaseCounts) {
    let (n_in, n_rec, n_out, t_steps, c) = (inp.n_in, inp.n_rec, inp.n_out, inp.t_steps, inp.c);
    let n_pre = n_in + n_rec;
    let n = pe.posts.len();
    let t = t_steps as f32;
    let drive = c.one_minus_rho * c.one_minus_alpha;
    pe.psi_hist.clear();
    for t in 0..t_steps {
        let u_t = &inp.u_hist[t * n_rec + pe.posts.start..t * n_rec + pe.posts.end];
        pe.psi_hist.extend(u_t.iter().map(|&u| c.surrogate.psi(u)));
    }
    if t_steps > 0 {
        let last = pe.psi_hist.len() - n;
        let Pe { psi, psi_hist, .. } = pe;
        psi.copy_from_slice(&psi_hist[last..]);
    }
    let mut coef = Vec::with_capacity(t_steps);
    for jl in 0..n {
        let j = pe.posts.start + jl;
        coef.clear();
        coef.extend((0..t_steps).map(|t| {
            let psi = pe.psi_hist[t * n + jl];
            [psi, c.rho - c.one_minus_rho * c.beta * psi, drive * psi]
        }));
        let r = jl * n_pre..(jl + 1) * n_pre;
        neuron_traces(
            TraceRows { ea: &mut pe.eps_a[r.clone()], eb: &mut pe.e_bar[r.clone()], es: &mut pe.e_sum[r.clone()] },
            &TraceInputs { ev_hist: &inp.ev_hist, oev_hist: &inp.oev_hist, coef: &coef, beta: c.beta, kappa: c.kappa },
        );
        // The autapse has no trace (the chip skips it; its values above feed nothing).
        pe.eps_a[r.start + n_in + j] = 0.0;
        pe.e_bar[r.start + n_in + j] = 0.0;
        pe.e_sum[r.start + n_in + j] = 0.0;
    }
    pe.eps_v.copy_from_slice(&inp.eps_v);
    let sum_sq = [&pe.w_in, &pe.w_rec, &pe.w_out].iter().map(|w| w.iter().map(|x| x * x).sum::<f32>()).sum();
    // The reference's update: g = 0 + L·E, then ·(1/B) + 2·l2·W with B = 1, then Adam. Whole rows at a time
    // (elementwise, so the order does not matter and the loops vectorise).
    let err = &inp.err;
    let Pe { w_in, w_rec, w_out, m, v, e_sum, zsum, grad, .. } = pe;
    if inp.adam.is_none() {
        for (g, w) in grad.iter_mut().zip([&*w_in, &*w_rec, &*w_out]) {
            g.clear();
            g.resize(w.len(), 0.0);
        }
    }
    let [m_in, m_rec, m_out] = m;
    let [v_in, v_rec, v_out] = v;
    let mut g = vec![0.0f32; n_pre.max(n_out)];
    for jl in 0..n {
        let w_out = &mut w_out[jl * n_out..(jl + 1) * n_out];
        let sig = err.iter().zip(w_out.iter()).map(|(e, w)| e * w).sum::<f32>() / t;
        let e_row = &e_sum[jl * n_pre..(jl + 1) * n_pre];
        g[..n_pre].iter_mut().zip(e_row).for_each(|(g, e)| *g = sig * e);
        let (ri, rr, ro) = (jl * n_in..(jl + 1) * n_in, jl * n_rec..(jl + 1) * n_rec, jl * n_out..(jl + 1) * n_out);
        match &inp.adam {
            Some(h) => {
                adam_rows(&mut w_in[ri.clone()], &mut m_in[ri.clone()], &mut v_in[ri], &g[..n_in], h);
                adam_rows(&mut w_rec[rr.clone()], &mut m_rec[rr.clone()], &mut v_rec[rr], &g[n_in..n_pre], h);
            }
            None => {
                grad[0][ri].copy_from_slice(&g[..n_in]);
                grad[1][rr].copy_from_slice(&g[n_in..n_pre]);
            }
        }
        let zs = zsum[jl];
        g[..n_out].iter_mut().zip(err).for_each(|(g, e)| *g = zs * e / t);
        match &inp.adam {
            Some(h) => adam_rows(w_out, &mut m_out[ro.clone()], &mut v_out[ro], &g[..n_out], h),
            None => grad[2][ro].copy_from_slice(&g[..n_out]),
        }
    }
    let counts = end_counts(n_in, n_rec, n_out, n, p, inp.n_pes);
    (sum_sq, counts)
}

/// How long the helper thread spins for the next job before it parks: longer than the sequential part of a sample
/// (the dynamics, ≈ 0.2–0.3 ms here), short enough that an idle emulator costs nothing noticeable.
const HELPER_SPIN: Duration = Duration::from_millis(2);

/// The helper thread and its mailbox.
struct Helper {
    shared: Arc<HelperShared>,
    thread: std::thread::JoinHandle<()>,
}

type Job = (Arc<EndInputs>, Range<usize>);

struct HelperShared {
    pes: Arc<[Mutex<Pe>]>,
    /// Job k posted: 2k + 1; job k done: 2k + 2. Only the main thread makes it odd, only the helper even.
    state: AtomicU64,
    parked: AtomicBool,
    shutdown: AtomicBool,
    job: Mutex<Option<Job>>,
    results: Mutex<Vec<(usize, (f32, PhaseCounts))>>,
}

impl Helper {
    fn start(pes: Arc<[Mutex<Pe>]>) -> Self {
        let shared = Arc::new(HelperShared {
            pes,
            state: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            job: Mutex::new(None),
            results: Mutex::new(Vec::new()),
        });
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("spinnaker2-emulator".into())
            .spawn(move || helper_loop(&sh))
            .expect("cannot start the emulator's helper thread");
        Self { shared, thread }
    }

    /// Posts a job; returns its odd state.
    fn post(&self, inputs: Arc<EndInputs>, pes: Range<usize>) -> u64 {
        *self.shared.job.lock().expect("helper mailbox") = Some((inputs, pes));
        let posted = self.shared.state.load(Ordering::SeqCst) + 1;
        self.shared.state.store(posted, Ordering::SeqCst);
        if self.shared.parked.load(Ordering::SeqCst) {
            self.thread.thread().unpark();
        }
        posted
    }

    /// Waits (spinning) until the job `posted` is done and returns its results.
    fn wait(&self, posted: u64) -> Vec<(usize, (f32, PhaseCounts))> {
        let mut spins = 0u32;
        while self.shared.state.load(Ordering::Acquire) != posted + 1 {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(4096) && self.thread.is_finished() {
                panic!("the SpiNNaker 2 emulator's helper thread stopped (it panicked; see above)");
            }
        }
        std::mem::take(&mut *self.shared.results.lock().expect("helper results"))
    }

    fn stop(self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

fn helper_loop(sh: &HelperShared) {
    let mut done = 0u64;
    loop {
        let mut since = Instant::now();
        let mut spins = 0u32;
        loop {
            if sh.shutdown.load(Ordering::SeqCst) {
                return;
            }
            if sh.state.load(Ordering::Acquire) == done + 1 {
                break;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && since.elapsed() > HELPER_SPIN {
                sh.parked.store(true, Ordering::SeqCst);
                if sh.state.load(Ordering::SeqCst) != done + 1 && !sh.shutdown.load(Ordering::SeqCst) {
                    std::thread::park();
                }
                sh.parked.store(false, Ordering::SeqCst);
                since = Instant::now();
            } else {
                std::hint::spin_loop();
            }
        }
        let (inputs, range) = sh.job.lock().expect("helper mailbox").take().expect("a posted job");
        let out: Vec<_> = range.map(|p| (p, pe_end(p, &mut lock(&sh.pes[p]), &inputs))).collect();
        *sh.results.lock().expect("helper results") = out;
        done += 2;
        sh.state.store(done, Ordering::Release);
    }
}

/// `x [T, n_in] · w [n_in, n_rec]`, each neuron's sum over the inputs in increasing order — the order of the
/// chip's per-PE loop (a zero input adds an exact zero, so skipping it, as the chip's loop may, changes nothing).
/// Blocked over 4 steps × 16 neurons held in registers.
fn input_currents(x: &[f32], w: &[f32], n_in: usize, n_rec: usize) -> Vec<f32> {
    let t_steps = x.len() / n_in;
    let mut out = vec![0.0f32; t_steps * n_rec];
    // AVX-512 when the CPU has it (as for the traces); the same operations either way.
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        pulp::Simd::vectorize(v4, Currents { x, w, n_in, n_rec, out: &mut out });
        return out;
    }
    currents_tiled::<16>(x, w, n_in, n_rec, &mut out);
    out
}

/// [`input_currents`] for pulp's AVX-512 dispatch.
#[cfg(target_arch = "x86_64")]
struct Currents<'a> {
    x: &'a [f32],
    w: &'a [f32],
    n_in: usize,
    n_rec: usize,
    out: &'a mut [f32],
}

#[cfg(target_arch = "x86_64")]
impl pulp::WithSimd for Currents<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        currents_tiled::<32>(self.x, self.w, self.n_in, self.n_rec, self.out);
    }
}

/// Blocks of 4 steps × `JB` neurons (then narrower blocks for the rest), the accumulators in registers.
#[inline(always)]
fn currents_tiled<const JB: usize>(x: &[f32], w: &[f32], n_in: usize, n_rec: usize, out: &mut [f32]) {
    let t_steps = x.len() / n_in;
    let mut t0 = 0;
    while t0 < t_steps {
        let tb = if t0 + 4 <= t_steps { 4 } else { 1 };
        let mut j0 = 0;
        while j0 < n_rec {
            let left = n_rec - j0;
            let jb = if left >= JB {
                JB
            } else if left >= 16 {
                16
            } else if left >= 8 {
                8
            } else {
                1
            };
            match (tb, jb) {
                (4, j) if j == JB => current_tile::<4, JB>(x, w, n_in, n_rec, t0, j0, out),
                (4, 16) => current_tile::<4, 16>(x, w, n_in, n_rec, t0, j0, out),
                (4, 8) => current_tile::<4, 8>(x, w, n_in, n_rec, t0, j0, out),
                (4, _) => current_tile::<4, 1>(x, w, n_in, n_rec, t0, j0, out),
                (_, j) if j == JB => current_tile::<1, JB>(x, w, n_in, n_rec, t0, j0, out),
                (_, 16) => current_tile::<1, 16>(x, w, n_in, n_rec, t0, j0, out),
                (_, 8) => current_tile::<1, 8>(x, w, n_in, n_rec, t0, j0, out),
                _ => current_tile::<1, 1>(x, w, n_in, n_rec, t0, j0, out),
            }
            j0 += jb;
        }
        t0 += tb;
    }
}

#[inline(always)]
fn current_tile<const TB: usize, const JB: usize>(
    x: &[f32],
    w: &[f32],
    n_in: usize,
    n_rec: usize,
    t0: usize,
    j0: usize,
    out: &mut [f32],
) {
    let mut acc = [[0.0f32; JB]; TB];
    for i in 0..n_in {
        let w_row: &[f32; JB] = w[i * n_rec + j0..i * n_rec + j0 + JB].try_into().expect("tile");
        for (tb, acc_t) in acc.iter_mut().enumerate() {
            let xi = x[(t0 + tb) * n_in + i];
            for (a, &wv) in acc_t.iter_mut().zip(w_row) {
                *a += wv * xi;
            }
        }
    }
    for (tb, acc_t) in acc.iter().enumerate() {
        out[(t0 + tb) * n_rec + j0..(t0 + tb) * n_rec + j0 + JB].copy_from_slice(acc_t);
    }
}

/// One Adam step's scalars (bias correction folded into `lr_t`, as in the reference).
struct AdamStep {
    b1: f32,
    b2: f32,
    eps: f32,
    lr_t: f32,
    two_l2: f32,
}

/// The reference's update on a run of weights: g = g_raw·(1/B) + 2·l2·W with B = 1, then Adam (elementwise, so
/// the loop vectorises).
fn adam_rows(w: &mut [f32], m: &mut [f32], v: &mut [f32], g_raw: &[f32], h: &AdamStep) {
    for (((w, m), v), &g_raw) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g_raw) {
        let g = g_raw * 1.0 + h.two_l2 * *w;
        *m = h.b1 * *m + (1.0 - h.b1) * g;
        *v = h.b2 * *v + (1.0 - h.b2) * g * g;
        *w -= h.lr_t * *m / (v.sqrt() + h.eps);
    }
}

/// One neuron's trace rows over its presynaptic sources: ε^a, ē and E = Σ_t ē.
struct TraceRows<'a> {
    ea: &'a mut [f32],
    eb: &'a mut [f32],
    es: &'a mut [f32],
}

/// What the trace loop reads: ε^v and (1−α)·ε^v of every source per step ([t][pre]), the neuron's [ψ, decay, gain]
/// per step, and the constants β and κ.
struct TraceInputs<'a> {
    ev_hist: &'a [f32],
    oev_hist: &'a [f32],
    coef: &'a [[f32; 3]],
    beta: f32,
    kappa: f32,
}

/// One neuron's per-synapse traces over a whole sample: for every step t (with `coef[t]` = [ψ, decay, gain] of the
/// neuron and `ev_hist` row t = ε^v of every presynaptic source), every synapse i updates
/// ε^a ← decay·ε^a + gain·ε^v_i, e = ψ·((1−α)·ε^v_i − β·ε^a), ē ← κ·ē + e, E ← E + ē — the chip's step-by-step
/// recursion, in its operation order. Synapses are independent, so the loop runs over tiles of synapses with their
/// three traces held in registers for all T steps (only ε^v is loaded per step); the arithmetic per synapse is
/// exactly that of a step-by-step loop.
fn neuron_traces(mut rows: TraceRows<'_>, inp: &TraceInputs<'_>) {
    // On a CPU with AVX-512 the same loop runs compiled for it (pulp's runtime dispatch), 64 synapses per tile:
    // 3 traces × 64 floats fill 12 of its 32 registers. Otherwise (AVX2, 16 registers) 16 synapses per tile keep
    // the two FP ports busy without spilling. The IEEE operations are the same either way, so are the results.
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        pulp::Simd::vectorize(v4, Tiles64 { rows, inp });
        return;
    }
    neuron_traces_tiled::<16>(&mut rows, inp);
}

/// The AVX-512 instance of the trace loop, for pulp's dispatch (the trait method is inlined into a function
/// compiled with AVX-512 enabled).
#[cfg(target_arch = "x86_64")]
struct Tiles64<'a, 'b> {
    rows: TraceRows<'a>,
    inp: &'b TraceInputs<'b>,
}

#[cfg(target_arch = "x86_64")]
impl pulp::WithSimd for Tiles64<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(mut self, _simd: S) {
        neuron_traces_tiled::<64>(&mut self.rows, self.inp);
    }
}

/// Tiles of `W` synapses, then of 8, then single synapses for what is left.
#[inline(always)]
fn neuron_traces_tiled<const W: usize>(rows: &mut TraceRows<'_>, inp: &TraceInputs<'_>) {
    let start = tiles::<W>(rows, inp, 0);
    let start = tiles::<8>(rows, inp, start);
    tiles::<1>(rows, inp, start);
}

/// Tiles of `W` synapses from `start` while whole tiles fit; returns where it stopped.
#[inline(always)]
fn tiles<const W: usize>(rows: &mut TraceRows<'_>, inp: &TraceInputs<'_>, mut start: usize) -> usize {
    let n_pre = rows.ea.len();
    let (beta, kappa) = (inp.beta, inp.kappa);
    while start + W <= n_pre {
        let r = start..start + W;
        let mut a: [f32; W] = rows.ea[r.clone()].try_into().expect("tile");
        let mut b: [f32; W] = rows.eb[r.clone()].try_into().expect("tile");
        let mut s: [f32; W] = rows.es[r.clone()].try_into().expect("tile");
        for (t, &[psi, decay, gain]) in inp.coef.iter().enumerate() {
            let row = t * n_pre + start..t * n_pre + start + W;
            let ev: &[f32; W] = inp.ev_hist[row.clone()].try_into().expect("tile");
            let oev: &[f32; W] = inp.oev_hist[row].try_into().expect("tile");
            for l in 0..W {
                let an = decay * a[l] + gain * ev[l];
                a[l] = an;
                let e = psi * (oev[l] - beta * an);
                let bn = kappa * b[l] + e;
                b[l] = bn;
                s[l] += bn;
            }
        }
        rows.ea[r.clone()].copy_from_slice(&a);
        rows.eb[r.clone()].copy_from_slice(&b);
        rows.es[r].copy_from_slice(&s);
        start += W;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) - 0.5
            })
            .collect()
    }

    /// Every tile width (the AVX2 path's 16, AVX-512's 64, and a one-synapse loop) gives the same bits, also for a
    /// row length that leaves remainders of every kind.
    #[test]
    fn trace_tiles_agree_bit_for_bit() {
        for n_pre in [200, 93, 7] {
            let t_steps = 13;
            let ev = noise(t_steps * n_pre, 1);
            let oev: Vec<f32> = ev.iter().map(|e| 0.05 * e).collect();
            let coef: Vec<[f32; 3]> =
                noise(t_steps * 3, 2).chunks(3).map(|c| [c[0].abs(), 0.99 - 0.01 * c[1].abs(), c[2]]).collect();
            let inp = TraceInputs { ev_hist: &ev, oev_hist: &oev, coef: &coef, beta: 1.8, kappa: 0.95 };
            let run = |width: usize| {
                let (mut a, mut b, mut s) = (noise(n_pre, 3), noise(n_pre, 4), noise(n_pre, 5));
                let mut rows = TraceRows { ea: &mut a, eb: &mut b, es: &mut s };
                match width {
                    1 => neuron_traces_tiled::<1>(&mut rows, &inp),
                    16 => neuron_traces_tiled::<16>(&mut rows, &inp),
                    64 => neuron_traces_tiled::<64>(&mut rows, &inp),
                    _ => neuron_traces(rows, &inp),
                }
                [a, b, s].map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            };
            let one = run(1);
            assert_eq!(run(16), one, "16-wide, n_pre {n_pre}");
            assert_eq!(run(64), one, "64-wide, n_pre {n_pre}");
            assert_eq!(run(0), one, "dispatched, n_pre {n_pre}");
        }
    }

    /// The blocked input currents equal the plain per-neuron sums in increasing input order, bit for bit, for every
    /// block width and sizes that leave remainders.
    #[test]
    fn input_current_blocks_agree_bit_for_bit() {
        for (t_steps, n_in, n_rec) in [(100, 80, 120), (7, 5, 37), (3, 1, 1)] {
            let x = noise(t_steps * n_in, 6);
            let w = noise(n_in * n_rec, 7);
            let mut plain = vec![0.0f32; t_steps * n_rec];
            for t in 0..t_steps {
                for j in 0..n_rec {
                    let mut c = 0.0f32;
                    for i in 0..n_in {
                        c += w[i * n_rec + j] * x[t * n_in + i];
                    }
                    plain[t * n_rec + j] = c;
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            for (name, got) in [
                ("16", {
                    let mut o = vec![0.0; t_steps * n_rec];
                    currents_tiled::<16>(&x, &w, n_in, n_rec, &mut o);
                    o
                }),
                ("32", {
                    let mut o = vec![0.0; t_steps * n_rec];
                    currents_tiled::<32>(&x, &w, n_in, n_rec, &mut o);
                    o
                }),
                ("dispatched", input_currents(&x, &w, n_in, n_rec)),
            ] {
                assert_eq!(bits(&got), bits(&plain), "{name}-wide blocks, {t_steps}×{n_in}→{n_rec}");
            }
        }
    }
}
