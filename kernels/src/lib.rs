//! GPU context and kernels.
pub mod context;
