//! The workbench's harness: tensor files, the `snnbench` command line, data, experiments, results, plots and
//! reports. Library code emits `tracing` events and returns errors; only the binary prints.

pub mod audio;
pub mod bench;
pub mod bench_train;
pub mod cli;
pub mod contender;
pub mod cost;
pub mod features;
pub mod gsc;
pub mod reproduce;
pub mod split;
pub mod synth;
pub mod tensors;
