//! `snnbench prepare` on a small GSC-shaped folder made here: the paper's 12-class mapping, the list-file split and
//! the hash-rule fallback, silence crops from the noise files, a bad file skipped and reported, the cache reused when
//! nothing changed and rebuilt when something did.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;

use bench_harness::{
    data::{
        audio::write_wav_i16,
        gsc::{PrepareConfig, Task, prepare, scan},
        split::Split,
    },
    tensors::read_all,
};
use tests::snnbench;

fn tone(f: f32, n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.3 * (2.0 * std::f32::consts::PI * f * i as f32 / 16000.0).sin()).collect()
}

fn make(root: &Path, with_lists: bool) {
    for (w, f) in [("yes", 300.0), ("no", 500.0), ("go", 700.0), ("bed", 900.0), ("cat", 1100.0)] {
        std::fs::create_dir_all(root.join(w)).unwrap();
        for spk in ["aaaa1111", "bbbb2222", "cccc3333"] {
            write_wav_i16(&root.join(w).join(format!("{spk}_nohash_0.wav")), &tone(f, 12000), 16000).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("_background_noise_")).unwrap();
    write_wav_i16(&root.join("_background_noise_/white.wav"), &tone(50.0, 48000), 16000).unwrap();
    std::fs::write(root.join("yes/broken_nohash_0.wav"), b"RIFF....WAVEfmt ").unwrap();
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::write(root.join("notes/readme.md"), "not audio").unwrap();
    if with_lists {
        std::fs::write(root.join("validation_list.txt"), "yes/bbbb2222_nohash_0.wav\nbed/bbbb2222_nohash_0.wav\n")
            .unwrap();
        std::fs::write(root.join("testing_list.txt"), "no/cccc3333_nohash_0.wav\n").unwrap();
    }
}

fn small() -> PrepareConfig {
    PrepareConfig { task: Task::Paper12, silence_train: 5, silence_validation: 2, seed: 3, ..Default::default() }
}

#[test]
fn paper_task_splits_silence_and_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gsc");
    make(&root, true);
    let cache = dir.path().join("cache");
    let r = prepare(&root, &cache, &small(), &|_| {}).unwrap();
    assert!(!r.reused);
    assert_eq!(r.classes.len(), 12);
    // yes/no/go = classes 2, 3, 11; bed/cat → unknown (0); silence (1): 5 train + 2 validation.
    let train = &r.counts[&Split::Train];
    assert_eq!(train[1], 5);
    assert_eq!(train[0], 5); // bed ×2 (one in validation), cat ×3
    assert_eq!(r.counts[&Split::Validation][2], 1);
    assert_eq!(r.counts[&Split::Test][3], 1);
    assert_eq!(r.counts[&Split::Validation][1], 2);
    assert_eq!(r.skipped.len(), 1);
    assert!(r.skipped[0].0.contains("broken"));
    assert!(r.warnings.iter().any(|w| w.contains("notes")), "{:?}", r.warnings);
    let t = read_all(&cache.join("train.safetensors")).unwrap();
    let n = t["y"].dims()[0];
    assert_eq!(t["x"].dims(), &[n, 100, 80]);
    let paths = std::fs::read_to_string(cache.join("train.paths.txt")).unwrap();
    assert_eq!(paths.lines().count(), n);
    assert!(paths.lines().any(|l| l.starts_with("_silence_/white.wav#")));
    // Unchanged → reused; a changed file → rebuilt.
    assert!(prepare(&root, &cache, &small(), &|_| {}).unwrap().reused);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_wav_i16(&root.join("go/aaaa1111_nohash_0.wav"), &tone(750.0, 14000), 16000).unwrap();
    assert!(!prepare(&root, &cache, &small(), &|_| {}).unwrap().reused);
    // Other settings → rebuilt too.
    let other = PrepareConfig { seed: 4, ..small() };
    assert!(!prepare(&root, &cache, &other, &|_| {}).unwrap().reused);
}

#[test]
fn missing_lists_fall_back_to_the_hash_rule_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gsc");
    make(&root, false);
    let s = scan(&root, &small()).unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("hash")));
    for it in s.items.iter().filter(|i| !i.rel.starts_with("_silence_")) {
        assert_eq!(it.split, bench_harness::data::split::which_set(&it.rel), "{}", it.rel);
    }
    let all = scan(&root, &PrepareConfig { task: Task::AllWords, ..small() }).unwrap();
    assert_eq!(all.classes, ["bed", "cat", "go", "no", "yes"]);
    assert!(all.items.iter().all(|i| !i.rel.starts_with("_silence_")));
}

#[test]
fn cli_prepare_prints_counts_and_bad_root_is_clear() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gsc");
    make(&root, true);
    let out = dir.path().join("c");
    let msg = snnbench(&["prepare", "--gsc", root.to_str().unwrap(), "--out", out.to_str().unwrap()]).unwrap();
    assert!(msg.contains("train") && msg.contains("skipped 1"), "{msg}");
    let err = snnbench(&["prepare", "--gsc", "/nonexistent/gsc", "--out", out.to_str().unwrap()]).unwrap_err();
    assert!(format!("{err:#}").contains("--gsc"));
}

/// Every cached row is the features of the file its `paths.txt` line names, with that file's label: recomputed here
/// one row at a time from the WAV (or the silence crop) and compared bit for bit. Every file has its own tone, so a
/// row swapped with another (parallel extraction writing results out of order, the training split's shuffle applied
/// to features but not labels or paths) fails.
#[test]
fn each_cached_row_is_its_paths_line() {
    use bench_harness::data::features::FeatureExtractor;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gsc");
    let mut f = 200.0;
    for w in ["yes", "no", "go", "bed"] {
        std::fs::create_dir_all(root.join(w)).unwrap();
        for spk in ["aaaa1111", "bbbb2222", "cccc3333", "dddd4444"] {
            f += 37.0;
            // Exactly 1 s: no random placement, so the row is the clip's features as they are.
            write_wav_i16(&root.join(w).join(format!("{spk}_nohash_0.wav")), &tone(f, 16000), 16000).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("_background_noise_")).unwrap();
    write_wav_i16(&root.join("_background_noise_/white.wav"), &tone(50.0, 48000), 16000).unwrap();
    let cache = dir.path().join("cache");
    let r = prepare(&root, &cache, &small(), &|_| {}).unwrap();
    let label = |rel: &str| match rel.split('/').next().unwrap() {
        "_silence_" => 1,
        "yes" => 2,
        "no" => 3,
        "go" => 11,
        _ => 0,
    };
    let noise = bench_harness::data::audio::read_wav(&root.join("_background_noise_/white.wav")).unwrap().samples;
    let fe = FeatureExtractor::new();
    let mut checked = 0;
    for split in ["train", "validation", "test"] {
        let t = read_all(&cache.join(format!("{split}.safetensors"))).unwrap();
        let (x, y) = (t["x"].to_f64(), t["y"].to_f64());
        let paths = std::fs::read_to_string(cache.join(format!("{split}.paths.txt"))).unwrap();
        let rows: Vec<&str> = paths.lines().collect();
        assert_eq!(rows.len(), y.len(), "{split}: one paths line per row");
        let row_len = x.len() / y.len().max(1);
        for (i, rel) in rows.iter().enumerate() {
            let want = match rel.strip_prefix("_silence_/white.wav#") {
                Some(start) => {
                    let s: usize = start.parse().unwrap();
                    fe.features(&noise[s..s + 16000])
                }
                None => fe.features(&bench_harness::data::audio::read_wav(&root.join(rel)).unwrap().samples),
            };
            let got = &x[i * row_len..(i + 1) * row_len];
            assert!(got.iter().zip(&want).all(|(a, b)| *a == *b as f64), "{split} row {i} is not {rel}'s features");
            assert_eq!(y[i], label(rel) as f64, "{split} row {i} ({rel}): label");
            checked += 1;
        }
    }
    assert_eq!(checked, r.counts.values().flatten().sum::<usize>());
    assert!(checked >= 16 + 5, "{checked} rows");
}
