//! The executors: child processes on this machine, or one Slurm array job (`sbatch --array`, waited for with
//! `squeue`). Both run `snnbench -q sweep cell DIR ID` per cell, so a cell's results do not depend on where it ran.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Cell, State, state};
use crate::reproduce::{Interrupted, interrupted};

/// `--executor slurm`'s options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's format, e.g. `01:00:00`).
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<usize>,
    /// `--gres` (e.g. `gpu:1`).
    pub gres: Option<String>,
    /// Submit and return the job id without waiting.
    pub submit_only: bool,
}

fn abs(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("{}: cannot make the path absolute", p.display()))
}

fn spawn(snnbench: &Path, dir: &Path, id: &str) -> Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("cells").join(id).join("log.txt"))?;
    Command::new(snnbench)
        .args(["-q", "sweep", "cell"])
        .arg(dir)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {} (pass --snnbench PATH)", snnbench.display()))
}

/// Runs `cells` as child processes, `jobs` at a time; a failed cell does not stop the others.
pub fn run_local(dir: &Path, cells: &[&Cell], jobs: usize, snnbench: &Path, quiet: bool) -> Result<()> {
    let dir = abs(dir)?;
    let bar = crate::results::run::progress(quiet, cells.len() as u64, "sweep cells");
    let mut queue: std::collections::VecDeque<&Cell> = cells.iter().copied().collect();
    let mut running: Vec<(&Cell, Child, Instant)> = vec![];
    // Every cell runs the binary the sweep started with: a rebuild mid-sweep stops new cells from starting.
    let stamp = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let built = stamp(snnbench);
    loop {
        if !queue.is_empty() && stamp(snnbench) != built {
            for (_, child, _) in &mut running {
                let _ = child.wait();
            }
            bar.abandon();
            bail!(
                "{} changed during the sweep (rebuilt?); {} cells did not start: run the same command again to run \
                 them with the new binary (the report flags cells made by different code revisions)",
                snnbench.display(),
                queue.len()
            );
        }
        if interrupted() {
            // The children got the same Ctrl-C; each saves its checkpoint and stops.
            for (_, child, _) in &mut running {
                let _ = child.wait();
            }
            bar.abandon();
            return Err(Interrupted(dir.display().to_string()).into());
        }
        while running.len() < jobs
            && let Some(c) = queue.pop_front()
        {
            running.push((c, spawn(snnbench, &dir, &c.id)?, Instant::now()));
        }
        if running.is_empty() {
            break;
        }
        let mut k = 0;
        while k < running.len() {
            if let Some(exit) = running[k].1.try_wait()? {
                let (c, _, t0) = running.swap_remove(k);
                bar.inc(1);
                match state(&dir, &c.id) {
                    State::Done => tracing::info!("cell {} done in {:.0} s", c.id, t0.elapsed().as_secs_f64()),
                    State::Failed(e) => tracing::warn!("cell {} failed: {e}", c.id),
                    _ => tracing::warn!(
                        "cell {} stopped ({exit}) without a status; see {}",
                        c.id,
                        dir.join("cells").join(&c.id).join("log.txt").display()
                    ),
                }
            } else {
                k += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
    Ok(())
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The array script for `cells`.
pub fn slurm_script(dir: &Path, cells: &[&Cell], o: &SlurmOptions, snnbench: &Path) -> Result<String> {
    let dir = abs(dir)?;
    let exe = abs(snnbench)?;
    let name = dir.file_name().map_or("sweep".into(), |n| n.to_string_lossy().to_string());
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name={}\n", quote(&format!("snnbench-{name}")));
    s += &format!("#SBATCH --array=0-{}\n", cells.len() - 1);
    s += &format!("#SBATCH --output={}\n", quote(&dir.join("slurm").join("%A_%a.log").display().to_string()));
    if let Some(p) = &o.partition {
        s += &format!("#SBATCH --partition={}\n", quote(p));
    }
    if let Some(t) = &o.time {
        s += &format!("#SBATCH --time={}\n", quote(t));
    }
    if let Some(c) = o.cpus_per_task {
        s += &format!("#SBATCH --cpus-per-task={c}\n");
    }
    if let Some(g) = &o.gres {
        s += &format!("#SBATCH --gres={}\n", quote(g));
    }
    s += "# Written by `snnbench sweep --executor slurm`: one array task per cell that had not finished.\n";
    s += "set -u\nCELLS=(\n";
    for c in cells {
        s += &format!("  {}\n", quote(&c.id));
    }
    s += ")\n";
    s += &format!(
        "exec {} -q sweep cell {} \"${{CELLS[$SLURM_ARRAY_TASK_ID]}}\"\n",
        quote(&exe.display().to_string()),
        quote(&dir.display().to_string())
    );
    Ok(s)
}

/// Writes the array script for `cells` and submits it; returns the job id.
pub fn submit_slurm(dir: &Path, cells: &[&Cell], o: &SlurmOptions, snnbench: &Path) -> Result<String> {
    let slurm = dir.join("slurm");
    std::fs::create_dir_all(&slurm)?;
    let n = std::fs::read_dir(&slurm)?
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sh")))
        .count();
    let script = slurm.join(format!("array-{}.sh", n + 1));
    std::fs::write(&script, slurm_script(dir, cells, o, snnbench)?)?;
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script)
        .output()
        .context("cannot run sbatch: is Slurm's client installed and SLURM_CONF set? (scripts/slurm-one-node.sh start makes a one-node cluster)")?;
    if !out.status.success() {
        bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let job = String::from_utf8_lossy(&out.stdout).trim().split(';').next().unwrap_or_default().to_string();
    if job.is_empty() {
        bail!("sbatch printed no job id");
    }
    std::fs::write(slurm.join("jobs.txt"), {
        let mut t = std::fs::read_to_string(slurm.join("jobs.txt")).unwrap_or_default();
        t += &format!("{job} {} {} cells\n", script.display(), cells.len());
        t
    })?;
    tracing::info!("submitted Slurm job {job}: {} cells ({})", cells.len(), script.display());
    Ok(job)
}

/// Waits until job `job` has left the queue, showing how many of `cells` are done.
pub fn wait_slurm(dir: &Path, job: &str, cells: &[&Cell], quiet: bool) -> Result<()> {
    let bar = crate::results::run::progress(quiet, cells.len() as u64, &format!("slurm job {job}"));
    loop {
        if interrupted() {
            bar.abandon();
            bail!(
                "stopped waiting; Slurm job {job} keeps running: `snnbench sweep status {}`, then `snnbench sweep \
                 report {}` (or `scancel {job}`)",
                dir.display(),
                dir.display()
            );
        }
        let q = Command::new("squeue").args(["-h", "-j", job, "-o", "%T"]).output().context("cannot run squeue")?;
        let states = String::from_utf8_lossy(&q.stdout).to_string();
        let done = cells.iter().filter(|c| matches!(state(dir, &c.id), State::Done | State::Failed(_))).count();
        bar.set_position(done as u64);
        let queued: Vec<&str> = states.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        bar.set_message(format!(
            "slurm {job}: {} running, {} pending",
            queued.iter().filter(|s| **s == "RUNNING").count(),
            queued.iter().filter(|s| **s == "PENDING").count()
        ));
        // An unknown job id (it left the queue long ago) is an error for squeue; either way it is gone.
        if queued.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bar.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_script_lists_the_cells_and_asks_for_what_was_given() -> Result<()> {
        let spec = super::super::SweepSpec::parse(
            "job = \"train\"\nbackend = \"chip\"\nrule = \"eprop\"\nquick = true\n[axes]\nseed = [0, 1]\n",
            Path::new("s.toml"),
        )?;
        let cells = spec.cells(Path::new("s.toml"))?;
        let refs: Vec<&Cell> = cells.iter().collect();
        let o = SlurmOptions { partition: Some("gpu".into()), gres: Some("gpu:1".into()), ..Default::default() };
        let s = slurm_script(Path::new("/tmp/sw"), &refs, &o, Path::new("/opt/snnbench"))?;
        assert!(s.contains("#SBATCH --array=0-1\n"), "{s}");
        assert!(s.contains("#SBATCH --partition='gpu'\n") && s.contains("#SBATCH --gres='gpu:1'\n"), "{s}");
        assert!(!s.contains("--time"), "{s}");
        assert!(s.contains("  'seed=0'\n  'seed=1'\n"), "{s}");
        assert!(s.contains("exec '/opt/snnbench' -q sweep cell '/tmp/sw' \"${CELLS[$SLURM_ARRAY_TASK_ID]}\""), "{s}");
        Ok(())
    }
}
