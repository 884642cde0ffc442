//! The speech front end against librosa: every fixture clip (generated tones/chirps/noise, a short and a long clip,
//! silence, and a real recording) gives the same [100, 80] features to ≤ 1e-4 absolute (issue #4's bound;
//! measured ≈ 1e-6). Also `snnbench features` end to end and every kind of awkward WAV.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use bench_harness::data::{audio, features::FeatureExtractor};
use tests::{assert_close, fixture, get, load_fixture, snnbench};

#[test]
fn fixture_clips_equal_librosa() {
    let reference = load_fixture("features_reference.safetensors");
    assert!(reference.len() >= 6, "fixture clips: {:?}", reference.keys());
    let fe = FeatureExtractor::new();
    for name in reference.keys() {
        let clip = audio::read_wav(&fixture(&format!("audio/{name}.wav"))).unwrap();
        let got: Vec<f64> = fe.features(&clip.samples).iter().map(|&v| v as f64).collect();
        let want = get(&reference, name);
        assert_eq!(got.len(), 100 * 80);
        if name == "silence" {
            assert!(got.iter().all(|&v| v == 0.0) && want.iter().all(|&v| v == 0.0));
            continue;
        }
        let scale = tests::max_abs(&want);
        let worst = assert_close(&format!("features {name}"), &got, &want, tests::tol::FEATURES_ABS);
        eprintln!("{name}: max |Δ| = {:.2e}", worst * scale);
    }
}

/// At hop 16 (T = 1,001 frames, one per ms) the front end is librosa's with `hop_length=16`, to the same bound.
#[test]
fn hop_16_equals_librosa_and_the_cli_writes_x_1001_by_80() {
    let reference = load_fixture("features_reference_hop16.safetensors");
    assert_eq!(reference.len(), 3, "fixture clips: {:?}", reference.keys());
    let fe = FeatureExtractor::with_hop(16).unwrap();
    assert_eq!(fe.n_frames(), 1001);
    for name in reference.keys() {
        let clip = audio::read_wav(&fixture(&format!("audio/{name}.wav"))).unwrap();
        let got: Vec<f64> = fe.features(&clip.samples).iter().map(|&v| v as f64).collect();
        let want = get(&reference, name);
        assert_eq!(got.len(), 1001 * 80);
        let scale = tests::max_abs(&want);
        let worst = assert_close(&format!("features {name} at hop 16"), &got, &want, tests::tol::FEATURES_ABS_HOP16);
        eprintln!("{name} at hop 16: max |Δ| = {:.2e}", worst * scale);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.safetensors");
    let wav = fixture("audio/chirp.wav");
    let msg =
        snnbench(&["features", "--wav", wav.to_str().unwrap(), "--hop-length", "16", "--out", out.to_str().unwrap()])
            .unwrap();
    assert!(msg.contains("x [1001, 80]"), "{msg}");
    let t = bench_harness::tensors::read_all(&out).unwrap();
    assert_eq!(t["x"].dims(), &[1001, 80]);
    let err =
        snnbench(&["features", "--wav", wav.to_str().unwrap(), "--hop-length", "0", "--out", out.to_str().unwrap()])
            .unwrap_err()
            .to_string();
    assert!(err.contains("hop length 0: expected 1 to 2000"), "{err}");
}

#[test]
fn cli_writes_x_100_by_80() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.safetensors");
    let msg = snnbench(&[
        "features",
        "--wav",
        fixture("audio/short_0.6s.wav").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(msg.contains("centred"), "{msg}");
    let t = bench_harness::tensors::read_all(&out).unwrap();
    assert_eq!(t["x"].dims(), &[100, 80]);
}

fn write(path: &std::path::Path, spec: hound::WavSpec, n: usize) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..n * spec.channels as usize {
        let v = (i as f64 * 0.05).sin() * 0.5;
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
            (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
            (_, 16) => w.write_sample((v * 32767.0) as i16).unwrap(),
            (_, 24) => w.write_sample((v * 8_388_607.0) as i32).unwrap(),
            _ => w.write_sample((v * 2_147_483_647.0) as i32).unwrap(),
        }
    }
    w.finalize().unwrap();
}

#[test]
fn awkward_wavs_are_converted_with_a_note_or_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |ch, rate, bits, fmt| hound::WavSpec {
        channels: ch,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: fmt,
    };
    use hound::SampleFormat::{Float, Int};
    // Converted: (file, spec, frames, a word the note must contain or "" for none).
    for (name, s, n, note) in [
        ("mono16.wav", spec(1, 16000, 16, Int), 16000, ""),
        ("stereo.wav", spec(2, 16000, 16, Int), 16000, "channels"),
        ("u8.wav", spec(1, 16000, 8, Int), 16000, ""),
        ("i24.wav", spec(1, 16000, 24, Int), 16000, ""),
        ("i32.wav", spec(1, 16000, 32, Int), 16000, ""),
        ("f32.wav", spec(1, 16000, 32, Float), 16000, ""),
        ("r44k.wav", spec(1, 44100, 16, Int), 44100, "resampled"),
        ("r8k_long.wav", spec(1, 8000, 16, Int), 12000, "resampled"),
    ] {
        let p = dir.path().join(name);
        write(&p, s, n);
        let clip = audio::read_wav(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expect_len = (n as f64 * 16000.0 / s.sample_rate as f64).round() as usize;
        assert!((clip.samples.len() as i64 - expect_len as i64).abs() <= 2, "{name}: {} samples", clip.samples.len());
        assert!(clip.samples.iter().all(|v| v.is_finite() && v.abs() <= 1.01), "{name}: out of range");
        let peak = clip.samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.5).abs() < 0.02, "{name}: peak {peak} (scaling)");
        if note.is_empty() {
            assert!(clip.notes.is_empty(), "{name}: {:?}", clip.notes);
        } else {
            assert!(clip.notes.iter().any(|n| n.contains(note)), "{name}: {:?}", clip.notes);
        }
        let x = FeatureExtractor::new().features(&clip.samples);
        assert!(x.iter().all(|v| v.is_finite()));
    }
    // Rejected with the path and the reason.
    let nan = dir.path().join("nan.wav");
    {
        let mut w = hound::WavWriter::create(&nan, spec(1, 16000, 32, Float)).unwrap();
        for v in [0.1f32, f32::NAN, 0.2] {
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
    }
    assert!(audio::read_wav(&nan).unwrap_err().to_string().contains("not a finite number"));
    let odd_rate = dir.path().join("rate1hz.wav");
    write(&odd_rate, spec(1, 1, 16, Int), 100);
    assert!(audio::read_wav(&odd_rate).unwrap_err().to_string().contains("1,000–384,000"));
    let empty = dir.path().join("empty.wav");
    write(&empty, spec(1, 16000, 16, Int), 0);
    let e = audio::read_wav(&empty).unwrap_err().to_string();
    assert!(e.contains("empty.wav") && e.contains("empty"), "{e}");
    let good = dir.path().join("mono16.wav");
    let bytes = std::fs::read(&good).unwrap();
    let trunc = dir.path().join("truncated.wav");
    std::fs::write(&trunc, &bytes[..30]).unwrap();
    let e = audio::read_wav(&trunc).unwrap_err().to_string();
    assert!(e.contains("truncated.wav") && e.contains("not a readable WAV"), "{e}");
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "this is not audio").unwrap();
    assert!(audio::read_wav(&text).unwrap_err().to_string().contains("not a readable WAV"));
    let err = snnbench(&[
        "features",
        "--wav",
        text.to_str().unwrap(),
        "--out",
        dir.path().join("o.safetensors").to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("notes.wav"));
    assert!(!dir.path().join("o.safetensors").exists());
}
