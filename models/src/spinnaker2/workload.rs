//! The counted workload, in one direction: a training run records what the network *did* ([`Activity`]: spikes
//! per step and neuron, summed over the samples it trained on, independent of any split over PEs); the counts a
//! partition of PEs executes follow from it by the formulas below ([`step_counts`], [`end_counts`]), which the
//! emulator itself uses, so the counts of an emulated sample and those derived from its activity are the same
//! numbers. Without a run, [`Activity::from_rate`] derives the activity from the network's shape and an assumed
//! spike rate, so a cost can be given for any shape without allocating a network.

use serde::{Deserialize, Serialize};

use super::memory::Partition;
use crate::NetConfig;

/// What one PE executed in one step (or in the end-of-sample phase), as loop trip counts (whole numbers for one sample; means over samples in a
/// [`Workload`](super::workload::Workload)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseCounts {
    /// Input MACs (n_in per own neuron).
    pub input_macs: f64,
    /// Recurrent input additions (received spikes × own neurons).
    pub recurrent_adds: f64,
    /// Neuron updates.
    pub neuron_updates: f64,
    /// Surrogate evaluations (3 exponentials each).
    pub surrogates: f64,
    /// ε^v updates (one per presynaptic source).
    pub presynaptic_updates: f64,
    /// Per-synapse trace updates (ε^a, ē, E).
    pub synapse_updates: f64,
    /// Readout MACs (partial logits, end of sample).
    pub readout_macs: f64,
    /// Learning-signal MACs (end of sample) and the root's softmax terms.
    pub signal_macs: f64,
    /// Output-error exponentials on the root PE.
    pub softmax_exps: f64,
    /// Adam updates (weights).
    pub adam_updates: f64,
    /// Packets sent.
    pub packets_sent: f64,
    /// Packets received.
    pub packets_received: f64,
}

impl PhaseCounts {
    fn add(&mut self, o: &PhaseCounts) {
        self.input_macs += o.input_macs;
        self.recurrent_adds += o.recurrent_adds;
        self.neuron_updates += o.neuron_updates;
        self.surrogates += o.surrogates;
        self.presynaptic_updates += o.presynaptic_updates;
        self.synapse_updates += o.synapse_updates;
        self.readout_macs += o.readout_macs;
        self.signal_macs += o.signal_macs;
        self.softmax_exps += o.softmax_exps;
        self.adam_updates += o.adam_updates;
        self.packets_sent += o.packets_sent;
        self.packets_received += o.packets_received;
    }
}

/// Counts of one training sample: `steps[t][pe]` and the end-of-sample phase per PE.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SampleCounts {
    /// Per step, per PE.
    pub steps: Vec<Vec<PhaseCounts>>,
    /// After the last step (readout, learning signal, Adam, their packets), per PE.
    pub end: Vec<PhaseCounts>,
    /// Spikes emitted in the sample.
    pub spikes: u32,
    /// The neurons that spiked, per step (increasing): what [`Activity`](super::workload::Activity) records.
    pub spiking: Vec<Vec<u32>>,
}

impl SampleCounts {
    /// Everything a PE did in the sample.
    pub fn pe_total(&self, pe: usize) -> PhaseCounts {
        let mut t = self.end[pe];
        for s in &self.steps {
            t.add(&s[pe]);
        }
        t
    }
}

/// What a PE with `n` own neurons executes in one step, given the spikes of the previous step (all PEs receive
/// them) and the spikes of its own neurons in this step.
pub fn step_counts(n_in: usize, n_rec: usize, n: usize, spikes_prev: f64, own_spikes: f64) -> PhaseCounts {
    let n_pre = n_in + n_rec;
    let n = n as f64;
    PhaseCounts {
        input_macs: n * n_in as f64,
        recurrent_adds: n * spikes_prev,
        neuron_updates: n,
        surrogates: n,
        presynaptic_updates: n_pre as f64,
        // Every input and recurrent synapse of its neurons but the autapse (its trace feeds nothing).
        synapse_updates: n * (n_pre - 1) as f64,
        // The input frame (n_in values) and the previous step's spikes arrive as packets; own spikes leave as one
        // multicast packet each.
        packets_received: n_in as f64 + spikes_prev,
        packets_sent: own_spikes,
        ..PhaseCounts::default()
    }
}

/// What PE `pe` (of `n_pes`, `n` own neurons) executes after the last step: its partial logits, the learning
/// signal, Adam on its weights; the root PE 0 also forms the output error (softmax).
pub fn end_counts(n_in: usize, n_rec: usize, n_out: usize, n: usize, pe: usize, n_pes: usize) -> PhaseCounts {
    let (n_pre, root) = ((n_in + n_rec) as f64, pe == 0);
    let (n, n_out_f) = (n as f64, n_out as f64);
    PhaseCounts {
        readout_macs: n * n_out_f,
        signal_macs: n * n_out_f + if root { 4.0 * n_out_f } else { 0.0 },
        softmax_exps: if root { n_out_f } else { 0.0 },
        adam_updates: n * (n_pre + n_out_f),
        // Each PE sends its n_out partial logits to the root (the root's stay local; it multicasts the n_out errors
        // instead): n_out packets either way.
        packets_sent: n_out_f,
        packets_received: if root { (n_pes - 1) as f64 * n_out_f } else { n_out_f },
        ..PhaseCounts::default()
    }
}

/// Spikes of a training run (or a model of them), independent of the PE split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Network inputs.
    pub n_in: usize,
    /// Recurrent neurons.
    pub n_rec: usize,
    /// Readouts.
    pub n_out: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Samples recorded.
    pub samples: u64,
    /// Σ over the samples of z_j(t), `[t][j]` row-major.
    pub spike_sum: Vec<f64>,
    /// Per step, the most spikes one sample emitted in it (bounds the worst step).
    pub spikes_max: Vec<u32>,
    /// Where it came from ("counted: …" or "derived: …").
    pub source: String,
}

/// Why an activity cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    /// Shapes disagree.
    #[error("the activity is for a {0} network, not {1}")]
    Shape(String, String),
    /// Nothing recorded.
    #[error("the activity has no samples")]
    Empty,
}

impl Activity {
    /// An empty record for `cfg` at `t_steps`.
    pub fn new(cfg: &NetConfig, t_steps: usize, source: impl Into<String>) -> Self {
        Self {
            n_in: cfg.n_in,
            n_rec: cfg.n_rec,
            n_out: cfg.n_out,
            t_steps,
            samples: 0,
            spike_sum: vec![0.0; t_steps * cfg.n_rec],
            spikes_max: vec![0; t_steps],
            source: source.into(),
        }
    }

    /// Adds one emulated sample (its spike lists).
    pub fn record(&mut self, c: &SampleCounts) {
        for (t, idx) in c.spiking.iter().enumerate().take(self.t_steps) {
            for &j in idx {
                self.spike_sum[t * self.n_rec + j as usize] += 1.0;
            }
            self.spikes_max[t] = self.spikes_max[t].max(idx.len() as u32);
        }
        self.samples += 1;
    }

    /// Adds another record of the same network and T.
    pub fn merge(&mut self, o: &Activity) -> Result<(), ActivityError> {
        if (self.n_in, self.n_rec, self.n_out, self.t_steps) != (o.n_in, o.n_rec, o.n_out, o.t_steps) {
            return Err(ActivityError::Shape(
                format!("{}→{}→{} at T = {}", o.n_in, o.n_rec, o.n_out, o.t_steps),
                format!("{}→{}→{} at T = {}", self.n_in, self.n_rec, self.n_out, self.t_steps),
            ));
        }
        self.spike_sum.iter_mut().zip(&o.spike_sum).for_each(|(a, b)| *a += b);
        self.spikes_max.iter_mut().zip(&o.spikes_max).for_each(|(a, b)| *a = (*a).max(*b));
        self.samples += o.samples;
        Ok(())
    }

    /// Activity of a network whose every neuron spikes with probability `rate` in every step (a model: real
    /// activity is neither uniform over neurons nor over time). The worst step is taken as the mean plus four
    /// binomial standard deviations, rounded up.
    pub fn from_rate(cfg: &NetConfig, t_steps: usize, rate: f64) -> Self {
        let rate = rate.clamp(0.0, 1.0);
        let n = cfg.n_rec as f64;
        let worst = (n * rate + 4.0 * (n * rate * (1.0 - rate)).sqrt()).ceil().min(n) as u32;
        Self {
            samples: 1,
            spike_sum: vec![rate; t_steps * cfg.n_rec],
            spikes_max: vec![worst; t_steps],
            source: format!("derived: every neuron spikes with probability {rate} per step (assumed)"),
            ..Self::new(cfg, t_steps, "")
        }
    }

    /// Checks that this activity belongs to `cfg`.
    pub fn check(&self, cfg: &NetConfig) -> Result<(), ActivityError> {
        let shape = |a: usize, b: usize, c: usize| format!("{a}→{b}→{c}");
        if (self.n_in, self.n_rec, self.n_out) != (cfg.n_in, cfg.n_rec, cfg.n_out) {
            return Err(ActivityError::Shape(
                shape(self.n_in, self.n_rec, self.n_out),
                shape(cfg.n_in, cfg.n_rec, cfg.n_out),
            ));
        }
        if self.samples == 0 {
            return Err(ActivityError::Empty);
        }
        Ok(())
    }

    /// Mean spikes per sample.
    pub fn spikes_per_sample(&self) -> f64 {
        self.spike_sum.iter().sum::<f64>() / self.samples.max(1) as f64
    }

    /// Mean spike rate (spikes per neuron and step).
    pub fn spike_rate(&self) -> f64 {
        self.spikes_per_sample() / (self.t_steps * self.n_rec).max(1) as f64
    }

    /// The counts `part` executes: per step and PE the mean over the recorded samples (exact, the counts are linear
    /// in the spikes), and an upper bound of the worst step (every PE at the step's largest spike count).
    pub fn workload(&self, part: &Partition) -> Workload {
        let n = self.samples.max(1) as f64;
        let (n_in, n_rec) = (self.n_in, self.n_rec);
        let total = |t: usize| self.spike_sum[t * n_rec..(t + 1) * n_rec].iter().sum::<f64>() / n;
        let mut steps = Vec::with_capacity(self.t_steps);
        let mut worst = Vec::with_capacity(self.t_steps);
        for t in 0..self.t_steps {
            let (prev, prev_max) = if t == 0 { (0.0, 0.0) } else { (total(t - 1), self.spikes_max[t - 1] as f64) };
            let row = &self.spike_sum[t * n_rec..(t + 1) * n_rec];
            steps.push(
                part.posts
                    .iter()
                    .map(|r| step_counts(n_in, n_rec, r.len(), prev, row[r.clone()].iter().sum::<f64>() / n))
                    .collect(),
            );
            let now_max = self.spikes_max[t] as f64;
            worst.push(
                part.posts
                    .iter()
                    .map(|r| step_counts(n_in, n_rec, r.len(), prev_max, now_max.min(r.len() as f64)))
                    .collect(),
            );
        }
        let n_pes = part.n_pes();
        let end = part
            .posts
            .iter()
            .enumerate()
            .map(|(p, r)| end_counts(n_in, n_rec, self.n_out, r.len(), p, n_pes))
            .collect();
        Workload {
            t_steps: self.t_steps,
            pes: n_pes,
            samples: self.samples,
            steps,
            worst_steps: worst,
            end,
            spikes_per_sample: self.spikes_per_sample(),
            source: self.source.clone(),
        }
    }
}

/// The counts one partition executes per training sample: what the cost model prices.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workload {
    /// Steps per sample.
    pub t_steps: usize,
    /// PEs.
    pub pes: usize,
    /// Samples behind the means.
    pub samples: u64,
    /// Mean counts per step and PE, `[t][pe]`.
    pub steps: Vec<Vec<PhaseCounts>>,
    /// Upper bound of each step's counts over the samples, `[t][pe]` (for the real-time verdict).
    pub worst_steps: Vec<Vec<PhaseCounts>>,
    /// Counts of the end-of-sample phase per PE.
    pub end: Vec<PhaseCounts>,
    /// Mean spikes per sample.
    pub spikes_per_sample: f64,
    /// Where the activity came from.
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A uniform rate gives the expected counts: 120 neurons at rate 0.02 spike 2.4 per step.
    #[test]
    fn derived_counts_follow_the_shape() {
        let cfg = NetConfig::default();
        let a = Activity::from_rate(&cfg, 100, 0.02);
        let w = a.workload(&Partition::balanced(cfg.n_rec, 12));
        assert!((a.spikes_per_sample() - 240.0).abs() < 1e-9);
        let k = &w.steps[5][0];
        assert_eq!(k.input_macs, 800.0);
        assert!((k.recurrent_adds - 24.0).abs() < 1e-12);
        assert_eq!(k.synapse_updates, 10.0 * 199.0);
        assert!(w.worst_steps[5][0].recurrent_adds >= k.recurrent_adds);
        assert_eq!(w.end[0].softmax_exps, 12.0);
        assert_eq!(w.end[3].packets_received, 12.0);
    }
}
