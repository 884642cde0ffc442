// bptt_weight_grads — BPTT's input and recurrent gradients of the minibatch as one matrix product over (b, t):
//   g_in[i,j]  = (1−α)/N Σ_b Σ_t x_bi(t) dv_bj(t)          + 2·l2·W
//   g_rec[i,j] = (1−α)/N Σ_b Σ_{t≥1} z_bi(t−1) dv_bj(t)     + 2·l2·W   (zero spikes skipped)
// (g_out comes from readout_grads.) One thread: 8 presynaptic rows × 4 posts (vec4).
// Bindings: 0 dims | 1 x [B,T,N_IN] | 2 w [N_W] | 3 z_c [N,T,N_RECP] | 4 dv [N,T,N_RECP] (vec4) | 5 grad [N_W]
//           6 counters [2] u32
// Dispatch: (⌈N_PRE / 8⌉, 1, 1) workgroups of 32 threads (thread l → post quad l < NQ).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> z_c: array<f32>;
@group(0) @binding(4) var<storage, read> dv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;
@group(0) @binding(6) var<storage, read> counters: array<u32>;

fn source(i: u32, b: u32, s: u32, t: u32) -> f32 {
    if i < N_IN { return x[(s * dims.t_steps + t) * N_IN + i]; }
    if t == 0u { return 0.0; }
    return z_c[(b * TC + t - 1u) * N_RECP + i - N_IN];
}

@compute @workgroup_size(32)
fn bptt_weight_grads(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q4 = lid;
    if q4 >= NQ { return; }
    let i0 = wg.x * 8u;
    var acc: array<vec4<f32>, 8>;
    for (var r = 0u; r < 8u; r++) { acc[r] = vec4<f32>(0.0); }
    for (var b = 0u; b < dims.n_batch; b++) {
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
        for (var t = 0u; t < dims.t_steps; t++) {
            let d = dv[(b * TC + t) * NQ + q4];
            for (var r = 0u; r < 8u; r++) {
                let sv = source(min(i0 + r, N_PRE - 1u), b, s, t);
                if sv != 0.0 { acc[r] = acc[r] + sv * d; }
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
