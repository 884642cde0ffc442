// bptt_backward — adjoints backwards in time, SPW samples per workgroup (each W_rec quad read once per step serves
// all of them); thread j owns neuron j of every sample of the workgroup:
//   dz̄(t) = L_j [t in the readout window] + κ dz̄(t+1)
//   dz(t) = dz̄(t) + (1−α) Σ_k W_rec[j,k] dv_k(t+1) − A_j(t+1) dv_j(t+1) + (1−ρ) da_j(t+1)
//   du = dz ψ(t);  dv(t) = du + α dv(t+1);  dA = −du − z_j(t−1) dv(t);  da(t) = β_j dA + ρ da(t+1)
// DETACH_RESET drops both reset terms (−A dv and −z dv); STOP_RECURRENT drops the W_rec term (e-prop's identity).
// The recurrent sum reads dv(t+1) from workgroup memory as quads. History buffers hold the whole sequence
// (TC = T for BPTT). Writes dv [N, T, N_RECP] for bptt_weight_grads.
// Bindings: 0 dims | 1 w [N_W] | 2 z_c | 3 thr_c | 4 psi_c [N,T,N_RECP] | 5 sample_out [N,S_OUT] | 6 dv [N,T,N_RECP]
//           7 w again, as vec4
// Dispatch: (⌈N / SPW⌉, 1, 1) workgroups of WG ≥ N_REC threads (SPW from the generated header).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> z_c: array<f32>;
@group(0) @binding(3) var<storage, read> thr_c: array<f32>;
@group(0) @binding(4) var<storage, read> psi_c: array<f32>;
@group(0) @binding(5) var<storage, read> sample_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv_hist: array<f32>;
// The same weights as `w`, read as quads by weight_quad (weight_quads.wgsl).
@group(0) @binding(7) var<storage, read> w4: array<vec4<f32>>;

var<workgroup> dv_next_s: array<vec4<f32>, NQ * SPW>;

@compute @workgroup_size(WG)
fn bptt_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b0 = wg.x * SPW;
    let n_t = dims.t_steps;
    let j = lid;
    let owns = j < N_REC;
    let ws = window_start(n_t, dims.window);
    let beta = beta_of(j, dims.n_lif);
    for (var q = lid; q < NQ * SPW; q += WG) { dv_next_s[q] = vec4<f32>(0.0); }
    var sig: array<f32, SPW>;
    var dzbar: array<f32, SPW>;
    var dv_next: array<f32, SPW>;
    var da_next: array<f32, SPW>;
    var dv: array<f32, SPW>;
    for (var s = 0u; s < SPW; s++) {
        let b = min(b0 + s, dims.n_batch - 1u);
        sig[s] = 0.0;
        if owns { sig[s] = sample_out[b * S_OUT + O_SIG + j]; }
        dzbar[s] = 0.0;
        dv_next[s] = 0.0;
        da_next[s] = 0.0;
        dv[s] = 0.0;
    }
    workgroupBarrier();
    for (var tt = 0u; tt < n_t; tt++) {
        let t = n_t - 1u - tt;
        if owns {
            var acc: array<vec4<f32>, SPW>;
            for (var s = 0u; s < SPW; s++) { acc[s] = vec4<f32>(0.0); }
            if !STOP_RECURRENT && t + 1u < n_t {
                for (var q = 0u; q < NQ; q++) {
                    let wv = weight_quad(W_REC_OFF + j * N_REC, q);
                    for (var s = 0u; s < SPW; s++) { acc[s] = acc[s] + wv * dv_next_s[s * NQ + q]; }
                }
            }
            for (var s = 0u; s < SPW; s++) {
                let b = min(b0 + s, dims.n_batch - 1u);
                let h = (b * TC + t) * N_RECP + j;
                let rec_back = (acc[s].x + acc[s].y) + (acc[s].z + acc[s].w);
                dzbar[s] = select(0.0, sig[s], t >= ws) + KAPPA * dzbar[s];
                var dz = dzbar[s] + OM_ALPHA * rec_back + OM_RHO * da_next[s];
                if !DETACH_RESET && t + 1u < n_t { dz = dz - thr_c[h + N_RECP] * dv_next[s]; }
                let du = dz * psi_c[h];
                let d = du + ALPHA * dv_next[s];
                var d_thr = -du;
                if !DETACH_RESET && t > 0u { d_thr = d_thr - z_c[h - N_RECP] * d; }
                da_next[s] = beta * d_thr + RHO * da_next[s];
                dv[s] = d;
                if b0 + s < dims.n_batch { dv_hist[h] = d; }
            }
        }
        workgroupBarrier();
        if owns {
            for (var s = 0u; s < SPW; s++) {
                dv_next_s[s * NQ + j / 4u][j % 4u] = dv[s];
                dv_next[s] = dv[s];
            }
        }
        workgroupBarrier();
    }
}
