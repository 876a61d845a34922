//! The optional outputs of a run: images of the workspace grid, plots of the metrics, and
//! the final graph with its statistics.

use anyhow::{bail, Context, Result};
use neuroflux::config::{GraphFormat, PlotFormat};
use neuroflux::Simulation;
use plotters::prelude::*;
use std::path::Path;

/// Pixels per workspace cell side in the images: the smallest integer that makes the image
/// at least 256 pixels wide (nearest neighbour, so each cell stays one flat square).
fn cell_pixels(width: u32) -> u32 {
    256u32.div_ceil(width.max(1)).max(1)
}

/// Write the workspace grid after the last step as `step-NNNNNNNNN.png` in `dir`: grey
/// levels from the energy floor (black) to the energy cap (white), by binding.
pub fn write_workspace_image(sim: &Simulation, dir: &Path) -> Result<()> {
    let p = sim.params();
    let (w, h) = (p.graph.workspace_width, p.graph.workspace_height);
    if w == 0 || h == 0 {
        return Ok(());
    }
    let grid = sim.workspace_grid();
    let (lo, hi) = (p.energy.energy_floor, p.energy.energy_cap);
    let k = cell_pixels(w);
    let img = image::GrayImage::from_fn(w * k, h * k, |x, y| {
        let e = grid.get(((y / k) * w + x / k) as usize).copied().unwrap_or(lo);
        let t = ((e - lo) / (hi - lo)).clamp(0.0, 1.0);
        image::Luma([(t * 255.0).round() as u8])
    });
    let path = dir.join(format!("step-{:09}.png", sim.current_step()));
    img.save(&path).with_context(|| format!("cannot write {}", path.display()))
}

/// The files written when a run ends, as the configuration's `[output]` asks.
pub fn write_final(sim: &Simulation, dir: &Path) -> Result<()> {
    let out = &sim.params().output;
    if out.plots != PlotFormat::None {
        plot_metrics(&dir.join("metrics.csv"), &dir.join("plots"), out.plots)?;
    }
    let graph = match out.graph {
        GraphFormat::None => None,
        GraphFormat::Graphml => Some((dir.join("graph.graphml"), neuroflux::io::graph::to_graphml(sim.store()))),
        GraphFormat::Dot => Some((dir.join("graph.dot"), neuroflux::io::graph::to_dot(sim.store()))),
    };
    if let Some((path, text)) = graph {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if out.graph_stats {
        let stats = neuroflux::io::graph::stats(sim.store());
        let path = dir.join("graph-stats.json");
        let text = serde_json::to_string_pretty(&stats)?;
        std::fs::write(&path, format!("{text}\n")).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The plots: each a file of one or more metrics (columns of `metrics.csv`) over the steps.
const PLOTS: [(&str, &str, &[&str]); 5] = [
    ("nodes", "nodes", &["nodes_sensory", "nodes_dynamic", "nodes_workspace"]),
    ("edges", "edges", &["edges", "edges_conducting"]),
    ("energy", "energy", &["energy_sensory_total", "energy_dynamic_total", "energy_workspace_total"]),
    ("turnover", "per step", &["births", "deaths", "edges_added", "edges_culled"]),
    ("ledger", "energy per step", &["paid", "received", "upkeep", "noise", "dead"]),
];

/// Read the numeric columns of a metrics file.
fn read_columns(csv: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap_or_default().split(',').map(str::to_string).collect();
    let mut cols = vec![Vec::new(); header.len()];
    for line in lines {
        for (c, v) in cols.iter_mut().zip(line.split(',')) {
            c.push(v.parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    Ok((header, cols))
}

/// Draw the plots of [`PLOTS`] from `csv` into `dir` as PNG or SVG.
pub fn plot_metrics(csv: &Path, dir: &Path, format: PlotFormat) -> Result<()> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (header, cols) = read_columns(csv)?;
    let col = |name: &str| header.iter().position(|h| h == name).map(|i| &cols[i]);
    let steps = col("step").context("metrics.csv has no step column")?;
    for (name, unit, series) in PLOTS {
        let lines: Vec<(&str, &Vec<f64>)> = series.iter().filter_map(|s| col(s).map(|c| (*s, c))).collect();
        let path = dir.join(match format {
            PlotFormat::Svg => format!("{name}.svg"),
            _ => format!("{name}.png"),
        });
        let drawn = match format {
            PlotFormat::Svg => draw(SVGBackend::new(&path, (900, 500)).into_drawing_area(), name, unit, steps, &lines),
            PlotFormat::Png => {
                draw(BitMapBackend::new(&path, (900, 500)).into_drawing_area(), name, unit, steps, &lines)
            }
            PlotFormat::None => return Ok(()),
        };
        drawn.with_context(|| format!("cannot draw {}", path.display()))?;
    }
    Ok(())
}

fn draw<B: DrawingBackend>(
    area: DrawingArea<B, plotters::coord::Shift>,
    title: &str,
    unit: &str,
    steps: &[f64],
    lines: &[(&str, &Vec<f64>)],
) -> Result<()>
where
    B::ErrorType: 'static,
{
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("{e}");
    area.fill(&WHITE).map_err(|e| err(&e))?;
    let finite = |v: &&f64| v.is_finite();
    let x_max = steps.iter().filter(finite).fold(1.0f64, |a, &b| a.max(b));
    let x_min = steps.iter().filter(finite).fold(x_max, |a, &b| a.min(b));
    let values = || lines.iter().flat_map(|(_, c)| c.iter()).filter(finite);
    let (mut y_min, mut y_max) = values().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if y_min > y_max {
        (y_min, y_max) = (0.0, 1.0);
    }
    if y_max - y_min < 1e-9 {
        y_max += 1.0;
        y_min -= 1.0;
    }
    let pad = 0.05 * (y_max - y_min);
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_min..x_max.max(x_min + 1.0), (y_min - pad)..(y_max + pad))
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("step").y_desc(unit).draw().map_err(|e| err(&e))?;
    for (i, (name, c)) in lines.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let points = steps.iter().zip(c.iter()).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(&x, &y)| (x, y));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    area.present().map_err(|e| err(&e))?;
    if lines.is_empty() {
        bail!("none of the plotted columns is in metrics.csv");
    }
    Ok(())
}

/// Plot text uses DejaVu Sans, built into the binary (no system fonts needed).
pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A failure leaves text undrawn; the plot lines are still drawn.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_at_least_256_pixels_wide_in_all() {
        assert_eq!(cell_pixels(16), 16);
        assert_eq!(cell_pixels(300), 1);
        assert_eq!(cell_pixels(100), 3);
    }
}
