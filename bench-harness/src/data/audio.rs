//! Reading clips: WAV (8/16/24/32-bit integer or 32-bit float, any channel count, any sample rate) into mono
//! 16 kHz f32 samples in [−1, 1], with a note for every conversion made (stereo mixed down, resampled with rubato).
//! Integer PCM is scaled by 1/2^(bits−1), as numpy/scipy loaders do for int16 (x / 32768).

use std::path::Path;

use rubato::{Fft, FixedSync, Resampler, audioadapter_buffers::direct::SequentialSliceOfVecs};

/// The sample rate the features expect.
pub const SAMPLE_RATE: u32 = 16_000;

/// Why a clip could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Not a WAV file, truncated, or an encoding hound cannot read.
    #[error("{path}: not a readable WAV file: {reason}")]
    Wav { path: String, reason: String },
    /// No samples at all.
    #[error("{path}: the clip is empty (0 samples)")]
    Empty { path: String },
    /// A sample rate outside what speech recordings use.
    #[error("{path}: sample rate {rate} Hz is outside 1,000–384,000 Hz; not a speech recording?")]
    Rate { path: String, rate: u32 },
    /// Resampling failed.
    #[error("{path}: cannot resample from {from} Hz to 16 kHz: {reason}")]
    Resample { path: String, from: u32, reason: String },
}

/// A clip ready for the front end.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    /// Mono samples at 16 kHz.
    pub samples: Vec<f32>,
    /// What was converted (empty when the file was already 16 kHz mono).
    pub notes: Vec<String>,
}

/// Reads a WAV file (see the module doc).
pub fn read_wav(path: &Path) -> Result<Clip, AudioError> {
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| AudioError::Wav { path: p.clone(), reason: e.to_string() })?;
    read_wav_from(std::io::BufReader::new(file), &p)
}

/// Reads WAV bytes from any reader; `name` is used in messages (the fuzz target feeds arbitrary bytes here).
pub fn read_wav_from<R: std::io::Read>(reader: R, name: &str) -> Result<Clip, AudioError> {
    let p = name.to_string();
    let werr = |e: hound::Error| AudioError::Wav { path: p.clone(), reason: e.to_string() };
    let mut reader = hound::WavReader::new(reader).map_err(werr)?;
    let spec = reader.spec();
    if !(1000..=384_000).contains(&spec.sample_rate) {
        return Err(AudioError::Rate { path: p, rate: spec.sample_rate });
    }
    let channels = spec.channels.max(1) as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>().map_err(werr)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f64;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| (v as f64 * scale) as f32))
                .collect::<Result<_, _>>()
                .map_err(werr)?
        }
    };
    if let Some(i) = interleaved.iter().position(|v| !v.is_finite()) {
        return Err(AudioError::Wav { path: p, reason: format!("sample {i} is not a finite number") });
    }
    let mut notes = Vec::new();
    let mut samples: Vec<f32> = if channels == 1 {
        interleaved
    } else {
        notes.push(format!("{channels} channels averaged to mono"));
        interleaved.chunks_exact(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect()
    };
    if samples.is_empty() {
        return Err(AudioError::Empty { path: p });
    }
    if spec.sample_rate != SAMPLE_RATE {
        samples = resample(&samples, spec.sample_rate).map_err(|reason| AudioError::Resample {
            path: p.clone(),
            from: spec.sample_rate,
            reason,
        })?;
        notes.push(format!("resampled from {} Hz to 16 kHz (rubato, FFT)", spec.sample_rate));
    }
    Ok(Clip { samples, notes })
}

/// Reads headerless 16-bit little-endian mono PCM at 16 kHz (e.g. pocketsphinx's `.raw` test clips).
pub fn read_raw_i16(path: &Path) -> Result<Clip, AudioError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| AudioError::Wav { path: p.clone(), reason: e.to_string() })?;
    let samples: Vec<f32> = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect();
    if samples.is_empty() {
        return Err(AudioError::Empty { path: p });
    }
    Ok(Clip { samples, notes: vec![] })
}

fn resample(samples: &[f32], from: u32) -> Result<Vec<f32>, String> {
    let input: Vec<Vec<f64>> = vec![samples.iter().map(|&v| v as f64).collect()];
    let mut rs =
        Fft::<f64>::new(from as usize, SAMPLE_RATE as usize, 1024, 1, FixedSync::Input).map_err(|e| e.to_string())?;
    let adapter = SequentialSliceOfVecs::new(&input, 1, samples.len()).map_err(|e| e.to_string())?;
    let out = rs.process_all(&adapter, samples.len(), None).map_err(|e| e.to_string())?;
    Ok(out.take_data().into_iter().map(|v| v as f32).collect())
}

/// Writes 16-bit mono PCM WAV at `rate` (tests and the synthetic dataset), via a temporary file and a rename.
pub fn write_wav_i16(path: &Path, samples: &[f32], rate: u32) -> Result<(), AudioError> {
    let p = path.display().to_string();
    let werr = |e: hound::Error| AudioError::Wav { path: p.clone(), reason: e.to_string() };
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| AudioError::Wav { path: p.clone(), reason: e.to_string() })?;
    {
        let mut w = hound::WavWriter::new(std::io::BufWriter::new(tmp.as_file()), spec).map_err(werr)?;
        for &s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).map_err(werr)?;
        }
        w.finalize().map_err(werr)?;
    }
    tmp.persist(path).map_err(|e| AudioError::Wav { path: p, reason: e.error.to_string() })?;
    Ok(())
}
