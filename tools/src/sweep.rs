//! `neuroflux sweep SWEEP.toml`: every combination of the listed parameter values and
//! seeds, each a full run in its own directory named by its values, run in parallel within
//! a thread budget; `sweep.csv` gathers one row per point. Points already complete (their
//! `summary.json` at the end step, their `config.toml` the same) are skipped, so re-running
//! a sweep finishes what an earlier one left.

use crate::execute::{Drive, Interrupted, Progress};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use neuroflux::{Config, Params, Simulation};
use serde::Deserialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Arguments of `neuroflux sweep`.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// The sweep file (TOML; see docs/CONFIG.md, "Sweeps").
    sweep: PathBuf,
    /// Where the point directories and `sweep.csv` go (default: runs/sweep-<sweep name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Thread budget (default: the sweep's `threads`, else one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Validate every point and list the points (complete or to run), without running.
    #[arg(long)]
    dry_run: bool,
}

/// The sweep file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    /// The base configuration, relative to the sweep file (it may be anywhere).
    base: String,
    /// Seeds (`run.seed`) each combination runs with; default: the base's seed.
    #[serde(default)]
    seeds: Vec<u64>,
    /// The end step of every point (default: the base's `run.steps`).
    steps: Option<u64>,
    /// Thread budget.
    threads: Option<usize>,
    /// `output.plots` of every point (`png` or `svg`; default: the base's).
    plots: Option<String>,
    /// Dotted field name -> list of values, or a range table.
    #[serde(default)]
    parameters: toml::Table,
}

/// One point of the sweep.
struct Point {
    /// Its values, in parameter order, as written in names and `sweep.csv`.
    values: Vec<(String, String)>,
    dir: PathBuf,
    params: Params,
    /// The resolved configuration text (written as the point's `config.toml`).
    config_text: String,
}

/// The values a parameter entry lists: an array, or `{ from, to, step }` (inclusive) or
/// `{ from, to, count }` (evenly spaced, both ends included).
fn expand(name: &str, v: &toml::Value) -> Result<Vec<toml::Value>> {
    use toml::Value as V;
    match v {
        V::Array(a) if !a.is_empty() => Ok(a.clone()),
        V::Array(_) => bail!("parameter {name}: the list of values is empty"),
        V::Table(t) => {
            let keys: Vec<&str> = t.keys().map(String::as_str).collect();
            let num = |k: &str| -> Result<f64> {
                match t.get(k) {
                    Some(V::Integer(i)) => Ok(*i as f64),
                    Some(V::Float(f)) => Ok(*f),
                    _ => bail!("parameter {name}: a range needs a number `{k}` (has {})", keys.join(", ")),
                }
            };
            let all_int = ["from", "to", "step"].iter().all(|k| !matches!(t.get(*k), Some(V::Float(_))));
            let (from, to) = (num("from")?, num("to")?);
            if let Some(unknown) = keys.iter().find(|k| !["from", "to", "step", "count"].contains(k)) {
                bail!("parameter {name}: unknown range key `{unknown}` (use from, to, and step or count)");
            }
            let values: Vec<f64> = match (t.contains_key("step"), t.get("count")) {
                (true, None) => {
                    let step = num("step")?;
                    if !(step > 0.0) || to < from {
                        bail!("parameter {name}: a range needs step > 0 and from <= to");
                    }
                    let n = ((to - from) / step + 1e-9).floor() as usize + 1;
                    if n > 100_000 {
                        bail!("parameter {name}: the range has {n} values");
                    }
                    (0..n).map(|i| from + step * i as f64).collect()
                }
                (false, Some(V::Integer(c))) if *c >= 1 && *c <= 100_000 => {
                    let c = *c as usize;
                    (0..c).map(|i| if c == 1 { from } else { from + (to - from) * i as f64 / (c - 1) as f64 }).collect()
                }
                _ => bail!("parameter {name}: a range needs exactly one of `step` (> 0) or `count` (1 to 100,000)"),
            };
            // Twelve significant digits: 0.1 + 0.1 * 2 is written 0.3, not 0.30000000000000004.
            let values = values.into_iter().map(|x| format!("{x:.11e}").parse::<f64>().unwrap_or(x));
            Ok(values
                .map(|x| if all_int && t.contains_key("step") { V::Integer(x.round() as i64) } else { V::Float(x) })
                .collect())
        }
        other => Ok(vec![other.clone()]),
    }
}

/// Set the dotted field `name` of a configuration table.
fn set_field(table: &mut toml::Table, name: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = name.split('.').collect();
    let (last, sections) = parts.split_last().context("an empty parameter name")?;
    let mut t = table;
    for s in sections {
        t = t
            .entry(s.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("parameter {name}: `{s}` is not a section"))?;
    }
    t.insert(last.to_string(), value);
    Ok(())
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A directory name part: letters, digits and `.-+` kept, anything else `_`.
fn name_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || ".-+".contains(c) { c } else { '_' }).collect()
}

/// Every point, validated (all problems of all points reported at once).
fn points(sweep_path: &Path, file: &SweepFile, out: &Path) -> Result<Vec<Point>> {
    let sweep_dir = sweep_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base_path = sweep_dir.join(&file.base);
    let base_text = std::fs::read_to_string(&base_path)
        .with_context(|| format!("cannot read the base configuration {}", base_path.display()))?;
    let base: toml::Table = toml::from_str(&base_text)
        .with_context(|| format!("cannot parse the base configuration {}", base_path.display()))?;
    // The base is a configuration in its own right.
    crate::run::load_config(&base_path, |_| Vec::new())
        .with_context(|| format!("the base configuration {} is not valid", base_path.display()))?;
    let base_seed = base.get("run").and_then(|r| r.get("seed")).and_then(toml::Value::as_integer).unwrap_or(0) as u64;
    let seeds = if file.seeds.is_empty() { vec![base_seed] } else { file.seeds.clone() };
    let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
    for (name, v) in &file.parameters {
        axes.push((name.clone(), expand(name, v)?));
    }
    let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (name, values) in &axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((name.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    let mut pts = Vec::new();
    let mut problems = Vec::new();
    for combo in &combos {
        for &seed in &seeds {
            let mut values: Vec<(String, String)> = combo.iter().map(|(k, v)| (k.clone(), value_text(v))).collect();
            values.push(("seed".into(), seed.to_string()));
            let label = values.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
            let name =
                values.iter().map(|(k, v)| format!("{}={}", name_part(k), name_part(v))).collect::<Vec<_>>().join("_");
            let built = (|| -> Result<(Params, String)> {
                let mut t = base.clone();
                for (k, v) in combo {
                    set_field(&mut t, k, v.clone())?;
                }
                set_field(&mut t, "run.seed", toml::Value::Integer(seed as i64))?;
                if let Some(p) = &file.plots {
                    set_field(&mut t, "output.plots", toml::Value::String(p.clone()))?;
                }
                if let Some(s) = file.steps {
                    set_field(&mut t, "run.steps", toml::Value::Integer(s as i64))?;
                }
                let mut cfg: Config = Config::from_toml_str(&toml::to_string(&t)?, &base_path.display().to_string())?;
                cfg.output.dir.clear();
                let issues = cfg.resolve_paths(base_path.parent().unwrap_or(Path::new(".")), &[]);
                let params = cfg.validate_with(issues)?;
                let text = params.config().to_toml_string()?;
                Ok((params, text))
            })();
            match built {
                Ok((params, config_text)) => pts.push(Point { values, dir: out.join(&name), config_text, params }),
                Err(e) => problems.push(format!("point {label}: {e:#}")),
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} of {} sweep points are not valid (nothing was run):\n{}",
            problems.len(),
            combos.len() * seeds.len(),
            problems.join("\n")
        );
    }
    Ok(pts)
}

/// What became of a point.
enum Status {
    /// Complete before this sweep started.
    Skipped,
    /// Run now.
    Done,
    /// Failed (the message).
    Failed(String),
    /// Not run (the sweep was interrupted).
    NotRun,
}

/// Whether a point's directory holds its complete run; an error if it holds another
/// configuration's run.
fn complete(p: &Point) -> Result<bool> {
    if !p.dir.exists() {
        return Ok(false);
    }
    let cfg = std::fs::read_to_string(p.dir.join("config.toml")).unwrap_or_default();
    if cfg != p.config_text {
        if std::fs::read_dir(&p.dir).map(|mut d| d.next().is_none()).unwrap_or(false) {
            return Ok(false);
        }
        bail!(
            "{} holds a run of another configuration (the sweep file changed?); move it away or choose another --out",
            p.dir.display()
        );
    }
    let summary: Option<serde_json::Value> =
        std::fs::read_to_string(p.dir.join("summary.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    Ok(summary.and_then(|s| s["step"].as_u64()) == Some(p.params.run.steps))
}

fn run_point(p: &Point, threads: usize, stop: &AtomicBool) -> Result<()> {
    if p.dir.exists() {
        // An incomplete run of the same configuration: start it again.
        std::fs::remove_dir_all(&p.dir).with_context(|| format!("cannot clear {}", p.dir.display()))?;
    }
    let mut sim = Simulation::new(p.params.clone(), Some(threads), &|_| {})?;
    crate::execute::create_run_dir(&p.dir, &p.config_text)?;
    let d = Drive { dir: &p.dir, end: p.params.run.steps, resumed: false, progress: Progress::Quiet, stop };
    crate::execute::drive(&mut sim, &d).map(|_| ())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The final metrics of `sweep.csv`, as paths into `summary.json`.
const RESULT_COLUMNS: [(&str, &[&str]); 15] = [
    ("step", &["step"]),
    ("nodes_sensory", &["nodes", "sensory"]),
    ("nodes_dynamic", &["nodes", "dynamic"]),
    ("nodes_workspace", &["nodes", "workspace"]),
    ("edges", &["edges"]),
    ("energy_total", &["energy", "total"]),
    ("energy_dynamic", &["energy", "dynamic"]),
    ("energy_workspace", &["energy", "workspace"]),
    ("births", &["births"]),
    ("deaths", &["deaths"]),
    ("edges_added", &["edges_added"]),
    ("edges_culled", &["edges_culled"]),
    ("state_hash", &["state_hash"]),
    ("steps_per_second", &["steps_per_second"]),
    ("wall_seconds", &["wall_seconds"]),
];

fn write_csv(out: &Path, pts: &[Point], status: &[Status]) -> Result<()> {
    let mut s = String::from("point,dir");
    if let Some(p) = pts.first() {
        for (k, _) in &p.values {
            s.push(',');
            s.push_str(&csv_field(k));
        }
    }
    s.push_str(",status");
    for (c, _) in RESULT_COLUMNS {
        s.push(',');
        s.push_str(c);
    }
    s.push('\n');
    for (i, (p, st)) in pts.iter().zip(status).enumerate() {
        let dir = p.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        s.push_str(&format!("{i},{}", csv_field(&dir)));
        for (_, v) in &p.values {
            s.push(',');
            s.push_str(&csv_field(v));
        }
        let status = match st {
            Status::Skipped => "complete (earlier sweep)".to_string(),
            Status::Done => "complete".to_string(),
            Status::Failed(m) => format!("failed: {m}"),
            Status::NotRun => "not run".to_string(),
        };
        s.push(',');
        s.push_str(&csv_field(&status));
        let summary: Option<serde_json::Value> = match st {
            Status::Skipped | Status::Done => {
                std::fs::read_to_string(p.dir.join("summary.json")).ok().and_then(|t| serde_json::from_str(&t).ok())
            }
            _ => None,
        };
        for (_, path) in RESULT_COLUMNS {
            s.push(',');
            if let Some(sm) = &summary {
                let v = path.iter().fold(sm, |v, k| &v[*k]);
                s.push_str(&csv_field(&match v {
                    serde_json::Value::String(x) => x.clone(),
                    other => other.to_string(),
                }));
            }
        }
        s.push('\n');
    }
    let path = out.join("sweep.csv");
    std::fs::write(&path, s).with_context(|| format!("cannot write {}", path.display()))
}

/// `neuroflux sweep`.
pub fn sweep(args: SweepArgs) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install the signal handlers")?;
    }
    let text = std::fs::read_to_string(&args.sweep).with_context(|| format!("cannot read {}", args.sweep.display()))?;
    let file: SweepFile =
        toml::from_str(&text).with_context(|| format!("cannot parse sweep {}", args.sweep.display()))?;
    let out = args.out.clone().unwrap_or_else(|| {
        let name = args.sweep.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into());
        PathBuf::from("runs").join(format!("sweep-{name}"))
    });
    let pts = points(&args.sweep, &file, &out)?;
    let mut status: Vec<Status> = Vec::with_capacity(pts.len());
    for p in &pts {
        status.push(if complete(p)? { Status::Skipped } else { Status::NotRun });
    }
    if args.dry_run {
        for (p, st) in pts.iter().zip(&status) {
            let what = if matches!(st, Status::Skipped) { "complete" } else { "to run" };
            println!("{} ({what})", p.dir.display());
        }
        println!(
            "{} valid points, {} to run",
            pts.len(),
            status.iter().filter(|s| matches!(s, Status::NotRun)).count()
        );
        return Ok(());
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::write(out.join("sweep.toml"), &text).context("cannot write sweep.toml")?;
    let todo: Vec<usize> = (0..pts.len()).filter(|&i| matches!(status[i], Status::NotRun)).collect();
    let budget = args
        .threads
        .or(file.threads)
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let per_point = if todo.is_empty() { 1 } else { (budget / todo.len()).max(1) };
    let workers = (budget / per_point).clamp(1, todo.len().max(1));
    tracing::info!(
        points = pts.len(),
        skipped = pts.len() - todo.len(),
        workers,
        threads_per_point = per_point,
        "sweep {} into {}",
        args.sweep.display(),
        out.display()
    );
    let bar = if std::io::stderr().is_terminal() && !todo.is_empty() {
        let b = ProgressBar::new(todo.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} points  eta {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Status)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in 0..workers {
            let (next, results, pts, todo, stop, bar) = (&next, &results, &pts, &todo, &*stop, &bar);
            let spawned =
                std::thread::Builder::new().name(format!("neuroflux-sweep-{w}")).spawn_scoped(s, move || loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = todo.get(k) else { break };
                    let p = &pts[i];
                    let label = p.values.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
                    let st = match run_point(p, per_point, stop) {
                        Ok(()) => Status::Done,
                        Err(e) if e.is::<Interrupted>() => Status::NotRun,
                        Err(e) => Status::Failed(format!("{e:#}")),
                    };
                    match (&st, bar) {
                        (Status::Failed(m), _) => tracing::error!("point {label} failed: {m}"),
                        (Status::Done, Some(b)) => {
                            b.inc(1);
                            b.set_message(label);
                        }
                        (Status::Done, None) => tracing::info!("point {label} done ({})", p.dir.display()),
                        _ => {}
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push((i, st));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a sweep worker thread: {e}");
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (i, st) in results.into_inner().unwrap_or_default() {
        status[i] = st;
    }
    write_csv(&out, &pts, &status)?;
    let failed = status.iter().filter(|s| matches!(s, Status::Failed(_))).count();
    let not_run = status.iter().filter(|s| matches!(s, Status::NotRun)).count();
    let skipped = status.iter().filter(|s| matches!(s, Status::Skipped)).count();
    tracing::info!(
        "sweep: {} points, {} run now, {skipped} complete before, {failed} failed, {not_run} not run; wrote {}",
        pts.len(),
        pts.len() - failed - not_run - skipped,
        out.join("sweep.csv").display()
    );
    if stop.load(Ordering::Relaxed) {
        return Err(Interrupted.into());
    }
    if failed > 0 {
        bail!("{failed} of {} sweep points failed (see sweep.csv)", pts.len());
    }
    Ok(())
}
