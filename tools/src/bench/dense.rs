//! The propagation-only workloads (`dense-100k`, `dense-1m`, `churn-100k`, `scale`), each
//! timed against the reference pull loop on the same graph and threads in the same run.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Result};
use neuroflux::growth::{EdgeProposal, Proposals};
use neuroflux::store::{Csr, Direction, EdgeId, EdgeKind, NodeId};
use neuroflux::{Params, Simulation};
use rayon::prelude::*;

use super::measure::{self, Steps};
use super::record::Record;

/// The plainest pull loop of BENCH.md on one graph: compressed rows by destination, a `u32`
/// source index and an `f32` weight per edge, an `f32` energy per source.
pub struct Reference {
    off: Vec<u32>,
    src: Vec<u32>,
    w: Vec<f32>,
    e: Vec<f32>,
    out: Vec<f32>,
}

impl Reference {
    /// The reference arrays of the simulation's current graph (edge rows grouped by target
    /// with the store's compressed-row builder, then copied into the plain arrays).
    pub fn of(sim: &Simulation) -> Self {
        let (nodes, edges) = (sim.store().nodes(), sim.store().edges());
        let (off, by_dst) = Csr::build_live(nodes.len(), edges.dst_rows(), edges.tombstone_bits()).packed();
        let (srcs, weights) = (edges.src_rows(), edges.weights());
        Self {
            off,
            src: by_dst.iter().map(|&e| srcs[e as usize]).collect(),
            w: by_dst.iter().map(|&e| weights[e as usize]).collect(),
            e: nodes.energy().to_vec(),
            out: vec![0.0; nodes.len()],
        }
    }

    /// One pass of the loop on `pool`; returns its seconds.
    pub fn time(&mut self, pool: &rayon::ThreadPool) -> f64 {
        let Self { off, src, w, e, out } = self;
        let t = Instant::now();
        pool.install(|| {
            out.par_iter_mut().enumerate().with_min_len(2048).for_each(|(j, o)| {
                let mut acc = 0.0f32;
                for s in off[j] as usize..off[j + 1] as usize {
                    acc += w[s] * e[src[s] as usize];
                }
                *o = acc;
            })
        });
        let s = t.elapsed().as_secs_f64();
        black_box(&self.out);
        s
    }
}

/// Steps timed in blocks of this many, alternating with as many reference passes (so both
/// see the same state of the machine).
const BLOCK: u64 = 10;

/// A propagation-only workload: build, warm up, then `steps` steps alternating with the
/// reference. Fails when fewer than 99% of the edges conducted at some timed step.
pub fn propagation(name: &str, params: Params, threads: usize, bandwidth: f64) -> Result<Record> {
    let steps = params.run.steps;
    super::machine::reset_peak_rss();
    let (mut sim, build_seconds) = measure::build(name, params, threads)?;
    // The reference runs on the simulation's own pool, so that no second pool's threads
    // compete with the steps for the cores. (The steps after a reference block are still
    // slower, by its memory traffic: `dense-100k` 130-134 steps/s against 146-147 without
    // the reference blocks, one window.)
    let pool = sim.pool();
    // Warm-up: the first step streams the new graph, the second builds the compressed rows.
    sim.step()?;
    sim.step()?;
    let mut reference = Reference::of(&sim);
    reference.time(&pool);
    let edges = sim.store().edges().count();
    let mut r = measure::start_record(name, &sim, build_seconds);
    let mut ours = Steps::new();
    let mut refs = Vec::new();
    eprintln!("{name}: timing {steps} steps against the reference loop");
    in_alternating_blocks(
        steps,
        || timed_step(&mut sim, &mut ours),
        || {
            refs.push(reference.time(&pool));
            Ok(())
        },
    )?;
    measure::fill(&mut r, &sim, &ours, bandwidth);
    let ref_median = measure::spread(&refs)[1];
    r.reference_edge_updates_per_second = Some(edges as f64 / ref_median);
    r.ratio_to_reference = Some(ref_median / r.step_seconds_min_median_max[1]);
    check_conducting(&r)?;
    Ok(r)
}

/// `steps` calls of `ours` in blocks of [`BLOCK`], each block followed by as many calls of
/// `theirs`, so that both see the same state of the machine.
fn in_alternating_blocks(
    steps: u64,
    mut ours: impl FnMut() -> Result<()>,
    mut theirs: impl FnMut() -> Result<()>,
) -> Result<()> {
    let mut done = 0;
    while done < steps {
        let k = BLOCK.min(steps - done);
        (0..k).try_for_each(|_| ours())?;
        (0..k).try_for_each(|_| theirs())?;
        done += k;
    }
    Ok(())
}

/// One step of `sim`, its time and metrics added to `steps` (over the edges at its start).
fn timed_step(sim: &mut Simulation, steps: &mut Steps) -> Result<()> {
    let edges = sim.store().edges().count();
    let t = Instant::now();
    let m = sim.step()?;
    steps.add(t.elapsed().as_secs_f64(), &m, edges);
    Ok(())
}

fn check_conducting(r: &Record) -> Result<()> {
    if r.min_fraction_conducting < 0.99 {
        bail!(
            "{}: only {:.4} of the edges conducted at some timed step (a propagation-only workload needs at least 0.99)",
            r.workload,
            r.min_fraction_conducting
        );
    }
    Ok(())
}

/// A small, fast generator for the harness's own random choices (SplitMix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// The churn of one step: `k` distinct random existing edges to remove, and for each the
/// same source to a random other node it has no edge to (so every addition is admissible:
/// the removal frees the slot it takes). Every source keeps its out-degree, so an edge
/// chosen as a random source's random out-edge is a uniform choice; it is made through the
/// out-edge view (each source's edges in `EdgeId` order), so the edits depend on the graph
/// alone, not on where its rows lie (tombstones, compactions).
fn churn_edits(sim: &Simulation, k: usize, w: [f32; 2]) -> Proposals {
    let (nodes, edges) = (sim.store().nodes(), sim.store().edges());
    let n = nodes.len();
    let out = sim.store().out_edges();
    let mut rng = Mix(0x6e65_7572_6f66_6c78 ^ sim.current_step());
    let k = k.min(edges.count());
    let mut rows = HashSet::with_capacity(k);
    while rows.len() < k {
        let row = out.row(rng.below(n));
        if !row.is_empty() {
            rows.insert(row[rng.below(row.len())] as usize);
        }
    }
    let mut rows: Vec<usize> = rows.into_iter().collect();
    rows.sort_unstable();
    let mut added: HashSet<(u32, u32)> = HashSet::with_capacity(k);
    let mut p = Proposals::default();
    for &e in &rows {
        let s = edges.src_rows()[e];
        p.removes.push(EdgeId(edges.id(e)));
        for _ in 0..64 {
            let d = rng.below(n) as u32;
            let taken = d == s
                || added.contains(&(s, d))
                || out.row(s as usize).iter().any(|&x| edges.dst_rows()[x as usize] == d);
            if !taken {
                added.insert((s, d));
                let u = (rng.next() >> 40) as f32 * (1.0 / (1u64 << 24) as f32);
                p.adds.push(EdgeProposal {
                    src: NodeId(nodes.ids()[s as usize]),
                    dst: NodeId(nodes.ids()[d as usize]),
                    kind: EdgeKind::Excitatory,
                    weight: w[0] + u * (w[1] - w[0]),
                    direction: Direction::FreeFlow,
                    gate: 0.0,
                    plastic_lr: 0.0,
                });
                break;
            }
        }
    }
    p
}

/// Edited steps before the timed ones in `churn-100k`.
const EDITED_WARM_UP: usize = 3;

/// `churn-100k`: propagation plus `edits` removals and as many additions every step,
/// queued through [`Simulation::queue_edits`] and applied by phase 5.1. The timed steps
/// alternate in blocks with steps of `plain` (the same graph without edits, `dense-100k`),
/// so that the two step rates are compared in the same windows of a shared machine. The
/// peak memory reported includes that second graph.
pub fn churn(
    name: &str,
    params: Params,
    plain: Params,
    threads: usize,
    bandwidth: f64,
    edits: usize,
) -> Result<Record> {
    let steps = params.run.steps;
    let w = params.config().graph.weight_range;
    super::machine::reset_peak_rss();
    let (mut sim, build_seconds) = measure::build(name, params, threads)?;
    // Warm-up as for the propagation workloads, then in the regime timed: steps that edit
    // the graph (the first of them give the stepper's per-target arrays and the out-edge
    // view their room, once).
    sim.step()?;
    sim.step()?;
    for _ in 0..EDITED_WARM_UP {
        sim.queue_edits(churn_edits(&sim, edits, w));
        sim.step()?;
    }
    let mut r = measure::start_record(name, &sim, build_seconds);
    let (mut beside, _) = measure::build(&format!("{name} (the graph without edits)"), plain, threads)?;
    beside.step()?;
    beside.step()?;
    let mut ours = Steps::new();
    let mut theirs = Steps::new();
    eprintln!("{name}: timing {steps} steps, each removing and adding {edits} edges, in blocks of {BLOCK} alternating with steps of the graph without edits");
    in_alternating_blocks(
        steps,
        || {
            sim.queue_edits(churn_edits(&sim, edits, w));
            timed_step(&mut sim, &mut ours)
        },
        || timed_step(&mut beside, &mut theirs),
    )?;
    measure::fill(&mut r, &sim, &ours, bandwidth);
    let dense = theirs.per_second();
    r.dense_beside_steps_per_second = Some(dense);
    r.ratio_to_dense_beside = Some(r.steps_per_second / dense);
    check_conducting(&r)?;
    Ok(r)
}

/// `scale`: the propagation-only graph at each size (16 out-edges per node).
pub fn scale(sizes: &[usize], steps: u64, threads: usize, bandwidth: f64) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for &n in sizes {
        let name = format!("scale-{n}");
        let params = super::workloads::propagation(n, 16, steps, &name)?;
        out.push(propagation(&name, params, threads, bandwidth)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_edits_and_their_results_do_not_depend_on_where_rows_lie() {
        // The same churn with compactions at every step and with none: different row
        // layouts, the same edits, the same state.
        let run = |fraction: f64| {
            let params = super::super::workloads::churn(300, 10, 40, 30).expect("workload");
            let w = params.config().graph.weight_range;
            let mut sim = Simulation::new(params, Some(1), &|_| {}).expect("build");
            sim.store_mut().set_max_tombstone_fraction(fraction);
            sim.step().expect("step");
            sim.step().expect("step");
            for _ in 0..40 {
                sim.queue_edits(churn_edits(&sim, 30, w));
                sim.step().expect("step");
            }
            (sim.store().edges().rows(), sim.state_hash())
        };
        let (compacted, kept) = (run(0.0), run(1.0));
        assert_eq!(compacted.0, 3000, "compacted at every step");
        assert_eq!(kept.0, 3000 + 40 * 30, "every removed row kept as a tombstone");
        assert_eq!(compacted.1, kept.1);
    }

    #[test]
    fn batches_large_enough_for_two_threads_give_the_results_of_one() {
        // At least 1,024 removals and additions a step: 5.1's admission pass runs beside the
        // tombstoning, and the pair filter's inserts beside the appends, on two threads;
        // with duplicates and removals of edges no longer held among them, which are
        // skipped. The same state and the same counts on one thread and on two.
        let run = |threads: usize| {
            let params = super::super::workloads::churn(3000, 10, 6, 1500).expect("workload");
            let w = params.config().graph.weight_range;
            let mut sim = Simulation::new(params, Some(threads), &|_| {}).expect("build");
            let mut counts = Vec::new();
            for _ in 0..6 {
                let mut p = churn_edits(&sim, 1500, w);
                p.removes.extend_from_within(..100);
                p.removes.push(EdgeId(u64::MAX - 1));
                p.adds.extend_from_within(..50);
                sim.queue_edits(p);
                let m = sim.step().expect("step");
                counts.push((m.edges_added, m.edges_culled, m.edits_skipped));
            }
            (sim.state_hash(), counts)
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one, two);
        assert!(one.1.iter().all(|&(a, c, s)| a == 1500 && c == 1500 && s == 151), "{:?}", one.1);
    }

    #[test]
    fn a_workload_that_does_not_conduct_fails_with_the_fraction() {
        let r = Record { workload: "dense-1m".into(), min_fraction_conducting: 0.5, ..Record::default() };
        let e = check_conducting(&r).expect_err("0.5 is under 0.99");
        assert_eq!(
            e.to_string(),
            "dense-1m: only 0.5000 of the edges conducted at some timed step (a propagation-only workload needs at least 0.99)"
        );
        assert!(check_conducting(&Record { min_fraction_conducting: 0.99, ..r }).is_ok());
    }
}
