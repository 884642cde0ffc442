//! Fuzz target: arbitrary bytes through the WAV reader and, when they decode, the feature extractor. Nothing may
//! panic, hang or allocate without bound; bad input must come back as an `AudioError`.
//!
//! Run (see fuzz/README.md): `RUSTC_BOOTSTRAP=1 cargo fuzz run wav -- -max_total_time=60`
#![no_main]

use bench_harness::{audio, features::FeatureExtractor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(clip) = audio::read_wav_from(std::io::Cursor::new(data), "fuzz.wav") {
        let x = FeatureExtractor::new().features(&clip.samples);
        assert_eq!(x.len(), 100 * 80);
    }
});
