//! The sweep report's error-bar plots: per metric, the mean ± SE of every contender per condition, on a numeric axis
//! when the conditions differ in one numeric axis and on a categorical one otherwise.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::{
    spec::is_grouping_axis,
    stats::{METRICS, Row, condition},
};
use crate::results::plot::{
    Dash, PAPER_ACCURACY_PERCENT, TEXT, TITLE, both, contender_color as color, contender_rank, dashed_line, e, legend,
};

/// Lines of a plot against a numeric axis: (colour rank, label) → (x, mean, SE) points.
type Lines = BTreeMap<(usize, String), Vec<(f64, f64, f64)>>;

/// Draws the error-bar plots; returns their stems.
pub(super) fn plot_all(
    dir: &Path,
    spec: &super::SweepSpec,
    cells: &[super::Cell],
    conditions: &[String],
    rows: &[Row],
) -> Result<Vec<String>> {
    let mut stems = vec![];
    let metric = |name: &str| METRICS.iter().position(|m| m.0 == name).unwrap_or(0);
    let acc = metric("final_test_accuracy");
    let pts: Vec<(usize, String, f64, f64)> = rows
        .iter()
        .filter(|r| r.2 == acc)
        .map(|r| (r.0, r.1.clone(), 100.0 * r.3.mean, 100.0 * r.3.se.unwrap_or(0.0)))
        .collect();
    if !pts.is_empty() {
        // The paper's figure as a reference where the job is the paper's comparison.
        let paper = (spec.job == super::Job::Reproduce).then_some(PAPER_ACCURACY_PERCENT);
        both(
            dir,
            "accuracy_by_contender",
            |r| categorical(r, conditions, &pts, paper),
            |r| categorical(r, conditions, &pts, paper),
        )?;
        stems.push("accuracy_by_contender".into());
    }
    // Every metric against every numeric axis: one line per contender (and per value of the other axes).
    for (axis, values) in &spec.axes {
        if is_grouping_axis(axis) || values.len() < 2 || !values.iter().all(|v| v.is_integer() || v.is_float()) {
            continue;
        }
        // Every metric the cells have, one plot each.
        for (mi, (m, ..)) in METRICS.iter().enumerate() {
            let m = *m;
            let mut lines: Lines = BTreeMap::new();
            for (ci, contender, _, st) in rows.iter().filter(|r| r.2 == mi) {
                let Some(c) = cells.iter().find(|c| condition(&c.axes) == conditions[*ci]) else { continue };
                let Some(x) = c
                    .axes
                    .iter()
                    .find(|(k, _)| k == axis)
                    .and_then(|(_, v)| v.as_float().or(v.as_integer().map(|i| i as f64)))
                else {
                    continue;
                };
                let others: Vec<(String, toml::Value)> =
                    c.axes.iter().filter(|(k, _)| k != axis && !is_grouping_axis(k)).cloned().collect();
                let label =
                    if others.is_empty() { contender.clone() } else { format!("{contender}, {}", condition(&others)) };
                let scale = METRICS[mi].2;
                lines.entry((contender_rank(contender).0, label)).or_default().push((
                    x,
                    st.mean * scale,
                    st.se.unwrap_or(0.0) * scale,
                ));
            }
            if lines.is_empty() {
                continue;
            }
            let stem = format!("{m}_vs_{}", axis.replace('.', "_"));
            let unit = METRICS[mi].3;
            let yl = if unit.is_empty() { m.to_string() } else { format!("{m} ({unit})") };
            both(dir, &stem, |r| numeric(r, axis, &yl, &lines), |r| numeric(r, axis, &yl, &lines))?;
            stems.push(stem);
        }
    }
    Ok(stems)
}

fn categorical<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    conditions: &[String],
    pts: &[(usize, String, f64, f64)],
    paper: Option<f64>,
) -> Result<()> {
    let mut contenders: Vec<String> = pts.iter().map(|p| p.1.clone()).collect();
    contenders.sort_by_key(|c| contender_rank(c));
    contenders.dedup();
    let lo = pts.iter().map(|p| p.2 - p.3).chain(paper).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.2 + p.3).chain(paper).fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.15).max(0.5);
    let (y0, y1) = ((lo - 2.0 * pad).max(0.0), (hi + pad).min(100.0));
    let n = conditions.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption("Test accuracy after the last epoch: mean ± 1 SE over seeds", ("sans-serif", TITLE))
        .margin(12)
        .x_label_area_size(20)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..n - 0.5, y0..y1)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("test accuracy (%)")
        .label_style(("sans-serif", TEXT))
        .draw()
        .map_err(e)?;
    for (ci, name) in conditions.iter().enumerate() {
        chart
            .draw_series(std::iter::once(Text::new(
                name.clone(),
                (ci as f64 - 0.45, y0 + 0.4 * pad),
                ("sans-serif", TEXT),
            )))
            .map_err(e)?;
    }
    // Side by side within a condition: the contenders it has, spread over ±0.3.
    let offset = |ci: usize, name: &str| {
        let here: Vec<&String> = contenders.iter().filter(|c| pts.iter().any(|p| p.0 == ci && &p.1 == *c)).collect();
        let j = here.iter().position(|c| c.as_str() == name).unwrap_or(0) as f64;
        let k = here.len() as f64;
        if k > 1.0 { -0.3 + 0.6 * j / (k - 1.0) } else { 0.0 }
    };
    for c in &contenders {
        let col = color(c);
        let mine: Vec<(f64, f64, f64)> =
            pts.iter().filter(|p| &p.1 == c).map(|p| (p.0 as f64 + offset(p.0, c), p.2, p.3)).collect();
        chart
            .draw_series(
                mine.iter().map(|&(x, m, s)| ErrorBar::new_vertical(x, m - s, m, m + s, col.stroke_width(2), 10)),
            )
            .map_err(e)?
            .label(c.as_str())
            .legend(move |(x, y)| Circle::new((x + 9, y), 4, col.filled()));
        chart.draw_series(mine.iter().map(|&(x, m, _)| Circle::new((x, m), 4, col.filled()))).map_err(e)?;
    }
    if let Some(y) = paper {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(-0.5, y), (n - 0.5, y)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .map_err(e)?
            .label("paper: 91.12 % (SpiNNaker 2, real GSC)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6).stroke_width(1)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

fn numeric<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    axis: &str,
    yl: &str,
    lines: &Lines,
) -> Result<()> {
    let all = lines.values().flatten();
    let (x0, x1) = all.clone().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1 - p.2), b.max(p.1 + p.2)));
    let (xp, yp) = (((x1 - x0) * 0.05).max(0.5), ((y1 - y0) * 0.1).max(1e-9));
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{yl} against {axis}: mean ± 1 SE over seeds"), ("sans-serif", TITLE))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0 - xp..x1 + xp, y0 - yp..y1 + yp)
        .map_err(e)?;
    chart.configure_mesh().x_desc(axis).y_desc(yl).label_style(("sans-serif", TEXT)).draw().map_err(e)?;
    // One colour per contender; its lines for other values of the other axes take the next dash patterns.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for ((_, label), pts) in lines {
        let mut pts = pts.clone();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let contender = label.split(", ").next().unwrap_or(label);
        let col = color(contender);
        let k = seen.entry(contender).or_default();
        let dash = Dash::nth(*k);
        *k += 1;
        let mean: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
        dashed_line(&mut chart, &mean, col, dash, Some(label.as_str()))?;
        chart
            .draw_series(
                pts.iter().map(|&(x, m, s)| ErrorBar::new_vertical(x, m - s, m, m + s, col.stroke_width(2), 8)),
            )
            .map_err(e)?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}
