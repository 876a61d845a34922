//! Criterion benchmarks per phase of a step (run by hand with `cargo bench`; CI compiles
//! them). Phases inside the stepper are timed as the engine times them (`PhaseTimes`, via
//! `iter_custom`), on the settled default simulation and on a propagation-only graph; store
//! operations with a public entry point (compaction after deaths, applying edits, the copy
//! a published snapshot takes) are called directly on copies of a settled state; the noise
//! of 5.4 alone, per node.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use neuroflux::growth::{EdgeProposal, Proposals};
use neuroflux::io::metrics::StepMetrics;
use neuroflux::rng::{Rng, Stream, LANES};
use neuroflux::store::{Direction, EdgeId, EdgeKind, NodeId, NodeKind};
use neuroflux::{Config, Params, Simulation};

fn load(name: &str) -> Params {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim-configs").join(name);
    Config::load(&path).and_then(|c| c.validate()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn settled(params: Params, steps: u64) -> Simulation {
    let mut sim = Simulation::new(params, Some(2), &|_| {}).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..steps {
        sim.step().unwrap_or_else(|e| panic!("{e}"));
    }
    sim
}

/// The default simulation after 300 steps, and `dense-100k` shrunk to 20,000 nodes (2 M edges).
fn workloads() -> Vec<(&'static str, Simulation)> {
    let mut dense = load("dense-100k.toml").config().clone();
    dense.graph.n_dynamic = 20_000;
    let dense = dense.validate().unwrap_or_else(|e| panic!("{e}"));
    vec![("default", settled(load("default.toml"), 300)), ("dense-20k", settled(dense, 2))]
}

fn phase(c: &mut Criterion, name: &str, ns: fn(&StepMetrics) -> u64) {
    let mut group = c.benchmark_group(name);
    for (w, mut sim) in workloads() {
        group.bench_function(w, |b| {
            b.iter_custom(|iters| {
                let mut total = 0;
                for _ in 0..iters {
                    total += ns(&sim.step().unwrap_or_else(|e| panic!("{e}")));
                }
                Duration::from_nanos(total)
            })
        });
    }
    group.finish();
}

fn transfer(c: &mut Criterion) {
    phase(c, "transfer (5.2, 5.3)", |m| m.times.transfer_ns + m.times.cache_ns);
}

fn node_update(c: &mut Criterion) {
    phase(c, "node update (5.4)", |m| m.times.update_ns);
}

/// The noise of 5.4 alone (Philox4x32-10 on `LANES` entities at a time, then MODEL.md's sum
/// of four uniforms), per node: the part of the step that runs at its arithmetic's bound
/// (docs/BENCHMARKS.md, "What limits `seed-medium`").
fn noise(c: &mut Criterion) {
    const NODES: usize = 14_336;
    let rng = Rng::new(0);
    let mut group = c.benchmark_group("noise (5.4)");
    group.throughput(Throughput::Elements(NODES as u64));
    group.bench_function("14,336 nodes", |b| {
        let (mut ent, mut out, mut step) = ([0u64; LANES], vec![0.0f32; NODES], 0u64);
        b.iter(|| {
            step += 1;
            for (lo, z) in out.chunks_mut(LANES).enumerate() {
                for (l, e) in ent.iter_mut().enumerate() {
                    *e = (lo * LANES + l) as u64;
                }
                let w = rng.noise_lanes(step, Stream::Noise, &ent, 0.01);
                z.copy_from_slice(&w[..z.len()]);
            }
            out[NODES - 1]
        })
    });
    group.finish();
}

fn spawn(c: &mut Criterion) {
    phase(c, "spawn (5.6)", |m| m.times.spawn_ns);
}

/// Removing 20 dynamic nodes with their edges (about a step's deaths on the default model).
fn death_and_compaction(c: &mut Criterion) {
    let sim = settled(load("default.toml"), 300);
    let nodes = sim.store().nodes();
    let dynamic: Vec<usize> = (0..nodes.len()).filter(|&r| nodes.kind_of(r) == NodeKind::Dynamic).collect();
    let rows: Vec<usize> = dynamic.iter().step_by(dynamic.len() / 20).copied().take(20).collect();
    c.bench_function("death and compaction (5.5): 20 nodes of default", |b| {
        b.iter_batched(
            || sim.store().clone(),
            |mut store| {
                store.remove_node_rows(&rows);
                store
            },
            BatchSize::LargeInput,
        )
    });
}

/// Phase 5.1 with 1,000 removals and 1,000 additions on the 2 M-edge graph.
fn apply_edits(c: &mut Criterion) {
    let (_, sim) = workloads().pop().unwrap_or_else(|| panic!("no workload"));
    let (nodes, edges) = (sim.store().nodes(), sim.store().edges());
    let mut p = Proposals::default();
    for k in 0..1000usize {
        let e = (k * 1999) % edges.rows(); // a fresh build: no tombstones
        let s = edges.src_rows()[e] as usize;
        p.removes.push(EdgeId(edges.id(e)));
        // The removed edge's source to the node after its old target: admissible unless that
        // pair exists (then counted as skipped, which costs the same checks).
        let d = (edges.dst_rows()[e] as usize + 1) % nodes.len();
        let d = if d == s { (d + 1) % nodes.len() } else { d };
        p.adds.push(EdgeProposal {
            src: NodeId(nodes.ids()[s]),
            dst: NodeId(nodes.ids()[d]),
            kind: EdgeKind::Excitatory,
            weight: 0.1,
            direction: Direction::FreeFlow,
            gate: 0.0,
            plastic_lr: 0.0,
        });
    }
    let mut params = sim.params().config().clone();
    params.growth.max_new_edges_per_step = 1000;
    let params = params.validate().unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("apply edits (5.1): 1,000 removals and 1,000 additions, 2 M edges", |b| {
        b.iter_batched(
            || sim.store().clone(),
            |mut store| {
                neuroflux::model::edits::apply_edits(&mut store, &params, &p, sim.current_step());
                store
            },
            BatchSize::LargeInput,
        )
    });
}

/// The copy a published snapshot takes (shared copy-on-write columns), and a step of the
/// default model with snapshots published (which pays for the columns it then changes).
fn publish_snapshot(c: &mut Criterion) {
    let mut sim = settled(load("default.toml"), 300);
    c.bench_function("publish a snapshot: copy the default state", |b| b.iter(|| sim.store().clone()));
    let _readers = sim.snapshots();
    c.bench_function("step default.toml with snapshots published", |b| {
        b.iter(|| sim.step().unwrap_or_else(|e| panic!("{e}")))
    });
}

criterion_group!(benches, transfer, node_update, noise, death_and_compaction, spawn, apply_edits, publish_snapshot);
criterion_main!(benches);
