//! Probe: recurrent matrix-vector product per step, one sample per subgroup of 8, 15 neurons per lane, W in
//! private values, the other lanes' values by subgroupBroadcast.
use std::time::Instant;
use wgpu::util::DeviceExt;

const N: usize = 120;
const T: usize = 100;
const BATCH: u32 = 32;
const SG: usize = 8;
const M: usize = N / SG;

fn gen_src(spw: usize) -> String {
    let mut s = String::new();
    s.push_str("@group(0) @binding(0) var<uniform> w: array<vec4<f32>, 3600>;\n@group(0) @binding(1) var<storage, read> inp: array<f32>;\n@group(0) @binding(2) var<storage, read_write> o: array<f32>;\n");
    s.push_str(&format!("@compute @workgroup_size({SG}) fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) l: u32) {{\n"));
    for m in 0..M {
        for kq in 0..N / 4 {
            s.push_str(&format!("let wq{m}_{kq} = w[(l + {}u) * {}u + {kq}u];\n", SG * m, N / 4));
            for c in 0..4 {
                s.push_str(&format!("let w{m}_{} = wq{m}_{kq}[{c}];\n", 4 * kq + c));
            }
        }
    }
    s.push_str(&format!("for (var s = 0u; s < {spw}u; s++) {{\nlet b = wg.x * {spw}u + s;\n"));
    for m in 0..M {
        s.push_str(&format!("var d{m} = inp[b * {N}u + l + {}u];\n", SG * m));
    }
    s.push_str(&format!("for (var t = 0u; t < {T}u; t++) {{\n"));
    for k in 0..N {
        s.push_str(&format!("let b{k} = subgroupBroadcast(d{}, {}u);\n", k / SG, k % SG));
    }
    for m in 0..M {
        s.push_str(&format!("var a{m} = 0.0;\n"));
        for k in 0..N {
            s.push_str(&format!("a{m} = fma(w{m}_{k}, b{k}, a{m});\n"));
        }
    }
    for m in 0..M {
        s.push_str(&format!("d{m} = clamp(0.5 * d{m} + 0.1 * a{m}, -1.0, 1.0);\n"));
    }
    s.push_str("}\n");
    for m in 0..M {
        s.push_str(&format!("o[b * {N}u + l + {}u] = d{m};\n", SG * m));
    }
    s.push_str("}\n}\n");
    s
}

fn main() {
    let ctx = kernels::GpuContext::new(None).unwrap();
    println!("{} subgroups {}", ctx.describe(), ctx.has_subgroups);
    let dev = &ctx.device;
    let q = &ctx.queue;
    let wv: Vec<f32> = (0..N * N).map(|i| ((i * 104729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let iv: Vec<f32> = (0..N * BATCH as usize).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
    let wbuf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&wv),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let ibuf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&iv),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let obuf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (N * BATCH as usize * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut reference = iv.clone();
    for b in 0..BATCH as usize {
        let d = &mut reference[b * N..(b + 1) * N];
        for _ in 0..T {
            let acc: Vec<f32> = (0..N)
                .map(|j| {
                    let mut a = 0f32;
                    for k in 0..N {
                        a = wv[j * N + k].mul_add(d[k], a);
                    }
                    a
                })
                .collect();
            for j in 0..N {
                d[j] = (0.5 * d[j] + 0.1 * acc[j]).clamp(-1.0, 1.0);
            }
        }
    }
    println!("ref sample {:?}", &reference[..4]);
    let rbuf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (N * BATCH as usize * 4) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    for spw in [1usize, 16] {
        let src = gen_src(spw);
        let t0 = Instant::now();
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
        let bg = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &p.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: wbuf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: ibuf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: obuf.as_entire_binding() },
            ],
        });
        let mut times = vec![];
        for rep in 0..7 {
            let mut enc = dev.create_command_encoder(&Default::default());
            {
                let mut cp = enc.begin_compute_pass(&Default::default());
                cp.set_pipeline(&p);
                cp.set_bind_group(0, &bg, &[]);
                cp.dispatch_workgroups(BATCH / spw as u32, 1, 1);
            }
            if rep == 0 {
                enc.copy_buffer_to_buffer(&obuf, 0, &rbuf, 0, rbuf.size());
            }
            let t = Instant::now();
            q.submit([enc.finish()]);
            dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if rep == 0 {
                println!("spw {spw}: compile + first run {:.2} s", t0.elapsed().as_secs_f64());
                rbuf.slice(..).map_async(wgpu::MapMode::Read, |_| {});
                dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
                let got: Vec<f32> = bytemuck::cast_slice(&rbuf.slice(..).get_mapped_range().unwrap()).to_vec();
                rbuf.unmap();
                let err = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                println!("spw {spw}: max err {err} got {:?}", &got[..4]);
            }
        }
        times.sort_by(f64::total_cmp);
        println!("spw {spw}: median {:.2} ms (min {:.2})", times[3], times[0]);
    }
}
