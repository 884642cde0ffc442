//! The one look of every plot the jobs draw (`reproduce`, `sweep`, `crossover`, `report`): the committed font, the
//! canvas, font sizes, one colour per contender, one dash per split or per kind of number, the legend box, and the
//! files (PNG for screens, SVG with real text for papers).
//!
//! Sizes are for a two-column paper: the canvas is 900 × 560 units and the SVG says it is 7 in wide (a figure across
//! both columns), so text of [`TEXT`] units prints at 7.8 pt and titles at 11 pt; strokes of 2 units at 1.1 pt.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The committed font (DejaVu Sans), so no system font library is needed.
pub const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The canvas, in SVG units and PNG pixels.
pub const SIZE: (u32, u32) = (900, 560);
/// The printed width of an SVG: a figure across both columns of a two-column paper.
pub const PRINT_WIDTH_IN: f64 = 7.0;
/// Titles (11 pt printed).
pub const TITLE: u32 = 20;
/// Every other text: axis labels, tick labels, legends, annotations (7.8 pt printed).
pub const TEXT: u32 = 14;

/// The palette (Tableau 10): the first six are [`CONTENDERS`]' colours in order; the rest go to other series.
pub const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The contenders in a fixed order: each keeps its colour (`COLORS[rank]`) in every plot of `reproduce`, `sweep`
/// and `report`.
pub const CONTENDERS: [&str; 6] = ["chip_eprop", "gpu_eprop", "gpu_bptt", "burn_bptt", "cpu_eprop", "cpu_bptt"];

/// A contender's place in [`CONTENDERS`] (unknown names after them, by name).
pub fn contender_rank(name: &str) -> (usize, String) {
    (CONTENDERS.iter().position(|k| *k == name).unwrap_or(CONTENDERS.len()), name.to_string())
}

/// A contender's colour: its own for the six known ones; another name always gets the same one of the remaining
/// four (by a hash of the name), so it too keeps its colour from plot to plot.
pub fn contender_color(name: &str) -> RGBColor {
    match contender_rank(name).0 {
        r if r < CONTENDERS.len() => COLORS[r],
        _ => {
            let h = name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            COLORS[CONTENDERS.len() + (h as usize) % (COLORS.len() - CONTENDERS.len())]
        }
    }
}

/// How a line is drawn: one dash pattern per split (test solid, validation dashed, train dotted) or per kind of
/// number (measured solid, modelled dashed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dash {
    /// Solid.
    Solid,
    /// Dashes.
    Dashed,
    /// Dots.
    Dotted,
}

impl Dash {
    /// The k-th pattern (for several lines of one colour).
    pub fn nth(k: usize) -> Self {
        [Dash::Solid, Dash::Dashed, Dash::Dotted][k % 3]
    }

    /// (dash, gap) in units; solid is one long dash.
    fn pattern(self) -> (u32, u32) {
        match self {
            Dash::Solid => (24, 1),
            Dash::Dashed => (9, 6),
            Dash::Dotted => (2, 5),
        }
    }
}

/// Draws a line of points in a colour and dash, with a legend entry when `label` is given.
pub fn dashed_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pts: &[(f64, f64)],
    color: RGBColor,
    dash: Dash,
    label: Option<&str>,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let st = color.stroke_width(2);
    let anno = match dash {
        Dash::Solid => chart.draw_series(LineSeries::new(pts.iter().copied(), st)).map_err(e)?,
        d => {
            let (size, gap) = d.pattern();
            chart.draw_series(DashedLineSeries::new(pts.iter().copied(), size, gap, st)).map_err(e)?
        }
    };
    if let Some(label) = label {
        anno.label(label).legend(move |(x, y)| {
            let (size, gap) = dash.pattern();
            plotters::element::DashedPathElement::new(vec![(x, y), (x + 24, y)], size, gap, color.stroke_width(2))
        });
    }
    Ok(())
}

/// Registers the committed font (once per process).
pub fn font_once() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut err = None;
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            err = Some(anyhow!("the committed font bench-harness/assets/DejaVuSans.ttf is not a valid TTF"));
        }
    });
    err.map_or(Ok(()), Err)
}

/// A plotters error as an error of this crate.
pub fn e<E: std::fmt::Debug>(x: E) -> anyhow::Error {
    anyhow!("plot: {x:?}")
}

/// Draws `f` into `<dir>/<stem>.png` and `g` (the same drawing, for the other backend) into `<dir>/<stem>.svg`, on
/// [`SIZE`] with a white background; the SVG is marked [`PRINT_WIDTH_IN`] wide.
pub fn both(
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
    print_size(&svg, SIZE)
}

/// Gives an SVG written by plotters (`<svg width="W" height="H" viewBox="0 0 W H" …>`) a printed size in inches,
/// [`PRINT_WIDTH_IN`] wide, keeping its viewBox: a paper's figure then comes out at the intended font sizes.
pub fn print_size(svg: &Path, (w, h): (u32, u32)) -> Result<()> {
    let text = std::fs::read_to_string(svg).with_context(|| format!("{}: cannot read", svg.display()))?;
    let from = format!("<svg width=\"{w}\" height=\"{h}\"");
    let height_in = PRINT_WIDTH_IN * f64::from(h) / f64::from(w);
    let to = format!("<svg width=\"{PRINT_WIDTH_IN}in\" height=\"{height_in:.3}in\"");
    if !text.starts_with(&from) {
        return Err(anyhow!("{}: not an SVG of {w} × {h} as plotters writes it", svg.display()));
    }
    std::fs::write(svg, text.replacen(&from, &to, 1)).with_context(|| format!("{}: cannot write", svg.display()))
}

/// The legend every plot draws: white box, black border, [`TEXT`]-size labels.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", TEXT))
        .draw()
        .map_err(e)
}

/// The paper's test accuracy (e-prop on SpiNNaker 2, GSC's 12 classes), drawn as a reference on accuracy axes.
pub const PAPER_ACCURACY_PERCENT: f64 = 91.12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_keeps_one_colour_and_others_get_the_rest() {
        for (k, c) in CONTENDERS.iter().enumerate() {
            assert_eq!(contender_color(c), COLORS[k]);
        }
        let other = contender_color("tpu_eprop");
        assert!(COLORS[CONTENDERS.len()..].contains(&other));
        assert_eq!(contender_color("tpu_eprop"), other);
    }

    #[test]
    fn svgs_are_marked_for_print() -> Result<()> {
        let dir = tempfile::tempdir()?;
        both(dir.path(), "x", |_| Ok(()), |_| Ok(()))?;
        let svg = std::fs::read_to_string(dir.path().join("x.svg"))?;
        assert!(svg.starts_with("<svg width=\"7in\" height=\"4.356in\" viewBox=\"0 0 900 560\""), "{}", &svg[..80]);
        Ok(())
    }
}
