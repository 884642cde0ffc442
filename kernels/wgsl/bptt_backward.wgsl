// bptt_backward — adjoints of one sample per workgroup, backwards in time; thread j owns neuron j:
//   dz̄(t) = L_j + κ dz̄(t+1)
//   dz(t) = dz̄(t) + (1−α) Σ_k W_rec[j,k] dv_k(t+1) − A_j(t+1) dv_j(t+1) + (1−ρ) da_j(t+1)
//   du = dz ψ(t);  dv(t) = du + α dv(t+1);  dA = −du − z_j(t−1) dv(t);  da(t) = β dA + ρ da(t+1)
// DETACH_RESET drops both reset terms (−A dv and −z dv); STOP_RECURRENT drops the W_rec term (e-prop's identity).
// The recurrent sum reads dv(t+1) from workgroup memory as quads. History buffers hold the whole sequence
// (TC = T for BPTT). Writes dv [N, T, N_RECP] for bptt_weight_grads.
// Bindings: 0 dims | 1 w [N_W] | 2 z_c | 3 thr_c | 4 psi_c [N,T,N_RECP] | 5 sample_out [N,S_OUT] | 6 dv [N,T,N_RECP]
// Dispatch: (N, 1, 1) workgroups of WG ≥ N_REC threads.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> z_c: array<f32>;
@group(0) @binding(3) var<storage, read> thr_c: array<f32>;
@group(0) @binding(4) var<storage, read> psi_c: array<f32>;
@group(0) @binding(5) var<storage, read> sample_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv_hist: array<f32>;

var<workgroup> dv_next_s: array<vec4<f32>, NQ>;

fn w_rec_row4(j: u32, q: u32) -> vec4<f32> {
    let k = 4u * q;
    let base = W_REC_OFF + j * N_REC + k;
    if k + 3u < N_REC {
        return vec4<f32>(w[base], w[base + 1u], w[base + 2u], w[base + 3u]);
    }
    var r = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) { if k + c < N_REC { r[c] = w[base + c]; } }
    return r;
}

@compute @workgroup_size(WG)
fn bptt_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wg.x;
    let n_t = dims.t_steps;
    let j = lid;
    let owns = j < N_REC;
    for (var q = lid; q < NQ; q += WG) { dv_next_s[q] = vec4<f32>(0.0); }
    var sig = 0.0;
    if owns { sig = sample_out[b * S_OUT + O_SIG + j]; }
    var dzbar = 0.0;
    var dv_next = 0.0;
    var da_next = 0.0;
    workgroupBarrier();
    for (var tt = 0u; tt < n_t; tt++) {
        let t = n_t - 1u - tt;
        var dv = 0.0;
        if owns {
            let h = (b * TC + t) * N_RECP + j;
            var rec_back = 0.0;
            if !STOP_RECURRENT && t + 1u < n_t {
                var acc = vec4<f32>(0.0);
                for (var q = 0u; q < NQ; q++) { acc = acc + w_rec_row4(j, q) * dv_next_s[q]; }
                rec_back = (acc.x + acc.y) + (acc.z + acc.w);
            }
            dzbar = sig + KAPPA * dzbar;
            var dz = dzbar + OM_ALPHA * rec_back + OM_RHO * da_next;
            if !DETACH_RESET && t + 1u < n_t { dz = dz - thr_c[h + N_RECP] * dv_next; }
            let du = dz * psi_c[h];
            dv = du + ALPHA * dv_next;
            var d_thr = -du;
            if !DETACH_RESET && t > 0u { d_thr = d_thr - z_c[h - N_RECP] * dv; }
            da_next = BETA * d_thr + RHO * da_next;
            dv_hist[h] = dv;
        }
        workgroupBarrier();
        if owns { dv_next_s[j / 4u][j % 4u] = dv; dv_next = dv; }
        workgroupBarrier();
    }
}
