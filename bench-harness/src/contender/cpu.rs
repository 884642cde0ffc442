//! The CPU reference as a contender: `models::train_steps_from` / `compute_grads`, in f32 or f64.

use anyhow::Result;
use models::{AdamState, GradOutput, NetConfig, Params, Real};

use super::{Contender, Data, Kind, Minibatches, StepConfig, Trained, zero_state};

/// The CPU reference.
#[derive(Debug)]
pub struct Cpu {
    cfg: NetConfig,
    f64: bool,
    params: Params<f32>,
    adam: AdamState<f32>,
    x: Vec<f32>,
    y: Vec<i64>,
    t_steps: usize,
}

impl Cpu {
    pub fn new(cfg: &NetConfig, f64: bool) -> Self {
        let (params, adam) = zero_state(cfg);
        Self { cfg: cfg.clone(), f64, params, adam, x: vec![], y: vec![], t_steps: 0 }
    }

    fn batch(&self) -> Result<models::Batch<'_>> {
        Ok(models::Batch::new(&self.x, &self.y, self.t_steps, self.cfg.n_in, self.cfg.n_out)?)
    }

    fn train_in<R: Real>(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Vec<f32>> {
        let mut p: Params<R> = self.params.cast();
        let mut a = AdamState { m: self.adam.m.cast(), v: self.adam.v.cast(), step: self.adam.step };
        let batch = models::Batch::new(&self.x, &self.y, self.t_steps, self.cfg.n_in, self.cfg.n_out)?;
        let losses = models::train_steps_from(
            &self.cfg,
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
        self.params = p.cast();
        self.adam = AdamState { m: a.m.cast(), v: a.v.cast(), step: a.step };
        Ok(losses.iter().map(|l| l.f32()).collect())
    }

    fn grads_in<R: Real>(&self, step: &StepConfig) -> Result<GradOutput<f32>> {
        let out = models::compute_grads::<R>(&self.cfg, &self.params.cast(), &self.batch()?, step.rule, step.l2)?;
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
        params.check_shape(&self.cfg)?;
        (self.params, self.adam) = (params.clone(), adam.clone());
        Ok(())
    }

    fn state(&mut self) -> Result<(Params<f32>, AdamState<f32>)> {
        Ok((self.params.clone(), self.adam.clone()))
    }

    fn load_data(&mut self, data: Data<'_>) -> Result<()> {
        (self.x, self.y, self.t_steps) = (data.x.to_vec(), data.y.to_vec(), data.t_steps);
        self.batch()?;
        Ok(())
    }

    fn train(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Trained> {
        let losses = if self.f64 { self.train_in::<f64>(mb, step)? } else { self.train_in::<f32>(mb, step)? };
        Ok(Trained { losses, ..Trained::default() })
    }

    fn grads(&mut self, step: &StepConfig) -> Result<GradOutput<f32>> {
        if self.f64 { self.grads_in::<f64>(step) } else { self.grads_in::<f32>(step) }
    }
}
