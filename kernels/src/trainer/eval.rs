//! Evaluation on the device: a held-out set kept there ([`EvalSet`], uploaded once), run through the trainer's own
//! forward dispatches (the same pipelines, so nothing new to compile) minibatch by minibatch in one submission per
//! piece, and each sample's loss, logits and spike count read back at once. A training loop then evaluates its
//! validation and test sets every epoch without the host reference's forward pass (issue #17: evaluation batched on
//! the GPU).

use super::{Dims, GpuTrainer, plan::SampleOut};
use crate::{GpuContext, KernelError};
use models::{AdamConfig, NetConfig};
use wgpu::util::DeviceExt;

/// Samples `x [P, T, n_in]` and labels `y [P]` on the device, in pieces of at most one binding each.
pub struct EvalSet {
    /// (x, y as u32, samples) per piece, in order.
    pieces: Vec<(wgpu::Buffer, wgpu::Buffer, usize)>,
    n: usize,
    t_steps: usize,
}

impl std::fmt::Debug for EvalSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvalSet({} samples of T = {} in {} pieces)", self.n, self.t_steps, self.pieces.len())
    }
}

impl EvalSet {
    /// Uploads `x [P, T, n_in]` and `y [P]` (labels in 0..n_out) in pieces of at most `piece_bytes` (and one binding
    /// each). No room on the device is a [`KernelError::Limits`].
    pub fn new(
        ctx: &GpuContext,
        cfg: &NetConfig,
        x: &[f32],
        y: &[i64],
        t_steps: usize,
        piece_bytes: u64,
    ) -> Result<Self, KernelError> {
        let row = crate::pool::check_set("evaluation set", cfg, x, y, t_steps)?;
        let n = y.len();
        // Pieces as the sample pool's (one binding each at most).
        let per_piece = crate::SamplePool::piece_samples(ctx, cfg, t_steps, piece_bytes).ok_or_else(|| {
            KernelError::Limits(format!("one sample of T = {t_steps} does not fit a binding on this adapter"))
        })?;
        let mut pieces = Vec::new();
        for (k, (xs, ys)) in x.chunks(per_piece * row).zip(y.chunks(per_piece)).enumerate() {
            let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let xb = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("eval_x"),
                contents: bytemuck::cast_slice(xs),
                usage: wgpu::BufferUsages::STORAGE,
            });
            let y32: Vec<u32> = ys.iter().map(|&l| l as u32).collect();
            let yb = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("eval_y"),
                contents: bytemuck::cast_slice(&y32),
                usage: wgpu::BufferUsages::STORAGE,
            });
            if let Some(err) = pollster::block_on(scope.pop()) {
                return Err(KernelError::Limits(format!(
                    "no room on the device for piece {k} of an evaluation set of {n} samples: {err}"
                )));
            }
            pieces.push((xb, yb, ys.len()));
        }
        ctx.flush_uploads()?;
        Ok(Self { pieces, n, t_steps })
    }

    /// Samples in the set.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Bytes the set takes on the device (inputs and labels).
    pub fn bytes(&self) -> u64 {
        self.pieces.iter().map(|(x, y, _)| x.size() + y.size()).sum()
    }
}

/// Each sample's forward pass with the trainer's weights: what the host reference's `forward` gives, per sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Cross-entropy of each sample (f32, as the forward kernel computes it).
    pub ce: Vec<f32>,
    /// Logits `[P, n_out]`.
    pub logits: Vec<f32>,
    /// Spikes of each sample over all neurons and steps.
    pub spike_counts: Vec<u64>,
}

impl GpuTrainer {
    /// The forward pass of every sample of `set` with the current weights, on the device: the trainer's forward
    /// dispatches (the same kernels and work split as training), minibatches of its N, each sample read back
    /// once. `Ok(None)` when this trainer has no forward dispatches of its own (BPTT's fused kernel): evaluate on
    /// the host then. Leaves the weights, Adam's state and the resident set as they were; the next training call
    /// resets the minibatch counter it uses.
    pub fn evaluate(&self, set: &EvalSet) -> Result<Option<Evaluation>, KernelError> {
        if self.forward.is_empty() {
            return Ok(None);
        }
        if set.t_steps != self.config.t_steps {
            return Err(KernelError::Input(format!(
                "evaluation set has T = {}; the trainer was built for T = {}",
                set.t_steps, self.config.t_steps
            )));
        }
        let nb = self.config.n_batch;
        let layout = SampleOut::of(&self.config.net);
        let row_bytes = (nb * layout.stride * 4) as u64;
        let mut out = Evaluation::default();
        for (xb, yb, n) in &set.pieces {
            let minibatches = n.div_ceil(nb);
            // The minibatch index each pass reads from counters[1], copied there before it (counters[0], Adam's step,
            // is left alone).
            let index: Vec<u32> = (0..minibatches as u32).collect();
            let index = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("eval_index"),
                contents: bytemuck::cast_slice(&index),
                usage: wgpu::BufferUsages::COPY_SRC,
            });
            let rows = self.staging(minibatches as u64 * row_bytes);
            let groups: Vec<wgpu::BindGroup> = self
                .forward
                .iter()
                .map(|r| {
                    let entries: Vec<wgpu::BindGroupEntry> = r
                        .bufs
                        .iter()
                        .enumerate()
                        .map(|(i, b)| {
                            let b = if *b == self.x {
                                xb
                            } else if *b == self.y {
                                yb
                            } else {
                                b
                            };
                            wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() }
                        })
                        .collect();
                    self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(r.stem),
                        layout: &r.pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    })
                })
                .collect();
            // Samples (k·N + b) mod n of minibatch k: the last one wraps, and its extra rows are dropped below.
            let d =
                Dims { n_total: *n as u32, record_spikes: 0, ..self.dims_of(nb, 0.0, &AdamConfig::default(), 0.0, 0) };
            self.queue.write_buffer(&self.dims, 0, bytemuck::bytes_of(&d));
            let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("eval") });
            // The weight packing once (the weights do not change during the evaluation), then the forward of each
            // minibatch.
            let packs = |r: &&super::Recipe| r.stem == crate::shaders::Kernel::PackWeights.stem();
            let passes = |enc: &mut wgpu::CommandEncoder, pack: bool| {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("eval forward"),
                    timestamp_writes: None,
                });
                for (r, g) in self.forward.iter().zip(&groups).filter(|(r, _)| packs(r) == pack) {
                    pass.set_pipeline(&r.pipeline);
                    pass.set_bind_group(0, g, &[]);
                    pass.dispatch_workgroups(r.groups.0, r.groups.1, 1);
                }
            };
            if self.forward.iter().any(|r| packs(&r)) {
                passes(&mut enc, true);
            }
            for k in 0..minibatches as u64 {
                enc.copy_buffer_to_buffer(&index, 4 * k, &self.counters, 4, 4);
                passes(&mut enc, false);
                enc.copy_buffer_to_buffer(&self.sample_out, 0, &rows, k * row_bytes, row_bytes);
            }
            self.queue.submit([enc.finish()]);
            let so: Vec<f32> = self.map_read(&rows)?;
            for r in so.chunks_exact(layout.stride).take(*n) {
                out.ce.push(r[layout.ce]);
                out.logits.extend_from_slice(&r[layout.logits.clone()]);
                out.spike_counts.push(r[layout.spikes] as u64);
            }
        }
        Ok(Some(out))
    }
}
