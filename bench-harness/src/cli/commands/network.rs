//! Commands on the network: init, grads, train-steps, random-batch, evaluate, bench-train.

use anyhow::{Context, Result, bail};
use models::{AdamConfig, AdamState, Params};

use super::super::args::*;
use super::{check_out, load, max_abs, net_config};
use crate::contender::{Data, Kind, Minibatches, StepConfig};
use crate::tensors::{self, BatchData, Tensor};

pub fn init(a: InitArgs) -> Result<String> {
    let cfg = net_config(&a.net, None)?;
    let p = Params::init_authors(&cfg, a.seed);
    tensors::write_params(&a.out, &p, vec![])?;
    Ok(format!(
        "wrote {}: {}→{}→{} network, {} weights, seed {}",
        a.out.display(),
        cfg.n_in,
        cfg.n_rec,
        cfg.n_out,
        cfg.n_weights(),
        a.seed
    ))
}

pub fn grads(a: GradsArgs) -> Result<String> {
    let rule = a.rule.rule()?;
    a.rule.check_l2()?;
    check_out(&a.out, &[&a.params, &a.batch])?;
    let (cfg, p, b) = load(&a.params, &a.batch, &a.net)?;
    let kind = a.rule.kind(12.min(cfg.n_rec));
    kind.check_rule(rule)?;
    let ctx = if kind == Kind::Wgpu { Some(a.rule.gpu()?) } else { None };
    let mut c = crate::contender::open(kind, &cfg, ctx.as_ref())?;
    c.set_state(&p, &AdamState::like(&p))?;
    c.load_data(Data { x: &b.x, y: &b.y, t_steps: b.t_steps })?;
    let out = c.grads(&StepConfig { rule, lr: 0.0, l2: a.rule.l2, adam: AdamConfig::default() })?;
    let device = c.device();
    let g = &out.grads;
    let mut t = tensors::params_tensors(g, ["g_in", "g_rec", "g_out"]);
    t.push(("logits", Tensor::f32(&[b.batch, cfg.n_out], out.logits.clone())));
    t.push(("loss", Tensor::f32(&[], vec![out.loss])));
    t.push(("spikes", Tensor::u8(&[b.batch, b.t_steps, cfg.n_rec], out.spikes.clone())));
    tensors::write_tensors(&a.out, &t, &[("format", "eprop-workbench"), ("kind", "grads"), ("rule", rule.name())])?;
    let rate = out.spikes.iter().map(|&s| s as f64).sum::<f64>() / out.spikes.len() as f64;
    Ok(format!(
        "wrote {}: rule {} on {device}, B = {}, T = {}, loss {:.6}, spike rate {:.3} %, max|g_in| {:.3e}, max|g_rec| {:.3e}, max|g_out| {:.3e}",
        a.out.display(),
        rule.name(),
        b.batch,
        b.t_steps,
        out.loss,
        100.0 * rate,
        max_abs(&g.w_in),
        max_abs(&g.w_rec),
        max_abs(&g.w_out)
    ))
}

pub fn train_steps(a: TrainStepsArgs) -> Result<String> {
    let rule = a.rule.rule()?;
    a.rule.check_l2()?;
    if a.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        bail!("--lr must be a positive number, found {}", a.lr);
    }
    check_out(&a.out, &[&a.params, &a.batch])?;
    let (cfg, p, b) = load(&a.params, &a.batch, &a.net)?;
    let adam = if a.resume {
        tensors::read_adam(&a.params, &p)?.with_context(|| {
            format!(
                "{}: --resume needs a checkpoint with Adam state (`adam_step`, `adam_m_*`, `adam_v_*`)",
                a.params.display()
            )
        })?
    } else {
        AdamState::like(&p)
    };
    let kind = a.rule.kind(12.min(cfg.n_rec));
    kind.check_rule(rule)?;
    let ctx = if kind == Kind::Wgpu { Some(a.rule.gpu()?) } else { None };
    let mut c = crate::contender::open(kind, &cfg, ctx.as_ref())?;
    c.set_state(&p, &adam)?;
    c.load_data(Data { x: &b.x, y: &b.y, t_steps: b.t_steps })?;
    let step = StepConfig { rule, lr: a.lr, l2: a.rule.l2, adam: AdamConfig::default() };
    let losses = c.train(Minibatches { first: 0, steps: a.steps, batch: a.batch_size }, &step)?.losses;
    let (p2, adam2) = c.state()?;
    let device = c.device();
    let mut extra = vec![("losses", Tensor::f32(&[losses.len()], losses.clone()))];
    extra.extend(tensors::params_tensors(&adam2.m, ["adam_m_w_in", "adam_m_w_rec", "adam_m_w_out"]));
    extra.extend(tensors::params_tensors(&adam2.v, ["adam_v_w_in", "adam_v_w_rec", "adam_v_w_out"]));
    extra.push(("adam_step", Tensor::i64(&[], vec![adam2.step as i64])));
    tensors::write_params(&a.out, &p2, extra)?;
    let first = losses.first().copied().unwrap_or(f32::NAN);
    let last = losses.last().copied().unwrap_or(f32::NAN);
    Ok(format!(
        "wrote {}: rule {} on {device}, {} steps of {} samples, loss {:.5} → {:.5}, Adam step {}",
        a.out.display(),
        rule.name(),
        a.steps,
        a.batch_size,
        first,
        last,
        adam2.step
    ))
}

pub fn random_batch(a: RandomBatchArgs) -> Result<String> {
    if a.batch == 0 || a.steps_t == 0 || a.n_in == 0 || a.n_out == 0 {
        bail!("--batch, --steps-t, --n-in and --n-out must all be at least 1");
    }
    if !(a.gain.is_finite() && a.gain >= 0.0) {
        bail!("--gain must be a finite number ≥ 0, found {}", a.gain);
    }
    if !a.class_signal.is_finite() {
        bail!("--class-signal must be finite, found {}", a.class_signal);
    }
    let (x, y) = models::inputs::toy_task_batch(a.batch, a.steps_t, a.n_in, a.n_out, a.gain, a.class_signal, a.seed);
    let data = BatchData { x, y, batch: a.batch, t_steps: a.steps_t, n_in: a.n_in };
    tensors::write_batch(&a.out, &data)?;
    Ok(format!(
        "wrote {}: x [{}, {}, {}], y [{}], seed {}",
        a.out.display(),
        a.batch,
        a.steps_t,
        a.n_in,
        a.batch,
        a.seed
    ))
}

pub fn evaluate(mut a: EvaluateArgs) -> Result<String> {
    // A run folder: its final weights, and its config's network unless --net is given.
    let mut run_net = None;
    if a.params.is_dir() {
        let dir = a.params.clone();
        a.params = dir.join("weights.safetensors");
        if !a.params.is_file() {
            anyhow::bail!(
                "--params {}: no weights.safetensors yet (a run folder gets it when training ends); pass a checkpoint \
                 from {}/checkpoints/ instead",
                dir.display(),
                dir.display()
            );
        }
        if a.net.net.is_none() && dir.join("config.toml").is_file() {
            let path = dir.join("config.toml");
            let table = crate::config::parse_table(&std::fs::read_to_string(&path)?, &path)?;
            if let Some(net) = table.get("net") {
                run_net = Some(net.clone().try_into::<models::NetConfig>()?);
            }
        }
    }
    let (mut cfg, p, b) = load(&a.params, &a.batch, &a.net)?;
    if let Some(n) = run_net {
        cfg = models::NetConfig { n_in: p.n_in, n_rec: p.n_rec, n_out: p.n_out, ..n };
    }
    let (logits, spikes) = models::srnn::forward::<f32>(&cfg, &p, &b.as_batch());
    let mut correct = 0usize;
    let mut ce = 0.0f64;
    for (row, &label) in logits.chunks_exact(cfg.n_out).zip(&b.y) {
        let (l, _) = models::srnn::cross_entropy(row, label as usize);
        ce += l as f64;
        let pred = row.iter().enumerate().fold(0, |best, (k, v)| if *v > row[best] { k } else { best });
        correct += usize::from(pred == label as usize);
    }
    let n = b.batch as f64;
    let acc = correct as f64 / n;
    let rate = spikes.iter().map(|&s| s as f64).sum::<f64>() / spikes.len() as f64;
    if a.json {
        return Ok(format!(
            "{{\"samples\": {}, \"accuracy\": {acc}, \"cross_entropy\": {}, \"spike_rate\": {rate}}}",
            b.batch,
            ce / n
        ));
    }
    Ok(format!(
        "{}: {} samples, accuracy {:.2} %, mean cross-entropy {:.4}, spike rate {:.3} %",
        a.batch.display(),
        b.batch,
        100.0 * acc,
        ce / n,
        100.0 * rate
    ))
}

pub fn bench_train(a: BenchTrainArgs) -> Result<String> {
    let rule = a.rule.rule()?;
    a.rule.check_l2()?;
    let kind = a.rule.kind(a.pes);
    let ctx = if kind == Kind::Wgpu { Some(a.rule.gpu()?) } else { None };
    let energy_cfg = crate::power::EnergyConfig { window_s: a.energy_window, ..Default::default() };
    let counter = energy_cfg.counter();
    let energy = counter.as_ref().ok().map(|c| (c.clone(), energy_cfg.protocol()));
    let mut r = crate::bench_train::bench_train(
        kind,
        rule,
        ctx.as_ref(),
        a.batch,
        a.steps_t,
        a.samples,
        a.reps,
        a.eprop_chunk,
        a.warmup_s,
        energy,
    )?;
    if a.energy_window > 0.0
        && let Err(e) = counter
    {
        r.gpu_energy_note = Some(format!("GPU energy not measured: {e}"));
    }
    Ok(if a.json { serde_json::to_string(&r)? } else { r.describe() })
}
