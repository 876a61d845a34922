//! Driving one simulation to its end step inside a run directory: metrics rows, checkpoints,
//! workspace images, progress, the signal flag, and the files written at the end (summary,
//! plots, graph, graph statistics). Shared by `neuroflux run` and `neuroflux sweep`.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use neuroflux::io::metrics::{StepMetrics, Summary};
use neuroflux::Simulation;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The run stopped on Ctrl-C or SIGTERM after saving (the binary exits with status 130).
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted by a signal (state saved)")
    }
}

impl std::error::Error for Interrupted {}

/// Create a run directory and write its resolved configuration (`config.toml`) into it.
pub fn create_run_dir(dir: &Path, config_text: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create run directory {}", dir.display()))?;
    std::fs::write(dir.join("config.toml"), config_text).context("cannot write config.toml")
}

/// How a driven run reports its progress.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar with rate and ETA (a terminal).
    Bar,
    /// A log line every ten seconds.
    Lines,
    /// Nothing (a sweep point: the sweep reports).
    Quiet,
}

/// What [`drive`] needs besides the simulation.
pub struct Drive<'a> {
    /// The run directory (it exists).
    pub dir: &'a Path,
    /// The step the run ends at.
    pub end: u64,
    /// Whether the run continues a checkpoint (its metrics are appended to).
    pub resumed: bool,
    /// How progress is shown.
    pub progress: Progress,
    /// Set by Ctrl-C and SIGTERM.
    pub stop: &'a AtomicBool,
}

/// Run `sim` to `d.end`, writing everything the run directory holds. A failed or
/// interrupted run still writes its metrics and summary (an interrupted one also a final
/// checkpoint), then returns the error ([`Interrupted`] for a signal).
pub fn drive(sim: &mut Simulation, d: &Drive<'_>) -> Result<Summary> {
    let params = sim.params().clone();
    let out = &params.output;
    let every = u64::from(out.metrics_every);
    let checkpoint_every = out.checkpoint_every;
    let snapshot_every = out.snapshot_every;
    let keep_last = out.keep_last as usize;
    let end = d.end;

    let metrics_path = d.dir.join("metrics.csv");
    let append = d.resumed && metrics_path.exists();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(&metrics_path)
        .context("cannot open metrics.csv")?;
    let mut csv = BufWriter::new(file);
    if !append {
        writeln!(csv, "{}", StepMetrics::csv_header())?;
    }
    let writer = if checkpoint_every > 0 {
        Some(crate::checkpoints::Writer::start(d.dir.join("checkpoints"), keep_last)?)
    } else {
        None
    };
    if snapshot_every > 0 {
        let ws = d.dir.join("workspace");
        std::fs::create_dir_all(&ws).with_context(|| format!("cannot create {}", ws.display()))?;
        if !d.resumed {
            crate::outputs::write_workspace_image(sim, &ws)?;
        }
    }
    let first = sim.current_step();
    let bar = if d.progress == Progress::Bar && end > first {
        let b = ProgressBar::new(end - first);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let loop_start = Instant::now();
    let mut last_log = Instant::now();
    let mut each = |sim: &Simulation, m: &StepMetrics| -> Result<()> {
        let interrupted = d.stop.load(Ordering::Relaxed);
        if m.step % every == 0 || m.step + 1 == end || interrupted {
            m.write_csv_row(&mut csv)?;
        }
        if interrupted {
            return Err(Interrupted.into());
        }
        if snapshot_every > 0 && (m.step + 1) % snapshot_every == 0 {
            crate::outputs::write_workspace_image(sim, &d.dir.join("workspace"))?;
        }
        if let Some(w) = &writer {
            if (m.step + 1) % checkpoint_every == 0 {
                // Everything written so far belongs with the checkpoint: flush the metrics.
                csv.flush().context("cannot write metrics.csv")?;
                // The stepper's stall: the copy of the state (and a wait while the previous
                // checkpoint is still being written).
                let t = Instant::now();
                let c = sim.checkpoint();
                w.send(c, t.elapsed().as_secs_f64())?;
            }
        }
        let nodes = || m.energy.iter().map(|s| s.count).sum::<u64>();
        if let Some(b) = &bar {
            b.inc(1);
            if m.step % 64 == 0 {
                b.set_message(format!("{} nodes, {} edges", nodes(), m.edges));
            }
        } else if d.progress == Progress::Lines && last_log.elapsed() > Duration::from_secs(10) {
            last_log = Instant::now();
            tracing::info!(step = m.step, end, nodes = nodes(), edges = m.edges, "running");
        }
        Ok(())
    };
    let outcome = sim.run_until(end, &mut each);
    let wall = loop_start.elapsed().as_secs_f64();
    let interrupted = matches!(&outcome, Err(e) if e.is::<Interrupted>());
    // A failed run still leaves its metrics and summary (then reports the failure).
    let mut failure: Option<anyhow::Error> = None;
    if interrupted {
        // Keep everything computed: a final checkpoint of the state after the last step.
        let t = Instant::now();
        let c = sim.checkpoint();
        let final_writer = match writer {
            Some(w) => w,
            None => crate::checkpoints::Writer::start(d.dir.join("checkpoints"), keep_last)?,
        };
        final_writer.send(c, t.elapsed().as_secs_f64())?;
        final_writer.finish()?;
    } else {
        let written = writer.map_or(Ok(()), crate::checkpoints::Writer::finish);
        failure = outcome.err().or(written.err());
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    csv.flush().context("cannot write metrics.csv")?;
    drop(csv);
    let summary = sim.summary(wall, sim.current_step() - first);
    let text = serde_json::to_string_pretty(&summary)?;
    std::fs::write(d.dir.join("summary.json"), format!("{text}\n")).context("cannot write summary.json")?;
    crate::outputs::write_final(sim, d.dir)?;
    if let Some(e) = failure {
        if d.progress != Progress::Quiet {
            tracing::error!(
                "the run stopped after step {}; wrote the metrics and the summary to {}",
                summary.step,
                d.dir.display()
            );
        }
        return Err(e);
    }
    if interrupted {
        return Err(Interrupted.into());
    }
    Ok(summary)
}
