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
        Ok(Self { cfg: cfg.clone(), pes, emu: Emulator::new(cfg, &chip, &part, &p), x: vec![], y: vec![], t_steps: 0 })
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
        self.emu = Emulator::new(&self.cfg, &ChipConfig::default(), &part, params);
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

    fn grads(&mut self, _step: &StepConfig) -> Result<GradOutput<f32>> {
        bail!(
            "--backend chip: the chip applies each sample's gradient as soon as it has it (online e-prop), so it has \
             no gradient to write; use `train-steps --backend chip --batch-size 1` or `bench-train --backend chip`"
        )
    }
}
