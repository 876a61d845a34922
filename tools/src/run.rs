//! `neuroflux run` and `neuroflux validate`.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuroflux::{Config, Simulation};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Arguments of `neuroflux run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The configuration (TOML); not with --resume, which continues the checkpoint's.
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// The step at which the run ends (default: the configuration's `run.steps`); resuming
    /// with the same value finishes the same run.
    #[arg(long)]
    steps: Option<u64>,
    /// The run directory (default: runs/<config name>-<UTC timestamp>); must not exist or be empty.
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// CPU threads (default: the configuration's `run.threads`; 0 = one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Write a checkpoint every N steps into the run's `checkpoints/` (default: the
    /// configuration's `output.checkpoint_every`; 0: none).
    #[arg(long, value_name = "N")]
    checkpoint_every: Option<u64>,
    /// Keep the newest K checkpoints (default: the configuration's `output.keep_last`).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    keep_last: Option<u32>,
    /// Where growth proposals are computed: `inline` or `thread` (the connection worker
    /// thread); both give the same results (default: the configuration's `run.worker`).
    #[arg(long, value_parser = ["inline", "thread"])]
    worker: Option<String>,
    /// Continue a run from a checkpoint file or a run directory (its newest checkpoint),
    /// in that run's directory, appending to its metrics.
    #[arg(long, value_name = "CHECKPOINT_OR_RUN_DIR")]
    resume: Option<PathBuf>,
}

fn load(path: &Path) -> Result<neuroflux::Params> {
    let cfg = Config::load(path)?;
    cfg.validate().with_context(|| {
        format!(
            "{} is not a valid configuration (fix the fields listed, then run `neuroflux validate {}`)",
            path.display(),
            path.display()
        )
    })
}

/// `neuroflux validate CONFIG`.
pub fn validate(path: &Path) -> Result<()> {
    let p = load(path)?;
    println!(
        "{}: valid ({} sensory, {} dynamic, {} workspace nodes; {} steps)",
        path.display(),
        p.n_sensory(),
        p.graph.n_dynamic,
        p.n_workspace(),
        p.run.steps
    );
    Ok(())
}

fn run_dir(args: &RunArgs, config: &Path) -> Result<PathBuf> {
    let dir = match &args.out {
        Some(d) => d.clone(),
        None => {
            let name = config.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
            PathBuf::from("runs").join(format!("{name}-{}", crate::util::timestamp()))
        }
    };
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("run directory {} already exists and is not empty; choose another with --out", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create run directory {}", dir.display()))?;
    Ok(dir)
}

/// The run stopped on Ctrl-C or SIGTERM after saving (the binary exits with status 130).
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted by a signal (state saved)")
    }
}

impl std::error::Error for Interrupted {}

/// The command line's checkpoint and worker settings become part of the resolved
/// configuration, so that checkpoints carry them and a resumed run keeps them.
fn override_output(c: &mut Config, args: &RunArgs) {
    if let Some(n) = args.checkpoint_every {
        c.output.checkpoint_every = n;
    }
    if let Some(k) = args.keep_last {
        c.output.keep_last = k;
    }
    if let Some(w) = &args.worker {
        c.run.worker = w.clone();
    }
}

/// Keep the header and the rows of steps before `step` in a run's `metrics.csv` (the rows a
/// resumed run will write again).
fn truncate_metrics(path: &Path, step: u64) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut kept = String::new();
    for (i, line) in text.lines().enumerate() {
        let row_step = line.split(',').next().and_then(|s| s.parse::<u64>().ok());
        if i == 0 || row_step.is_some_and(|s| s < step) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    std::fs::write(path, kept).with_context(|| format!("cannot rewrite {}", path.display()))
}

/// `neuroflux run CONFIG` and `neuroflux run --resume CHECKPOINT_OR_RUN_DIR`.
pub fn run(args: RunArgs) -> Result<()> {
    // Ctrl-C and SIGTERM set a flag; the run stops after the step in progress and saves.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install the signal handlers")?;
    }
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let (mut sim, dir, resumed) = if let Some(from) = &args.resume {
        let (path, dir) = crate::checkpoints::locate(from)?;
        let mut c = neuroflux::checkpoint::Checkpoint::read(&path, None)
            .with_context(|| format!("cannot resume from {}", path.display()))?;
        override_output(&mut c.config, &args);
        tracing::info!(step = c.step, "resuming from {} in {}", path.display(), dir.display());
        let sim = Simulation::from_checkpoint(c, args.threads)?;
        let metrics = dir.join("metrics.csv");
        if metrics.exists() {
            truncate_metrics(&metrics, sim.current_step())?;
        }
        (sim, dir, true)
    } else {
        let config = args.config.clone().context("a configuration or --resume is required")?;
        let mut cfg = Config::load(&config)?;
        override_output(&mut cfg, &args);
        let params = cfg.validate().with_context(|| {
            format!(
                "{} is not a valid configuration (fix the fields listed, then run `neuroflux validate {}`)",
                config.display(),
                config.display()
            )
        })?;
        let dir = run_dir(&args, &config)?;
        std::fs::write(dir.join("config.toml"), params.config().to_toml_string())
            .context("cannot write config.toml")?;
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} building the initial graph: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let shown = Mutex::new(false);
        let progress = |phase: &str| {
            spinner.set_message(phase.to_string());
            if started.elapsed() > Duration::from_secs(1) {
                if let Ok(mut s) = shown.lock() {
                    if !*s && terminal {
                        spinner.set_draw_target(ProgressDrawTarget::stderr());
                        spinner.enable_steady_tick(Duration::from_millis(120));
                        *s = true;
                    }
                }
                if !terminal {
                    tracing::info!("building the initial graph: {phase}");
                }
            }
        };
        let sim = Simulation::new(params, args.threads, &progress)?;
        spinner.finish_and_clear();
        (sim, dir, false)
    };
    let params = sim.params().clone();
    let end = args.steps.unwrap_or(params.run.steps);
    if end < sim.current_step() {
        bail!("the checkpoint is at step {}, past the end step {end} (--steps)", sim.current_step());
    }
    let every = u64::from(params.output.metrics_every);
    let checkpoint_every = params.output.checkpoint_every;
    let keep_last = params.output.keep_last as usize;
    let build_s = started.elapsed().as_secs_f64();
    tracing::info!(
        nodes = sim.store().nodes().len(),
        edges = sim.store().edges().len(),
        backend = sim.backend(),
        threads = sim.threads(),
        "{} in {build_s:.3} s; running from step {} to step {end} in {}",
        if resumed { "loaded the checkpoint" } else { "built the initial graph" },
        sim.current_step(),
        dir.display()
    );

    let metrics_path = dir.join("metrics.csv");
    let append = resumed && metrics_path.exists();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(&metrics_path)
        .context("cannot open metrics.csv")?;
    let mut csv = BufWriter::new(file);
    if !append {
        writeln!(csv, "{}", neuroflux::io::metrics::StepMetrics::csv_header())?;
    }
    let writer = if checkpoint_every > 0 {
        Some(crate::checkpoints::Writer::start(dir.join("checkpoints"), keep_last)?)
    } else {
        None
    };
    let first = sim.current_step();
    let bar = if terminal && end > first {
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
    let mut each = |sim: &Simulation, m: &neuroflux::io::metrics::StepMetrics| -> Result<()> {
        let interrupted = stop.load(std::sync::atomic::Ordering::Relaxed);
        if m.step % every == 0 || m.step + 1 == end || interrupted {
            m.write_csv_row(&mut csv)?;
        }
        if interrupted {
            return Err(Interrupted.into());
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
        if let Some(b) = &bar {
            b.inc(1);
            if m.step % 64 == 0 {
                b.set_message(format!("{} nodes, {} edges", m.energy.iter().map(|s| s.count).sum::<u64>(), m.edges));
            }
        } else if last_log.elapsed() > Duration::from_secs(10) {
            last_log = Instant::now();
            tracing::info!(
                step = m.step,
                nodes = m.energy.iter().map(|s| s.count).sum::<u64>(),
                edges = m.edges,
                "running"
            );
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
            None => crate::checkpoints::Writer::start(dir.join("checkpoints"), keep_last)?,
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
    let summary = sim.summary(wall, sim.current_step() - first);
    let text = serde_json::to_string_pretty(&summary)?;
    std::fs::write(dir.join("summary.json"), format!("{text}\n")).context("cannot write summary.json")?;
    if let Some(e) = failure {
        tracing::error!(
            "the run stopped after step {}; wrote the metrics and the summary to {}",
            summary.step,
            dir.display()
        );
        return Err(e);
    }
    if interrupted {
        tracing::warn!(
            "interrupted after step {}: wrote the metrics, the summary and a checkpoint to {}; continue with `neuroflux run --resume {}`",
            summary.step,
            dir.display(),
            dir.display()
        );
        return Err(Interrupted.into());
    }
    tracing::info!(
        "finished at step {}: {} nodes, {} edges, {:.0} steps/s, state_hash {}; wrote {}",
        summary.step,
        summary.nodes.sensory + summary.nodes.dynamic + summary.nodes.workspace,
        summary.edges,
        summary.steps_per_second,
        summary.state_hash,
        dir.display()
    );
    Ok(())
}
