//! The multi-Gaussian pseudo-derivative ψ of the spike function (docs/model.md, "Forward pass").

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
        self.prepared::<R>().psi(u)
    }

    /// ψ with its constants rounded to `R` once, for hot loops (the same values as [`Surrogate::psi`], bit for
    /// bit).
    pub fn prepared<R: crate::Real>(&self) -> PreparedSurrogate<R> {
        let sqrt_2pi = (2.0 * std::f64::consts::PI).sqrt();
        let wide = self.scale * self.sigma;
        let h = R::of(self.height);
        PreparedSurrogate {
            k0: R::of(0.5 / (self.sigma * self.sigma)),
            n0: R::of(1.0 / (sqrt_2pi * self.sigma)),
            k1: R::of(0.5 / (wide * wide)),
            n1: R::of(1.0 / (sqrt_2pi * wide)),
            sigma: R::of(self.sigma),
            h,
            one_plus_h: R::one() + h,
            gamma: R::of(self.gamma),
        }
    }
}

/// [`Surrogate`] with its constants in the working precision (see [`Surrogate::prepared`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreparedSurrogate<R> {
    k0: R,
    n0: R,
    k1: R,
    n1: R,
    sigma: R,
    h: R,
    one_plus_h: R,
    gamma: R,
}

impl<R: crate::Real> PreparedSurrogate<R> {
    /// ψ(u): three exponentials and a few multiplications.
    #[inline]
    pub fn psi(&self, u: R) -> R {
        self.gamma
            * (self.one_plus_h * gaussian(u, R::zero(), self.k0, self.n0)
                - self.h * gaussian(u, self.sigma, self.k1, self.n1)
                - self.h * gaussian(u, -self.sigma, self.k1, self.n1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_at_zero_matches_spec() {
        // docs/model.md: ψ(0) ≈ 0.439.
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

    /// ψ written out from the definition, every constant formed at the call (the form `prepared` must equal).
    fn psi_direct<R: crate::Real>(s: &Surrogate, u: R) -> R {
        let sqrt_2pi = (2.0 * std::f64::consts::PI).sqrt();
        let wide = s.scale * s.sigma;
        let g = |mu: f64, width: f64| {
            let d = u - R::of(mu);
            (-(d * d) * R::of(0.5 / (width * width))).exp() * R::of(1.0 / (sqrt_2pi * width))
        };
        let h = R::of(s.height);
        R::of(s.gamma) * ((R::one() + h) * g(0.0, s.sigma) - h * g(s.sigma, wide) - h * g(-s.sigma, wide))
    }

    #[test]
    fn prepared_constants_give_the_same_bits() {
        for s in [Surrogate::default(), Surrogate { gamma: 0.3, sigma: 0.4, scale: 5.0, height: 0.2 }] {
            let (p32, p64) = (s.prepared::<f32>(), s.prepared::<f64>());
            for k in -300..=300 {
                let u = k as f64 * 0.01 + 0.003;
                assert_eq!(p64.psi(u).to_bits(), psi_direct(&s, u).to_bits(), "f64 at {u}");
                let u = u as f32;
                assert_eq!(p32.psi(u).to_bits(), psi_direct(&s, u).to_bits(), "f32 at {u}");
            }
        }
    }
}
