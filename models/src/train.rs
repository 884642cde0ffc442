//! Batched gradients and Adam training steps for either rule, with the batch convention of docs/model.md: the loss is
//! the mean CE over the batch + l2·ΣW², every gradient is d(loss)/dW. Samples run in parallel (rayon) and are reduced in
//! sample order, so results do not depend on the thread count.

use rayon::prelude::*;

use crate::{
    AdamConfig, AdamState, Batch, GradOutput, ModelError, NetConfig, Params, Real,
    bptt::{BpttOptions, bptt_sample},
    eprop::{SampleGrads, eprop_sample},
};

pub use crate::eprop::TraceVariant;

/// A learning rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Online e-prop with the given trace alignment.
    Eprop(TraceVariant),
    /// Exact BPTT (or one of its stopped variants).
    Bptt(BpttOptions),
}

impl Rule {
    /// Short name: `eprop` or `bptt`.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Eprop(_) => "eprop",
            Rule::Bptt(_) => "bptt",
        }
    }

    fn sample<R: Real>(&self, cfg: &NetConfig, p: &Params<R>, x: &[f32], label: usize) -> SampleGrads<R> {
        match *self {
            Rule::Eprop(v) => eprop_sample(cfg, p, x, label, v),
            Rule::Bptt(o) => bptt_sample(cfg, p, x, label, o),
        }
    }
}

/// Gradients of the batch loss for `rule`, computed in precision `R` (inputs are f32 and widened exactly).
pub fn compute_grads<R: Real>(
    cfg: &NetConfig,
    params: &Params<R>,
    batch: &Batch,
    rule: Rule,
    l2: f64,
) -> Result<GradOutput<R>, ModelError> {
    cfg.validate()?;
    params.check_shape(cfg)?;
    if batch.n_in != cfg.n_in {
        return Err(ModelError::Length { what: "feature width of x".into(), expected: cfg.n_in, found: batch.n_in });
    }
    let per_sample: Vec<SampleGrads<R>> =
        (0..batch.batch).into_par_iter().map(|b| rule.sample(cfg, params, batch.sample(b), batch.label(b))).collect();
    let inv_b = R::one() / R::of(batch.batch as f64);
    let l2r = R::of(l2);
    let two_l2 = R::of(2.0 * l2);
    let mut grads = Params::zeros_shaped(params.n_in, params.n_rec, params.n_out);
    let mut ce_sum = R::zero();
    let mut logits = Vec::with_capacity(batch.batch * params.n_out);
    let mut spikes = Vec::with_capacity(batch.batch * batch.t_steps * params.n_rec);
    for s in &per_sample {
        for (acc, (_, g)) in grads.parts_mut().into_iter().zip(s.g.named()) {
            for (a, &gi) in acc.iter_mut().zip(g) {
                *a = *a + gi;
            }
        }
        ce_sum = ce_sum + s.ce;
        logits.extend_from_slice(&s.logits);
        spikes.extend_from_slice(&s.spikes);
    }
    for (acc, (_, w)) in grads.parts_mut().into_iter().zip(params.named()) {
        for (a, &wi) in acc.iter_mut().zip(w) {
            *a = *a * inv_b + two_l2 * wi;
        }
    }
    let loss = ce_sum * inv_b + l2r * params.sum_sq();
    Ok(GradOutput { grads, logits, loss, spikes })
}

/// K Adam steps on minibatches of `batch_size`: step k uses samples (k·N + i) mod B, i < N. Returns the loss of each
/// step's minibatch, evaluated before its update.
#[allow(clippy::too_many_arguments)]
pub fn train_steps<R: Real>(
    cfg: &NetConfig,
    params: &mut Params<R>,
    adam: &mut AdamState<R>,
    adam_cfg: &AdamConfig,
    batch: &Batch,
    rule: Rule,
    l2: f64,
    steps: usize,
    batch_size: usize,
    lr: f64,
) -> Result<Vec<R>, ModelError> {
    train_steps_from(cfg, params, adam, adam_cfg, batch, rule, l2, 0, steps, batch_size, lr)
}

/// Like [`train_steps`], starting at minibatch index `first` (steps k = first, first + 1, …).
#[allow(clippy::too_many_arguments)]
pub fn train_steps_from<R: Real>(
    cfg: &NetConfig,
    params: &mut Params<R>,
    adam: &mut AdamState<R>,
    adam_cfg: &AdamConfig,
    batch: &Batch,
    rule: Rule,
    l2: f64,
    first: usize,
    steps: usize,
    batch_size: usize,
    lr: f64,
) -> Result<Vec<R>, ModelError> {
    if batch_size == 0 {
        return Err(ModelError::EmptyBatch { batch: 0, t_steps: batch.t_steps });
    }
    let mut losses = Vec::with_capacity(steps);
    let sample_len = batch.t_steps * batch.n_in;
    let mut x = vec![0.0f32; batch_size * sample_len];
    let mut y = vec![0i64; batch_size];
    for k in first..first + steps {
        for i in 0..batch_size {
            let b = (k * batch_size + i) % batch.batch;
            x[i * sample_len..(i + 1) * sample_len].copy_from_slice(batch.sample(b));
            y[i] = batch.y[b];
        }
        let mb = Batch { x: &x, y: &y, batch: batch_size, t_steps: batch.t_steps, n_in: batch.n_in };
        let out = compute_grads(cfg, params, &mb, rule, l2)?;
        adam.update(adam_cfg, lr, params, &out.grads);
        losses.push(out.loss);
    }
    Ok(losses)
}
