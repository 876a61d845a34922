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
    /// The configuration (TOML).
    config: PathBuf,
    /// The step at which the run ends (default: the configuration's `run.steps`).
    #[arg(long)]
    steps: Option<u64>,
    /// The run directory (default: runs/<config name>-<UTC timestamp>); must not exist or be empty.
    #[arg(long)]
    out: Option<PathBuf>,
    /// CPU threads (default: the configuration's `run.threads`; 0 = one per core).
    #[arg(long)]
    threads: Option<usize>,
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

fn run_dir(args: &RunArgs) -> Result<PathBuf> {
    let dir = match &args.out {
        Some(d) => d.clone(),
        None => {
            let name =
                args.config.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
            PathBuf::from("runs").join(format!("{name}-{}", crate::util::timestamp()))
        }
    };
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("run directory {} already exists and is not empty; choose another with --out", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create run directory {}", dir.display()))?;
    Ok(dir)
}

/// `neuroflux run CONFIG`.
pub fn run(args: RunArgs) -> Result<()> {
    let params = load(&args.config)?;
    let end = args.steps.unwrap_or(params.run.steps);
    let dir = run_dir(&args)?;
    std::fs::write(dir.join("config.toml"), params.config().to_toml_string()).context("cannot write config.toml")?;
    let every = u64::from(params.output.metrics_every);
    let terminal = std::io::stderr().is_terminal();

    let started = Instant::now();
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
    let mut sim = Simulation::new(params, args.threads, &progress)?;
    spinner.finish_and_clear();
    let build_s = started.elapsed().as_secs_f64();
    tracing::info!(
        nodes = sim.store().nodes().len(),
        edges = sim.store().edges().len(),
        backend = sim.backend(),
        threads = sim.threads(),
        "built the initial graph in {build_s:.3} s; running to step {end} in {}",
        dir.display()
    );

    let file = std::fs::File::create(dir.join("metrics.csv")).context("cannot create metrics.csv")?;
    let mut csv = BufWriter::new(file);
    writeln!(csv, "{}", neuroflux::io::metrics::StepMetrics::csv_header())?;
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
    let mut each = |_: &Simulation, m: &neuroflux::io::metrics::StepMetrics| -> Result<()> {
        if m.step % every == 0 || m.step + 1 == end {
            m.write_csv_row(&mut csv)?;
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
    sim.run_until(end, &mut each)?;
    let wall = loop_start.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    csv.flush().context("cannot write metrics.csv")?;
    let summary = sim.summary(wall, sim.current_step() - first);
    let text = serde_json::to_string_pretty(&summary)?;
    std::fs::write(dir.join("summary.json"), format!("{text}\n")).context("cannot write summary.json")?;
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
