//! `neuroflux run` and `neuroflux validate`.

use crate::execute::{Drive, Interrupted, Progress};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuroflux::config::{absolute, GraphFormat, PlotFormat};
use neuroflux::{Config, Simulation};
use std::io::IsTerminal;
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
    #[command(flatten)]
    overrides: Overrides,
}

/// Command-line values that replace a configuration's (data paths among them: those are
/// taken as given, relative to the working directory).
#[derive(clap::Args, Default, Clone)]
pub struct Overrides {
    /// Image file or directory for the `image` input pattern (sets `input.path` and
    /// `input.pattern = "image"`).
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Load the initial graph from an edge list or GraphML file (`graph.initial_graph`).
    #[arg(long, value_name = "PATH")]
    pub initial_graph: Option<PathBuf>,
    /// Draw plots of the main metrics when the run ends (`output.plots`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub plots: Option<PlotArg>,
    /// An image of the workspace grid every N steps (`output.snapshot_every`).
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<u64>,
    /// Write the final graph as `graph.graphml` or `graph.dot` (`output.graph`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub graph: Option<GraphArg>,
    /// Write `graph-stats.json` for the final graph (`output.graph_stats`).
    #[arg(long)]
    pub graph_stats: bool,
}

/// `--plots`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PlotArg {
    /// PNG images.
    Png,
    /// SVG drawings.
    Svg,
}

/// `--graph`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum GraphArg {
    /// GraphML.
    Graphml,
    /// Graphviz DOT.
    Dot,
}

impl Overrides {
    /// Apply to `c`; the data path fields set here (for [`Config::resolve_paths`]).
    pub fn apply(&self, c: &mut Config) -> Vec<&'static str> {
        let mut given = Vec::new();
        if let Some(p) = &self.input {
            c.input.path = absolute(p).display().to_string();
            c.input.pattern = neuroflux::config::Pattern::Image;
            given.push("input.path");
        }
        if let Some(p) = &self.initial_graph {
            c.graph.initial_graph = absolute(p).display().to_string();
            given.push("graph.initial_graph");
        }
        if let Some(f) = self.plots {
            c.output.plots = match f {
                PlotArg::Png => PlotFormat::Png,
                PlotArg::Svg => PlotFormat::Svg,
            };
        }
        if let Some(n) = self.snapshot_every {
            c.output.snapshot_every = n;
        }
        if let Some(f) = self.graph {
            c.output.graph = match f {
                GraphArg::Graphml => GraphFormat::Graphml,
                GraphArg::Dot => GraphFormat::Dot,
            };
        }
        if self.graph_stats {
            c.output.graph_stats = true;
        }
        given
    }
}

/// Load `path`, apply `edit` (command-line values; it returns the data path fields it set),
/// resolve the other data paths against the file's directory, and validate: every problem
/// at once.
pub fn load_config(path: &Path, edit: impl FnOnce(&mut Config) -> Vec<&'static str>) -> Result<neuroflux::Params> {
    let mut cfg = Config::load(path)?;
    let given = edit(&mut cfg);
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let issues = cfg.resolve_paths(base, &given);
    cfg.validate_with(issues).with_context(|| {
        format!(
            "{} is not a valid configuration (fix the fields listed, then run `neuroflux validate {}`)",
            path.display(),
            path.display()
        )
    })
}

/// `neuroflux validate CONFIG`: the configuration, its data paths, and its input and initial
/// graph files (read and checked as a run would).
pub fn validate(path: &Path) -> Result<()> {
    let p = load_config(path, |_| Vec::new())?;
    let input = neuroflux::io::input::Input::from_params(&p).context("the input cannot be used")?;
    let frames = if input.frames() > 0 { format!("; {} input frame(s)", input.frames()) } else { String::new() };
    let graph = if p.graph.initial_graph.is_empty() {
        String::new()
    } else {
        let store = neuroflux::io::graph_file::load(&p).context("the initial graph cannot be used")?;
        format!(
            "; initial graph {}: {} nodes, {} edges",
            p.graph.initial_graph,
            store.nodes().len(),
            store.edges().count()
        )
    };
    println!(
        "{}: valid ({} sensory, {} dynamic, {} workspace nodes; {} steps{frames}{graph})",
        path.display(),
        p.n_sensory(),
        p.graph.n_dynamic,
        p.n_workspace(),
        p.run.steps
    );
    Ok(())
}

/// The run directory: `--out`, else the configuration's `output.dir`, else
/// `runs/<config name>-<UTC timestamp>`; it must not exist or be empty.
fn run_dir(args: &RunArgs, params: &neuroflux::Params, config: &Path) -> Result<PathBuf> {
    let dir = match (&args.out, params.output.dir.as_str()) {
        (Some(d), _) => d.clone(),
        (None, d) if !d.is_empty() => PathBuf::from(d),
        (None, _) => {
            let name = config.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
            PathBuf::from("runs").join(format!("{name}-{}", crate::util::timestamp()))
        }
    };
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("run directory {} already exists and is not empty; choose another with --out", dir.display());
    }
    Ok(dir)
}

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
        let params = load_config(&config, |c| {
            override_output(c, &args);
            args.overrides.apply(c)
        })?;
        let dir = run_dir(&args, &params, &config)?;
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
        let resolved = params.config().to_toml_string()?;
        let sim = Simulation::new(params, args.threads, &progress)?;
        spinner.finish_and_clear();
        crate::execute::create_run_dir(&dir, &resolved)?;
        (sim, dir, false)
    };
    let params = sim.params().clone();
    let end = args.steps.unwrap_or(params.run.steps);
    if end < sim.current_step() {
        bail!("the checkpoint is at step {}, past the end step {end} (--steps)", sim.current_step());
    }
    let build_s = started.elapsed().as_secs_f64();
    tracing::info!(
        nodes = sim.store().nodes().len(),
        edges = sim.store().edges().count(),
        backend = sim.backend(),
        threads = sim.threads(),
        "{} in {build_s:.3} s; running from step {} to step {end} in {}",
        if resumed { "loaded the checkpoint" } else { "built the initial graph" },
        sim.current_step(),
        dir.display()
    );

    let progress = if terminal { Progress::Bar } else { Progress::Lines };
    let d = Drive { dir: &dir, end, resumed, progress, stop: &stop };
    match crate::execute::drive(&mut sim, &d) {
        Ok(summary) => {
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
        Err(e) if e.is::<Interrupted>() => {
            tracing::warn!(
                "interrupted after step {}: wrote the metrics, the summary and a checkpoint to {}; continue with `neuroflux run --resume {}`",
                sim.current_step(),
                dir.display(),
                dir.display()
            );
            Err(e)
        }
        Err(e) => Err(e),
    }
}
