//! A GSC-shaped dataset made on this machine by speech synthesis (docs/data.md, "The built-in synthetic set"):
//! seeded speaker configurations (flite voice and rate, or espeak-ng accent, variant, pitch and speed), each speaker
//! named by a hash of its configuration and drawn until the validation and test quotas are met under the dataset's
//! own hash rule; every clip trimmed, given a random gain, placed at a random offset in the 1 s window, mixed with
//! white noise at 10–40 dB SNR and written as 16 kHz mono 16-bit WAV in `<word>/<speaker>_nohash_0.wav`, with
//! `validation_list.txt`, `testing_list.txt` and generated `_background_noise_/` files. Deterministic for a seed
//! (given the same engine versions).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use super::{
    audio::{self, SAMPLE_RATE},
    features::CLIP_SAMPLES,
    split::{Split, which_set},
};

/// The 30 words of GSC v0.01.
pub const GSC_V1_WORDS: [&str; 30] = [
    "bed", "bird", "cat", "dog", "down", "eight", "five", "four", "go", "happy", "house", "left", "marvin", "nine",
    "no", "off", "on", "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "wow", "yes",
    "zero",
];
const FLITE_VOICES: [&str; 4] = ["kal16", "awb", "rms", "slt"];
const ESPEAK_ACCENTS: [&str; 8] =
    ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
const ESPEAK_VARIANTS: [&str; 16] =
    ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "Andy"];

/// Settings of a synthetic dataset.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Words (folders).
    pub words: Vec<String>,
    /// Speakers in all (each says every word once).
    pub speakers: usize,
    /// Seed.
    pub seed: u64,
    /// Seconds of each generated noise file.
    pub noise_seconds: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self { words: GSC_V1_WORDS.iter().map(|s| s.to_string()).collect(), speakers: 40, seed: 0, noise_seconds: 30 }
    }
}

/// Why the dataset could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A speech engine is not installed.
    #[error("`{engine}` not found: install it (Debian/Ubuntu: `apt-get install {package}`, or run scripts/setup.sh)")]
    Missing { engine: &'static str, package: &'static str },
    /// An engine failed on a word.
    #[error("{engine} failed to say {word:?}: {reason}")]
    Engine { engine: &'static str, word: String, reason: String },
    /// Writing failed.
    #[error("cannot write {0}")]
    Write(String),
}

/// A speaker: which engine and how it speaks.
#[derive(Clone, Debug, PartialEq)]
pub enum Speaker {
    /// flite with a voice and a duration stretch.
    Flite { voice: &'static str, stretch: f64 },
    /// espeak-ng with accent, variant, pitch (0–99) and speed (wpm).
    Espeak { accent: &'static str, variant: &'static str, pitch: u32, speed: u32 },
}

impl Speaker {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        if rng.random_range(0..3) == 0 {
            Speaker::Flite {
                voice: FLITE_VOICES[rng.random_range(0..FLITE_VOICES.len())],
                stretch: (rng.random_range(80..=130) as f64) / 100.0,
            }
        } else {
            Speaker::Espeak {
                accent: ESPEAK_ACCENTS[rng.random_range(0..ESPEAK_ACCENTS.len())],
                variant: ESPEAK_VARIANTS[rng.random_range(0..ESPEAK_VARIANTS.len())],
                pitch: rng.random_range(20..=80),
                speed: rng.random_range(120..=220),
            }
        }
    }

    /// The speaker's name in file names: 8 hex digits of a hash of the configuration.
    pub fn name(&self) -> String {
        let d = Sha1::digest(format!("{self:?}").as_bytes());
        d.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }

    fn say(&self, word: &str, tmp: &Path) -> Result<Vec<f32>, SynthError> {
        let (engine, out) = match self {
            Speaker::Flite { voice, stretch } => (
                "flite",
                Command::new("flite")
                    .args(["-voice", voice, "--setf", &format!("duration_stretch={stretch}"), "-t", word, "-o"])
                    .arg(tmp)
                    .output(),
            ),
            Speaker::Espeak { accent, variant, pitch, speed } => (
                "espeak-ng",
                Command::new("espeak-ng")
                    .args([
                        "-v",
                        &format!("{accent}+{variant}"),
                        "-p",
                        &pitch.to_string(),
                        "-s",
                        &speed.to_string(),
                        "-w",
                    ])
                    .arg(tmp)
                    .arg(word)
                    .output(),
            ),
        };
        let out = out.map_err(|e| SynthError::Engine { engine, word: word.into(), reason: e.to_string() })?;
        if !out.status.success() {
            let reason = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(SynthError::Engine { engine, word: word.into(), reason });
        }
        let clip = audio::read_wav(tmp).map_err(|e| SynthError::Engine {
            engine,
            word: word.into(),
            reason: e.to_string(),
        })?;
        Ok(clip.samples)
    }
}

/// Checks that both engines run.
pub fn check_engines() -> Result<(), SynthError> {
    for (engine, package, arg) in [("flite", "flite", "-lv"), ("espeak-ng", "espeak-ng", "--version")] {
        if Command::new(engine).arg(arg).output().map_or(true, |o| !o.status.success() && o.stdout.is_empty()) {
            return Err(SynthError::Missing { engine, package });
        }
    }
    Ok(())
}

/// Draws speakers until every split has its quota (80 / 10 / 10 %, at least one each) under the hash rule.
pub fn draw_speakers(n: usize, seed: u64) -> Vec<(Speaker, Split)> {
    let want_val = (n / 10).max(1);
    let want_test = (n / 10).max(1);
    let want_train = n.saturating_sub(want_val + want_test).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<(Speaker, Split)> = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let count = |out: &Vec<(Speaker, Split)>, s: Split| out.iter().filter(|(_, x)| *x == s).count();
    let mut tries = 0;
    while (count(&out, Split::Train) < want_train
        || count(&out, Split::Validation) < want_val
        || count(&out, Split::Test) < want_test)
        && tries < 100_000
    {
        tries += 1;
        let sp = Speaker::draw(&mut rng);
        let name = sp.name();
        if !names.insert(name.clone()) {
            continue;
        }
        let split = which_set(&format!("{name}_nohash_0.wav"));
        let quota = match split {
            Split::Train => want_train,
            Split::Validation => want_val,
            Split::Test => want_test,
        };
        if count(&out, split) < quota {
            out.push((sp, split));
        }
    }
    out
}

/// Trims leading and trailing samples below 2 % of the peak.
fn trim(x: &[f32]) -> &[f32] {
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let thr = 0.02 * peak;
    let first = x.iter().position(|v| v.abs() > thr).unwrap_or(0);
    let last = x.iter().rposition(|v| v.abs() > thr).map_or(x.len(), |l| l + 1);
    &x[first..last.max(first)]
}

fn white(rng: &mut ChaCha8Rng) -> f32 {
    let z: f64 = StandardNormal.sample(rng);
    z as f32
}

/// Places `speech` at a random offset in 1 s with a random gain and white noise at 10–40 dB SNR.
fn compose(speech: &[f32], rng: &mut ChaCha8Rng) -> Vec<f32> {
    let s = trim(speech);
    let s = if s.len() > CLIP_SAMPLES { &s[(s.len() - CLIP_SAMPLES) / 2..][..CLIP_SAMPLES] } else { s };
    let peak = s.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let gain = rng.random_range(30..=90) as f32 / 100.0 / peak;
    let offset = rng.random_range(0..=CLIP_SAMPLES - s.len());
    let mut out = vec![0.0f32; CLIP_SAMPLES];
    for (o, &v) in out[offset..].iter_mut().zip(s) {
        *o = v * gain;
    }
    let power = s.iter().map(|v| (v * gain) * (v * gain)).sum::<f32>() / s.len().max(1) as f32;
    let snr_db = rng.random_range(10..=40) as f32;
    let noise_sd = (power / 10f32.powf(snr_db / 10.0)).sqrt();
    for o in &mut out {
        *o = (*o + noise_sd * white(rng)).clamp(-1.0, 1.0);
    }
    out
}

/// What `synth` made.
#[derive(Clone, Debug)]
pub struct SynthReport {
    /// Clips written.
    pub clips: usize,
    /// Speakers per split.
    pub speakers: [(Split, usize); 3],
    /// Where.
    pub out: PathBuf,
}

/// Makes the dataset in `out` (see the module doc).
pub fn synth(out: &Path, cfg: &SynthConfig) -> Result<SynthReport, SynthError> {
    check_engines()?;
    let speakers = draw_speakers(cfg.speakers, cfg.seed);
    let werr = |e: std::io::Error, p: &Path| SynthError::Write(format!("{}: {e}", p.display()));
    for w in &cfg.words {
        std::fs::create_dir_all(out.join(w)).map_err(|e| werr(e, &out.join(w)))?;
    }
    let jobs: Vec<(usize, &Speaker, Split, &String)> = speakers
        .iter()
        .enumerate()
        .flat_map(|(si, (sp, split))| cfg.words.iter().map(move |w| (si, sp, *split, w)))
        .collect();
    let tmpdir = tempfile::tempdir().map_err(|e| werr(e, Path::new("temporary folder")))?;
    let results: Vec<Result<(String, Split), SynthError>> = jobs
        .par_iter()
        .enumerate()
        .map(|(k, (si, sp, split, word))| {
            let tmp = tmpdir.path().join(format!("{k}.wav"));
            let speech = sp.say(word, &tmp)?;
            let _ = std::fs::remove_file(&tmp);
            let mut rng =
                ChaCha8Rng::seed_from_u64(cfg.seed ^ ((*si as u64) << 20) ^ (k as u64).wrapping_mul(0x9e37_79b9));
            let clip = compose(&speech, &mut rng);
            let rel = format!("{word}/{}_nohash_0.wav", sp.name());
            audio::write_wav_i16(&out.join(&rel), &clip, SAMPLE_RATE).map_err(|e| SynthError::Write(e.to_string()))?;
            Ok((rel, *split))
        })
        .collect();
    let mut val = String::new();
    let mut test = String::new();
    let mut clips = 0;
    for r in results {
        let (rel, split) = r?;
        clips += 1;
        match split {
            Split::Validation => val.push_str(&format!("{rel}\n")),
            Split::Test => test.push_str(&format!("{rel}\n")),
            Split::Train => {}
        }
    }
    for (name, text) in [("validation_list.txt", val), ("testing_list.txt", test)] {
        std::fs::write(out.join(name), text).map_err(|e| werr(e, &out.join(name)))?;
    }
    // Background noise: white and pink (Voss–McCartney, 16 rows), seeded.
    let noise_dir = out.join(super::gsc::NOISE_DIR);
    std::fs::create_dir_all(&noise_dir).map_err(|e| werr(e, &noise_dir))?;
    let n = cfg.noise_seconds * CLIP_SAMPLES;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(77));
    let white_noise: Vec<f32> = (0..n).map(|_| 0.1 * white(&mut rng)).collect();
    let mut rows = [0.0f32; 16];
    let pink: Vec<f32> = (0..n)
        .map(|i| {
            let k = (i as u32 | 0x10000).trailing_zeros() as usize % 16;
            rows[k] = white(&mut rng);
            0.03 * rows.iter().sum::<f32>()
        })
        .collect();
    for (name, x) in [("white_noise.wav", white_noise), ("pink_noise.wav", pink)] {
        let clipped: Vec<f32> = x.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
        audio::write_wav_i16(&noise_dir.join(name), &clipped, SAMPLE_RATE)
            .map_err(|e| SynthError::Write(e.to_string()))?;
    }
    let count = |s: Split| speakers.iter().filter(|(_, x)| *x == s).count();
    Ok(SynthReport {
        clips,
        speakers: [
            (Split::Train, count(Split::Train)),
            (Split::Validation, count(Split::Validation)),
            (Split::Test, count(Split::Test)),
        ],
        out: out.to_path_buf(),
    })
}
