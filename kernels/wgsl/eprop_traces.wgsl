// eprop_traces — every synapse's e-prop state advanced by one chunk (see eprop_coeffs for the algebra):
//   E[i,j]   += scal_E[j]·ε^a[i,j] + Σ_q src[q,i]·lam[q,j]
//   ε^a[i,j]  = P[j]·ε^a[i,j]      + Σ_q src[q,i]·gam[q,j]          q = 0..tc (q = 0 is the ε^v carry)
// (after the last chunk only E), a small matrix product per sample. Sources: q = 0 is ε^v at the chunk's start
// (ev_carry, dense for every row); input rows then read x(t0 + q − 1) directly; recurrent rows read only their
// spikes, from the event lists of eprop_coeffs (a spike is exactly 1). Autapse
// synapses (recurrent i = j) stay 0. One thread: 8 presynaptic rows × 4 posts (vec4).
// Bindings: 0 chunk | 1 ev_carry [2,N,N_PRE] | 2 coef [N,2,TC+1,N_RECP] (vec4) | 3 scal [N,2,N_RECP] (vec4)
//           4 eps_a [N,N_PRE,N_RECP] (vec4) | 5 e_sum [N,N_PRE,N_RECP] (vec4) | 6 events [N,N_REC,TC] u32
//           7 n_events [N,N_REC] u32 | 8 dims | 9 x [B,T,N_IN] | 10 counters [2] u32
// With DENSE_IN_BACKWARD (e-prop over several chunks on CPU adapters) eprop_traces_sg has advanced the input rows and
// written the coefficients; this kernel does the recurrent rows only.
// Dispatch: (⌈N_PRE / 8⌉, N, 1) workgroups of 32 threads (thread l → post quad l < NQ); (⌈N_REC / 8⌉, N, 1) with
// DENSE_IN_BACKWARD.

@group(0) @binding(0) var<uniform> chunk: Chunk;
@group(0) @binding(1) var<storage, read> ev_carry: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scal: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> eps_a: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> e_sum: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> events: array<u32>;
@group(0) @binding(7) var<storage, read> n_events: array<u32>;
@group(0) @binding(8) var<uniform> dims: Dims;
@group(0) @binding(9) var<storage, read> x: array<f32>;
@group(0) @binding(10) var<storage, read> counters: array<u32>;

@compute @workgroup_size(32)
fn eprop_traces(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q4 = lid;
    if q4 >= NQ { return; }
    let b = wg.y;
    // DENSE_IN_BACKWARD: the input rows are eprop_traces_sg's; this kernel takes the recurrent rows from N_IN.
    let i0 = select(0u, N_IN, DENSE_IN_BACKWARD) + wg.x * 8u;
    let ca = scal[b * 2u * NQ + q4];
    let pp = scal[b * 2u * NQ + NQ + q4];
    var acc_e: array<vec4<f32>, 8>;
    var acc_a: array<vec4<f32>, 8>;
    for (var r = 0u; r < 8u; r++) {
        let i = min(i0 + r, N_PRE - 1u);
        let idx = (b * N_PRE + i) * NQ + q4;
        var ea = vec4<f32>(0.0);
        var es = vec4<f32>(0.0);
        if chunk.index > 0u {
            ea = eps_a[idx];
            es = e_sum[idx];
        }
        acc_e[r] = es + ca * ea;
        acc_a[r] = pp * ea;
    }
    let s = (counters[1] * dims.n_batch + b) % dims.n_total;
    let ev0 = (chunk.index % 2u) * dims.n_batch * N_PRE + b * N_PRE;
    let cb = b * 2u * (TC + 1u) * NQ;
    let update_a = !is_last_chunk(chunk, dims.t_steps); // after the last chunk ε^a is never read again
    // q = 0: the ε^v carry, dense for every row (zero before the first chunk).
    if chunk.index > 0u {
        let lam = coef[cb + q4];
        let gam = coef[cb + (TC + 1u) * NQ + q4];
        for (var r = 0u; r < 8u; r++) {
            let sv = ev_carry[ev0 + min(i0 + r, N_PRE - 1u)];
            acc_e[r] = acc_e[r] + sv * lam;
            acc_a[r] = acc_a[r] + sv * gam;
        }
    }
    // Input rows: dense sources x(t).
    let n_dense = min(select(0u, N_IN - i0, i0 < N_IN), 8u);
    if n_dense > 0u && update_a {
        for (var q = 1u; q <= chunk.tc; q++) {
            let lam = coef[cb + q * NQ + q4];
            let gam = coef[cb + (TC + 1u + q) * NQ + q4];
            // Constant trip counts keep the accumulators in registers (runtime indices would spill them).
            for (var r = 0u; r < 8u; r++) {
                if r < n_dense {
                    let sv = x[(s * dims.t_steps + chunk.t0 + q - 1u) * N_IN + i0 + r];
                    acc_e[r] = acc_e[r] + sv * lam;
                    acc_a[r] = acc_a[r] + sv * gam;
                }
            }
        }
    } else if n_dense > 0u {
        for (var q = 1u; q <= chunk.tc; q++) {
            let lam = coef[cb + q * NQ + q4];
            for (var r = 0u; r < 8u; r++) {
                if r < n_dense { acc_e[r] = acc_e[r] + x[(s * dims.t_steps + chunk.t0 + q - 1u) * N_IN + i0 + r] * lam; }
            }
        }
    }
    // Recurrent rows: their spikes only.
    for (var r = 0u; r < 8u; r++) {
        let i = i0 + r;
        if r < n_dense || i >= N_PRE { continue; }
        let row = b * N_REC + i - N_IN;
        let n = n_events[row];
        for (var e = 0u; e < n; e++) {
            let q = events[row * TC + e];
            acc_e[r] = acc_e[r] + coef[cb + q * NQ + q4];
            if update_a { acc_a[r] = acc_a[r] + coef[cb + (TC + 1u + q) * NQ + q4]; }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        let i = i0 + r;
        if i < N_PRE {
            var me = acc_e[r];
            var ma = acc_a[r];
            if i >= N_IN {
                // The autapse (recurrent i → i) has no trace.
                for (var c = 0u; c < 4u; c++) {
                    if 4u * q4 + c == i - N_IN { me[c] = 0.0; ma[c] = 0.0; }
                }
            }
            let idx = (b * N_PRE + i) * NQ + q4;
            e_sum[idx] = me;
            eps_a[idx] = ma;
        }
    }
}
