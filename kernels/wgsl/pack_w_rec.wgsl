// pack_w_rec — copies W_rec out of the flat weights into `wr`, rows padded to N_RECP with zeros, for kernels that
// read it as a uniform buffer (bptt_backward_sg):  wr[i·N_RECP + k] = W_rec[i, k] (k < N_REC), 0 (k ≥ N_REC).
// Bindings: 0 w [N_W] | 1 wr [N_REC·N_RECP] (the same buffer the reader binds as uniform)
// Dispatch: (⌈N_REC·N_RECP / 256⌉, 1, 1) workgroups of 256 threads.

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wr: array<f32>;

@compute @workgroup_size(256)
fn pack_w_rec(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    if e >= N_REC * N_RECP { return; }
    let i = e / N_RECP;
    let k = e % N_RECP;
    wr[e] = select(0.0, w[W_REC_OFF + i * N_REC + min(k, N_REC - 1u)], k < N_REC);
}
