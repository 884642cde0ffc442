//! The network's description: sizes, time constants, threshold, adaptation and surrogate. Independent of the
//! learning rule. Defaults are the paper's values (docs/model.md); every field can be overridden (e.g. from TOML).

use serde::{Deserialize, Serialize};

use crate::{
    ModelError, Real,
    surrogate::{PreparedSurrogate, Surrogate},
};

/// Network shape and neuron constants. `T` is not part of it: it is the length of the input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetConfig {
    /// Input features per step (paper: 80 = 40 log-Mel + 40 delta).
    pub n_in: usize,
    /// Recurrent ALIF neurons (paper: 120).
    pub n_rec: usize,
    /// Leaky readout units = classes (paper: 12).
    pub n_out: usize,
    /// Simulation step (paper: 1 ms).
    pub dt_ms: f64,
    /// Membrane time constant τ_m (paper: 5 ms).
    pub tau_m_ms: f64,
    /// Adaptation time constant τ_a (paper: 150 ms).
    pub tau_a_ms: f64,
    /// Readout filter time constant τ_out (paper: 10 ms).
    pub tau_out_ms: f64,
    /// Baseline threshold v_th (paper: 1.6).
    pub v_th: f64,
    /// Adaptation strength β (paper: 0.184).
    pub beta: f64,
    /// Pseudo-derivative constants.
    pub surrogate: Surrogate,
    /// How many recurrent neurons (the first ones, j < n_lif) are plain LIF (β = 0); the others are adaptive (paper:
    /// 0, all ALIF; the cue task of Bellec et al. 2020: half).
    pub n_lif: usize,
    /// Readout window W: the logits average the readout over the last W steps only, and the loss and prediction
    /// come from that window (0, or W ≥ T: the whole sequence, as in the paper's task; the cue task: its recall
    /// window). e-prop then sums its filtered eligibility only inside the window.
    pub readout_window: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            n_in: 80,
            n_rec: 120,
            n_out: 12,
            dt_ms: 1.0,
            tau_m_ms: 5.0,
            tau_a_ms: 150.0,
            tau_out_ms: 10.0,
            v_th: 1.6,
            beta: 0.184,
            surrogate: Surrogate::default(),
            n_lif: 0,
            readout_window: 0,
        }
    }
}

impl NetConfig {
    /// The network of Bellec et al. 2020's evidence-accumulation (cue) task, in this model's units: 40 inputs,
    /// 100 neurons (50 plain LIF, 50 adaptive), 2 readouts read over the last 150 steps; τ_m 20 ms, τ_a 2,000 ms,
    /// τ_out 20 ms. Their membrane integrates the input without the (1 − α) factor and their adaptation without
    /// (1 − ρ); scaling their voltage by (1 − α) maps their threshold 0.6 to v_th = 0.6 (1 − α) and their
    /// β = 1.7 (1 − ρ)/(1 − α) to exactly 1.7 here. Their pseudo-derivative, 0.3/v_th · max(0, 1 − |u|/v_th) in
    /// these units, becomes the Gaussian with the same area (γ = 0.3) and standard deviation (σ = v_th/√6; no
    /// side lobes). Left out: their 5-step refractory period, their reset by v_th alone (here by the adaptive
    /// threshold A), their firing-rate regulariser and their readout's (1 − κ) factor.
    pub fn cue_task() -> Self {
        let tau_m_ms = 20.0;
        let alpha = (-1.0f64 / tau_m_ms).exp();
        let v_th = 0.6 * (1.0 - alpha);
        Self {
            n_in: 40,
            n_rec: 100,
            n_out: 2,
            dt_ms: 1.0,
            tau_m_ms,
            tau_a_ms: 2000.0,
            tau_out_ms: 20.0,
            v_th,
            beta: 1.7,
            surrogate: Surrogate { gamma: 0.3, sigma: v_th / 6f64.sqrt(), scale: 6.0, height: 0.0 },
            n_lif: 50,
            readout_window: 150,
        }
    }

    /// Checks that every size is positive and every constant finite and in range.
    pub fn validate(&self) -> Result<(), ModelError> {
        for (name, n) in [("n_in", self.n_in), ("n_rec", self.n_rec), ("n_out", self.n_out)] {
            if n == 0 {
                return Err(ModelError::Config(format!("{name} must be at least 1, found 0")));
            }
        }
        for (name, t) in [
            ("dt_ms", self.dt_ms),
            ("tau_m_ms", self.tau_m_ms),
            ("tau_a_ms", self.tau_a_ms),
            ("tau_out_ms", self.tau_out_ms),
            ("surrogate.sigma", self.surrogate.sigma),
            ("surrogate.scale", self.surrogate.scale),
        ] {
            if !(t.is_finite() && t > 0.0) {
                return Err(ModelError::Config(format!("{name} must be a positive number, found {t}")));
            }
        }
        for (name, x) in [
            ("v_th", self.v_th),
            ("beta", self.beta),
            ("surrogate.gamma", self.surrogate.gamma),
            ("surrogate.height", self.surrogate.height),
        ] {
            if !x.is_finite() {
                return Err(ModelError::Config(format!("{name} must be finite, found {x}")));
            }
        }
        if self.n_lif > self.n_rec {
            return Err(ModelError::Config(format!(
                "n_lif = {} plain LIF neurons do not fit in n_rec = {}",
                self.n_lif, self.n_rec
            )));
        }
        Ok(())
    }

    /// First step of the readout window of a `t_steps`-long sequence (0 when the window is the whole sequence).
    pub fn window_start(&self, t_steps: usize) -> usize {
        if self.readout_window > 0 && self.readout_window < t_steps { t_steps - self.readout_window } else { 0 }
    }

    /// Steps in the readout window of a `t_steps`-long sequence: the divisor of the logits.
    pub fn window_len(&self, t_steps: usize) -> usize {
        t_steps - self.window_start(t_steps)
    }

    /// Number of trainable weights: n_in·n_rec + n_rec² + n_rec·n_out (paper: 25,440).
    pub fn n_weights(&self) -> usize {
        self.n_in * self.n_rec + self.n_rec * self.n_rec + self.n_rec * self.n_out
    }

    /// The per-step constants in precision `R`.
    pub fn consts<R: Real>(&self) -> Consts<R> {
        let alpha = (-self.dt_ms / self.tau_m_ms).exp();
        let rho = (-self.dt_ms / self.tau_a_ms).exp();
        let kappa = (-self.dt_ms / self.tau_out_ms).exp();
        Consts {
            alpha: R::of(alpha),
            one_minus_alpha: R::of(1.0 - alpha),
            rho: R::of(rho),
            one_minus_rho: R::of(1.0 - rho),
            kappa: R::of(kappa),
            v_th: R::of(self.v_th),
            beta: R::of(self.beta),
            n_lif: self.n_lif,
            surrogate: self.surrogate.prepared(),
        }
    }
}

/// Decay factors and constants of one step, precomputed in `f64` and rounded once to `R`.
#[derive(Clone, Copy, Debug)]
pub struct Consts<R> {
    /// α = exp(−dt/τ_m).
    pub alpha: R,
    /// 1 − α (computed in f64, then rounded).
    pub one_minus_alpha: R,
    /// ρ = exp(−dt/τ_a).
    pub rho: R,
    /// 1 − ρ.
    pub one_minus_rho: R,
    /// κ = exp(−dt/τ_out).
    pub kappa: R,
    /// Baseline threshold.
    pub v_th: R,
    /// Adaptation strength of the adaptive neurons.
    pub beta: R,
    /// Neurons j < n_lif are plain LIF (β = 0).
    pub n_lif: usize,
    /// Pseudo-derivative, its constants in `R`.
    pub surrogate: PreparedSurrogate<R>,
}

impl<R: Real> Consts<R> {
    /// β of neuron `j`: 0 for the plain LIF neurons (j < n_lif), the adaptation strength otherwise.
    #[inline(always)]
    pub fn beta_at(&self, j: usize) -> R {
        if j < self.n_lif { R::zero() } else { self.beta }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_network_has_25440_weights() {
        assert_eq!(NetConfig::default().n_weights(), 25_440);
    }

    #[test]
    fn zero_size_is_rejected() {
        let cfg = NetConfig { n_rec: 0, ..NetConfig::default() };
        assert!(cfg.validate().is_err());
    }
}
