// bptt_weight_grads — BPTT's input and recurrent gradients of the minibatch:
//   g_in[i,j]  = (1−α)/N Σ_b Σ_t x_bi(t) dv_bj(t)                         + 2·l2·W   (a matrix product over (b, t))
//   g_rec[i,j] = (1−α)/N Σ_b Σ_{t: z_bi(t−1) = 1} dv_bj(t)                + 2·l2·W   (only the spikes of neuron i,
//                                                                                      listed by alif_forward)
// (g_out comes from readout_grads.) One thread: 8 presynaptic rows × 4 posts (vec4); loops over rows have constant
// trip counts so the accumulators stay in registers.
// Bindings: 0 dims | 1 x [B,T,N_IN] | 2 w [N_W] | 3 dv [N,T,N_RECP] (vec4) | 4 grad [N_W] | 5 counters [2] u32
//           6 spike_t [N,N_REC,T] u32 | 7 n_spikes [N,N_REC] u32
// Dispatch: (⌈N_PRE / 8⌉, 1, 1) workgroups of 32 threads (thread l → post quad l < NQ).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dv: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read> counters: array<u32>;
@group(0) @binding(6) var<storage, read> spike_t: array<u32>;
@group(0) @binding(7) var<storage, read> n_spikes: array<u32>;

@compute @workgroup_size(32)
fn bptt_weight_grads(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q4 = lid;
    if q4 >= NQ { return; }
    let i0 = wg.x * 8u;
    let n_t = dims.t_steps;
    var acc: array<vec4<f32>, 8>;
    for (var r = 0u; r < 8u; r++) { acc[r] = vec4<f32>(0.0); }
    let n_dense = min(select(0u, N_IN - i0, i0 < N_IN), 8u);
    if n_dense > 0u {
        for (var b = 0u; b < dims.n_batch; b++) {
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
        if r < n_dense || i >= N_PRE { continue; }
        for (var b = 0u; b < dims.n_batch; b++) {
            let row = b * N_REC + i - N_IN;
            let n = n_spikes[row];
            for (var e = 0u; e < n; e++) {
                let t = spike_t[row * n_t + e] + 1u; // z_i(t−1) = 1 feeds v(t)
                if t < n_t { acc[r] = acc[r] + dv[(b * TC + t) * NQ + q4]; }
            }
        }
    }
    let inv_n = 1.0 / f32(dims.n_batch);
    for (var r = 0u; r < 8u; r++) {
        let i = i0 + r;
        if i >= N_PRE { break; }
        for (var c = 0u; c < 4u; c++) {
            let j = 4u * q4 + c;
            if j < N_REC {
                var idx: u32;
                if i < N_IN { idx = i * N_REC + j; } else { idx = W_REC_OFF + (i - N_IN) * N_REC + j; }
                grad[idx] = OM_ALPHA * acc[r][c] * inv_n + 2.0 * dims.l2 * w[idx];
            }
        }
    }
}
