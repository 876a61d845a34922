//! Building and stepping a workload with everything BENCH.md asks timed or counted.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use neuroflux::io::metrics::StepMetrics;
use neuroflux::{Params, Simulation};

use super::machine;

/// Accumulated over the timed steps of one run.
#[derive(Debug, Default)]
pub struct Steps {
    /// Wall seconds of each timed step.
    pub seconds: Vec<f64>,
    /// Phase name to summed nanoseconds.
    pub phase_ns: BTreeMap<&'static str, u64>,
    /// Edges added and removed by phase 5.1, and that phase's nanoseconds.
    pub edits: u64,
    pub edits_ns: u64,
    /// The smallest fraction of edges that conducted at a timed step.
    pub min_conducting: f64,
    /// Edges at the start of each timed step, summed (the edge updates).
    pub edge_steps: u64,
}

impl Steps {
    pub fn new() -> Self {
        Self { min_conducting: 1.0, ..Self::default() }
    }

    /// Count one timed step that took `seconds` and reported `m`, on a graph of `edges` edges
    /// at its start.
    pub fn add(&mut self, seconds: f64, m: &StepMetrics, edges: usize) {
        self.seconds.push(seconds);
        let t = &m.times;
        let phases = [
            ("edits", t.edits_ns),
            ("cache", t.cache_ns),
            ("transfer", t.transfer_ns),
            ("update", t.update_ns),
            ("death", t.death_ns),
            ("spawn", t.spawn_ns),
            ("growth", m.growth_ns),
        ];
        let mut inside = 0;
        for (name, ns) in phases {
            *self.phase_ns.entry(name).or_default() += ns;
            inside += ns;
        }
        // Outside the phases: metrics, totals, snapshots.
        let whole = (seconds * 1e9) as u64;
        *self.phase_ns.entry("other").or_default() += whole.saturating_sub(inside);
        self.edits += m.edges_added + m.edges_culled;
        self.edits_ns += t.edits_ns;
        self.min_conducting = self.min_conducting.min(m.edges_conducting as f64 / edges.max(1) as f64);
        self.edge_steps += edges as u64;
    }

    /// Each phase's share of the summed phase times.
    pub fn shares(&self) -> BTreeMap<String, f64> {
        let total: u64 = self.phase_ns.values().sum();
        self.phase_ns.iter().map(|(k, &v)| ((*k).to_string(), v as f64 / total.max(1) as f64)).collect()
    }

    pub fn total_seconds(&self) -> f64 {
        self.seconds.iter().sum()
    }

    /// Timed steps over their summed seconds.
    pub fn per_second(&self) -> f64 {
        self.seconds.len() as f64 / self.total_seconds().max(1e-12)
    }

    /// Edits per second of the apply-edits phase, where edits happened.
    pub fn edits_per_second(&self) -> Option<f64> {
        (self.edits > 0).then(|| self.edits as f64 / (self.edits_ns.max(1) as f64 * 1e-9))
    }
}

/// Build a workload's simulation; returns it and the build seconds. Prints what it builds.
pub fn build(name: &str, params: Params, threads: usize) -> Result<(Simulation, f64)> {
    let t0 = Instant::now();
    eprintln!("{name}: building the graph");
    let sim = Simulation::new(params, Some(threads), &|_| {})?;
    let s = t0.elapsed().as_secs_f64();
    eprintln!(
        "{name}: built {} nodes and {} edges in {s:.2} s",
        sim.store().nodes().len(),
        sim.store().edges().count()
    );
    Ok((sim, s))
}

/// A workload's record, started with what the graph is at the start of timing.
pub fn start_record(name: &str, sim: &Simulation, build_seconds: f64) -> super::record::Record {
    super::record::Record {
        workload: name.into(),
        nodes: sim.store().nodes().len(),
        edges: sim.store().edges().count(),
        build_seconds,
        ..Default::default()
    }
}

/// Median, minimum and maximum.
pub fn spread(v: &[f64]) -> [f64; 3] {
    if v.is_empty() {
        return [0.0; 3];
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    [s[0], s[s.len() / 2], s[s.len() - 1]]
}

/// Bytes per edge the store and the backend hold.
pub fn resident_per_edge(sim: &Simulation) -> f64 {
    let (n, e, v) = sim.store().resident_bytes();
    (n + e + v + sim.backend_footprint().resident_bytes) as f64 / sim.store().edges().count().max(1) as f64
}

/// Fill the record fields every stepping workload shares.
pub fn fill(r: &mut super::record::Record, sim: &Simulation, steps: &Steps, bandwidth: f64) {
    let [lo, mid, hi] = spread(&steps.seconds);
    let total = steps.total_seconds();
    r.backend = sim.backend().to_string();
    r.threads = sim.threads();
    r.steps = steps.seconds.len() as u64;
    if r.repeats == 0 {
        r.repeats = 1;
    }
    r.step_seconds = total;
    r.step_seconds_min_median_max = [lo, mid, hi];
    r.steps_per_second = steps.per_second();
    // Over the edges each step had at its start (the same as edges x steps where they do
    // not change).
    r.edge_updates_per_second = steps.edge_steps as f64 / total.max(1e-12);
    r.edge_edits = (steps.edits > 0).then_some(steps.edits);
    r.edge_edits_per_second = steps.edits_per_second();
    r.min_fraction_conducting = steps.min_conducting;
    r.bandwidth_bytes_per_second = bandwidth;
    r.bandwidth_fraction = r.edge_updates_per_second * 12.0 / bandwidth.max(1.0);
    r.peak_rss_bytes = machine::peak_rss();
    r.resident_bytes_per_edge = resident_per_edge(sim);
    r.hot_bytes_per_edge = sim.backend_footprint().hot_bytes_per_edge;
    r.phase_shares = steps.shares();
    r.final_nodes = sim.store().nodes().len();
    r.final_edges = sim.store().edges().count();
    r.state_hash = sim.state_hash();
}
