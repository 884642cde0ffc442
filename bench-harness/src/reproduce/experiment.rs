//! The training experiments of `reproduce`: which contender, which rule, and the raw CSV each writes.

use models::{Rule, TraceVariant, bptt::BpttOptions};

/// One training experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Experiment {
    /// e-prop, online, on the emulated SpiNNaker 2.
    ChipEprop,
    /// e-prop on the GPU (WGSL).
    GpuEprop,
    /// BPTT on the GPU (WGSL).
    GpuBptt,
    /// BPTT through burn's autodiff (burn's wgpu backend on a real GPU, its CPU backend beside lavapipe).
    BurnBptt,
}

impl Experiment {
    /// All, in the order they run.
    pub const ALL: [Experiment; 4] =
        [Experiment::ChipEprop, Experiment::GpuEprop, Experiment::GpuBptt, Experiment::BurnBptt];

    /// Short name (file names, CSV).
    pub fn name(self) -> &'static str {
        match self {
            Experiment::ChipEprop => "chip_eprop",
            Experiment::GpuEprop => "gpu_eprop",
            Experiment::GpuBptt => "gpu_bptt",
            Experiment::BurnBptt => "burn_bptt",
        }
    }

    /// The learning rule.
    pub fn rule(self) -> Rule {
        match self {
            Experiment::ChipEprop | Experiment::GpuEprop => Rule::Eprop(TraceVariant::Authors),
            Experiment::GpuBptt | Experiment::BurnBptt => Rule::Bptt(BpttOptions::default()),
        }
    }

    /// The raw CSV of this experiment.
    pub fn csv(self) -> String {
        format!("training_{}.csv", self.name())
    }
}
