//! Prints the full WGSL source of one kernel for the paper's network: `cargo run -p kernels --example dump_source
//! -- <stem> [subgroup size]` (for reading the expanded subgroup kernels).
fn main() {
    let mut args = std::env::args().skip(1);
    let stem = args.next().unwrap_or_else(|| "alif_forward_sg".into());
    let sg: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    let Some(k) = kernels::shaders::Kernel::ALL.into_iter().find(|k| k.stem() == stem) else {
        eprintln!("no kernel {stem}");
        std::process::exit(2);
    };
    let chunked = std::env::var("CHUNKED").is_ok();
    let v = kernels::shaders::Variant { subgroup_size: sg, chunk: 100, chunked_forward: chunked, ..Default::default() };
    print!("{}", kernels::shaders::source(k, &models::NetConfig::default(), v));
}
