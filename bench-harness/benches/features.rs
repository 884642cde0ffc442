//! Benchmark (not a test): feature extraction per clip — ours vs librosa on the same clips in the same run, when
//! `python3 -c "import librosa"` works (the librosa pipeline of tests/fixtures/gen_features.py). Medians.
//!
//! Run: `cargo bench -p bench-harness --bench features`

use std::{process::Command, time::Instant};

use bench_harness::data::{audio, features::FeatureExtractor};

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/audio");
    let mut clips = Vec::new();
    for e in std::fs::read_dir(dir).expect("fixture audio").flatten() {
        if e.path().extension().is_some_and(|x| x == "wav") {
            clips.push(audio::read_wav(&e.path()).expect("fixture wav").samples);
        }
    }
    let fe = FeatureExtractor::new();
    let reps = 200;
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..reps {
            for c in &clips {
                std::hint::black_box(fe.features(c));
            }
        }
        times.push(start.elapsed().as_secs_f64() / (reps * clips.len()) as f64);
    }
    times.sort_by(f64::total_cmp);
    let ours = times[2];
    println!("ours: {:.1} µs per clip (median of 5 × {} clips, one thread)", 1e6 * ours, reps * clips.len());
    let py = format!(
        "import sys, time, glob, numpy as np; sys.path.insert(0, '{dir}/..'); import gen_features as g; \
         from scipy.io import wavfile; ys=[wavfile.read(f)[1].astype(np.float64)/32768 for f in glob.glob('{dir}/*.wav')]; \
         [g.features(y) for y in ys]; ts=[]\n\
for _ in range(5):\n t=time.perf_counter(); [g.features(y) for y in ys for _ in range(5)]; ts.append((time.perf_counter()-t)/(5*len(ys)))\n\
print(sorted(ts)[2])"
    );
    match Command::new("python3").args(["-c", &py]).output() {
        Ok(o) if o.status.success() => {
            let lib: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(f64::NAN);
            println!("librosa: {:.1} µs per clip (same clips, same run)", 1e6 * lib);
            println!("ratio librosa / ours = {:.1}×", lib / ours);
        }
        _ => println!("note: librosa not importable; no side-by-side figure"),
    }
}
