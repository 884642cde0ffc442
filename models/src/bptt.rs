//! Exact backpropagation through time (docs/model.md, "BPTT"): the forward pass stores v, A, z, ψ for every step, then
//! the adjoints run backwards through recurrence, reset (z and A), adaptation, leak and the readout filter, with ψ as
//! the spike's derivative. Options detach the reset term and (for the e-prop identity test) the recurrent input.

use crate::{
    NetConfig, Params, Real,
    eprop::SampleGrads,
    srnn::{LayerState, cross_entropy, readout},
};

/// Which paths the backward pass stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpttOptions {
    /// Stop the gradient through the whole reset term z(t−1)·A(t) (`--detach-reset`).
    pub detach_reset: bool,
    /// Stop the gradient through the recurrent input W_recᵀ z(t−1). With `detach_reset` this is e-prop's
    /// approximation (the adaptation path a(t) ← z(t−1) keeps its gradient); a diagnostic, not a training rule.
    pub stop_recurrent: bool,
}

/// BPTT for one sample `x [T, n_in]`: d CE/dW (no L2, no batch mean).
pub fn bptt_sample<R: Real>(
    cfg: &NetConfig,
    p: &Params<R>,
    x: &[f32],
    label: usize,
    opts: BpttOptions,
) -> SampleGrads<R> {
    let c = cfg.consts::<R>();
    let (n_in, n_rec, n_out) = (p.n_in, p.n_rec, p.n_out);
    let t_steps = x.len() / n_in;
    // History [T, n_rec]: spikes, thresholds, pseudo-derivatives.
    let mut z_hist = Vec::with_capacity(t_steps * n_rec);
    let mut thr_hist = Vec::with_capacity(t_steps * n_rec);
    let mut psi_hist = Vec::with_capacity(t_steps * n_rec);
    let ws = cfg.window_start(t_steps);
    let mut s = LayerState::windowed(n_rec, ws);
    for x_t in x.chunks_exact(n_in) {
        s.step(&c, p, x_t);
        z_hist.extend_from_slice(&s.z);
        thr_hist.extend_from_slice(&s.thr);
        psi_hist.extend_from_slice(&s.psi);
    }
    let window = cfg.window_len(t_steps);
    let logits = readout(p, &s.zbar_sum, window);
    let (ce, err) = cross_entropy(&logits, label);
    let t = R::of(window as f64);

    let mut g = Params::zeros_shaped(n_in, n_rec, n_out);
    for j in 0..n_rec {
        for k in 0..n_out {
            g.w_out[j * n_out + k] = s.zbar_sum[j] * err[k] / t;
        }
    }
    // dL/dz̄_j(t) directly from the readout, the same for every t of the readout window (0 before it).
    let direct: Vec<R> =
        (0..n_rec).map(|j| (0..n_out).map(|k| err[k] * p.w_out[j * n_out + k]).sum::<R>() / t).collect();
    let zero = vec![R::zero(); n_rec];
    let mut dzbar = zero.clone(); // dL/dz̄(t+1)
    let mut dv_next = zero.clone(); // dL/dv(t+1)
    let mut da_next = zero.clone(); // dL/da(t+1)
    let mut dv = zero.clone();
    let mut da = zero.clone();
    let mut rec_back = zero.clone();
    for ti in (0..t_steps).rev() {
        let row = ti * n_rec..(ti + 1) * n_rec;
        let (psi, z_prev) =
            (&psi_hist[row.clone()], if ti > 0 { &z_hist[row.start - n_rec..row.start] } else { &zero[..] });
        // Σ_k W_rec[j,k] dv_k(t+1): the recurrent input of step t+1 reads z(t).
        rec_back.iter_mut().for_each(|r| *r = R::zero());
        if !opts.stop_recurrent && ti + 1 < t_steps {
            for j in 0..n_rec {
                let w = &p.w_rec[j * n_rec..(j + 1) * n_rec];
                rec_back[j] = w.iter().zip(&dv_next).map(|(&w, &d)| w * d).sum();
            }
        }
        let in_window = ti >= ws;
        for j in 0..n_rec {
            dzbar[j] = if in_window { direct[j] + c.kappa * dzbar[j] } else { c.kappa * dzbar[j] };
            let mut dz = dzbar[j] + c.one_minus_alpha * rec_back[j] + c.one_minus_rho * da_next[j];
            if !opts.detach_reset && ti + 1 < t_steps {
                // v(t+1) contains −z(t)·A(t+1).
                dz = dz - thr_hist[row.start + n_rec + j] * dv_next[j];
            }
            let du = dz * psi[j];
            let dvj = du + c.alpha * dv_next[j];
            let mut d_thr = -du;
            if !opts.detach_reset {
                // v(t) contains −z(t−1)·A(t).
                d_thr = d_thr - z_prev[j] * dvj;
            }
            dv[j] = dvj;
            da[j] = c.beta_at(j) * d_thr + c.rho * da_next[j];
        }
        // Weight gradients of step t: v(t) gets (1−α)(W_inᵀ x(t) + W_recᵀ z(t−1)).
        let x_t = &x[ti * n_in..(ti + 1) * n_in];
        for (i, &xi) in x_t.iter().enumerate() {
            if xi != 0.0 {
                let s = c.one_minus_alpha * R::of_f32(xi);
                for (gj, &d) in g.w_in[i * n_rec..(i + 1) * n_rec].iter_mut().zip(&dv) {
                    *gj = *gj + s * d;
                }
            }
        }
        for i in 0..n_rec {
            if z_prev[i] != R::zero() {
                for (gj, &d) in g.w_rec[i * n_rec..(i + 1) * n_rec].iter_mut().zip(&dv) {
                    *gj = *gj + c.one_minus_alpha * d;
                }
            }
        }
        std::mem::swap(&mut dv_next, &mut dv);
        std::mem::swap(&mut da_next, &mut da);
    }
    let spikes = z_hist.iter().map(|&z| u8::from(z != R::zero())).collect();
    SampleGrads { g, logits, ce, spikes }
}
