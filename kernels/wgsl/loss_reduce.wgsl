// loss_reduce — the minibatch loss and the step counters, one workgroup:
//   loss = (1/N) Σ_b CE_b + l2 Σ W²   → losses[k − k0], k = counters[1];  then counters[0] += 1 (Adam's t), counters[1] += 1.
// Runs after the gradient kernels (which read counters[1]) and before adam (which reads counters[0]).
// Bindings: 0 dims | 1 w [N_W] | 2 sample_out [N,S_OUT] | 3 losses [K] | 4 counters [2] u32 (read_write)
// Dispatch: (1, 1, 1), one workgroup of 256.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> sample_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> counters: array<u32>;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn loss_reduce(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < N_W; i += 256u) { acc = acc + w[i] * w[i]; }
    part[lid] = acc;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if lid < stride { part[lid] = part[lid] + part[lid + stride]; }
        workgroupBarrier();
    }
    if lid == 0u {
        var ce = 0.0;
        for (var b = 0u; b < dims.n_batch; b++) { ce = ce + sample_out[b * S_OUT + O_CE]; }
        let k = counters[1];
        losses[k - dims.k0] = ce / f32(dims.n_batch) + dims.l2 * part[0];
        counters[0] = counters[0] + 1u;
        counters[1] = k + 1u;
    }
}
