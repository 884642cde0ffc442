//! Probe: the same GEMM (3200×80 · 80×120, the input projection of 32 samples × 100 steps) with the operands read
//! in different ways, to see which memory paths an adapter makes fast — on lavapipe (Mesa 22.3) a storage-buffer,
//! workgroup-memory or texture load is a loop over the lanes, a uniform-buffer load a vector gather, and only a
//! uniform load at a constant offset a scalar load and broadcast (reports/2026-11-26-lavapipe-training.md).
//! `cargo run --release -p kernels --example load_probe`.
use std::time::Instant;

const B: u32 = 3200;
const K: u32 = 80;
const J: u32 = 120;
const RB: u32 = 16;

fn gen_unrolled(wload: bool) -> String {
    let mut s = format!("let j = min(lid, {}u);\nlet r0 = wg.x * {RB}u;\n", J - 1);
    for k in 0..K {
        if wload {
            s.push_str(&format!("let w{k} = w[{k}u * {J}u + j];\n"));
        } else {
            s.push_str(&format!("let w{k} = f32(j) * {k}.0 + w[0];\n"));
        }
    }
    for r in 0..RB {
        s.push_str(&format!("var acc{r} = 0.0;\n"));
        for k in 0..K {
            s.push_str(&format!("acc{r} = fma(a[(r0 + {r}u) * {K}u + {k}u], w{k}, acc{r});\n"));
        }
    }
    for r in 0..RB {
        s.push_str(&format!("o[(r0 + {r}u) * {J}u + j] = acc{r};\n"));
    }
    probe_src(A_STORAGE, W_STORAGE, 128, &s)
}

/// A probe kernel: bindings a (rows × 80), w (80 × 120, or 120 × 80 as a texture), o (rows × 120), and `body`
/// run with j = the output column (lanes ≥ 120 repeat column 119) and r0 = the workgroup's first row.
fn probe_src(a_decl: &str, w_decl: &str, wg: u32, body: &str) -> String {
    // ubo_laneb writes whole quads of outputs.
    let o_ty = if wg == 64 { "vec4<f32>" } else { "f32" };
    format!(
        "{a_decl}\n{w_decl}\n@group(0) @binding(2) var<storage, read_write> o: array<{o_ty}>;\n\
         @compute @workgroup_size({wg}) fn main(@builtin(workgroup_id) wg: vec3<u32>, \
         @builtin(local_invocation_index) lid: u32) {{\n{body}\n}}\n"
    )
}

const A_STORAGE: &str = "@group(0) @binding(0) var<storage, read> a: array<f32>;";
const W_STORAGE: &str = "@group(0) @binding(1) var<storage, read> w: array<f32>;";
const A_TEXTURE: &str = "@group(0) @binding(0) var a: texture_2d<f32>;";
const W_TEXTURE: &str = "@group(0) @binding(1) var w: texture_2d<f32>;";
const W_UNIFORM: &str = "@group(0) @binding(1) var<uniform> w: array<vec4<f32>, 2400>;";

/// The plain loop: one lane per output column, 16 rows per workgroup, k innermost; only how a[row, k] and w[k, j]
/// are read differs between the variants that use it.
fn row_loop(a_decl: &str, w_decl: &str, a_load: &str, w_load: &str) -> String {
    let body = format!(
        "  let j = min(lid, 119u);\n  let r0 = wg.x * 16u;\n  for (var r = 0u; r < 16u; r++) {{\n    var acc = 0.0;\n    \
         for (var k = 0u; k < 80u; k++) {{ acc = fma({a_load}, {w_load}, acc); }}\n    \
         o[(r0 + r) * 120u + j] = acc;\n  }}"
    );
    probe_src(a_decl, w_decl, 128, &body)
}

const A_BUF: &str = "a[(r0 + r) * 80u + k]";
const W_BUF: &str = "w[k * 120u + j]";
const A_TEX: &str = "textureLoad(a, vec2<u32>(k, r0 + r), 0).x";
const W_TEX: &str = "textureLoad(w, vec2<u32>(j, k), 0).x";
const W_UBO: &str = "w[(k * 120u + j) / 4u][(k * 120u + j) % 4u]";

fn write_only() -> String {
    probe_src(
        A_STORAGE,
        W_STORAGE,
        128,
        r#"
  let j = min(lid, 119u);
  let r0 = wg.x * 16u;
  let d = a[0] + w[0];
  for (var r = 0u; r < 16u; r++) { o[(r0 + r) * 120u + j] = f32(j) + d; }"#,
    )
}

fn fma_only() -> String {
    probe_src(
        A_STORAGE,
        W_STORAGE,
        128,
        r#"
  let j = min(lid, 119u);
  let r0 = wg.x * 16u;
  var x = f32(j) * 0.001 + a[0] + w[0];
  for (var r = 0u; r < 16u; r++) {
    var acc = 0.0;
    for (var k = 0u; k < 80u; k++) { acc = fma(acc, x, x); }
    o[(r0 + r) * 120u + j] = acc;
  }"#,
    )
}

fn ubo_laneb() -> String {
    probe_src(
        A_STORAGE,
        W_UNIFORM,
        64,
        r#"
  let row = wg.x * 64u + lid;
  let q0 = wg.y * 6u;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0); var acc4 = vec4<f32>(0.0); var acc5 = vec4<f32>(0.0);
  for (var k = 0u; k < 80u; k++) {
    let av = a[row * 80u + k];
    let base = k * 30u + q0;
    acc0 = fma(vec4<f32>(av), w[base], acc0);
    acc1 = fma(vec4<f32>(av), w[base + 1u], acc1);
    acc2 = fma(vec4<f32>(av), w[base + 2u], acc2);
    acc3 = fma(vec4<f32>(av), w[base + 3u], acc3);
    acc4 = fma(vec4<f32>(av), w[base + 4u], acc4);
    acc5 = fma(vec4<f32>(av), w[base + 5u], acc5);
  }
  let ob = row * 30u + q0;
  o[ob] = acc0; o[ob + 1u] = acc1; o[ob + 2u] = acc2; o[ob + 3u] = acc3; o[ob + 4u] = acc4; o[ob + 5u] = acc5;"#,
    )
}

fn main() {
    let ctx = kernels::GpuContext::new(None).expect("probe");
    println!("{}", ctx.describe());
    println!(
        "max_uniform_buffer_binding_size {} max_uniform_buffers_per_shader_stage {} max_storage_buffer {}",
        ctx.limits.max_uniform_buffer_binding_size,
        ctx.limits.max_uniform_buffers_per_shader_stage,
        ctx.limits.max_storage_buffer_binding_size
    );
    let dev = &ctx.device;
    let q = &ctx.queue;
    let av: Vec<f32> = (0..B * K).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
    let wv: Vec<f32> = (0..K * J).map(|i| ((i * 104729) % 1000) as f32 / 1000.0 - 0.5).collect();
    use wgpu::util::DeviceExt;
    let wubo = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&wv),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let abuf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&av),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let wbuf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&wv),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let obuf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (B * J * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let rbuf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (B * J * 4) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let tex = |w: u32, h: u32, data: &[f32]| {
        let t = dev.create_texture_with_data(
            q,
            &wgpu::TextureDescriptor {
                label: None,
                size: wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            bytemuck::cast_slice(data),
        );
        t.create_view(&Default::default())
    };
    let atex = tex(K, B, &av);
    let wtex = tex(J, K, &wv);
    let mut reference = vec![0f32; (B * J) as usize];
    for b in 0..B as usize {
        for j in 0..J as usize {
            let mut acc = 0f32;
            for k in 0..K as usize {
                acc = av[b * 80 + k].mul_add(wv[k * 120 + j], acc);
            }
            reference[b * 120 + j] = acc;
        }
    }
    let cases: Vec<(&str, String, bool, bool)> = vec![
        ("loop_buf", row_loop(A_STORAGE, W_STORAGE, A_BUF, W_BUF), false, false),
        ("loop_tex", row_loop(A_TEXTURE, W_TEXTURE, A_TEX, W_TEX), true, true),
        ("loop_texw", row_loop(A_STORAGE, W_TEXTURE, A_BUF, W_TEX), false, true),
        ("unrolled", gen_unrolled(true), false, false),
        ("write_only", write_only(), false, false),
        ("ubo_laneb", ubo_laneb(), false, false),
        ("ubo_lanej", row_loop(A_STORAGE, W_UNIFORM, A_BUF, W_UBO), false, false),
        ("fma_only", fma_only(), false, false),
        ("unrolled_nowload", gen_unrolled(false), false, false),
    ];
    for (name, src, at, wt) in cases {
        let m = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let p = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &m,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let bgl = p.get_bind_group_layout(0);
        let e0 = if at { wgpu::BindingResource::TextureView(&atex) } else { abuf.as_entire_binding() };
        let e1 = if wt {
            wgpu::BindingResource::TextureView(&wtex)
        } else if name.starts_with("ubo") {
            wubo.as_entire_binding()
        } else {
            wbuf.as_entire_binding()
        };
        let bg = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &bgl,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: e0 },
                wgpu::BindGroupEntry { binding: 1, resource: e1 },
                wgpu::BindGroupEntry { binding: 2, resource: obuf.as_entire_binding() },
            ],
        });
        let mut times = vec![];
        for rep in 0..9 {
            let mut enc = dev.create_command_encoder(&Default::default());
            {
                let mut cp = enc.begin_compute_pass(&Default::default());
                cp.set_pipeline(&p);
                cp.set_bind_group(0, &bg, &[]);
                if name == "ubo_laneb" {
                    cp.dispatch_workgroups(B / 64, 5, 1);
                } else {
                    cp.dispatch_workgroups(B / RB, 1, 1);
                }
            }
            if rep == 0 {
                enc.copy_buffer_to_buffer(&obuf, 0, &rbuf, 0, (B * J * 4) as u64);
            }
            let t = Instant::now();
            q.submit([enc.finish()]);
            dev.poll(wgpu::PollType::wait_indefinitely()).expect("probe");
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if rep == 0 {
                rbuf.slice(..).map_async(wgpu::MapMode::Read, |_| {});
                dev.poll(wgpu::PollType::wait_indefinitely()).expect("probe");
                let got: Vec<f32> = bytemuck::cast_slice(&rbuf.slice(..).get_mapped_range().expect("probe")).to_vec();
                rbuf.unmap();
                let err = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                println!("{name}: max err {err}");
            }
        }
        times.sort_by(f64::total_cmp);
        println!("{name}: median {:.2} ms (min {:.2})", times[4], times[0]);
    }
}
