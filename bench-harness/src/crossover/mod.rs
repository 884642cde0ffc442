//! `snnbench crossover`: the map of where BPTT stops fitting while e-prop still trains, over network size × sequence
//! length. For every cell: the GPU's buffer bytes of both rules at the given batch (the WGSL trainer's buffer plan,
//! which a test holds equal to what it allocates) against GPU memory budgets (16 GB and 80 GB by default, decimal),
//! and on the chip the PEs e-prop needs (its SRAM map, as emulated) and whether BPTT's modelled map — same PEs, its
//! history linear in T — fits a PE's SRAM. Writes `crossover_map.csv`, one heat map per budget (BPTT's bytes, the
//! cells where BPTT does not fit but e-prop does marked) and `crossover.md`.
//!
//! The bytes are from plans and memory maps: modelled, not measured, and each row says so. With `--measure`
//! ([`energy`]) the map also has each rule's time per sample on the run's adapter (measured where it fits a time
//! cap, modelled beyond) and its energy against e-prop on the emulated chip.

pub mod energy;

use std::path::Path;

use anyhow::{Result, bail};
use models::{
    NetConfig, Rule, TraceVariant,
    bptt::BpttOptions,
    spinnaker2::{ChipConfig, bptt_pe_memory, pe_memory},
};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use crate::results::table::Table;

/// The map's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossoverConfig {
    /// The network the sizes vary (its n_in, n_out and constants stay).
    pub net: NetConfig,
    /// Recurrent sizes (rows of the map).
    pub n_rec: Vec<usize>,
    /// Sequence lengths (columns).
    pub t_steps: Vec<usize>,
    /// Minibatch of the GPU rows.
    pub batch: usize,
    /// GPU memory budgets: (name, bytes).
    pub gpu_budgets: Vec<(String, u64)>,
    /// The chip (its SRAM per PE).
    pub chip: ChipConfig,
    /// Time and energy on an adapter ([`energy`]); bytes only when `None`.
    pub measure: Option<energy::Measure>,
}

impl Default for CrossoverConfig {
    fn default() -> Self {
        Self {
            net: NetConfig::default(),
            n_rec: vec![64, 120, 256, 512],
            t_steps: vec![100, 250, 500, 1000, 2000, 5000, 10000],
            batch: 100,
            gpu_budgets: vec![("16 GB GPU".into(), 16_000_000_000), ("80 GB GPU".into(), 80_000_000_000)],
            chip: ChipConfig::default(),
            measure: None,
        }
    }
}

/// A row of `crossover_map.csv`: one rule's bytes for one network size and T against one budget.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MapRow {
    pub platform: String,
    /// The budget's name (a GPU, or a PE's SRAM).
    pub budget: String,
    pub budget_bytes: u64,
    pub n_rec: usize,
    pub t_steps: usize,
    pub algorithm: String,
    pub batch: usize,
    pub bytes: u64,
    /// 1 when `bytes` ≤ `budget_bytes`.
    pub fits: usize,
    pub source: String,
}

/// One cell of one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct MapCell {
    /// Recurrent neurons.
    pub n_rec: usize,
    /// Steps.
    pub t_steps: usize,
    /// e-prop's bytes (GPU: all buffers of the batch; chip: the fullest PE).
    pub eprop_bytes: u64,
    /// BPTT's bytes, the same way.
    pub bptt_bytes: u64,
    /// The budget.
    pub budget: u64,
}

impl MapCell {
    /// BPTT does not fit the budget while e-prop does: where memory decides.
    pub fn only_eprop_fits(&self) -> bool {
        self.bptt_bytes > self.budget && self.eprop_bytes <= self.budget
    }
}

/// The GPU bytes (buffers + the batch's inputs) of `rule` for `net` at `batch` × `t_steps` on a discrete GPU.
pub fn gpu_bytes(net: &NetConfig, rule: Rule, batch: usize, t_steps: usize) -> u64 {
    let b = kernels::plan_bytes(&kernels::TrainerConfig::new(net, rule, batch, t_steps), wgpu::DeviceType::DiscreteGpu);
    b.total() + b.input
}

/// The fewest PEs on which e-prop's map of `net` fits (the fullest PE holds ⌈n_rec / P⌉ neurons), and that PE's
/// bytes for e-prop and for BPTT at `t_steps`; `None` when not even one neuron per PE fits.
pub fn chip_bytes(net: &NetConfig, chip: &ChipConfig, t_steps: usize) -> Option<(usize, u64, u64)> {
    let max_local =
        (1..=net.n_rec).take_while(|&n| pe_memory(net, chip, n).total() <= chip.sram_bytes_per_pe).last()?;
    let pes = net.n_rec.div_ceil(max_local);
    let local = net.n_rec.div_ceil(pes);
    Some((pes, pe_memory(net, chip, local).total() as u64, bptt_pe_memory(net, chip, local, t_steps).total() as u64))
}

/// Computes the map, writes `crossover_map.csv`, the heat maps and `crossover.md` into `out`; with
/// `cfg.measure`, also the time and energy side on `gpu` (`crossover_energy.csv`); returns a summary.
pub fn run(cfg: &CrossoverConfig, gpu: Option<&kernels::GpuContext>, out: &Path, quiet: bool) -> Result<String> {
    if cfg.n_rec.is_empty() || cfg.t_steps.is_empty() || cfg.batch == 0 {
        bail!("crossover needs at least one --n-rec, one --t-steps and a batch of at least 1");
    }
    let measured = match (&cfg.measure, gpu) {
        (Some(_), None) => bail!("crossover --measure needs an adapter to time the rules on"),
        (Some(m), Some(g)) => Some((m, g)),
        (None, _) => None,
    };
    std::fs::create_dir_all(out)?;
    let mut t = Table::of::<MapRow>()?;
    let eprop = Rule::Eprop(TraceVariant::Authors);
    let bptt = Rule::Bptt(BpttOptions::default());
    let mut maps: Vec<(String, Vec<MapCell>)> = cfg.gpu_budgets.iter().map(|(n, _)| (n.clone(), vec![])).collect();
    let sram = cfg.chip.sram_bytes_per_pe as u64;
    let chip_name = format!("SpiNNaker 2 PE ({} KiB SRAM)", sram / 1024);
    let mut chip_map = vec![];
    let gpu_src = "modelled (the WGSL trainer's buffer plan on a discrete GPU, inputs of the batch included)";
    let chip_src = "modelled (e-prop: the emulator's SRAM map; BPTT: its modelled map, history linear in T)";
    for &n_rec in &cfg.n_rec {
        let net = NetConfig { n_rec, n_lif: cfg.net.n_lif.min(n_rec), ..cfg.net.clone() };
        for &ts in &cfg.t_steps {
            let (be, bb) = (gpu_bytes(&net, eprop, cfg.batch, ts), gpu_bytes(&net, bptt, cfg.batch, ts));
            for ((name, budget), (_, cells)) in cfg.gpu_budgets.iter().zip(maps.iter_mut()) {
                cells.push(MapCell { n_rec, t_steps: ts, eprop_bytes: be, bptt_bytes: bb, budget: *budget });
                for (alg, bytes) in [("eprop", be), ("bptt", bb)] {
                    t.push_row(&MapRow {
                        platform: "gpu".into(),
                        budget: name.clone(),
                        budget_bytes: *budget,
                        n_rec,
                        t_steps: ts,
                        algorithm: alg.into(),
                        batch: cfg.batch,
                        bytes,
                        fits: usize::from(bytes <= *budget),
                        source: gpu_src.into(),
                    })?;
                }
            }
            if let Some((pes, e, b)) = chip_bytes(&net, &cfg.chip, ts) {
                chip_map.push(MapCell { n_rec, t_steps: ts, eprop_bytes: e, bptt_bytes: b, budget: sram });
                for (alg, bytes) in [("eprop", e), ("bptt", b)] {
                    t.push_row(&MapRow {
                        platform: format!("spinnaker2 ({pes} PEs)"),
                        budget: chip_name.clone(),
                        budget_bytes: sram,
                        n_rec,
                        t_steps: ts,
                        algorithm: alg.into(),
                        batch: 1,
                        bytes,
                        fits: usize::from(bytes <= sram),
                        source: chip_src.into(),
                    })?;
                }
            }
        }
    }
    t.write_csv(&out.join("crossover_map.csv"))?;
    let pes: Vec<String> = cfg
        .n_rec
        .iter()
        .filter_map(|&n| {
            let net = NetConfig { n_rec: n, n_lif: cfg.net.n_lif.min(n), ..cfg.net.clone() };
            chip_bytes(&net, &cfg.chip, 1).map(|(p, _, _)| format!("{n} neurons on {p} PEs"))
        })
        .collect();
    maps.push((chip_name, chip_map));
    let mut md = String::from("# Where memory decides: BPTT against e-prop over network size and sequence length\n\n");
    md.push_str(&format!(
        "Bytes each rule needs, from the WGSL trainer's buffer plan (GPU, batch {}, inputs included) and the chip's \
         SRAM maps (the fewest PEs on which e-prop fits; BPTT on the same PEs). All **modelled**; \
         `crossover_map.csv` has every number. A cell marked ✗ is where BPTT does not fit the budget while e-prop \
         does.\n\n",
        cfg.batch
    ));
    for (k, (name, cells)) in maps.iter().enumerate() {
        let file = format!("crossover_{k}");
        let heat: Vec<HeatCell> = cells
            .iter()
            .map(|c| HeatCell {
                n_rec: c.n_rec,
                t_steps: c.t_steps,
                value: c.bptt_bytes as f64,
                text: format!("{}{}", human(c.bptt_bytes), if c.only_eprop_fits() { " ✗" } else { "" }),
                outline: c.only_eprop_fits(),
            })
            .collect();
        let title = format!("BPTT bytes vs {name} (red: only e-prop fits)");
        let table = Grid { out, file: &file, title: &title, alt: name, n_rec: &cfg.n_rec, t_steps: &cfg.t_steps };
        table.write(&mut md, &format!("## {name}"), &heat, |n, ts| {
            match cells.iter().find(|c| c.n_rec == n && c.t_steps == ts) {
                Some(c) => format!(
                    "BPTT {} / e-prop {}{}",
                    human(c.bptt_bytes),
                    human(c.eprop_bytes),
                    if c.only_eprop_fits() {
                        " ✗"
                    } else if c.eprop_bytes > c.budget {
                        " (neither)"
                    } else {
                        ""
                    }
                ),
                None => "—".into(),
            }
        })?;
        let first: Vec<String> = cfg
            .n_rec
            .iter()
            .filter_map(|&n| {
                cells
                    .iter()
                    .find(|c| c.n_rec == n && c.only_eprop_fits())
                    .map(|c| format!("n_rec {n}: T = {}", c.t_steps))
            })
            .collect();
        if k == maps.len() - 1 {
            md.push_str(&format!("\nThe fewest PEs on which e-prop fits: {}.\n", pes.join(", ")));
        }
        md.push_str(&if first.is_empty() {
            "\nBPTT fits this budget everywhere on the grid.\n\n".to_string()
        } else {
            format!("\nFirst T on the grid where only e-prop fits: {}.\n\n", first.join("; "))
        });
    }
    let mut energy_note = String::new();
    if let Some((m, g)) = measured {
        let (rows, section) = energy::run(cfg, g, m, out, quiet)?;
        md.push_str(&section);
        let n_measured = rows.iter().filter(|r| r.time_source == "measured").count();
        energy_note = format!(
            "; time and energy on {}: {n_measured} of {} rule × cell times measured, crossover_energy.csv",
            g.describe(),
            rows.len()
        );
    }
    std::fs::write(out.join("crossover.md"), md)?;
    Ok(format!(
        "crossover map of {} sizes × {} lengths: {}, crossover.md and heat maps in {}{energy_note}",
        cfg.n_rec.len(),
        cfg.t_steps.len(),
        out.join("crossover_map.csv").display(),
        out.display()
    ))
}

fn human(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

/// A heat map over n_rec × T and its table in `crossover.md`.
pub(crate) struct Grid<'a> {
    pub out: &'a Path,
    /// File stem of the `.png` and `.svg`.
    pub file: &'a str,
    pub title: &'a str,
    /// The image's alt text.
    pub alt: &'a str,
    pub n_rec: &'a [usize],
    pub t_steps: &'a [usize],
}

impl Grid<'_> {
    /// Draws `heat` into both files and appends `heading`, the image and a table whose cells are `cell(n_rec, T)`.
    pub fn write(
        &self,
        md: &mut String,
        heading: &str,
        heat: &[HeatCell],
        cell: impl Fn(usize, usize) -> String,
    ) -> Result<()> {
        for ext in ["png", "svg"] {
            heat_map(&self.out.join(format!("{}.{ext}", self.file)), self.title, heat, self.n_rec, self.t_steps)?;
        }
        md.push_str(&format!("{heading}\n\n![{}]({}.png)\n\n| n_rec | ", self.alt, self.file));
        md.push_str(&self.t_steps.iter().map(|t| format!("T = {t}")).collect::<Vec<_>>().join(" | "));
        md.push_str(" |\n|---|");
        md.push_str(&"---|".repeat(self.t_steps.len()));
        md.push('\n');
        for &n in self.n_rec {
            md.push_str(&format!("| {n} |"));
            for &ts in self.t_steps {
                md.push_str(&format!(" {} |", cell(n, ts)));
            }
            md.push('\n');
        }
        Ok(())
    }
}

/// One labelled cell of a heat map.
#[derive(Clone, Debug)]
pub(crate) struct HeatCell {
    pub n_rec: usize,
    pub t_steps: usize,
    /// The colour's value (log scale).
    pub value: f64,
    pub text: String,
    /// Outlined in red.
    pub outline: bool,
}

/// A heat map over n_rec × T (log colour scale), each cell labelled, some outlined in red.
pub(crate) fn heat_map(path: &Path, title: &str, cells: &[HeatCell], n_rec: &[usize], t_steps: &[usize]) -> Result<()> {
    crate::results::plot::font_once()?;
    let size = (1000, 520);
    if path.extension().is_some_and(|e| e == "svg") {
        draw_heat(SVGBackend::new(path, size).into_drawing_area(), title, cells, n_rec, t_steps)?;
        crate::results::plot::print_size(path, size)
    } else {
        draw_heat(BitMapBackend::new(path, size).into_drawing_area(), title, cells, n_rec, t_steps)
    }
}

fn draw_heat<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    cells: &[HeatCell],
    n_rec: &[usize],
    t_steps: &[usize],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(plot_err)?;
    let (cols, rows) = (t_steps.len(), n_rec.len());
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", crate::results::plot::TITLE))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        // A segmented range 0..n has n + 1 segments: one per value 0..=n.
        .build_cartesian_2d((0..cols.max(2) - 1).into_segmented(), (0..rows.max(2) - 1).into_segmented())
        .map_err(plot_err)?;
    let label = |v: &SegmentValue<usize>, names: &[usize], prefix: &str| match v {
        SegmentValue::CenterOf(i) => names.get(*i).map_or(String::new(), |n| format!("{prefix}{n}")),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(cols)
        .y_labels(rows)
        .x_label_formatter(&|v| label(v, t_steps, "T = "))
        .y_label_formatter(&|v| label(v, n_rec, ""))
        .x_desc("sequence length T (steps)")
        .y_desc("recurrent neurons")
        .draw()
        .map_err(plot_err)?;
    let logs: Vec<f64> = cells.iter().map(|c| c.value.max(f64::MIN_POSITIVE).log10()).collect();
    let (lo, hi) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let seg = |i: usize| SegmentValue::Exact(i);
    for (c, &l) in cells.iter().zip(&logs) {
        let (Some(x), Some(y)) =
            (t_steps.iter().position(|&t| t == c.t_steps), n_rec.iter().position(|&n| n == c.n_rec))
        else {
            continue;
        };
        let f = if hi > lo { (l - lo) / (hi - lo) } else { 0.5 };
        let fill = RGBColor((40.0 + 200.0 * f) as u8, (90.0 + 110.0 * (1.0 - f)) as u8, (220.0 - 160.0 * f) as u8);
        let corners = [(seg(x), seg(y)), (seg(x + 1), seg(y + 1))];
        chart.draw_series(std::iter::once(Rectangle::new(corners.clone(), fill.filled()))).map_err(plot_err)?;
        if c.outline {
            let red = RGBColor(200, 0, 0);
            chart.draw_series(std::iter::once(Rectangle::new(corners, red.stroke_width(3)))).map_err(plot_err)?;
        }
        let style = ("sans-serif", crate::results::plot::TEXT)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .draw_series(std::iter::once(Text::new(
                c.text.clone(),
                (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                style,
            )))
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eprop_gpu_bytes_do_not_grow_with_t_and_bptt_bytes_grow_linearly() {
        let net = NetConfig::default();
        let e = Rule::Eprop(TraceVariant::Authors);
        let b = Rule::Bptt(BpttOptions::default());
        // e-prop: only the batch's inputs grow with T (4 B × n_in per step and sample), and the 16-byte record of
        // each 100-step chunk.
        let de = gpu_bytes(&net, e, 100, 2000) - gpu_bytes(&net, e, 100, 1000);
        assert_eq!(de, 100 * 1000 * 80 * 4 + 10 * 16);
        let (b1, b2, b3) =
            (gpu_bytes(&net, b, 100, 1000), gpu_bytes(&net, b, 100, 2000), gpu_bytes(&net, b, 100, 3000));
        assert_eq!(b2 - b1, b3 - b2, "BPTT's bytes are linear in T");
        assert!(b2 - b1 > 5 * de, "BPTT's growth per step is far above e-prop's");
    }

    #[test]
    fn the_paper_network_fits_twelve_pes_and_bptt_stops_fitting_at_long_t() {
        let chip = ChipConfig::default();
        let (pes, e, b100) = chip_bytes(&NetConfig::default(), &chip, 100).expect("fits");
        assert!(pes <= 12, "{pes} PEs");
        assert!(e <= chip.sram_bytes_per_pe as u64);
        let (_, _, b10k) = chip_bytes(&NetConfig::default(), &chip, 10_000).expect("fits");
        assert!(b100 < b10k && b10k > chip.sram_bytes_per_pe as u64, "BPTT at T = 10,000 needs {b10k} B");
    }

    #[test]
    fn the_map_marks_where_only_eprop_fits() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let cfg = CrossoverConfig {
            n_rec: vec![64, 256],
            t_steps: vec![100, 10_000],
            gpu_budgets: vec![("1 GB".into(), 1_000_000_000)],
            ..CrossoverConfig::default()
        };
        run(&cfg, None, dir.path(), true)?;
        let t = Table::read_csv(&dir.path().join("crossover_map.csv"))?;
        assert_eq!(t.len(), 2 * 2 * 2 * 2);
        let md = std::fs::read_to_string(dir.path().join("crossover.md"))?;
        // BPTT at batch 100, 256 neurons, T = 10,000 needs ≈ 100·10⁴·256·4 B × 5 history arrays > 1 GB.
        assert!(md.contains("✗"), "{md}");
        assert!(dir.path().join("crossover_0.png").exists() && dir.path().join("crossover_1.svg").exists());
        Ok(())
    }
}
