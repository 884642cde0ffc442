//! A functional emulator of e-prop on SpiNNaker 2: each PE updates only its neurons and their synapses, spikes are
//! exchanged between PEs every step as counted packets, the partial logits go to a root PE after the last step,
//! which sends the output error back; each PE then applies Adam to its own weights (docs/model.md, on-chip schedule,
//! batch 1). Its arithmetic follows the CPU reference operation by operation (so weights agree with `models` to
//! the readout's summation order), and it counts what it executes, per PE, per step and per phase.

use std::{
    ops::Range,
    sync::{Arc, Mutex, MutexGuard},
};

mod end;
mod host_thread;
mod simd;

use super::{
    memory::Partition,
    workload::{PhaseCounts, SampleCounts, step_counts},
};
use crate::{AdamConfig, AdamState, NetConfig, Params, config::Consts, srnn::cross_entropy};

use end::{AdamStep, EndInputs, pe_end};
use host_thread::Helper;
use simd::input_currents;
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
    /// Loads `params` onto the PEs of `part` (fresh Adam state, zero traces). The arithmetic does not depend on the
    /// chip's description: what a PE must hold (SRAM, trace width) is [`memory_map`](super::memory_map)'s business,
    /// which the chip contender checks before it emulates (the cost path emulates networks too large for the chip on
    /// purpose, to say by how much).
    pub fn new(cfg: &NetConfig, part: &Partition, params: &Params<f32>) -> Self {
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
        let (window_start, window_len) = (self.cfg.window_start(t_steps), self.cfg.window_len(t_steps));
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
                    let in_window = t >= window_start;
                    for jl in 0..n {
                        let j = pe.posts.start + jl;
                        // Input current then the spiking rows (above), in the reference's order (increasing i).
                        let cur = cur_all[j];
                        let zp = pe.z[jl];
                        let a = c.rho * pe.a[jl] + c.one_minus_rho * zp;
                        let thr = c.v_th + c.beta_at(j) * a;
                        let v = c.alpha * pe.v_mem[jl] + c.one_minus_alpha * cur - zp * thr;
                        let u = v - thr;
                        let z = if u > 0.0 { 1.0 } else { 0.0 };
                        pe.a[jl] = a;
                        pe.v_mem[jl] = v;
                        pe.z[jl] = z;
                        u_t[j] = u;
                        let zb = c.kappa * pe.zbar[jl] + z;
                        pe.zbar[jl] = zb;
                        if in_window {
                            pe.zsum[jl] += zb;
                        }
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
        let t = window_len as f32;
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
        let inputs = Arc::new(EndInputs {
            n_in,
            n_rec,
            n_out,
            n_pes,
            t_steps,
            window_start,
            c,
            u_hist,
            ev_hist,
            oev_hist,
            eps_v,
            err,
            adam,
        });
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
