// pack_weights — copies the weights out of the flat vector into the layouts the subgroup kernels (alif_forward_sg,
// bptt_backward_sg) read as uniform buffers, rows padded with zeros to a multiple of 4 so that a row starts a vec4:
//   wr [N_REC, N_RECP]:  wr[i·N_RECP + k]  = W_rec[i, k]   (rows: presynaptic i; the backward pass)
//   wrt [N_REC, N_RECP]: wrt[j·N_RECP + k] = W_rec[k, j]   (rows: postsynaptic j; the forward pass)
//   wit [N_REC, N_INP]:  wit[j·N_INP + i]  = W_in[i, j]
//   wo [4·⌈N_REC·N_OUT/4⌉]: W_out as it is, zero-padded
// Bindings: 0 w [N_W] | 1 wr | 2 wrt | 3 wit | 4 wo (the same buffers the readers bind as uniform)
// Dispatch: (⌈N_REC·max(N_RECP, N_INP) / 256⌉, 1, 1) workgroups of 256 threads.

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wr: array<f32>;
@group(0) @binding(2) var<storage, read_write> wrt: array<f32>;
@group(0) @binding(3) var<storage, read_write> wit: array<f32>;
@group(0) @binding(4) var<storage, read_write> wo: array<f32>;

@compute @workgroup_size(256)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    if e < N_REC * N_RECP {
        let r = e / N_RECP;
        let c = e % N_RECP;
        let cc = min(c, N_REC - 1u);
        wr[e] = select(0.0, w[W_REC_OFF + r * N_REC + cc], c < N_REC);
        wrt[e] = select(0.0, w[W_REC_OFF + cc * N_REC + r], c < N_REC);
    }
    if e < N_REC * N_INP {
        let j = e / N_INP;
        let i = e % N_INP;
        wit[e] = select(0.0, w[min(i, N_IN - 1u) * N_REC + j], i < N_IN);
    }
    if e < 4u * ((N_REC * N_OUT + 3u) / 4u) {
        wo[e] = select(0.0, w[W_OUT_OFF + min(e, N_REC * N_OUT - 1u)], e < N_REC * N_OUT);
    }
}
