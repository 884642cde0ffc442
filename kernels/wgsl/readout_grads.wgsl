// readout_grads — the readout gradient (the same for both rules), one thread per W_out entry:
//   g_out[j,k] = (1/N) Σ_b Σz̄_bj err_bk / W + 2·l2·W_out[j,k]
// Bindings: 0 dims | 1 w [N_W] | 2 sample_out [N,S_OUT] | 3 grad [N_W]
// Dispatch: (⌈N_REC·N_OUT / 64⌉, 1, 1), workgroups of 64.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> sample_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(64)
fn readout_grads(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if r >= N_REC * N_OUT { return; }
    let j = r / N_OUT;
    let k = r % N_OUT;
    let n_t = window_len(dims.t_steps, dims.window);
    var acc = 0.0;
    for (var b = 0u; b < dims.n_batch; b++) {
        acc = acc + sample_out[b * S_OUT + j] * sample_out[b * S_OUT + O_ERR + k] / n_t;
    }
    let idx = W_OUT_OFF + r;
    grad[idx] = acc / f32(dims.n_batch) + 2.0 * dims.l2 * w[idx];
}
