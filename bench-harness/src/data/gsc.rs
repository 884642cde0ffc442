//! Google Speech Commands (v0.01 and v0.02 layouts): scanning a local copy, the paper's 12-class task and the
//! all-words task, the split from `validation_list.txt` / `testing_list.txt` (or the dataset's hash rule when they
//! are missing), silence cut from `_background_noise_` with a seed, and the feature cache behind `snnbench prepare`.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use super::{
    audio,
    features::{self, CLIP_SAMPLES, FeatureExtractor, N_FEATURES},
    split::{Split, which_set},
};
use crate::tensors::{self, Tensor};

/// The ten command words of the paper's task, classes 2–11.
pub const COMMANDS: [&str; 10] = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];
/// Folder of the noise recordings.
pub const NOISE_DIR: &str = "_background_noise_";

/// Which classification task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// 0 = unknown (every non-command word, not subsampled), 1 = silence, 2–11 = the commands.
    Paper12,
    /// Every word folder is a class (30 in v0.01, 35 in v0.02), in sorted order; no silence class.
    AllWords,
}

/// Settings of a prepared dataset (part of the cache fingerprint).
#[derive(Clone, Debug, PartialEq)]
pub struct PrepareConfig {
    /// The task.
    pub task: Task,
    /// Silence crops for training (paper: 2,300).
    pub silence_train: usize,
    /// Silence crops for validation (paper: 260).
    pub silence_validation: usize,
    /// Seed of the silence crops.
    pub seed: u64,
    /// Samples between feature frames (161: the paper's 100 frames; 16: 1,001 frames, one per ms).
    pub hop_length: usize,
}

impl Default for PrepareConfig {
    fn default() -> Self {
        Self { task: Task::Paper12, silence_train: 2300, silence_validation: 260, seed: 0, hop_length: features::HOP }
    }
}

/// One example: a clip (relative path) or a silence crop, its split and class.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Path relative to the dataset root, or `_silence_/<noise file>#<start sample>`.
    pub rel: String,
    /// Split.
    pub split: Split,
    /// Class index.
    pub label: i64,
}

/// A scanned dataset.
#[derive(Clone, Debug)]
pub struct Scan {
    /// Class names by index.
    pub classes: Vec<String>,
    /// Every example.
    pub items: Vec<Item>,
    /// Warnings (missing list files, unknown folders, no noise files…).
    pub warnings: Vec<String>,
}

/// Errors of scanning and preparing.
#[derive(Debug, thiserror::Error)]
pub enum GscError {
    /// The root is not a readable folder.
    #[error("{0}: not a readable folder ({1}); point --gsc at the unpacked speech_commands_v0.01 (or v0.02) folder")]
    Root(String, String),
    /// No word folders with WAV files.
    #[error("{0}: no word folders with .wav files found; expected <word>/<speaker>_nohash_<k>.wav")]
    Empty(String),
    /// Writing the cache failed.
    #[error("cannot write the cache: {0}")]
    Write(String),
}

fn read_list(root: &Path, name: &str) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(root.join(name)).ok()?;
    Some(text.lines().map(|l| l.trim().replace('\\', "/")).filter(|l| !l.is_empty()).collect())
}

fn wavs_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Scans `root` for `task`: classes, items with their splits (silence crops drawn with the seed), warnings.
pub fn scan(root: &Path, cfg: &PrepareConfig) -> Result<Scan, GscError> {
    let entries = std::fs::read_dir(root).map_err(|e| GscError::Root(root.display().to_string(), e.to_string()))?;
    let mut words: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.path().is_dir() || name == NOISE_DIR || name.starts_with('.') {
            continue;
        }
        if wavs_in(&e.path()).is_empty() {
            warnings.push(format!("folder {name}/ has no .wav files: ignored"));
            continue;
        }
        words.push(name);
    }
    words.sort();
    if words.is_empty() {
        return Err(GscError::Empty(root.display().to_string()));
    }
    let (val, test) = (read_list(root, "validation_list.txt"), read_list(root, "testing_list.txt"));
    if val.is_none() || test.is_none() {
        warnings.push(
            "validation_list.txt or testing_list.txt missing: splitting by the dataset's speaker-hash rule".into(),
        );
    }
    let classes: Vec<String> = match cfg.task {
        Task::Paper12 => {
            let missing: Vec<&str> = COMMANDS.iter().filter(|c| !words.iter().any(|w| w == *c)).copied().collect();
            if !missing.is_empty() {
                warnings.push(format!("command word folders missing: {}", missing.join(", ")));
            }
            ["_unknown_", "_silence_"]
                .iter()
                .map(|s| s.to_string())
                .chain(COMMANDS.iter().map(|s| s.to_string()))
                .collect()
        }
        Task::AllWords => words.clone(),
    };
    let mut items = Vec::new();
    for w in &words {
        let label = match cfg.task {
            Task::Paper12 => COMMANDS.iter().position(|c| c == w).map_or(0, |p| p as i64 + 2),
            Task::AllWords => words.iter().position(|x| x == w).unwrap_or(0) as i64,
        };
        for f in wavs_in(&root.join(w)) {
            let rel = format!("{w}/{f}");
            let split = match (&val, &test) {
                (Some(v), Some(t)) => {
                    if v.contains(&rel) {
                        Split::Validation
                    } else if t.contains(&rel) {
                        Split::Test
                    } else {
                        Split::Train
                    }
                }
                _ => which_set(&rel),
            };
            items.push(Item { rel, split, label });
        }
    }
    if cfg.task == Task::Paper12 {
        let noises = wavs_in(&root.join(NOISE_DIR));
        let mut lens = Vec::new();
        for n in &noises {
            match audio::read_wav(&root.join(NOISE_DIR).join(n)) {
                Ok(c) if c.samples.len() >= CLIP_SAMPLES => lens.push((n.clone(), c.samples.len())),
                Ok(_) => warnings.push(format!("{NOISE_DIR}/{n}: shorter than 1 s, not used for silence")),
                Err(e) => warnings.push(format!("{NOISE_DIR}/{n}: skipped: {e}")),
            }
        }
        if lens.is_empty() {
            warnings.push(format!("no usable {NOISE_DIR}/ files: the silence class is empty"));
        } else {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            for (split, count) in [(Split::Train, cfg.silence_train), (Split::Validation, cfg.silence_validation)] {
                for _ in 0..count {
                    let (name, len) = &lens[rng.random_range(0..lens.len())];
                    let start = rng.random_range(0..=len - CLIP_SAMPLES);
                    items.push(Item { rel: format!("_silence_/{name}#{start}"), split, label: 1 });
                }
            }
        }
    }
    Ok(Scan { classes, items, warnings })
}

/// Per split, per class counts.
pub fn counts(scan: &Scan) -> BTreeMap<Split, Vec<usize>> {
    let mut m: BTreeMap<Split, Vec<usize>> = BTreeMap::new();
    for it in &scan.items {
        let v = m.entry(it.split).or_insert_with(|| vec![0; scan.classes.len()]);
        v[it.label as usize] += 1;
    }
    m
}

/// The features of one item: `Ok(x)`, or the reason it was skipped. `noise` holds the decoded noise files.
fn item_features(
    root: &Path,
    it: &Item,
    fe: &FeatureExtractor,
    noise: &BTreeMap<String, Vec<f32>>,
    seed: u64,
) -> Result<Vec<f32>, String> {
    if let Some(rest) = it.rel.strip_prefix("_silence_/") {
        let (name, start) = rest.rsplit_once('#').ok_or("bad silence id")?;
        let start: usize = start.parse().map_err(|_| "bad silence offset")?;
        let samples = noise.get(name).ok_or("noise file not readable")?;
        let crop = samples.get(start..start + CLIP_SAMPLES).ok_or("silence crop out of range")?;
        return Ok(fe.features(crop));
    }
    let clip = audio::read_wav(&root.join(&it.rel)).map_err(|e| e.to_string())?;
    // docs/data.md step 1: training clips that are not exactly 1 s are placed at a random position (seeded per file),
    // evaluation clips in the centre.
    let shift = (it.split == Split::Train && clip.samples.len() != CLIP_SAMPLES).then(|| {
        let d = Sha1::digest(format!("{seed}/{}", it.rel).as_bytes());
        u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as f64 / (u32::MAX as f64 + 1.0)
    });
    Ok(fe.features_placed(&clip.samples, shift))
}

/// A fingerprint of the inputs and settings: file names, sizes and modification times, the list files, the task
/// and silence settings, and the front end's version.
pub fn fingerprint(root: &Path, scan: &Scan, cfg: &PrepareConfig) -> String {
    let mut h = Sha1::new();
    // The hop enters only when it is not the paper's, so caches made before it was a setting stay valid.
    let hop = if cfg.hop_length == features::HOP { String::new() } else { format!(";hop={}", cfg.hop_length) };
    h.update(format!(
        "frontend=paper-logmel-delta-v2;task={:?};sil={},{};seed={}{hop}\n",
        cfg.task, cfg.silence_train, cfg.silence_validation, cfg.seed
    ));
    let mut files: Vec<String> =
        scan.items.iter().filter(|i| !i.rel.starts_with("_silence_/")).map(|i| i.rel.clone()).collect();
    files.extend(wavs_in(&root.join(NOISE_DIR)).into_iter().map(|n| format!("{NOISE_DIR}/{n}")));
    files.extend(["validation_list.txt".to_string(), "testing_list.txt".to_string()]);
    for f in files {
        let meta = std::fs::metadata(root.join(&f)).ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        let mtime = meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        h.update(format!("{f}\t{size}\t{mtime}\n"));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What `prepare` did.
#[derive(Clone, Debug)]
pub struct PrepareReport {
    /// Reused an up-to-date cache.
    pub reused: bool,
    /// Class names.
    pub classes: Vec<String>,
    /// Written examples per split and class.
    pub counts: BTreeMap<Split, Vec<usize>>,
    /// Files skipped, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Warnings of the scan.
    pub warnings: Vec<String>,
}

/// Extracts every example once (in parallel; the training split in a seeded random order) into `out/{train,validation,test}.safetensors` (`x [N,100,80]` f32,
/// `y [N]` i64) and `out/<split>.paths.txt`, unless `out/manifest.txt` says the same inputs and settings were
/// already prepared. `progress` is called once per example done.
pub fn prepare(
    root: &Path,
    out: &Path,
    cfg: &PrepareConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PrepareReport, GscError> {
    let scan = scan(root, cfg)?;
    let fp = fingerprint(root, &scan, cfg);
    let manifest = out.join("manifest.txt");
    let outputs_exist = ["train", "validation", "test"]
        .iter()
        .all(|s| out.join(format!("{s}.safetensors")).exists() && out.join(format!("{s}.paths.txt")).exists());
    if outputs_exist && std::fs::read_to_string(&manifest).is_ok_and(|m| m.lines().next() == Some(fp.as_str())) {
        let counts = read_counts(out, scan.classes.len());
        return Ok(PrepareReport {
            reused: true,
            classes: scan.classes,
            counts,
            skipped: vec![],
            warnings: scan.warnings,
        });
    }
    std::fs::create_dir_all(out).map_err(|e| GscError::Write(format!("{}: {e}", out.display())))?;
    let fe = FeatureExtractor::with_hop(cfg.hop_length).map_err(|e| GscError::Write(e.to_string()))?;
    let noise: BTreeMap<String, Vec<f32>> = wavs_in(&root.join(NOISE_DIR))
        .into_iter()
        .filter_map(|n| audio::read_wav(&root.join(NOISE_DIR).join(&n)).ok().map(|c| (n, c.samples)))
        .collect();
    let mut results: Vec<Option<Result<Vec<f32>, String>>> = scan
        .items
        .par_iter()
        .map(|it| {
            let r = item_features(root, it, &fe, &noise, cfg.seed);
            progress(1);
            Some(r)
        })
        .collect();
    let mut skipped = Vec::new();
    let mut counts: BTreeMap<Split, Vec<usize>> = BTreeMap::new();
    // The training split is written in a seeded random order (online training and minibatches (k·N + i) mod B
    // read it in file order); validation and test keep the scan order.
    let mut order: Vec<usize> = (0..scan.items.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    for split in [Split::Train, Split::Validation, Split::Test] {
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut paths = String::new();
        let idx: Vec<usize> = if split == Split::Train { order.clone() } else { (0..scan.items.len()).collect() };
        for i in idx {
            let it = &scan.items[i];
            if it.split != split {
                continue;
            }
            // Taken (and freed) as it is copied into the split's tensor.
            match results[i].take().unwrap_or_else(|| Err("missing result".into())) {
                Ok(f) => {
                    x.extend_from_slice(&f);
                    y.push(it.label);
                    paths.push_str(&it.rel);
                    paths.push('\n');
                }
                Err(e) => skipped.push((it.rel.clone(), e)),
            }
        }
        let c = counts.entry(split).or_insert_with(|| vec![0; scan.classes.len()]);
        for &l in &y {
            c[l as usize] += 1;
        }
        let n = y.len();
        tensors::write_tensors(
            &out.join(format!("{}.safetensors", split.name())),
            &[("x", Tensor::f32(&[n, fe.n_frames(), N_FEATURES], x)), ("y", Tensor::i64(&[n], y))],
            &[("format", "eprop-workbench"), ("kind", "features"), ("classes", &scan.classes.join(","))],
        )
        .map_err(|e| GscError::Write(e.to_string()))?;
        write_text(&out.join(format!("{}.paths.txt", split.name())), &paths)?;
    }
    write_text(&manifest, &format!("{fp}\n{}\n", scan.classes.join(",")))?;
    Ok(PrepareReport { reused: false, classes: scan.classes, counts, skipped, warnings: scan.warnings })
}

fn write_text(path: &Path, text: &str) -> Result<(), GscError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| GscError::Write(format!("{}: {e}", path.display())))?;
    std::fs::write(tmp.path(), text).map_err(|e| GscError::Write(format!("{}: {e}", path.display())))?;
    tmp.persist(path).map_err(|e| GscError::Write(format!("{}: {}", path.display(), e.error)))?;
    Ok(())
}

fn read_counts(out: &Path, n_classes: usize) -> BTreeMap<Split, Vec<usize>> {
    let mut m = BTreeMap::new();
    for split in [Split::Train, Split::Validation, Split::Test] {
        let mut c = vec![0; n_classes];
        if let Ok(t) = tensors::read_all(&out.join(format!("{}.safetensors", split.name())))
            && let Some(y) = t.get("y")
        {
            for v in y.to_f64() {
                if let Some(slot) = c.get_mut(v as usize) {
                    *slot += 1;
                }
            }
        }
        m.insert(split, c);
    }
    m
}
