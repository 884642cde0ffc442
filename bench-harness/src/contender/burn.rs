//! BPTT through burn's autodiff as a contender (burn's wgpu or CPU backend). The only file of the harness that
//! names the `burn` feature: without it, opening a burn contender is one clear error.

use anyhow::Result;
use models::NetConfig;

use super::{Contender, Kind};

/// Whether this build has burn (the `burn` feature, on by default).
pub const BUILT: bool = cfg!(feature = "burn");

#[cfg(feature = "burn")]
pub fn open(kind: Kind, cfg: &NetConfig) -> Result<Box<dyn Contender>> {
    let backend = match kind {
        Kind::BurnWgpu => burn_baseline::BurnBackend::Wgpu,
        _ => burn_baseline::BurnBackend::Cpu,
    };
    Ok(Box::new(imp::Burn::new(cfg, kind, backend)))
}

#[cfg(not(feature = "burn"))]
pub fn open(kind: Kind, _cfg: &NetConfig) -> Result<Box<dyn Contender>> {
    anyhow::bail!(
        "--backend {}: this snnbench was built without the `burn` feature; rebuild with default features",
        kind.name()
    )
}

#[cfg(feature = "burn")]
mod imp {
    use anyhow::{Result, bail};
    use models::{AdamState, GradOutput, NetConfig, Params, Rule};

    use super::super::{Contender, Data, Host, Kind, Minibatches, StepConfig, Trained, minibatch};

    /// burn on one of its backends.
    #[derive(Debug)]
    pub struct Burn {
        host: Host,
        kind: Kind,
        backend: burn_baseline::BurnBackend,
    }

    impl Burn {
        pub fn new(cfg: &NetConfig, kind: Kind, backend: burn_baseline::BurnBackend) -> Self {
            Self { host: Host::new(cfg), kind, backend }
        }

        fn opts(&self, step: &StepConfig) -> Result<models::bptt::BpttOptions> {
            self.kind.check_rule(step.rule)?;
            match step.rule {
                Rule::Bptt(o) => Ok(o),
                Rule::Eprop(_) => bail!("internal: burn trains BPTT only"),
            }
        }
    }

    impl Contender for Burn {
        fn kind(&self) -> Kind {
            self.kind
        }

        fn device(&self) -> String {
            format!("burn 0.22.1 {}", self.backend.name())
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
            let opts = self.opts(step)?;
            // burn-baseline counts minibatches from 0: from another first minibatch, hand it exactly the samples of
            // minibatches first.. in order.
            let len = self.host.t_steps * self.host.cfg.n_in;
            let (xs, ys): (Vec<f32>, Vec<i64>) = if mb.first == 0 {
                (Vec::new(), Vec::new())
            } else {
                let idx: Vec<usize> =
                    (mb.first..mb.first + mb.steps).flat_map(|k| minibatch(k, mb.batch, self.host.y.len())).collect();
                (
                    idx.iter().flat_map(|&i| self.host.x[i * len..(i + 1) * len].iter().copied()).collect(),
                    idx.iter().map(|&i| self.host.y[i]).collect(),
                )
            };
            let (x, y) = if mb.first == 0 { (&self.host.x[..], &self.host.y[..]) } else { (&xs[..], &ys[..]) };
            let losses = burn_baseline::train_steps(
                self.backend,
                &self.host.cfg,
                &mut self.host.params,
                &mut self.host.adam,
                &step.adam_config(),
                x,
                y,
                self.host.t_steps,
                opts,
                step.l2,
                mb.steps,
                mb.batch,
                step.lr,
            )?;
            Ok(Trained { losses, ..Trained::default() })
        }

        fn grads(&mut self, step: &StepConfig) -> Result<GradOutput<f32>> {
            let opts = self.opts(step)?;
            let g = burn_baseline::grads(
                self.backend,
                &self.host.cfg,
                &self.host.params,
                &self.host.x,
                &self.host.y,
                self.host.t_steps,
                opts,
                step.l2,
            )?;
            Ok(GradOutput { grads: g.grads, logits: g.logits, loss: g.loss, spikes: g.spikes })
        }
    }
}
