// input_projection — the input current of every step of a chunk, for all samples at once (a batched GEMM):
//   cur_in[b, k, j] = Σ_i x[s_b, t0 + k, i] · W_in[i, j]      k < tc, s_b = (k_mb·N + b) mod B
// summed in increasing i (the reference's order). One thread: RT rows (b, k) × 4 posts (a vec4), so loads of x are
// shared across the workgroup's lanes and W_in is read as quads.
// Bindings: 0 dims | 1 chunk | 2 x [B,T,N_IN] | 3 w [N_W] | 4 cur_in [N,TC,N_RECP] | 5 counters [2] u32
//           6 w again, as vec4
// Dispatch: (⌈N·tc / RT⌉, 1, 1) workgroups of 32 threads (thread l → post quad l < NQ).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> chunk: Chunk;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> cur_in: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> counters: array<u32>;
// The same weights as `w`, read as quads by weight_quad (weight_quads.wgsl).
@group(0) @binding(6) var<storage, read> w4: array<vec4<f32>>;

const RT: u32 = 16u;

@compute @workgroup_size(32)
fn input_projection(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q = lid;
    if q >= NQ { return; }
    let rows = dims.n_batch * chunk.tc;
    let r0 = wg.x * RT;
    var xrow: array<u32, RT>;
    var out_row: array<u32, RT>;
    var acc: array<vec4<f32>, RT>;
    for (var r = 0u; r < RT; r++) {
        let row = min(r0 + r, rows - 1u);
        let b = row / chunk.tc;
        let k = row % chunk.tc;
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
        xrow[r] = (s * dims.t_steps + chunk.t0 + k) * N_IN;
        out_row[r] = (b * TC + k) * NQ;
        acc[r] = vec4<f32>(0.0);
    }
    for (var i = 0u; i < N_IN; i++) {
        let wv = weight_quad(i * N_REC, q);
        for (var r = 0u; r < RT; r++) { acc[r] = acc[r] + x[xrow[r] + i] * wv; }
    }
    for (var r = 0u; r < RT; r++) {
        if r0 + r < rows { cur_in[out_row[r] + q] = acc[r]; }
    }
}
