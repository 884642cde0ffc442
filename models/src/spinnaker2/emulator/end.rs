//! A PE's end-of-sample work: ψ of its neurons over the sample, its traces, its share of ΣW², the learning signal,
//! the gradients, and Adam on its own weights (or, without an update, the raw gradient kept in the PE).

use super::Pe;
use super::simd::{TraceInputs, TraceRows, neuron_traces};
use crate::spinnaker2::workload::PhaseCounts;
use crate::{config::Consts, spinnaker2::workload::end_counts};

/// What a PE's end-of-sample work reads: the recorded dynamics, the output error and the step's constants.
pub(super) struct EndInputs {
    pub(super) n_in: usize,
    pub(super) n_rec: usize,
    pub(super) n_out: usize,
    pub(super) n_pes: usize,
    pub(super) t_steps: usize,
    /// First step of the readout window (E sums ē from here; the logits divide by T − window_start).
    pub(super) window_start: usize,
    pub(super) c: Consts<f32>,
    /// u(t) of every neuron, [t][j].
    pub(super) u_hist: Vec<f32>,
    /// ε^v(t) of every source, [t][pre], and (1−α)·ε^v(t).
    pub(super) ev_hist: Vec<f32>,
    pub(super) oev_hist: Vec<f32>,
    /// ε^v after the last step.
    pub(super) eps_v: Vec<f32>,
    /// Output error (softmax − one-hot).
    pub(super) err: Vec<f32>,
    /// The update, or `None`: keep the raw gradient in the PE's `grad` rows instead.
    pub(super) adam: Option<AdamStep>,
}

/// One PE's work after the dynamics: ψ, traces, its share of ΣW² (before the update), learning signal, gradients
/// and Adam.
pub(super) fn pe_end(p: usize, pe: &mut Pe, inp: &EndInputs) -> (f32, PhaseCounts) {
    let (n_in, n_rec, n_out, t_steps, c) = (inp.n_in, inp.n_rec, inp.n_out, inp.t_steps, inp.c);
    let n_pre = n_in + n_rec;
    let n = pe.posts.len();
    let t = (t_steps - inp.window_start) as f32;
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
        let beta = c.beta_at(j);
        coef.clear();
        coef.extend((0..t_steps).map(|t| {
            let psi = pe.psi_hist[t * n + jl];
            [psi, c.rho - c.one_minus_rho * beta * psi, drive * psi]
        }));
        let r = jl * n_pre..(jl + 1) * n_pre;
        neuron_traces(
            TraceRows { ea: &mut pe.eps_a[r.clone()], eb: &mut pe.e_bar[r.clone()], es: &mut pe.e_sum[r.clone()] },
            &TraceInputs {
                ev_hist: &inp.ev_hist,
                oev_hist: &inp.oev_hist,
                coef: &coef,
                beta,
                kappa: c.kappa,
                window_start: inp.window_start,
            },
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

/// One Adam step's scalars (bias correction folded into `lr_t`, as in the reference).
pub(super) struct AdamStep {
    pub(super) b1: f32,
    pub(super) b2: f32,
    pub(super) eps: f32,
    pub(super) lr_t: f32,
    pub(super) two_l2: f32,
}

/// The reference's update on a run of weights: g = g_raw·(1/B) + 2·l2·W with B = 1, then Adam (elementwise, so
/// the loop vectorises).
pub(super) fn adam_rows(w: &mut [f32], m: &mut [f32], v: &mut [f32], g_raw: &[f32], h: &AdamStep) {
    for (((w, m), v), &g_raw) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g_raw) {
        let g = g_raw * 1.0 + h.two_l2 * *w;
        *m = h.b1 * *m + (1.0 - h.b1) * g;
        *v = h.b2 * *v + (1.0 - h.b2) * g * g;
        *w -= h.lr_t * *m / (v.sqrt() + h.eps);
    }
}
