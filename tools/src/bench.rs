//! `neuroflux bench`: times the standard workloads of BENCH.md that the engine supports so
//! far (`seed-medium`, `dense-100k`), each with build and stepping timed apart, and for the
//! dense workload the plainest pull loop (the reference) timed in the same run on the same
//! graph and threads. The full harness (every workload, bandwidth bound, plots) is issue 4's.

use anyhow::{bail, Context, Result};
use neuroflux::{Config, Simulation};
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

/// Arguments of `neuroflux bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Workloads to run (default: all supported).
    #[arg(long = "workload")]
    workloads: Vec<String>,
    /// CPU threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Timed steps of the dense workload (default 100).
    #[arg(long, default_value_t = 100)]
    steps: u64,
    /// Repetitions of `seed-medium` (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Write the records as JSON lines to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

const SEED_MEDIUM: &str = include_str!("../../sim-configs/default.toml");
const DENSE_100K: &str = include_str!("../../sim-configs/dense-100k.toml");

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `neuroflux bench`.
pub fn bench(a: BenchArgs) -> Result<()> {
    let names = if a.workloads.is_empty() {
        vec!["seed-medium".to_string(), "dense-100k".to_string()]
    } else {
        a.workloads.clone()
    };
    let mut records = Vec::new();
    for n in &names {
        let r = match n.as_str() {
            "seed-medium" => seed_medium(&a)?,
            "dense-100k" => dense(&a, DENSE_100K, "dense-100k")?,
            other => bail!("unknown or not yet supported workload `{other}` (supported: seed-medium, dense-100k)"),
        };
        println!("{}", serde_json::to_string(&r)?);
        records.push(r);
    }
    if let Some(p) = &a.json {
        let text: String = records.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

fn seed_medium(a: &BenchArgs) -> Result<serde_json::Value> {
    let params = Config::from_toml_str(SEED_MEDIUM, "default.toml")?.validate()?;
    let steps = params.run.steps;
    let mut whole = Vec::new();
    let mut stepping = Vec::new();
    let mut last = None;
    for _ in 0..a.repeats.max(1) {
        let t0 = Instant::now();
        let mut sim = Simulation::new(params.clone(), Some(a.threads), &|_| {})?;
        let t1 = Instant::now();
        // The run loop users get (`neuroflux run`), with its helper thread.
        sim.run_until(steps, &mut |_, m| {
            black_box(m);
            Ok::<(), neuroflux::SimError>(())
        })?;
        stepping.push(steps as f64 / t1.elapsed().as_secs_f64());
        whole.push(steps as f64 / t0.elapsed().as_secs_f64());
        last = Some(sim);
    }
    let sim = last.context("at least one repetition ran")?;
    let s = sim.summary(0.0, 0);
    Ok(serde_json::json!({
        "workload": "seed-medium", "backend": sim.backend(), "threads": sim.threads(), "steps": steps,
        "nodes": s.nodes, "edges": s.edges,
        "steps_per_second_stepping_median": median(&mut stepping),
        "steps_per_second_build_and_steps_median": median(&mut whole),
        "repeats": a.repeats.max(1), "state_hash": s.state_hash,
    }))
}

fn dense(a: &BenchArgs, toml: &str, name: &str) -> Result<serde_json::Value> {
    let params = Config::from_toml_str(toml, name)?.validate()?;
    let t0 = Instant::now();
    let phases = std::sync::Mutex::new(Vec::<(String, f64)>::new());
    let record = |name: &str| {
        if let Ok(mut p) = phases.lock() {
            p.push((name.to_string(), t0.elapsed().as_secs_f64()));
        }
    };
    let mut sim = Simulation::new(params, Some(a.threads), &record)?;
    let build_s = t0.elapsed().as_secs_f64();
    let marks = phases.into_inner().unwrap_or_default();
    let build_phases: serde_json::Map<String, serde_json::Value> = marks
        .iter()
        .enumerate()
        .map(|(i, (n, t))| (n.clone(), serde_json::json!(marks.get(i + 1).map_or(build_s, |m| m.1) - t)))
        .collect();
    let edges = sim.store().edges().len();
    let nodes = sim.store().nodes().len();
    let threads = sim.threads();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    // The reference: u32 source index, f32 weight, f32 energy, one multiply-add per edge,
    // compressed rows by destination.
    let store = sim.store();
    let inc = &store.topology().inc;
    let off = inc.offsets().to_vec();
    let src: Vec<u32> = inc.items().iter().map(|&p| store.edges().src_rows()[p as usize]).collect();
    let w: Vec<f32> = inc.items().iter().map(|&p| store.edges().weights()[p as usize]).collect();
    let e: Vec<f32> = store.nodes().energy().to_vec();
    let mut out = vec![0.0f32; nodes];
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    let mut conducting = 1.0f64;
    sim.step()?; // warm-up
    pool.install(|| reference_loop(&off, &src, &w, &e, &mut out));
    let block = 10;
    let mut done = 0;
    while done < a.steps {
        let k = block.min(a.steps - done);
        for _ in 0..k {
            let t = Instant::now();
            let m = sim.step()?;
            ours.push(t.elapsed().as_secs_f64());
            conducting = conducting.min(m.edges_conducting as f64 / edges.max(1) as f64);
        }
        for _ in 0..k {
            let t = Instant::now();
            pool.install(|| reference_loop(&off, &src, &w, &e, &mut out));
            reference.push(t.elapsed().as_secs_f64());
        }
        done += k;
    }
    black_box(&out);
    let ours_s = median(&mut ours);
    let ref_s = median(&mut reference);
    if conducting < 0.99 {
        bail!(
            "{name}: only {:.3} of edges conducted at some timed step (the workload needs at least 0.99)",
            conducting
        );
    }
    Ok(serde_json::json!({
        "workload": name, "backend": sim.backend(), "threads": threads, "nodes": nodes, "edges": edges,
        "steps": a.steps, "build_seconds": build_s, "build_phase_seconds": build_phases, "build_edges_per_second": edges as f64 / build_s,
        "step_seconds_median": ours_s, "edge_updates_per_second": edges as f64 / ours_s,
        "reference_step_seconds_median": ref_s, "reference_edge_updates_per_second": edges as f64 / ref_s,
        "ratio_to_reference": ref_s / ours_s, "min_fraction_conducting": conducting,
    }))
}

fn reference_loop(off: &[u32], src: &[u32], w: &[f32], e: &[f32], out: &mut [f32]) {
    out.par_iter_mut().enumerate().with_min_len(2048).for_each(|(j, o)| {
        let mut acc = 0.0f32;
        for s in off[j] as usize..off[j + 1] as usize {
            acc += w[s] * e[src[s] as usize];
        }
        *o = acc;
    });
}
