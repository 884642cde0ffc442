//! A sweep's spec: `job = "reproduce"` or `"train"`, that job's (partial) config shared by every cell, and `[axes]`
//! mapping `seed` or any dotted config field to a list of values; a train sweep may also have a `contender` axis of
//! `"backend/rule"` pairs (`"chip/eprop"`, `"wgpu/bptt"`), which sets both. Its cells are the Cartesian product of
//! the axes, each with its own resolved config.

/// Axes that do not make a condition: the repetitions (`seed`) and the contender (every result row names its own).
pub fn is_grouping_axis(key: &str) -> bool {
    key == "seed" || key == "contender"
}

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::{get_dotted, parse_table, set_dotted};
use crate::reproduce::ReproduceConfig;
use crate::train::TrainConfig;

/// What each cell runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    /// `snnbench reproduce`: the paper's four contenders.
    Reproduce,
    /// `snnbench train`: one contender and rule.
    Train,
}

impl Job {
    /// The command's name.
    pub fn name(self) -> &'static str {
        match self {
            Job::Reproduce => "reproduce",
            Job::Train => "train",
        }
    }
}

/// A cell's resolved config.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// For `reproduce`.
    Reproduce(ReproduceConfig),
    /// For `train`.
    Train(TrainConfig),
}

impl Resolved {
    /// The config as `config.toml` text.
    pub fn to_toml(&self) -> Result<String> {
        Ok(match self {
            Resolved::Reproduce(c) => toml::to_string_pretty(c)?,
            Resolved::Train(c) => toml::to_string_pretty(c)?,
        })
    }

    /// The dataset the cell reads.
    pub fn data(&self) -> &crate::reproduce::DataConfig {
        match self {
            Resolved::Reproduce(c) => &c.data,
            Resolved::Train(c) => &c.data,
        }
    }
}

/// A parsed spec.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// What each cell runs.
    pub job: Job,
    /// The shared (partial) config.
    pub shared: toml::Table,
    /// Axes in the file's order of keys (sorted), each with its values.
    pub axes: Vec<(String, Vec<toml::Value>)>,
}

/// One cell: its id (its folder's name), its axis values and its resolved config.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// `key=value` pairs joined by `__` (`single` without axes).
    pub id: String,
    /// Axis values.
    pub axes: Vec<(String, toml::Value)>,
    /// The resolved config.
    pub config: Resolved,
}

impl SweepSpec {
    /// Parses a spec file's text; every cell's config is resolved once to report a wrong key or value now.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let mut table = parse_table(text, origin)?;
        let job = match table.remove("job") {
            Some(toml::Value::String(j)) if j == "reproduce" => Job::Reproduce,
            Some(toml::Value::String(j)) if j == "train" => Job::Train,
            Some(v) => bail!("{}: job = {v}: expected \"reproduce\" or \"train\"", origin.display()),
            None => bail!("{}: no `job`; add job = \"reproduce\" or job = \"train\"", origin.display()),
        };
        let axes = match table.remove("axes") {
            None => vec![],
            Some(toml::Value::Table(t)) => t
                .into_iter()
                .map(|(k, v)| match v {
                    toml::Value::Array(a) if !a.is_empty() => Ok((k, a)),
                    _ => bail!("{}: [axes] {k}: expected a non-empty list of values", origin.display()),
                })
                .collect::<Result<_>>()?,
            Some(_) => bail!("{}: `axes` must be a table ([axes])", origin.display()),
        };
        let spec = Self { job, shared: table, axes };
        for (k, _) in &spec.axes {
            let clash = if k == "contender" {
                ["backend", "rule"].iter().any(|f| spec.shared.contains_key(*f))
            } else {
                get_dotted(&spec.shared, k).is_some()
            };
            if clash {
                bail!("{}: `{k}` is both a shared setting and an axis; keep one", origin.display());
            }
        }
        spec.cells(origin)?;
        Ok(spec)
    }

    /// Reads a spec file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&text, path)
    }

    /// Every cell, in a fixed order (the Cartesian product, the last axis fastest).
    pub fn cells(&self, origin: &Path) -> Result<Vec<Cell>> {
        let mut combos: Vec<Vec<(String, toml::Value)>> = vec![vec![]];
        for (k, values) in &self.axes {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((k.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        combos
            .into_iter()
            .map(|axes| {
                let mut t = self.shared.clone();
                for (k, v) in &axes {
                    if k == "contender" {
                        let pair = v.as_str().and_then(|s| s.split_once('/'));
                        let Some((backend, rule)) = pair.filter(|_| self.job == Job::Train) else {
                            bail!(
                                "{}: [axes] contender = {v}: a train sweep's contender axis lists \"backend/rule\" \
                                 pairs, e.g. [\"chip/eprop\", \"wgpu/eprop\", \"wgpu/bptt\"]",
                                origin.display()
                            );
                        };
                        set_dotted(&mut t, "backend", toml::Value::String(backend.into()))?;
                        set_dotted(&mut t, "rule", toml::Value::String(rule.into()))?;
                    } else {
                        set_dotted(&mut t, k, v.clone())?;
                    }
                }
                let id = cell_id(&axes);
                let at = format!("{} (cell {id})", origin.display());
                let config = match self.job {
                    Job::Reproduce => Resolved::Reproduce(ReproduceConfig::from_table(t, Path::new(&at))?),
                    Job::Train => {
                        if !t.contains_key("backend") || !t.contains_key("rule") {
                            bail!("{}: a train sweep needs `backend` and `rule` (shared or as axes)", origin.display());
                        }
                        Resolved::Train(TrainConfig::from_table(t, Path::new(&at))?)
                    }
                };
                Ok(Cell { id, axes, config })
            })
            .collect()
    }

    /// The spec as TOML (what the sweep folder keeps, to refuse a different spec later).
    pub fn to_toml(&self) -> Result<String> {
        let mut t = self.shared.clone();
        t.insert("job".into(), toml::Value::String(self.job.name().into()));
        if !self.axes.is_empty() {
            let axes: toml::Table = self.axes.iter().map(|(k, v)| (k.clone(), toml::Value::Array(v.clone()))).collect();
            t.insert("axes".into(), toml::Value::Table(axes));
        }
        Ok(toml::to_string_pretty(&t)?)
    }
}

/// A value as a cell id shows it (strings bare).
pub fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// `key=value` pairs joined by `__`, made safe for a folder name.
pub fn cell_id(axes: &[(String, toml::Value)]) -> String {
    if axes.is_empty() {
        return "single".into();
    }
    let raw: Vec<String> = axes.iter().map(|(k, v)| format!("{k}={}", show(v))).collect();
    raw.join("__").chars().map(|c| if c.is_ascii_alphanumeric() || "=._-".contains(c) { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_the_product_of_the_axes_with_their_values_resolved() -> Result<()> {
        let spec = SweepSpec::parse(
            "job = \"reproduce\"\nquick = true\n[axes]\nseed = [0, 1, 2]\n\"net.n_rec\" = [64, 120]\n",
            Path::new("s.toml"),
        )?;
        let cells = spec.cells(Path::new("s.toml"))?;
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0].id, "net.n_rec=64__seed=0");
        assert_eq!(cells[5].id, "net.n_rec=120__seed=2");
        let Resolved::Reproduce(c) = &cells[1].config else { panic!("not a reproduce cell") };
        assert_eq!((c.seed, c.net.n_rec, c.quick), (1, 64, true));
        assert_eq!(c.gpu, ReproduceConfig::quick().gpu);
        Ok(())
    }

    /// e-prop's chunk length as an axis (numbers and `"all"` in one array): each train cell's schedule carries it.
    #[test]
    fn the_eprop_chunk_is_a_sweep_axis() -> Result<()> {
        use crate::contender::EpropChunk;
        let text = "job = \"train\"\nbackend = \"wgpu\"\nrule = \"eprop\"\n\
                    [axes]\n\"schedule.eprop_chunk\" = [100, 500, \"all\"]\n";
        let spec = SweepSpec::parse(text, Path::new("s.toml"))?;
        let cells = spec.cells(Path::new("s.toml"))?;
        let chunks: Vec<_> = cells
            .iter()
            .map(|c| match &c.config {
                Resolved::Train(t) => t.schedule.eprop_chunk,
                Resolved::Reproduce(_) => None,
            })
            .collect();
        assert_eq!(chunks, [Some(EpropChunk::Steps(100)), Some(EpropChunk::Steps(500)), Some(EpropChunk::Whole)]);
        assert_eq!(cells[2].id, "schedule.eprop_chunk=all");
        let bad = text.replace("\"all\"", "\"most\"");
        assert!(SweepSpec::parse(&bad, Path::new("s.toml")).is_err(), "an unknown chunk accepted");
        Ok(())
    }

    #[test]
    fn a_wrong_axis_or_job_is_refused_naming_it() {
        let bad = |text: &str| SweepSpec::parse(text, Path::new("s.toml")).expect_err(text).to_string();
        assert!(bad("job = \"reproduce\"\n[axes]\n\"net.n_recc\" = [1]\n").contains("n_recc"));
        assert!(bad("job = \"fit\"\n").contains("expected \"reproduce\" or \"train\""));
        assert!(bad("job = \"train\"\nrule = \"eprop\"\n").contains("backend"));
        assert!(bad("job = \"reproduce\"\n[axes]\nseed = []\n").contains("non-empty"));
    }
}
