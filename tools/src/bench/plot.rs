//! The `scale` plot: edge updates per second of the engine and of the reference loop, and
//! their ratio, against the number of nodes.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::record::Record;

/// Draw `records` (one per size) into a PNG at `path`.
pub fn scale(records: &[Record], path: &Path) -> Result<()> {
    crate::outputs::register_font();
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let area = BitMapBackend::new(path, (1000, 800)).into_drawing_area();
    area.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, bottom) = area.split_vertically(480);
    let pts = |f: &dyn Fn(&Record) -> Option<f64>| -> Vec<(f64, f64)> {
        records.iter().filter_map(|r| f(r).map(|y| (r.nodes as f64, y))).collect()
    };
    let ours = pts(&|r| Some(r.edge_updates_per_second / 1e9));
    let reference = pts(&|r| r.reference_edge_updates_per_second.map(|x| x / 1e9));
    let ratio = pts(&|r| r.ratio_to_reference);
    let bound = pts(&|r| Some(r.bandwidth_bytes_per_second / 12.0 / 1e9));
    let x_lo = ours.iter().map(|p| p.0).fold(f64::MAX, f64::min).min(1e4) * 0.8;
    let x_hi = ours.iter().map(|p| p.0).fold(1.0, f64::max) * 1.25;
    let y_hi = ours.iter().chain(&reference).chain(&bound).map(|p| p.1).fold(0.1, f64::max) * 1.1;
    let x = (x_lo, x_hi);
    let series = [("neuroflux", ours), ("reference loop", reference), ("bandwidth bound (12 B/edge)", bound)];
    let title = "scale: edge updates per second (16 out-edges per node)";
    panel(&top, title, "G edge updates/s", x, y_hi, &series).map_err(|e| err(&e))?;
    let r_hi = ratio.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    panel(&bottom, "ratio to the reference loop", "ratio", x, r_hi, &[("ratio", ratio)]).map_err(|e| err(&e))?;
    area.present().map_err(|e| err(&e))?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// One chart against the node count (log scale): a line with points per series, and a
/// legend when there is more than one.
fn panel(
    area: &Area<'_>,
    title: &str,
    y_desc: &str,
    (x_lo, x_hi): (f64, f64),
    y_hi: f64,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..y_hi)?;
    c.configure_mesh().x_desc("nodes").x_label_formatter(&nodes_label).y_desc(y_desc).draw()?;
    for (i, (name, p)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(p.iter().copied(), colour.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        c.draw_series(p.iter().map(|&xy| Circle::new(xy, 4, colour.filled())))?;
    }
    if series.len() > 1 {
        c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    }
    Ok(())
}

fn nodes_label(x: &f64) -> String {
    match *x {
        x if x >= 1e6 => format!("{}M", x / 1e6),
        x if x >= 1e3 => format!("{}k", x / 1e3),
        x => format!("{x}"),
    }
}
