//! The CPU reference as a contender: `models::train_steps_from` / `compute_grads`, in f32 or f64.

use anyhow::Result;
use models::{AdamState, GradOutput, NetConfig, Params, Real};

use super::{Contender, Data, Host, Kind, Minibatches, StepConfig, Trained};

/// The CPU reference.
#[derive(Debug)]
pub struct Cpu {
    host: Host,
    f64: bool,
}

impl Cpu {
    pub fn new(cfg: &NetConfig, f64: bool) -> Self {
        Self { host: Host::new(cfg), f64 }
    }

    fn train_in<R: Real>(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Vec<f32>> {
        let h = &mut self.host;
        let mut p: Params<R> = h.params.cast();
        let mut a = AdamState { m: h.adam.m.cast(), v: h.adam.v.cast(), step: h.adam.step };
        let batch = models::Batch::new(&h.x, &h.y, h.t_steps, h.cfg.n_in, h.cfg.n_out)?;
        let losses = models::train_steps_from(
            &h.cfg,
            &mut p,
            &mut a,
            &step.adam_config(),
            &batch,
            step.rule,
            step.l2,
            mb.first,
            mb.steps,
            mb.batch,
            step.lr,
        )?;
        h.params = p.cast();
        h.adam = AdamState { m: a.m.cast(), v: a.v.cast(), step: a.step };
        Ok(losses.iter().map(|l| l.f32()).collect())
    }

    fn grads_in<R: Real>(&self, step: &StepConfig) -> Result<GradOutput<f32>> {
        let h = &self.host;
        let out = models::compute_grads::<R>(&h.cfg, &h.params.cast(), &h.batch()?, step.rule, step.l2)?;
        Ok(GradOutput {
            grads: out.grads.cast(),
            logits: out.logits.iter().map(|v| v.f32()).collect(),
            loss: out.loss.f32(),
            spikes: out.spikes,
        })
    }
}

impl Contender for Cpu {
    fn kind(&self) -> Kind {
        Kind::Cpu { f64: self.f64 }
    }

    fn device(&self) -> String {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        format!("cpu ({threads} threads{})", if self.f64 { ", f64" } else { "" })
    }

    fn set_state(&mut self, params: &Params<f32>, adam: &AdamState<f32>) -> Result<()> {
        self.host.set_state(params, adam)
    }

    fn state(&mut self) -> Result<(Params<f32>, AdamState<f32>)> {
        Ok(self.host.state())
    }

    fn load_data(&mut self, data: Data<'_>) -> Result<()> {
        self.host.load_data(data)
    }

    fn train(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Trained> {
        let losses = if self.f64 { self.train_in::<f64>(mb, step)? } else { self.train_in::<f32>(mb, step)? };
        Ok(Trained { losses, ..Trained::default() })
    }

    fn grads(&mut self, step: &StepConfig) -> Result<GradOutput<f32>> {
        if self.f64 { self.grads_in::<f64>(step) } else { self.grads_in::<f32>(step) }
    }
}
