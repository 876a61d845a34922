//! `neuroflux bench`: the standard workloads of BENCH.md, each record with build and
//! stepping timed apart, the reference loop timed in the same run on the same graph and
//! threads, the machine's own bandwidth bound, peak memory and the phase shares; a Markdown
//! table on standard output, the records as JSON lines, and a plot for `scale`.

mod ckpt;
mod dense;
mod machine;
mod measure;
mod model;
mod plot;
mod record;
mod workloads;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use record::Record;
use workloads::NAMES;

/// Arguments of `neuroflux bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Workloads to run, in the order given (default: all of seed-medium, dense-100k,
    /// dense-1m, churn-100k, full-1m, scale, checkpoint-10m).
    #[arg(long = "workload", value_name = "NAME")]
    workloads: Vec<String>,
    /// CPU threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also write the records as JSON lines to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Directory for records.jsonl, table.md and scale.png.
    #[arg(long, value_name = "DIR", default_value = "runs/bench")]
    out: PathBuf,
    /// Timed steps of every workload (default: each workload's own, BENCH.md).
    #[arg(long)]
    steps: Option<u64>,
    /// Repetitions of seed-medium (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Nodes of dense-100k, dense-1m, churn-100k and the dynamic nodes of full-1m (default:
    /// each workload's own).
    #[arg(long)]
    nodes: Option<usize>,
    /// Node counts of the scale workload, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = workloads::SCALE_SIZES)]
    sizes: Vec<usize>,
    /// Edges churn-100k removes (and adds) per step (default: 0.1% of its edges).
    #[arg(long)]
    churn_edits: Option<usize>,
    /// Size of the bandwidth measurement's arrays, MiB (far above the last-level cache).
    #[arg(long, default_value_t = 768)]
    triad_mib: usize,
    /// Where checkpoint-10m writes its files (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    scratch: Option<PathBuf>,
}

/// `neuroflux bench`.
pub fn bench(a: BenchArgs) -> Result<()> {
    let names: Vec<String> =
        if a.workloads.is_empty() { NAMES.iter().map(|s| s.to_string()).collect() } else { a.workloads.clone() };
    if let Some(bad) = names.iter().find(|n| !NAMES.contains(&n.as_str())) {
        bail!("unknown workload `{bad}` (the workloads: {})", NAMES.join(", "));
    }
    check_counts(&a, &names)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    eprintln!("measuring the memory bandwidth (triad over {} MiB, all cores)", a.triad_mib);
    let bw = machine::triad_bandwidth(a.triad_mib, 5)?;
    eprintln!("bandwidth {:.2} GB/s on {} ({} cores)", bw / 1e9, machine::cpu_name(), num_cpus());
    let mut records: Vec<Record> = Vec::new();
    // The records as JSON lines, printed as each workload finishes and written at the end.
    let mut lines = String::new();
    let mut failures = Vec::new();
    let mut scale_records = Vec::new();
    for name in &names {
        let r = run_one(&a, name, bw, &mut scale_records);
        match r {
            Ok(rs) => {
                for r in rs {
                    let line = serde_json::to_string(&r)?;
                    println!("{line}");
                    lines += &line;
                    lines.push('\n');
                    records.push(r);
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failures.push(format!("{name}: {e:#}"));
            }
        }
    }
    let churn = records.iter().find(|r| r.workload == "churn-100k");
    if let (Some(dense), Some(churn)) = (records.iter().find(|r| r.workload == "dense-100k"), churn) {
        eprintln!(
            "churn-100k steps at {:.3} of dense-100k's rate (the two workloads' runs)",
            churn.steps_per_second / dense.steps_per_second
        );
    }
    if let Some(beside) = churn.and_then(|r| r.ratio_to_dense_beside) {
        eprintln!("churn-100k steps at {beside:.3} of the rate of its graph without edits, stepped in alternating blocks beside it");
    }
    let table = format!(
        "Measured {} on {} ({} cores), memory bandwidth {:.2} GB/s (triad), with `neuroflux bench {}`\n\n{}",
        today(),
        machine::cpu_name(),
        num_cpus(),
        bw / 1e9,
        std::env::args().skip(2).collect::<Vec<_>>().join(" "),
        record::markdown(&records)
    );
    println!("\n{table}");
    let write = |p: &std::path::Path, text: &str| {
        std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write(&a.out.join("records.jsonl"), &lines)?;
    write(&a.out.join("table.md"), &table)?;
    if let Some(p) = &a.json {
        write(p, &lines)?;
    }
    if !scale_records.is_empty() {
        let p = a.out.join("scale.png");
        plot::scale(&scale_records, &p)?;
        eprintln!("wrote {}", p.display());
    }
    eprintln!("wrote {} and {}", a.out.join("records.jsonl").display(), a.out.join("table.md").display());
    if !failures.is_empty() {
        bail!("{} workload(s) failed:\n  {}", failures.len(), failures.join("\n  "));
    }
    Ok(())
}

/// Refuse counts that would time nothing or report a meaningless figure (`names`: the
/// workloads to run).
fn check_counts(a: &BenchArgs, names: &[String]) -> Result<()> {
    if a.sizes.is_empty() || a.sizes.contains(&0) {
        bail!("--sizes needs one or more node counts above 0");
    }
    if a.steps == Some(0) {
        bail!("--steps needs at least 1 timed step");
    }
    if a.repeats == 0 {
        bail!("--repeats needs at least 1 run of seed-medium");
    }
    if a.nodes == Some(0) {
        bail!("--nodes needs a node count above 0");
    }
    if a.triad_mib == 0 {
        bail!("--triad-mib needs at least 1 MiB (the bandwidth figures divide by it)");
    }
    if a.churn_edits == Some(0) {
        bail!("--churn-edits needs at least 1 edit per step (churn-100k without edits is dense-100k)");
    }
    let churn_edges = a.nodes.unwrap_or(100_000).saturating_mul(100);
    match a.churn_edits {
        Some(k) if k > churn_edges && names.iter().any(|n| n == "churn-100k") => {
            bail!("--churn-edits {k} is more than churn-100k's {churn_edges} edges")
        }
        _ => Ok(()),
    }
}

fn run_one(a: &BenchArgs, name: &str, bw: f64, scale_records: &mut Vec<Record>) -> Result<Vec<Record>> {
    let threads = a.threads;
    let steps = |default: u64| a.steps.unwrap_or(default);
    let nodes = |default: usize| a.nodes.unwrap_or(default);
    Ok(match name {
        "seed-medium" => {
            let mut p = workloads::seed_medium()?;
            if let Some(s) = a.steps {
                let mut c = p.config().clone();
                c.run.steps = s;
                p = c.validate()?;
            }
            vec![model::run(name, p, threads, bw, a.repeats)?]
        }
        "dense-100k" => {
            vec![dense::propagation(name, workloads::propagation(nodes(100_000), 100, steps(100), name)?, threads, bw)?]
        }
        "dense-1m" => vec![dense::propagation(
            name,
            workloads::propagation(nodes(1_000_000), 16, steps(100), name)?,
            threads,
            bw,
        )?],
        "churn-100k" => {
            let n = nodes(100_000);
            let edits = a.churn_edits.unwrap_or(n * 100 / 1000);
            let plain = workloads::propagation(n, 100, steps(100), "dense-100k")?;
            vec![dense::churn(name, workloads::churn(n, 100, steps(100), edits)?, plain, threads, bw, edits)?]
        }
        "full-1m" => vec![model::run(name, workloads::full(nodes(1_000_000), steps(200))?, threads, bw, 1)?],
        "scale" => {
            let rs = dense::scale(&a.sizes, steps(50), threads, bw)?;
            scale_records.extend(rs.iter().cloned());
            rs
        }
        "checkpoint-10m" => {
            let dir = a
                .scratch
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join(format!("neuroflux-bench-{}", std::process::id())));
            let p = workloads::propagation(nodes(100_000), 100, 10, name)?;
            let r = ckpt::checkpoint(name, p, threads, bw, &dir);
            if a.scratch.is_none() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            vec![r?]
        }
        other => bail!("unknown workload `{other}`"),
    })
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string().chars().take(10).collect()
}
