// gather_samples — a training set drawn from a pool of samples kept on the device (kernels::SamplePool), one dispatch
// per piece of the pool (each piece one bindable buffer):
//   dst[d, :] = src[s, :]   for each pair (d, s) of this piece, each row T·N_IN floats (x [T, N_IN] of one sample)
// so that an epoch's shuffled order costs copies on the device instead of a host gather and a fresh upload. A copy,
// bit for bit: training on the gathered set equals training on the same set uploaded from the host.
// Bindings: 0 g (row, n) | 1 pairs [n] (d: sample of the resident set, s: sample within this piece) | 2 src [piece, row]
//           | 3 dst [N, row]
// Dispatch: (⌈row / 256⌉, min(n, 65535), 1), workgroups of 256; workgroup row y copies pairs y, y + groups.y, …

struct Gather {
    row: u32,
    n: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> g: Gather;
@group(0) @binding(1) var<storage, read> pairs: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn gather_samples(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let j = gid.x;
    if j >= g.row { return; }
    for (var i = wid.y; i < g.n; i += nwg.y) {
        let p = pairs[i];
        dst[p.x * g.row + j] = src[p.y * g.row + j];
    }
}
