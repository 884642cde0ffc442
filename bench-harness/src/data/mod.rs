//! The speech front end: WAV reading and resampling (`audio`), the paper's log-Mel + Δ features equal to librosa
//! (`features`), GSC's hash split (`split`), the GSC scan, silence crops and feature cache (`gsc`) and the built-in
//! GSC-shaped dataset made by speech synthesis (`synth`). It knows nothing of the network, the kernels or the jobs
//! (a tidy test checks its imports): data in, `x [N, T, 80]` and `y [N]` out.

pub mod audio;
pub mod features;
pub mod gsc;
pub mod split;
pub mod synth;
