//! The run's plots, drawn from its CSVs with plotters into PNG and SVG (the font is committed, so no system font
//! library is needed): accuracy and loss curves, memory vs T (log axes, crossovers marked), time per step by phase
//! with the 1 ms deadline, energy per sample GPU vs chip, and the sensitivity tornado.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::results::table::Table;

pub(crate) const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub(crate) const SIZE: (u32, u32) = (900, 560);
pub(crate) const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

pub(crate) fn font_once() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut err = None;
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            err = Some(anyhow!("the committed font bench-harness/assets/DejaVuSans.ttf is not a valid TTF"));
        }
    });
    err.map_or(Ok(()), Err)
}

pub(crate) fn e<E: std::fmt::Debug>(x: E) -> anyhow::Error {
    anyhow!("plot: {x:?}")
}

/// Draws `f` into `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
pub(crate) fn both(
    dir: &Path,
    stem: &str,
    f: impl Fn(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
    g: impl Fn(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<()> {
    font_once()?;
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        f(&root)?;
        root.present().map_err(e)?;
    }
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        g(&root)?;
        root.present().map_err(e)?;
    }
    Ok(())
}

/// A named series of (x, y) points.
type Series = (String, Vec<(f64, f64)>);

fn lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    xl: &str,
    yl: &str,
    series: &[Series],
    y_range: Option<(f64, f64)>,
) -> Result<()> {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (mut y0, mut y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if let Some(r) = y_range {
        (y0, y1) = r;
    }
    if !x0.is_finite() {
        return Ok(());
    }
    let (x1, y1) = (if x1 > x0 { x1 } else { x0 + 1.0 }, if y1 > y0 { y1 } else { y0 + 1.0 });
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    chart.configure_mesh().x_desc(xl).y_desc(yl).label_style(("sans-serif", 14)).draw().map_err(e)?;
    for (k, (name, pts)) in series.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(e)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(e)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    Ok(())
}

fn training_series(dir: &Path, metric: &str) -> Result<Vec<Series>> {
    let mut out = vec![];
    for name in ["chip_eprop", "gpu_eprop", "gpu_bptt", "burn_bptt"] {
        let p = dir.join(format!("training_{name}.csv"));
        if !p.exists() {
            continue;
        }
        let t = Table::read_csv(&p)?;
        let ep = t.f64s("epoch")?;
        let v = t.f64s(metric)?;
        let pts: Vec<(f64, f64)> = ep.iter().zip(&v).filter_map(|(a, b)| Some(((*a)?, (*b)?))).collect();
        out.push((name.replace('_', " "), pts));
    }
    Ok(out)
}

/// Accuracy (validation solid, test in the legend) and loss curves.
pub fn training(dir: &Path) -> Result<()> {
    let mut acc = vec![];
    for (name, pts) in training_series(dir, "test_accuracy")? {
        acc.push((format!("{name} (test)"), pts.into_iter().map(|(x, y)| (x, 100.0 * y)).collect()));
    }
    for (name, pts) in training_series(dir, "validation_accuracy")? {
        acc.push((format!("{name} (validation)"), pts.into_iter().map(|(x, y)| (x, 100.0 * y)).collect()));
    }
    both(
        dir,
        "accuracy",
        |r| lines(r, "Accuracy per epoch", "epoch", "accuracy (%)", &acc, Some((0.0, 100.0))),
        |r| lines(r, "Accuracy per epoch", "epoch", "accuracy (%)", &acc, Some((0.0, 100.0))),
    )?;
    let mut loss = training_series(dir, "train_loss")?;
    for s in &mut loss {
        s.0 = format!("{} (train)", s.0);
    }
    for (name, pts) in training_series(dir, "test_loss")? {
        loss.push((format!("{name} (test)"), pts));
    }
    both(
        dir,
        "loss",
        |r| lines(r, "Loss per epoch", "epoch", "cross-entropy", &loss, None),
        |r| lines(r, "Loss per epoch", "epoch", "cross-entropy", &loss, None),
    )
}

fn memory_draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Series],
    marks: &[(String, f64, f64)],
) -> Result<()> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.1.clone()).collect();
    if all.is_empty() {
        return Ok(());
    }
    let (x0, x1) = all.iter().fold((f64::INFINITY, 0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all.iter().fold((f64::INFINITY, 0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let mut chart = ChartBuilder::on(root)
        .caption("Training memory vs T (log-log)", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 * 0.8..x1 * 1.25).log_scale(), (y0 * 0.5..y1 * 2.0).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("T (steps per sample)")
        .y_desc("bytes")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    for (k, (name, pts)) in series.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(e)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    for (label, x, y) in marks {
        chart.draw_series(std::iter::once(Cross::new((*x, *y), 8, BLACK.stroke_width(2)))).map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(label.clone(), (*x * 1.05, *y * 1.3), ("sans-serif", 13))))
            .map_err(e)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// Memory vs T with the crossovers (BPTT overtaking e-prop) marked.
pub fn memory(dir: &Path) -> Result<()> {
    let t = Table::read_csv(&dir.join("memory_sweep.csv"))?;
    let mut series = vec![];
    let mut marks = vec![];
    for (platform, scope) in [("gpu", "per_sample"), ("gpu", "per_batch"), ("spinnaker2", "per_sample")] {
        let mut pair = vec![];
        for alg in ["eprop", "bptt"] {
            let s = t.filter("platform", platform)?.filter("scope", scope)?.filter("algorithm", alg)?;
            let pts: Vec<(f64, f64)> =
                s.f64s("t_steps")?.iter().zip(s.f64s("bytes")?).filter_map(|(a, b)| Some(((*a)?, b?))).collect();
            if pts.is_empty() {
                continue;
            }
            let batch = s.strs("batch")?.first().cloned().unwrap_or_default();
            series.push((
                format!(
                    "{alg}, {platform}, {}",
                    if scope == "per_batch" { format!("batch {batch}") } else { "one sample".into() }
                ),
                pts.clone(),
            ));
            pair.push(pts);
        }
        if let [a, b] = pair.as_slice() {
            let ts: Vec<f64> = a.iter().map(|p| p.0).collect();
            let ya: Vec<f64> = a.iter().map(|p| p.1).collect();
            let yb: Vec<f64> = b.iter().map(|p| p.1).collect();
            if let Some(x) = super::sweep::crossover(&ts, &ya, &yb) {
                let k = ts.iter().position(|&v| v >= x).unwrap_or(ts.len() - 1);
                marks.push((format!("T ≈ {x:.0}"), x, ya[k]));
            }
        }
    }
    both(dir, "memory_vs_t", |r| memory_draw(r, &series, &marks), |r| memory_draw(r, &series, &marks))
}

/// The name of a bar chart's row at its segment's centre (nothing at the segment edges).
fn segment_label(names: &[String], s: &SegmentValue<usize>) -> String {
    match s {
        SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

fn bars_draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    xl: &str,
    rows: &[(String, f64)],
    line: Option<(f64, &str)>,
    log: bool,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let max = rows.iter().map(|r| r.1).fold(line.map_or(0.0, |l| l.0), f64::max) * 1.15;
    let min_pos = rows.iter().map(|r| r.1).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    // One horizontal bar per row, from `base` to the row's value.
    let bars = |base: f64| {
        rows.iter().enumerate().map(move |(i, r)| {
            Rectangle::new(
                [(base, SegmentValue::Exact(i)), (r.1, SegmentValue::Exact(i + 1))],
                COLORS[i % 6].mix(0.8).filled(),
            )
        })
    };
    if log {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(230)
            .build_cartesian_2d((min_pos * 0.3..max * 3.0).log_scale(), (0..n).into_segmented())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|s| segment_label(&names, s))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(e)?;
        chart.draw_series(bars(min_pos * 0.3)).map_err(e)?;
    } else {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0..max, (0..n).into_segmented())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .y_label_formatter(&|s| segment_label(&names, s))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(e)?;
        chart.draw_series(bars(0.0)).map_err(e)?;
        if let Some((x, label)) = line {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n))],
                    RED.stroke_width(2),
                )))
                .map_err(e)?
                .label(label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
            legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
        }
    }
    Ok(())
}

/// Time per step by phase on the busiest PE, with the 1 ms deadline.
pub fn step_time(dir: &Path) -> Result<()> {
    let t = Table::read_csv(&dir.join("cost_phases.csv"))?;
    let mut rows: Vec<(String, f64)> =
        t.strs("phase")?.into_iter().zip(t.f64s("time_per_step_us")?).map(|(p, v)| (p, v.unwrap_or(0.0))).collect();
    let total: f64 = rows.iter().map(|r| r.1).sum();
    rows.push(("total (busiest PE)".into(), total));
    let title = "Time per step by phase, busiest PE (µs)";
    both(
        dir,
        "step_time_phases",
        |r| bars_draw(r, title, "µs per 1 ms step", &rows, Some((1000.0, "1 ms deadline")), false),
        |r| bars_draw(r, title, "µs per 1 ms step", &rows, Some((1000.0, "1 ms deadline")), false),
    )
}

/// The legend every plot draws: white box, black border, 13 px text.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(e)
}

/// One row per named set: the chip's and the GPU's energy per sample at the set's boundary, log axis.
struct EnergyRow {
    label: String,
    chip_j: f64,
    gpu_j: f64,
}

fn energy_draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[EnergyRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let vals = rows.iter().flat_map(|r| [r.chip_j, r.gpu_j]).filter(|v| *v > 0.0);
    let (lo, hi) = vals.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption("Energy per training sample, each set at its boundary (J, log axis)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(230)
        .build_cartesian_2d((lo * 0.3..hi * 3.0).log_scale(), (0..n).into_segmented())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("J per sample")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_labels(n)
        .y_label_formatter(&|s| segment_label(&names, s))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    let base = lo * 0.3;
    let (chip_c, gpu_c) = (COLORS[2], COLORS[3]);
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Rectangle::new([(base, SegmentValue::Exact(i)), (r.chip_j, SegmentValue::CenterOf(i))], chip_c.filled())
        }))
        .map_err(e)?
        .label("SpiNNaker 2 (modelled)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], chip_c.filled()));
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Rectangle::new([(base, SegmentValue::CenterOf(i)), (r.gpu_j, SegmentValue::Exact(i + 1))], gpu_c.filled())
        }))
        .map_err(e)?
        .label("GPU (measured or assumed: see the table)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], gpu_c.filled()));
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    Ok(())
}

/// Energy per training sample: the chip and the GPU under each named set, each at its boundary (log axis).
pub fn energy(dir: &Path) -> Result<()> {
    let t = Table::read_csv(&dir.join("cost_energy.csv"))?;
    let sets = t.strs("set")?;
    let boundary = t.strs("boundary").unwrap_or_else(|_| vec![String::new(); t.len()]);
    let chip = t.f64s("energy_j_per_sample_chip")?;
    let gpu = t.f64s("energy_j_per_sample_gpu")?;
    let rows: Vec<EnergyRow> = (0..t.len())
        .map(|k| EnergyRow {
            label: format!("{} ({})", sets[k], boundary[k]),
            chip_j: chip[k].unwrap_or(0.0),
            gpu_j: gpu[k].unwrap_or(0.0),
        })
        .collect();
    both(dir, "energy_per_sample", |r| energy_draw(r, &rows), |r| energy_draw(r, &rows))
}

fn tornado_draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[(String, f64, f64)],
    base: f64,
    band: Option<[f64; 2]>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // The axis spans the bars, the band and the paper's 12×.
    let (b_lo, b_hi) = band.map_or((base, base), |b| (b[0], b[1]));
    let lo = rows.iter().map(|r| r.1.min(r.2)).fold(base.min(b_lo).min(12.0), f64::min);
    let hi = rows.iter().map(|r| r.1.max(r.2)).fold(base.max(b_hi).max(12.0), f64::max);
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("GPU/chip energy ratio: headline {base:.2}× (total boundary), one bound at a time"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(260)
        .build_cartesian_2d((lo * 0.7..hi * 1.4).log_scale(), (0..n).into_segmented())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("GPU energy / chip energy per sample (log)")
        .x_labels(8)
        .x_label_formatter(&|v| if *v < 1.0 { format!("{v:.2}") } else { format!("{v:.0}") })
        .y_labels(n)
        .y_label_formatter(&|s| segment_label(&names, s))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(e)?;
    if let Some([a, b]) = band {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, SegmentValue::Exact(0)), (b, SegmentValue::Exact(n))],
                BLACK.mix(0.08).filled(),
            )))
            .map_err(e)?
            .label(format!("band over every combination of the bounds ({a:.2}×–{b:.2}×)"))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLACK.mix(0.15).filled()));
    }
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Rectangle::new(
                [(r.1.min(r.2), SegmentValue::Exact(i)), (r.1.max(r.2), SegmentValue::Exact(i + 1))],
                COLORS[0].mix(0.7).filled(),
            )
        }))
        .map_err(e)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(base, SegmentValue::Exact(0)), (base, SegmentValue::Exact(n))],
            BLACK.stroke_width(2),
        )))
        .map_err(e)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(12.0, SegmentValue::Exact(0)), (12.0, SegmentValue::Exact(n))],
            RED.stroke_width(2),
        )))
        .map_err(e)?
        .label("the paper's 12×")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    Ok(())
}

/// The sensitivity tornado, widest bar on top.
pub fn tornado(dir: &Path) -> Result<()> {
    let t = Table::read_csv(&dir.join("cost_sensitivity.csv"))?;
    let base = t.f64s("ratio_default")?.first().copied().flatten().unwrap_or(1.0);
    let mut rows: Vec<(String, f64, f64)> = t
        .strs("factor")?
        .into_iter()
        .zip(t.f64s("ratio_low")?.into_iter().zip(t.f64s("ratio_high")?))
        .filter_map(|(f, (a, b))| Some((f.chars().take(40).collect(), a?, b?)))
        .collect();
    rows.sort_by(|a, b| (a.1 - a.2).abs().total_cmp(&(b.1 - b.2).abs()));
    let band = Table::read_csv(&dir.join("cost_totals.csv")).ok().and_then(|t| {
        let f = |c: &str| t.f64s(c).ok()?.first().copied().flatten();
        Some([f("energy_ratio_min")?, f("energy_ratio_max")?])
    });
    both(dir, "sensitivity_tornado", |r| tornado_draw(r, &rows, base, band), |r| tornado_draw(r, &rows, base, band))
}

/// Every plot the CSVs of `dir` allow.
pub fn all(dir: &Path) -> Result<Vec<&'static str>> {
    let mut made = vec![];
    training(dir)?;
    made.extend(["accuracy", "loss"]);
    if dir.join("memory_sweep.csv").exists() {
        memory(dir)?;
        made.push("memory_vs_t");
    }
    if dir.join("cost_phases.csv").exists() {
        step_time(dir)?;
        made.push("step_time_phases");
    }
    if dir.join("cost_energy.csv").exists() {
        energy(dir)?;
        made.push("energy_per_sample");
    }
    if dir.join("cost_sensitivity.csv").exists() {
        tornado(dir)?;
        made.push("sensitivity_tornado");
    }
    Ok(made)
}
