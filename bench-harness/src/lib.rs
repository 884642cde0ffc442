//! The workbench's harness: tensor files, the `snnbench` command line, data, experiments, results, plots and
//! reports. Library code emits `tracing` events and returns errors; only the binary prints.

pub mod bench;
pub mod bench_train;
pub mod cli;
pub mod config;
pub mod contender;
pub mod cost;
pub mod crossover;
pub mod data;
pub mod floor;
pub mod power;
pub mod reproduce;
pub mod results;
pub mod sweep;
pub mod tensors;
pub mod train;
