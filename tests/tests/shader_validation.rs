//! Every WGSL kernel compiles and validates (naga, through wgpu's error scopes) for the paper's network and for
//! odd shapes and every variant; a broken shader is a typed error, not a panic.

use kernels::shaders::{Kernel, Variant};
use models::NetConfig;
use tests::gpu;

#[test]
fn all_kernels_compile_for_several_shapes_and_variants() {
    let ctx = gpu();
    let shapes = [
        NetConfig::default(),
        NetConfig { n_in: 1, n_rec: 1, n_out: 1, ..NetConfig::default() },
        NetConfig { n_in: 13, n_rec: 300, n_out: 35, ..NetConfig::default() },
    ];
    for cfg in &shapes {
        for v in [
            Variant::default(),
            Variant { trace_aligned: true, ..Variant::default() },
            Variant { detach_reset: true, stop_recurrent: true, ..Variant::default() },
            Variant { chunked_forward: true, dense_in_backward: true, chunk: 100, ..Variant::default() },
        ] {
            for k in Kernel::ALL {
                // The subgroup backward needs subgroups and W_rec in one uniform binding (the trainer checks both).
                let sizes = ctx.has_subgroups.then_some((ctx.info.subgroup_min_size, ctx.info.subgroup_max_size));
                let fits = kernels::subgroup_kernels_fit(cfg, ctx.limits.max_uniform_buffer_binding_size, sizes);
                if k.is_unrolled() && !fits {
                    continue;
                }
                let v = if k.is_unrolled() { Variant { subgroup_size: ctx.info.subgroup_min_size, ..v } } else { v };
                // A kernel keeps only the flags it reads, so several variants give one source: the device's
                // pipeline cache (keyed by the source) validates it once (a paper-sized unrolled source takes
                // seconds to translate on lavapipe).
                ctx.pipeline(k, cfg, v)
                    .unwrap_or_else(|e| panic!("{} ({}→{}→{}): {e}", k.stem(), cfg.n_in, cfg.n_rec, cfg.n_out));
            }
        }
    }
    // Every kernel was validated (the unrolled ones where the adapter has subgroups: always on lavapipe), and the
    // variants that change a kernel's code gave it several sources.
    let built = ctx.pipelines_built();
    let sources = |stem: &str| built.iter().filter(|&&s| s == stem).count();
    for k in Kernel::ALL {
        assert!(sources(k.stem()) > 0 || (k.is_unrolled() && !ctx.has_subgroups), "{} never validated", k.stem());
    }
    assert!(sources("eprop_traces") >= 2 * shapes.len(), "the trace variants share a source");
}

#[test]
fn every_kernel_file_exists_and_names_its_entry_point() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernels/wgsl");
    for k in Kernel::ALL {
        let path = dir.join(format!("{}.wgsl", k.stem()));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains(&format!("fn {}(", k.stem())), "{} lacks entry point {}", path.display(), k.stem());
    }
}
