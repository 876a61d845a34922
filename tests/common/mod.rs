//! Helpers shared by the tests of the `neuroflux` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (the binary runs there, so `sim-configs/...` paths work).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the binary with `args` in the repository root; its output.
pub fn neuroflux(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neuroflux"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary should start")
}

/// A run directory's `summary.json`, parsed.
pub fn summary(run_dir: &Path) -> serde_json::Value {
    let path = run_dir.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Start the binary with `args` in the repository root (stderr piped) and return once
/// `run_dir/metrics.csv` has at least `rows` lines.
pub fn spawn_until_metrics(args: &[&str], run_dir: &Path, rows: usize) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_neuroflux"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary should start");
    let start = Instant::now();
    while std::fs::read_to_string(run_dir.join("metrics.csv")).map(|t| t.lines().count()).unwrap_or(0) < rows {
        assert!(start.elapsed() < Duration::from_secs(60), "the run should write metrics");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}
