//! The run's plots, drawn from its CSVs with plotters into PNG and SVG (the font is committed, so no system font
//! library is needed): accuracy and loss curves, memory vs T (log axes, crossovers marked), time per step by phase
//! with the 1 ms deadline, energy per sample GPU vs chip, and the sensitivity tornado.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::results::plot::{
    COLORS, Dash, PAPER_ACCURACY_PERCENT, TEXT, TITLE, both, contender_color, dashed_line, e, legend,
};
use crate::results::table::Table;

/// A named series of (x, y) points.
type Series = (String, Vec<(f64, f64)>);

/// How a line's points are marked (e.g. one sample vs a batch of 100 in the memory plot).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Marker {
    Circle,
    Triangle,
}

/// A line to draw: label, points, colour, dash, point marker.
struct Styled {
    label: String,
    pts: Vec<(f64, f64)>,
    color: RGBColor,
    dash: Dash,
    marker: Marker,
}

/// Draws one styled line with its point markers (and its legend entry when `with_legend`) on a chart.
fn draw_styled<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    s: &Styled,
    with_legend: bool,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    dashed_line(chart, &s.pts, s.color, s.dash, with_legend.then_some(s.label.as_str()))?;
    let fill = s.color.filled();
    match s.marker {
        Marker::Circle => chart.draw_series(s.pts.iter().map(|&p| Circle::new(p, 3, fill))).map_err(e)?,
        Marker::Triangle => chart.draw_series(s.pts.iter().map(|&p| TriangleMarker::new(p, 5, fill))).map_err(e)?,
    };
    Ok(())
}

fn lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    xl: &str,
    yl: &str,
    series: &[Styled],
    zoom_pad: f64,
    reference: Option<(f64, &str)>,
) -> Result<()> {
    let xs = series.iter().flat_map(|s| s.pts.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.pts.iter().map(|p| p.1)).chain(reference.map(|r| r.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !x0.is_finite() {
        return Ok(());
    }
    // Zoomed to the data (and the reference line), with a margin.
    let pad = ((y1 - y0) * 0.08).max(zoom_pad);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", TITLE))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(xl)
        .y_desc(yl)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", TEXT))
        .draw()
        .map_err(e)?;
    for s in series {
        draw_styled(&mut chart, s, true)?;
    }
    if let Some((y, label)) = reference {
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(x0, y), (x1, y)], BLACK.mix(0.6).stroke_width(1))))
            .map_err(e)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.mix(0.6).stroke_width(1)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
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
        out.push((name.to_string(), pts));
    }
    Ok(out)
}

/// Accuracy and loss per epoch: one colour per contender, one dash per split (test solid, validation dashed, train
/// dotted), axes zoomed to the data, the paper's 91.12 % as a reference line.
pub fn training(dir: &Path) -> Result<()> {
    let styled = |metric: &str, split: &str, dash: Dash, scale: f64| -> Result<Vec<Styled>> {
        Ok(training_series(dir, metric)?
            .into_iter()
            .map(|(name, pts)| Styled {
                label: format!("{} ({split})", name.replace('_', " ")),
                color: contender_color(&name),
                dash,
                marker: Marker::Circle,
                pts: pts.into_iter().map(|(x, y)| (x, scale * y)).collect(),
            })
            .collect())
    };
    let mut acc = styled("test_accuracy", "test", Dash::Solid, 100.0)?;
    acc.extend(styled("validation_accuracy", "validation", Dash::Dashed, 100.0)?);
    let paper = Some((PAPER_ACCURACY_PERCENT, "paper: 91.12 % (SpiNNaker 2, real GSC)"));
    let title = "Accuracy per epoch";
    both(
        dir,
        "accuracy",
        |r| lines(r, title, "epoch", "accuracy (%)", &acc, 0.5, paper),
        |r| lines(r, title, "epoch", "accuracy (%)", &acc, 0.5, paper),
    )?;
    let mut loss = styled("train_loss", "train", Dash::Dotted, 1.0)?;
    loss.extend(styled("test_loss", "test", Dash::Solid, 1.0)?);
    both(
        dir,
        "loss",
        |r| lines(r, "Loss per epoch", "epoch", "cross-entropy", &loss, 0.01, None),
        |r| lines(r, "Loss per epoch", "epoch", "cross-entropy", &loss, 0.01, None),
    )
}

fn memory_draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Styled],
    marks: &[(String, f64, f64)],
) -> Result<()> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.pts.clone()).collect();
    if all.is_empty() {
        return Ok(());
    }
    let (x0, x1) = all.iter().fold((f64::INFINITY, 0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all.iter().fold((f64::INFINITY, 0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Training memory vs T (solid: measured, dashed: modelled; ● one sample, ▲ a batch)",
            ("sans-serif", TITLE),
        )
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
        .label_style(("sans-serif", TEXT))
        .draw()
        .map_err(e)?;
    let mut labelled = std::collections::BTreeSet::new();
    for s in series {
        // One legend entry per line (its first segment), whether measured or modelled.
        draw_styled(&mut chart, s, labelled.insert(s.label.clone()))?;
    }
    for (label, x, y) in marks {
        chart.draw_series(std::iter::once(Cross::new((*x, *y), 8, BLACK.stroke_width(2)))).map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(label.clone(), (*x * 1.05, *y * 1.3), ("sans-serif", TEXT))))
            .map_err(e)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// Splits a line into runs of measured and modelled points (each run overlapping the next by one point, so the line
/// stays connected): solid where measured, dashed where modelled.
fn measured_runs(label: &str, color: RGBColor, marker: Marker, pts: &[(f64, f64)], measured: &[bool]) -> Vec<Styled> {
    let mut out: Vec<Styled> = vec![];
    for (i, (&p, &m)) in pts.iter().zip(measured).enumerate() {
        let dash = if m { Dash::Solid } else { Dash::Dashed };
        match out.last_mut() {
            Some(s) if s.dash == dash => s.pts.push(p),
            _ => {
                let mut run = vec![p];
                if i > 0 {
                    run.insert(0, pts[i - 1]);
                }
                out.push(Styled { label: label.to_string(), pts: run, color, dash, marker });
            }
        }
    }
    out
}

/// Memory vs T with the crossovers (BPTT overtaking e-prop) marked; measured points solid, modelled dashed.
pub fn memory(dir: &Path) -> Result<()> {
    let t = Table::read_csv(&dir.join("memory_sweep.csv"))?;
    let mut series = vec![];
    let mut marks = vec![];
    for (platform, scope) in [("gpu", "per_sample"), ("gpu", "per_batch"), ("spinnaker2", "per_sample")] {
        let mut pair = vec![];
        for alg in ["eprop", "bptt"] {
            let s = t.filter("platform", platform)?.filter("scope", scope)?.filter("algorithm", alg)?;
            let rows: Vec<(f64, f64, bool)> = s
                .f64s("t_steps")?
                .iter()
                .zip(s.f64s("bytes")?)
                .zip(s.strs("source")?)
                .filter_map(|((a, b), src)| Some(((*a)?, b?, src.starts_with("measured"))))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let pts: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, r.1)).collect();
            let measured: Vec<bool> = rows.iter().map(|r| r.2).collect();
            let batch = s.strs("batch")?.first().cloned().unwrap_or_default();
            let label = format!(
                "{alg}, {platform}, {}",
                if scope == "per_batch" { format!("batch {batch}") } else { "one sample".into() }
            );
            // The contender's colour (BPTT on the chip is modelled only: grey); one sample ●, a batch ▲.
            let color = match (platform, alg) {
                ("gpu", a) => contender_color(&format!("gpu_{a}")),
                (_, "eprop") => contender_color("chip_eprop"),
                _ => COLORS[7],
            };
            let marker = if scope == "per_batch" { Marker::Triangle } else { Marker::Circle };
            series.extend(measured_runs(&label, color, marker, &pts, &measured));
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
                if i + 1 == rows.len() {
                    contender_color("chip_eprop").filled()
                } else {
                    contender_color("chip_eprop").mix(0.55).filled()
                },
            )
        })
    };
    if log {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", TITLE))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(230)
            .build_cartesian_2d((min_pos * 0.3..max * 3.0).log_scale(), (0..n.max(2) - 1).into_segmented())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|s| segment_label(&names, s))
            .label_style(("sans-serif", TEXT))
            .draw()
            .map_err(e)?;
        chart.draw_series(bars(min_pos * 0.3)).map_err(e)?;
    } else {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", TITLE))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0..max, (0..n.max(2) - 1).into_segmented())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(xl)
            .y_label_formatter(&|s| segment_label(&names, s))
            .label_style(("sans-serif", TEXT))
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
        .caption("Energy per training sample, each set at its boundary (J, log axis)", ("sans-serif", TITLE))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(230)
        .build_cartesian_2d((lo * 0.3..hi * 3.0).log_scale(), (0..n.max(2) - 1).into_segmented())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("J per sample (log): blue SpiNNaker 2 (modelled), green GPU (measured or assumed: see the table)")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_labels(n)
        .y_label_formatter(&|s| segment_label(&names, s))
        .label_style(("sans-serif", TEXT))
        .draw()
        .map_err(e)?;
    let base = lo * 0.3;
    // The chip runs e-prop, the GPU side prices BPTT: their contenders' colours.
    let (chip_c, gpu_c) = (contender_color("chip_eprop"), contender_color("gpu_bptt"));
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
    let band_text = band.map_or("no band".to_string(), |[a, b]| format!("band {a:.2}×–{b:.2}×"));
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("GPU/chip energy ratio: headline {base:.2}× (total boundary), one bound at a time"),
            ("sans-serif", TITLE),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(260)
        .build_cartesian_2d((lo * 0.7..hi * 1.4).log_scale(), (0..n.max(2) - 1).into_segmented())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(format!("GPU/chip energy (log); black: headline, red: the paper's 12×, grey: {band_text}"))
        .x_labels(8)
        .x_label_formatter(&|v| if *v < 1.0 { format!("{v:.2}") } else { format!("{v:.0}") })
        .y_labels(n)
        .y_label_formatter(&|s| segment_label(&names, s))
        .label_style(("sans-serif", TEXT))
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
