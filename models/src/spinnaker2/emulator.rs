//! A functional emulator of e-prop on SpiNNaker 2: each PE updates only its neurons and their synapses, spikes are
//! exchanged between PEs every step as counted packets, the partial logits go to a root PE after the last step,
//! which sends the output error back; each PE then applies Adam to its own weights (MODEL.md, on-chip schedule,
//! batch 1). Its arithmetic follows the CPU reference operation by operation (so weights agree with `models` to
//! the readout's summation order), and it counts what it executes, per PE, per step and per phase.

use std::ops::Range;

use serde::Serialize;

use super::{chip::ChipConfig, memory::Partition};
use crate::{AdamConfig, AdamState, NetConfig, Params, config::Consts, srnn::cross_entropy};

/// What one PE executed in one step (or in the end-of-sample phase), as loop trip counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PhaseCounts {
    /// Input MACs (n_in per own neuron).
    pub input_macs: u32,
    /// Recurrent input additions (received spikes × own neurons).
    pub recurrent_adds: u32,
    /// Neuron updates.
    pub neuron_updates: u32,
    /// Surrogate evaluations (3 exponentials each).
    pub surrogates: u32,
    /// ε^v updates (one per presynaptic source).
    pub presynaptic_updates: u32,
    /// Per-synapse trace updates (ε^a, ē, E).
    pub synapse_updates: u32,
    /// Readout MACs (partial logits, end of sample).
    pub readout_macs: u32,
    /// Learning-signal MACs (end of sample) and the root's softmax terms.
    pub signal_macs: u32,
    /// Output-error exponentials on the root PE.
    pub softmax_exps: u32,
    /// Adam updates (weights).
    pub adam_updates: u32,
    /// Packets sent.
    pub packets_sent: u32,
    /// Packets received.
    pub packets_received: u32,
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

struct Pe {
    posts: Range<usize>,
    /// Own weights: w_in[i][j], w_rec[i][j] (pre-major, so the input current vectorises over own neurons) and
    /// w_out[j][k].
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
}

/// The emulated chip running the network.
pub struct Emulator {
    cfg: NetConfig,
    c: Consts<f32>,
    pes: Vec<Pe>,
    adam_step: u64,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Emulator({} PEs, Adam step {})", self.pes.len(), self.adam_step)
    }
}

fn columns(w: &[f32], rows: usize, cols: usize, col_range: Range<usize>) -> Vec<f32> {
    // w is [rows, cols] (pre, post); returns [row][col in range].
    let mut out = Vec::with_capacity(col_range.len() * rows);
    for i in 0..rows {
        out.extend_from_slice(&w[i * cols + col_range.start..i * cols + col_range.end]);
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
                let w_in = columns(&params.w_in, n_in, n_rec, r.clone());
                let w_rec = columns(&params.w_rec, n_rec, n_rec, r.clone());
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
                }
            })
            .collect();
        Self { cfg: cfg.clone(), c: cfg.consts::<f32>(), pes, adam_step: 0 }
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
        for pe in &mut self.pes {
            let r = pe.posts.clone();
            pe.m = [
                columns(&a.m.w_in, n_in, n_rec, r.clone()),
                columns(&a.m.w_rec, n_rec, n_rec, r.clone()),
                a.m.w_out[r.start * n_out..r.end * n_out].to_vec(),
            ];
            pe.v = [
                columns(&a.v.w_in, n_in, n_rec, r.clone()),
                columns(&a.v.w_rec, n_rec, n_rec, r.clone()),
                a.v.w_out[r.start * n_out..r.end * n_out].to_vec(),
            ];
        }
        self.adam_step = a.step;
    }

    fn gather(&self, part: impl Fn(&Pe) -> [&Vec<f32>; 3]) -> Params<f32> {
        let (n_in, n_rec, n_out) = (self.cfg.n_in, self.cfg.n_rec, self.cfg.n_out);
        let mut p = Params::zeros_shaped(n_in, n_rec, n_out);
        for pe in &self.pes {
            let [w_in, w_rec, w_out] = part(pe);
            let n = pe.posts.len();
            for (jl, j) in pe.posts.clone().enumerate() {
                for i in 0..n_in {
                    p.w_in[i * n_rec + j] = w_in[i * n + jl];
                }
                for i in 0..n_rec {
                    p.w_rec[i * n_rec + j] = w_rec[i * n + jl];
                }
                p.w_out[j * n_out..(j + 1) * n_out].copy_from_slice(&w_out[jl * n_out..(jl + 1) * n_out]);
            }
        }
        p
    }

    /// Trains on one sample `x [T, n_in]` (online: gradient, then Adam on every PE). Returns the sample's loss
    /// (CE + l2·ΣW², before the update) and what every PE executed.
    pub fn train_sample(
        &mut self,
        x: &[f32],
        label: usize,
        adam: &AdamConfig,
        lr: f64,
        l2: f64,
    ) -> (f32, SampleCounts) {
        let (n_in, n_rec, n_out) = (self.cfg.n_in, self.cfg.n_rec, self.cfg.n_out);
        let n_pre = n_in + n_rec;
        let t_steps = x.len() / n_in;
        let c = self.c;
        for pe in &mut self.pes {
            for v in [&mut pe.eps_a, &mut pe.e_bar, &mut pe.e_sum, &mut pe.eps_v, &mut pe.v_mem, &mut pe.a] {
                v.iter_mut().for_each(|x| *x = 0.0);
            }
            for v in [&mut pe.z, &mut pe.psi, &mut pe.zbar, &mut pe.zsum] {
                v.iter_mut().for_each(|x| *x = 0.0);
            }
        }
        let mut counts = SampleCounts { steps: Vec::with_capacity(t_steps), end: Vec::new(), spikes: 0 };
        // The input currents of all PEs are computed together from a pre-major copy of the PEs' W_in columns
        // (the same per-neuron sums in the same order as each PE's own loop; 120-wide instead of 10-wide vectors).
        let mut w_in_all = vec![0.0f32; n_in * n_rec];
        for pe in &self.pes {
            let n = pe.posts.len();
            for i in 0..n_in {
                w_in_all[i * n_rec + pe.posts.start..i * n_rec + pe.posts.end]
                    .copy_from_slice(&pe.w_in[i * n..(i + 1) * n]);
            }
        }
        let mut cur_all = vec![0.0f32; n_rec];
        // Spikes of the previous step as received by every PE (multicast packets): indices, increasing.
        let mut spikes_prev: Vec<usize> = Vec::new();
        let mut z_prev = vec![0.0f32; n_rec];
        // The emulator computes in two passes with the chip's arithmetic: first the network's dynamics step by step
        // (they do not depend on the traces), recording ψ(t) and ε^v(t); then each PE's traces, neuron by neuron
        // over all steps, so a neuron's trace row stays in cache. Every synapse sees the same values in the same
        // order as in a step-by-step run, so the results are identical; the counts are the chip's step schedule.
        let mut psi_hist = vec![0.0f32; t_steps * n_rec];
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
            cur_all.iter_mut().for_each(|c| *c = 0.0);
            for (i, &xi) in x_t.iter().enumerate() {
                if xi != 0.0 {
                    for (c, &w) in cur_all.iter_mut().zip(&w_in_all[i * n_rec..(i + 1) * n_rec]) {
                        *c += w * xi;
                    }
                }
            }
            let psi_t = &mut psi_hist[t * n_rec..(t + 1) * n_rec];
            let step: Vec<PhaseCounts> = self
                .pes
                .iter_mut()
                .map(|pe| {
                    let n = pe.posts.len();
                    for jl in 0..n {
                        let j = pe.posts.start + jl;
                        // Input current (above) then the spiking rows, in the reference's order (increasing i).
                        let mut cur = cur_all[j];
                        for &i in &spikes_prev {
                            cur += pe.w_rec[i * n + jl];
                        }
                        let zp = pe.z[jl];
                        let a = c.rho * pe.a[jl] + c.one_minus_rho * zp;
                        let thr = c.v_th + c.beta * a;
                        let v = c.alpha * pe.v_mem[jl] + c.one_minus_alpha * cur - zp * thr;
                        let u = v - thr;
                        let z = if u > 0.0 { 1.0 } else { 0.0 };
                        let psi = c.surrogate.psi(u);
                        pe.a[jl] = a;
                        pe.v_mem[jl] = v;
                        pe.z[jl] = z;
                        pe.psi[jl] = psi;
                        psi_t[j] = psi;
                        let zb = c.kappa * pe.zbar[jl] + z;
                        pe.zbar[jl] = zb;
                        pe.zsum[jl] += zb;
                    }
                    let own_spikes = pe.z.iter().filter(|&&z| z != 0.0).count() as u32;
                    PhaseCounts {
                        input_macs: (n * n_in) as u32,
                        recurrent_adds: (n * spikes_prev.len()) as u32,
                        neuron_updates: n as u32,
                        surrogates: n as u32,
                        presynaptic_updates: n_pre as u32,
                        synapse_updates: (n * (n_pre - 1)) as u32,
                        // Input frame (n_in values) and the spikes of the previous step arrive as packets;
                        // own spikes leave as one multicast packet each.
                        packets_received: (n_in + spikes_prev.len()) as u32,
                        packets_sent: own_spikes,
                        ..PhaseCounts::default()
                    }
                })
                .collect();
            spikes_prev.clear();
            for pe in &self.pes {
                for (jl, &z) in pe.z.iter().enumerate() {
                    z_prev[pe.posts.start + jl] = z;
                    if z != 0.0 {
                        spikes_prev.push(pe.posts.start + jl);
                    }
                }
            }
            counts.spikes += spikes_prev.len() as u32;
            counts.steps.push(step);
        }
        // Traces, PE by PE (in parallel), step by step, neuron by neuron (a PE's trace block stays in L1 and each
        // step's ε^v row is read once per PE): authors' alignment.
        let drive = c.one_minus_rho * c.one_minus_alpha;
        let traces = |pe: &mut Pe| {
            let n = pe.posts.len();
            for t in 0..t_steps {
                let ev_t = &ev_hist[t * n_pre..(t + 1) * n_pre];
                for jl in 0..n {
                    let j = pe.posts.start + jl;
                    let psi = psi_hist[t * n_rec + j];
                    let decay = c.rho - c.one_minus_rho * c.beta * psi;
                    let gain = drive * psi;
                    let r = jl * n_pre..(jl + 1) * n_pre;
                    let (ea, eb, es) = (&mut pe.eps_a[r.clone()], &mut pe.e_bar[r.clone()], &mut pe.e_sum[r]);
                    // Zipped iterators: no bounds checks, so the loop vectorises.
                    for (((a_ij, b_ij), s_ij), &ev) in ea.iter_mut().zip(eb.iter_mut()).zip(es.iter_mut()).zip(ev_t) {
                        let a = decay * *a_ij + gain * ev;
                        *a_ij = a;
                        let e = psi * (c.one_minus_alpha * ev - c.beta * a);
                        let b = c.kappa * *b_ij + e;
                        *b_ij = b;
                        *s_ij += b;
                    }
                    // The autapse has no trace.
                    ea[n_in + j] = 0.0;
                    eb[n_in + j] = 0.0;
                    es[n_in + j] = 0.0;
                }
            }
            pe.eps_v.copy_from_slice(&eps_v);
        };
        on_two_threads(&mut self.pes, traces);
        // Readout: partial logits per PE (own rows of W_out), summed on the root PE 0 in PE order.
        let t = t_steps as f32;
        let mut logits = vec![0.0f32; n_out];
        for pe in &self.pes {
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
        // Loss as the reference reports it: CE + l2·ΣW² (before the update).
        let sum_sq: f32 = self
            .pes
            .iter()
            .map(|pe| {
                [&pe.w_in, &pe.w_rec, &pe.w_out].iter().map(|w| w.iter().map(|x| x * x).sum::<f32>()).sum::<f32>()
            })
            .sum();
        let loss = ce + l2 as f32 * sum_sq;
        // Learning signal, gradients and Adam on every PE.
        self.adam_step += 1;
        let step_t = self.adam_step as i32;
        let (b1, b2, eps) = (adam.beta1 as f32, adam.beta2 as f32, adam.eps as f32);
        let lr_t = lr as f32 * (1.0 - b2.powi(step_t)).sqrt() / (1.0 - b1.powi(step_t));
        let two_l2 = (2.0 * l2) as f32;
        let n_pes = self.pes.len();
        let mut end = vec![PhaseCounts::default(); n_pes];
        let adam_pe = |(p, (pe, out)): (usize, (&mut Pe, &mut PhaseCounts))| {
            let n = pe.posts.len();
            for jl in 0..n {
                let sig = (0..n_out).map(|k| err[k] * pe.w_out[jl * n_out + k]).sum::<f32>() / t;
                let e_row = &pe.e_sum[jl * n_pre..(jl + 1) * n_pre];
                // The reference's gradient: 0 + L·E, then ·(1/B) + 2·l2·W with B = 1.
                let upd = |w: &mut f32, m: &mut f32, v: &mut f32, g_raw: f32| {
                    let g = g_raw * 1.0 + two_l2 * *w;
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= lr_t * *m / (v.sqrt() + eps);
                };
                for i in 0..n_in {
                    let k = i * n + jl;
                    upd(&mut pe.w_in[k], &mut pe.m[0][k], &mut pe.v[0][k], sig * e_row[i]);
                }
                for i in 0..n_rec {
                    let k = i * n + jl;
                    upd(&mut pe.w_rec[k], &mut pe.m[1][k], &mut pe.v[1][k], sig * e_row[n_in + i]);
                }
                for k in 0..n_out {
                    let idx = jl * n_out + k;
                    let g_raw = pe.zsum[jl] * err[k] / t;
                    upd(&mut pe.w_out[idx], &mut pe.m[2][idx], &mut pe.v[2][idx], g_raw);
                }
            }
            let root = p == 0;
            *out = PhaseCounts {
                readout_macs: (n * n_out) as u32,
                signal_macs: (n * n_out) as u32 + if root { (4 * n_out) as u32 } else { 0 },
                softmax_exps: if root { n_out as u32 } else { 0 },
                adam_updates: (n * (n_pre + n_out)) as u32,
                // Each PE sends its n_out partial logits to the root (the root's stay local; it multicasts the
                // n_out errors instead): n_out packets either way.
                packets_sent: n_out as u32,
                packets_received: if root { ((n_pes - 1) * n_out) as u32 } else { n_out as u32 },
                ..PhaseCounts::default()
            };
        };
        {
            let mut work: Vec<(usize, (&mut Pe, &mut PhaseCounts))> =
                self.pes.iter_mut().zip(end.iter_mut()).enumerate().collect();
            let half = work.len().div_ceil(2);
            let (a, b) = work.split_at_mut(half);
            std::thread::scope(|s| {
                s.spawn(|| a.iter_mut().for_each(|(p, (pe, out))| adam_pe((*p, (&mut **pe, &mut **out)))));
                b.iter_mut().for_each(|(p, (pe, out))| adam_pe((*p, (&mut **pe, &mut **out))));
            });
        }
        counts.end = end;
        (loss, counts)
    }
}

/// Runs `f` on every PE, the first half on a second thread and the rest on this one. Scoped threads rather than
/// rayon: on a 2-core machine rayon's spinning workers slow the sequential phases around this one.
fn on_two_threads(pes: &mut [Pe], f: impl Fn(&mut Pe) + Sync) {
    let half = pes.len().div_ceil(2);
    let (a, b) = pes.split_at_mut(half);
    std::thread::scope(|s| {
        s.spawn(|| a.iter_mut().for_each(&f));
        b.iter_mut().for_each(&f);
    });
}
