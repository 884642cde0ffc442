// gather_samples — a training set drawn from a pool of samples kept on the device (kernels::SamplePool):
//   dst[i, :] = src[order[i], :]   for i < n, each row T·N_IN floats (x [T, N_IN] of one sample)
// so that an epoch's shuffled order costs one copy on the device instead of a host gather and a fresh upload. A
// copy, bit for bit: training on the gathered set equals training on the same set uploaded from the host.
// Bindings: 0 g (row, n) | 1 order [n] | 2 src [POOL, row] | 3 dst [n, row]
// Dispatch: (⌈row / 256⌉, min(n, 65535), 1), workgroups of 256; workgroup row y copies samples y, y + groups.y, …

struct Gather {
    row: u32,
    n: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> g: Gather;
@group(0) @binding(1) var<storage, read> order: array<u32>;
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
        dst[i * g.row + j] = src[order[i] * g.row + j];
    }
}
