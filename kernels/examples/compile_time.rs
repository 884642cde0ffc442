//! How long the adapter takes to compile each subgroup kernel for the paper's network: pipeline creation, then a
//! first dispatch with zeroed inputs (llvmpipe generates the machine code there, minutes for the largest kernels).
//! Run with `MESA_SHADER_CACHE_DISABLE=true` so that the driver's disk cache does not answer:
//! `cargo run --release -p kernels --example compile_time -- [stem ...]`; with `SOURCE_FILE=path.wgsl` the named
//! kernel's generated source is replaced by that file's (to time an edited kernel without rebuilding).
use std::time::Instant;

fn main() {
    let ctx = kernels::GpuContext::new(None).expect("a wgpu adapter");
    let dev = &ctx.device;
    let sg = ctx.info.subgroup_min_size.max(8);
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let cfg = models::NetConfig::default();
    for k in kernels::shaders::Kernel::ALL {
        if !(k.is_unrolled() && (wanted.is_empty() || wanted.iter().any(|w| w == k.stem()))) {
            continue;
        }
        let v = kernels::shaders::Variant { subgroup_size: sg, chunk: 100, store_thr: true, ..Default::default() };
        let src = match std::env::var("SOURCE_FILE") {
            Ok(path) => std::fs::read_to_string(path).expect("SOURCE_FILE"),
            Err(_) => kernels::shaders::source(k, &cfg, v),
        };
        let t = Instant::now();
        let pipeline = kernels::shaders::pipeline_from_source(dev, k.stem(), src.clone()).expect("compiles");
        let created = t.elapsed().as_secs_f64();
        // Every binding of the source, zeroed: uniforms at the largest binding size, storage buffers of 1 MiB (the
        // dispatch runs no step: T = 0 and an empty minibatch).
        let buffers: Vec<(u32, wgpu::Buffer)> = src
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("@group(0) @binding(")?;
                let (n, decl) = rest.split_once(')')?;
                let uniform = decl.contains("var<uniform>");
                let buffer = dev.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: if uniform { 65_536 } else { 1 << 20 },
                    usage: if uniform { wgpu::BufferUsages::UNIFORM } else { wgpu::BufferUsages::STORAGE },
                    mapped_at_creation: false,
                });
                Some((n.parse().ok()?, buffer))
            })
            .collect();
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .map(|(n, b)| wgpu::BindGroupEntry { binding: *n, resource: b.as_entire_binding() })
            .collect();
        let group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut enc = dev.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(1, 1, 1);
        }
        ctx.queue.submit([enc.finish()]);
        dev.poll(wgpu::PollType::wait_indefinitely()).expect("poll");
        println!(
            "{:<20} created in {created:>6.1} s, first dispatch done at {:>6.1} s",
            k.stem(),
            t.elapsed().as_secs_f64()
        );
    }
}
