//! The paper's front end (docs/data.md steps 1–7): a clip becomes 100 frames × 80 features — 40 log-Mel bins (Slaney
//! scale and area normalisation, n_fft 480, hop 161, 20–4000 Hz, power spectrum of a periodic Hann window with
//! reflect padding) and their first-order Savitzky–Golay delta (width 9), each (channel, mel) row divided by its
//! population std over time, laid out time-major with feature index channel·40 + mel. Equal to librosa 0.10 with
//! pad_mode='reflect' (fixtures in tests/fixtures, made by tests/fixtures/gen_features.py) to ≤ 6e-6: the FFT runs
//! in f32 (twice as fast), everything around it in f64.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Samples per clip (1 s at 16 kHz).
pub const CLIP_SAMPLES: usize = 16_000;
/// FFT size.
pub const N_FFT: usize = 480;
/// Hop between frames (the paper's; `FeatureExtractor::with_hop` takes any other).
pub const HOP: usize = 161;
/// Mel bins.
pub const N_MELS: usize = 40;
/// Frames per clip at the paper's hop: 1 + ⌊16000 / 161⌋ = 100.
pub const N_FRAMES: usize = 1 + CLIP_SAMPLES / HOP;

/// Frames per clip at hop `hop`: 1 + ⌊16000 / hop⌋ (hop 16: 1,001 frames, one per ms).
pub const fn frames_for(hop: usize) -> usize {
    1 + CLIP_SAMPLES / hop
}

/// The largest hop the front end takes: the delta needs 9 frames.
pub const MAX_HOP: usize = CLIP_SAMPLES / 8;
/// Features per frame: static + delta.
pub const N_FEATURES: usize = 2 * N_MELS;
const N_BINS: usize = N_FFT / 2 + 1;
const F_MIN: f64 = 20.0;
const F_MAX: f64 = 4000.0;
const SR: f64 = 16_000.0;

/// Slaney's Hz → mel (librosa, htk=False).
pub fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz { min_log_mel + (f / min_log_hz).ln() / logstep } else { f / f_sp }
}

/// Slaney's mel → Hz.
pub fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel { min_log_hz * (logstep * (m - min_log_mel)).exp() } else { f_sp * m }
}

/// The Slaney-normalised mel filterbank `[N_MELS][N_BINS]`, as librosa.filters.mel builds it.
pub fn mel_filterbank() -> Vec<f64> {
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|k| k as f64 * (SR / 2.0) / (N_BINS - 1) as f64).collect();
    let (m_lo, m_hi) = (hz_to_mel(F_MIN), hz_to_mel(F_MAX));
    let mel_f: Vec<f64> =
        (0..N_MELS + 2).map(|i| mel_to_hz(m_lo + (m_hi - m_lo) * i as f64 / (N_MELS + 1) as f64)).collect();
    let mut w = vec![0.0; N_MELS * N_BINS];
    for i in 0..N_MELS {
        let (fd0, fd1) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / fd0;
            let upper = (mel_f[i + 2] - f) / fd1;
            w[i * N_BINS + k] = lower.min(upper).max(0.0) * enorm;
        }
    }
    w
}

/// Places a clip in a 1 s window deterministically (evaluation placement): a shorter clip gets ⌊(16000−n)/2⌋ zeros
/// before and the rest after; a longer one is cropped from ⌊(n−16000)/2⌋.
pub fn centre(samples: &[f32]) -> Vec<f32> {
    place(samples, None)
}

/// Places a clip in a 1 s window: `shift` = `None` centres it (see [`centre`]); `Some(u)` with u in [0, 1) puts the
/// padding or the crop at ⌊u·|16000 − n|⌋ instead (docs/data.md's random training placement, drawn by the caller).
pub fn place(samples: &[f32], shift: Option<f64>) -> Vec<f32> {
    let n = samples.len();
    let slack = n.abs_diff(CLIP_SAMPLES);
    let s = match shift {
        None => slack / 2,
        Some(u) => ((u.clamp(0.0, 1.0) * (slack + 1) as f64) as usize).min(slack),
    };
    if n >= CLIP_SAMPLES {
        samples[s..s + CLIP_SAMPLES].to_vec()
    } else {
        let mut out = vec![0.0; CLIP_SAMPLES];
        out[s..s + n].copy_from_slice(samples);
        out
    }
}

/// Computes features; reusable across clips (the FFT plan and filterbank are built once).
pub struct FeatureExtractor {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f64>,
    /// Each mel filter's non-zero span: first FFT bin and weights (a filter covers a few bins of 241).
    mel: Vec<(usize, Vec<f64>)>,
    /// Samples between frames.
    hop: usize,
    /// Frames per clip.
    n_frames: usize,
}

impl std::fmt::Debug for FeatureExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeatureExtractor")
    }
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureExtractor {
    /// Plans the FFT and builds the window and filterbank, at the paper's hop (161 samples: 100 frames).
    pub fn new() -> Self {
        Self::build(HOP)
    }

    /// At hop `hop` samples (1 ≤ hop ≤ 2000): 1 + ⌊16000 / hop⌋ frames per clip, otherwise the same front end.
    pub fn with_hop(hop: usize) -> anyhow::Result<Self> {
        if !(1..=MAX_HOP).contains(&hop) {
            anyhow::bail!("hop length {hop}: expected 1 to {MAX_HOP} samples (the delta needs at least 9 frames)");
        }
        Ok(Self::build(hop))
    }

    /// Frames per clip.
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Samples between frames.
    pub fn hop(&self) -> usize {
        self.hop
    }

    fn build(hop: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let window =
            (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()).collect();
        let dense = mel_filterbank();
        let mel = (0..N_MELS)
            .map(|m| {
                let row = &dense[m * N_BINS..(m + 1) * N_BINS];
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w != 0.0).map_or(first, |l| l + 1);
                (first, row[first..last].to_vec())
            })
            .collect();
        Self { fft, window, mel, hop, n_frames: frames_for(hop) }
    }

    /// Steps 1–6 on a clip of 16 kHz samples (centred when it is not exactly 1 s): `[n_frames × N_FEATURES]`.
    pub fn features(&self, samples: &[f32]) -> Vec<f32> {
        self.features_placed(samples, None)
    }

    /// Like [`FeatureExtractor::features`] with the placement of [`place`] (`Some(u)`: training placement).
    pub fn features_placed(&self, samples: &[f32], shift: Option<f64>) -> Vec<f32> {
        // 1. Place, then scale by max|x| (applied as each frame is read, in f64).
        let y = place(samples, shift);
        let peak = y.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
        let scale = if peak > 0.0 { 1.0 / peak } else { 1.0 };
        // 2. Reflect-pad by n_fft/2 (numpy 'reflect': the edge sample is not repeated), power STFT, mel. Frames
        // are read through the reflection directly (no padded copy).
        let pad = N_FFT / 2;
        let n = y.len() as isize;
        let at = |k: isize| -> f64 {
            let i = k - pad as isize;
            let j = if i < 0 {
                -i
            } else if i >= n {
                2 * (n - 1) - i
            } else {
                i
            };
            y[j as usize] as f64 * scale
        };
        let mut frame = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let (n_frames, hop) = (self.n_frames, self.hop);
        let mut mel = vec![0.0f64; N_MELS * n_frames]; // [mel][t]
        let mut power = vec![0.0f64; N_BINS];
        for t in 0..n_frames {
            let start = t * hop;
            if start >= pad && start + N_FFT <= pad + y.len() {
                let base = start - pad;
                for ((v, &s), &w) in frame.iter_mut().zip(&y[base..base + N_FFT]).zip(&self.window) {
                    *v = (s as f64 * scale * w) as f32;
                }
            } else {
                for (k, v) in frame.iter_mut().enumerate() {
                    *v = (at((start + k) as isize) * self.window[k]) as f32;
                }
            }
            // Lengths are fixed by construction, so the FFT cannot fail.
            if self.fft.process_with_scratch(&mut frame, &mut spec, &mut scratch).is_err() {
                unreachable!("FFT buffers have the planned lengths");
            }
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = (c.re as f64) * (c.re as f64) + (c.im as f64) * (c.im as f64);
            }
            for (m, (first, w)) in self.mel.iter().enumerate() {
                mel[m * n_frames + t] = w.iter().zip(&power[*first..]).map(|(w, p)| w * p).sum();
            }
        }
        // 3. log1p(S / max S).
        let smax = mel.iter().fold(0.0f64, |m, &v| m.max(v));
        if smax > 0.0 {
            mel.iter_mut().for_each(|v| *v = (*v / smax).ln_1p());
        }
        // 4. Delta: Savitzky–Golay, width 9, order 1, derivative 1, mode 'interp' (edges take the fitted line's
        // slope over the first / last 9 frames, i.e. the centre value of the nearest full window).
        let mut delta = vec![0.0f64; N_MELS * n_frames];
        for m in 0..N_MELS {
            let row = &mel[m * n_frames..(m + 1) * n_frames];
            let d = &mut delta[m * n_frames..(m + 1) * n_frames];
            let slope = |c: usize| (1..=4).map(|k| k as f64 * (row[c + k] - row[c - k])).sum::<f64>() / 60.0;
            for t in 4..n_frames - 4 {
                d[t] = slope(t);
            }
            let (first, last) = (slope(4), slope(n_frames - 5));
            d[..4].iter_mut().for_each(|v| *v = first);
            d[n_frames - 4..].iter_mut().for_each(|v| *v = last);
        }
        // 5–6. Normalise each (channel, mel) row by its population std over time; lay out [t][ch·40 + mel].
        let mut out = vec![0.0f32; n_frames * N_FEATURES];
        for (ch, data) in [&mel, &delta].into_iter().enumerate() {
            for m in 0..N_MELS {
                let row = &data[m * n_frames..(m + 1) * n_frames];
                let mean = row.iter().sum::<f64>() / n_frames as f64;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n_frames as f64;
                let sd = var.sqrt();
                let sd = if sd == 0.0 { 1.0 } else { sd };
                for t in 0..n_frames {
                    out[t * N_FEATURES + ch * N_MELS + m] = (row[t] / sd) as f32;
                }
            }
        }
        out
    }
}

/// Step 7 (training/evaluation option): divide each of the `width` features of `x [rows, width]` by its population
/// std over the rows (batch × time); features with std 0 are left as they are.
pub fn normalise_batch(x: &mut [f32], width: usize) {
    let rows = x.len() / width.max(1);
    for f in 0..width {
        let vals = x.iter().skip(f).step_by(width).map(|&v| v as f64);
        let mean = vals.clone().sum::<f64>() / rows as f64;
        let var = vals.map(|v| (v - mean) * (v - mean)).sum::<f64>() / rows as f64;
        let sd = var.sqrt();
        if sd > 0.0 {
            for r in 0..rows {
                x[r * width + f] = (x[r * width + f] as f64 / sd) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_slaney_scale() {
        assert_eq!(N_FRAMES, 100);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((mel_to_hz(hz_to_mel(3210.0)) - 3210.0).abs() < 1e-9);
        let fb = mel_filterbank();
        assert_eq!(fb.len(), N_MELS * N_BINS);
        assert!(fb.iter().all(|v| *v >= 0.0));
    }

    #[test]
    fn random_placement_stays_inside() {
        let short = vec![1.0f32; 10];
        assert_eq!(place(&short, Some(0.0)).iter().position(|&v| v == 1.0), Some(0));
        assert_eq!(place(&short, Some(0.999_999)).iter().rposition(|&v| v == 1.0), Some(15_999));
        let long: Vec<f32> = (0..16_004).map(|i| i as f32).collect();
        assert_eq!(place(&long, Some(0.999_999))[0], 4.0);
    }

    #[test]
    fn centre_places_short_and_crops_long() {
        let short = vec![1.0f32; 10];
        let c = centre(&short);
        assert_eq!(c.iter().position(|&v| v == 1.0), Some((16000 - 10) / 2));
        let long: Vec<f32> = (0..16004).map(|i| i as f32).collect();
        assert_eq!(centre(&long)[0], 2.0);
    }
}

#[cfg(test)]
mod step7 {
    #[test]
    fn unit_std_per_feature() {
        let mut x: Vec<f32> = (0..40).map(|i| (i % 2) as f32 * i as f32).collect();
        super::normalise_batch(&mut x, 2);
        let col: Vec<f64> = x.iter().skip(1).step_by(2).map(|&v| v as f64).collect();
        let m = col.iter().sum::<f64>() / col.len() as f64;
        let sd = (col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / col.len() as f64).sqrt();
        assert!((sd - 1.0).abs() < 1e-6, "{sd}");
        assert!(x.iter().step_by(2).all(|&v| v == 0.0));
    }
}
