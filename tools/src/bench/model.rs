//! The workloads that run the whole model: `seed-medium` (repeated, median reported) and
//! `full-1m` (with the connection worker thread).

use std::time::Instant;

use anyhow::Result;
use neuroflux::{Params, SimError};

use super::measure::{self, Steps};
use super::record::Record;

/// Run `params` `repeats` times from a fresh build through the run loop users get
/// (`neuroflux run`'s, with its helper thread); report the median repetition.
pub fn run(name: &str, params: Params, threads: usize, bandwidth: f64, repeats: usize) -> Result<Record> {
    let steps = params.run.steps;
    super::machine::reset_peak_rss();
    let mut builds = Vec::new();
    let mut runs: Vec<(f64, Record)> = Vec::new();
    for rep in 0..repeats.max(1) {
        let (mut sim, build_seconds) = measure::build(name, params.clone(), threads)?;
        builds.push(build_seconds);
        let edges = sim.store().edges().count();
        let mut r = measure::start_record(name, &sim, 0.0);
        eprintln!("{name}: running {steps} steps (repetition {} of {})", rep + 1, repeats.max(1));
        let mut timed = Steps::new();
        let mut last = Instant::now();
        let mut at_start = edges;
        let progress_every = (steps / 4).max(1);
        sim.run_until(steps, &mut |s, m| {
            let now = Instant::now();
            timed.add((now - last).as_secs_f64(), m, at_start);
            at_start = s.store().edges().count();
            if (m.step + 1) % progress_every == 0 && steps >= 100 {
                eprintln!("{name}: step {} of {steps}", m.step + 1);
            }
            last = Instant::now();
            Ok::<(), SimError>(())
        })?;
        measure::fill(&mut r, &sim, &timed, bandwidth);
        runs.push((r.step_seconds, r));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let per_run: Vec<f64> = runs.iter().map(|(s, _)| *s).collect();
    let mid = runs.len() / 2;
    let mut r = runs.swap_remove(mid).1;
    r.repeats = per_run.len();
    if per_run.len() > 1 {
        r.step_seconds_min_median_max = measure::spread(&per_run);
    }
    r.build_seconds = measure::spread(&builds)[1];
    r.peak_rss_bytes = super::machine::peak_rss();
    Ok(r)
}
