//! The network itself: parameters, the batch, one ALIF step, the readout and the loss. Shared by both learning rules
//! so that e-prop and BPTT see bit-identical forward passes (same spikes).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{ModelError, NetConfig, Real, config::Consts};

/// The three weight matrices, row-major `[pre, post]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Params<R> {
    /// Inputs.
    pub n_in: usize,
    /// Recurrent neurons.
    pub n_rec: usize,
    /// Readout units.
    pub n_out: usize,
    /// `w_in [n_in, n_rec]`.
    pub w_in: Vec<R>,
    /// `w_rec [n_rec, n_rec]` (diagonal = autapse, used in the forward pass).
    pub w_rec: Vec<R>,
    /// `w_out [n_rec, n_out]`.
    pub w_out: Vec<R>,
}

impl<R: Real> Params<R> {
    /// All-zero parameters of the configured shape.
    pub fn zeros(cfg: &NetConfig) -> Self {
        Self::zeros_shaped(cfg.n_in, cfg.n_rec, cfg.n_out)
    }

    /// All-zero parameters of the given shape.
    pub fn zeros_shaped(n_in: usize, n_rec: usize, n_out: usize) -> Self {
        Self {
            n_in,
            n_rec,
            n_out,
            w_in: vec![R::zero(); n_in * n_rec],
            w_rec: vec![R::zero(); n_rec * n_rec],
            w_out: vec![R::zero(); n_rec * n_out],
        }
    }

    /// Builds parameters from three flat matrices, checking their lengths.
    pub fn from_parts(
        n_in: usize,
        n_rec: usize,
        n_out: usize,
        w_in: Vec<R>,
        w_rec: Vec<R>,
        w_out: Vec<R>,
    ) -> Result<Self, ModelError> {
        for (what, v, expected) in
            [("w_in", &w_in, n_in * n_rec), ("w_rec", &w_rec, n_rec * n_rec), ("w_out", &w_out, n_rec * n_out)]
        {
            if v.len() != expected {
                return Err(ModelError::Length { what: what.into(), expected, found: v.len() });
            }
        }
        let p = Self { n_in, n_rec, n_out, w_in, w_rec, w_out };
        p.check_finite()?;
        Ok(p)
    }

    /// The three matrices with their names, in the order `w_in`, `w_rec`, `w_out`.
    pub fn named(&self) -> [(&'static str, &[R]); 3] {
        [("w_in", &self.w_in), ("w_rec", &self.w_rec), ("w_out", &self.w_out)]
    }

    /// The three matrices, mutably.
    pub fn parts_mut(&mut self) -> [&mut Vec<R>; 3] {
        [&mut self.w_in, &mut self.w_rec, &mut self.w_out]
    }

    /// Fails on the first NaN or infinity.
    pub fn check_finite(&self) -> Result<(), ModelError> {
        for (what, v) in self.named() {
            if let Some((index, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(ModelError::NotFinite { what: what.into(), index, value: x.f64() });
            }
        }
        Ok(())
    }

    /// Σ W² over all three matrices (diagonal of `w_rec` included).
    pub fn sum_sq(&self) -> R {
        self.named().iter().map(|(_, v)| v.iter().map(|&w| w * w).sum::<R>()).sum()
    }

    /// Converts to another precision.
    pub fn cast<S: Real>(&self) -> Params<S> {
        let c = |v: &[R]| v.iter().map(|x| S::of(x.f64())).collect();
        Params {
            n_in: self.n_in,
            n_rec: self.n_rec,
            n_out: self.n_out,
            w_in: c(&self.w_in),
            w_rec: c(&self.w_rec),
            w_out: c(&self.w_out),
        }
    }

    /// Checks that the shape matches the configuration.
    pub fn check_shape(&self, cfg: &NetConfig) -> Result<(), ModelError> {
        if (self.n_in, self.n_rec, self.n_out) != (cfg.n_in, cfg.n_rec, cfg.n_out) {
            return Err(ModelError::Config(format!(
                "parameters are {}→{}→{} but the configuration says {}→{}→{}",
                self.n_in, self.n_rec, self.n_out, cfg.n_in, cfg.n_rec, cfg.n_out
            )));
        }
        Ok(())
    }
}

impl Params<f32> {
    /// The authors' initialisation: every weight ~ N(0, 1/fan_in), fan_in = n_in for `w_in` and n_rec for `w_rec`
    /// and `w_out`. Deterministic for a seed (ChaCha8, matrices drawn in the order w_in, w_rec, w_out, row-major).
    pub fn init_authors(cfg: &NetConfig, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut draw = |n: usize, fan_in: usize| -> Vec<f32> {
            let std = 1.0 / (fan_in as f64).sqrt();
            (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    (z * std) as f32
                })
                .collect()
        };
        let w_in = draw(cfg.n_in * cfg.n_rec, cfg.n_in);
        let w_rec = draw(cfg.n_rec * cfg.n_rec, cfg.n_rec);
        let w_out = draw(cfg.n_rec * cfg.n_out, cfg.n_rec);
        Self { n_in: cfg.n_in, n_rec: cfg.n_rec, n_out: cfg.n_out, w_in, w_rec, w_out }
    }
}

/// A batch of input sequences and labels, borrowed. `x [B, T, n_in]` (f32, as stored on disk), `y [B]`.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// Inputs, `[B, T, n_in]` row-major.
    pub x: &'a [f32],
    /// Labels in `0..n_out`.
    pub y: &'a [i64],
    /// B.
    pub batch: usize,
    /// T.
    pub t_steps: usize,
    /// Feature width (must equal the network's n_in).
    pub n_in: usize,
}

impl<'a> Batch<'a> {
    /// Wraps `x` and `y`, checking lengths, finiteness and label range.
    pub fn new(x: &'a [f32], y: &'a [i64], t_steps: usize, n_in: usize, n_out: usize) -> Result<Self, ModelError> {
        let batch = y.len();
        if batch == 0 || t_steps == 0 {
            return Err(ModelError::EmptyBatch { batch, t_steps });
        }
        let expected = batch * t_steps * n_in;
        if x.len() != expected {
            return Err(ModelError::Length { what: "x".into(), expected, found: x.len() });
        }
        if let Some((index, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::NotFinite { what: "x".into(), index, value: *v as f64 });
        }
        if let Some((index, &label)) = y.iter().enumerate().find(|(_, l)| **l < 0 || **l >= n_out as i64) {
            return Err(ModelError::LabelOutOfRange { index, label, n_out });
        }
        Ok(Self { x, y, batch, t_steps, n_in })
    }

    /// Sample `b`'s inputs, `[T, n_in]`.
    pub fn sample(&self, b: usize) -> &'a [f32] {
        let n = self.t_steps * self.n_in;
        &self.x[b * n..(b + 1) * n]
    }

    /// Sample `b`'s label as an index.
    pub fn label(&self, b: usize) -> usize {
        self.y[b] as usize
    }
}

/// What a gradient computation returns for a batch.
#[derive(Clone, Debug)]
pub struct GradOutput<R> {
    /// d(loss)/dW (batch mean + 2·l2·W), same shapes as the weights.
    pub grads: Params<R>,
    /// `[B, n_out]`.
    pub logits: Vec<R>,
    /// mean CE over the batch + l2·ΣW².
    pub loss: R,
    /// `[B, T, n_rec]`, 0 or 1.
    pub spikes: Vec<u8>,
}

/// State of the recurrent layer of one sample.
#[derive(Clone, Debug)]
pub struct LayerState<R> {
    /// Membrane potential v(t).
    pub v: Vec<R>,
    /// Adaptation a(t).
    pub a: Vec<R>,
    /// Spikes z(t) as 0/1 in `R`.
    pub z: Vec<R>,
    /// Adaptive threshold A(t) = v_th + β a(t).
    pub thr: Vec<R>,
    /// Pseudo-derivative ψ(t) on v(t) − A(t).
    pub psi: Vec<R>,
    /// Readout filter z̄(t).
    pub zbar: Vec<R>,
    /// Σ_t z̄(t) over the readout window.
    pub zbar_sum: Vec<R>,
    cur: Vec<R>,
    z_prev: Vec<R>,
    /// Steps done.
    t: usize,
    /// First step of the readout window (Σz̄ counts from here).
    window_start: usize,
}

impl<R: Real> LayerState<R> {
    /// The state at the start of a sample: everything zero; the readout window is the whole sequence.
    pub fn new(n_rec: usize) -> Self {
        Self::windowed(n_rec, 0)
    }

    /// The state at the start of a sample whose readout window starts at step `window_start`
    /// ([`NetConfig::window_start`]).
    pub fn windowed(n_rec: usize, window_start: usize) -> Self {
        let z = vec![R::zero(); n_rec];
        Self {
            v: z.clone(),
            a: z.clone(),
            z: z.clone(),
            thr: z.clone(),
            psi: z.clone(),
            zbar: z.clone(),
            zbar_sum: z.clone(),
            cur: z.clone(),
            z_prev: z,
            t: 0,
            window_start,
        }
    }

    /// Whether the step just done lies in the readout window.
    pub fn in_window(&self) -> bool {
        self.t > self.window_start
    }

    /// The spikes of the previous step, z(t−1) (valid after [`LayerState::step`]).
    pub fn z_prev(&self) -> &[R] {
        &self.z_prev
    }

    /// Advances one step with input frame `x_t [n_in]`:
    /// a(t) = ρ a + (1−ρ) z(t−1); A = v_th + β a; v = α v + (1−α)(W_inᵀx + W_recᵀz(t−1)) − z(t−1)·A;
    /// z = H(v − A) (strict); ψ = ψ(v − A); z̄ = κ z̄ + z; Σz̄ += z̄ (inside the readout window). β is per neuron
    /// (0 for the plain LIF ones).
    pub fn step(&mut self, c: &Consts<R>, p: &Params<R>, x_t: &[f32]) {
        let n_rec = p.n_rec;
        std::mem::swap(&mut self.z_prev, &mut self.z);
        self.cur.iter_mut().for_each(|c| *c = R::zero());
        for (i, &xi) in x_t.iter().enumerate() {
            if xi != 0.0 {
                let xi = R::of_f32(xi);
                let row = &p.w_in[i * n_rec..(i + 1) * n_rec];
                for (cj, &w) in self.cur.iter_mut().zip(row) {
                    *cj = *cj + w * xi;
                }
            }
        }
        for i in 0..n_rec {
            // Spikes are exactly 0 or 1: adding the row is W_recᵀ z(t−1) without the multiplications.
            if self.z_prev[i] != R::zero() {
                let row = &p.w_rec[i * n_rec..(i + 1) * n_rec];
                for (cj, &w) in self.cur.iter_mut().zip(row) {
                    *cj = *cj + w;
                }
            }
        }
        let in_window = self.t >= self.window_start;
        self.t += 1;
        for j in 0..n_rec {
            let zp = self.z_prev[j];
            let a = c.rho * self.a[j] + c.one_minus_rho * zp;
            let thr = c.v_th + c.beta_at(j) * a;
            let v = c.alpha * self.v[j] + c.one_minus_alpha * self.cur[j] - zp * thr;
            let u = v - thr;
            let z = if u > R::zero() { R::one() } else { R::zero() };
            self.a[j] = a;
            self.thr[j] = thr;
            self.v[j] = v;
            self.z[j] = z;
            self.psi[j] = c.surrogate.psi(u);
            let zb = c.kappa * self.zbar[j] + z;
            self.zbar[j] = zb;
            if in_window {
                self.zbar_sum[j] = self.zbar_sum[j] + zb;
            }
        }
    }
}

/// logits_k = (1/W) Σ_j W_out[j,k] Σ_{t in window} z̄_j(t), W = `window_len` steps (T for the whole sequence).
pub fn readout<R: Real>(p: &Params<R>, zbar_sum: &[R], window_len: usize) -> Vec<R> {
    let t = R::of(window_len as f64);
    let mut logits = vec![R::zero(); p.n_out];
    for (j, &s) in zbar_sum.iter().enumerate() {
        if s != R::zero() {
            let row = &p.w_out[j * p.n_out..(j + 1) * p.n_out];
            for (l, &w) in logits.iter_mut().zip(row) {
                *l = *l + w * s;
            }
        }
    }
    logits.iter().map(|&l| l / t).collect()
}

/// Softmax cross-entropy of one sample: returns (CE, err = softmax − onehot).
pub fn cross_entropy<R: Real>(logits: &[R], label: usize) -> (R, Vec<R>) {
    let max = logits.iter().copied().fold(R::neg_infinity(), R::max);
    let exps: Vec<R> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: R = exps.iter().copied().sum();
    let ce = sum.ln() + max - logits[label];
    let err = exps.iter().enumerate().map(|(k, &e)| e / sum - if k == label { R::one() } else { R::zero() }).collect();
    (ce, err)
}

/// Runs the forward pass only: logits `[B, n_out]` and spikes `[B, T, n_rec]`.
pub fn forward<R: Real>(cfg: &NetConfig, p: &Params<R>, batch: &Batch) -> (Vec<R>, Vec<u8>) {
    let c = cfg.consts::<R>();
    let mut logits = Vec::with_capacity(batch.batch * p.n_out);
    let mut spikes = Vec::with_capacity(batch.batch * batch.t_steps * p.n_rec);
    for b in 0..batch.batch {
        let mut s = LayerState::windowed(p.n_rec, cfg.window_start(batch.t_steps));
        for x_t in batch.sample(b).chunks_exact(batch.n_in) {
            s.step(&c, p, x_t);
            spikes.extend(s.z.iter().map(|&z| u8::from(z != R::zero())));
        }
        logits.extend(readout(p, &s.zbar_sum, cfg.window_len(batch.t_steps)));
    }
    (logits, spikes)
}
