//! The floating-point type the reference is generic over: `f32` for production, `f64` for tests.

use num_traits::Float;

/// A float the reference can compute in. Implemented for `f32` and `f64` only.
pub trait Real: Float + std::iter::Sum + Send + Sync + Default + std::fmt::Debug + 'static {
    /// Converts from `f64`, rounding to nearest.
    fn of(x: f64) -> Self;
    /// Converts from `f32` exactly.
    fn of_f32(x: f32) -> Self;
    /// Widens to `f64` (exact).
    fn f64(self) -> f64;
    /// Rounds to `f32`.
    fn f32(self) -> f32;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn of_f32(x: f32) -> Self {
        x
    }
    fn f64(self) -> f64 {
        self as f64
    }
    fn f32(self) -> f32 {
        self
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn of_f32(x: f32) -> Self {
        x as f64
    }
    fn f64(self) -> f64 {
        self
    }
    fn f32(self) -> f32 {
        self as f32
    }
}
