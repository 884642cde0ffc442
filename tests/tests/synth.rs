//! `snnbench synth`: a GSC layout made by flite and espeak-ng — splits that follow the dataset's hash rule with
//! every quota met, list files that agree, 16 kHz mono 16-bit clips of exactly 1 s, noise files, and the same bytes
//! for the same seed. (CI installs both engines through scripts/setup.sh.)

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use bench_harness::data::{
    split::{Split, which_set},
    synth::{SynthConfig, SynthError, draw_speakers, synth},
};

fn tiny(seed: u64) -> SynthConfig {
    SynthConfig { words: vec!["yes".into(), "no".into(), "marvin".into()], speakers: 10, seed, noise_seconds: 2 }
}

#[test]
fn layout_splits_and_determinism() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let r = synth(&a, &tiny(5)).unwrap();
    assert_eq!(r.clips, 30);
    assert!(r.speakers.iter().all(|(_, n)| *n >= 1), "{:?}", r.speakers);
    let val = std::fs::read_to_string(a.join("validation_list.txt")).unwrap();
    let test = std::fs::read_to_string(a.join("testing_list.txt")).unwrap();
    for w in ["yes", "no", "marvin"] {
        for e in std::fs::read_dir(a.join(w)).unwrap().flatten() {
            let rel = format!("{w}/{}", e.file_name().to_string_lossy());
            let expect = which_set(&rel);
            assert_eq!(val.lines().any(|l| l == rel), expect == Split::Validation, "{rel}");
            assert_eq!(test.lines().any(|l| l == rel), expect == Split::Test, "{rel}");
            let wav = hound::WavReader::open(e.path()).unwrap();
            let s = wav.spec();
            assert_eq!((s.channels, s.sample_rate, s.bits_per_sample), (1, 16000, 16));
            assert_eq!(wav.duration(), 16000);
        }
    }
    assert!(
        a.join("_background_noise_/white_noise.wav").exists() && a.join("_background_noise_/pink_noise.wav").exists()
    );
    synth(&b, &tiny(5)).unwrap();
    let same = std::fs::read(
        a.join("yes").join(std::fs::read_dir(a.join("yes")).unwrap().next().unwrap().unwrap().file_name()),
    );
    let name = std::fs::read_dir(a.join("yes")).unwrap().next().unwrap().unwrap().file_name();
    assert_eq!(same.unwrap(), std::fs::read(b.join("yes").join(name)).unwrap(), "same seed, same bytes");
}

#[test]
fn quotas_are_met_under_the_hash_rule() {
    let sp = draw_speakers(40, 0);
    assert_eq!(sp.len(), 40);
    let n = |s| sp.iter().filter(|(_, x)| *x == s).count();
    assert_eq!((n(Split::Train), n(Split::Validation), n(Split::Test)), (32, 4, 4));
    for (s, split) in &sp {
        assert_eq!(which_set(&format!("{}_nohash_0.wav", s.name())), *split);
    }
}

#[test]
fn missing_engine_names_the_package() {
    let e = SynthError::Missing { engine: "flite", package: "flite" }.to_string();
    assert!(e.contains("apt-get install flite"), "{e}");
}
