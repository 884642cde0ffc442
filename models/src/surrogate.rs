//! The multi-Gaussian pseudo-derivative ψ of the spike function (MODEL.md, "Surrogate").

use serde::{Deserialize, Serialize};

/// ψ(u) = γ [ (1+h) N(u; 0, σ) − h N(u; σ, sσ) − h N(u; −σ, sσ) ] on u = v − A (not divided by v_th).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Surrogate {
    /// Overall gain γ (paper: 0.5).
    pub gamma: f64,
    /// Width σ of the central Gaussian (paper: 0.5).
    pub sigma: f64,
    /// Width factor s of the two side Gaussians (paper: 6).
    pub scale: f64,
    /// Weight h of the side Gaussians (paper: 0.15).
    pub height: f64,
}

impl Default for Surrogate {
    fn default() -> Self {
        Self { gamma: 0.5, sigma: 0.5, scale: 6.0, height: 0.15 }
    }
}

/// N(u; μ, s) = exp(−(u−μ)²/(2s²)) / (√(2π) s), with 1/(2s²) and 1/(√(2π) s) given (computed in f64 once).
fn gaussian<R: crate::Real>(u: R, mu: R, half_inv_var: R, norm: R) -> R {
    let d = u - mu;
    (-(d * d) * half_inv_var).exp() * norm
}

impl Surrogate {
    /// ψ(u) in the precision `R`. The constants are formed in f64 and rounded once; the per-call work is three
    /// exponentials and a few multiplications (no divisions).
    pub fn psi<R: crate::Real>(&self, u: R) -> R {
        let sqrt_2pi = (2.0 * std::f64::consts::PI).sqrt();
        let wide = self.scale * self.sigma;
        let (k0, n0) = (R::of(0.5 / (self.sigma * self.sigma)), R::of(1.0 / (sqrt_2pi * self.sigma)));
        let (k1, n1) = (R::of(0.5 / (wide * wide)), R::of(1.0 / (sqrt_2pi * wide)));
        let sigma = R::of(self.sigma);
        let h = R::of(self.height);
        R::of(self.gamma)
            * ((R::one() + h) * gaussian(u, R::zero(), k0, n0)
                - h * gaussian(u, sigma, k1, n1)
                - h * gaussian(u, -sigma, k1, n1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_at_zero_matches_spec() {
        // MODEL.md: ψ(0) ≈ 0.439.
        let p: f64 = Surrogate::default().psi(0.0);
        assert!((p - 0.439).abs() < 5e-4, "ψ(0) = {p}");
    }

    #[test]
    fn psi_is_negative_far_out_and_symmetric() {
        let s = Surrogate::default();
        assert!(s.psi(1.5_f64) < 0.0);
        assert!(s.psi(1.0_f64) > 0.0);
        assert_eq!(s.psi(0.7_f64), s.psi(-0.7_f64));
    }
}
