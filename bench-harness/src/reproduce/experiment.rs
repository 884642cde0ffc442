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

/// One training run of one contender, as `reproduce` and `train` describe it: the name its files carry
/// (`training_<name>.csv`, `checkpoints/<name>.safetensors`), the contender, the rule and the schedule.
#[derive(Clone, Debug)]
pub struct Spec {
    /// File and CSV name (`chip_eprop`, `gpu_bptt`, ...).
    pub name: String,
    /// The contender.
    pub kind: crate::contender::Kind,
    /// The learning rule.
    pub rule: Rule,
    /// The schedule (the chip trains online whatever its batch says).
    pub schedule: super::Schedule,
    /// Seed of the initial weights and of the shuffles.
    pub seed: u64,
    /// The `backend` column.
    pub backend: String,
    /// The `adapter` column.
    pub adapter: String,
}

impl Spec {
    /// The raw CSV of this run.
    pub fn csv(&self) -> String {
        format!("training_{}.csv", self.name)
    }

    /// Whether the contender is the emulated chip (online, spike activity recorded, real-time chip time).
    pub fn is_chip(&self) -> bool {
        matches!(self.kind, crate::contender::Kind::Chip { .. })
    }

    /// The name `reproduce` gives this contender and rule: `chip_eprop`, `gpu_eprop`, `gpu_bptt`, `burn_bptt`, and
    /// `cpu_eprop`/`cpu_bptt` (so a `train` run and a `reproduce` run of the same contender aggregate together).
    pub fn name_for(kind: crate::contender::Kind, rule: Rule) -> String {
        use crate::contender::Kind;
        let side = match kind {
            Kind::Chip { .. } => "chip",
            Kind::Wgpu => "gpu",
            Kind::BurnWgpu | Kind::BurnCpu => "burn",
            Kind::Cpu { .. } => "cpu",
        };
        format!("{side}_{}", rule.name())
    }
}
