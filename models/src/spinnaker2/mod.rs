//! SpiNNaker 2: the chip description, the partition and SRAM map, the functional e-prop emulator with its counts,
//! and the cycle / time / energy model built on those counts.

pub mod chip;
pub mod emulator;
pub mod memory;
pub mod model;
pub mod recipes;
pub mod workload;

pub use chip::{ChipConfig, PerfLevel};
pub use emulator::{Emulator, SampleGradient};
pub use memory::{Partition, PeMemory, SramOverflow, bptt_pe_memory, memory_map, pe_memory};
pub use recipes::TraceCode;
pub use workload::{Activity, PhaseCounts, SampleCounts, Workload};
