//! Probe: a recurrent matrix-vector product per step, lanes over samples, W in a uniform buffer.
use std::time::Instant;
use wgpu::util::DeviceExt;

const N: usize = 120;
const T: usize = 100;
const BATCH: u32 = 32;

fn gen_src(full: bool, wg: u32) -> String {
    let mut s = String::new();
    s.push_str(&format!("@group(0) @binding(0) var<uniform> w: array<vec4<f32>, {}>;\n", N * N / 4));
    s.push_str("@group(0) @binding(1) var<storage, read> inp: array<f32>;\n@group(0) @binding(2) var<storage, read_write> o: array<f32>;\n");
    s.push_str(&format!(
        "@compute @workgroup_size({wg}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\nlet b = gid.x;\n"
    ));
    for k in 0..N {
        s.push_str(&format!("var d{k} = inp[b * {N}u + {k}u];\n"));
    }
    s.push_str(&format!("for (var t = 0u; t < {T}u; t++) {{\n"));
    if full {
        for j in 0..N {
            s.push_str(&format!("var a{j} = 0.0;\n"));
            for k in 0..N {
                let idx = j * N + k;
                s.push_str(&format!("a{j} = fma(w[{}u][{}], d{k}, a{j});\n", idx / 4, idx % 4));
            }
        }
        for j in 0..N {
            s.push_str(&format!("d{j} = clamp(0.5 * d{j} + 0.1 * a{j}, -1.0, 1.0);\n"));
        }
    } else {
        s.push_str(&format!("var acc: array<f32, {N}>;\nfor (var j = 0u; j < {N}u; j++) {{\nvar a = 0.0;\n"));
        if wg == 16 {
            for kq in 0..N / 4 {
                s.push_str(&format!("{{ let wq = w[j * {}u + {kq}u]; a = fma(wq.x, d{}, a); a = fma(wq.y, d{}, a); a = fma(wq.z, d{}, a); a = fma(wq.w, d{}, a); }}\n", N / 4, 4 * kq, 4 * kq + 1, 4 * kq + 2, 4 * kq + 3));
            }
        } else {
            for k in 0..N {
                s.push_str(&format!("a = fma(w[j * {}u + {}u][{}], d{k}, a);\n", N / 4, k / 4, k % 4));
            }
        }
        s.push_str("acc[j] = a;\n}\n");
        for j in 0..N {
            s.push_str(&format!("d{j} = clamp(0.5 * d{j} + 0.1 * acc[{j}], -1.0, 1.0);\n"));
        }
    }
    s.push_str("}\n");
    for k in 0..N {
        s.push_str(&format!("o[b * {N}u + {k}u] = d{k};\n"));
    }
    s.push_str("}\n");
    s
}

fn main() {
    let ctx = kernels::GpuContext::new(None).unwrap();
    println!("{}", ctx.describe());
    let dev = &ctx.device;
    let q = &ctx.queue;
    let wv: Vec<f32> = (0..N * N).map(|i| ((i * 104729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let iv: Vec<f32> = (0..N * BATCH as usize).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
    let wubo = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
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
    let rbuf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (N * BATCH as usize * 4) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    for (name, full, wg) in [("k_unrolled_j_loop", false, 8u32), ("vec4_j_loop", false, 16)] {
        let src = gen_src(full, wg);
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
                wgpu::BindGroupEntry { binding: 0, resource: wubo.as_entire_binding() },
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
                cp.dispatch_workgroups(BATCH / wg, 1, 1);
            }
            if rep == 0 {
                enc.copy_buffer_to_buffer(&obuf, 0, &rbuf, 0, rbuf.size());
            }
            let t = Instant::now();
            q.submit([enc.finish()]);
            dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if rep == 0 {
                println!("{name}: compile + first run {:.2} s", t0.elapsed().as_secs_f64());
                rbuf.slice(..).map_async(wgpu::MapMode::Read, |_| {});
                dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
                let got: Vec<f32> = bytemuck::cast_slice(&rbuf.slice(..).get_mapped_range().unwrap()).to_vec();
                rbuf.unmap();
                let err = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                println!("{name}: max err {err}");
            }
        }
        times.sort_by(f64::total_cmp);
        println!("{name}: median {:.2} ms (min {:.2})", times[3], times[0]);
    }
}
