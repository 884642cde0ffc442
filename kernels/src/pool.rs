//! A pool of samples kept on the device, from which a trainer's resident set is copied in any order
//! (gather_samples): a training loop that shuffles every epoch uploads its data once instead of gathering and
//! uploading the whole set each epoch (issue #17: on an H200 the training loop ran 5.8× slower than the benchmark,
//! with a GSC epoch's 1.8 GB gathered and uploaded every epoch). The pool is a second copy of the inputs on the
//! device, not counted in the trainer's `BufferBytes`.

use crate::{GpuContext, GpuTrainer, KernelError, shaders::Kernel};
use models::NetConfig;
use wgpu::util::DeviceExt;

/// Samples `x [P, T, n_in]` on the device, in pieces of at most one binding each, with their labels on the host
/// (labels are a few bytes per sample and are written with each selection).
pub struct SamplePool {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    /// The pieces, in order: piece k holds samples k·piece .. (k+1)·piece.
    pieces: Vec<wgpu::Buffer>,
    /// Samples per piece (the last may hold fewer).
    piece: usize,
    y: Vec<i64>,
    n_pool: usize,
    /// Floats per sample: T · n_in.
    row: usize,
    t_steps: usize,
    /// Copy commands instead of gather_samples: the default on CPU adapters, where a buffer copy is a memcpy and the
    /// kernel's per-lane loads and stores are loops over the lanes.
    copies: bool,
}

impl std::fmt::Debug for SamplePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SamplePool({} samples × {} floats in {} pieces)", self.n_pool, self.row, self.pieces.len())
    }
}

/// Floats per sample (T · n_in) of a set `x [P, T, n_in]`, `y [P]` (labels in 0..n_out) kept on the device, after
/// checking its shape and labels; `what` names the set in the error.
pub(crate) fn check_set(
    what: &str,
    cfg: &NetConfig,
    x: &[f32],
    y: &[i64],
    t_steps: usize,
) -> Result<usize, KernelError> {
    let row = t_steps * cfg.n_in;
    let n = y.len();
    if row == 0 || x.len() != n * row {
        return Err(KernelError::Input(format!(
            "{what} is x[{}], y[{n}]; expected x[{}] (T = {t_steps}, n_in = {})",
            x.len(),
            n * row,
            cfg.n_in
        )));
    }
    crate::trainer::check_labels(y, cfg.n_out)?;
    Ok(row)
}

impl SamplePool {
    /// Bytes the pool of `n_pool` samples of `t_steps` steps takes on the device.
    pub fn bytes(cfg: &NetConfig, n_pool: usize, t_steps: usize) -> u64 {
        (n_pool * t_steps * cfg.n_in * 4) as u64
    }

    /// Samples per piece on this adapter with pieces of at most `piece_bytes` (and one binding): `None` when not even
    /// one sample fits, or a sample is too long for the gather's dispatch.
    pub fn piece_samples(ctx: &GpuContext, cfg: &NetConfig, t_steps: usize, piece_bytes: u64) -> Option<usize> {
        let lim = &ctx.limits;
        let max_bind = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size).min(piece_bytes);
        let row = t_steps * cfg.n_in;
        if row == 0 || row.div_ceil(256) > 65_535 {
            return None;
        }
        // Indices inside a piece are u32 in the kernel.
        let n = ((max_bind / (row as u64 * 4)) as usize).min((u32::MAX as usize - 1) / row);
        (n > 0).then_some(n)
    }

    /// Uploads `x [P, T, n_in]` in pieces of at most `piece_bytes` (and one binding each) and keeps `y [P]` (labels
    /// in 0..n_out). A piece the device has no room for is a [`KernelError::Limits`].
    pub fn new(
        ctx: &GpuContext,
        cfg: &NetConfig,
        x: &[f32],
        y: &[i64],
        t_steps: usize,
        piece_bytes: u64,
    ) -> Result<Self, KernelError> {
        let row = check_set("pool", cfg, x, y, t_steps)?;
        let n_pool = y.len();
        let piece = Self::piece_samples(ctx, cfg, t_steps, piece_bytes).ok_or_else(|| {
            KernelError::Limits(format!("one sample of T = {t_steps} does not fit a pool piece on this adapter"))
        })?;
        let pipeline = ctx.pipeline(Kernel::GatherSamples, cfg, crate::shaders::Variant::default())?;
        let mut pieces = Vec::new();
        for (k, part) in x.chunks((piece * row).max(1)).enumerate() {
            let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("sample_pool"),
                size: (part.len() * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            if let Some(err) = pollster::block_on(scope.pop()) {
                return Err(KernelError::Limits(format!(
                    "no room on the device for piece {k} of a pool of {n_pool} samples: {err}"
                )));
            }
            ctx.queue.write_buffer(&buf, 0, bytemuck::cast_slice(part));
            pieces.push(buf);
        }
        ctx.flush_uploads()?;
        Ok(Self {
            device: ctx.device.clone(),
            queue: ctx.queue.clone(),
            pipeline,
            pieces,
            piece,
            y: y.to_vec(),
            n_pool,
            row,
            t_steps,
            // On a CPU adapter a buffer copy is a memcpy, while gather_samples' per-lane loads and stores are loops
            // over the lanes (lavapipe): one copy command per run of consecutive samples there. On a GPU one dispatch
            // per piece beats thousands of small copies.
            copies: ctx.info.device_type == wgpu::DeviceType::Cpu,
        })
    }

    /// Chooses how selections are copied: copy commands (`true`, the default on CPU adapters) or gather_samples
    /// (`false`, the default on GPUs). Both write the same bytes; tests run each on whatever adapter they have.
    pub fn set_copies(&mut self, copies: bool) {
        self.copies = copies;
    }

    /// Steps per sample.
    pub fn t_steps(&self) -> usize {
        self.t_steps
    }

    /// The labels of `order`, as a host gather would give them.
    pub fn labels(&self, order: &[usize]) -> Vec<i64> {
        order.iter().map(|&i| self.y[i]).collect()
    }

    /// Makes `trainer`'s resident set pool[order] — the same bits as `upload_batch` of the host-gathered samples —
    /// with one dispatch per piece that holds some of them, and the labels written from the host. Submitted, not
    /// waited for: later work on the same queue sees it.
    pub fn select_into(&self, trainer: &GpuTrainer, order: &[usize]) -> Result<(), KernelError> {
        let c = trainer.config();
        if c.n_total != order.len() || c.t_steps * c.net.n_in != self.row {
            return Err(KernelError::Input(format!(
                "selection of {} samples of {} floats for a trainer holding {} samples of T = {} × n_in = {}",
                order.len(),
                self.row,
                c.n_total,
                c.t_steps,
                c.net.n_in
            )));
        }
        if let Some(&i) = order.iter().find(|&&i| i >= self.n_pool) {
            return Err(KernelError::Input(format!("sample {i} is outside the pool of {}", self.n_pool)));
        }
        let y32: Vec<u32> = order.iter().map(|&i| self.y[i] as u32).collect();
        let (x_dst, y_dst) = trainer.input_buffers();
        self.queue.write_buffer(y_dst, 0, bytemuck::cast_slice(&y32));
        if self.copies {
            self.copy_into(x_dst, order);
            return Ok(());
        }
        // (resident sample, sample within its piece), per piece.
        let mut pairs: Vec<Vec<[u32; 2]>> = vec![Vec::new(); self.pieces.len()];
        for (d, &s) in order.iter().enumerate() {
            pairs[s / self.piece].push([d as u32, (s % self.piece) as u32]);
        }
        let make = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        let mut groups = Vec::new();
        for (src, p) in self.pieces.iter().zip(&pairs) {
            if p.is_empty() {
                continue;
            }
            let g = [self.row as u32, p.len() as u32, 0, 0];
            let g_buf = make("gather_dims", bytemuck::cast_slice(&g), wgpu::BufferUsages::UNIFORM);
            let p_buf = make("gather_pairs", bytemuck::cast_slice(p), wgpu::BufferUsages::STORAGE);
            let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("gather_samples"),
                layout: &self.pipeline.get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: g_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: p_buf.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: src.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 3, resource: x_dst.as_entire_binding() },
                ],
            });
            if let Some(err) = pollster::block_on(scope.pop()) {
                return Err(KernelError::Shader { stem: "gather_samples", message: format!("bind group: {err}") });
            }
            groups.push((bind_group, p.len() as u32));
        }
        if groups.is_empty() {
            return Ok(());
        }
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gather") });
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("gather"), timestamp_writes: None });
            pass.set_pipeline(&self.pipeline);
            for (bind_group, n) in &groups {
                pass.set_bind_group(0, bind_group, &[]);
                pass.dispatch_workgroups((self.row as u32).div_ceil(256), (*n).min(65_535), 1);
            }
        }
        self.queue.submit([enc.finish()]);
        Ok(())
    }

    /// pool[order] into `x_dst` by copy commands, one per run of samples that are consecutive in both the order and
    /// one piece (the same bytes as gather_samples writes).
    fn copy_into(&self, x_dst: &wgpu::Buffer, order: &[usize]) {
        let bytes = (self.row * 4) as u64;
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gather") });
        let mut d = 0;
        while d < order.len() {
            let (k, s) = (order[d] / self.piece, order[d] % self.piece);
            let mut n = 1;
            while d + n < order.len() && order[d + n] == order[d] + n && (s + n) < self.piece {
                n += 1;
            }
            enc.copy_buffer_to_buffer(&self.pieces[k], s as u64 * bytes, x_dst, d as u64 * bytes, n as u64 * bytes);
            d += n;
        }
        self.queue.submit([enc.finish()]);
    }
}
