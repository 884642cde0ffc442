// eprop_traces — every synapse's e-prop state advanced by one chunk (see eprop_coeffs for the algebra):
//   E[i,j]   += scal_E[j]·ε^a[i,j] + Σ_q src[q,i]·lam[q,j]
//   ε^a[i,j]  = P[j]·ε^a[i,j]      + Σ_q src[q,i]·gam[q,j]          q = 0..tc (q = 0 is the ε^v carry)
// a small matrix product per sample; zero sources (recurrent spikes are ≈ 99 % zeros) are skipped. Autapse
// synapses (recurrent i = j) stay 0. One thread: 8 presynaptic rows × 4 posts (vec4).
// Bindings: 0 chunk | 1 src [N,TC+1,N_PRE] | 2 coef [N,2,TC+1,N_RECP] (vec4) | 3 scal [N,2,N_RECP] (vec4)
//           4 eps_a [N,N_PRE,N_RECP] (vec4) | 5 e_sum [N,N_PRE,N_RECP] (vec4)
// Dispatch: (⌈N_PRE / 8⌉, N, 1) workgroups of 32 threads (thread l → post quad l < NQ).

@group(0) @binding(0) var<uniform> chunk: Chunk;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scal: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> eps_a: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> e_sum: array<vec4<f32>>;

@compute @workgroup_size(32)
fn eprop_traces(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q4 = lid;
    if q4 >= NQ { return; }
    let b = wg.y;
    let i0 = wg.x * 8u;
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
    let sb = b * (TC + 1u) * N_PRE;
    let cb = b * 2u * (TC + 1u) * NQ;
    for (var q = 0u; q <= chunk.tc; q++) {
        let lam = coef[cb + q * NQ + q4];
        let gam = coef[cb + (TC + 1u + q) * NQ + q4];
        for (var r = 0u; r < 8u; r++) {
            let i = min(i0 + r, N_PRE - 1u);
            let sv = src[sb + q * N_PRE + i];
            if sv != 0.0 {
                acc_e[r] = acc_e[r] + sv * lam;
                acc_a[r] = acc_a[r] + sv * gam;
            }
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
