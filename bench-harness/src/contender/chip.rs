//! e-prop on the emulated SpiNNaker 2 as a contender: online (a minibatch of one sample per Adam step), the authors'
//! traces; every call returns the spike activity it recorded, which the cost model prices.

use anyhow::{Result, bail};
use models::{
    AdamState, GradOutput, NetConfig, Params,
    spinnaker2::{Activity, ChipConfig, Emulator, Partition, memory_map},
};

use super::{Contender, Data, Kind, Minibatches, StepConfig, Trained, minibatch, zero_state};

/// The emulated chip.
#[derive(Debug)]
pub struct Chip {
    cfg: NetConfig,
    pes: usize,
    emu: Emulator,
    x: Vec<f32>,
    y: Vec<i64>,
    t_steps: usize,
}

impl Chip {
    pub fn new(cfg: &NetConfig, pes: usize) -> Result<Self> {
        if pes == 0 || pes > cfg.n_rec {
            bail!("--pes {pes} must be between 1 and the {} neurons to place", cfg.n_rec);
        }
        let chip = ChipConfig::default();
        let part = Partition::balanced(cfg.n_rec, pes);
        memory_map(cfg, &chip, &part)?;
        let (p, _) = zero_state(cfg);
        Ok(Self { cfg: cfg.clone(), pes, emu: Emulator::new(cfg, &part, &p), x: vec![], y: vec![], t_steps: 0 })
    }
}

impl Contender for Chip {
    fn kind(&self) -> Kind {
        Kind::Chip { pes: self.pes }
    }

    fn device(&self) -> String {
        format!("emulated SpiNNaker 2 ({} PEs), on the host CPU", self.pes)
    }

    fn set_state(&mut self, params: &Params<f32>, adam: &AdamState<f32>) -> Result<()> {
        params.check_shape(&self.cfg)?;
        let part = Partition::balanced(self.cfg.n_rec, self.pes);
        self.emu = Emulator::new(&self.cfg, &part, params);
        self.emu.set_adam(adam);
        Ok(())
    }

    fn state(&mut self) -> Result<(Params<f32>, AdamState<f32>)> {
        Ok((self.emu.params(), self.emu.adam_state()))
    }

    fn load_data(&mut self, data: Data<'_>) -> Result<()> {
        models::Batch::new(data.x, data.y, data.t_steps, self.cfg.n_in, self.cfg.n_out)?;
        (self.x, self.y, self.t_steps) = (data.x.to_vec(), data.y.to_vec(), data.t_steps);
        Ok(())
    }

    fn train(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Trained> {
        self.kind().check_rule(step.rule)?;
        if mb.batch != 1 {
            bail!(
                "--backend chip trains online, one sample per Adam step: use a minibatch of 1 (bench-train --batch 1, \
                 train-steps --batch-size 1; found {})",
                mb.batch
            );
        }
        let len = self.t_steps * self.cfg.n_in;
        let adam = step.adam_config();
        let mut activity =
            Activity::new(&self.cfg, self.t_steps, "counted: the emulated chip's training samples (online)");
        let mut losses = Vec::with_capacity(mb.steps);
        for k in mb.first..mb.first + mb.steps {
            for i in minibatch(k, 1, self.y.len()) {
                let (loss, counts) =
                    self.emu.train_sample(&self.x[i * len..(i + 1) * len], self.y[i] as usize, &adam, step.lr, step.l2);
                activity.record(&counts);
                losses.push(loss);
            }
        }
        Ok(Trained { losses, gpu_time_s: None, activity: Some(activity) })
    }

    fn grads(&mut self, step: &StepConfig) -> Result<GradOutput<f32>> {
        // The reference's batch convention: the samples' raw gradients summed in sample order, × 1/B, + 2·l2·W;
        // the loss is the mean CE + l2·ΣW² (each sample's CE recovered from its CE + l2·ΣW²).
        self.kind().check_rule(step.rule)?;
        let (b, t, n_rec) = (self.y.len(), self.t_steps, self.cfg.n_rec);
        let len = t * self.cfg.n_in;
        let w = self.emu.params();
        let mut sum = Params::zeros_shaped(self.cfg.n_in, n_rec, self.cfg.n_out);
        let (mut logits, mut spikes, mut loss) = (Vec::new(), vec![0u8; b * t * n_rec], 0.0f64);
        for i in 0..b {
            let g = self.emu.sample_gradient(&self.x[i * len..(i + 1) * len], self.y[i] as usize, step.l2);
            for (s, v) in
                [(&mut sum.w_in, &g.grads.w_in), (&mut sum.w_rec, &g.grads.w_rec), (&mut sum.w_out, &g.grads.w_out)]
            {
                s.iter_mut().zip(v).for_each(|(s, v)| *s += v);
            }
            for (tt, idx) in g.counts.spiking.iter().enumerate() {
                for &j in idx {
                    spikes[(i * t + tt) * n_rec + j as usize] = 1;
                }
            }
            logits.extend(g.logits);
            loss += g.loss as f64;
        }
        let inv_b = 1.0 / b as f32;
        let two_l2 = (2.0 * step.l2) as f32;
        for (s, w) in [(&mut sum.w_in, &w.w_in), (&mut sum.w_rec, &w.w_rec), (&mut sum.w_out, &w.w_out)] {
            s.iter_mut().zip(w).for_each(|(g, w)| *g = *g * inv_b + two_l2 * w);
        }
        Ok(GradOutput { grads: sum, logits, loss: (loss / b as f64) as f32, spikes })
    }
}
