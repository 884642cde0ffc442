// bptt_weight_grads — BPTT's input and recurrent gradient sums over one group of samples:
//   part[s, i, j] = Σ_{b in group s} Σ_t x_bi(t) dv_bj(t)                  (i < N_IN: a matrix product over (b, t))
//   part[s, i, j] = Σ_{b in group s} Σ_{t: z_bi(t−1) = 1} dv_bj(t)         (i ≥ N_IN: only the spikes of neuron i,
//                                                                            listed by alif_forward)
// bptt_grad_reduce adds the GRAD_SPLITS groups in a fixed order and scales them (so the result does not depend on
// scheduling). The general kernels' path (GPUs, or SNNBENCH_BPTT_SG=0); on CPU adapters the subgroup backward
// kernels sum both blocks themselves (bptt_backward_sg.wgsl). Splitting the minibatch gives a GPU
// ⌈N_PRE/8⌉ × GRAD_SPLITS workgroups. One thread: 8 presynaptic rows × 4 posts (vec4); loops over rows have
// constant trip counts so the accumulators stay in registers.
// Bindings: 0 dims | 1 x [B,T,N_IN] | 2 dv [N,T,N_RECP] (vec4) | 3 part [GRAD_SPLITS,N_PRE,N_RECP] (vec4)
//           4 counters [2] u32 | 5 spike_t [N,N_REC,T] u32 | 6 n_spikes [N,N_REC] u32
// Dispatch: (⌈N_PRE / 8⌉, GRAD_SPLITS, 1) workgroups of 32 threads (thread l → post quad l < NQ).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dv: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> counters: array<u32>;
@group(0) @binding(5) var<storage, read> spike_t: array<u32>;
@group(0) @binding(6) var<storage, read> n_spikes: array<u32>;

@compute @workgroup_size(32)
fn bptt_weight_grads(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q4 = lid;
    if q4 >= NQ { return; }
    let i0 = wg.x * 8u;
    let n_t = dims.t_steps;
    // Samples of this group: a contiguous range of the minibatch.
    let range = sample_group(wg.y, GRAD_SPLITS, dims.n_batch);
    let b_lo = range.x;
    let b_hi = range.y;
    var acc: array<vec4<f32>, 8>;
    for (var r = 0u; r < 8u; r++) { acc[r] = vec4<f32>(0.0); }
    let n_dense = min(select(0u, N_IN - i0, i0 < N_IN), 8u);
    if n_dense > 0u {
        for (var b = b_lo; b < b_hi; b++) {
            let s = (counters[1] * dims.n_batch + b) % dims.n_total;
            for (var t = 0u; t < n_t; t++) {
                let d = dv[(b * TC + t) * NQ + q4];
                let xr = (s * n_t + t) * N_IN + i0;
                for (var r = 0u; r < 8u; r++) {
                    if r < n_dense { acc[r] = acc[r] + x[xr + r] * d; }
                }
            }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        let i = i0 + r;
        if i < N_IN || i >= N_PRE { continue; }
        for (var b = b_lo; b < b_hi; b++) {
            let row = b * N_REC + i - N_IN;
            let n = n_spikes[row];
            for (var e = 0u; e < n; e++) {
                let t = spike_t[row * n_t + e] + 1u; // z_i(t−1) = 1 feeds v(t)
                if t < n_t { acc[r] = acc[r] + dv[(b * TC + t) * NQ + q4]; }
            }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        let i = i0 + r;
        if i >= N_PRE { break; }
        part[(wg.y * N_PRE + i) * NQ + q4] = acc[r];
    }
}
