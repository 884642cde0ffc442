//! WGSL compute kernels for batched e-prop and BPTT training of the paper's network on any wgpu adapter (Vulkan,
//! Metal, DX12; Mesa's lavapipe on a machine without a GPU), and the thin host code that drives them. Every kernel
//! is tested against the CPU reference in `models` (tests/tests/parity_*.rs).

pub use wgpu;

pub mod context;
pub mod pool;
pub mod shaders;
pub mod trainer;

pub use context::{ContextError, GpuContext};
pub use pool::SamplePool;
pub use trainer::{
    BpttTuning, BufferBytes, CompileReport, CompiledAhead, EvalSet, Evaluation, GpuTrainer, PARALLEL_JIT_ENV,
    StepTiming, TrainerConfig, allocate_plan, compile_ahead, eprop_chunk_for_least_memory, eprop_kernel_path,
    plan_bytes, subgroup_kernels_fit, subgroup_kernels_fit_on,
};

/// What the GPU path can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// No usable adapter / device.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A shader failed validation or its pipeline could not be built (a bug, or an adapter that lacks a limit).
    #[error("kernel `{stem}` failed to compile: {message}")]
    Shader { stem: &'static str, message: String },
    /// The network or batch does not fit the adapter's limits.
    #[error("{0}")]
    Limits(String),
    /// Inputs inconsistent with the trainer's shape.
    #[error("{0}")]
    Input(String),
    /// The GPU reported an error while running or reading back.
    #[error("GPU execution failed: {0}")]
    Device(String),
}
