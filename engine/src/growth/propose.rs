//! The proposal function of MODEL.md 6.1 and 6.2: a pure function of a graph view, the seed
//! and the step `k` of the view.
//!
//! Draws of proposer `i` at step `k` (stream Growth, entity `i`): call 0 gives the
//! probability test (word 0), the target kind (word 1), the target index (word 2) and the
//! edge kind (word 3); call 1 the weight magnitude (word 0), the FreeFlow test (word 1), the
//! other-direction pick (word 2) and the gate (word 3); call 2 the learning rate (word 0).

use rayon::prelude::*;

use super::{EdgeProposal, Proposals};
use crate::config::Params;
use crate::model::rules::{admit, new_weight, possible_one_way, Admission, CullColumns, CullRule};
use crate::rng::{below, pick_weighted, uniform, uniform_range, Rng, Stream, LANES};
use crate::store::{ones, Csr, Direction, EdgeId, EdgeKind, EdgeTable, NodeId, NodeKind, NodeTable};

/// What the proposal function reads: node and edge columns and the out-edge view.
#[derive(Clone, Copy)]
pub struct GraphView<'a> {
    /// Node table.
    pub nodes: &'a NodeTable,
    /// Edge table.
    pub edges: &'a EdgeTable,
    /// Out-edges by source row.
    pub out: &'a Csr,
}

enum Outcome {
    Dropped,
    Add(EdgeProposal),
}

/// Rows per parallel task of the proposal draws.
const ROWS_PER_TASK: usize = 2048;

/// Compute the proposals from the view of the state after step `k`.
pub fn propose(view: GraphView<'_>, params: &Params, k: u64) -> Proposals {
    propose_with(view, params, k, None)
}

/// The probability tests of step `k` drawn ahead of the proposals, from the nodes of an
/// earlier state of the same step (before its deaths and births): what passed, by node id.
/// A node's test depends only on the seed, `k`, its id, its kind and its growth class, which
/// do not change while it lives; so the tests of the nodes still alive at the proposals are
/// these, and only the nodes born since (ids from `upto` on) still need theirs.
#[derive(Debug, Clone, Default)]
pub struct EarlyTests {
    k: u64,
    /// Every node with a lower id was tested (or had no chance to propose).
    upto: u64,
    /// Node ids whose test passed, ascending, with their call-0 words.
    passed: Vec<(u64, [u32; 4])>,
}

/// Draw the probability tests of step `k`'s proposals for every node of `nodes` (see
/// [`EarlyTests`]), on the calling thread (it runs beside the step's other work).
pub fn early_tests(nodes: &NodeTable, params: &Params, k: u64) -> EarlyTests {
    let rng = Rng::new(params.run.seed);
    let class_p = class_probabilities(params, k);
    let passed = passed_tests(nodes, params, &rng, &class_p, 0..nodes.len(), k)
        .into_iter()
        .map(|(r, w)| (nodes.ids()[r], w))
        .collect();
    EarlyTests { k, upto: nodes.ids().last().map_or(0, |&id| id + 1), passed }
}

/// [`propose`], with the probability tests of `early` where they were drawn for this step
/// (the same proposals: see [`EarlyTests`]).
pub fn propose_with(view: GraphView<'_>, params: &Params, k: u64, early: Option<&EarlyTests>) -> Proposals {
    let rng = Rng::new(params.run.seed);
    let index = KindIndex::new(view.nodes.kinds());
    let class_p = class_probabilities(params, k);
    let nodes = view.nodes;
    // Only proposers that drew something are kept, in ascending row (= id) order.
    let outcomes: Vec<Outcome> = match early.filter(|e| e.k == k) {
        Some(e) => {
            // The nodes tested early that are still alive, then those born since (the last
            // rows: ids ascend with rows).
            let ids = nodes.ids();
            let mut tests: Vec<(usize, [u32; 4])> = Vec::with_capacity(e.passed.len());
            let mut from = 0;
            for &(id, w) in &e.passed {
                from = gallop(ids, from, id);
                if ids.get(from) == Some(&id) {
                    tests.push((from, w));
                }
            }
            let born = ids.partition_point(|&x| x < e.upto);
            tests.extend(passed_tests(nodes, params, &rng, &class_p, born..nodes.len(), k));
            // In pieces taken by every free thread of the pool (this runs beside the energy
            // statistics, see `Simulation::step`), joined in order.
            let pieces: Vec<&[(usize, [u32; 4])]> = tests.chunks(PROPOSERS_PER_PIECE).collect();
            crate::join::busy_map(pieces, |_, piece| {
                piece.iter().map(|&(r, w)| proposer(view, params, &rng, &index, r, k, w)).collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect()
        }
        None => {
            let tasks = nodes.len().div_ceil(ROWS_PER_TASK);
            (0..tasks)
                .into_par_iter()
                .flat_map_iter(|t| {
                    let rows = t * ROWS_PER_TASK..((t + 1) * ROWS_PER_TASK).min(nodes.len());
                    let tests = passed_tests(nodes, params, &rng, &class_p, rows, k);
                    tests.into_iter().map(|(r, w)| proposer(view, params, &rng, &index, r, k, w)).collect::<Vec<_>>()
                })
                .collect()
        }
    };
    let mut p = Proposals { from_step: k, ..Proposals::default() };
    for o in outcomes {
        match o {
            Outcome::Dropped => {
                p.made += 1;
                p.dropped += 1;
            }
            Outcome::Add(e) => {
                p.made += 1;
                p.adds.push(e);
            }
        }
    }
    p.culls = culls(view, params, k, index.count(NodeKind::Dynamic));
    p
}

/// Live node rows by kind, for "the i-th live node of kind K" without a list per kind:
/// counts per block of 64 rows, then a scan inside one block.
struct KindIndex<'a> {
    kinds: &'a [u8],
    /// `prefix[b][kind]`: rows of that kind in `0..b * 64`; one entry more than blocks.
    prefix: Vec<[u32; 3]>,
}

impl<'a> KindIndex<'a> {
    const BLOCK: usize = 64;

    fn new(kinds: &'a [u8]) -> Self {
        let mut prefix = Vec::with_capacity(kinds.len() / Self::BLOCK + 2);
        let mut acc = [0u32; 3];
        prefix.push(acc);
        for block in kinds.chunks(Self::BLOCK) {
            // Sums of comparisons (vectorised), not increments of an indexed array (each
            // waiting for the one before); the third kind's count is what is left.
            let (mut s, mut d) = (0u32, 0u32);
            for &c in block {
                s += u32::from(c == 0);
                d += u32::from(c == 1);
            }
            acc[0] += s;
            acc[1] += d;
            acc[2] += block.len() as u32 - s - d;
            prefix.push(acc);
        }
        Self { kinds, prefix }
    }

    /// Live nodes of `kind`.
    fn count(&self, kind: NodeKind) -> usize {
        self.prefix.last().map_or(0, |p| p[usize::from(kind.code()).min(2)] as usize)
    }

    /// The row of the `i`-th (from 0) live node of `kind`, in row order; `i < count(kind)`.
    fn nth(&self, kind: NodeKind, i: usize) -> usize {
        let c = usize::from(kind.code()).min(2);
        // The last block whose prefix count is <= i holds it.
        let b = self.prefix.partition_point(|p| p[c] as usize <= i) - 1;
        let mut seen = self.prefix[b][c] as usize;
        for r in b * Self::BLOCK..self.kinds.len() {
            if usize::from(self.kinds[r]).min(2) == c {
                if seen == i {
                    return r;
                }
                seen += 1;
            }
        }
        debug_assert!(false, "nth called with i >= count");
        self.kinds.len().saturating_sub(1)
    }
}

/// Per growth class its probability at step `k`: 0 when its period does not divide `k` (a
/// draw with probability 0 proposes nothing, so those rows need no draw).
fn class_probabilities(params: &Params, k: u64) -> Vec<f32> {
    params.growth.classes.iter().map(|c| if k % u64::from(c.every) == 0 { c.p } else { 0.0 }).collect()
}

/// The rows among `rows` whose probability test of step `k` passes, ascending, with their
/// call-0 words. The tests of the rows that draw are computed LANES at a time (vector
/// Philox, the same bits as one call per proposer).
fn passed_tests(
    nodes: &NodeTable,
    params: &Params,
    rng: &Rng,
    class_p: &[f32],
    rows: std::ops::Range<usize>,
    k: u64,
) -> Vec<(usize, [u32; 4])> {
    let (lo, hi) = (rows.start, rows.end.min(nodes.len()));
    if lo >= hi {
        return Vec::new();
    }
    let (kinds, classes, ids) = (nodes.kinds(), nodes.growth_classes(), nodes.ids());
    let (sens, dynk) = (NodeKind::Sensory.code(), NodeKind::Dynamic.code());
    let sensory_p = params.growth.sensory_growth_p;
    // A dynamic row's chance by its growth class (classes past the last take the last's).
    let last_class = class_p.len().saturating_sub(1);
    let by_class: [f32; 256] = std::array::from_fn(|c| class_p.get(c.min(last_class)).copied().unwrap_or(0.0));
    let mut out = Vec::new();
    // The rows that draw, LANES at a time: the words of a full pack computed at once (vector
    // Philox, the same bits as one call per proposer), then each row's test.
    let (mut pack, mut m) = ([(0usize, 0.0f32); LANES], 0);
    let mut ent = [0u64; LANES];
    let mut draw = |pack: &[(usize, f32)], out: &mut Vec<(usize, [u32; 4])>| {
        for (e, &(r, _)) in ent.iter_mut().zip(pack) {
            *e = ids[r];
        }
        let w = rng.words_lanes(k, Stream::Growth, &ent, 0);
        for (l, &(r, p)) in pack.iter().enumerate() {
            let words = [w[0][l], w[1][l], w[2][l], w[3][l]];
            debug_assert_eq!(words, rng.words(k, Stream::Growth, ent[l], 0));
            if uniform(words[0]) < p {
                out.push((r, words));
            }
        }
    };
    // Per block of 64 rows, each row's chance without a branch (whether a row draws depends
    // on its random class) and a mask of those with one; then the rows of the mask in order.
    let mut chance = [0.0f32; 64];
    for from in (lo..hi).step_by(64) {
        let to = (from + 64).min(hi);
        let mut mask = 0u64;
        for (i, ((c, &kind), &class)) in chance.iter_mut().zip(&kinds[from..to]).zip(&classes[from..to]).enumerate() {
            let dyn_p = by_class[usize::from(class)];
            *c = if kind == dynk {
                dyn_p
            } else if kind == sens {
                sensory_p
            } else {
                0.0
            };
            mask |= u64::from(*c > 0.0) << i;
        }
        for i in ones(mask) {
            pack[m] = (from + i, chance[i]);
            m += 1;
            if m == LANES {
                draw(&pack, &mut out);
                m = 0;
            }
        }
    }
    draw(&pack[..m], &mut out);
    out
}

/// The proposal of row `r`, whose probability test passed with the call-0 words `w`.
fn proposer(
    view: GraphView<'_>,
    params: &Params,
    rng: &Rng,
    index: &KindIndex<'_>,
    r: usize,
    k: u64,
    w: [u32; 4],
) -> Outcome {
    let nodes = view.nodes;
    let kind = nodes.kind_of(r);
    let id = nodes.ids()[r];
    let target_kind = match kind {
        NodeKind::Dynamic => {
            [NodeKind::Dynamic, NodeKind::Workspace, NodeKind::Sensory][pick_weighted(w[1], &params.target_mix())]
        }
        _ => NodeKind::Dynamic,
    };
    let pool = index.count(target_kind);
    if pool == 0 {
        return Outcome::Dropped;
    }
    let d = index.nth(target_kind, below(w[2], pool as u32) as usize);
    let mut a = Admission {
        src_kind: kind,
        dst_kind: target_kind,
        self_loop: d == r,
        out_degree: view.out.degree(r),
        max_out_degree: nodes.max_out_degree()[r],
        edge_count: view.edges.count() as u64,
        duplicate: false,
        has_out_to_workspace: false,
        has_out_to_sensory: false,
    };
    for &e in view.out.row(r) {
        let t = view.edges.dst_rows()[e as usize] as usize;
        a.duplicate |= t == d;
        let tk = nodes.kind_of(t);
        a.has_out_to_workspace |= tk == NodeKind::Workspace;
        a.has_out_to_sensory |= tk == NodeKind::Sensory;
    }
    if admit(&a, params).is_err() {
        return Outcome::Dropped;
    }
    let edge_kind = EdgeKind::ALL[below(w[3], 4) as usize];
    let w1 = rng.words(k, Stream::Growth, id, 1);
    let g = &params.graph;
    let weight = new_weight(edge_kind, uniform(w1[0]), g.weight_range[0], g.weight_range[1]);
    let dst_parent = nodes.parents()[d];
    let direction = if uniform(w1[1]) < params.growth.freeflow_p {
        Direction::FreeFlow
    } else {
        let others = possible_one_way(params.transfer.direction_rule, kind, target_kind, id, dst_parent);
        if others.is_empty() {
            Direction::FreeFlow
        } else {
            others[below(w1[2], others.len() as u32) as usize]
        }
    };
    let gate = if edge_kind == EdgeKind::Gated { uniform_range(w1[3], 0.1, 1.0) * g.gate_scale } else { 0.0 };
    let plastic_lr = if edge_kind == EdgeKind::Plastic {
        let w2 = rng.words(k, Stream::Growth, id, 2);
        uniform_range(w2[0], g.plastic_lr_range[0], g.plastic_lr_range[1])
    } else {
        0.0
    };
    Outcome::Add(EdgeProposal {
        src: NodeId(id),
        dst: NodeId(nodes.ids()[d]),
        kind: edge_kind,
        weight,
        direction,
        gate,
        plastic_lr,
    })
}

/// Culls of MODEL.md 6.2 from the view after step `k`.
fn culls(view: GraphView<'_>, params: &Params, k: u64, n_dynamic: usize) -> Vec<EdgeId> {
    let gr = &params.growth;
    let max = gr.max_culled_edges_per_step as usize;
    if max == 0 || k % u64::from(gr.cull_every) != 0 {
        return Vec::new();
    }
    let threshold = (gr.cull_min_edges_floor as f64).max(f64::from(gr.cull_min_edges_per_dynamic) * n_dynamic as f64);
    let edges = view.edges;
    if (edges.count() as f64) < threshold {
        return Vec::new();
    }
    let nodes = view.nodes;
    let rule = CullRule::new(params);
    let cols = CullColumns::new(nodes, edges);
    let kinds = CullRule::kind_words(nodes.kinds());
    // The first `max` edge rows that meet the condition, in ascending order: each fixed
    // chunk of rows lists its hits, the lists are joined in chunk order. The chunks are
    // taken from a counter by every thread of the pool that is free ([`busy_map`]): the
    // scan runs beside the step's energy statistics, and the thread that computed them takes
    // the chunks left when it is done.
    let chunks: Vec<Vec<EdgeId>> = crate::join::busy_map((0..edges.rows().div_ceil(CULL_CHUNK)).collect(), |_, c| {
        let (lo, hi) = (c * CULL_CHUNK, ((c + 1) * CULL_CHUNK).min(edges.rows()));
        let mut out = Vec::new();
        // The condition for a block of rows without branches (its parts are
        // unpredictable), one bit per row, then the few rows that meet it, in order.
        const BLOCK: usize = 256;
        let mut hits = [0u64; BLOCK / 64];
        for b in (lo..hi).step_by(BLOCK) {
            let bhi = (b + BLOCK).min(hi);
            rule.masks(&cols, &kinds, b..bhi, &mut hits[..(bhi - b).div_ceil(64)]);
            for (w, &word) in hits[..(bhi - b).div_ceil(64)].iter().enumerate() {
                for r in ones(word).map(|k| b + w * 64 + k) {
                    if edges.is_live(r) {
                        out.push(EdgeId(edges.id(r)));
                        if out.len() == max {
                            return out;
                        }
                    }
                }
            }
        }
        out
    });
    let mut out: Vec<EdgeId> = chunks.into_iter().flatten().take(max).collect();
    out.shrink_to_fit();
    out
}

/// The first row at or after `from` whose id is at least `id` (`ids` ascending): searched
/// from `from` in steps that double, then by halves. The early tests' ids are a few dozen
/// rows apart, so each search reads a few lines near the last one instead of the whole
/// column's (a binary search over it was 35 us for 270 of them: the lines of a column the
/// other thread has just written).
fn gallop(ids: &[u64], from: usize, id: u64) -> usize {
    let (mut lo, mut hi, mut step) = (from, from, 1);
    while ids.get(hi).is_some_and(|&x| x < id) {
        lo = hi + 1;
        hi = lo + step;
        step *= 2;
    }
    let hi = hi.min(ids.len()).max(lo);
    lo + ids[lo..hi].partition_point(|&x| x < id)
}

/// Proposers per piece of the proposals drawn from early tests.
const PROPOSERS_PER_PIECE: usize = 32;

/// Edge rows per chunk of the cull scan.
const CULL_CHUNK: usize = 4096;

#[cfg(test)]
mod tests {
    use super::{early_tests, propose, propose_with, GraphView, KindIndex};
    use crate::config::Config;
    use crate::model::build::build_initial;
    use crate::store::{NodeKind, Store};

    fn view(s: &Store) -> GraphView<'_> {
        GraphView { nodes: s.nodes(), edges: s.edges(), out: s.out_edges() }
    }

    #[test]
    fn early_tests_give_the_proposals_of_the_tests_drawn_at_the_end() {
        let mut c = Config::default();
        (c.graph.sensory_width, c.graph.sensory_height, c.graph.n_dynamic) = (8, 8, 400);
        for g in &mut c.growth.classes {
            (g.p, g.every) = (0.3, 1);
        }
        c.growth.sensory_growth_p = 0.3;
        let params = c.validate().expect("valid");
        let mut store = build_initial(&params, &|_| {}).expect("builds");
        let k = 7;
        let early = early_tests(store.nodes(), &params, k);
        // Deaths among the proposers whose test passed and among the others, then births
        // (copies of living dynamic nodes, with new ids).
        let passed: Vec<usize> =
            early.passed.iter().filter_map(|&(id, _)| store.nodes().row_of(crate::store::NodeId(id))).collect();
        assert!(passed.len() > 50, "{} passed", passed.len());
        let mut dead: Vec<usize> = passed.iter().step_by(3).copied().collect();
        dead.extend((0..store.nodes().len()).step_by(7).filter(|&r| store.nodes().kind_of(r) == NodeKind::Dynamic));
        dead.sort_unstable();
        dead.dedup();
        store.remove_node_rows(&dead);
        let dynk = NodeKind::Dynamic.code();
        let born: Vec<_> = (0..store.nodes().len())
            .filter(|&r| store.nodes().kinds()[r] == dynk)
            .take(60)
            .map(|r| store.nodes().record(r))
            .collect();
        store.add_nodes(&born);
        store.refresh_out_edges();
        let full = propose(view(&store), &params, k);
        let with = propose_with(view(&store), &params, k, Some(&early));
        assert_eq!(with, full);
        // Both sides of the merge took part: proposers tested early and newborn ones.
        let newborn = |id: u64| id >= early.upto;
        assert!(full.adds.iter().any(|e| newborn(e.src.0)) && full.adds.iter().any(|e| !newborn(e.src.0)));
        // Tests drawn for another step are not used.
        assert_eq!(propose_with(view(&store), &params, k + 1, Some(&early)), propose(view(&store), &params, k + 1));
    }

    #[test]
    fn kind_index_finds_the_nth_row_of_each_kind() {
        // Runs of kinds across block boundaries, and a kind that never occurs.
        let mut kinds = vec![0u8; 70];
        kinds.extend(std::iter::repeat_n(1u8, 130));
        kinds.extend((0..300).map(|i| (i * 7 % 3) as u8 % 2));
        for (c, kind) in [(0u8, NodeKind::Sensory), (1, NodeKind::Dynamic), (2, NodeKind::Workspace)] {
            let rows: Vec<usize> = (0..kinds.len()).filter(|&r| kinds[r] == c).collect();
            let index = KindIndex::new(&kinds);
            assert_eq!(index.count(kind), rows.len(), "{kind:?}");
            for (i, &r) in rows.iter().enumerate() {
                assert_eq!(index.nth(kind, i), r, "{kind:?} #{i}");
            }
        }
    }
}
