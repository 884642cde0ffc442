//! `snnbench sweep`: one job (`reproduce` or `train`) over the Cartesian product of axes (seeds, network sizes,
//! schedules, anything in the job's config), each cell in its own run folder `DIR/cells/<cell-id>/` with its resolved
//! `config.toml`, run `--jobs` at a time on this machine or as one Slurm array job; then `sweep report` aggregates
//! every finished cell's CSVs into mean, SD, SE and a Student-t 95 % CI per condition, contender and metric, with
//! error-bar plots and `report.md`. Every cell runs the same way on either executor — `snnbench sweep cell DIR ID`
//! in its own process — and leaves `status.json` (done or failed, with the error) when it ends; a re-run of the same
//! command skips finished cells, resumes interrupted ones from their checkpoints and retries failed ones.

pub mod aggregate;
pub mod exec;
mod plots;
pub mod spec;
pub mod stats;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::reproduce::{Interrupted, ReproduceConfig};
use crate::results::lock::{self, RunLock};
use crate::train::TrainConfig;
pub use spec::{Cell, Job, Resolved, SweepSpec};

/// The spec a sweep folder keeps.
pub const SPEC_FILE: &str = "sweep.toml";
/// A cell's own description (job and axis values).
pub const CELL_FILE: &str = "cell.toml";
/// A cell's outcome.
pub const STATUS_FILE: &str = "status.json";

/// Where the cells run.
#[derive(Clone, Debug, PartialEq)]
pub enum Executor {
    /// Child processes on this machine, `jobs` at a time.
    Local {
        /// Cells at once.
        jobs: usize,
    },
    /// One `sbatch --array` job.
    Slurm(exec::SlurmOptions),
}

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The executor.
    pub executor: Executor,
    /// The `snnbench` binary each cell runs (on a cluster: a path every node can read).
    pub snnbench: PathBuf,
    /// No progress output.
    pub quiet: bool,
}

/// How a cell ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellStatus {
    /// `done` or `failed`.
    pub state: String,
    /// The error of a failed cell (its whole chain, one line).
    pub error: Option<String>,
    /// Where it ran.
    pub host: String,
    /// Wall time of its last attempt, s.
    pub seconds: f64,
}

/// A cell's state now.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Finished.
    Done,
    /// Ended with an error.
    Failed(String),
    /// A live process holds its folder.
    Running(lock::Holder),
    /// Not started, or stopped before it ended (a re-run resumes it).
    Pending,
}

/// The state of cell `id` of sweep `dir`.
pub fn state(dir: &Path, id: &str) -> State {
    let cell = dir.join("cells").join(id);
    if let Some(h) = lock::holder(&cell) {
        return State::Running(h);
    }
    match std::fs::read_to_string(cell.join(STATUS_FILE)).ok().and_then(|t| serde_json::from_str::<CellStatus>(&t).ok())
    {
        Some(s) if s.state == "done" => State::Done,
        Some(s) => State::Failed(s.error.unwrap_or_else(|| "failed (no error recorded)".into())),
        None => State::Pending,
    }
}

/// The spec a sweep folder holds.
pub fn folder_spec(dir: &Path) -> Result<SweepSpec> {
    let path = dir.join(SPEC_FILE);
    if !path.is_file() {
        bail!(
            "{}: no {SPEC_FILE}; is {} a sweep folder (`snnbench sweep SPEC.toml --out DIR`)?",
            dir.display(),
            dir.display()
        );
    }
    SweepSpec::read(&path)
}

/// Runs a sweep into `out` (resuming what is there) and aggregates it.
pub fn run(spec_path: &Path, out: &Path, opts: &SweepOptions) -> Result<String> {
    let spec = SweepSpec::read(spec_path)?;
    run_spec(&spec, spec_path, out, opts)
}

/// [`run`] with a parsed spec (`origin` names it in errors).
pub fn run_spec(spec: &SweepSpec, origin: &Path, out: &Path, opts: &SweepOptions) -> Result<String> {
    crate::reproduce::install_interrupt_handler();
    let sweep_lock = RunLock::acquire(out)?;
    let text = spec.to_toml()?;
    let spec_file = out.join(SPEC_FILE);
    if spec_file.exists() {
        let old = SweepSpec::read(&spec_file)?;
        if &old != spec {
            bail!(
                "{} holds a sweep with another spec ({}); choose another --out or delete the folder",
                out.display(),
                spec_file.display()
            );
        }
    } else {
        std::fs::write(&spec_file, text)?;
    }
    let cells = spec.cells(origin)?;
    let cells_dir = out.join("cells");
    for c in &cells {
        let dir = cells_dir.join(&c.id);
        std::fs::create_dir_all(&dir)?;
        let mut desc = toml::Table::new();
        desc.insert("job".into(), toml::Value::String(spec.job.name().into()));
        desc.insert("axes".into(), toml::Value::Table(c.axes.iter().cloned().collect()));
        std::fs::write(dir.join(CELL_FILE), toml::to_string_pretty(&desc)?)?;
        let cfg = dir.join("config.toml");
        if !cfg.exists() {
            std::fs::write(cfg, c.config.to_toml()?)?;
        }
    }
    let pending: Vec<&Cell> = cells.iter().filter(|c| state(out, &c.id) != State::Done).collect();
    tracing::info!("sweep {}: {} cells, {} to run", out.display(), cells.len(), pending.len());
    if !pending.is_empty() {
        // Every distinct dataset once, before the cells share it (they would race to make it).
        let mut seen = vec![];
        for c in &pending {
            let d = c.config.data().clone();
            // The cue task is generated in memory by each cell: nothing to make.
            if d.task == crate::reproduce::DataTask::Speech && !seen.contains(&d) {
                // A dataset that cannot be made fails the cells that read it, each with this error, not the sweep.
                if let Err(e) = crate::reproduce::dataset(&d, &cells_dir, opts.quiet) {
                    tracing::warn!("a dataset of this sweep cannot be made; its cells will fail: {e:#}");
                }
                seen.push(d);
            }
        }
    }
    match &opts.executor {
        Executor::Local { jobs } => exec::run_local(out, &pending, (*jobs).max(1), &opts.snnbench, opts.quiet)?,
        Executor::Slurm(s) => {
            if pending.is_empty() {
                tracing::info!("every cell is done; nothing to submit");
            } else {
                let job = exec::submit_slurm(out, &pending, s, &opts.snnbench)?;
                if s.submit_only {
                    return Ok(format!(
                        "submitted Slurm job {job} ({} cells); follow it with `snnbench sweep status {}`, then \
                         aggregate with `snnbench sweep report {}`",
                        pending.len(),
                        out.display(),
                        out.display()
                    ));
                }
                exec::wait_slurm(out, &job, &pending, opts.quiet)?;
            }
        }
    }
    drop(sweep_lock);
    let summary = aggregate::report(out)?;
    let failed: Vec<String> = cells
        .iter()
        .filter_map(|c| match state(out, &c.id) {
            State::Done => None,
            State::Failed(e) => Some(format!("{} (failed: {e})", c.id)),
            State::Running(h) => Some(format!("{} (still running: pid {} on {})", c.id, h.pid, h.host)),
            State::Pending => Some(format!("{} (did not finish; run the same command again)", c.id)),
        })
        .collect();
    if failed.is_empty() {
        Ok(summary)
    } else {
        bail!("{summary}\n{} of {} cells did not finish:\n  {}", failed.len(), cells.len(), failed.join("\n  "))
    }
}

/// `snnbench sweep cell DIR ID`: runs one cell in this process and records how it ended.
pub fn run_cell(dir: &Path, id: &str) -> Result<String> {
    let cell = dir.join("cells").join(id);
    let desc_path = cell.join(CELL_FILE);
    let desc = crate::config::parse_table(
        &std::fs::read_to_string(&desc_path).with_context(|| format!("{}: no such cell", desc_path.display()))?,
        &desc_path,
    )?;
    let cfg_path = cell.join("config.toml");
    let t0 = Instant::now();
    let result = match desc.get("job").and_then(toml::Value::as_str) {
        Some("reproduce") => {
            ReproduceConfig::read(&cfg_path, false).and_then(|c| crate::reproduce::reproduce(&c, &cell, true))
        }
        Some("train") => TrainConfig::read(&cfg_path).and_then(|c| crate::train::train(&c, &cell, true)),
        j => bail!("{}: job {j:?}: expected reproduce or train", desc_path.display()),
    };
    let status = |state: &str, error: Option<String>| -> Result<()> {
        let s = CellStatus {
            state: state.into(),
            error,
            host: crate::results::run::machine_name(),
            seconds: t0.elapsed().as_secs_f64(),
        };
        std::fs::write(cell.join(STATUS_FILE), serde_json::to_string_pretty(&s)? + "\n")?;
        Ok(())
    };
    match result {
        Ok(summary) => {
            status("done", None)?;
            Ok(summary)
        }
        // Stopped by Ctrl-C (or another holder): not an outcome; the next run resumes it.
        Err(e) if e.chain().any(|c| c.is::<Interrupted>() || c.is::<lock::Locked>()) => Err(e),
        Err(e) => {
            status("failed", Some(format!("{e:#}").replace('\n', " ")))?;
            Err(e)
        }
    }
}

/// `snnbench sweep status DIR`.
pub fn status(dir: &Path) -> Result<String> {
    let spec = folder_spec(dir)?;
    let cells = spec.cells(&dir.join(SPEC_FILE))?;
    let mut lines = vec![];
    let (mut done, mut failed, mut running) = (0, 0, 0);
    for c in &cells {
        let s = match state(dir, &c.id) {
            State::Done => {
                done += 1;
                "done".to_string()
            }
            State::Failed(e) => {
                failed += 1;
                format!("failed: {e}")
            }
            State::Running(h) => {
                running += 1;
                format!("running (pid {} on {})", h.pid, h.host)
            }
            State::Pending => "pending".to_string(),
        };
        lines.push(format!("  {:<40} {s}", c.id));
    }
    Ok(format!(
        "sweep {} ({} job): {} cells — {done} done, {failed} failed, {running} running, {} pending\n{}",
        dir.display(),
        spec.job.name(),
        cells.len(),
        cells.len() - done - failed - running,
        lines.join("\n")
    ))
}
