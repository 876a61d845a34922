//! The initial graph of MODEL.md section 4, built deterministically from the seed.
//!
//! Ids: sensory nodes (row-major), dynamic nodes, workspace nodes (row-major); edges: each
//! sensory node's fan-out, each workspace node's in-edges, each dynamic node's out-edges.
//! Draws: node attributes from `(0, BuildNode, node id, k)`; an edge's target and attributes
//! from `(0, BuildEdge, entity, k)` with the entity the sensory or dynamic source, or the
//! workspace target, and `k` counting that entity's calls (docs/MODEL-NOTES.md lists the words).

use rayon::prelude::*;

use crate::config::Params;
use crate::rng::{below, between, pick_weighted, uniform, uniform_range, Rng, Stream};
use crate::store::{BuildColumns, BuildColumnsMut};
use crate::store::{Direction, EdgeId, EdgeKind, EdgeRecord, Fertility, NodeId, NodeKind, NodeRecord, Store, NO_CLASS};

use super::rules::{new_weight, subtype_from};

/// Redraws allowed per edge before the build gives up.
const MAX_REDRAWS: u32 = 100_000;

/// Errors of building the initial graph.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BuildError {
    /// No admissible endpoint was found for an initial edge.
    #[error("cannot place initial edge {slot} of {what} node {node} after {MAX_REDRAWS} redraws (too few dynamic nodes or out-degree slots)")]
    CannotPlace {
        /// Which wiring rule.
        what: &'static str,
        /// The entity node id.
        node: u64,
        /// The edge's index within the entity.
        slot: u32,
    },
}

/// Build the initial graph. `progress` is told the name of each phase as it starts.
pub fn build_initial(params: &Params, progress: &(dyn Fn(&str) + Sync)) -> Result<Store, BuildError> {
    let g = &params.graph;
    let rng = Rng::new(params.run.seed);
    let n_s = params.n_sensory();
    let n_d = g.n_dynamic as usize;
    let n_w = params.n_workspace();
    let mut store = Store::new(g.allow_duplicate_edges);
    progress("nodes");
    let nodes = initial_nodes(params, &rng);
    store.add_nodes(&nodes);

    let draw = EdgeDraw::new(params, rng);
    let dyn_start = n_s as u32;
    let n_d32 = n_d as u32;
    let allow_dup = g.allow_duplicate_edges;

    let fan = g.sensory_fanout as usize;
    let ws_deg = g.workspace_in_degree as usize;
    let dd = g.dynamic_out_degree as usize;
    let (n_sens_e, n_ws_e, n_dyn_e) = (n_s * fan, n_w * ws_deg, n_d * dd);
    let mut cols = BuildColumns::zeroed(n_sens_e + n_ws_e + n_dyn_e);
    let (sens_cols, rest) = cols.view().split_at(n_sens_e);
    let (mut ws_cols, dyn_cols) = rest.split_at(n_ws_e);

    progress("sensory edges");
    if fan > 0 {
        sens_cols.par_groups(fan).enumerate().try_for_each(|(s, mut out)| {
            draw.out_edges(s as u32, dyn_start, n_d32, allow_dup, true, &mut out, fan, "sensory")
        })?;
    }

    progress("workspace edges");
    let mut ws_out = vec![0u32; n_d];
    let max_out = store.nodes().max_out_degree().to_vec();
    let mut row = 0;
    for c in 0..n_w {
        let dst = (n_s + n_d + c) as u32;
        let mut k = 0u32;
        let mut chosen: Vec<u32> = Vec::with_capacity(ws_deg);
        for slot in 0..ws_deg as u32 {
            let mut tries = 0;
            let (src, w) = loop {
                let w = rng.words(0, Stream::BuildEdge, u64::from(dst), k);
                k += 1;
                let i = below(w[0], n_d32);
                let src = dyn_start + i;
                let room = ws_out[i as usize] + g.dynamic_out_degree < u32::from(max_out[src as usize]);
                if room && (allow_dup || !chosen.contains(&src)) {
                    break (src, w);
                }
                tries += 1;
                if tries > MAX_REDRAWS {
                    return Err(BuildError::CannotPlace { what: "workspace", node: u64::from(dst), slot });
                }
            };
            chosen.push(src);
            ws_out[(src - dyn_start) as usize] += 1;
            let rec = draw.record(src, dst, false, w, || {
                let w2 = rng.words(0, Stream::BuildEdge, u64::from(dst), k);
                k += 1;
                w2
            });
            ws_cols.set(row, &rec);
            row += 1;
        }
    }

    progress("dynamic edges");
    if dd > 0 {
        dyn_cols.par_groups(dd).enumerate().try_for_each(|(i, mut out)| {
            draw.out_edges(dyn_start + i as u32, dyn_start, n_d32, allow_dup, false, &mut out, dd, "dynamic")
        })?;
    }

    progress("edge table");
    store.set_build_edges(cols);
    progress("topology");
    // The out-edge view (the growth rules and edit checks read it); the CPU stepper groups
    // in-edges itself.
    store.refresh_out_edges();
    Ok(store)
}

/// The initial nodes of MODEL.md section 4 in id order (ids are their positions): sensory
/// (row-major), dynamic, workspace, with their drawn attributes.
pub fn initial_nodes(params: &Params, rng: &Rng) -> Vec<NodeRecord> {
    let n_s = params.n_sensory();
    let n_d = params.graph.n_dynamic as usize;
    let n_w = params.n_workspace();
    let mut nodes = Vec::with_capacity(n_s + n_d + n_w);
    nodes.extend((0..n_s).map(|b| sensory_node(params, b as u32)));
    let dynamic: Vec<NodeRecord> =
        (0..n_d).into_par_iter().with_min_len(4096).map(|i| dynamic_node(params, rng, (n_s + i) as u64)).collect();
    nodes.extend(dynamic);
    nodes.extend((0..n_w).map(|c| workspace_node(params, rng, (n_s + n_d + c) as u64, c as u32)));
    nodes
}

/// A dynamic node's drawn attributes (MODEL.md section 4) for node id `id`, energy included.
pub fn dynamic_node(params: &Params, rng: &Rng, id: u64) -> NodeRecord {
    let g = &params.graph;
    let n_growth = params.growth.classes.len() as u32;
    let n_gain = params.energy.connection_gain_values.len() as u32;
    let w = rng.words(0, Stream::BuildNode, id, 0);
    let w1 = rng.words(0, Stream::BuildNode, id, 1);
    NodeRecord {
        id: NodeId(id),
        kind: NodeKind::Dynamic,
        energy: uniform_range(w[0], g.initial_dynamic_energy[0], g.initial_dynamic_energy[1]),
        subtype: subtype_from(w[1]),
        fertility: below(w[2], 3) as u8,
        growth_class: below(w[3], n_growth) as u8,
        gain_class: below(w1[0], n_gain) as u8,
        max_out_degree: between(w1[1], g.max_out_degree_initial[0], g.max_out_degree_initial[1]) as u16,
        parent: None,
        binding: 0,
        born_step: 0,
    }
}

/// A sensory node bound to pixel `binding` (energy `sensory_bias` until the first input).
pub fn sensory_node(params: &Params, binding: u32) -> NodeRecord {
    let e = &params.energy;
    NodeRecord {
        id: NodeId(0),
        kind: NodeKind::Sensory,
        energy: params.input.sensory_bias.clamp(e.energy_floor, e.energy_cap),
        subtype: NO_CLASS,
        fertility: Fertility::Normal.code(),
        growth_class: NO_CLASS,
        gain_class: NO_CLASS,
        max_out_degree: params.graph.sensory_max_out_degree as u16,
        parent: None,
        binding,
        born_step: 0,
    }
}

/// A workspace node with id `id` bound to cell `binding`, its energy drawn.
pub fn workspace_node(params: &Params, rng: &Rng, id: u64, binding: u32) -> NodeRecord {
    NodeRecord {
        id: NodeId(id),
        kind: NodeKind::Workspace,
        energy: workspace_energy(params, rng, id),
        subtype: NO_CLASS,
        fertility: Fertility::Normal.code(),
        growth_class: NO_CLASS,
        gain_class: NO_CLASS,
        max_out_degree: 0,
        parent: None,
        binding,
        born_step: 0,
    }
}

/// A workspace node's drawn energy (MODEL.md section 4) for node id `id`.
fn workspace_energy(params: &Params, rng: &Rng, id: u64) -> f32 {
    let g = &params.graph;
    let w = rng.words(0, Stream::BuildNode, id, 0);
    uniform_range(w[0], g.initial_workspace_energy[0], g.initial_workspace_energy[1])
}

/// Target and attribute draws of initial edges.
pub(crate) struct EdgeDraw<'a> {
    params: &'a Params,
    rng: Rng,
    kinds: [f32; 4],
    dirs: [f32; 3],
}

impl<'a> EdgeDraw<'a> {
    pub(crate) fn new(params: &'a Params, rng: Rng) -> Self {
        Self { params, rng, kinds: params.build_kind_weights(), dirs: params.build_direction_weights() }
    }

    /// Fill the `degree` rows of `out` with the out-edges of node row `src` (rows equal ids
    /// at build) to uniform dynamic targets, redrawing self-loops and duplicates.
    fn out_edges(
        &self,
        src: u32,
        pool_start: u32,
        pool_len: u32,
        allow_dup: bool,
        sensory: bool,
        out: &mut BuildColumnsMut<'_>,
        degree: usize,
        what: &'static str,
    ) -> Result<(), BuildError> {
        let mut k = 0u32;
        let mut chosen: Vec<u32> = Vec::with_capacity(degree);
        for slot in 0..degree {
            let mut tries = 0;
            let (dst, w) = loop {
                let w = self.rng.words(0, Stream::BuildEdge, u64::from(src), k);
                k += 1;
                let dst = pool_start + below(w[0], pool_len);
                if dst != src {
                    if allow_dup {
                        break (dst, w);
                    }
                    if let Err(pos) = chosen.binary_search(&dst) {
                        chosen.insert(pos, dst);
                        break (dst, w);
                    }
                }
                tries += 1;
                if tries > MAX_REDRAWS {
                    return Err(BuildError::CannotPlace { what, node: u64::from(src), slot: slot as u32 });
                }
            };
            let rec = self.record(src, dst, sensory, w, || {
                let w2 = self.rng.words(0, Stream::BuildEdge, u64::from(src), k);
                k += 1;
                w2
            });
            out.set(slot, &rec);
        }
        Ok(())
    }

    /// The record of one initial edge: kind from word 1, weight from word 2, direction from
    /// word 3 of the accepted target call; gate and learning rate from one more call.
    pub(crate) fn record(
        &self,
        src: u32,
        dst: u32,
        sensory: bool,
        w: [u32; 4],
        mut more: impl FnMut() -> [u32; 4],
    ) -> EdgeRecord {
        let g = &self.params.graph;
        let kind = EdgeKind::ALL[pick_weighted(w[1], &self.kinds)];
        let (lo, hi) = if sensory {
            (g.sensory_weight_range[0], g.sensory_weight_range[1])
        } else {
            (g.weight_range[0], g.weight_range[1])
        };
        let weight = new_weight(kind, uniform(w[2]), lo, hi);
        let direction = Direction::ALL[pick_weighted(w[3], &self.dirs)];
        let (mut gate, mut plastic_lr) = (0.0, 0.0);
        if matches!(kind, EdgeKind::Gated | EdgeKind::Plastic) {
            let w2 = more();
            if kind == EdgeKind::Gated {
                gate = uniform_range(w2[0], 0.1, 1.0) * g.gate_scale;
            } else {
                plastic_lr = uniform_range(w2[1], g.plastic_lr_range[0], g.plastic_lr_range[1]);
            }
        }
        EdgeRecord {
            id: EdgeId(0),
            src: NodeId(u64::from(src)),
            dst: NodeId(u64::from(dst)),
            kind,
            weight,
            direction,
            gate,
            plastic_lr,
            born_step: 0,
        }
    }
}
