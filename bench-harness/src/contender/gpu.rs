//! The WGSL kernels as a contender: a `kernels::GpuTrainer` sized for the resident set, the minibatch, T and the
//! rule, built on the first `train` (and again only when one of those changes); the set is uploaded once per
//! trainer, the state only when it is set from the host.

use anyhow::{Context, Result};
use kernels::TrainerConfig;
use models::{AdamState, GradOutput, NetConfig, Params, Rule};

use super::{Contender, Data, EpropChunk, Kind, Measure, Minibatches, StepBytes, StepConfig, Trained, zero_state};

/// The WGSL kernels on one adapter.
pub struct Wgpu {
    cfg: NetConfig,
    ctx: kernels::GpuContext,
    trainer: Option<kernels::GpuTrainer>,
    /// The state on the host while no trainer holds it (or after it was read back).
    host: Option<(Params<f32>, AdamState<f32>)>,
    x: Vec<f32>,
    y: Vec<i64>,
    t_steps: usize,
    eprop_chunk: EpropChunk,
    /// The sample pool (`load_pool`) and, when the resident set was selected from it, that selection (then `x` is
    /// empty and every new trainer copies its set from the pool).
    pool: Option<kernels::SamplePool>,
    selection: Option<Vec<usize>>,
    /// Held-out sets kept on the device (`load_eval_sets`).
    eval_sets: Vec<kernels::EvalSet>,
}

impl std::fmt::Debug for Wgpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wgpu({})", self.ctx.describe())
    }
}

impl Wgpu {
    pub fn new(cfg: &NetConfig, ctx: kernels::GpuContext) -> Self {
        Self {
            cfg: cfg.clone(),
            ctx,
            trainer: None,
            host: Some(zero_state(cfg)),
            x: vec![],
            y: vec![],
            t_steps: 0,
            eprop_chunk: EpropChunk::default(),
            pool: None,
            selection: None,
            eval_sets: Vec::new(),
        }
    }

    /// Makes the resident set `n` samples of `t_steps` steps: a trainer sized for another set is dropped (the
    /// state kept on the host); the next `train` builds one.
    fn resize_resident(&mut self, n: usize, t_steps: usize) -> Result<()> {
        if t_steps != self.t_steps || n != self.y.len() {
            if self.host.is_none() {
                self.host = Some(self.take_state()?);
            }
            self.trainer = None;
        }
        Ok(())
    }

    /// The most bytes one input buffer (the resident set, a piece of the pool) may take: it must bind in one piece.
    /// SNNBENCH_RESIDENT_BYTES lowers the bound (for adapters that report more than they serve, and for the test of
    /// training in parts).
    fn max_bind(&self) -> u64 {
        let lim = &self.ctx.limits;
        let max_bind = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
        match std::env::var("SNNBENCH_RESIDENT_BYTES").ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(b) => max_bind.min(b),
            None => max_bind,
        }
    }

    /// Minibatches of `batch` drawn from the resident set, with room for `max_steps` losses.
    fn config(&self, rule: Rule, batch: usize, max_steps: usize) -> TrainerConfig {
        self.shape(rule, batch, self.y.len(), self.t_steps).with_max_steps(max_steps)
    }

    /// Minibatches of `batch` drawn from `resident` samples of `t_steps` steps, e-prop chunked as set.
    fn shape(&self, rule: Rule, batch: usize, resident: usize, t_steps: usize) -> TrainerConfig {
        let c = TrainerConfig::new(&self.cfg, rule, batch, t_steps).with_resident(resident);
        let chunk = self.eprop_chunk.kernel_steps(&self.ctx, &c);
        c.with_eprop_chunk(chunk)
    }

    /// A trainer for `want` (or one with room for more losses) holding the current state and the resident set.
    fn trainer(&mut self, want: TrainerConfig) -> Result<&kernels::GpuTrainer> {
        let fits = self.trainer.as_ref().is_some_and(|tr| tr.config().serves(&want));
        if !fits {
            let state = self.take_state()?;
            let tr = kernels::GpuTrainer::new(&self.ctx, &want)?;
            match (&self.pool, &self.selection) {
                (Some(pool), Some(order)) => pool.select_into(&tr, order)?,
                _ => tr.upload_batch(&self.x, &self.y)?,
            }
            tr.set_params(&state.0)?;
            tr.set_adam(&state.1)?;
            tr.wait()?;
            self.trainer = Some(tr);
        } else if let Some((p, a)) = self.host.take() {
            let tr = self.trainer.as_ref().context("internal: no trainer")?;
            tr.set_params(&p)?;
            tr.set_adam(&a)?;
        }
        self.trainer.as_ref().context("internal: no trainer")
    }

    /// The state, from the host copy or read back from the trainer.
    fn take_state(&mut self) -> Result<(Params<f32>, AdamState<f32>)> {
        if let Some(s) = self.host.take() {
            return Ok(s);
        }
        let tr = self.trainer.as_ref().context("internal: neither a host state nor a trainer")?;
        Ok((tr.params()?, tr.adam_state()?))
    }
}

impl Contender for Wgpu {
    fn kind(&self) -> Kind {
        Kind::Wgpu
    }

    fn device(&self) -> String {
        self.ctx.describe()
    }

    fn compile_ahead(
        &mut self,
        rules: &[Rule],
        batch: usize,
        resident: usize,
        t_steps: usize,
        report: kernels::CompileReport,
    ) {
        let configs: Vec<TrainerConfig> = rules.iter().map(|&r| self.shape(r, batch, resident, t_steps)).collect();
        kernels::compile_ahead(&self.ctx, &configs, report);
    }

    fn set_state(&mut self, params: &Params<f32>, adam: &AdamState<f32>) -> Result<()> {
        params.check_shape(&self.cfg)?;
        self.host = Some((params.clone(), adam.clone()));
        Ok(())
    }

    fn state(&mut self) -> Result<(Params<f32>, AdamState<f32>)> {
        match &self.host {
            Some((p, a)) => Ok((p.clone(), a.clone())),
            None => {
                let tr = self.trainer.as_ref().context("internal: no trainer")?;
                Ok((tr.params()?, tr.adam_state()?))
            }
        }
    }

    fn load_data(&mut self, data: Data<'_>) -> Result<()> {
        models::Batch::new(data.x, data.y, data.t_steps, self.cfg.n_in, self.cfg.n_out)?;
        // Buffers are sized for B and T: the next `train` builds a new trainer (keeping the state).
        self.resize_resident(data.len(), data.t_steps)?;
        (self.x, self.y, self.t_steps) = (data.x.to_vec(), data.y.to_vec(), data.t_steps);
        self.selection = None;
        if let Some(tr) = &self.trainer {
            tr.upload_batch(&self.x, &self.y)?;
            tr.wait()?;
        }
        Ok(())
    }

    fn load_pool(&mut self, data: Data<'_>) -> Result<bool> {
        models::Batch::new(data.x, data.y, data.t_steps, self.cfg.n_in, self.cfg.n_out)?;
        self.pool = None;
        self.selection = None;
        // The pool is kept in pieces of at most what one resident set binds (SNNBENCH_RESIDENT_BYTES lowers both),
        // so an epoch that trains in parts selects each part from it too; a piece the device has no room for leaves
        // the pool off. `SNNBENCH_SAMPLE_POOL=0` turns it off (a host gather and upload per epoch or part, as before
        // it existed).
        let off = std::env::var("SNNBENCH_SAMPLE_POOL").is_ok_and(|v| v == "0");
        if off {
            return Ok(false);
        }
        match kernels::SamplePool::new(&self.ctx, &self.cfg, data.x, data.y, data.t_steps, self.max_bind()) {
            Ok(pool) => self.pool = Some(pool),
            Err(kernels::KernelError::Limits(why)) => {
                tracing::info!("training set not kept on the device: {why}");
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }

    fn select(&mut self, order: &[usize]) -> Result<()> {
        let pool = self.pool.as_ref().context("internal: select without a sample pool (call load_pool first)")?;
        let (n, t) = (order.len(), pool.t_steps());
        let y = pool.labels(order);
        self.resize_resident(n, t)?;
        (self.x, self.y, self.t_steps) = (Vec::new(), y, t);
        if let (Some(tr), Some(pool)) = (&self.trainer, &self.pool) {
            pool.select_into(tr, order)?;
        }
        self.selection = Some(order.to_vec());
        Ok(())
    }

    fn load_eval_sets(&mut self, sets: &[Data<'_>]) -> Result<bool> {
        self.eval_sets.clear();
        let mut kept = Vec::with_capacity(sets.len());
        for d in sets {
            models::Batch::new(d.x, d.y, d.t_steps, self.cfg.n_in, self.cfg.n_out)?;
            match kernels::EvalSet::new(&self.ctx, &self.cfg, d.x, d.y, d.t_steps, self.max_bind()) {
                Ok(set) => kept.push(set),
                Err(kernels::KernelError::Limits(why)) => {
                    tracing::info!("held-out sets not kept on the device (evaluated on the host): {why}");
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.eval_sets = kept;
        Ok(true)
    }

    fn evaluate(&mut self, which: usize) -> Result<Option<kernels::Evaluation>> {
        let Some(want) = self.trainer.as_ref().map(|tr| tr.config().clone()) else {
            return Ok(None);
        };
        if which >= self.eval_sets.len() {
            return Ok(None);
        }
        // The same trainer, with the state pushed to it if it was set from the host since.
        self.trainer(want)?;
        let tr = self.trainer.as_ref().context("internal: no trainer")?;
        Ok(tr.evaluate(&self.eval_sets[which])?)
    }

    fn train(&mut self, mb: Minibatches, step: &StepConfig) -> Result<Trained> {
        let tr = self.trainer(self.config(step.rule, mb.batch, mb.steps))?;
        let (losses, timing) = tr.train(mb.first, mb.steps, step.lr, step.l2, &step.adam_config())?;
        tr.wait()?;
        Ok(Trained { losses, gpu_time_s: timing.gpu_time_s, activity: None })
    }

    fn grads(&mut self, step: &StepConfig) -> Result<GradOutput<f32>> {
        let n = self.y.len();
        let tr = self.trainer(self.config(step.rule, n, 1).with_spike_record())?;
        Ok(tr.grads(step.l2)?)
    }

    fn set_eprop_chunk(&mut self, chunk: EpropChunk) {
        // A trainer built for another chunk no longer serves: the next call builds one (keeping the state).
        self.eprop_chunk = chunk;
    }

    fn prepare(&mut self, mb: Minibatches, step: &StepConfig) -> Result<()> {
        self.trainer(self.config(step.rule, mb.batch, mb.steps))?;
        Ok(())
    }

    fn max_resident_samples(&self, t_steps: usize) -> Option<usize> {
        let per_sample = (t_steps * self.cfg.n_in * std::mem::size_of::<f32>()).max(1) as u64;
        Some((self.max_bind() / per_sample) as usize)
    }

    fn gpu_bytes(&self) -> Option<kernels::BufferBytes> {
        self.trainer.as_ref().map(|tr| tr.bytes())
    }

    fn step_bytes(&self, rule: Rule, batch: usize, t_steps: usize, how: Measure) -> Result<Option<StepBytes>> {
        let shape = TrainerConfig::new(&self.cfg, rule, batch, t_steps);
        let shape = shape.clone().with_eprop_chunk(self.eprop_chunk.kernel_steps(&self.ctx, &shape));
        let bytes = match how {
            Measure::Allocate => kernels::allocate_plan(&self.ctx, &shape)?,
            Measure::Plan => kernels::plan_bytes(&shape, self.ctx.info.device_type),
        };
        let path = matches!(rule, Rule::Eprop(_)).then(|| kernels::eprop_kernel_path(&shape, &self.ctx));
        Ok(Some(StepBytes { bytes, path }))
    }

    fn profile_step(&mut self, step: &StepConfig, batch: usize) -> Result<Option<Vec<(String, f64)>>> {
        let tr = self.trainer(self.config(step.rule, batch, 1))?;
        let p = tr.profile_step(step.lr, step.l2, &step.adam_config())?;
        Ok(p.map(|v| v.into_iter().map(|(k, t)| (k.to_string(), t)).collect()))
    }
}
