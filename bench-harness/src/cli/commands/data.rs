//! Commands on data: features of one clip, prepare a GSC folder, synthesise the built-in dataset.

use anyhow::{Result, bail};

use super::super::args::*;
use crate::tensors::{self, Tensor};

pub fn features(a: FeaturesArgs) -> Result<String> {
    let clip = crate::data::audio::read_wav(&a.wav)?;
    let n = clip.samples.len();
    let fe = crate::data::features::FeatureExtractor::with_hop(a.hop_length)?;
    let x = fe.features(&clip.samples);
    let shape = [fe.n_frames(), crate::data::features::N_FEATURES];
    tensors::write_tensors(
        &a.out,
        &[("x", Tensor::f32(&shape, x))],
        &[("format", "eprop-workbench"), ("kind", "features")],
    )?;
    let mut notes = clip.notes;
    if n != crate::data::features::CLIP_SAMPLES {
        notes.push(format!("{n} samples placed in the 1 s window (centred)"));
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
    Ok(format!("wrote {}: x [{}, 80] from {}{notes}", a.out.display(), fe.n_frames(), a.wav.display()))
}

pub fn prepare(a: PrepareArgs) -> Result<String> {
    use crate::data::gsc::{PrepareConfig, Task};
    let cfg = PrepareConfig {
        task: match a.task {
            TaskName::Paper12 => Task::Paper12,
            TaskName::AllWords => Task::AllWords,
        },
        seed: a.seed,
        silence_train: a.silence_train,
        silence_validation: a.silence_validation,
        hop_length: a.hop_length,
    };
    crate::data::features::FeatureExtractor::with_hop(a.hop_length)?;
    let bar = crate::results::run::progress(false, 0, "features");
    if let Ok(s) = crate::data::gsc::scan(&a.gsc, &cfg) {
        bar.set_length(s.items.len() as u64);
    }
    let report = crate::data::gsc::prepare(&a.gsc, &a.out, &cfg, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    let mut lines = vec![format!(
        "{} {} → {} ({} classes)",
        if report.reused { "reused the cache for" } else { "prepared" },
        a.gsc.display(),
        a.out.display(),
        report.classes.len()
    )];
    for (split, c) in &report.counts {
        let per: Vec<String> = report.classes.iter().zip(c).map(|(n, k)| format!("{n} {k}")).collect();
        lines.push(format!("  {:<10} {:>6}: {}", split.name(), c.iter().sum::<usize>(), per.join(", ")));
    }
    for w in &report.warnings {
        lines.push(format!("  warning: {w}"));
    }
    if !report.skipped.is_empty() {
        lines.push(format!("  skipped {} files:", report.skipped.len()));
        for (p, why) in &report.skipped {
            lines.push(format!("    {p}: {why}"));
        }
    }
    Ok(lines.join("\n"))
}

pub fn synth(a: SynthArgs) -> Result<String> {
    if a.speakers < 3 {
        bail!("--speakers must be at least 3 (one per split)");
    }
    let cfg = crate::data::synth::SynthConfig { speakers: a.speakers, seed: a.seed, ..Default::default() };
    let r = crate::data::synth::synth(&a.out, &cfg)?;
    let sp: Vec<String> = r.speakers.iter().map(|(s, n)| format!("{} {n}", s.name())).collect();
    Ok(format!("wrote {} clips to {} (speakers: {})", r.clips, r.out.display(), sp.join(", ")))
}
