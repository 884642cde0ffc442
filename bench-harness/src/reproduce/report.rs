//! `report.md` of a run folder, rebuilt from its CSVs alone (never typed-in numbers) after the summaries
//! (`summary.rs`) and the plots: the paper's figures beside ours, each tagged measured, modelled or literature.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::summary::{first, first_s, num, pct, sci, summarise_memory, summarise_paper, summarise_training};
use crate::results::table::Table;

fn md_table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}|", head.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

/// Rebuilds summaries, plots and report.md of a run folder from its raw CSVs.
pub fn rebuild(dir: &Path) -> Result<()> {
    if !dir.join("config.toml").exists() {
        anyhow::bail!("{}: not a reproduce run folder (no config.toml)", dir.display());
    }
    let training = summarise_training(dir)?;
    training.write_csv(&dir.join("summary_training.csv"))?;
    let memory = summarise_memory(dir).context("memory_sweep.csv")?;
    memory.write_csv(&dir.join("summary_memory.csv"))?;
    let paper = summarise_paper(dir, &training)?;
    paper.write_csv(&dir.join("summary_paper.csv"))?;
    let plots = super::plots::all(dir)?;

    let mut o = String::new();
    let config = std::fs::read_to_string(dir.join("config.toml"))?;
    let dataset = std::fs::read_to_string(dir.join("dataset.txt")).unwrap_or_default();
    let rev = Table::read_csv(&dir.join("training_gpu_eprop.csv"))
        .ok()
        .and_then(|t| t.strs("git_rev").ok()?.first().cloned())
        .unwrap_or_default();
    let adapter = Table::read_csv(&dir.join("training_gpu_eprop.csv"))
        .ok()
        .and_then(|t| t.strs("adapter").ok()?.first().cloned())
        .unwrap_or_default();
    // The machine, as the benchmark rows recorded it (runs before the `host` column say nothing).
    let host = Table::read_csv(&dir.join("bench.csv"))
        .ok()
        .and_then(|t| t.strs("host").ok()?.into_iter().find(|h| !h.is_empty()))
        .map_or_else(String::new, |h| format!(", host `{h}`"));
    let _ = writeln!(o, "# eprop-workbench reproduce report\n");
    let _ = writeln!(
        o,
        "Run folder `{}`, git revision `{rev}`, GPU adapter **{adapter}**{host}. Data: {}. Every number below is read from \
         this folder's CSVs (`snnbench report {}` rebuilds this file); each is tagged measured (ran here), modelled \
         (computed from counted work and cited constants) or literature (quoted).\n",
        dir.display(),
        dataset.lines().next().unwrap_or("?"),
        dir.display()
    );
    let _ = writeln!(o, "## The paper beside ours\n");
    md_table(
        &mut o,
        &["quantity", "paper", "ours", "ours is", "note"],
        (0..paper.len())
            .map(|k| {
                let c = |n: &str| paper.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                vec![c("quantity"), c("paper"), c("ours"), c("our_source"), c("note")]
            })
            .collect(),
    );
    let _ = writeln!(o, "## Training (measured)\n\n![accuracy](accuracy.png) ![loss](loss.png)\n");
    md_table(
        &mut o,
        &[
            "experiment",
            "backend",
            "batch",
            "epochs",
            "test acc. at best val.",
            "final test acc.",
            "wall s",
            "samples/s",
            "evaluation s",
            "GPU energy J",
        ],
        (0..training.len())
            .map(|k| {
                let s = |n: &str| training.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                let f = |n: &str| training.f64s(n).ok().and_then(|v| v[k]);
                vec![
                    s("experiment"),
                    s("backend"),
                    s("batch"),
                    s("epochs"),
                    pct(f("test_accuracy_at_best_validation")),
                    pct(f("final_test_accuracy")),
                    num(f("wall_time_s"), 1),
                    num(f("mean_samples_per_s"), 0),
                    match (f("evaluation_s"), s("evaluated_on")) {
                        (Some(e), on) if on.starts_with("device") => format!("{e:.1} (device)"),
                        (Some(e), on) if on.starts_with("host") => format!("{e:.1} (host)"),
                        (Some(e), _) => format!("{e:.1}"),
                        (None, _) => "–".into(),
                    },
                    f("gpu_energy_j").map_or("not measured".into(), |v| format!("{v:.1}")),
                ]
            })
            .collect(),
    );
    let _ = writeln!(
        o,
        "`wall s` and `samples/s` are the training's; `evaluation s` is the validation and test evaluation after each \
         epoch, summed, where each cell says: on the device (the WGSL trainer's own forward kernels) or on the host \
         (the CPU reference forward; `evaluated_on` in the training CSVs).\n"
    );
    if !training.strs("experiment")?.iter().any(|e| e == "burn_bptt") {
        let _ = writeln!(
            o,
            "The burn baseline (BPTT through burn's autodiff) is not in this run yet: the `snnbench` that made it was \
             built without the `burn` feature (the quickstart's first, lean build). `./quickstart.sh` adds it when \
             the full build is done; by hand, `cargo build --release -p bench-harness --bin snnbench` and the same \
             `snnbench reproduce --out DIR` again: it resumes the run and adds the burn rows.\n"
        );
    }
    let _ = writeln!(o, "Same seed, same bits? (tested for the CPU reference, WGSL and the chip emulator)\n");
    for k in 0..training.len() {
        let s = |n: &str| training.strs(n).map(|v| v[k].clone()).unwrap_or_default();
        let _ = writeln!(o, "- {} ({}): {}", s("experiment"), s("backend"), s("determinism"));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "## Memory against T\n\n![memory](memory_vs_t.png)\n");
    md_table(
        &mut o,
        &[
            "platform",
            "scope",
            "e-prop bytes (min–max over T)",
            "BPTT bytes per step",
            "BPTT > e-prop from T ≈",
            "largest T BPTT fits",
        ],
        (0..memory.len())
            .map(|k| {
                let s = |n: &str| memory.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                let f = |n: &str| memory.f64s(n).ok().and_then(|v| v[k]);
                vec![
                    s("platform"),
                    format!("{} (batch {})", s("scope"), s("batch")),
                    format!("{}–{}", num(f("eprop_bytes_min"), 0), num(f("eprop_bytes_max"), 0)),
                    num(f("bptt_bytes_per_step"), 0),
                    num(f("crossover_t"), 0),
                    f("largest_t_that_fits").map_or("–".into(), |v| format!("{v:.0}")),
                ]
            })
            .collect(),
    );
    let _ = writeln!(
        o,
        "GPU bytes are allocated on the adapter (measured) up to the configured T and come from the trainer's buffer plan beyond (modelled; `memory_sweep.csv`'s `source` says which per row). The chip's e-prop bytes come from the emulator's memory map; BPTT on the chip is a model (history of ψ, A, spikes and inputs per step), not emulated.\n"
    );
    let totals = Table::read_csv(&dir.join("cost_totals.csv"))?;
    let phases = Table::read_csv(&dir.join("cost_phases.csv"))?;
    let _ = writeln!(o, "## The emulated chip (modelled)\n\n![step time](step_time_phases.png)\n");
    md_table(
        &mut o,
        &["phase", "cycles per step (busiest PE)", "µs per step"],
        (0..phases.len())
            .map(|k| {
                let f = |n: &str| phases.f64s(n).ok().and_then(|v| v[k]);
                vec![
                    phases.strs("phase").map(|v| v[k].clone()).unwrap_or_default(),
                    num(f("cycles_per_step"), 0),
                    num(f("time_per_step_us"), 1),
                ]
            })
            .collect(),
    );
    let _ = writeln!(
        o,
        "Readout, learning signal and Adam run once per sample, after the last step (cycles_end_of_sample in \
         cost_totals.csv: {}), not inside a tick. Worst step: {} cycles of {} per 1 ms tick → real time: {}. Memory: {} B for all PEs ({} B learning state, {} B synaptic state) against the paper's 680 KiB = {} B. {}\n",
        num(first(&totals, "cycles_end_of_sample")?, 0),
        num(first(&totals, "cycles_per_step_max")?, 0),
        num(first(&totals, "cycles_per_tick")?, 0),
        first_s(&totals, "real_time")?,
        num(first(&totals, "memory_bytes_total")?, 0),
        num(first(&totals, "memory_bytes_learning_state")?, 0),
        num(first(&totals, "memory_bytes_synaptic_state")?, 0),
        num(first(&totals, "memory_bytes_paper")?, 0),
        first_s(&totals, "memory_note").unwrap_or_default()
    );
    let energy = Table::read_csv(&dir.join("cost_energy.csv"))?;
    let measured = first_s(&totals, "gpu_measured")? == "true";
    let _ = writeln!(
        o,
        "## Energy per training sample, GPU vs chip\n\n\
         **Headline, total boundary** (chip: 12 PEs active and idle plus the chip's floor power; GPU: board power): \
         **{}×** GPU/chip, band {}–{}× over every combination of the bounds below. **Dynamic boundary** (chip: the \
         PEs' active energy and packets; GPU: energy above idle): {}×, band {}–{}×. GPU side — {}{}. The paper's \
         12× is an estimate against a V100 whose boundary the paper does not state.\n\n\
         ![energy](energy_per_sample.png) ![tornado](sensitivity_tornado.png)\n",
        num(first(&totals, "energy_ratio")?, 2),
        num(first(&totals, "energy_ratio_min")?, 2),
        num(first(&totals, "energy_ratio_max")?, 2),
        num(first(&totals, "energy_ratio_dynamic")?, 2),
        num(first(&totals, "energy_ratio_dynamic_min")?, 2),
        num(first(&totals, "energy_ratio_dynamic_max")?, 2),
        first_s(&totals, "headline_gpu")?,
        if measured { "" } else { " (no GPU was measured in this run)" }
    );
    if dir.join("gpu_energy.csv").exists() {
        let ge = Table::read_csv(&dir.join("gpu_energy.csv"))?;
        let protocol = if ge.f64s("min_window_s").is_ok() {
            "by the MLPerf-style protocol: a window of repeated epochs (MLPerf's minimum is 60 s; rows with a \
             shorter minimum say so), the board's NVML total-energy counter sampled at 2 Hz, idle power from the same \
             counter before and after, each after a cooldown"
        } else {
            "measured with NVML over at least 3 s of repeated epochs, idle power sampled once before (a run from \
             before the MLPerf-style protocol)"
        };
        let _ = writeln!(
            o,
            "GPU energy of this run's training {protocol} (`gpu_energy.csv`); per sample in total and above the \
             idle power:\n"
        );
        md_table(
            &mut o,
            &[
                "experiment",
                "GPU",
                "batch",
                "samples",
                "window s (min)",
                "idle W before / after",
                "J/sample total",
                "J/sample above idle",
                "note",
            ],
            (0..ge.len())
                .map(|k| {
                    let s = |n: &str| ge.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                    let f = |n: &str| ge.f64s(n).ok().and_then(|v| v[k]);
                    let gpu = s("gpu");
                    let samples = f("samples").filter(|&n| n > 0.0);
                    // Rows of runs before the MLPerf-style protocol have no per-sample total: derive it.
                    let total = f("total_j_per_sample").or(f("energy_j_total").zip(samples).map(|(e, n)| e / n));
                    vec![
                        s("experiment"),
                        if gpu.is_empty() { s("adapter") } else { gpu },
                        s("batch"),
                        s("samples"),
                        format!("{} ({})", num(f("seconds"), 1), num(f("min_window_s"), 0)),
                        format!(
                            "{} / {}",
                            num(f("idle_w_before").or(f("idle_w")), 1),
                            num(f("idle_w_after").or(f("idle_w")), 1)
                        ),
                        sci(total),
                        sci(f("j_per_sample")),
                        s("note").split("; MLPerf-style").next().unwrap_or_default().to_string(),
                    ]
                })
                .collect(),
        );
    }
    let _ = writeln!(o, "Every named set, each at one boundary on both sides (`cost_energy.csv`):\n");
    md_table(
        &mut o,
        &[
            "set",
            "boundary",
            "chip level",
            "GPU, power, time/sample",
            "chip J",
            "GPU J",
            "GPU/chip",
            "GPU time/sample for 12×",
            "GPU figures",
        ],
        (0..energy.len())
            .map(|k| {
                let s = |n: &str| energy.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                let f = |n: &str| energy.f64s(n).ok().and_then(|v| v[k]);
                vec![
                    s("set"),
                    s("boundary"),
                    s("chip_level"),
                    format!(
                        "{}, {}, {} ms",
                        s("gpu"),
                        s("gpu_power_basis"),
                        num(f("gpu_time_per_sample_s").map(|v| v * 1e3), 4)
                    ),
                    sci(f("energy_j_per_sample_chip")),
                    sci(f("energy_j_per_sample_gpu")),
                    format!("{}×", num(f("energy_ratio"), 2)),
                    f("gpu_time_per_sample_for_12x_s").map_or("–".into(), |v| format!("{:.3} ms", v * 1e3)),
                    s("gpu_source"),
                ]
            })
            .collect(),
    );
    if dir.join("cost_trace_codes.csv").exists() {
        let tc = Table::read_csv(&dir.join("cost_trace_codes.csv"))?;
        let _ = writeln!(
            o,
            "The trace update is most of the chip's work; how its loop is coded is the least certain cycle count. Three levels, each from instruction counts × the Cortex-M4 TRM's cycles (`cost_trace_codes.csv`; docs/energy.md shows the recipes):\n"
        );
        md_table(
            &mut o,
            &[
                "trace loop",
                "instructions / synapse-step",
                "cycles / synapse-step",
                "slowest step (share of the 1 ms tick)",
                "real time",
                "chip J dynamic",
                "chip J total",
                "headline ratio",
            ],
            (0..tc.len())
                .map(|k| {
                    let s = |n: &str| tc.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                    let f = |n: &str| tc.f64s(n).ok().and_then(|v| v[k]);
                    vec![
                        s("trace_code"),
                        num(f("instructions_per_synapse_step"), 2),
                        num(f("cycles_per_synapse_step"), 2),
                        format!("{} ({})", num(f("cycles_per_step_max"), 0), pct(f("share_of_tick"))),
                        s("real_time"),
                        sci(f("energy_j_per_sample_dynamic")),
                        sci(f("energy_j_per_sample_total")),
                        format!("{}×", num(f("energy_ratio"), 2)),
                    ]
                })
                .collect(),
        );
    }
    if dir.join("cost_bounds.csv").exists() {
        let b = Table::read_csv(&dir.join("cost_bounds.csv"))?;
        let _ = writeln!(o, "The uncertain constants and their bounds (`cost_bounds.csv`):\n");
        md_table(
            &mut o,
            &["constant", "value used", "low", "high", "source"],
            (0..b.len())
                .map(|k| {
                    let s = |n: &str| b.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                    vec![s("constant"), s("value"), s("low"), s("high"), s("source")]
                })
                .collect(),
        );
    }
    let sens = Table::read_csv(&dir.join("cost_sensitivity.csv"))?;
    md_table(
        &mut o,
        &["bound (one at a time, headline ratio)", "settings", "ratio low", "ratio high"],
        (0..sens.len())
            .map(|k| {
                let s = |n: &str| sens.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                let f = |n: &str| sens.f64s(n).ok().and_then(|v| v[k]);
                vec![s("factor"), s("settings"), num(f("ratio_low"), 2), num(f("ratio_high"), 2)]
            })
            .collect(),
    );
    if dir.join("cost_what_ifs.csv").exists() {
        let wi = Table::read_csv(&dir.join("cost_what_ifs.csv"))?;
        let _ = writeln!(o, "### What-ifs (modelled)\n");
        md_table(
            &mut o,
            &[
                "change",
                "fits",
                "memory total B",
                "speed-up",
                "real time",
                "chip J/sample (total)",
                "chip J/sample (dynamic)",
            ],
            (0..wi.len())
                .map(|k| {
                    let s = |n: &str| wi.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                    let f = |n: &str| wi.f64s(n).ok().and_then(|v| v[k]);
                    vec![
                        s("change"),
                        s("fits"),
                        num(f("memory_bytes_total"), 0),
                        format!("{}×", num(f("speedup"), 2)),
                        s("real_time"),
                        sci(f("energy_j_per_sample_chip")),
                        sci(f("energy_j_per_sample_chip_dynamic")),
                    ]
                })
                .collect(),
        );
    }
    if dir.join("neurobench.csv").exists() {
        let nb = Table::read_csv(&dir.join("neurobench.csv"))?;
        let _ = writeln!(o, "## NeuroBench metrics (measured, test split)\n");
        md_table(
            &mut o,
            &[
                "experiment",
                "footprint B",
                "connection sparsity",
                "activation sparsity",
                "dense SynOps/sample",
                "effective MACs/sample",
                "effective ACs/sample",
            ],
            (0..nb.len())
                .map(|k| {
                    let s = |n: &str| nb.strs(n).map(|v| v[k].clone()).unwrap_or_default();
                    let f = |n: &str| nb.f64s(n).ok().and_then(|v| v[k]);
                    vec![
                        s("experiment"),
                        num(f("footprint_bytes"), 0),
                        num(f("connection_sparsity"), 4),
                        num(f("activation_sparsity"), 4),
                        sci(f("dense_synops_per_sample")),
                        sci(f("effective_macs_per_sample")),
                        sci(f("effective_acs_per_sample")),
                    ]
                })
                .collect(),
        );
    }
    if dir.join("bench.csv").exists() {
        let rows: Vec<crate::bench::BenchRow> =
            Table::read_csv(&dir.join("bench.csv"))?.typed().context("bench.csv")?;
        let _ = writeln!(o, "## Performance suite (`snnbench bench`, measured)\n");
        let finite = |v: f64| v.is_finite().then_some(v);
        md_table(
            &mut o,
            &["rule", "backend", "adapter", "batch", "T", "samples/s", "ms/sample", "bytes"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.rule.clone(),
                        r.backend.clone(),
                        r.adapter.clone(),
                        r.batch.to_string(),
                        r.t_steps.to_string(),
                        num(finite(r.samples_per_s), 1),
                        num(finite(r.time_per_sample_ms), 4),
                        r.bytes_total.map_or(String::new(), |b| b.to_string()),
                    ]
                })
                .collect(),
        );
    }
    let _ = writeln!(
        o,
        "## Files\n\nRaw: `training_*.csv` (one row per epoch), `memory_sweep.csv`, `cost_*.csv`, `gpu_energy.csv`, `neurobench.csv`{}. Summaries: `summary_training.csv`, `summary_memory.csv`, `summary_paper.csv`. Plots (PNG and SVG): {}. Config: `config.toml` (repeat with `snnbench reproduce --config config.toml --out DIR`).\n",
        if dir.join("bench.csv").exists() { ", `bench.csv`" } else { "" },
        plots.join(", ")
    );
    let _ = writeln!(o, "<details><summary>config.toml</summary>\n\n```toml\n{config}```\n</details>");
    std::fs::write(dir.join("report.md"), o)?;
    Ok(())
}
