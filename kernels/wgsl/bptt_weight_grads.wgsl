// bptt_weight_grads — BPTT gradients of the minibatch, one thread per weight (flat w_in | w_rec | w_out):
//   g_in[i,j]  = (1−α)/N Σ_b Σ_t x_bi(t) dv_bj(t)          + 2·l2·W
//   g_rec[i,j] = (1−α)/N Σ_b Σ_{t≥1} z_bi(t−1) dv_bj(t)     + 2·l2·W   (zero spikes skipped)
//   g_out[j,k] = 1/N Σ_b Σz̄_bj err_bk / T                  + 2·l2·W
// Bindings: 0 dims | 1 x [B,T,N_IN] | 2 w [N_W] | 3 z_hist [N,T,N_REC] | 4 dv_hist [N,T,N_REC]
//           5 sample_out [N,S_OUT] | 6 grad [N_W] | 7 counters [2] u32
// Dispatch: (⌈N_W / 256⌉, 1, 1), workgroups of 256.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> z_hist: array<f32>;
@group(0) @binding(4) var<storage, read> dv_hist: array<f32>;
@group(0) @binding(5) var<storage, read> sample_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;
@group(0) @binding(7) var<storage, read> counters: array<u32>;

@compute @workgroup_size(256)
fn bptt_weight_grads(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if idx >= N_W { return; }
    let n_t = dims.t_steps;
    var acc = 0.0;
    if idx < W_REC_OFF {
        let i = idx / N_REC;
        let j = idx % N_REC;
        for (var b = 0u; b < dims.n_batch; b++) {
            let s = (counters[1] * dims.n_batch + b) % dims.n_total;
            for (var t = 0u; t < n_t; t++) {
                let xi = x[(s * n_t + t) * N_IN + i];
                if xi != 0.0 { acc = acc + xi * dv_hist[(b * n_t + t) * N_REC + j]; }
            }
        }
        acc = OM_ALPHA * acc;
    } else if idx < W_OUT_OFF {
        let r = idx - W_REC_OFF;
        let i = r / N_REC;
        let j = r % N_REC;
        for (var b = 0u; b < dims.n_batch; b++) {
            for (var t = 1u; t < n_t; t++) {
                if z_hist[(b * n_t + t - 1u) * N_REC + i] != 0.0 { acc = acc + dv_hist[(b * n_t + t) * N_REC + j]; }
            }
        }
        acc = OM_ALPHA * acc;
    } else {
        let r = idx - W_OUT_OFF;
        let j = r / N_OUT;
        let k = r % N_OUT;
        for (var b = 0u; b < dims.n_batch; b++) {
            acc = acc + sample_out[b * S_OUT + j] * sample_out[b * S_OUT + O_ERR + k] / f32(n_t);
        }
    }
    grad[idx] = acc / f32(dims.n_batch) + 2.0 * dims.l2 * w[idx];
}
