// bptt_forward — the ALIF forward pass of one sample per workgroup, storing what the backward pass needs:
// z(t), A(t) and ψ(t) for every step ([N, T, N_REC] each: BPTT's history, linear in T). Same step as eprop_train:
//   a = ρa + (1−ρ)z(t−1);  A = v_th + βa;  v = αv + (1−α)(W_inᵀx(t) + W_recᵀz(t−1)) − z(t−1)A;  z = H(v−A)
// then the readout (readout.wgsl): logits, err, CE, L_j.
// Bindings: 0 dims | 1 x [B,T,N_IN] | 2 y [B] u32 | 3 w [N_W] | 4 z_hist | 5 thr_hist | 6 psi_hist [N,T,N_REC]
//           7 sample_out [N,S_OUT] | 8 counters [2] u32
// Dispatch: (N, 1, 1) workgroups of WG ≥ N_REC threads.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> z_hist: array<f32>;
@group(0) @binding(5) var<storage, read_write> thr_hist: array<f32>;
@group(0) @binding(6) var<storage, read_write> psi_hist: array<f32>;
@group(0) @binding(7) var<storage, read_write> sample_out: array<f32>;
@group(0) @binding(8) var<storage, read> counters: array<u32>;

var<workgroup> x_s: array<f32, N_IN>;
var<workgroup> z_prev: array<f32, N_REC>;
var<workgroup> zsum_s: array<f32, N_REC>;
var<workgroup> err_s: array<f32, N_OUT>;

@compute @workgroup_size(WG)
fn bptt_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wg.x;
    let s = (counters[1] * dims.n_batch + b) % dims.n_total;
    let n_t = dims.t_steps;
    let j = lid;
    let owns = j < N_REC;
    for (var i = lid; i < N_REC; i += WG) { z_prev[i] = 0.0; }
    var v = 0.0;
    var a = 0.0;
    var zp = 0.0;
    var zbar = 0.0;
    var zsum = 0.0;
    workgroupBarrier();
    for (var t = 0u; t < n_t; t++) {
        let xrow = (s * n_t + t) * N_IN;
        for (var i = lid; i < N_IN; i += WG) { x_s[i] = x[xrow + i]; }
        workgroupBarrier();
        var z = 0.0;
        if owns {
            var cur = 0.0;
            for (var i = 0u; i < N_IN; i++) {
                let xi = x_s[i];
                if xi != 0.0 { cur = cur + w[i * N_REC + j] * xi; }
            }
            for (var i = 0u; i < N_REC; i++) {
                if z_prev[i] != 0.0 { cur = cur + w[W_REC_OFF + i * N_REC + j]; }
            }
            a = RHO * a + OM_RHO * zp;
            let thr = V_TH + BETA * a;
            v = ALPHA * v + OM_ALPHA * cur - zp * thr;
            let u = v - thr;
            z = select(0.0, 1.0, u > 0.0);
            zbar = KAPPA * zbar + z;
            zsum = zsum + zbar;
            let h = (b * n_t + t) * N_REC + j;
            z_hist[h] = z;
            thr_hist[h] = thr;
            psi_hist[h] = psi(u);
        }
        workgroupBarrier();
        if owns { z_prev[j] = z; zp = z; }
        workgroupBarrier();
    }
    finish_sample(b, s, lid, zsum);
}
