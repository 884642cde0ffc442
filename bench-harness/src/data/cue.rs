//! The evidence-accumulation (cue) task of Bellec et al. 2020 (Nature Communications 11:3625, Fig. 3), generated
//! from a seed: a long-memory task with a known answer, at any sequence length from 1,200 steps up.
//!
//! One sample, 1 ms per step, 40 input channels in four groups of ten (left cues, right cues, recall cue, noise):
//! the sample first draws its majority side (left cues with probability 0.3 and right 0.7, or the reverse, each
//! with probability ½); each of the 7 cues is then left or right with those probabilities. Cue k lasts 100 ms from
//! 50 + 150·k ms, and during it the ten channels of its side fire Poisson spikes at 40 Hz (0.04 per step). After the
//! last cue a delay, then the recall cue: in the last 150 steps the recall group fires at 40 Hz. The noise group fires
//! at 10 Hz throughout. Label 1 ("right") when more than half of the cues were right, else 0. The sequence length
//! sets the delay: T = 1,050 ms of cues + delay + 150 ms recall, so T = 2,250 is Bellec et al.'s 1,200 ms delay and
//! T = 1,200 has none.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Input channels: four groups of ten.
pub const N_CHANNELS: usize = 40;
/// Channels per group.
pub const GROUP: usize = 10;
/// Readouts: left (0) and right (1).
pub const N_CLASSES: usize = 2;
/// Spike probability per 1 ms step of a cue or the recall cue (40 Hz).
pub const CUE_RATE: f64 = 0.04;
/// Spike probability per step of the background noise (10 Hz).
pub const NOISE_RATE: f64 = 0.01;
/// Cue duration (ms = steps).
pub const CUE_MS: usize = 100;
/// Spacing of cue onsets; the first starts after `CUE_GAP_MS` of silence.
pub const CUE_SPACING_MS: usize = 150;
/// Silence before each cue.
pub const CUE_GAP_MS: usize = 50;
/// Recall window: the last steps of the sequence, where the recall group fires and the readout is read.
pub const RECALL_MS: usize = 150;

/// The task's settings; written to a run's config under `[data.cue]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CueConfig {
    /// Steps per sample (1 ms each): 1,050 ms of cues + the delay + 150 ms recall. Bellec et al.: 2,250.
    pub t_steps: usize,
    /// Cues per sample (odd, so that there is always a majority).
    pub n_cues: usize,
    /// Training samples (the same set every epoch).
    pub train_samples: usize,
    /// Validation samples.
    pub validation_samples: usize,
    /// Test samples.
    pub test_samples: usize,
}

impl Default for CueConfig {
    fn default() -> Self {
        Self { t_steps: 2250, n_cues: 7, train_samples: 2048, validation_samples: 256, test_samples: 512 }
    }
}

impl CueConfig {
    /// The shortest sequence that holds the cues and the recall window.
    pub fn min_t_steps(&self) -> usize {
        self.cues_end() + RECALL_MS
    }

    /// The step after the last cue.
    pub fn cues_end(&self) -> usize {
        if self.n_cues == 0 { 0 } else { CUE_GAP_MS + CUE_SPACING_MS * (self.n_cues - 1) + CUE_MS }
    }

    /// Checks the settings, in words a user can act on.
    pub fn validate(&self) -> Result<(), String> {
        if self.n_cues == 0 || self.n_cues.is_multiple_of(2) {
            return Err(format!("data.cue.n_cues = {}: use an odd number of cues (7 in Bellec et al.)", self.n_cues));
        }
        if self.t_steps < self.min_t_steps() {
            return Err(format!(
                "data.cue.t_steps = {}: {} cues and the {RECALL_MS}-step recall window need at least {} steps",
                self.t_steps,
                self.n_cues,
                self.min_t_steps()
            ));
        }
        if self.train_samples == 0 || self.validation_samples == 0 || self.test_samples == 0 {
            return Err("data.cue: train, validation and test samples must each be at least 1".into());
        }
        Ok(())
    }

    /// One line for dataset.txt and reports.
    pub fn describe(&self, seed: u64) -> String {
        format!(
            "cue task (evidence accumulation, Bellec et al. 2020): T = {} steps ({} cues, delay {} ms, recall {} ms), \
             seed {seed}: train {}, validation {}, test {}",
            self.t_steps,
            self.n_cues,
            self.t_steps - self.min_t_steps(),
            RECALL_MS,
            self.train_samples,
            self.validation_samples,
            self.test_samples
        )
    }
}

/// One generated split: `x [n, T, 40]` (0/1 spikes as f32) and `y [n]` (0 left, 1 right).
#[derive(Clone, Debug, PartialEq)]
pub struct CueSplit {
    /// Spikes, row-major `[n, T, 40]`.
    pub x: Vec<f32>,
    /// Labels.
    pub y: Vec<i64>,
    /// Samples.
    pub n: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Right cues per sample (for tests and plots).
    pub right_cues: Vec<u8>,
}

/// Which split a generator makes: each has its own random stream, so that the test set does not depend on the
/// size of the training set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Validation,
    /// Test.
    Test,
}

impl Split {
    fn stream(self) -> u64 {
        match self {
            Split::Train => 1,
            Split::Validation => 2,
            Split::Test => 3,
        }
    }
}

/// Generates `n` samples of `split` from `seed` (deterministic: the same arguments give the same bits).
pub fn generate(cfg: &CueConfig, seed: u64, split: Split, n: usize) -> CueSplit {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(split.stream());
    let t = cfg.t_steps;
    let mut x = vec![0.0f32; n * t * N_CHANNELS];
    let mut y = Vec::with_capacity(n);
    let mut right_cues = Vec::with_capacity(n);
    for s in 0..n {
        let xs = &mut x[s * t * N_CHANNELS..(s + 1) * t * N_CHANNELS];
        let p_right = if rng.random_bool(0.5) { 0.7 } else { 0.3 };
        let mut n_right = 0usize;
        for k in 0..cfg.n_cues {
            let right = rng.random_bool(p_right);
            n_right += usize::from(right);
            let group = if right { 1 } else { 0 };
            let start = CUE_GAP_MS + CUE_SPACING_MS * k;
            fire(xs, start..start + CUE_MS, group, CUE_RATE, &mut rng);
        }
        fire(xs, t - RECALL_MS..t, 2, CUE_RATE, &mut rng);
        fire(xs, 0..t, 3, NOISE_RATE, &mut rng);
        y.push(i64::from(2 * n_right > cfg.n_cues));
        right_cues.push(n_right as u8);
    }
    CueSplit { x, y, n, t_steps: t, right_cues }
}

/// Poisson spikes (Bernoulli per step) on the ten channels of `group` over `steps`.
fn fire(xs: &mut [f32], steps: std::ops::Range<usize>, group: usize, p: f64, rng: &mut ChaCha8Rng) {
    for t in steps {
        for c in group * GROUP..(group + 1) * GROUP {
            if rng.random_bool(p) {
                xs[t * N_CHANNELS + c] = 1.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &CueSplit, steps: std::ops::Range<usize>, group: usize) -> f64 {
        let (mut n, mut on) = (0usize, 0usize);
        for b in 0..s.n {
            for t in steps.clone() {
                for c in group * GROUP..(group + 1) * GROUP {
                    n += 1;
                    on += usize::from(s.x[(b * s.t_steps + t) * N_CHANNELS + c] != 0.0);
                }
            }
        }
        on as f64 / n as f64
    }

    #[test]
    fn samples_follow_the_protocol() {
        let cfg = CueConfig { t_steps: 2250, ..CueConfig::default() };
        let s = generate(&cfg, 7, Split::Train, 400);
        assert_eq!(s.x.len(), 400 * 2250 * 40);
        // Labels: majority of right cues; both classes about equally often.
        for (&y, &r) in s.y.iter().zip(&s.right_cues) {
            assert_eq!(y, i64::from(r > 3));
        }
        let right = s.y.iter().filter(|&&y| y == 1).count();
        assert!((150..250).contains(&right), "{right} of 400 right");
        // Rates: noise 10 Hz everywhere; recall 40 Hz in the last 150 steps, silent before; cue groups silent in
        // the gaps and in the delay.
        let noise = rate(&s, 0..2250, 3);
        assert!((noise - 0.01).abs() < 0.001, "noise {noise}");
        let recall = rate(&s, 2100..2250, 2);
        assert!((recall - 0.04).abs() < 0.003, "recall {recall}");
        assert_eq!(rate(&s, 0..2100, 2), 0.0);
        for g in [0, 1] {
            assert_eq!(rate(&s, 0..50, g), 0.0);
            assert_eq!(rate(&s, 150..200, g), 0.0);
            assert_eq!(rate(&s, 1050..2250, g), 0.0, "group {g} in the delay");
        }
        // During the cues, left + right together fire at 40 Hz on one group at a time.
        let both = rate(&s, 50..150, 0) + rate(&s, 50..150, 1);
        assert!((both - 0.04).abs() < 0.004, "cue 0 rate {both}");
    }

    #[test]
    fn the_same_seed_gives_the_same_bits_and_splits_differ() {
        let cfg = CueConfig { t_steps: 1200, ..CueConfig::default() };
        let a = generate(&cfg, 3, Split::Test, 5);
        assert_eq!(a, generate(&cfg, 3, Split::Test, 5));
        assert_ne!(a.x, generate(&cfg, 3, Split::Train, 5).x);
        assert_ne!(a.x, generate(&cfg, 4, Split::Test, 5).x);
        // A longer test set starts with the shorter one.
        let b = generate(&cfg, 3, Split::Test, 8);
        assert_eq!(&b.x[..a.x.len()], &a.x[..]);
    }

    #[test]
    fn too_short_sequences_are_refused_with_the_minimum() {
        let cfg = CueConfig { t_steps: 1000, ..CueConfig::default() };
        let e = cfg.validate().expect_err("T = 1000 accepted");
        assert!(e.contains("at least 1200"), "{e}");
        assert!(CueConfig { t_steps: 1200, ..CueConfig::default() }.validate().is_ok());
        assert!(CueConfig { n_cues: 4, ..CueConfig::default() }.validate().is_err());
        // Fewer cues fit shorter sequences: 5 cues need 50 + 600 + 100 + 150 = 900 steps.
        assert!(CueConfig { t_steps: 1000, n_cues: 5, ..CueConfig::default() }.validate().is_ok());
    }
}
