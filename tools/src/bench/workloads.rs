//! The configurations of BENCH.md's workloads. Sizes are parameters; the names fix the
//! defaults.

use anyhow::{Context, Result};
use neuroflux::{Config, Params};

/// `sim-configs/default.toml`, the `seed-medium` workload.
pub const SEED_MEDIUM: &str = include_str!("../../../sim-configs/default.toml");
/// `sim-configs/dense-100k.toml`: the propagation-only settings every dense workload uses.
const DENSE_100K: &str = include_str!("../../../sim-configs/dense-100k.toml");

/// Every workload name, in the order `neuroflux bench` runs them by default.
pub const NAMES: [&str; 7] =
    ["seed-medium", "dense-100k", "dense-1m", "churn-100k", "full-1m", "scale", "checkpoint-10m"];

/// The default sizes of `scale` (nodes; 16 out-edges each).
pub const SCALE_SIZES: [usize; 7] = [10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000, 4_000_000];

fn validate(c: Config, name: &str) -> Result<Params> {
    c.validate().with_context(|| format!("the {name} workload's configuration"))
}

/// `seed-medium`: the default model on `default.toml`.
pub fn seed_medium() -> Result<Params> {
    validate(Config::from_toml_str(SEED_MEDIUM, "default.toml")?, "seed-medium")
}

/// A propagation-only graph (BENCH.md): `nodes` dynamic nodes with `degree` random
/// out-edges each, every edge Excitatory and FreeFlow, nothing lost, spent, born or grown.
pub fn propagation(nodes: usize, degree: u32, steps: u64, name: &str) -> Result<Params> {
    let mut c = Config::from_toml_str(DENSE_100K, "dense-100k.toml")?;
    c.run.steps = steps;
    c.graph.n_dynamic = u32::try_from(nodes).with_context(|| format!("{name}: {nodes} nodes is too many"))?;
    c.graph.dynamic_out_degree = degree;
    c.graph.max_out_degree_initial = [degree, degree];
    c.graph.max_nodes = c.graph.max_nodes.max(nodes as u64);
    c.graph.max_edges = c.graph.max_edges.max(nodes as u64 * u64::from(degree));
    validate(c, name)
}

/// `churn-100k`: a propagation-only graph whose every step also applies `edits` removals
/// and `edits` additions queued by the harness.
pub fn churn(nodes: usize, degree: u32, steps: u64, edits: usize) -> Result<Params> {
    let p = propagation(nodes, degree, steps, "churn-100k")?;
    let mut c = p.config().clone();
    c.growth.max_new_edges_per_step = u32::try_from(edits).context("churn-100k: too many edits per step")?;
    validate(c, "churn-100k")
}

/// `full-1m`: the default model at a million dynamic nodes, with the worker thread.
pub fn full(dynamic: usize, steps: u64) -> Result<Params> {
    let mut c = Config::from_toml_str(SEED_MEDIUM, "default.toml")?;
    c.run.steps = steps;
    c.run.worker = "thread".into();
    c.graph.sensory_width = 256;
    c.graph.sensory_height = 256;
    c.graph.workspace_width = 64;
    c.graph.workspace_height = 64;
    c.graph.n_dynamic = u32::try_from(dynamic).context("full-1m: too many nodes")?;
    c.graph.dynamic_out_degree = 16;
    c.graph.max_out_degree_initial = [16, 25];
    c.graph.max_nodes = (2 * dynamic as u64).max(c.graph.max_nodes.min(2_000_000));
    c.energy.maintenance_per_out_edge = 0.01;
    validate(c, "full-1m")
}
