//! Contract: `neuroflux bench` runs every BENCH.md workload (here at small sizes), writes a
//! record per workload with the fields BENCH.md lists, the Markdown table and the scale
//! plot; dense workloads are timed against the reference loop and checked to conduct; two
//! runs of a workload do the same work (the same state hash); bad arguments are refused.

mod common;

use common::neuroflux;
use serde_json::Value;

fn records(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}

fn small(out: &std::path::Path, json: &std::path::Path, workloads: &[&str], extra: &[&str]) -> std::process::Output {
    let (out, json) = (out.to_string_lossy().to_string(), json.to_string_lossy().to_string());
    let mut args = vec!["bench", "--threads", "2", "--triad-mib", "24", "--out", &out, "--json", &json];
    for w in workloads {
        args.extend(["--workload", w]);
    }
    args.extend(extra);
    neuroflux(&args)
}

#[test]
fn every_workload_writes_a_complete_record_the_table_and_the_plot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, json) = (dir.path().join("out"), dir.path().join("r.jsonl"));
    let scratch = dir.path().join("scratch").to_string_lossy().to_string();
    // full-1m needs more dynamic nodes than the others at this size (its workspace nodes'
    // in-edges need free out-edge slots): it runs on its own below.
    let all = ["seed-medium", "dense-100k", "dense-1m", "churn-100k", "scale", "checkpoint-10m"];
    let o = small(
        &out,
        &json,
        &all,
        &[
            "--nodes",
            "2000",
            "--steps",
            "12",
            "--repeats",
            "2",
            "--sizes",
            "1000,3000",
            "--churn-edits",
            "50",
            "--scratch",
            &scratch,
        ],
    );
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let rs = records(&json);
    let names: Vec<&str> = rs.iter().map(|r| r["workload"].as_str().unwrap_or("")).collect();
    assert_eq!(
        names,
        ["seed-medium", "dense-100k", "dense-1m", "churn-100k", "scale-1000", "scale-3000", "checkpoint-10m"]
    );
    assert_eq!(records(&out.join("records.jsonl")), rs, "records.jsonl and --json hold the same records");
    for r in &rs {
        for field in [
            "backend",
            "threads",
            "nodes",
            "edges",
            "steps",
            "build_seconds",
            "step_seconds",
            "steps_per_second",
            "edge_updates_per_second",
            "bandwidth_bytes_per_second",
            "bandwidth_fraction",
            "peak_rss_bytes",
            "min_fraction_conducting",
            "resident_bytes_per_edge",
            "hot_bytes_per_edge",
            "phase_shares",
            "state_hash",
        ] {
            assert!(!r[field].is_null(), "{} lacks {field}: {r}", r["workload"]);
        }
        assert_eq!(r["threads"], 2);
        assert!(r["steps_per_second"].as_f64().is_some_and(|x| x > 0.0), "{r}");
        let shares: f64 = r["phase_shares"].as_object().map_or(0.0, |m| m.values().filter_map(Value::as_f64).sum());
        assert!((shares - 1.0).abs() < 1e-6, "phase shares sum to {shares}: {r}");
    }
    let by = |n: &str| rs.iter().find(|r| r["workload"] == n).unwrap_or_else(|| panic!("no {n}"));
    for n in ["dense-100k", "dense-1m", "scale-1000", "scale-3000"] {
        let r = by(n);
        assert!(r["ratio_to_reference"].as_f64().is_some_and(|x| x > 0.0), "{r}");
        assert!(r["min_fraction_conducting"].as_f64().is_some_and(|x| x >= 0.99), "{r}");
    }
    assert_eq!(by("dense-100k")["edges"], 200_000, "2,000 nodes x 100 out-edges");
    assert_eq!(by("dense-1m")["edges"], 32_000, "2,000 nodes x 16 out-edges");
    assert_eq!(by("seed-medium")["repeats"], 2);
    let churn = by("churn-100k");
    assert_eq!(churn["edge_edits"], 12 * 100, "50 removals and 50 additions on each of 12 steps: {churn}");
    assert!(churn["edge_edits_per_second"].as_f64().is_some_and(|x| x > 0.0));
    assert_eq!(churn["final_edges"], churn["edges"], "the churn keeps the edge count");
    // The graph without edits stepped beside it: its rate, and the ratio of the two.
    let beside = churn["dense_beside_steps_per_second"].as_f64().unwrap_or(0.0);
    assert!(beside > 0.0, "{churn}");
    let ratio = churn["ratio_to_dense_beside"].as_f64().unwrap_or(0.0);
    let sps = churn["steps_per_second"].as_f64().unwrap_or(0.0);
    assert!((ratio - sps / beside).abs() <= 1e-9 * ratio, "{churn}");
    assert!(by("dense-100k").get("ratio_to_dense_beside").is_none(), "only churn-100k steps a graph beside it");
    let ck = &by("checkpoint-10m")["checkpoint"];
    assert!(ck["bytes"].as_u64().is_some_and(|b| b > 200_000 * 8), "{ck}");
    for f in ["save_seconds", "load_seconds", "disk_write_seconds", "disk_read_seconds", "save_ratio", "load_ratio"] {
        assert!(ck[f].as_f64().is_some_and(|x| x > 0.0), "{f}: {ck}");
    }
    let table = std::fs::read_to_string(out.join("table.md")).expect("table.md");
    assert!(table.contains("| workload | threads | nodes | edges | build s | steps/s |"), "{table}");
    assert_eq!(table.lines().filter(|l| l.starts_with("| dense-1m |")).count(), 2, "a row and a phase-share row");
    assert!(stdout.contains(&table), "the table is printed");
    let png = std::fs::read(out.join("scale.png")).expect("scale.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn full_runs_the_whole_model_with_the_worker_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, json) = (dir.path().join("out"), dir.path().join("r.jsonl"));
    let o = small(&out, &json, &["full-1m"], &["--nodes", "10000", "--steps", "6"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = &records(&json)[0];
    assert_eq!(r["nodes"], 65_536 + 10_000 + 4096, "sensory 256x256, the dynamic nodes, workspace 64x64: {r}");
    assert_eq!(r["steps"], 6);
    assert!(r["phase_shares"]["growth"].as_f64().is_some(), "{r}");
}

#[test]
fn two_runs_of_a_workload_do_the_same_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hash = |k: &str| {
        let (out, json) = (dir.path().join(k), dir.path().join(format!("{k}.jsonl")));
        let o = small(&out, &json, &["churn-100k"], &["--nodes", "1500", "--steps", "5", "--churn-edits", "30"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        records(&json)[0]["state_hash"].as_str().unwrap_or_default().to_string()
    };
    let (a, b) = (hash("a"), hash("b"));
    assert_eq!(a.len(), 16);
    assert_eq!(a, b);
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, json) = (dir.path().join("out"), dir.path().join("r.jsonl"));
    let o = small(&out, &json, &["dense-10m"], &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown workload `dense-10m` (the workloads: seed-medium, dense-100k, dense-1m"), "{err}");
    let o = small(&out, &json, &["scale"], &["--sizes", "1000,0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sizes needs one or more node counts above 0"));
    // Counts that would time nothing, or make a figure meaningless, are refused before any
    // work (each message names the argument).
    for (args, why) in [
        (&["--steps", "0"][..], "--steps needs at least 1 timed step"),
        (&["--repeats", "0"][..], "--repeats needs at least 1 run of seed-medium"),
        (&["--nodes", "0"][..], "--nodes needs a node count above 0"),
        (&["--churn-edits", "0"][..], "--churn-edits needs at least 1 edit per step"),
    ] {
        let o = small(&out, &json, &["dense-100k"], args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(!err.contains("measuring the memory bandwidth"), "{args:?} refused before any work: {err}");
    }
    let o = small(&out, &json, &["churn-100k"], &["--nodes", "1000", "--churn-edits", "100001"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--churn-edits 100001 is more than churn-100k's 100000 edges"), "{err}");
    assert!(!err.contains("measuring the memory bandwidth"), "refused before any work: {err}");
    let o = neuroflux(&["bench", "--workload", "dense-100k", "--triad-mib", "0", "--out", &out.to_string_lossy()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--triad-mib needs at least 1 MiB (the bandwidth figures divide by it)"), "{err}");
}
