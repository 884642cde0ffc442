// adam — one Adam update per weight, as the authors' C code (docs/model.md):
//   t = counters[0] (already incremented by loss_reduce);  lr_t = lr·√(1−β2^t)/(1−β1^t)
//   m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²;  W −= lr_t·m/(√v + ε)
// Bindings: 0 dims | 1 w [N_W] (read_write) | 2 grad [N_W] | 3 m [N_W] | 4 v [N_W] | 5 counters [2] u32
// Dispatch: (⌈N_W / 256⌉, 1, 1), workgroups of 256.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> counters: array<u32>;

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if idx >= N_W { return; }
    let t = f32(counters[0]);
    let lr_t = dims.lr * sqrt(1.0 - pow(dims.beta2, t)) / (1.0 - pow(dims.beta1, t));
    let g = grad[idx];
    let mm = dims.beta1 * m[idx] + (1.0 - dims.beta1) * g;
    let vv = dims.beta2 * v[idx] + (1.0 - dims.beta2) * g * g;
    m[idx] = mm;
    v[idx] = vv;
    w[idx] = w[idx] - lr_t * mm / (sqrt(vv) + dims.eps);
}
