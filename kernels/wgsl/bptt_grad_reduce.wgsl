// bptt_grad_reduce — BPTT's input and recurrent gradients from the per-group partial sums (of bptt_weight_grads,
// or of the subgroup backward kernels on CPU adapters), added in a fixed order (group 0 first), then the batch mean
// and L2:
//   g[i,j] = (1−α)/N Σ_s part[s, i, j] + 2·l2·W[i,j]
// EPROP_GRADS (the partial sums of eprop_backward_sg's dv = L·Λv): g[i,j] = 1/N Σ_s part[s, i, j] + 2·l2·W[i,j],
// and the autapse (recurrent i = j) gets only its L2 term, as e-prop gives it no trace.
// Bindings: 0 dims | 1 w [N_W] | 2 part [GRAD_SPLITS,N_PRE,N_RECP] | 3 grad [N_W]
// Dispatch: (⌈N_PRE·N_REC / 256⌉, 1, 1), workgroups of 256.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(256)
fn bptt_grad_reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    if k >= N_PRE * N_REC { return; }
    let i = k / N_REC;
    let j = k % N_REC;
    var sum = 0.0;
    for (var s = 0u; s < GRAD_SPLITS; s++) { sum = sum + part[(s * N_PRE + i) * N_RECP + j]; }
    // W_in rows then W_rec rows: the flat index of (i, j) is i·N_REC + j for both (W_REC_OFF = N_IN·N_REC).
    if EPROP_GRADS {
        if i >= N_IN && i - N_IN == j { sum = 0.0; }
        grad[k] = sum / f32(dims.n_batch) + 2.0 * dims.l2 * w[k];
    } else {
        grad[k] = OM_ALPHA * sum / f32(dims.n_batch) + 2.0 * dims.l2 * w[k];
    }
}
