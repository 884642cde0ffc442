//! Adam as the authors' C code does it (docs/model.md, "Adam and the schedules"):
//! lr_t = lr·√(1−β2^t)/(1−β1^t); m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; W −= lr_t·m/(√v + ε).

use crate::{NetConfig, Params, Real};

/// Adam's constants (paper: lr 0.01, β1 0.9, β2 0.999, ε 1e-5 outside the root).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Base learning rate (before decay).
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε, added outside the square root.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-5 }
    }
}

/// Adam's moments and step count; `step` counts completed updates.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState<R> {
    /// First moment, same shapes as the weights.
    pub m: Params<R>,
    /// Second moment.
    pub v: Params<R>,
    /// Number of updates applied so far (t of the next update is `step + 1`).
    pub step: u64,
}

impl<R: Real> AdamState<R> {
    /// Fresh state: zero moments, step 0.
    pub fn new(cfg: &NetConfig) -> Self {
        Self { m: Params::zeros(cfg), v: Params::zeros(cfg), step: 0 }
    }

    /// Fresh state shaped like `p`.
    pub fn like(p: &Params<R>) -> Self {
        let z = Params::zeros_shaped(p.n_in, p.n_rec, p.n_out);
        Self { m: z.clone(), v: z, step: 0 }
    }

    /// One update of `params` with gradient `g` (L2 already included) at learning rate `lr` (decay applied by the
    /// caller; `cfg.lr` is not read here).
    pub fn update(&mut self, cfg: &AdamConfig, lr: f64, params: &mut Params<R>, g: &Params<R>) {
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2, eps) = (R::of(cfg.beta1), R::of(cfg.beta2), R::of(cfg.eps));
        let one = R::one();
        let lr_t = R::of(lr) * (one - b2.powi(t)).sqrt() / (one - b1.powi(t));
        let gs = g.named();
        let ms = self.m.parts_mut();
        let vs = self.v.parts_mut();
        for (((w, (_, g)), m), v) in params.parts_mut().into_iter().zip(gs).zip(ms).zip(vs) {
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = b1 * *m + (one - b1) * g;
                *v = b2 * *v + (one - b2) * g * g;
                *w = *w - lr_t * *m / (v.sqrt() + eps);
            }
        }
    }
}

/// Learning rate after `epoch` completed epochs with decay ×`factor` every `every` epochs (paper: ×0.3 every 6 on
/// the GPU, every 2 on chip). `every = 0` means no decay.
pub fn decayed_lr(lr: f64, factor: f64, every: usize, epoch: usize) -> f64 {
    match epoch.checked_div(every) {
        Some(n) => lr * factor.powi(n as i32),
        None => lr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_weight_by_about_lr() {
        let cfg = NetConfig { n_in: 1, n_rec: 1, n_out: 1, ..NetConfig::default() };
        let mut p = Params::<f64>::zeros(&cfg);
        let mut g = Params::<f64>::zeros(&cfg);
        g.w_in[0] = 0.5;
        g.w_out[0] = -2.0;
        let mut s = AdamState::new(&cfg);
        s.update(&AdamConfig::default(), 0.01, &mut p, &g);
        // lr_1 = lr·√(1−β2)/(1−β1); m = 0.1 g; √v = √0.001 |g| → step = lr·g/(|g| + ε/√0.001).
        let expect = |g: f64| -0.01 * g / (g.abs() + 1e-5 / 0.001f64.sqrt());
        assert!((p.w_in[0] - expect(0.5)).abs() < 1e-15);
        assert!((p.w_out[0] - expect(-2.0)).abs() < 1e-15);
        assert_eq!(p.w_rec[0], 0.0);
        assert_eq!(s.step, 1);
    }

    #[test]
    fn decay_schedule() {
        assert_eq!(decayed_lr(0.01, 0.3, 6, 5), 0.01);
        assert!((decayed_lr(0.01, 0.3, 6, 6) - 0.003).abs() < 1e-15);
        assert_eq!(decayed_lr(0.01, 0.3, 0, 100), 0.01);
    }
}
