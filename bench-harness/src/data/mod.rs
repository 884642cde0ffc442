//! The speech front end: WAV reading and resampling (`audio`), the paper's log-Mel + Δ features equal to librosa
//! (`features`), GSC's hash split (`split`), the GSC scan, silence crops and feature cache (`gsc`) and the built-in
//! GSC-shaped dataset made by speech synthesis (`synth`); and the evidence-accumulation task of Bellec et al. 2020
//! generated from a seed (`cue`). It knows nothing of the network, the kernels or the jobs (a tidy test checks its
//! imports): data in, `x [N, T, n_in]` and `y [N]` out.

pub mod audio;
pub mod cue;
pub mod features;
pub mod gsc;
pub mod split;
pub mod synth;
