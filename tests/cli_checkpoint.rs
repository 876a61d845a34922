//! Contract (issue [checkpoint]): `run --checkpoint-every` and `run --resume` finish the
//! same run as an uninterrupted one; a run killed with SIGKILL at random moments always
//! leaves a newest checkpoint that `inspect --verify` accepts and that resumes.

mod common;
use common::{neuroflux, root, spawn_until_metrics, summary};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn state_hash(run: &Path) -> String {
    summary(run)["state_hash"].as_str().expect("state_hash").to_string()
}

#[test]
fn checkpointed_and_resumed_run_ends_like_the_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (whole, parts) = (dir.path().join("whole"), dir.path().join("parts"));
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let o = neuroflux(&["run", "sim-configs/small.toml", "--steps", "300", "--out", &s(&whole)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = neuroflux(&[
        "run",
        "sim-configs/small.toml",
        "--steps",
        "120",
        "--out",
        &s(&parts),
        "--checkpoint-every",
        "50",
        "--keep-last",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kept: Vec<_> = std::fs::read_dir(parts.join("checkpoints")).expect("checkpoints/").collect();
    assert_eq!(kept.len(), 1, "--keep-last 1 keeps one checkpoint");
    // Resume from the step-100 checkpoint (rows 100..119 are written again).
    let o = neuroflux(&["run", "--resume", &s(&parts), "--steps", "300"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(state_hash(&parts), state_hash(&whole));
    let rows = |p: &Path| {
        std::fs::read_to_string(p.join("metrics.csv"))
            .expect("metrics")
            .lines()
            .map(|l| l.split(',').take(40).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&parts), rows(&whole), "the resumed run's metrics (less the timings) are the uninterrupted run's");
    let o = neuroflux(&["inspect", &s(&parts), "--verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("step 300") && text.contains("verified"), "{text}");
}

/// A graph large enough that writing a checkpoint takes a noticeable part of a step.
const BIG: &str = r#"
format_version = 1
[run]
steps = 1000000
seed = 3
[graph]
sensory_width = 32
sensory_height = 32
n_dynamic = 60000
workspace_width = 8
workspace_height = 8
dynamic_out_degree = 4
[input]
pattern = "moving_bar"
bar_width = 4
[output]
checkpoint_every = 1
keep_last = 2
"#;

#[test]
fn sigkill_at_random_moments_always_leaves_a_checkpoint_that_verifies_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("big.toml");
    std::fs::write(&config, BIG).expect("config");
    let run = dir.path().join("run");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut last_step = 0;
    let mut kills = 0;
    for round in 0..30 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_neuroflux"));
        if round == 0 {
            cmd.args(["run", &s(&config), "--out", &s(&run)]);
        } else {
            cmd.args(["run", "--resume", &s(&run)]);
        }
        let mut child =
            cmd.current_dir(root()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("the binary starts");
        // Wait for a checkpoint newer than the last verified one, then a random moment.
        let start = Instant::now();
        let ckpts = run.join("checkpoints");
        let newest = |d: &Path| -> u64 {
            std::fs::read_dir(d)
                .map(|it| {
                    it.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            e.file_name()
                                .to_str()
                                .and_then(|n| n.strip_prefix("step-")?.strip_suffix(".safetensors")?.parse().ok())
                        })
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0)
        };
        while newest(&ckpts) <= last_step {
            assert!(start.elapsed() < Duration::from_secs(60), "round {round}: no new checkpoint within 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(x % 120));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        kills += 1;
        let o = neuroflux(&["inspect", &s(&run), "--verify"]);
        assert!(
            o.status.success(),
            "round {round}: inspect --verify failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let step: u64 = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("step ")?.split(' ').next()?.parse().ok())
            .expect("inspect prints the step");
        assert!(step >= last_step, "round {round}: the newest checkpoint went back from {last_step} to {step}");
        last_step = step;
    }
    // The last newest checkpoint resumes and runs on.
    let o = neuroflux(&["run", "--resume", &s(&run), "--steps", &(last_step + 3).to_string()]);
    assert!(o.status.success(), "resume after the last kill: {}", String::from_utf8_lossy(&o.stderr));
    println!("{kills} kills; the newest checkpoint verified after each; the last one (step {last_step}) resumed");
}

#[test]
fn sigterm_stops_after_the_step_and_saves_metrics_summary_and_a_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    // No checkpoints configured: the interrupt still saves one.
    let child =
        spawn_until_metrics(&["run", "sim-configs/default.toml", "--steps", "1000000", "--out", &s(&run)], &run, 50);
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(term.success());
    let out = child.wait_with_output().expect("exits");
    assert_eq!(out.status.code(), Some(130), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = summary(&run);
    let step = summary["step"].as_u64().expect("step");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).expect("metrics");
    let last_row: u64 = metrics.lines().last().and_then(|l| l.split(',').next()?.parse().ok()).expect("a row");
    assert_eq!(last_row + 1, step, "the metrics end with the last step run");
    let o = neuroflux(&["inspect", &s(&run), "--verify"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains(&format!("step {step} ")), "{text}");
    let o = neuroflux(&["run", "--resume", &s(&run), "--steps", &(step + 5).to_string()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
