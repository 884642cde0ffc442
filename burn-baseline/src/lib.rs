//! The paper's network (docs/model.md: 80 → 120 ALIF → 12 leaky readouts) trained by exact BPTT through burn's
//! autodiff, on burn's wgpu backend (cubecl, the same wgpu 30 as `kernels`) or its pure-Rust CPU backend (`flex`).
//! It is the baseline a Rust user would write without kernels: the forward pass in tensor ops, the gradient from
//! autodiff, Adam as the authors' C code (docs/model.md, implemented in tensor ops because burn's Adam applies its bias
//! correction differently), the same loss, L2 and batch conventions as `models`.
//!
//! The spike is H(u) forward and ψ(u) backward (the multi-Gaussian pseudo-derivative): z = H(u) + (p − detach(p))
//! with p = u · detach(ψ(u)). The bracket is exactly 0 in the forward pass (the same value minus itself), so the
//! spikes are exactly 0 or 1, and its derivative is exactly ψ(u) — the same gradient as a custom backward.

use burn::tensor::{Device, DeviceKind, Int, Tensor, TensorData};
use models::{AdamConfig, AdamState, NetConfig, Params, bptt::BpttOptions};

/// Errors of the burn baseline.
#[derive(Debug, thiserror::Error)]
pub enum BurnError {
    /// Inputs that do not fit the network.
    #[error("{0}")]
    Input(String),
    /// A tensor could not be read back.
    #[error("burn: reading a tensor back failed: {0}")]
    Read(String),
}

/// Which burn backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BurnBackend {
    /// burn's wgpu backend (cubecl): a GPU when there is one, else lavapipe.
    Wgpu,
    /// burn's pure-Rust CPU backend (`flex`).
    Cpu,
}

impl BurnBackend {
    /// The autodiff device.
    pub fn device(self) -> Device {
        match self {
            BurnBackend::Wgpu => Device::wgpu(DeviceKind::DefaultDevice).autodiff(),
            BurnBackend::Cpu => Device::flex().autodiff(),
        }
    }

    /// `burn-wgpu` or `burn-cpu`.
    pub fn name(self) -> &'static str {
        match self {
            BurnBackend::Wgpu => "burn-wgpu",
            BurnBackend::Cpu => "burn-cpu",
        }
    }
}

/// One batch's gradients, logits, loss and spikes (the conventions of `models::compute_grads`).
#[derive(Clone, Debug)]
pub struct BurnGrads {
    /// d(loss)/dW, `[pre, post]`.
    pub grads: Params<f32>,
    /// `[B, n_out]`.
    pub logits: Vec<f32>,
    /// Mean CE + l2·ΣW².
    pub loss: f32,
    /// `[B, T, n_rec]`, 0/1.
    pub spikes: Vec<u8>,
}

fn read(t: Tensor<2>) -> Result<Vec<f32>, BurnError> {
    t.into_data().try_to_vec::<f32>().map_err(|e| BurnError::Read(format!("{e:?}")))
}

fn read1(t: Tensor<1>) -> Result<Vec<f32>, BurnError> {
    t.into_data().try_to_vec::<f32>().map_err(|e| BurnError::Read(format!("{e:?}")))
}

/// The network's weights as burn leaves that require gradients.
struct Leaves {
    w_in: Tensor<2>,
    w_rec: Tensor<2>,
    w_out: Tensor<2>,
}

impl Leaves {
    fn new(p: &Params<f32>, device: &Device) -> Self {
        let leaf = |v: &[f32], r: usize, c: usize| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [r, c]), device).require_grad()
        };
        Self {
            w_in: leaf(&p.w_in, p.n_in, p.n_rec),
            w_rec: leaf(&p.w_rec, p.n_rec, p.n_rec),
            w_out: leaf(&p.w_out, p.n_rec, p.n_out),
        }
    }
}

/// ψ(u) of docs/model.md's surrogate, in tensor ops.
fn psi(cfg: &NetConfig, u: Tensor<2>) -> Tensor<2> {
    let s = cfg.surrogate;
    let sqrt_2pi = (2.0 * std::f64::consts::PI).sqrt();
    let wide = s.scale * s.sigma;
    let g = |u: Tensor<2>, mu: f64, sd: f64| -> Tensor<2> {
        let d = u.sub_scalar(mu);
        (d.clone() * d).mul_scalar(-0.5 / (sd * sd)).exp().mul_scalar(1.0 / (sqrt_2pi * sd))
    };
    let h = s.height;
    (g(u.clone(), 0.0, s.sigma).mul_scalar(1.0 + h)
        - g(u.clone(), s.sigma, wide).mul_scalar(h)
        - g(u, -s.sigma, wide).mul_scalar(h))
    .mul_scalar(s.gamma)
}

/// The forward pass through time with autodiff: (loss, logits [B, n_out], spikes [T] of [B, n_rec]).
fn forward(
    cfg: &NetConfig,
    w: &Leaves,
    x: &[f32],
    y: &[i64],
    t_steps: usize,
    opts: BpttOptions,
    l2: f64,
    device: &Device,
    keep_spikes: bool,
) -> (Tensor<1>, Tensor<2>, Vec<Tensor<2>>) {
    let c = cfg.consts::<f64>();
    let (n_in, n_rec, n_out) = (cfg.n_in, cfg.n_rec, cfg.n_out);
    let b = y.len();
    let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [b * t_steps, n_in]), device);
    let cur_in: Tensor<3> = xt.matmul(w.w_in.clone()).reshape([b, t_steps, n_rec]);
    let zeros = || Tensor::<2>::zeros([b, n_rec], device);
    let (mut v, mut a, mut z, mut zbar, mut zsum) = (zeros(), zeros(), zeros(), zeros(), zeros());
    let mut spikes = Vec::new();
    // β per neuron (0 for the plain LIF ones, j < n_lif), as a [1, n_rec] row broadcast over the batch.
    let beta_row = (cfg.n_lif > 0).then(|| {
        let row: Vec<f32> = (0..n_rec).map(|j| c.beta_at(j) as f32).collect();
        Tensor::<2>::from_data(TensorData::new(row, [1, n_rec]), device)
    });
    let window_start = cfg.window_start(t_steps);
    for t in 0..t_steps {
        a = a.mul_scalar(c.rho) + z.clone().mul_scalar(c.one_minus_rho);
        let thr = match &beta_row {
            Some(beta) => (a.clone() * beta.clone()).add_scalar(c.v_th),
            None => a.clone().mul_scalar(c.beta).add_scalar(c.v_th),
        };
        let rec = if opts.stop_recurrent {
            z.clone().detach().matmul(w.w_rec.clone().detach())
        } else {
            z.clone().matmul(w.w_rec.clone())
        };
        let input: Tensor<2> = cur_in.clone().narrow(1, t, 1).reshape([b, n_rec]);
        let reset = z.clone() * thr.clone();
        let reset = if opts.detach_reset { reset.detach() } else { reset };
        v = v.mul_scalar(c.alpha) + (input + rec).mul_scalar(c.one_minus_alpha) - reset;
        let u = v.clone() - thr;
        let h = u.clone().greater_elem(0.0).float();
        let p = u.clone() * psi(cfg, u.detach()).detach();
        z = h.detach() + (p.clone() - p.detach());
        zbar = zbar.mul_scalar(c.kappa) + z.clone();
        if t >= window_start {
            zsum = zsum + zbar.clone();
        }
        if keep_spikes {
            spikes.push(z.clone().detach());
        }
    }
    let logits = zsum.matmul(w.w_out.clone()).div_scalar(cfg.window_len(t_steps) as f64);
    // Mean cross-entropy with a max-shifted log-sum-exp.
    let m = logits.clone().detach().max_dim(1);
    let lse = (logits.clone() - m.clone()).exp().sum_dim(1).log() + m;
    let labels = Tensor::<1, Int>::from_data(TensorData::new(y.to_vec(), [b]), device);
    let onehot: Tensor<2> = labels.one_hot::<2>(n_out).float();
    let picked = (logits.clone() * onehot).sum_dim(1);
    let ce = (lse - picked).mean();
    let l2_term = (w.w_in.clone().square().sum() + w.w_rec.clone().square().sum() + w.w_out.clone().square().sum())
        .mul_scalar(l2);
    let loss: Tensor<1> = ce + l2_term;
    let _ = n_in;
    (loss, logits, spikes)
}

fn check(cfg: &NetConfig, p: &Params<f32>, x: &[f32], y: &[i64], t_steps: usize) -> Result<(), BurnError> {
    p.check_shape(cfg).map_err(|e| BurnError::Input(e.to_string()))?;
    if y.is_empty() || t_steps == 0 || x.len() != y.len() * t_steps * cfg.n_in {
        return Err(BurnError::Input(format!(
            "batch is x[{}], y[{}]; expected x[B·T·n_in] with T = {t_steps}, n_in = {}",
            x.len(),
            y.len(),
            cfg.n_in
        )));
    }
    if let Some(l) = y.iter().find(|&&l| l < 0 || l >= cfg.n_out as i64) {
        return Err(BurnError::Input(format!("label {l} is outside 0..{}", cfg.n_out)));
    }
    Ok(())
}

/// BPTT gradients of one batch `x [B, T, n_in]`, `y [B]` through burn's autodiff.
pub fn grads(
    backend: BurnBackend,
    cfg: &NetConfig,
    p: &Params<f32>,
    x: &[f32],
    y: &[i64],
    t_steps: usize,
    opts: BpttOptions,
    l2: f64,
) -> Result<BurnGrads, BurnError> {
    check(cfg, p, x, y, t_steps)?;
    let device = backend.device();
    let w = Leaves::new(p, &device);
    let (loss, logits, spikes) = forward(cfg, &w, x, y, t_steps, opts, l2, &device, true);
    let g = loss.backward();
    let get = |t: &Tensor<2>| -> Result<Vec<f32>, BurnError> {
        read(t.grad(&g).ok_or_else(|| BurnError::Read("a weight has no gradient".into()))?)
    };
    let grads = Params {
        n_in: cfg.n_in,
        n_rec: cfg.n_rec,
        n_out: cfg.n_out,
        w_in: get(&w.w_in)?,
        w_rec: get(&w.w_rec)?,
        w_out: get(&w.w_out)?,
    };
    let b = y.len();
    let mut out = vec![0u8; b * t_steps * cfg.n_rec];
    for (t, z) in spikes.into_iter().enumerate() {
        let zt = read(z)?;
        for bi in 0..b {
            for j in 0..cfg.n_rec {
                out[(bi * t_steps + t) * cfg.n_rec + j] = u8::from(zt[bi * cfg.n_rec + j] != 0.0);
            }
        }
    }
    Ok(BurnGrads { grads, logits: read(logits.detach())?, loss: read1(loss.detach())?[0], spikes: out })
}

/// K Adam steps (the C code's Adam, docs/model.md) on minibatches of `batch_size`: step k uses samples
/// (k·N + i) mod B, like `models::train_steps`. Returns the per-step losses; `p` and `adam` are updated.
#[allow(clippy::too_many_arguments)]
pub fn train_steps(
    backend: BurnBackend,
    cfg: &NetConfig,
    p: &mut Params<f32>,
    adam: &mut AdamState<f32>,
    adam_cfg: &AdamConfig,
    x: &[f32],
    y: &[i64],
    t_steps: usize,
    opts: BpttOptions,
    l2: f64,
    steps: usize,
    batch_size: usize,
    lr: f64,
) -> Result<Vec<f32>, BurnError> {
    check(cfg, p, x, y, t_steps)?;
    if batch_size == 0 {
        return Err(BurnError::Input("the minibatch size must be at least 1".into()));
    }
    let device = backend.device();
    let n = y.len();
    let len = t_steps * cfg.n_in;
    let mut w = Leaves::new(p, &device);
    let moment = |v: &Params<f32>| {
        [
            (v.w_in.clone(), cfg.n_in, cfg.n_rec),
            (v.w_rec.clone(), cfg.n_rec, cfg.n_rec),
            (v.w_out.clone(), cfg.n_rec, cfg.n_out),
        ]
        .map(|(d, r, c)| Tensor::<2>::from_data(TensorData::new(d, [r, c]), &device))
    };
    let mut m = moment(&adam.m);
    let mut v = moment(&adam.v);
    let mut losses = Vec::with_capacity(steps);
    let mut xb = Vec::with_capacity(batch_size * len);
    let mut yb = Vec::with_capacity(batch_size);
    for k in 0..steps {
        xb.clear();
        yb.clear();
        for i in 0..batch_size {
            let s = (k * batch_size + i) % n;
            xb.extend_from_slice(&x[s * len..(s + 1) * len]);
            yb.push(y[s]);
        }
        let (loss, _, _) = forward(cfg, &w, &xb, &yb, t_steps, opts, l2, &device, false);
        let g = loss.backward();
        losses.push(read1(loss.detach())?[0]);
        adam.step += 1;
        let t = adam.step as f64;
        let lr_t = lr * (1.0 - adam_cfg.beta2.powf(t)).sqrt() / (1.0 - adam_cfg.beta1.powf(t));
        let mut next = Vec::with_capacity(3);
        for (idx, leaf) in [&w.w_in, &w.w_rec, &w.w_out].into_iter().enumerate() {
            let grad = leaf.grad(&g).ok_or_else(|| BurnError::Read("a weight has no gradient".into()))?;
            let mm = m[idx].clone().mul_scalar(adam_cfg.beta1) + grad.clone().mul_scalar(1.0 - adam_cfg.beta1);
            let vv = v[idx].clone().mul_scalar(adam_cfg.beta2) + (grad.clone() * grad).mul_scalar(1.0 - adam_cfg.beta2);
            let upd = (mm.clone() / vv.clone().sqrt().add_scalar(adam_cfg.eps)).mul_scalar(lr_t);
            next.push((leaf.clone().detach() - upd).detach().require_grad());
            m[idx] = mm.detach();
            v[idx] = vv.detach();
        }
        let mut it = next.into_iter();
        if let (Some(a), Some(b), Some(c)) = (it.next(), it.next(), it.next()) {
            w = Leaves { w_in: a, w_rec: b, w_out: c };
        }
    }
    p.w_in = read(w.w_in.detach())?;
    p.w_rec = read(w.w_rec.detach())?;
    p.w_out = read(w.w_out.detach())?;
    let moments = |[a, b, c]: [Tensor<2>; 3]| -> Result<Params<f32>, BurnError> {
        Ok(Params {
            n_in: cfg.n_in,
            n_rec: cfg.n_rec,
            n_out: cfg.n_out,
            w_in: read(a)?,
            w_rec: read(b)?,
            w_out: read(c)?,
        })
    };
    adam.m = moments(m)?;
    adam.v = moments(v)?;
    Ok(losses)
}
