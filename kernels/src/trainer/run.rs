//! Running a built trainer: uploads (batch, weights, Adam state), recorded training steps with GPU timestamps,
//! gradients for the parity tests, readback, and the per-kernel profile.

use super::{Dims, Dispatch, GpuTrainer, StepTiming, plan::SampleOut};
use crate::{KernelError, shaders::n_rec_padded};
use models::{AdamConfig, AdamState, GradOutput, Params, Rule};

/// Every label within 0..n_out, or which is not.
pub(crate) fn check_labels(y: &[i64], n_out: usize) -> Result<(), KernelError> {
    match y.iter().enumerate().find(|(_, l)| **l < 0 || **l >= n_out as i64) {
        Some((i, l)) => Err(KernelError::Input(format!("label y[{i}] = {l} is outside 0..{n_out}"))),
        None => Ok(()),
    }
}

impl GpuTrainer {
    /// Uploads the whole input set: `x [B, T, n_in]`, `y [B]` with B and T as given to [`GpuTrainer::new`].
    pub fn upload_batch(&self, x: &[f32], y: &[i64]) -> Result<(), KernelError> {
        let expected = self.config.n_total * self.config.t_steps * self.config.net.n_in;
        if x.len() != expected || y.len() != self.config.n_total {
            return Err(KernelError::Input(format!(
                "batch is x[{}], y[{}]; the trainer was built for x[{expected}] (B = {}, T = {}, n_in = {}), y[{}]",
                x.len(),
                y.len(),
                self.config.n_total,
                self.config.t_steps,
                self.config.net.n_in,
                self.config.n_total
            )));
        }
        check_labels(y, self.config.net.n_out)?;
        let y32: Vec<u32> = y.iter().map(|&l| l as u32).collect();
        self.queue.write_buffer(&self.x, 0, bytemuck::cast_slice(x));
        self.queue.write_buffer(&self.y, 0, bytemuck::cast_slice(&y32));
        Ok(())
    }

    fn flat(p: &Params<f32>) -> Vec<f32> {
        p.w_in.iter().chain(&p.w_rec).chain(&p.w_out).copied().collect()
    }

    fn unflat(&self, v: &[f32]) -> Params<f32> {
        let (n_in, n_rec, n_out) = (self.config.net.n_in, self.config.net.n_rec, self.config.net.n_out);
        let a = n_in * n_rec;
        let b = a + n_rec * n_rec;
        Params { n_in, n_rec, n_out, w_in: v[..a].to_vec(), w_rec: v[a..b].to_vec(), w_out: v[b..].to_vec() }
    }

    fn check_shape(&self, p: &Params<f32>) -> Result<(), KernelError> {
        p.check_shape(&self.config.net).map_err(|e| KernelError::Input(e.to_string()))
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
        let d = self.dims_of(n_batch, l2, adam, lr, k0);
        self.queue.write_buffer(&self.dims, 0, bytemuck::bytes_of(&d));
    }

    /// The run-time dimensions of a step of minibatches of `n_batch` from the resident set (its `n_total`, spike
    /// record as configured).
    pub(super) fn dims_of(&self, n_batch: usize, l2: f64, adam: &AdamConfig, lr: f64, k0: u32) -> Dims {
        Dims {
            n_batch: n_batch as u32,
            t_steps: self.config.t_steps as u32,
            n_total: self.config.n_total as u32,
            record_spikes: u32::from(self.config.record_spikes),
            l2: l2 as f32,
            lr: lr as f32,
            beta1: adam.beta1 as f32,
            beta2: adam.beta2 as f32,
            eps: adam.eps as f32,
            k0,
            n_lif: self.config.net.n_lif as u32,
            // A window of at least T is the whole sequence, as 0 is: saturating keeps that meaning.
            window: u32::try_from(self.config.net.readout_window).unwrap_or(u32::MAX),
        }
    }

    /// Runs `steps` training steps (gradient passes, loss, optionally Adam), `CHUNK` steps per compute pass and
    /// submission, without waiting between submissions: the device's time is summed from timestamps around each pass,
    /// resolved into one buffer and read back once after the last (`None` without timestamp queries). One host sync
    /// per call, not one per chunk.
    fn run(&self, steps: usize, with_adam: bool) -> Option<f64> {
        const CHUNK: usize = 64;
        // A query set of two timestamps per chunk (wgpu allows 4,096 queries per set; longer calls go in rounds).
        const MAX_CHUNKS: usize = 2048;
        let mut total = self.timestamp_period.map(|_| 0.0);
        let mut done = 0;
        while done < steps.max(1) {
            let n_chunks = MAX_CHUNKS.min((steps.max(1) - done).div_ceil(CHUNK));
            let qs = self.timestamp_period.map(|_| {
                self.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("step timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2 * n_chunks as u32,
                })
            });
            for c in 0..n_chunks {
                let n = CHUNK.min(steps.saturating_sub(done + c * CHUNK));
                let mut enc =
                    self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("train") });
                {
                    let timestamp_writes = qs.as_ref().map(|qs| wgpu::ComputePassTimestampWrites {
                        query_set: qs,
                        beginning_of_pass_write_index: Some(2 * c as u32),
                        end_of_pass_write_index: Some(2 * c as u32 + 1),
                    });
                    let mut pass =
                        enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes });
                    for _ in 0..n {
                        let adam = with_adam.then_some(&self.adam);
                        for d in self.gradient.iter().chain(std::iter::once(&self.loss)).chain(adam) {
                            pass.set_pipeline(&d.pipeline);
                            pass.set_bind_group(0, &d.bind_group, &[]);
                            pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
                        }
                    }
                }
                self.queue.submit([enc.finish()]);
            }
            done += n_chunks * CHUNK;
            if let (Some(qs), Some(t)) = (qs, total.as_mut()) {
                let bytes = 16 * n_chunks as u64;
                let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("timestamp resolve"),
                    size: bytes,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                });
                let staging = self.staging(bytes);
                let mut enc =
                    self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("timestamps") });
                enc.resolve_query_set(&qs, 0..2 * n_chunks as u32, &resolve, 0);
                enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, bytes);
                self.queue.submit([enc.finish()]);
                let ticks: Vec<u64> = self.map_read(&staging).ok()?;
                let period = self.timestamp_period?;
                *t += ticks.chunks_exact(2).map(|p| p[1].saturating_sub(p[0]) as f64 * period).sum::<f64>();
            }
        }
        total
    }

    pub(super) fn staging(&self, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    pub(super) fn map_read<T: bytemuck::Pod>(&self, staging: &wgpu::Buffer) -> Result<Vec<T>, KernelError> {
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
        if self.config.n_batch != self.config.n_total {
            return Err(KernelError::Input(format!(
                "grads needs the minibatch to be the whole batch: built with N = {}, B = {}",
                self.config.n_batch, self.config.n_total
            )));
        }
        self.write_dims(self.config.n_batch, l2, &AdamConfig::default(), 0.0, 0);
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[0u32, 0u32]));
        self.run(1, false);
        let n_rec = self.config.net.n_rec;
        let n_w = self.config.net.n_weights() as u64;
        let grads: Vec<f32> = self.read(&self.grad, n_w * 4)?;
        let layout = SampleOut::of(&self.config.net);
        let so: Vec<f32> = self.read(&self.sample_out, (self.config.n_batch * layout.stride * 4) as u64)?;
        let loss: Vec<f32> = self.read(&self.losses, 4)?;
        let spikes = if !self.config.record_spikes {
            Vec::new()
        } else if matches!(self.config.rule, Rule::Eprop(_)) && !self.z_history {
            let n = (self.config.n_batch * self.config.t_steps * n_rec * 4) as u64;
            self.read::<u32>(&self.spikes, n)?.iter().map(|&v| v as u8).collect()
        } else {
            // BPTT: the z history [N, T, N_RECP].
            let n_recp = n_rec_padded(n_rec);
            let z: Vec<f32> =
                self.read(&self.spikes, (self.config.n_batch * self.config.t_steps * n_recp * 4) as u64)?;
            z.chunks_exact(n_recp).flat_map(|r| r[..n_rec].iter().map(|&v| u8::from(v != 0.0))).collect()
        };
        let logits = so.chunks_exact(layout.stride).flat_map(|r| r[layout.logits.clone()].to_vec()).collect();
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
        if steps > self.config.max_steps {
            return Err(KernelError::Input(format!(
                "{steps} steps requested; the trainer holds {} losses",
                self.config.max_steps
            )));
        }
        // Keep Adam's step count, set the minibatch index; loss_reduce writes step k's loss to slot k − k0.
        let counters: Vec<u32> = self.read(&self.counters, 8)?;
        let first =
            u32::try_from(first_minibatch).map_err(|_| KernelError::Input("first minibatch too large".into()))?;
        self.queue.write_buffer(&self.counters, 0, bytemuck::cast_slice(&[counters[0], first]));
        self.write_dims(self.config.n_batch, l2, adam, lr, first);
        let gpu = if steps > 0 { self.run(steps, true) } else { self.timestamp_period.map(|_| 0.0) };
        let losses: Vec<f32> = if steps > 0 { self.read(&self.losses, steps as u64 * 4)? } else { Vec::new() };
        Ok((losses, StepTiming { gpu_time_s: gpu }))
    }

    /// The current weights.
    pub fn params(&self) -> Result<Params<f32>, KernelError> {
        let v: Vec<f32> = self.read(&self.w, self.config.net.n_weights() as u64 * 4)?;
        Ok(self.unflat(&v))
    }

    /// The current Adam state.
    pub fn adam_state(&self) -> Result<AdamState<f32>, KernelError> {
        let n = self.config.net.n_weights() as u64 * 4;
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
        if self.timestamp_period.is_none() {
            return Ok(None);
        }
        let period = self.timestamp_period.unwrap_or(0.0);
        let passes: Vec<&Dispatch> = self.gradient.iter().chain([&self.loss, &self.adam]).collect();
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
        self.write_dims(self.config.n_batch, l2, adam, lr, 0);
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
            pass.dispatch_workgroups(p.groups.0, p.groups.1, 1);
        }
        enc.resolve_query_set(&qs, 0..2 * n, &resolve, 0);
        let staging = self.staging(16 * n as u64);
        enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, 16 * n as u64);
        self.queue.submit([enc.finish()]);
        let ticks: Vec<u64> = self.map_read(&staging)?;
        // Chunked kernels run several times per step: sum by kernel, in first-use order.
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        for (i, p) in passes.iter().enumerate() {
            let t = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period;
            match out.iter_mut().find(|(s, _)| *s == p.stem) {
                Some(e) => e.1 += t,
                None => out.push((p.stem, t)),
            }
        }
        Ok(Some(out))
    }
}
