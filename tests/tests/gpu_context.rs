//! The wgpu context opens an adapter. With no adapter this test fails (CI installs Mesa's lavapipe); it never skips.

#[test]
fn opens_an_adapter_and_reports_it() {
    let ctx = kernels::context::GpuContext::new(None).unwrap_or_else(|e| panic!("{e}"));
    let text = ctx.describe();
    eprintln!("adapter: {text}");
    assert!(!ctx.info.name.is_empty());
    assert!(ctx.limits.max_storage_buffers_per_shader_stage >= 8, "limits: {:?}", ctx.limits);
}

#[test]
fn unknown_adapter_name_is_a_clear_error() {
    let err = kernels::context::GpuContext::new(Some("no-such-adapter-xyz")).expect_err("must not match");
    let msg = err.to_string();
    assert!(msg.contains("no-such-adapter-xyz") && msg.contains("available"), "{msg}");
}
