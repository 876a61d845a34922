//! Contract: the `neuroflux` binary runs a configuration and writes `metrics.csv` and
//! `summary.json` as DESIGN.md defines them, refuses to overwrite a run directory,
//! reports every configuration problem at once, and every file in `sim-configs/` is valid.

mod common;
use common::{neuroflux, root, summary};

#[test]
fn run_writes_metrics_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let o = neuroflux(&[
        "run",
        "sim-configs/small.toml",
        "--steps",
        "40",
        "--out",
        out.to_str().expect("utf-8"),
        "--threads",
        "2",
    ]);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = summary(&out);
    for key in [
        "format_version",
        "step",
        "nodes",
        "edges",
        "energy",
        "births",
        "deaths",
        "edges_added",
        "edges_culled",
        "proposals_dropped",
        "proposals_skipped",
        "state_hash",
        "wall_seconds",
        "steps_per_second",
        "backend",
        "threads",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}: {summary}");
    }
    assert_eq!(summary["step"], 40);
    assert_eq!(summary["backend"], "cpu");
    assert_eq!(summary["threads"], 2);
    assert_eq!(summary["nodes"]["sensory"], 256);
    assert_eq!(summary["state_hash"].as_str().map(str::len), Some(16));
    let csv = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header[0], "step");
    for col in [
        "nodes_dynamic",
        "edges",
        "births",
        "deaths",
        "edges_added",
        "edges_culled",
        "proposals_made",
        "proposals_dropped",
        "edits_skipped",
        "energy_total",
        "energy_dynamic_max",
        "input_set",
        "spawn_created",
        "dissipated",
        "worker_running",
        "time_transfer_us",
    ] {
        assert!(header.contains(&col), "metrics.csv lacks {col}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r.split(',').count() == header.len()));
    assert!(out.join("config.toml").exists());

    // Same configuration, same steps: same state hash; an existing directory is refused.
    let out2 = dir.path().join("run2");
    let o = neuroflux(&[
        "run",
        "sim-configs/small.toml",
        "--steps",
        "40",
        "--out",
        out2.to_str().expect("utf-8"),
        "--threads",
        "1",
    ]);
    assert!(o.status.success());
    let s2: serde_json::Value = common::summary(&out2);
    assert_eq!(s2["state_hash"], summary["state_hash"]);
    let o = neuroflux(&["run", "sim-configs/small.toml", "--out", out.to_str().expect("utf-8")]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists and is not empty"));
}

#[test]
fn validate_reports_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "format_version = 1\n[energy]\nenergy_cap = -5.0\n[transfer]\ntransmission_loss = 2.0\n[growth]\ncull_every = 0\n").expect("write");
    let o = neuroflux(&["validate", bad.to_str().expect("utf-8")]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("energy.energy_cap = -5.0"), "{err}");
    assert!(err.contains("transfer.transmission_loss = 2.0: must be in [0, 1]"), "{err}");
    assert!(err.contains("growth.cull_every = 0"), "{err}");
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[graph]\nn_dynamik = 5\n").expect("write");
    let o = neuroflux(&["validate", unknown.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field `n_dynamik`"));
}

#[test]
fn every_shipped_configuration_is_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("sim-configs")).expect("sim-configs") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "toml") {
            let o = neuroflux(&["validate", p.to_str().expect("utf-8")]);
            assert!(o.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
            n += 1;
        }
    }
    assert!(n >= 4, "expected the shipped configurations, found {n}");
}

#[test]
fn every_shipped_sweep_is_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("sim-configs/sweeps")).expect("sim-configs/sweeps") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "toml") {
            let o = neuroflux(&["sweep", p.to_str().expect("utf-8"), "--dry-run", "--out", "/nonexistent/sweep"]);
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success() && text.contains("valid points"),
                "{}: {}",
                p.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 1, "expected the example sweep");
}
