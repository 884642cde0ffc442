// eprop_train — one whole e-prop sample per workgroup: the ALIF forward pass and the eligibility traces, forward in
// time, with memory constant in T. Thread j owns post-synaptic neuron j (its state lives in registers).
//
//   a = ρa + (1−ρ)z(t−1);  A = v_th + βa;  v = αv + (1−α)(W_inᵀx(t) + W_recᵀz(t−1)) − z(t−1)A;  z = H(v−A)
//   ψ = ψ(v−A);  z̄ = κz̄ + z;  Σz̄ += z̄
//   ε^v_i = αε^v_i + pre_i                                  (per presynaptic source, workgroup memory)
//   authors: ε^a_ij = (ρ−(1−ρ)βψ_j)ε^a_ij + (1−ρ)(1−α)ψ_j ε^v_i;  e_ij = ψ_j((1−α)ε^v_i − βε^a_ij)
//   aligned: e_ij from the old ε^a_ij, then the update
//   E_ij += c_t e_ij with c_t = (1−κ^{T−t})/(1−κ) = Σ_{t'≥t} κ^{t'−t}: equals Σ_t ē_ij(t) without storing ē.
// After the last step: logits = W_outᵀ Σz̄ / T, err = softmax − onehot, CE, L_j = Σ_k err_k W_out[j,k] / T.
// Autapse traces (recurrent i = j) stay 0.
//
// Bindings: 0 dims (uniform) | 1 x [B,T,N_IN] f32 | 2 y [B] u32 | 3 w [N_W] | 4 eps_a [N,N_PRE,N_REC]
//           5 e_sum [N,N_PRE,N_REC] | 6 sample_out [N,S_OUT] | 7 spikes [N,T,N_REC] u32 | 8 counters [2] u32
// Dispatch: (N, 1, 1) workgroups of WG ≥ N_REC threads.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> eps_a: array<f32>;
@group(0) @binding(5) var<storage, read_write> e_sum: array<f32>;
@group(0) @binding(6) var<storage, read_write> sample_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> spikes: array<u32>;
@group(0) @binding(8) var<storage, read> counters: array<u32>;

var<workgroup> x_s: array<f32, N_IN>;
var<workgroup> ev_in: array<f32, N_IN>;
var<workgroup> ev_rec: array<f32, N_REC>;
var<workgroup> z_prev: array<f32, N_REC>;
var<workgroup> zsum_s: array<f32, N_REC>;
var<workgroup> err_s: array<f32, N_OUT>;

@compute @workgroup_size(WG)
fn eprop_train(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wg.x;
    let s = (counters[1] * dims.n_batch + b) % dims.n_total;
    let n_t = dims.t_steps;
    let j = lid;
    let owns = j < N_REC;
    let base = b * N_PRE * N_REC;
    if owns {
        for (var i = 0u; i < N_PRE; i++) {
            eps_a[base + i * N_REC + j] = 0.0;
            e_sum[base + i * N_REC + j] = 0.0;
        }
    }
    for (var i = lid; i < N_IN; i += WG) { ev_in[i] = 0.0; }
    for (var i = lid; i < N_REC; i += WG) { ev_rec[i] = 0.0; z_prev[i] = 0.0; }
    var v = 0.0;
    var a = 0.0;
    var zp = 0.0;
    var zbar = 0.0;
    var zsum = 0.0;
    workgroupBarrier();
    for (var t = 0u; t < n_t; t++) {
        let xrow = (s * n_t + t) * N_IN;
        for (var i = lid; i < N_IN; i += WG) {
            let xi = x[xrow + i];
            x_s[i] = xi;
            ev_in[i] = ALPHA * ev_in[i] + xi;
        }
        for (var i = lid; i < N_REC; i += WG) { ev_rec[i] = ALPHA * ev_rec[i] + z_prev[i]; }
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
            let p = psi(u);
            zbar = KAPPA * zbar + z;
            zsum = zsum + zbar;
            if dims.record_spikes != 0u { spikes[(b * n_t + t) * N_REC + j] = u32(z); }
            let decay = RHO - OM_RHO * BETA * p;
            let gain = OM_RHO * OM_ALPHA * p;
            let pc = p * (1.0 - pow(KAPPA, f32(n_t - t))) / (1.0 - KAPPA);
            for (var i = 0u; i < N_PRE; i++) {
                if i == N_IN + j { continue; }
                var ev: f32;
                if i < N_IN { ev = ev_in[i]; } else { ev = ev_rec[i - N_IN]; }
                let idx = base + i * N_REC + j;
                let old = eps_a[idx];
                let ea = decay * old + gain * ev;
                eps_a[idx] = ea;
                if TRACE_ALIGNED {
                    e_sum[idx] = e_sum[idx] + pc * (OM_ALPHA * ev - BETA * old);
                } else {
                    e_sum[idx] = e_sum[idx] + pc * (OM_ALPHA * ev - BETA * ea);
                }
            }
        }
        workgroupBarrier();
        if owns { z_prev[j] = z; zp = z; }
        workgroupBarrier();
    }
    finish_sample(b, s, lid, zsum);
}
