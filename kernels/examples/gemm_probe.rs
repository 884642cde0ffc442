//! Probe: GEMM throughput on this adapter for a few kernel shapes.
use std::time::Instant;
fn main() {
    let ctx = kernels::GpuContext::new(None).unwrap();
    let dev = &ctx.device;
    let (m, k, n) = (3200u32, 80u32, 120u32);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    use wgpu::util::DeviceExt;
    let mk = |d: &[f32]| {
        dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(d),
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let ba = mk(&a);
    let bb = mk(&b);
    let bc = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (m * n * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let variants = [
        (
            "naive",
            format!(
                "const M={m}u; const K={k}u; const N={n}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {{
  let idx = g.x; if idx >= M*N {{ return; }}
  let r = idx / N; let col = idx % N; var acc = 0.0;
  for (var i = 0u; i < K; i++) {{ acc += a[r*K+i] * b[i*N+col]; }}
  c[idx] = acc; }}"
            ),
            (m * n).div_ceil(64),
        ),
        (
            "tile4x4",
            format!(
                "const M={m}u; const K={k}u; const N={n}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {{
  let idx = g.x; let nq = N/4u; if idx >= (M/4u)*nq {{ return; }}
  let r0 = (idx / nq)*4u; let cq = idx % nq;
  var c0 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
  for (var i = 0u; i < K; i++) {{ let bv = b[i*nq+cq];
    c0 += a[r0*K+i]*bv; c1 += a[(r0+1u)*K+i]*bv; c2 += a[(r0+2u)*K+i]*bv; c3 += a[(r0+3u)*K+i]*bv; }}
  c[r0*nq+cq]=c0; c[(r0+1u)*nq+cq]=c1; c[(r0+2u)*nq+cq]=c2; c[(r0+3u)*nq+cq]=c3; }}"
            ),
            ((m / 4) * (n / 4)).div_ceil(64),
        ),
        (
            "tile8x4_wg32",
            format!(
                "const M={m}u; const K={k}u; const N={n}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@compute @workgroup_size(32) fn main(@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wg: vec3<u32>) {{
  let nq = N/4u; let cq = l; if cq >= nq {{ return; }}
  let r0 = wg.x*8u;
  var acc: array<vec4<f32>, 8>;
  for (var i = 0u; i < K; i++) {{ let bv = b[i*nq+cq];
    for (var r = 0u; r < 8u; r++) {{ acc[r] += a[(r0+r)*K+i]*bv; }} }}
  for (var r = 0u; r < 8u; r++) {{ c[(r0+r)*nq+cq]=acc[r]; }} }}"
            ),
            m / 8,
        ),
        (
            "colsT_wg64",
            format!(
                "const M={m}u; const K={k}u; const N={n}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
var<workgroup> arow: array<f32, 640>;
@compute @workgroup_size(128) fn main(@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wg: vec3<u32>) {{
  let r0 = wg.x*8u;
  for (var q = l; q < 8u*K; q += 128u) {{ arow[q] = a[r0*K + q]; }}
  workgroupBarrier();
  if l >= N {{ return; }}
  var acc: array<f32, 8>;
  for (var i = 0u; i < K; i++) {{ let bv = b[i*N+l];
    for (var r = 0u; r < 8u; r++) {{ acc[r] += arow[r*K+i]*bv; }} }}
  for (var r = 0u; r < 8u; r++) {{ c[(r0+r)*N+l]=acc[r]; }} }}"
            ),
            m / 8,
        ),
        (
            "rows8_scalar_wg128",
            format!(
                "const M={m}u; const K={k}u; const N={n}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(128) fn main(@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wg: vec3<u32>) {{
  if l >= N {{ return; }}
  let r0 = wg.x*8u;
  var acc: array<f32, 8>;
  for (var i = 0u; i < K; i++) {{ let bv = b[i*N+l];
    for (var r = 0u; r < 8u; r++) {{ acc[r] += a[(r0+r)*K+i]*bv; }} }}
  for (var r = 0u; r < 8u; r++) {{ c[(r0+r)*N+l]=acc[r]; }} }}"
            ),
            m / 8,
        ),
        (
            "rows16_scalar_wg128",
            format!(
                "const M={m}u; const K={k}u; const N={n}u;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(128) fn main(@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wg: vec3<u32>) {{
  if l >= N {{ return; }}
  let r0 = wg.x*16u;
  var acc: array<f32, 16>;
  for (var i = 0u; i < K; i++) {{ let bv = b[i*N+l];
    for (var r = 0u; r < 16u; r++) {{ acc[r] += a[(r0+r)*K+i]*bv; }} }}
  for (var r = 0u; r < 16u; r++) {{ c[(r0+r)*N+l]=acc[r]; }} }}"
            ),
            m / 16,
        ),
    ];
    for (name, src, groups) in variants {
        let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let p = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let bg = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &p.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: ba.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: bb.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: bc.as_entire_binding() },
            ],
        });
        for rep in 0..3 {
            let t = Instant::now();
            let mut enc = dev.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&p);
                pass.set_bind_group(0, &bg, &[]);
                for _ in 0..10 {
                    pass.dispatch_workgroups(groups, 1, 1);
                }
            }
            ctx.queue.submit([enc.finish()]);
            dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            let s = t.elapsed().as_secs_f64() / 10.0;
            if rep == 2 {
                println!("{name}: {:.3} ms per GEMM, {:.2} GMAC/s", s * 1e3, (m * k * n) as f64 / s / 1e9);
            }
        }
    }
}
