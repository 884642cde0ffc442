//! Building a trainer: the buffers from the plan, the pipelines of one rule's kernel family, and the dispatch graph
//! of one training step (forward chunks, gradient kernels, loss, Adam) recorded once and replayed per step.

use super::{
    ChunkInfo, Dispatch, GpuTrainer, Recipe, TrainerConfig,
    plan::{BufferBytes, buffer_plan, chunk_info_bytes, settle},
    tuning::BpttTuning,
};
use crate::{
    GpuContext, KernelError,
    shaders::{Kernel, TRACE_ROWS, Variant, n_rec_padded},
};
use models::{Rule, TraceVariant};

impl GpuTrainer {
    /// Allocates the buffers of `config` (minibatches of N drawn from B resident samples of length T, room for the
    /// losses of `max_steps` steps per [`GpuTrainer::train`] call, optionally a spike record), builds its kernels
    /// with the adapter type's default work split ([`BpttTuning::for_adapter`]) and records one training step.
    pub fn new(ctx: &GpuContext, config: &TrainerConfig) -> Result<Self, KernelError> {
        Self::with_tuning(ctx, config, BpttTuning::for_adapter(ctx.info.device_type, config.n_batch))
    }

    /// [`GpuTrainer::new`] with the work split and kernel family given explicitly (tests use it to cover every split
    /// and both kernel families on any adapter; a family that cannot run here falls back as in `new`).
    pub fn with_tuning(ctx: &GpuContext, config: &TrainerConfig, tuning: BpttTuning) -> Result<Self, KernelError> {
        let tuning = settle(ctx, config, tuning)?;
        let compiled_ahead = super::jit::compile_ahead_one(ctx, config, tuning);
        Ok(Self { compiled_ahead, ..Self::build(ctx, config, tuning)? })
    }

    /// The trainer of `config` with a settled `tuning`: buffers, pipelines (from the context's cache) and the recorded
    /// step; no kernel runs.
    pub(super) fn build(ctx: &GpuContext, config: &TrainerConfig, tuning: BpttTuning) -> Result<Self, KernelError> {
        let (cfg, rule, n_batch, t_steps) = (&config.net, config.rule, config.n_batch, config.t_steps);
        let is_eprop = config.is_eprop();
        // e-prop's chunk buffers are sized for its chunk length whatever T is, so its bytes do not depend on T.
        let tc = config.chunk_steps();
        let n_chunks = t_steps.div_ceil(tc);
        let lim = &ctx.limits;
        let device = ctx.device.clone();
        let queue = ctx.queue.clone();
        let plan = buffer_plan(config, tuning);
        let max_bind = lim.max_storage_buffer_binding_size.min(lim.max_buffer_size);
        let mut bytes = BufferBytes::default();
        let mut created = 0usize;
        // Every buffer is created from the plan, so `bytes` is the plan's total by construction (and `plan_bytes`
        // tells what a configuration needs without a device).
        let mut make = |label: &str| -> Result<wgpu::Buffer, KernelError> {
            let spec = plan.iter().find(|b| b.label == label).ok_or_else(|| {
                KernelError::Input(format!("internal: buffer `{label}` is missing from the buffer plan"))
            })?;
            let size = spec.bindable(max_bind)?;
            bytes.add(spec.role, size);
            created += 1;
            let usage = if spec.uniform {
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST
            } else if spec.also_uniform {
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_SRC
            } else {
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC
            };
            Ok(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(spec.label),
                size,
                usage,
                mapped_at_creation: false,
            }))
        };
        let dims = make("dims")?;
        let x = make("x")?;
        let y = make("y")?;
        let w = make("w")?;
        let grad = make("grad")?;
        let m = make("adam_m")?;
        let v = make("adam_v")?;
        let counters = make("counters")?;
        let losses = make("losses")?;
        let sample_out = make("sample_out")?;
        let state = make("state")?;
        let z_start = make("z_start")?;
        let cur_in = make("cur_in")?;
        let z_c = make("z_c")?;
        let psi_c = make("psi_c")?;
        let thr_c = make("thr_c")?;
        let spikes = make("spikes")?;
        let spike_t = make("spike_t")?;
        let n_spikes = make("n_spikes")?;
        let (n_in, n_rec, n_out) = (cfg.n_in as u64, cfg.n_rec as u64, cfg.n_out as u64);
        let n_pre = n_in + n_rec;

        let sg = tuning.subgroup_kernels;
        // e-prop on the subgroup kernels: the whole sequence in one chunk, or chunk by chunk with per-synapse traces.
        let eprop_one = is_eprop && sg && config.eprop_one_chunk();
        let eprop_chunked_sg = is_eprop && sg && !eprop_one;
        let var = match rule {
            // On the subgroup kernels e-prop's one chunk is the whole sequence (T ≤ TC): the kernels shared with
            // BPTT index its buffers by T.
            Rule::Eprop(t) if eprop_one => Variant {
                trace_aligned: t == TraceVariant::Aligned,
                chunk: t_steps,
                grad_splits: tuning.grad_splits,
                subgroup_size: ctx.info.subgroup_min_size,
                eprop_grads: true,
                ..Variant::default()
            },
            // Over several chunks: the subgroup forward per chunk, eprop_coeffs for the sources only, eprop_traces_sg
            // for the coefficients and the input rows, eprop_traces for the recurrent rows (DENSE_IN_BACKWARD).
            Rule::Eprop(t) if eprop_chunked_sg => Variant {
                trace_aligned: t == TraceVariant::Aligned,
                chunk: tc,
                grad_splits: tuning.grad_splits,
                subgroup_size: ctx.info.subgroup_min_size,
                dense_in_backward: true,
                chunked_forward: true,
                ..Variant::default()
            },
            Rule::Eprop(t) => Variant { trace_aligned: t == TraceVariant::Aligned, chunk: tc, ..Variant::default() },
            Rule::Bptt(o) => Variant {
                detach_reset: o.detach_reset,
                stop_recurrent: o.stop_recurrent,
                chunk: tc,
                store_thr: true,
                samples_per_workgroup: tuning.samples_per_workgroup,
                grad_splits: tuning.grad_splits,
                subgroup_size: if tuning.subgroup_kernels { ctx.info.subgroup_min_size } else { 0 },
                ..Variant::default()
            },
        };
        let chunks: Vec<wgpu::Buffer> = (0..n_chunks)
            .map(|c| {
                let t0 = c * tc;
                let info =
                    ChunkInfo { t0: t0 as u32, tc: (tc.min(t_steps - t0)) as u32, index: c as u32, stride: tc as u32 };
                let b = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("chunk"),
                    size: std::mem::size_of::<ChunkInfo>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                queue.write_buffer(&b, 0, bytemuck::bytes_of(&info));
                b
            })
            .collect();
        let chunk_len = |c: usize| tc.min(t_steps - c * tc);

        // The forward's dispatches, kept with their buffers so that the evaluation can run them on other inputs.
        let forward_recipes = std::cell::RefCell::new(Vec::<Recipe>::new());
        let make_dispatch =
            |kernel: Kernel, bufs: &[&wgpu::Buffer], groups: (u32, u32)| -> Result<Dispatch, KernelError> {
                let (pipeline, id) = ctx.pipeline_with_id(kernel, cfg, var)?;
                if matches!(
                    kernel,
                    Kernel::PackWeights | Kernel::InputProjection | Kernel::AlifForward | Kernel::AlifForwardSg
                ) {
                    forward_recipes.borrow_mut().push(Recipe {
                        stem: kernel.stem(),
                        pipeline: pipeline.clone(),
                        bufs: bufs.iter().map(|&b| b.clone()).collect(),
                        groups,
                    });
                }
                let jit = kernel.is_unrolled().then_some(id);
                let entries: Vec<wgpu::BindGroupEntry> = bufs
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
                    .collect();
                let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(kernel.stem()),
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
                if let Some(err) = pollster::block_on(scope.pop()) {
                    return Err(KernelError::Shader { stem: kernel.stem(), message: format!("bind group: {err}") });
                }
                Ok(Dispatch { stem: kernel.stem(), pipeline, bind_group, groups, jit })
            };
        let nb32 = n_batch as u32;
        let pre_tiles = (n_pre as u32).div_ceil(8);
        let weight_groups = (cfg.n_weights() as u32).div_ceil(256);
        let mut gradient = Vec::new();
        let forward = |gradient: &mut Vec<Dispatch>, c: usize| -> Result<(), KernelError> {
            let ch = &chunks[c];
            let tiles = (n_batch * chunk_len(c)).div_ceil(16) as u32;
            gradient.push(make_dispatch(
                Kernel::InputProjection,
                &[&dims, ch, &x, &w, &cur_in, &counters, &w],
                (tiles, 1),
            )?);
            gradient.push(make_dispatch(
                Kernel::AlifForward,
                &[
                    &dims,
                    ch,
                    &y,
                    &w,
                    &cur_in,
                    &z_c,
                    &thr_c,
                    &psi_c,
                    &state,
                    &z_start,
                    &sample_out,
                    &spikes,
                    &counters,
                    &spike_t,
                    &n_spikes,
                ],
                (nb32, 1),
            )?);
            Ok(())
        };
        // The fixed-order reduction of the per-group partial sums into the gradient (bptt_grad_reduce).
        let grad_reduce = |gradient: &mut Vec<Dispatch>, grad_parts: &wgpu::Buffer| {
            gradient.push(make_dispatch(
                Kernel::BpttGradReduce,
                &[&dims, &w, grad_parts, &grad],
                (((n_pre * n_rec) as u32).div_ceil(256), 1),
            )?);
            Ok::<(), KernelError>(())
        };
        // The subgroup kernels: the weights copied into the padded uniform layouts (wr_u, wrt_u, wit_u, wo_u), then
        // the forward of the whole sequence or of one chunk (its binding 11).
        let pack_weights = |gradient: &mut Vec<Dispatch>, packed: [&wgpu::Buffer; 4]| {
            let n = n_rec * n_rec_padded(cfg.n_rec).max(n_rec_padded(cfg.n_in)) as u64;
            let [wr_u, wrt_u, wit_u, wo_u] = packed;
            gradient.push(make_dispatch(
                Kernel::PackWeights,
                &[&w, wr_u, wrt_u, wit_u, wo_u],
                ((n as u32).div_ceil(256), 1),
            )?);
            Ok::<(), KernelError>(())
        };
        let forward_sg = |gradient: &mut Vec<Dispatch>, ch: &wgpu::Buffer, weights: [&wgpu::Buffer; 3]| {
            let [wit_u, wrt_u, wo_u] = weights;
            gradient.push(make_dispatch(
                Kernel::AlifForwardSg,
                &[
                    &dims,
                    wit_u,
                    wrt_u,
                    wo_u,
                    &x,
                    &y,
                    &counters,
                    &z_c,
                    &thr_c,
                    &psi_c,
                    &sample_out,
                    ch,
                    &state,
                    &z_start,
                    &spikes,
                ],
                (tuning.grad_splits, 1),
            )?);
            Ok::<(), KernelError>(())
        };
        if sg && !eprop_chunked_sg {
            // Both rules on a CPU adapter: the subgroup forward, then BPTT's backward or e-prop's trace adjoint (or,
            // BPTT with T ≤ FUSED_MAX_T, both passes in bptt_fused_sg), each summing both weight-gradient blocks
            // (dense input rows, recurrent rows from z(t−1)) per sample group, then the fixed-order reduction.
            let grad_parts = make("grad_parts")?;
            let (wr_u, wrt_u, wit_u, wo_u) = (make("wr_u")?, make("wrt_u")?, make("wit_u")?, make("wo_u")?);
            pack_weights(&mut gradient, [&wr_u, &wrt_u, &wit_u, &wo_u])?;
            if tuning.fused {
                // BPTT with T ≤ FUSED_MAX_T: forward and backward in one kernel, the records in private arrays.
                gradient.push(make_dispatch(
                    Kernel::BpttFusedSg,
                    &[&dims, &wit_u, &wrt_u, &wo_u, &wr_u, &x, &y, &counters, &z_c, &sample_out, &grad_parts],
                    (tuning.grad_splits, 1),
                )?);
            } else {
                forward_sg(&mut gradient, &chunks[0], [&wit_u, &wrt_u, &wo_u])?;
                let (backward, bindings): (Kernel, &[&wgpu::Buffer]) = if is_eprop {
                    // psi_c holds u = v − A for both rules here (alif_forward_sg on the whole sequence): ψ and z(t−1)
                    // come from it.
                    (Kernel::EpropBackwardSg, &[&dims, &psi_c, &sample_out, &x, &counters, &grad_parts])
                } else {
                    (Kernel::BpttBackwardSg, &[&dims, &wr_u, &thr_c, &psi_c, &sample_out, &x, &counters, &grad_parts])
                };
                gradient.push(make_dispatch(backward, bindings, (tuning.grad_splits, 1))?);
            }
            grad_reduce(&mut gradient, &grad_parts)?;
        } else if is_eprop {
            // e-prop chunk by chunk, on either kernel family: per chunk the forward, eprop_coeffs (on the subgroup
            // kernels only the sources), eprop_traces_sg for the coefficients and the dense input rows (subgroup
            // kernels), eprop_traces for the rest; then the assembly of the gradient.
            let ev_carry = make("ev_carry")?;
            let coef = make("coef")?;
            let scal = make("scal")?;
            let eps_a = make("eps_a")?;
            let e_sum = make("e_sum")?;
            let events = make("events")?;
            let n_events = make("n_events")?;
            let packed = if eprop_chunked_sg {
                let p = [make("wr_u")?, make("wrt_u")?, make("wit_u")?, make("wo_u")?];
                pack_weights(&mut gradient, [&p[0], &p[1], &p[2], &p[3]])?;
                Some(p)
            } else {
                None
            };
            for (c, ch) in chunks.iter().enumerate() {
                match &packed {
                    Some([_, wrt_u, wit_u, wo_u]) => forward_sg(&mut gradient, ch, [wit_u, wrt_u, wo_u])?,
                    None => forward(&mut gradient, c)?,
                }
                gradient.push(make_dispatch(
                    Kernel::EpropCoeffs,
                    &[&dims, ch, &x, &z_c, &psi_c, &z_start, &ev_carry, &coef, &scal, &counters, &events, &n_events],
                    (nb32, 1),
                )?);
                if eprop_chunked_sg {
                    gradient.push(make_dispatch(
                        Kernel::EpropTracesSg,
                        &[&dims, ch, &psi_c, &x, &counters, &ev_carry, &coef, &scal, &eps_a, &e_sum],
                        (tuning.grad_splits, (cfg.n_in.div_ceil(TRACE_ROWS)) as u32),
                    )?);
                }
                // Rows in tiles of 8: all of them, or (after eprop_traces_sg) the recurrent ones.
                let tiles = if eprop_chunked_sg { (n_rec as u32).div_ceil(8) } else { pre_tiles };
                gradient.push(make_dispatch(
                    Kernel::EpropTraces,
                    &[ch, &ev_carry, &coef, &scal, &eps_a, &e_sum, &events, &n_events, &dims, &x, &counters],
                    (tiles, nb32),
                )?);
            }
            let groups = ((n_in * n_rec + n_rec * n_rec) as u32).div_ceil(256);
            gradient.push(make_dispatch(Kernel::EpropAssemble, &[&dims, &w, &e_sum, &sample_out, &grad], (groups, 1))?);
        } else {
            let dv = make("dv")?;
            let grad_parts = make("grad_parts")?;
            // The subgroup kernels' packed weights: 4-byte placeholders here.
            for label in ["wr_u", "wrt_u", "wit_u", "wo_u"] {
                make(label)?;
            }
            forward(&mut gradient, 0)?;
            gradient.push(make_dispatch(
                Kernel::BpttBackward,
                &[&dims, &w, &z_c, &thr_c, &psi_c, &sample_out, &dv, &w],
                (nb32.div_ceil(tuning.samples_per_workgroup), 1),
            )?);
            // The input and recurrent weight-gradient sums from dv and the spike lists.
            gradient.push(make_dispatch(
                Kernel::BpttWeightGrads,
                &[&dims, &x, &dv, &grad_parts, &counters, &spike_t, &n_spikes],
                (pre_tiles, tuning.grad_splits),
            )?);
            grad_reduce(&mut gradient, &grad_parts)?;
        }
        let out_groups = ((n_rec * n_out) as u32).div_ceil(64);
        gradient.push(make_dispatch(Kernel::ReadoutGrads, &[&dims, &w, &sample_out, &grad], (out_groups, 1))?);
        let loss = make_dispatch(Kernel::LossReduce, &[&dims, &w, &sample_out, &losses, &counters], (1, 1))?;
        let adam = make_dispatch(Kernel::Adam, &[&dims, &w, &grad, &m, &v, &counters], (weight_groups, 1))?;
        bytes.input += chunk_info_bytes(config);
        // A kernel's private memory (bptt_fused_sg's records) is counted, not allocated.
        for spec in plan.iter().filter(|s| s.private) {
            bytes.add(spec.role, spec.size);
        }
        let buffers = plan.iter().filter(|s| !s.private).count();
        if created != buffers {
            return Err(KernelError::Input(format!(
                "internal: {created} buffers created but the plan lists {buffers}"
            )));
        }
        // Seconds per timestamp tick, where the adapter has timestamp queries (each call makes its own query sets).
        let timestamp_period = ctx.has_timestamps.then(|| queue.get_timestamp_period() as f64 * 1e-9);
        // bptt_fused_sg has no forward of its own: no evaluation on the device (the caller evaluates on the host).
        let mut forward = forward_recipes.into_inner();
        if !forward.iter().any(|r| r.stem == Kernel::AlifForward.stem() || r.stem == Kernel::AlifForwardSg.stem()) {
            forward.clear();
        }
        Ok(Self {
            device,
            queue,
            config: TrainerConfig { max_steps: config.max_steps.max(1), ..config.clone() },
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
            spikes: if is_eprop && !eprop_one { spikes } else { z_c },
            z_history: !is_eprop || eprop_one,
            gradient,
            forward,
            loss,
            adam,
            timestamp_period,
            bytes,
            compiled_ahead: None,
        })
    }
}
