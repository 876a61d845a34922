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
    /// The addition, and its source and target rows.
    Add(EdgeProposal, [u32; 2]),
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
            Outcome::Add(e, rows) => {
                p.made += 1;
                p.adds.push(e);
                p.rows.0.push(rows);
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
    let chances = Chances::new(params, class_p);
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
    // Per block of 64 rows, a mask of the rows with a chance to propose, without a branch
    // (whether a row draws depends on its random class); then the rows of the mask in order.
    for from in (lo..hi).step_by(64) {
        let to = (from + 64).min(hi);
        for i in ones(drawing_fast(&kinds[from..to], &classes[from..to], &chances)) {
            let r = from + i;
            pack[m] = (r, chances.of(kinds[r], classes[r]));
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

/// A row's chance to propose at one step, by its kind and growth class: a dynamic row's by
/// its class (classes past the last take the last's), a sensory row's `sensory_growth_p`,
/// any other's 0; and which have one, as bits (what [`drawing`] reads).
struct Chances {
    by_class: [f32; 256],
    sensory_p: f32,
    sens: u8,
    dynk: u8,
    /// Bit `c % 64` of word `c / 64`: whether class `c` has a chance.
    classes_drawing: [u64; 4],
    /// Whether sensory rows have one.
    sensory_draws: bool,
    /// Where at most four of the configured classes draw: those (the first repeated to
    /// fill) and whether there is one; and the last class, from which every code draws
    /// where it draws (`past_any`).
    few: Option<([u8; 4], bool)>,
    past: u8,
    /// Whether any code is past (see `past`).
    past_any: bool,
}

impl Chances {
    fn new(params: &Params, class_p: &[f32]) -> Self {
        let last_class = class_p.len().saturating_sub(1);
        let by_class: [f32; 256] = std::array::from_fn(|c| class_p.get(c.min(last_class)).copied().unwrap_or(0.0));
        let mut classes_drawing = [0u64; 4];
        for (c, &p) in by_class.iter().enumerate() {
            classes_drawing[c / 64] |= u64::from(p > 0.0) << (c % 64);
        }
        let sensory_p = params.growth.sensory_growth_p;
        let drawing: Vec<u8> = (0..=last_class.min(255)).filter(|&c| by_class[c] > 0.0).map(|c| c as u8).collect();
        let few = (drawing.len() <= 4).then(|| {
            (std::array::from_fn(|i| drawing.get(i).or(drawing.first()).copied().unwrap_or(0)), !drawing.is_empty())
        });
        Self {
            by_class,
            sensory_p,
            sens: NodeKind::Sensory.code(),
            dynk: NodeKind::Dynamic.code(),
            classes_drawing,
            sensory_draws: sensory_p > 0.0,
            few,
            past: last_class.min(255) as u8,
            past_any: by_class[last_class.min(255)] > 0.0,
        }
    }

    /// The chance of a row of kind code `kind` and growth class `class`.
    #[inline(always)]
    fn of(&self, kind: u8, class: u8) -> f32 {
        if kind == self.dynk {
            self.by_class[usize::from(class)]
        } else if kind == self.sens {
            self.sensory_p
        } else {
            0.0
        }
    }
}

crate::rng::vector_forms!(drawing_fast, drawing, drawing_avx512, drawing_avx2,
    (kinds: &[u8], classes: &[u8], chances: &Chances) -> u64);

/// Bit `i` set where row `i` of up to 64 (kind codes `kinds`, growth classes `classes`) has
/// a chance to propose ([`Chances::of`] above 0): a loop without branches or table lookups,
/// which the compiled forms vectorise. Row by row with a branch on the kind, this loop was
/// most of [`passed_tests`], itself 6.5% of a one-thread profile of `default.toml`.
#[inline(always)]
fn drawing(kinds: &[u8], classes: &[u8], chances: &Chances) -> u64 {
    let m = kinds.len().min(classes.len()).min(64);
    let (kinds, classes) = (&kinds[..m], &classes[..m]);
    let mut mask = 0u64;
    if let Some(([a, b, c, d], any)) = chances.few {
        // At most four classes draw (the usual case): byte comparisons, a byte per row,
        // then packed into the word.
        let mut hit = [0u8; 64];
        for i in 0..m {
            let x = classes[i];
            let class = (any & ((x == a) | (x == b) | (x == c) | (x == d))) | (chances.past_any & (x >= chances.past));
            let dynamic = (kinds[i] == chances.dynk) & class;
            let sens = (kinds[i] == chances.sens) & chances.sensory_draws;
            hit[i] = u8::from(dynamic | sens);
        }
        return crate::store::pack_bytes(&hit);
    }
    let [w0, w1, w2, w3] = chances.classes_drawing;
    let sensory = u64::from(chances.sensory_draws);
    for i in 0..m {
        // The class's bit picked from four words by selects and shifted down.
        let c = u64::from(classes[i]);
        let word = if c < 64 {
            w0
        } else if c < 128 {
            w1
        } else if c < 192 {
            w2
        } else {
            w3
        };
        let dynamic = u64::from(kinds[i] == chances.dynk) & (word >> (c & 63));
        let sens = u64::from(kinds[i] == chances.sens) & sensory;
        mask |= ((dynamic | sens) & 1) << i;
    }
    mask
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
    let e = EdgeProposal {
        src: NodeId(id),
        dst: NodeId(nodes.ids()[d]),
        kind: edge_kind,
        weight,
        direction,
        gate,
        plastic_lr,
    };
    Outcome::Add(e, [r as u32, d as u32])
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
    use super::{drawing, drawing_avx2, drawing_avx512, Chances};
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
        // Each addition's row hints are its endpoints' rows in the view.
        let ids = store.nodes().ids();
        for p in [&full, &with] {
            let hints = p.row_hints().expect("a hint per addition");
            assert!(p
                .adds
                .iter()
                .zip(hints)
                .all(|(e, &[s, d])| (ids[s as usize], ids[d as usize]) == (e.src.0, e.dst.0)));
        }
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

    /// The masks of rows with a chance to propose agree with [`Chances::of`] row by row, in
    /// the portable form and every compiled one, over words that are not full and class
    /// codes past the last class: with no class drawing, with a few (the byte comparisons,
    /// the last class drawing or not) and with more than four (the bit words, classes past
    /// 64), sensory rows drawing or not.
    #[test]
    fn the_masks_of_drawing_rows_agree_in_every_form() {
        let mut next = crate::rng::test_words(17);
        let codes = [NodeKind::Sensory.code(), NodeKind::Dynamic.code(), NodeKind::Workspace.code()];
        // Every class code on a dynamic row (in a scrambled order), then rows of every kind.
        let kinds: Vec<u8> = (0..600).map(|i| if i < 256 { codes[1] } else { codes[(next() % 3) as usize] }).collect();
        let classes: Vec<u8> = (0..600).map(|i| (i * 97 % 256) as u8).collect();
        // Classes configured, which draw, the sensory chance, and whether few draw.
        type Case = (usize, fn(usize) -> bool, f32, bool);
        let cases: [Case; 6] = [
            (3, |_| false, 0.001, true),
            (3, |c| c != 1, 0.0, true),
            (70, |c| c == 5 || c == 65, 0.2, true),
            (70, |c| c == 5 || c == 69, 0.0, true),
            (70, |c| [3, 40, 64, 66].contains(&c), 0.0, true),
            (200, |c| c % 3 == 0 || c == 127 || c == 190, 0.1, false),
        ];
        for (n, draws, sensory_p, few) in cases {
            let mut c = Config::default();
            c.growth.sensory_growth_p = sensory_p;
            let params = c.validate().expect("valid");
            let class_p: Vec<f32> = (0..n).map(|c| if draws(c) { 0.25 } else { 0.0 }).collect();
            let chances = Chances::new(&params, &class_p);
            assert_eq!(chances.few.is_some(), few, "{n} classes");
            let (mut some, mut all) = (false, true);
            for lo in (0..kinds.len()).step_by(64) {
                let hi = (lo + 64).min(kinds.len());
                let (k, cl) = (&kinds[lo..hi], &classes[lo..hi]);
                let expect = (0..k.len()).fold(0u64, |w, i| w | u64::from(chances.of(k[i], cl[i]) > 0.0) << i);
                (some, all) = (some | (expect != 0), all & (expect.count_ones() == k.len() as u32));
                assert_eq!(drawing(k, cl, &chances), expect, "portable, {n} classes, rows {lo}..");
                for form in crate::rng::forms_found() {
                    #[allow(unsafe_code)]
                    // SAFETY: each form is called only where its feature was detected.
                    let got = unsafe {
                        if form == "avx2" {
                            drawing_avx2(k, cl, &chances)
                        } else {
                            drawing_avx512(k, cl, &chances)
                        }
                    };
                    assert_eq!(got, expect, "{form}, {n} classes, rows {lo}..");
                }
            }
            assert!(some && !all, "both outcomes, {n} classes");
        }
    }
}
