//! The commands, by kind of work: `network` (init, grads, train-steps, random-batch, evaluate, bench-train),
//! `data` (features, prepare, synth) and `jobs` (cost, reproduce, bench), plus the input handling they share.

pub mod data;
pub mod jobs;
pub mod network;

use std::path::Path;

use anyhow::{Context, Result, bail};
use models::{NetConfig, Params};

use super::args::NetArgs;
use crate::tensors::{self, BatchData};

/// Reads the optional network TOML and reconciles it with the parameters' sizes.
pub fn net_config(net: &NetArgs, p: Option<&Params<f32>>) -> Result<NetConfig> {
    let mut cfg = match &net.net {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            let cfg: NetConfig =
                toml::from_str(&text).with_context(|| format!("{}: not a valid network TOML", path.display()))?;
            if let Some(p) = p {
                let file_sizes = (cfg.n_in, cfg.n_rec, cfg.n_out);
                let defaults = NetConfig::default();
                let given = (defaults.n_in, defaults.n_rec, defaults.n_out) != file_sizes;
                if given && file_sizes != (p.n_in, p.n_rec, p.n_out) {
                    bail!(
                        "{}: sizes {}→{}→{} do not match the params' {}→{}→{}",
                        path.display(),
                        cfg.n_in,
                        cfg.n_rec,
                        cfg.n_out,
                        p.n_in,
                        p.n_rec,
                        p.n_out
                    );
                }
            }
            cfg
        }
        None => NetConfig::default(),
    };
    if let Some(p) = p {
        (cfg.n_in, cfg.n_rec, cfg.n_out) = (p.n_in, p.n_rec, p.n_out);
    }
    cfg.validate()?;
    Ok(cfg)
}

pub(super) fn load(params: &Path, batch: &Path, net: &NetArgs) -> Result<(NetConfig, Params<f32>, BatchData)> {
    let p = tensors::read_params(params)?;
    let cfg = net_config(net, Some(&p))?;
    let mut b = tensors::read_batch(batch, p.n_in, p.n_out)?;
    if net.normalize_features {
        crate::data::features::normalise_batch(&mut b.x, b.n_in);
    }
    Ok((cfg, p, b))
}

pub(super) fn check_out(out: &Path, inputs: &[&Path]) -> Result<()> {
    for i in inputs {
        if let (Ok(a), Ok(b)) = (out.canonicalize(), i.canonicalize())
            && a == b
        {
            bail!("--out {} is also an input file; choose another output path", out.display());
        }
    }
    Ok(())
}

pub(super) fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}
