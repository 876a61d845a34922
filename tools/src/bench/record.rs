//! One workload's record (the fields of BENCH.md), and the Markdown table of a run.

use std::collections::BTreeMap;

/// Everything measured of one workload. Fields that do not apply to it are `None` (and
/// left out of the JSON).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Record {
    /// Workload name.
    pub workload: String,
    /// Backend (`cpu`).
    pub backend: String,
    /// Threads the backend used.
    pub threads: usize,
    /// Nodes and edges when timing started.
    pub nodes: usize,
    pub edges: usize,
    /// Timed steps (per repetition).
    pub steps: u64,
    /// Repetitions whose median is reported.
    pub repeats: usize,
    /// Seconds to build the initial graph (median over repetitions).
    pub build_seconds: f64,
    /// Seconds of the timed stepping (median over repetitions; one repetition: the sum of the
    /// timed steps).
    pub step_seconds: f64,
    /// Spread of the per-step (or per-repetition) stepping times: minimum, median, maximum
    /// seconds.
    pub step_seconds_min_median_max: [f64; 3],
    pub steps_per_second: f64,
    /// Edges x steps / stepping seconds.
    pub edge_updates_per_second: f64,
    /// Edges added or removed by phase 5.1, and the rate over that phase's seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_edits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_edits_per_second: Option<f64>,
    /// The smallest fraction of edges that conducted at a timed step.
    pub min_fraction_conducting: f64,
    /// The reference pull loop on the same graph and threads, timed in the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_edge_updates_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_to_reference: Option<f64>,
    /// `churn-100k`: the same graph without edits (`dense-100k`) stepped in blocks alternating
    /// with the timed steps, so that both see the same state of the machine: its steps/s,
    /// and this workload's steps/s over it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense_beside_steps_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_to_dense_beside: Option<f64>,
    /// The machine's triad bandwidth (bytes/s, measured at the start of the run) and the
    /// fraction of its bound (bandwidth / 12 bytes per edge) this workload's edge updates reach.
    pub bandwidth_bytes_per_second: f64,
    pub bandwidth_fraction: f64,
    /// Peak resident memory of the process during the workload (build and steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Bytes the store and the backend allocated, per edge, at the end of timing.
    pub resident_bytes_per_edge: f64,
    /// Bytes per edge the last step's transfer read (see `Footprint`).
    pub hot_bytes_per_edge: f64,
    /// Share of the stepping time per phase.
    pub phase_shares: BTreeMap<String, f64>,
    /// Nodes and edges after the last timed step.
    pub final_nodes: usize,
    pub final_edges: usize,
    /// The state hash after the last timed step (two runs of a workload do the same work).
    pub state_hash: String,
    /// Checkpoint workloads: seconds and bytes, and the plain-disk comparisons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointTimes>,
}

/// Checkpoint save and load against a plain write (with fsync) and read of the same bytes.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckpointTimes {
    pub bytes: u64,
    pub save_seconds: f64,
    pub load_seconds: f64,
    pub disk_write_seconds: f64,
    pub disk_read_seconds: f64,
    /// `disk_write_seconds / save_seconds` (1.0: as fast as the plain write).
    pub save_ratio: f64,
    /// `disk_read_seconds / load_seconds`.
    pub load_ratio: f64,
}

fn si(x: f64) -> String {
    let (v, unit) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, " G"),
        a if a >= 1e6 => (x / 1e6, " M"),
        a if a >= 1e3 => (x / 1e3, " k"),
        _ => (x, " "),
    };
    format!("{v:.3}{unit}").trim_end().to_string()
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "-".to_string(), f)
}

/// The records as a Markdown table.
pub fn markdown(records: &[Record]) -> String {
    let mut t = String::from(
        "| workload | threads | nodes | edges | build s | steps/s | edge updates/s | vs reference | vs bandwidth bound | edits/s | conducting | peak RSS | resident B/edge | hot B/edge |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in records {
        t += &format!(
            "| {} | {} | {} | {} | {:.3} | {} | {} | {} | {:.2} | {} | {:.3} | {} | {:.1} | {:.1} |\n",
            r.workload,
            r.threads,
            si(r.nodes as f64),
            si(r.edges as f64),
            r.build_seconds,
            si(r.steps_per_second),
            si(r.edge_updates_per_second),
            opt(r.ratio_to_reference, |x| format!("{x:.2}")),
            r.bandwidth_fraction,
            opt(r.edge_edits_per_second, si),
            r.min_fraction_conducting,
            opt(r.peak_rss_bytes.map(|b| b as f64), |b| format!("{:.0} MiB", b / (1 << 20) as f64)),
            r.resident_bytes_per_edge,
            r.hot_bytes_per_edge,
        );
    }
    let shares: Vec<&Record> = records.iter().filter(|r| !r.phase_shares.is_empty()).collect();
    if !shares.is_empty() {
        let names: Vec<&String> = shares[0].phase_shares.keys().collect();
        t += &format!(
            "\n| workload | {} |\n|---|{}\n",
            names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" | "),
            "---|".repeat(names.len())
        );
        for r in shares {
            let cells: Vec<String> = names
                .iter()
                .map(|n| format!("{:.1}%", 100.0 * r.phase_shares.get(*n).copied().unwrap_or(0.0)))
                .collect();
            t += &format!("| {} | {} |\n", r.workload, cells.join(" | "));
        }
    }
    for r in records {
        if let Some(c) = &r.checkpoint {
            t += &format!(
                "\n{}: {} bytes; save {:.3} s, at {:.2} of the speed of a plain write with fsync of the same bytes ({:.3} s); load with verification {:.3} s, at {:.2} of the speed of a plain read ({:.3} s)\n",
                r.workload, si(c.bytes as f64), c.save_seconds, c.save_ratio, c.disk_write_seconds, c.load_seconds, c.load_ratio, c.disk_read_seconds
            );
        }
        if let (Some(dense), Some(ratio)) = (r.dense_beside_steps_per_second, r.ratio_to_dense_beside) {
            t += &format!(
                "\n{}: {:.3} steps/s, {ratio:.3} of its graph without edits stepped in alternating blocks beside it ({dense:.3} steps/s)\n",
                r.workload, r.steps_per_second
            );
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_row_per_record_and_dashes_for_missing_values() {
        let r = Record { workload: "w".into(), nodes: 1500, edges: 2_000_000, ..Record::default() };
        let t = markdown(&[r.clone(), Record { ratio_to_reference: Some(0.5), ..r }]);
        assert_eq!(t.lines().filter(|l| l.starts_with("| w |")).count(), 2);
        assert!(t.contains("| 1.500 k | 2.000 M |"), "{t}");
        assert!(t.contains("| - |") && t.contains("| 0.50 |"), "{t}");
        let churn = Record {
            steps_per_second: 60.0,
            dense_beside_steps_per_second: Some(150.0),
            ratio_to_dense_beside: Some(0.4),
            ..Record::default()
        };
        assert!(
            markdown(&[churn]).contains(": 60.000 steps/s, 0.400 of its graph without edits stepped in alternating blocks beside it (150.000 steps/s)"),
            "the churn line"
        );
    }
}
