//! Contract (issue [worker]): when the connection worker's restart budget is spent and the
//! configuration says stop, `neuroflux run` ends with an error naming the cause and still
//! writes the summary (which says what happened); with `continue` it completes.

mod common;
use common::{root, summary};

use std::process::Command;

const CONFIG: &str = r#"
format_version = 1
[run]
steps = 300
worker = "thread"
[graph]
sensory_width = 16
sensory_height = 16
n_dynamic = 500
workspace_width = 4
workspace_height = 4
[worker]
max_restarts = 1
restart_window_steps = 100
backoff_ms = 0
[faults]
panic_every = 10
"#;

fn run(when: &str) -> (std::process::Output, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG.replace("backoff_ms = 0", &format!("backoff_ms = 0\nwhen_exhausted = \"{when}\"")))
        .expect("config");
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_neuroflux"))
        .args(["run", config.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")])
        .env("RUST_BACKTRACE", "0")
        .current_dir(root())
        .output()
        .expect("starts");
    let summary = summary(&out);
    (o, summary)
}

#[test]
fn a_spent_budget_stops_with_the_cause_or_goes_on_without_growth() {
    let (o, s) = run("stop");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: the connection worker failed 1 times within 100 steps"), "{stderr}");
    assert!(stderr.contains("injected fault: panic in the round of step 20"), "{stderr}");
    assert!(s["step"].as_u64().expect("step") < 300);
    assert!(s["worker"]["last_error"].as_str().expect("last_error").contains("injected fault: panic"), "{s}");

    let (o, s) = run("continue");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(s["step"], 300);
    assert_eq!(s["worker"]["growth_stopped"], true, "{s}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("growth is stopped"), "the log says so");
}
