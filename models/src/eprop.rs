//! Online e-prop (docs/model.md, "e-prop"): eligibility traces run forward in time with the network, so the memory per
//! sample is constant in T. ε^v depends only on the presynaptic neuron and is stored once per input / neuron; ε^a,
//! ē and E = Σ_t ē are per synapse. The learning signal is applied once, after the last step.

use crate::{
    NetConfig, Params, Real,
    srnn::{LayerState, cross_entropy, readout},
};

/// Which time alignment the adaptation trace uses in e(t).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TraceVariant {
    /// The authors' code: ε^a(t) is updated with the same-time ψ(t) and ε^v(t) before e(t) reads it.
    #[default]
    Authors,
    /// Time-aligned: e(t) reads ε^a(t−1), which makes e-prop equal to stopped-gradient BPTT to round-off.
    Aligned,
}

/// Per-sample result of a gradient rule (before the batch mean and L2).
#[derive(Clone, Debug)]
pub struct SampleGrads<R> {
    /// d CE / dW of this sample.
    pub g: Params<R>,
    /// `[n_out]`.
    pub logits: Vec<R>,
    /// Cross-entropy of this sample.
    pub ce: R,
    /// `[T, n_rec]` 0/1.
    pub spikes: Vec<u8>,
}

/// Per-synapse traces of one block of synapses (all presynaptic sources × n_rec posts).
struct SynapseTraces<R> {
    /// ε^v per presynaptic source (shared α).
    eps_v: Vec<R>,
    /// ε^a `[pre, post]`.
    eps_a: Vec<R>,
    /// ē `[pre, post]`.
    e_bar: Vec<R>,
    /// E = Σ_t ē `[pre, post]`.
    e_sum: Vec<R>,
}

impl<R: Real> SynapseTraces<R> {
    fn new(n_pre: usize, n_post: usize) -> Self {
        let z = vec![R::zero(); n_pre * n_post];
        Self { eps_v: vec![R::zero(); n_pre], eps_a: z.clone(), e_bar: z.clone(), e_sum: z }
    }

    /// One step for every synapse of the block. `pre` is x(t) or z(t−1); `decay[j]` = ρ − (1−ρ)β_jψ_j,
    /// `gain[j]` = (1−ρ)(1−α)ψ_j, `beta[j]` = β_j. `skip_diagonal` keeps the autapse traces at zero; `accumulate`
    /// (inside the readout window) adds ē to E.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        pre: impl Iterator<Item = R>,
        psi: &[R],
        decay: &[R],
        gain: &[R],
        alpha: R,
        one_minus_alpha: R,
        beta: &[R],
        kappa: R,
        variant: TraceVariant,
        skip_diagonal: bool,
        accumulate: bool,
    ) {
        let n_post = psi.len();
        for (i, p) in pre.enumerate() {
            let ev = alpha * self.eps_v[i] + p;
            self.eps_v[i] = ev;
            let ev_scaled = one_minus_alpha * ev;
            let range = i * n_post..(i + 1) * n_post;
            let (ea, eb, es) = (&mut self.eps_a[range.clone()], &mut self.e_bar[range.clone()], &mut self.e_sum[range]);
            for j in 0..n_post {
                if skip_diagonal && i == j {
                    continue;
                }
                let e = match variant {
                    TraceVariant::Authors => {
                        let a = decay[j] * ea[j] + gain[j] * ev;
                        ea[j] = a;
                        psi[j] * (ev_scaled - beta[j] * a)
                    }
                    TraceVariant::Aligned => {
                        let e = psi[j] * (ev_scaled - beta[j] * ea[j]);
                        ea[j] = decay[j] * ea[j] + gain[j] * ev;
                        e
                    }
                };
                let b = kappa * eb[j] + e;
                eb[j] = b;
                if accumulate {
                    es[j] = es[j] + b;
                }
            }
        }
    }
}

/// e-prop for one sample `x [T, n_in]` with label `label`: d CE/dW (no L2, no batch mean).
pub fn eprop_sample<R: Real>(
    cfg: &NetConfig,
    p: &Params<R>,
    x: &[f32],
    label: usize,
    variant: TraceVariant,
) -> SampleGrads<R> {
    let c = cfg.consts::<R>();
    let (n_in, n_rec, n_out) = (p.n_in, p.n_rec, p.n_out);
    let t_steps = x.len() / n_in;
    let mut s = LayerState::windowed(n_rec, cfg.window_start(t_steps));
    let mut tin = SynapseTraces::new(n_in, n_rec);
    let mut trec = SynapseTraces::new(n_rec, n_rec);
    let mut decay = vec![R::zero(); n_rec];
    let mut gain = vec![R::zero(); n_rec];
    let mut spikes = Vec::with_capacity(t_steps * n_rec);
    let drive = c.one_minus_rho * c.one_minus_alpha;
    let beta: Vec<R> = (0..n_rec).map(|j| c.beta_at(j)).collect();
    for x_t in x.chunks_exact(n_in) {
        s.step(&c, p, x_t);
        spikes.extend(s.z.iter().map(|&z| u8::from(z != R::zero())));
        for j in 0..n_rec {
            decay[j] = c.rho - c.one_minus_rho * beta[j] * s.psi[j];
            gain[j] = drive * s.psi[j];
        }
        let (alpha, om_alpha, kappa, acc) = (c.alpha, c.one_minus_alpha, c.kappa, s.in_window());
        let xs = x_t.iter().map(|&v| R::of_f32(v));
        tin.step(xs, &s.psi, &decay, &gain, alpha, om_alpha, &beta, kappa, variant, false, acc);
        let zs = s.z_prev().iter().copied();
        trec.step(zs, &s.psi, &decay, &gain, alpha, om_alpha, &beta, kappa, variant, true, acc);
    }
    let window = cfg.window_len(t_steps);
    let logits = readout(p, &s.zbar_sum, window);
    let (ce, err) = cross_entropy(&logits, label);
    let t = R::of(window as f64);
    // Learning signal L_j = Σ_k err_k W_out[j,k] / W (pre-update W_out, constant in time; W = T by default).
    let signal: Vec<R> =
        (0..n_rec).map(|j| (0..n_out).map(|k| err[k] * p.w_out[j * n_out + k]).sum::<R>() / t).collect();
    let mut g = Params::zeros_shaped(n_in, n_rec, n_out);
    for (gv, ev) in [(&mut g.w_in, &tin.e_sum), (&mut g.w_rec, &trec.e_sum)] {
        for (gi, ei) in gv.chunks_exact_mut(n_rec).zip(ev.chunks_exact(n_rec)) {
            for j in 0..n_rec {
                gi[j] = signal[j] * ei[j];
            }
        }
    }
    for j in 0..n_rec {
        for k in 0..n_out {
            g.w_out[j * n_out + k] = s.zbar_sum[j] * err[k] / t;
        }
    }
    SampleGrads { g, logits, ce, spikes }
}
