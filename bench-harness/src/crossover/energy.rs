//! The time and energy side of the map (`snnbench crossover --measure`): for every cell, each rule's training time
//! per sample on this run's adapter at the map's batch — **measured** where one step fits the time cap, **modelled**
//! beyond it (linear in T from the longest measured T of the same size, or in T × synapses from the size before) —
//! and the energy per sample that time costs at the adapter's power, against e-prop on the emulated chip (its
//! modelled time and energy per sample from the counted spikes of a seeded sample at that size and T, on the fewest
//! PEs its SRAM map fits). Every row says which of its numbers are measured, modelled or assumed.
//!
//! The adapter's power is not measured here: it is given (`--adapter-watts`), or for a CPU adapter a stated guess,
//! or for a known GPU its preset's TDP (an upper bound). The energy ratios scale linearly with it.

use std::path::Path;

use anyhow::{Result, bail};
use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions, gpu_cost::gpu_preset, spinnaker2::ChipConfig};
use serde::{Deserialize, Serialize};

use super::{CrossoverConfig, Grid, HeatCell, chip_bytes};
use crate::{
    bench_train::{BenchCaseSpec, bench_train_net, chip_bench},
    contender::Kind,
    results::table::Table,
};

/// The power assumed for a CPU adapter (lavapipe) when none is given, W. [U] a guess: two vCPUs of a server Xeon
/// are about one physical core at load, ≈ 5–10 W per core (package TDP over cores, e.g. 205 W / 28 cores ≈ 7.3 W)
/// plus a share of the uncore and DRAM; 10 W taken. Nothing on this machine measures it.
pub const CPU_ADAPTER_WATTS_GUESS: f64 = 10.0;

/// How the time side is measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measure {
    /// A cell is measured when one predicted training step (the batch) takes at most this many seconds.
    pub cap_s: f64,
    /// The adapter's power, W.
    pub watts: f64,
    /// Where `watts` comes from.
    pub watts_source: String,
}

impl Measure {
    /// The adapter's power: `watts` when given; for a CPU adapter [`CPU_ADAPTER_WATTS_GUESS`]; for a V100 or a
    /// Hopper GPU its preset's TDP; otherwise an error that asks for `--adapter-watts`.
    pub fn for_adapter(name: &str, device_type: wgpu::DeviceType, cap_s: f64, watts: Option<f64>) -> Result<Self> {
        if !(cap_s.is_finite() && cap_s > 0.0) {
            bail!("--measure-cap-s {cap_s}: expected a positive number of seconds");
        }
        let (watts, watts_source) = match watts {
            Some(w) if !(w.is_finite() && w > 0.0) => bail!("--adapter-watts {w}: expected a positive number"),
            Some(w) => (w, "given (--adapter-watts)".to_string()),
            None if device_type == wgpu::DeviceType::Cpu => (
                CPU_ADAPTER_WATTS_GUESS,
                format!(
                    "assumed [U, a guess]: {CPU_ADAPTER_WATTS_GUESS} W for the CPU running the kernels ({}); not \
                     measured",
                    name
                ),
            ),
            None => {
                let upper = name.to_uppercase();
                let preset = ["H100", "H200"]
                    .iter()
                    .any(|g| upper.contains(g))
                    .then(|| gpu_preset("h100-sxm5"))
                    .or_else(|| upper.contains("V100").then(|| gpu_preset("v100-sxm2")))
                    .flatten();
                match preset {
                    Some(p) => (p.tdp_w, format!("assumed: the {} preset's TDP [S], an upper bound ({name})", p.name)),
                    None => bail!(
                        "crossover --measure: no power figure for adapter {name}; give its board power with \
                         --adapter-watts W"
                    ),
                }
            }
        };
        Ok(Self { cap_s, watts, watts_source })
    }
}

/// A row of `crossover_energy.csv`: one rule on the adapter for one cell, against e-prop on the chip.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnergyRow {
    pub n_rec: usize,
    pub t_steps: usize,
    pub algorithm: String,
    pub batch: usize,
    pub adapter: String,
    /// Training time per sample on the adapter, s (absent when it did not fit and nothing measured to model from).
    pub time_per_sample_s: Option<f64>,
    /// `measured`, `modelled` or `did not fit`.
    pub time_source: String,
    /// How: the run, or what the model scaled from.
    pub time_note: String,
    pub adapter_watts: f64,
    pub watts_source: String,
    /// time × watts, J.
    pub energy_j_per_sample: Option<f64>,
    /// PEs of the chip run (the fewest e-prop's SRAM map fits).
    pub chip_pes: usize,
    /// The chip's modelled time per training sample, s (T ms when every step is real time).
    pub chip_time_per_sample_s: f64,
    /// 1 when every step met its 1 ms deadline.
    pub chip_real_time: usize,
    /// The chip's modelled energy per training sample, total boundary (PEs active + idle + floor), J.
    pub chip_energy_j_per_sample: f64,
    /// Where the chip's spike counts come from.
    pub chip_activity: String,
    /// energy_j_per_sample / chip_energy_j_per_sample: this rule on the adapter over e-prop on the chip.
    pub energy_ratio_over_chip: Option<f64>,
}

/// One rule's time per sample at one cell, and how it was had.
#[derive(Clone, Debug)]
struct Timed {
    s_per_sample: Option<f64>,
    source: &'static str,
    note: String,
}

/// The last measurement of a rule: (n_rec, T, s per sample).
type Last = Option<(usize, usize, f64)>;

fn synapses(net: &NetConfig) -> f64 {
    ((net.n_in + net.n_rec) * net.n_rec) as f64
}

/// Times one rule at one cell: measured when the prediction from `last` fits the cap (or there is none), else
/// modelled from `last`.
fn time_cell(
    gpu: &kernels::GpuContext,
    m: &Measure,
    net: &NetConfig,
    rule: Rule,
    batch: usize,
    t_steps: usize,
    last: &mut Last,
    quiet: bool,
) -> Result<Timed> {
    let predict = |(n0, t0, s0): (usize, usize, f64)| {
        let net0 = NetConfig { n_rec: n0, ..net.clone() };
        s0 * (t_steps as f64 / t0 as f64) * (synapses(net) / synapses(&net0))
    };
    let predicted = last.map(predict);
    let how = |(n0, t0, _): (usize, usize, f64)| {
        if n0 == net.n_rec {
            format!("modelled linear in T from the measurement at T = {t0}")
        } else {
            format!("modelled linear in T × synapses from the measurement at n_rec = {n0}, T = {t0}")
        }
    };
    if let (Some(p), Some(l)) = (predicted, *last)
        && p * batch as f64 > m.cap_s
    {
        return Ok(Timed {
            s_per_sample: Some(p),
            source: "modelled",
            note: format!(
                "{} (one measured step would take ≈ {:.0} s, over the {} s cap)",
                how(l),
                p * batch as f64,
                m.cap_s
            ),
        });
    }
    if !quiet {
        tracing::info!("crossover: timing {} at n_rec {}, T = {t_steps}, batch {batch}", rule.name(), net.n_rec);
    }
    let case = BenchCaseSpec {
        net,
        batch,
        t_steps,
        samples: batch,
        reps: 1,
        profile: false,
        // The map's e-prop bytes are the chunked, memory-flat mode's (the buffer plan's default): time the same.
        eprop_chunk: crate::contender::EpropChunk::Steps(kernels::trainer::EPROP_CHUNK),
        // One timed step per point, after the open's warm-up step: a map of many points, not a benchmark row.
        warmup_s: 0.0,
    };
    match bench_train_net(Kind::Wgpu, rule, Some(gpu), &case, None) {
        Ok(r) => {
            let s = r.time_per_sample_ms / 1e3;
            *last = Some((net.n_rec, t_steps, s));
            Ok(Timed {
                s_per_sample: Some(s),
                source: "measured",
                note: format!("one step of {batch} samples after a warm-up step (wall time)"),
            })
        }
        Err(e) => match e.downcast_ref::<kernels::KernelError>() {
            Some(kernels::KernelError::Limits(reason)) => Ok(Timed {
                s_per_sample: predicted,
                source: if predicted.is_some() { "modelled" } else { "did not fit" },
                note: match *last {
                    Some(l) => format!("did not fit this adapter ({reason}); {}", how(l)),
                    None => format!("did not fit this adapter ({reason})"),
                },
            }),
            _ => Err(e),
        },
    }
}

/// Measures and models the time side over the map's grid on `gpu`, prices the chip's side, writes
/// `crossover_energy.csv` and two heat maps (`crossover_energy_bptt.*`, `crossover_energy_eprop.*`), and returns
/// the rows and the markdown section for `crossover.md`.
pub fn run(
    cfg: &CrossoverConfig,
    gpu: &kernels::GpuContext,
    m: &Measure,
    out: &Path,
    quiet: bool,
) -> Result<(Vec<EnergyRow>, String)> {
    let eprop = Rule::Eprop(TraceVariant::Authors);
    let bptt = Rule::Bptt(BpttOptions::default());
    let chip = ChipConfig::default();
    let adapter = gpu.describe();
    let mut rows = Vec::new();
    let (mut last_e, mut last_b): (Last, Last) = (None, None);
    for &n_rec in &cfg.n_rec {
        let net = NetConfig { n_rec, n_lif: cfg.net.n_lif.min(n_rec), ..cfg.net.clone() };
        for &ts in &cfg.t_steps {
            let Some((pes, _, _)) = chip_bytes(&net, &chip, ts) else { continue };
            let act = crate::cost::emulated_activity(&net, ts, pes, 1, 0);
            let cost = chip_bench(&net, pes, &act)?;
            for (rule, last) in [(eprop, &mut last_e), (bptt, &mut last_b)] {
                let t = time_cell(gpu, m, &net, rule, cfg.batch, ts, last, quiet)?;
                let energy = t.s_per_sample.map(|s| s * m.watts);
                rows.push(EnergyRow {
                    n_rec,
                    t_steps: ts,
                    algorithm: rule.name().into(),
                    batch: cfg.batch,
                    adapter: adapter.clone(),
                    time_per_sample_s: t.s_per_sample,
                    time_source: t.source.into(),
                    time_note: t.note,
                    adapter_watts: m.watts,
                    watts_source: m.watts_source.clone(),
                    energy_j_per_sample: energy,
                    chip_pes: pes,
                    chip_time_per_sample_s: cost.chip_time_per_sample_s,
                    chip_real_time: usize::from(cost.real_time),
                    chip_energy_j_per_sample: cost.chip_energy_j_per_sample_total,
                    chip_activity: act.source.clone(),
                    energy_ratio_over_chip: energy.map(|e| e / cost.chip_energy_j_per_sample_total),
                });
            }
        }
    }
    Table::from_rows(&rows)?.write_csv(&out.join("crossover_energy.csv"))?;
    let mut md = format!(
        "## Time and energy per training sample: each rule on this adapter against e-prop on the chip\n\n\
         Adapter: `{adapter}`, batch {}. Time per sample **measured** where one step of the batch fits the {} s cap \
         (one step after a warm-up step), **modelled** beyond (linear in T, or in T × synapses from the size \
         before; `time_note` says from what). Adapter power: {} W, {}. The chip: e-prop online on the fewest PEs \
         its SRAM map fits, time and energy (total boundary) **modelled** from the spikes of one seeded \
         feature-like sample counted on the emulator at that size and T. Each cell: rule on the adapter / e-prop on \
         the chip, energy per sample; `m` measured time, `~` modelled. `crossover_energy.csv` has every number.\n\n",
        cfg.batch, m.cap_s, m.watts, m.watts_source
    );
    for alg in ["bptt", "eprop"].iter() {
        let name = if *alg == "bptt" { "BPTT" } else { "e-prop" };
        let cells: Vec<HeatCell> = rows
            .iter()
            .filter(|r| r.algorithm == *alg)
            .filter_map(|r| {
                let ratio = r.energy_ratio_over_chip?;
                Some(HeatCell {
                    n_rec: r.n_rec,
                    t_steps: r.t_steps,
                    value: ratio,
                    text: format!("{}× {}", sig(ratio), if r.time_source == "measured" { "m" } else { "~" }),
                    outline: r.time_source == "measured",
                })
            })
            .collect();
        let title = format!("{name} on the adapter / e-prop on the chip, energy per sample (outlined: measured time)");
        let file = format!("crossover_energy_{alg}");
        let grid = Grid { out, file: &file, title: &title, alt: &title, n_rec: &cfg.n_rec, t_steps: &cfg.t_steps };
        grid.write(&mut md, &format!("### {name} on the adapter"), &cells, |n, ts| {
            match rows.iter().find(|r| r.algorithm == *alg && r.n_rec == n && r.t_steps == ts) {
                Some(r) => match (r.time_per_sample_s, r.energy_ratio_over_chip) {
                    (Some(s), Some(q)) => format!(
                        "{} ms {}, {} mJ vs chip {} mJ: {}×",
                        sig(s * 1e3),
                        if r.time_source == "measured" { "m" } else { "~" },
                        sig(s * m.watts * 1e3),
                        sig(r.chip_energy_j_per_sample * 1e3),
                        sig(q)
                    ),
                    _ => r.time_source.clone(),
                },
                None => "—".into(),
            }
        })?;
        md.push('\n');
    }
    Ok((rows, md))
}

/// Three significant digits, without an exponent in the usual range.
fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let d = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.d$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adapter_power_is_given_guessed_for_a_cpu_a_preset_for_known_gpus_or_asked_for() -> Result<()> {
        let cpu = Measure::for_adapter("llvmpipe", wgpu::DeviceType::Cpu, 10.0, None)?;
        assert_eq!(cpu.watts, CPU_ADAPTER_WATTS_GUESS);
        assert!(cpu.watts_source.contains("guess"), "{}", cpu.watts_source);
        let h200 = Measure::for_adapter("NVIDIA H200", wgpu::DeviceType::DiscreteGpu, 10.0, None)?;
        assert_eq!(h200.watts, 700.0);
        assert!(h200.watts_source.contains("upper bound"), "{}", h200.watts_source);
        assert_eq!(
            Measure::for_adapter("Tesla V100-SXM2-16GB", wgpu::DeviceType::DiscreteGpu, 1.0, None)?.watts,
            300.0
        );
        let given = Measure::for_adapter("Some GPU", wgpu::DeviceType::DiscreteGpu, 1.0, Some(123.0))?;
        assert_eq!((given.watts, given.watts_source.as_str()), (123.0, "given (--adapter-watts)"));
        let err = Measure::for_adapter("Some GPU", wgpu::DeviceType::DiscreteGpu, 1.0, None)
            .expect_err("a GPU without a preset or --adapter-watts");
        assert!(err.to_string().contains("--adapter-watts"), "{err}");
        assert!(Measure::for_adapter("llvmpipe", wgpu::DeviceType::Cpu, 0.0, None).is_err());
        assert!(Measure::for_adapter("llvmpipe", wgpu::DeviceType::Cpu, 1.0, Some(-1.0)).is_err());
        Ok(())
    }

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig(1234.4), "1234");
        assert_eq!(sig(12.345), "12.3");
        assert_eq!(sig(0.012345), "0.0123");
    }
}
