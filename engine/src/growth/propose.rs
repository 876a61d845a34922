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
use crate::model::rules::{admit, edge_row_meets_cull_condition, new_weight, possible_one_way, Admission};
use crate::rng::{below, pick_weighted, uniform, uniform_range, Rng, Stream, LANES};
use crate::store::{Csr, Direction, EdgeId, EdgeKind, EdgeTable, NodeId, NodeKind, NodeTable};

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

/// Compute the proposals from the view of the state after step `k`.
pub fn propose(view: GraphView<'_>, params: &Params, k: u64) -> Proposals {
    let rng = Rng::new(params.run.seed);
    let nodes = view.nodes;
    let kinds = nodes.kinds();
    let mut by_kind: [Vec<u32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (r, &kd) in kinds.iter().enumerate() {
        by_kind[usize::from(kd).min(2)].push(r as u32);
    }
    // Blocks of LANES rows: the probability draws of a block are computed together (vector
    // Philox, the same bits as one call per proposer); only proposers that drew something are
    // kept, and collect keeps ascending row (= id) order.
    let blocks = nodes.len().div_ceil(LANES);
    let outcomes: Vec<Outcome> = (0..blocks)
        .into_par_iter()
        .with_min_len(128)
        .flat_map_iter(|b| block(view, params, &rng, &by_kind, b, k))
        .collect();
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
    p.culls = culls(view, params, k, by_kind[NodeKind::Dynamic.code() as usize].len());
    p
}

/// The proposers of rows `b * LANES ..` and what each drew.
fn block(view: GraphView<'_>, params: &Params, rng: &Rng, by_kind: &[Vec<u32>; 3], b: usize, k: u64) -> Vec<Outcome> {
    let nodes = view.nodes;
    let lo = b * LANES;
    let hi = (lo + LANES).min(nodes.len());
    let mut ent = [0u64; LANES];
    let mut prob = [None; LANES];
    for r in lo..hi {
        prob[r - lo] = proposal_probability(nodes, params, r, k);
    }
    if prob.iter().all(Option::is_none) {
        return Vec::new();
    }
    ent[..hi - lo].copy_from_slice(&nodes.ids()[lo..hi]);
    let w = rng.words_lanes(k, Stream::Growth, &ent, 0);
    let mut out = Vec::new();
    for (l, p) in prob.iter().enumerate() {
        let Some(p) = *p else { continue };
        let words = [w[0][l], w[1][l], w[2][l], w[3][l]];
        debug_assert_eq!(words, rng.words(k, Stream::Growth, ent[l], 0));
        if uniform(words[0]) < p {
            out.push(proposer(view, params, rng, by_kind, lo + l, k, words));
        }
    }
    out
}

/// The chance that row `r` proposes an edge at step `k`, or `None` when it draws nothing
/// (a workspace node, or a dynamic node whose period does not divide `k`).
#[inline]
fn proposal_probability(nodes: &NodeTable, params: &Params, r: usize, k: u64) -> Option<f32> {
    match nodes.kind_of(r) {
        NodeKind::Workspace => None,
        NodeKind::Dynamic => {
            let class =
                params.growth.classes[usize::from(nodes.growth_classes()[r]).min(params.growth.classes.len() - 1)];
            (k % u64::from(class.every) == 0).then_some(class.p)
        }
        NodeKind::Sensory => Some(params.growth.sensory_growth_p),
    }
}

/// The proposal of row `r`, whose probability test passed with the call-0 words `w`.
fn proposer(
    view: GraphView<'_>,
    params: &Params,
    rng: &Rng,
    by_kind: &[Vec<u32>; 3],
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
    let pool = &by_kind[target_kind.code() as usize];
    if pool.is_empty() {
        return Outcome::Dropped;
    }
    let d = pool[below(w[2], pool.len() as u32) as usize] as usize;
    let mut a = Admission {
        src_kind: kind,
        dst_kind: target_kind,
        self_loop: d == r,
        out_degree: view.out.degree(r),
        max_out_degree: nodes.max_out_degree()[r],
        edge_count: view.edges.len() as u64,
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
    if (edges.len() as f64) < threshold {
        return Vec::new();
    }
    let nodes = view.nodes;
    let mut out = Vec::new();
    for e in 0..edges.len() {
        if edge_row_meets_cull_condition(nodes, edges, e, params) {
            out.push(EdgeId(edges.ids()[e]));
            if out.len() == max {
                break;
            }
        }
    }
    out
}
