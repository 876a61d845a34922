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
    let mut c = ChartBuilder::on(&top)
        .caption("scale: edge updates per second (16 out-edges per node)", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..y_hi)
        .map_err(|e| err(&e))?;
    c.configure_mesh()
        .x_desc("nodes")
        .x_label_formatter(&nodes_label)
        .y_desc("G edge updates/s")
        .draw()
        .map_err(|e| err(&e))?;
    let series =
        [("neuroflux", &ours, 0), ("reference loop", &reference, 1), ("bandwidth bound (12 B/edge)", &bound, 2)];
    for (name, p, i) in series {
        let colour = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(p.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        c.draw_series(p.iter().map(|&xy| Circle::new(xy, 4, colour.filled()))).map_err(|e| err(&e))?;
    }
    c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
    let r_hi = ratio.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let mut c = ChartBuilder::on(&bottom)
        .caption("ratio to the reference loop", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..r_hi)
        .map_err(|e| err(&e))?;
    c.configure_mesh().x_desc("nodes").x_label_formatter(&nodes_label).y_desc("ratio").draw().map_err(|e| err(&e))?;
    let colour = Palette99::pick(0).to_rgba();
    c.draw_series(LineSeries::new(ratio.iter().copied(), colour.stroke_width(2))).map_err(|e| err(&e))?;
    c.draw_series(ratio.iter().map(|&xy| Circle::new(xy, 4, colour.filled()))).map_err(|e| err(&e))?;
    area.present().map_err(|e| err(&e))?;
    Ok(())
}

fn nodes_label(x: &f64) -> String {
    match *x {
        x if x >= 1e6 => format!("{}M", x / 1e6),
        x if x >= 1e3 => format!("{}k", x / 1e3),
        x => format!("{x}"),
    }
}
