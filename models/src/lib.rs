//! CPU reference of the spiking RNN of Rostami et al. 2022 (80 inputs → 120 ALIF → 12 leaky readouts) with its two
//! learning rules, online e-prop and exact BPTT, plus Adam. Every other implementation in the workbench (WGSL kernels,
//! the SpiNNaker 2 emulator, burn) is tested against this crate. Pure computation: no IO, no GPU, no printing.
//!
//! Conventions (see docs/model.md): weights are row-major `[pre, post]`; inputs `x [B, T, n_in]`;
//! gradients are d(loss)/dW of `loss = mean_b CE_b + l2 · ΣW²`.

pub mod adam;
pub mod bptt;
pub mod config;
pub mod cost_report;
pub mod eprop;
pub mod error;
pub mod gpu_cost;
pub mod inputs;
pub mod real;
pub mod spinnaker2;
pub mod srnn;
pub mod surrogate;
pub mod train;

pub use adam::{AdamConfig, AdamState};
pub use config::NetConfig;
pub use error::ModelError;
pub use real::Real;
pub use srnn::{Batch, GradOutput, Params};
pub use train::{Rule, TraceVariant, compute_grads, train_steps, train_steps_from};
