//! The host side of batched training on the GPU: allocates every buffer once (and counts its bytes), builds the
//! pipelines and bind groups for one rule, and records whole training steps — forward, gradients, loss, Adam — into
//! command buffers with no host round trip between time steps or between steps.

use crate::{
    GpuContext, KernelError,
    shaders::{Kernel, Variant, per_sample_workgroup, pipeline},
};
use models::{AdamConfig, AdamState, GradOutput, NetConfig, Params, Rule, TraceVariant};

/// Exact bytes of every GPU buffer the trainer allocated, by role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferBytes {
    /// Weights, gradient, Adam m and v, counters, uniforms, losses.
    pub weights_optimizer: u64,
    /// Per-sample state that does not grow with T (e-prop traces; per-sample readout record).
    pub per_sample_state: u64,
    /// BPTT's stored history (z, A, ψ, dv per step), linear in T. Zero for e-prop.
    pub history: u64,
    /// Optional outputs (spike record), linear in T when present.
    pub outputs: u64,
    /// The input batch (x, y), counted apart.
    pub input: u64,
}

impl BufferBytes {
    /// Everything except the input batch.
    pub fn total(&self) -> u64 {
        self.weights_optimizer + self.per_sample_state + self.history + self.outputs
    }
}

/// GPU time of a call, from timestamp queries when the adapter has them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTiming {
    /// Seconds between the first and last timestamp of each submission, summed; `None` without timestamp queries.
    pub gpu_time_s: Option<f64>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n_batch: u32,
    t_steps: u32,
    n_total: u32,
    record_spikes: u32,
    l2: f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    k0: u32,
    _pad: [u32; 2],
}

struct Pass {
    stem: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: u32,
}

/// Batched e-prop or BPTT training on one device, for a fixed network, rule, minibatch size and T.
pub struct GpuTrainer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    cfg: NetConfig,
    rule: Rule,
    n_batch: usize,
    n_total: usize,
    t_steps: usize,
    record_spikes: bool,
    max_steps: usize,
    dims: wgpu::Buffer,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    w: wgpu::Buffer,
    grad: wgpu::Buffer,
    m: wgpu::Buffer,
    v: wgpu::Buffer,
    counters: wgpu::Buffer,
    losses: wgpu::Buffer,
    sample_out: wgpu::Buffer,
    spikes: wgpu::Buffer,
    z_hist: Option<wgpu::Buffer>,
    gradient_passes: Vec<Pass>,
    loss_pass: Pass,
    adam_pass: Pass,
    timestamps: Option<(wgpu::QuerySet, wgpu::Buffer, f64)>,
    bytes: BufferBytes,
}

impl std::fmt::Debug for GpuTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTrainer")
            .field("rule", &self.rule)
            .field("n_batch", &self.n_batch)
            .field("n_total", &self.n_total)
            .field("t_steps", &self.t_steps)
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// The CE slot at the end of each per-sample record (layout in common.wgsl).
const S_OUT_EXTRA: usize = 1;

fn variant(rule: Rule) -> Variant {
    match rule {
        Rule::Eprop(t) => Variant { trace_aligned: t == TraceVariant::Aligned, ..Variant::default() },
        Rule::Bptt(o) => {
            Variant { detach_reset: o.detach_reset, stop_recurrent: o.stop_recurrent, ..Variant::default() }
        }
    }
}

impl GpuTrainer {
    /// Allocates buffers for minibatches of `n_batch` drawn from `n_total` samples of length `t_steps`, and at most
    /// `max_steps` recorded losses per [`GpuTrainer::train`] call. `record_spikes` keeps a `[N, T, N_REC]` spike
    /// record (for `grads`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &GpuContext,
        cfg: &NetConfig,
        rule: Rule,
        n_total: usize,
        n_batch: usize,
        t_steps: usize,
        record_spikes: bool,
        max_steps: usize,
    ) -> Result<Self, KernelError> {
        cfg.validate().map_err(|e| KernelError::Input(e.to_string()))?;
        if n_total == 0 || n_batch == 0 || t_steps == 0 {
            return Err(KernelError::Input(format!(
                "empty work: B = {n_total}, N = {n_batch}, T = {t_steps}; all must be at least 1"
            )));
        }
        let lim = &ctx.limits;
        let wg = per_sample_workgroup(cfg.n_rec);
        if wg > lim.max_compute_invocations_per_workgroup || wg > lim.max_compute_workgroup_size_x {
            return Err(KernelError::Limits(format!(
                "n_rec = {} needs {wg} threads per workgroup; the adapter allows {}",
                cfg.n_rec, lim.max_compute_invocations_per_workgroup
            )));
        }
        if n_batch as u64 > lim.max_compute_workgroups_per_dimension as u64 {
            return Err(KernelError::Limits(format!(
                "minibatch of {n_batch} exceeds the adapter's {} workgroups per dimension",
                lim.max_compute_workgroups_per_dimension
            )));
        }
        let device = ctx.device.clone();
        let queue = ctx.queue.clone();
        let f = 4u64;
        let n_w = cfg.n_weights() as u64;
        let (n_in, n_rec, n_out) = (cfg.n_in as u64, cfg.n_rec as u64, cfg.n_out as u64);
        let (nb, nt, tt) = (n_batch as u64, n_total as u64, t_steps as u64);
        let s_out = 2 * n_rec + 2 * n_out + S_OUT_EXTRA as u64;
        let max_binding = lim.max_storage_buffer_binding_size;
        let max_buffer = lim.max_buffer_size;
        let mut bytes = BufferBytes::default();
        let make = |label: &str, size: u64, role: &mut u64, uniform: bool| -> Result<wgpu::Buffer, KernelError> {
            let size = size.max(4);
            if size > max_binding.min(max_buffer) {
                return Err(KernelError::Limits(format!(
                    "buffer `{label}` needs {size} bytes; the adapter binds at most {} (try a smaller batch or T)",
                    max_binding.min(max_buffer)
                )));
            }
            *role += size;
            let usage = if uniform {
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST
            } else {
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC
            };
            Ok(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            }))
        };
        let mut wo = 0u64;
        let mut ps = 0u64;
        let mut hist = 0u64;
        let mut outs = 0u64;
        let mut input = 0u64;
        let dims = make("dims", std::mem::size_of::<Dims>() as u64, &mut wo, true)?;
        let x = make("x", nt * tt * n_in * f, &mut input, false)?;
        let y = make("y", nt * f, &mut input, false)?;
        let w = make("w", n_w * f, &mut wo, false)?;
        let grad = make("grad", n_w * f, &mut wo, false)?;
        let m = make("adam_m", n_w * f, &mut wo, false)?;
        let v = make("adam_v", n_w * f, &mut wo, false)?;
        let counters = make("counters", 2 * f, &mut wo, false)?;
        let losses = make("losses", max_steps.max(1) as u64 * f, &mut wo, false)?;
        let sample_out = make("sample_out", nb * s_out * f, &mut ps, false)?;
        // BPTT's spike record is its z history; e-prop writes a separate one when asked.
        let spike_bytes = if record_spikes && matches!(rule, Rule::Eprop(_)) { nb * tt * n_rec * f } else { 4 };
        let spikes = make("spikes", spike_bytes, &mut outs, false)?;
        let var = variant(rule);
        let per_sample_groups = n_batch as u32;
        let weight_groups = (cfg.n_weights() as u32).div_ceil(256);
        let bind = |p: &wgpu::ComputePipeline, bufs: &[&wgpu::Buffer], label: &str| -> wgpu::BindGroup {
            let entries: Vec<wgpu::BindGroupEntry> = bufs
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout: &p.get_bind_group_layout(0),
                entries: &entries,
            })
        };
        let mut gradient_passes = Vec::new();
        let mut z_record = None;
        match rule {
            Rule::Eprop(_) => {
                let traces = nb * (n_in + n_rec) * n_rec * f;
                let eps_a = make("eps_a", traces, &mut ps, false)?;
                let e_sum = make("e_sum", traces, &mut ps, false)?;
                let p = pipeline(&device, Kernel::EpropTrain, cfg, var)?;
                let bg = bind(&p, &[&dims, &x, &y, &w, &eps_a, &e_sum, &sample_out, &spikes, &counters], "eprop_train");
                gradient_passes.push(Pass {
                    stem: "eprop_train",
                    pipeline: p,
                    bind_group: bg,
                    groups: per_sample_groups,
                });
                let p = pipeline(&device, Kernel::EpropAssemble, cfg, var)?;
                let bg = bind(&p, &[&dims, &w, &e_sum, &sample_out, &grad], "eprop_assemble");
                gradient_passes.push(Pass {
                    stem: "eprop_assemble",
                    pipeline: p,
                    bind_group: bg,
                    groups: weight_groups,
                });
            }
            Rule::Bptt(_) => {
                let h = nb * tt * n_rec * f;
                // With a spike record requested, z_hist doubles as it: the record is read from there.
                let z_hist = make("z_hist", h, &mut hist, false)?;
                let thr_hist = make("thr_hist", h, &mut hist, false)?;
                let psi_hist = make("psi_hist", h, &mut hist, false)?;
                let dv_hist = make("dv_hist", h, &mut hist, false)?;
                let p = pipeline(&device, Kernel::BpttForward, cfg, var)?;
                let bg = bind(
                    &p,
                    &[&dims, &x, &y, &w, &z_hist, &thr_hist, &psi_hist, &sample_out, &counters],
                    "bptt_forward",
                );
                gradient_passes.push(Pass {
                    stem: "bptt_forward",
                    pipeline: p,
                    bind_group: bg,
                    groups: per_sample_groups,
                });
                let p = pipeline(&device, Kernel::BpttBackward, cfg, var)?;
                let bg = bind(&p, &[&dims, &w, &z_hist, &thr_hist, &psi_hist, &sample_out, &dv_hist], "bptt_backward");
                gradient_passes.push(Pass {
                    stem: "bptt_backward",
                    pipeline: p,
                    bind_group: bg,
                    groups: per_sample_groups,
                });
                let p = pipeline(&device, Kernel::BpttWeightGrads, cfg, var)?;
                let bg =
                    bind(&p, &[&dims, &x, &w, &z_hist, &dv_hist, &sample_out, &grad, &counters], "bptt_weight_grads");
                gradient_passes.push(Pass {
                    stem: "bptt_weight_grads",
                    pipeline: p,
                    bind_group: bg,
                    groups: weight_groups,
                });
                bytes.history = hist;
                z_record = Some(z_hist);
            }
        }
        let p = pipeline(&device, Kernel::LossReduce, cfg, var)?;
        let bg = bind(&p, &[&dims, &w, &sample_out, &losses, &counters], "loss_reduce");
        let loss_pass = Pass { stem: "loss_reduce", pipeline: p, bind_group: bg, groups: 1 };
        let p = pipeline(&device, Kernel::Adam, cfg, var)?;
        let bg = bind(&p, &[&dims, &w, &grad, &m, &v, &counters], "adam");
        let adam_pass = Pass { stem: "adam", pipeline: p, bind_group: bg, groups: weight_groups };
        let timestamps = ctx.has_timestamps.then(|| {
            let qs = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("step timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let buf = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (qs, buf, queue.get_timestamp_period() as f64 * 1e-9)
        });
        bytes.weights_optimizer = wo;
        bytes.per_sample_state = ps;
        bytes.outputs = outs;
        bytes.input = input;
        Ok(Self {
            device,
            queue,
            cfg: cfg.clone(),
            rule,
            n_batch,
            n_total,
            t_steps,
            record_spikes,
            max_steps: max_steps.max(1),
            dims,
            x,
            y,
            w,
            grad,
            m,
            v,
            counters,
            losses,
            sample_out,
            spikes,
            z_hist: z_record,
            gradient_passes,
            loss_pass,
            adam_pass,
            timestamps,
            bytes,
        })
    }
}

impl GpuTrainer {
    /// Exact bytes of every buffer, by role.
    pub fn bytes(&self) -> BufferBytes {
        self.bytes
    }

    /// The rule this trainer runs.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Uploads the whole input set: `x [B, T, n_in]`, `y [B]` with B and T as given to [`GpuTrainer::new`].
    pub fn upload_batch(&self, x: &[f32], y: &[i64]) -> Result<(), KernelError> {
        let expected = self.n_total * self.t_steps * self.cfg.n_in;
        if x.len() != expected || y.len() != self.n_total {
            return Err(KernelError::Input(format!(
                "batch is x[{}], y[{}]; the trainer was built for x[{expected}] (B = {}, T = {}, n_in = {}), y[{}]",
                x.len(),
                y.len(),
                self.n_total,
                self.t_steps,
                self.cfg.n_in,
                self.n_total
            )));
        }
        if let Some((i, l)) = y.iter().enumerate().find(|(_, l)| **l < 0 || **l >= self.cfg.n_out as i64) {
            return Err(KernelError::Input(format!("label y[{i}] = {l} is outside 0..{}", self.cfg.n_out)));
        }
        let y32: Vec<u32> = y.iter().map(|&l| l as u32).collect();
        self.queue.write_buffer(&self.x, 0, bytemuck::cast_slice(x));
        self.queue.write_buffer(&self.y, 0, bytemuck::cast_slice(&y32));
        Ok(())
    }

    fn flat(p: &Params<f32>) -> Vec<f32> {
        p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).copied().collect()
    }

    fn unflat(&self, v: &[f32]) -> Params<f32> {
        let (n_in, n_rec, n_out) = (self.cfg.n_in, self.cfg.n_rec, self.cfg.n_out);
        let a = n_in * n_rec;
        let b = a + n_rec * n_rec;
        Params { n_in, n_rec, n_out, w_in: v[..a].to_vec(), w_rec: v[a..b].to_vec(), w_out: v[b..].to_vec() }
    }

    fn check_shape(&self, p: &Params<f32>) -> Result<(), KernelError> {
        p.check_shape(&self.cfg).map_err(|e| KernelError::Input(e.to_string()))
    }

    /// Uploads the weights.
    pub fn set_params(&self, p: &Params<f32>) -> Result<(), KernelError> {
        self.check_shape(p)?;
        self.queue.write_buffer(&self.w, 0, bytemuck::cast_slice(&Self::flat(p)));
        Ok(())
    }

    /// Uploads Adam's moments and step count.
    pub fn set_adam(&self, a: &AdamState<f32>) -> Result<(), KernelError> {
        self.check_shape(&a.m)?;
        self.check_shape(&a.v)?;
        self.queue.write_buffer(&self.m, 0, bytemuck::cast_slice(&Self::flat(&a.m)));
        self.queue.write_buffer(&self.v, 0, bytemuck::cast_slice(&Self::flat(&a.v)));
        let step = u32::try_from(a.step).map_err(|_| KernelError::Input(format!("Adam step {} too large", a.step)))?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[step, 0u32]));
        Ok(())
    }

    fn write_dims(&self, n_batch: usize, l2: f64, adam: &AdamConfig, lr: f64, k0: u32) {
        let d = Dims {
            n_batch: n_batch as u32,
            t_steps: self.t_steps as u32,
            n_total: self.n_total as u32,
            record_spikes: u32::from(self.record_spikes),
            l2: l2 as f32,
            lr: lr as f32,
            beta1: adam.beta1 as f32,
            beta2: adam.beta2 as f32,
            eps: adam.eps as f32,
            k0,
            _pad: [0; 2],
        };
        self.queue.write_buffer(&self.dims, 0, bytemuck::bytes_of(&d));
    }

    /// Records `steps` training steps (gradient passes, loss, optionally Adam) into one compute pass and submits.
    fn run(&self, steps: usize, with_adam: bool) -> Option<f64> {
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("train") });
        {
            let timestamp_writes = self.timestamps.as_ref().map(|(qs, _, _)| wgpu::ComputePassTimestampWrites {
                query_set: qs,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            });
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes });
            for _ in 0..steps {
                let adam = with_adam.then_some(&self.adam_pass);
                for p in self.gradient_passes.iter().chain(std::iter::once(&self.loss_pass)).chain(adam) {
                    pass.set_pipeline(&p.pipeline);
                    pass.set_bind_group(0, &p.bind_group, &[]);
                    pass.dispatch_workgroups(p.groups, 1, 1);
                }
            }
        }
        let staging = self.timestamps.as_ref().map(|(qs, resolve, _)| {
            enc.resolve_query_set(qs, 0..2, resolve, 0);
            let staging = self.staging(16);
            enc.copy_buffer_to_buffer(resolve, 0, &staging, 0, 16);
            staging
        });
        self.queue.submit([enc.finish()]);
        let staging = staging?;
        let ticks: Vec<u64> = self.map_read(&staging).ok()?;
        let period = self.timestamps.as_ref().map(|t| t.2)?;
        Some(ticks[1].saturating_sub(ticks[0]) as f64 * period)
    }

    fn staging(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn map_read<T: bytemuck::Pod>(&self, staging: &wgpu::Buffer) -> Result<Vec<T>, KernelError> {
        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| KernelError::Device(e.to_string()))?;
        rx.recv().map_err(|e| KernelError::Device(e.to_string()))?.map_err(|e| KernelError::Device(e.to_string()))?;
        let view = staging.get_mapped_range(..).map_err(|e| KernelError::Device(e.to_string()))?;
        let out = bytemuck::pod_collect_to_vec(&view);
        drop(view);
        staging.unmap();
        Ok(out)
    }

    fn read<T: bytemuck::Pod>(&self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<T>, KernelError> {
        let staging = self.staging(bytes);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        enc.copy_buffer_to_buffer(buf, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        self.map_read(&staging)
    }

    /// Waits until the queue is idle.
    pub fn wait(&self) -> Result<(), KernelError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| KernelError::Device(e.to_string()))
    }

    /// Gradients of the whole uploaded batch (N must equal B) with the conventions of `models::compute_grads`.
    pub fn grads(&self, l2: f64) -> Result<GradOutput<f32>, KernelError> {
        if self.n_batch != self.n_total {
            return Err(KernelError::Input(format!(
                "grads needs the minibatch to be the whole batch: built with N = {}, B = {}",
                self.n_batch, self.n_total
            )));
        }
        self.write_dims(self.n_batch, l2, &AdamConfig::default(), 0.0, 0);
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[0u32, 0u32]));
        self.run(1, false);
        let (n_rec, n_out) = (self.cfg.n_rec, self.cfg.n_out);
        let n_w = self.cfg.n_weights() as u64;
        let grads: Vec<f32> = self.read(&self.grad, n_w * 4)?;
        let s_out = 2 * n_rec + 2 * n_out + S_OUT_EXTRA;
        let so: Vec<f32> = self.read(&self.sample_out, (self.n_batch * s_out * 4) as u64)?;
        let loss: Vec<f32> = self.read(&self.losses, 4)?;
        let spikes = if self.record_spikes {
            let n = (self.n_batch * self.t_steps * n_rec * 4) as u64;
            match &self.z_hist {
                Some(z) => self.read::<f32>(z, n)?.iter().map(|&v| u8::from(v != 0.0)).collect(),
                None => self.read::<u32>(&self.spikes, n)?.iter().map(|&v| v as u8).collect(),
            }
        } else {
            Vec::new()
        };
        let logits =
            so.chunks_exact(s_out).flat_map(|r| r[2 * n_rec + n_out..2 * n_rec + 2 * n_out].to_vec()).collect();
        Ok(GradOutput { grads: self.unflat(&grads), logits, loss: loss[0], spikes })
    }

    /// `steps` Adam steps on minibatches (k·N + i) mod B for k = `first_minibatch`.., continuing from the uploaded
    /// weights and Adam state. Returns the per-step losses and the GPU time. Nothing is read back between steps.
    pub fn train(
        &self,
        first_minibatch: usize,
        steps: usize,
        lr: f64,
        l2: f64,
        adam: &AdamConfig,
    ) -> Result<(Vec<f32>, StepTiming), KernelError> {
        if steps > self.max_steps {
            return Err(KernelError::Input(format!(
                "{steps} steps requested; the trainer holds {} losses",
                self.max_steps
            )));
        }
        // Keep Adam's step count, set the minibatch index; loss_reduce writes step k's loss to slot k − k0.
        let counters: Vec<u32> = self.read(&self.counters, 8)?;
        let first =
            u32::try_from(first_minibatch).map_err(|_| KernelError::Input("first minibatch too large".into()))?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[counters[0], first]));
        self.write_dims(self.n_batch, l2, adam, lr, first);
        let mut gpu = self.timestamps.as_ref().map(|_| 0.0);
        const CHUNK: usize = 64;
        let mut done = 0;
        while done < steps {
            let n = CHUNK.min(steps - done);
            let t = self.run(n, true);
            if let (Some(g), Some(t)) = (gpu.as_mut(), t) {
                *g += t;
            }
            done += n;
        }
        let losses: Vec<f32> = if steps > 0 { self.read(&self.losses, steps as u64 * 4)? } else { Vec::new() };
        Ok((losses, StepTiming { gpu_time_s: gpu }))
    }

    /// The current weights.
    pub fn params(&self) -> Result<Params<f32>, KernelError> {
        let v: Vec<f32> = self.read(&self.w, self.cfg.n_weights() as u64 * 4)?;
        Ok(self.unflat(&v))
    }

    /// The current Adam state.
    pub fn adam_state(&self) -> Result<AdamState<f32>, KernelError> {
        let n = self.cfg.n_weights() as u64 * 4;
        let m: Vec<f32> = self.read(&self.m, n)?;
        let v: Vec<f32> = self.read(&self.v, n)?;
        let c: Vec<u32> = self.read(&self.counters, 8)?;
        Ok(AdamState { m: self.unflat(&m), v: self.unflat(&v), step: c[0] as u64 })
    }
}

impl GpuTrainer {
    /// Device time of each kernel of one training step, from timestamp queries around one compute pass per
    /// kernel (`None` when the adapter has no timestamp queries). Runs minibatch 0 and advances Adam by one step.
    pub fn profile_step(
        &self,
        lr: f64,
        l2: f64,
        adam: &AdamConfig,
    ) -> Result<Option<Vec<(&'static str, f64)>>, KernelError> {
        if !self.timestamps.as_ref().is_some_and(|_| true) {
            return Ok(None);
        }
        let period = self.timestamps.as_ref().map_or(0.0, |t| t.2);
        let passes: Vec<&Pass> = self.gradient_passes.iter().chain([&self.loss_pass, &self.adam_pass]).collect();
        let n = passes.len() as u32;
        let qs = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * n,
        });
        let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile resolve"),
            size: 16 * n as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let counters: Vec<u32> = self.read(&self.counters, 8)?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[counters[0], 0u32]));
        self.write_dims(self.n_batch, l2, adam, lr, 0);
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("profile") });
        for (i, p) in passes.iter().enumerate() {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(p.stem),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &qs,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            pass.set_pipeline(&p.pipeline);
            pass.set_bind_group(0, &p.bind_group, &[]);
            pass.dispatch_workgroups(p.groups, 1, 1);
        }
        enc.resolve_query_set(&qs, 0..2 * n, &resolve, 0);
        let staging = self.staging(16 * n as u64);
        enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, 16 * n as u64);
        self.queue.submit([enc.finish()]);
        let ticks: Vec<u64> = self.map_read(&staging)?;
        Ok(Some(
            passes
                .iter()
                .enumerate()
                .map(|(i, p)| (p.stem, ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period))
                .collect(),
        ))
    }
}
