//! Charts as inline SVG (plotters' SVG backend): pure functions from numbers
//! to markup. Every chart is shown beside a table with the same numbers, its
//! text alternative; the SVG itself carries a short `aria-label`.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Arm colours, control first (distinguishable for common colour blindness).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x44, 0x55, 0x66),
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
];

/// The colour of the `i`-th arm.
pub fn arm_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const FONT: &str = "sans-serif";
const WIDTH: u32 = 640;

/// One treatment's lift and interval in a forest plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Row label (the treatment arm).
    pub label: String,
    /// Point estimate (relative lift).
    pub estimate: f64,
    /// Interval lower bound.
    pub lower: f64,
    /// Interval upper bound.
    pub upper: f64,
    /// Whether the interval excludes zero in the metric's good direction.
    pub good: Option<bool>,
}

/// A named series of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points in x order.
    pub points: Vec<(f64, f64)>,
}

/// `svg` made responsive (its viewBox stays, fixed size goes) and labelled.
fn finish(svg: String, label: &str) -> String {
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    match svg.find(" viewBox=") {
        Some(at) if svg.starts_with("<svg ") => format!(
            "<svg class=\"chart\" role=\"img\" aria-label=\"{label}\"{}",
            &svg[at..]
        ),
        _ => svg,
    }
}

/// Draws with `draw` on a white `WIDTH` × `height` SVG canvas; the markup,
/// responsive and labelled, or nothing when drawing failed (the page still
/// has the chart's table).
fn render(
    height: u32,
    label: &str,
    draw: impl for<'b> FnOnce(
        &DrawingArea<SVGBackend<'b>, Shift>,
    ) -> Result<(), Box<dyn std::error::Error + 'b>>,
) -> String {
    let mut svg = String::new();
    let failed = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })()
    .is_err();
    if failed {
        return String::new();
    }
    finish(svg, label)
}

/// The series legend at `position`.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo < hi {
        (lo, hi)
    } else {
        (lo.min(0.0) - 1.0, hi.max(0.0) + 1.0)
    };
    let pad = (hi - lo) * 0.08;
    (lo - pad, hi + pad)
}

fn percent(v: &f64) -> String {
    format!("{:+.0}%", v * 100.0)
}

/// A forest plot: each row a point estimate with its interval, a line at no
/// effect. Values are relative lifts (axis in percent).
pub fn forest(rows: &[Interval], label: &str) -> String {
    let height = 70 + 34 * rows.len().max(1) as u32;
    let (lo, hi) = rows.iter().fold((0.0f64, 0.0f64), |(lo, hi), r| {
        (lo.min(r.lower), hi.max(r.upper))
    });
    let (lo, hi) = padded(lo, hi);
    render(height, label, |root| {
        let n = rows.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(110)
            .build_cartesian_2d(lo..hi, 0.0..n)?;
        let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(7)
            .x_label_formatter(&percent)
            .y_labels(rows.len().max(1) * 2 + 1)
            .y_label_formatter(&|y| {
                let i = (n - y - 0.5).round();
                if (n - y - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("lift vs control")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (0.0, n)],
            BLACK.stroke_width(1),
        )))?;
        for (i, r) in rows.iter().enumerate() {
            let y = n - i as f64 - 0.5;
            let colour = match r.good {
                Some(true) => PALETTE[3],
                Some(false) => PALETTE[2],
                None => PALETTE[1],
            };
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(r.lower, y), (r.upper, y)],
                colour.stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (r.estimate, y),
                6,
                colour.filled(),
            )))?;
        }
        Ok(())
    })
}

/// A funnel step chart: per step, one bar per arm with the share of exposed
/// units that reached it.
pub fn funnel(steps: &[String], arms: &[Series], label: &str) -> String {
    let height = 300;
    render(height, label, |root| {
        let n = steps.len().max(1) as f64;
        let top = arms
            .iter()
            .flat_map(|a| a.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(0.01)
            * 1.1;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..n, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(steps.len().max(1) * 2 + 1)
            .x_label_formatter(&|x| {
                let i = (x - 0.5).round();
                if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                    format!("{}", i as usize + 1)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .x_desc("step")
            .y_desc("share of exposed units")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let k = arms.len().max(1) as f64;
        let width = 0.8 / k;
        for (a, arm) in arms.iter().enumerate() {
            let colour = arm_colour(a);
            chart
                .draw_series(arm.points.iter().map(|&(step, share)| {
                    let x0 = step + 0.1 + a as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.92, share)], colour.filled())
                }))?
                .label(arm.label.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// Lines over days since the first exposure, optionally with a shaded band
/// (an interval) around the first series; `percent` formats y as a percentage.
pub fn lines(
    series: &[Series],
    band: Option<&[(f64, f64, f64)]>,
    y_desc: &str,
    percent_axis: bool,
    label: &str,
) -> String {
    let height = 300;
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (x_lo, x_hi) = if x_lo < x_hi {
        (x_lo, x_hi)
    } else {
        (0.0, 1.0)
    };
    let ys = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(band.into_iter().flatten().flat_map(|b| [b.1, b.2]));
    let (y_lo, y_hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let (y_lo, y_hi) = if percent_axis {
        padded(y_lo.min(0.0), y_hi.max(0.0))
    } else {
        (
            0.0,
            if y_hi.is_finite() && y_hi > 0.0 {
                y_hi * 1.1
            } else {
                1.0
            },
        )
    };
    render(height, label, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
        let y_fmt = |v: &f64| {
            if percent_axis {
                percent(v)
            } else {
                format!("{v:.0}")
            }
        };
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&y_fmt)
            .x_desc("days since first exposure")
            .y_desc(y_desc)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        if let Some(band) = band.filter(|b| b.len() > 1) {
            let mut outline: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.2)).collect();
            outline.extend(band.iter().rev().map(|b| (b.0, b.1)));
            chart.draw_series(std::iter::once(Polygon::new(outline, PALETTE[1].mix(0.2))))?;
        }
        if percent_axis {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x_lo, 0.0), (x_hi, 0.0)],
                BLACK.stroke_width(1),
            )))?;
        }
        for (i, s) in series.iter().enumerate() {
            let colour = if band.is_some() {
                PALETTE[1]
            } else {
                arm_colour(i)
            };
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
                });
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn forest_draws_one_interval_and_point_per_row_and_labels_them() {
        let rows = vec![
            Interval {
                label: "urgency".into(),
                estimate: 0.05,
                lower: -0.01,
                upper: 0.11,
                good: None,
            },
            Interval {
                label: "social".into(),
                estimate: 0.12,
                lower: 0.04,
                upper: 0.2,
                good: Some(true),
            },
        ];
        let svg = forest(&rows, "Lift of trial_start");
        assert!(svg.starts_with("<svg class=\"chart\" role=\"img\" aria-label=\"Lift of trial_start\" viewBox=\"0 0 640 "), "{}", &svg[..120]);
        let root = &svg[..svg.find('>').expect("a root tag")];
        assert!(!root.contains(" width="), "{root}");
        assert_eq!(count(&svg, "<circle"), 2);
        assert!(svg.contains("urgency") && svg.contains("social"));
        assert!(
            svg.contains("+10%") || svg.contains("+20%"),
            "axis in percent"
        );
    }

    #[test]
    fn charts_survive_empty_and_degenerate_input() {
        for svg in [
            forest(&[], "empty"),
            forest(
                &[Interval {
                    label: "x".into(),
                    estimate: f64::NAN,
                    lower: f64::NAN,
                    upper: f64::NAN,
                    good: None,
                }],
                "nan",
            ),
            funnel(&[], &[], "empty"),
            lines(&[], None, "units", false, "empty"),
            lines(
                &[Series {
                    label: "a".into(),
                    points: vec![(0.0, 1.0)],
                }],
                None,
                "units",
                false,
                "one point",
            ),
        ] {
            assert!(
                svg.is_empty() || svg.starts_with("<svg class=\"chart\""),
                "{svg}"
            );
        }
    }

    #[test]
    fn funnel_has_a_bar_per_step_and_arm() {
        let steps = vec![
            "bot_start".to_owned(),
            "paywall_shown".to_owned(),
            "payment".to_owned(),
        ];
        let arms = vec![
            Series {
                label: "control".into(),
                points: vec![(0.0, 0.9), (1.0, 0.4), (2.0, 0.1)],
            },
            Series {
                label: "bold".into(),
                points: vec![(0.0, 0.92), (1.0, 0.45), (2.0, 0.12)],
            },
        ];
        let svg = funnel(&steps, &arms, "Bot funnel");
        // background + 6 bars + 2 legend swatches, at least
        assert!(count(&svg, "<rect") >= 8, "{}", count(&svg, "<rect"));
        assert!(svg.contains("bold") && svg.contains("control"));
    }

    #[test]
    fn label_is_escaped() {
        let svg = lines(
            &[Series {
                label: "a".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
            }],
            None,
            "u",
            false,
            "a \"quoted\" <label>",
        );
        assert!(svg.contains("aria-label=\"a &quot;quoted&quot; &lt;label>\""));
    }
}
