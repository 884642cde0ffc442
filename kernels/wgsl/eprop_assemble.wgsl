// eprop_assemble — e-prop's input and recurrent gradients of the minibatch, one thread per weight (flat index into
// w_in | w_rec; g_out comes from readout_grads):
//   g_in[i,j]  = (1/N) Σ_b L_bj E_b[i,j]            + 2·l2·W      (E from eprop_traces, L from sample_out)
//   g_rec[i,j] = (1/N) Σ_b L_bj E_b[N_IN+i, j]       + 2·l2·W      (autapse E = 0: only its L2 term)
// Bindings: 0 dims | 1 w [N_W] | 2 e_sum [N,N_PRE,N_RECP] | 3 sample_out [N,S_OUT] | 4 grad [N_W]
// Dispatch: (⌈W_OUT_OFF / 256⌉, 1, 1), workgroups of 256.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> e_sum: array<f32>;
@group(0) @binding(3) var<storage, read> sample_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(256)
fn eprop_assemble(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if idx >= W_OUT_OFF { return; }
    // Input rows then recurrent rows: row i of [N_PRE, N_REC] is exactly idx / N_REC.
    let i = idx / N_REC;
    let j = idx % N_REC;
    var acc = 0.0;
    for (var b = 0u; b < dims.n_batch; b++) {
        acc = acc + sample_out[b * S_OUT + O_SIG + j] * e_sum[(b * N_PRE + i) * N_RECP + j];
    }
    grad[idx] = acc / f32(dims.n_batch) + 2.0 * dims.l2 * w[idx];
}
