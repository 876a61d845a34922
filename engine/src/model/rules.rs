//! Predicates and small formulas of MODEL.md sections 1, 5 and 6, shared by the build, the
//! steppers, the edit applier and the growth rules so that each rule is written once.

use crate::config::{DirectionRule, Params};
use crate::store::{direction_code, kind_code, Direction, EdgeKind, EdgeTable, NodeKind, NodeTable, Subtype, NO_CLASS};

/// Bits of the per-edge flag byte the steppers cache.
pub mod flag {
    /// The edge conducts whenever its source is active (and, if gated, open): the source
    /// is not a workspace node, the target is not sensory, and the direction rule holds.
    pub const CONDUCTS: u8 = 1;
    /// The target is a sensory node: the source burns (MODEL.md 5.2).
    pub const INTO_SENSORY: u8 = 2;
    /// Negative weight: the effect drains the target.
    pub const NEGATIVE: u8 = 4;
    /// Gated edge: conducts only when the source's energy reaches the gate.
    pub const GATED: u8 = 8;
    /// Plastic edge.
    pub const PLASTIC: u8 = 16;
    /// A tombstoned row (the edge was removed; the row waits for compaction): the only flag
    /// set, so it conducts, burns and changes nothing, and counts in no degree.
    pub const DEAD: u8 = 32;
}

/// Whether `dir` allows conduction from `src` (id `src_id`, kind `src_kind`) to a target of
/// kind `dst_kind` whose parent id is `dst_parent` (MODEL.md 5.2, `direction_ok`).
#[inline]
pub fn direction_ok(
    rule: DirectionRule,
    dir: Direction,
    src_kind: NodeKind,
    dst_kind: NodeKind,
    src_id: u64,
    dst_parent: u64,
) -> bool {
    match (dir, rule) {
        (Direction::FreeFlow, _) => true,
        (Direction::OneWayOut, DirectionRule::ByKind) => src_kind == NodeKind::Sensory,
        (Direction::OneWayIn, DirectionRule::ByKind) => dst_kind == NodeKind::Workspace,
        (Direction::OneWayOut, DirectionRule::ByLineage) => dst_parent == src_id,
        (Direction::OneWayIn, DirectionRule::ByLineage) => dst_parent != src_id,
    }
}

/// Endpoint kinds that no edge may have: a workspace source, Sensory->Sensory,
/// Workspace->Workspace or Sensory->Workspace (MODEL.md 6.1).
#[inline]
pub fn kinds_forbidden(src: NodeKind, dst: NodeKind) -> bool {
    src == NodeKind::Workspace || (src == NodeKind::Sensory && (dst == NodeKind::Sensory || dst == NodeKind::Workspace))
}

/// The cached flag byte of an edge (see [`flag`]).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn edge_flags(
    rule: DirectionRule,
    kind: EdgeKind,
    dir: Direction,
    weight: f32,
    src_kind: NodeKind,
    dst_kind: NodeKind,
    src_id: u64,
    dst_parent: u64,
) -> u8 {
    let mut f = 0;
    if src_kind != NodeKind::Workspace
        && dst_kind != NodeKind::Sensory
        && direction_ok(rule, dir, src_kind, dst_kind, src_id, dst_parent)
    {
        f |= flag::CONDUCTS;
    }
    if dst_kind == NodeKind::Sensory {
        f |= flag::INTO_SENSORY;
    }
    if weight < 0.0 {
        f |= flag::NEGATIVE;
    }
    match kind {
        EdgeKind::Gated => f |= flag::GATED,
        EdgeKind::Plastic => f |= flag::PLASTIC,
        _ => {}
    }
    f
}

/// Whether an edge meets a cull condition of MODEL.md 6.2: its direction can never hold
/// (edges into sensory nodes excepted: they burn whatever their direction), its endpoint
/// kinds break an admission rule, or it is Plastic with `|w| < min_abs_weight`.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn cull_condition(
    rule: DirectionRule,
    min_abs_weight: f32,
    kind: EdgeKind,
    dir: Direction,
    weight: f32,
    src_kind: NodeKind,
    dst_kind: NodeKind,
    src_id: u64,
    dst_parent: u64,
) -> bool {
    kinds_forbidden(src_kind, dst_kind)
        || (dst_kind != NodeKind::Sensory && !direction_ok(rule, dir, src_kind, dst_kind, src_id, dst_parent))
        || (kind == EdgeKind::Plastic && weight.abs() < min_abs_weight)
}

/// [`cull_condition`] as a table over the codes it depends on, for scanning many edges.
///
/// Apart from the weight test of Plastic edges, the condition depends only on the direction,
/// the endpoint kinds, and whether the source is the target's parent; the table holds it for
/// every combination, computed by [`cull_condition`] itself.
#[derive(Debug, Clone)]
pub struct CullRule {
    /// `[direction][source kind][target kind][source is the target's parent]`.
    table: [[[[bool; 2]; 3]; 3]; 3],
    /// The table as one word: bit `((direction * 3 + source kind) * 3 + target kind) * 2 +
    /// lineage` (what [`CullRule::masks`] reads without a branch).
    bits: u64,
    min_abs_weight: f32,
    /// Whether the table differs anywhere by lineage (only under the lineage direction
    /// rule); where it does not, a row's lineage is not read (two 8-byte gathers per row).
    lineage_matters: bool,
}

impl CullRule {
    /// The rule under `params`.
    pub fn new(params: &Params) -> Self {
        let mut table = [[[[false; 2]; 3]; 3]; 3];
        let rule = params.transfer.direction_rule;
        for &dir in Direction::ALL {
            for &sk in NodeKind::ALL {
                for &dk in NodeKind::ALL {
                    for lineage in [false, true] {
                        let dst_parent = if lineage { 1 } else { 2 };
                        table[usize::from(dir.code())][usize::from(sk.code())][usize::from(dk.code())]
                            [usize::from(lineage)] =
                            cull_condition(rule, 0.0, EdgeKind::Excitatory, dir, 1.0, sk, dk, 1, dst_parent);
                    }
                }
            }
        }
        let lineage_matters = table.iter().flatten().flatten().any(|t| t[0] != t[1]);
        let bits =
            table.iter().flatten().flatten().flatten().enumerate().fold(0u64, |w, (i, &t)| w | u64::from(t) << i);
        Self { table, bits, min_abs_weight: params.growth.min_abs_weight, lineage_matters }
    }

    /// The node kinds as [`CullRule::masks`] reads them: one word per node row, the code
    /// capped at 2 as in [`CullRule::row`] (words, so that the compiled forms gather them).
    pub fn kind_words(kinds: &[u8]) -> Vec<u32> {
        kinds.iter().map(|&k| u32::from(k.min(2))).collect()
    }

    /// Bit `k % 64` of `masks[k / 64]` set where edge row `rows.start + k` meets the cull
    /// condition now ([`CullRule::row`]), for the rows of `rows` (`masks`: one word per 64
    /// of them, the first at `rows.start`; `kinds`: [`CullRule::kind_words`] of the nodes
    /// of `c`). Live or not: the caller asks only of the rows set. A loop without branches per word, which the compiled forms vectorise (gathers of
    /// the kind words): `default.toml`'s cull scan over its 21,000 edge rows, every third
    /// step, took 117-153 us on one thread by [`CullRule::row`] and takes 32-38 so.
    pub fn masks(&self, c: &CullColumns<'_>, kinds: &[u32], rows: std::ops::Range<usize>, masks: &mut [u64]) {
        let end = rows.end.min(c.src.len()).min(c.dst.len()).min(c.kind_dirs.len()).min(c.weights.len());
        let at = |b: usize| (rows.start + b * 64).min(end)..(rows.start + b * 64 + 64).min(end);
        for (b, m) in masks.iter_mut().enumerate() {
            let r = at(b);
            let edges = (&c.src[r.clone()], &c.dst[r.clone()], &c.kind_dirs[r.clone()], &c.weights[r]);
            *m = if self.lineage_matters {
                cull_word_lineage_fast(self, c, kinds, edges)
            } else {
                cull_word_fast(self, c, kinds, edges)
            };
        }
    }

    /// Whether the edge at row `e` of the tables meets the cull condition now.
    #[inline]
    pub fn edge_row(&self, nodes: &NodeTable, edges: &EdgeTable, e: usize) -> bool {
        self.row(&CullColumns::new(nodes, edges), e)
    }

    /// [`CullRule::edge_row`] on columns fetched once (for scans over many rows).
    #[inline]
    pub fn row(&self, c: &CullColumns<'_>, e: usize) -> bool {
        let (s, d) = (c.src[e] as usize, c.dst[e] as usize);
        let lineage = self.lineage_matters && c.parents[d] == c.ids[s];
        let kd = c.kind_dirs[e];
        let dir = usize::from(direction_code(kd)).min(2);
        let (sk, dk) = (usize::from(c.node_kinds[s]).min(2), usize::from(c.node_kinds[d]).min(2));
        self.table[dir][sk][dk][usize::from(lineage)]
            | ((kind_code(kd) == EdgeKind::Plastic.code()) & (c.weights[e].abs() < self.min_abs_weight))
    }
}

/// Up to 64 edge rows of [`CullRule::masks`]: source rows, target rows, kind-and-direction
/// bytes and weights.
type CullRows<'a> = (&'a [u32], &'a [u32], &'a [u8], &'a [f32]);

crate::rng::vector_forms!(cull_word_fast, cull_word, cull_word_avx512, cull_word_avx2,
    (rule: &CullRule, c: &CullColumns<'_>, kinds: &[u32], e: CullRows<'_>) -> u64);
crate::rng::vector_forms!(cull_word_lineage_fast, cull_word_lineage, cull_word_lineage_avx512,
    cull_word_lineage_avx2, (rule: &CullRule, c: &CullColumns<'_>, kinds: &[u32], e: CullRows<'_>) -> u64);

/// [`CullRule::masks`]' word for rows whose lineage does not matter.
#[inline(always)]
fn cull_word(rule: &CullRule, c: &CullColumns<'_>, kinds: &[u32], e: CullRows<'_>) -> u64 {
    cull_word_by(rule, c, kinds, e, false)
}

/// [`CullRule::masks`]' word for rows whose lineage matters (the direction rule by lineage).
#[inline(always)]
fn cull_word_lineage(rule: &CullRule, c: &CullColumns<'_>, kinds: &[u32], e: CullRows<'_>) -> u64 {
    cull_word_by(rule, c, kinds, e, true)
}

/// Bit `k` set where row `k` of `e` meets the cull condition: [`CullRule::row`] with the
/// table read as a word and gathers that cannot fail (an endpoint out of the node columns,
/// which never happens, reads as kind 0 and no parent).
#[inline(always)]
fn cull_word_by(
    rule: &CullRule,
    c: &CullColumns<'_>,
    kinds: &[u32],
    (src, dst, kind_dirs, weights): CullRows<'_>,
    lineage: bool,
) -> u64 {
    let m = src.len().min(dst.len()).min(kind_dirs.len()).min(weights.len()).min(64);
    let plastic = EdgeKind::Plastic.code();
    let mut w = [0u8; 64];
    for k in 0..m {
        let (s, d) = (src[k] as usize, dst[k] as usize);
        let (sk, dk) = (kinds.get(s).copied().unwrap_or_default(), kinds.get(d).copied().unwrap_or_default());
        let lin = lineage && c.parents.get(d).copied() == c.ids.get(s).copied();
        let kd = kind_dirs[k];
        let dir = u32::from(direction_code(kd).min(2));
        let bit = ((dir * 3 + sk) * 3 + dk) * 2 + u32::from(lin);
        let hit =
            ((rule.bits >> bit) & 1 != 0) | ((kind_code(kd) == plastic) & (weights[k].abs() < rule.min_abs_weight));
        w[k] = u8::from(hit);
    }
    crate::store::pack_bytes(&w)
}

/// The columns [`CullRule`] reads.
#[derive(Debug, Clone, Copy)]
pub struct CullColumns<'a> {
    src: &'a [u32],
    dst: &'a [u32],
    parents: &'a [u64],
    ids: &'a [u64],
    node_kinds: &'a [u8],
    kind_dirs: &'a [u8],
    weights: &'a [f32],
}

impl<'a> CullColumns<'a> {
    /// The columns of `nodes` and `edges`.
    pub fn new(nodes: &'a NodeTable, edges: &'a EdgeTable) -> Self {
        Self {
            src: edges.src_rows(),
            dst: edges.dst_rows(),
            parents: nodes.parents(),
            ids: nodes.ids(),
            node_kinds: nodes.kinds(),
            kind_dirs: edges.kind_dirs(),
            weights: edges.weights(),
        }
    }
}

/// What an admission check knows about a proposed edge `src -> dst` (MODEL.md 6.1).
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    /// Source kind.
    pub src_kind: NodeKind,
    /// Target kind.
    pub dst_kind: NodeKind,
    /// Source and target are the same node.
    pub self_loop: bool,
    /// The source's current out-degree.
    pub out_degree: u32,
    /// The source's cap.
    pub max_out_degree: u16,
    /// Current edge count.
    pub edge_count: u64,
    /// The pair already has an edge.
    pub duplicate: bool,
    /// The source has an out-edge to a workspace node.
    pub has_out_to_workspace: bool,
    /// The source has an out-edge to a sensory node.
    pub has_out_to_sensory: bool,
}

/// Why an edge is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Source equals target.
    SelfLoop,
    /// Forbidden endpoint kinds.
    Kinds,
    /// The source is at its `max_out_degree`.
    OutDegree,
    /// The edge count is at `max_edges`.
    Capacity,
    /// The pair already has an edge and duplicates are not allowed.
    Duplicate,
    /// A dynamic node would have out-edges to both a workspace and a sensory node.
    WorkspaceAndSensory,
}

/// The admission rules of MODEL.md 6.1.
pub fn admit(a: &Admission, params: &Params) -> Result<(), Reject> {
    if a.self_loop {
        return Err(Reject::SelfLoop);
    }
    if kinds_forbidden(a.src_kind, a.dst_kind) {
        return Err(Reject::Kinds);
    }
    if a.out_degree >= u32::from(a.max_out_degree) {
        return Err(Reject::OutDegree);
    }
    if a.edge_count >= params.graph.max_edges {
        return Err(Reject::Capacity);
    }
    if a.duplicate && !params.graph.allow_duplicate_edges {
        return Err(Reject::Duplicate);
    }
    if a.src_kind == NodeKind::Dynamic
        && ((a.dst_kind == NodeKind::Workspace && a.has_out_to_sensory)
            || (a.dst_kind == NodeKind::Sensory && a.has_out_to_workspace))
    {
        return Err(Reject::WorkspaceAndSensory);
    }
    Ok(())
}

/// The directions other than FreeFlow that could ever conduct for a pair under the rule.
pub fn possible_one_way(
    rule: DirectionRule,
    src_kind: NodeKind,
    dst_kind: NodeKind,
    src_id: u64,
    dst_parent: u64,
) -> Vec<Direction> {
    [Direction::OneWayOut, Direction::OneWayIn]
        .into_iter()
        .filter(|&d| direction_ok(rule, d, src_kind, dst_kind, src_id, dst_parent))
        .collect()
}

/// The input energy of a pixel value `p` at `step` (MODEL.md 5.2):
/// `clamp((p * gain + bias) * min(1, (step + 1) / warmup), 0, cap)`.
#[inline]
pub fn input_value(p: f32, step: u64, params: &Params) -> f32 {
    let i = &params.input;
    let ramp = ((step + 1) as f32 / i.warmup_steps as f32).min(1.0);
    ((p * i.sensory_gain + i.sensory_bias) * ramp).clamp(0.0, params.energy.energy_cap)
}

/// Source and target scales of a node: by subtype for dynamic nodes, 1 otherwise.
#[inline]
pub fn scales(params: &Params, kind: u8, subtype: u8) -> (f32, f32) {
    if kind == NodeKind::Dynamic.code() && subtype != NO_CLASS {
        let s = usize::from(subtype).min(2);
        (params.transfer.subtype_src_scale.as_array()[s], params.transfer.subtype_dst_scale.as_array()[s])
    } else {
        (1.0, 1.0)
    }
}

/// Signed weight of a new edge of `kind` from a magnitude draw `u` in [0, 1) and the
/// range `(lo, hi)` (MODEL.md 1.2).
#[inline]
pub fn new_weight(kind: EdgeKind, u: f32, lo: f32, hi: f32) -> f32 {
    match kind {
        EdgeKind::Excitatory | EdgeKind::Gated => lo + (hi - lo) * u,
        EdgeKind::Inhibitory => -(lo + (hi - lo) * u),
        EdgeKind::Plastic => -hi + (2.0 * hi) * u,
    }
}

/// Subtype code from a draw.
pub fn subtype_from(x: u32) -> u8 {
    Subtype::ALL[crate::rng::below(x, 3) as usize].code()
}

#[cfg(test)]
mod tests {
    use super::{
        cull_word, cull_word_avx2, cull_word_avx512, cull_word_lineage, cull_word_lineage_avx2,
        cull_word_lineage_avx512, CullColumns, CullRows, CullRule,
    };
    use crate::config::{Config, DirectionRule};

    /// The cull masks agree with [`CullRule::row`] row by row, under both direction rules, in
    /// the portable form and every compiled one, over rows that do not fill the last word.
    #[test]
    fn the_cull_masks_agree_with_the_rule_row_by_row_in_every_form() {
        let mut next = crate::rng::test_words(7);
        let (n_nodes, n_edges) = (300usize, 1000usize);
        let ids: Vec<u64> = (0..n_nodes as u64).map(|i| 3 * i + 1).collect();
        let node_kinds: Vec<u8> = (0..n_nodes).map(|_| (next() % 3) as u8).collect();
        // A third of the nodes have a parent among the nodes, the others none.
        let parents: Vec<u64> = (0..n_nodes)
            .map(|_| if next() % 3 == 0 { ids[(next() % n_nodes as u64) as usize] } else { u64::MAX })
            .collect();
        let src: Vec<u32> = (0..n_edges).map(|_| (next() % n_nodes as u64) as u32).collect();
        // Half the targets are children of their source, so that lineage decides some rows.
        let dst: Vec<u32> = src
            .iter()
            .map(|&s| {
                let children: Vec<usize> = (0..n_nodes).filter(|&d| parents[d] == ids[s as usize]).collect();
                match (next() % 2, children.is_empty()) {
                    (0, false) => children[(next() % children.len() as u64) as usize] as u32,
                    _ => (next() % n_nodes as u64) as u32,
                }
            })
            .collect();
        // Kinds 0..3 in the low two bits, directions 0..2 above.
        let kind_dirs: Vec<u8> = (0..n_edges).map(|_| (next() % 4) as u8 | ((next() % 3) as u8) << 2).collect();
        let weights: Vec<f32> = (0..n_edges).map(|_| ((next() % 2001) as f32 - 1000.0) / 20000.0).collect();
        let c = CullColumns {
            src: &src,
            dst: &dst,
            parents: &parents,
            ids: &ids,
            node_kinds: &node_kinds,
            kind_dirs: &kind_dirs,
            weights: &weights,
        };
        for rule in [DirectionRule::ByKind, DirectionRule::ByLineage] {
            let mut config = Config::default();
            config.transfer.direction_rule = rule;
            config.growth.min_abs_weight = 0.01;
            let params = config.validate().expect("valid");
            let cull = CullRule::new(&params);
            assert_eq!(cull.lineage_matters, rule == DirectionRule::ByLineage);
            let kinds = CullRule::kind_words(&node_kinds);
            let want: Vec<bool> = (0..n_edges).map(|e| cull.row(&c, e)).collect();
            assert!(want.iter().any(|&h| h) && !want.iter().all(|&h| h), "{rule:?}: both outcomes occur");
            let mut masks = vec![0u64; n_edges.div_ceil(64)];
            cull.masks(&c, &kinds, 0..n_edges, &mut masks);
            let got: Vec<bool> = (0..n_edges).map(|e| masks[e / 64] >> (e % 64) & 1 == 1).collect();
            assert_eq!(got, want, "{rule:?}: the masks");
            // Each form, word by word.
            for (w, &word) in masks.iter().enumerate() {
                let r = w * 64..(w * 64 + 64).min(n_edges);
                let e: CullRows<'_> = (&src[r.clone()], &dst[r.clone()], &kind_dirs[r.clone()], &weights[r]);
                let lineage = cull.lineage_matters;
                let portable =
                    if lineage { cull_word_lineage(&cull, &c, &kinds, e) } else { cull_word(&cull, &c, &kinds, e) };
                assert_eq!(portable, word, "{rule:?}: portable, word {w}");
                for form in crate::rng::forms_found() {
                    #[allow(unsafe_code)]
                    // SAFETY: each form is called only where its feature was detected.
                    let got = unsafe {
                        match (form, lineage) {
                            ("avx2", false) => cull_word_avx2(&cull, &c, &kinds, e),
                            ("avx2", true) => cull_word_lineage_avx2(&cull, &c, &kinds, e),
                            (_, false) => cull_word_avx512(&cull, &c, &kinds, e),
                            (_, true) => cull_word_lineage_avx512(&cull, &c, &kinds, e),
                        }
                    };
                    assert_eq!(got, word, "{rule:?}: {form}, word {w}");
                }
            }
        }
    }
}
