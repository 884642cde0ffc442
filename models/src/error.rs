//! Errors of the reference: every message says what was expected and what was found.

/// What can go wrong when the reference is handed inconsistent inputs.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    /// A tensor does not have the length its shape requires.
    #[error("{what}: expected {expected} values, found {found}")]
    Length { what: String, expected: usize, found: usize },
    /// A label is outside `0..n_out`.
    #[error("label y[{index}] = {label} is out of range: expected 0 ≤ y < {n_out}")]
    LabelOutOfRange { index: usize, label: i64, n_out: usize },
    /// A value is NaN or infinite.
    #[error("{what}[{index}] = {value} is not finite")]
    NotFinite { what: String, index: usize, value: f64 },
    /// The configuration is impossible (a size of zero, a negative time constant…).
    #[error("invalid network configuration: {0}")]
    Config(String),
    /// The batch holds no samples or no time steps.
    #[error("empty batch: expected at least one sample and one time step, found B = {batch}, T = {t_steps}")]
    EmptyBatch { batch: usize, t_steps: usize },
}
