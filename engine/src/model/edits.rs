//! Phase 5.1: apply the proposals due at this step. Culls by ascending `EdgeId`, then
//! additions in proposal order; each is re-validated against the graph of this moment
//! (including the edits before it) and counted as skipped when it no longer holds.
//! Removals queued from outside the model ([`crate::Simulation::queue_edits`]) go first and
//! need only their edge to exist.

use std::collections::HashMap;

use crate::config::Params;
use crate::growth::Proposals;
use crate::store::{EdgeRecord, NodeKind, Store};

use super::rules::{admit, Admission, CullRule};

/// What phase 5.1 did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditCounts {
    /// Edges added.
    pub added: u64,
    /// Edges culled (and removed by edits from outside the model).
    pub culled: u64,
    /// Edits not applied.
    pub skipped: u64,
}

/// Apply `p` to `store` at step `step`. The store's out-edge view is refreshed first.
pub fn apply_edits(store: &mut Store, params: &Params, p: &Proposals, step: u64) -> EditCounts {
    let mut counts = EditCounts::default();
    store.refresh_out_edges();
    let mut removed: Vec<usize> = Vec::with_capacity(p.removes.len() + p.culls.len());
    {
        let nodes = store.nodes();
        let edges = store.edges();
        // Removals from outside the model: wherever the edge still exists.
        for &id in &p.removes {
            match edges.row_of(id) {
                Some(e) => removed.push(e),
                None => counts.skipped += 1,
            }
        }
        removed.sort_unstable();
        let before = removed.len();
        removed.dedup();
        counts.skipped += (before - removed.len()) as u64;
        let removes = removed.len();
        let rule = CullRule::new(params);
        let mut culls = p.culls.clone();
        culls.sort_unstable();
        culls.dedup();
        for id in culls {
            let Some(e) = edges.row_of(id) else {
                counts.skipped += 1;
                continue;
            };
            if removed[..removes].binary_search(&e).is_err() && rule.edge_row(nodes, edges, e) {
                removed.push(e);
            } else {
                counts.skipped += 1;
            }
        }
        if removes > 0 {
            removed.sort_unstable();
        }
    }
    // `removed` ascends (culls ascend and rows follow id order; removals were merged in).
    let mut added: Vec<EdgeRecord> = Vec::new();
    // Per source row: the targets of the additions admitted so far, so an admission looks
    // at its source's additions only.
    let mut added_to: HashMap<usize, Vec<usize>> = HashMap::new();
    {
        let nodes = store.nodes();
        let edges = store.edges();
        let out = store.out_edges();
        let max_new = params.growth.max_new_edges_per_step as usize;
        for e in &p.adds {
            if added.len() >= max_new {
                counts.skipped += 1;
                continue;
            }
            let (Some(s), Some(d)) = (nodes.row_of(e.src), nodes.row_of(e.dst)) else {
                counts.skipped += 1;
                continue;
            };
            let mut a = Admission {
                src_kind: nodes.kind_of(s),
                dst_kind: nodes.kind_of(d),
                self_loop: s == d,
                out_degree: 0,
                max_out_degree: nodes.max_out_degree()[s],
                edge_count: (edges.count() - removed.len() + added.len()) as u64,
                duplicate: false,
                has_out_to_workspace: false,
                has_out_to_sensory: false,
            };
            let mut see = |t: usize| {
                a.out_degree += 1;
                a.duplicate |= t == d;
                match nodes.kind_of(t) {
                    NodeKind::Workspace => a.has_out_to_workspace = true,
                    NodeKind::Sensory => a.has_out_to_sensory = true,
                    NodeKind::Dynamic => {}
                }
            };
            for &x in out.row(s) {
                if removed.binary_search(&(x as usize)).is_err() {
                    see(edges.dst_rows()[x as usize] as usize);
                }
            }
            for &t in added_to.get(&s).map_or(&[][..], |v| &v[..]) {
                see(t);
            }
            if admit(&a, params).is_ok() {
                added_to.entry(s).or_default().push(d);
                let rec = EdgeRecord {
                    id: crate::store::EdgeId(0),
                    src: e.src,
                    dst: e.dst,
                    kind: e.kind,
                    weight: e.weight,
                    direction: e.direction,
                    gate: e.gate,
                    plastic_lr: e.plastic_lr,
                    born_step: step,
                };
                added.push(rec);
            } else {
                counts.skipped += 1;
            }
        }
    }
    counts.culled = removed.len() as u64;
    counts.added = added.len() as u64;
    store.remove_edge_rows(&removed);
    store.add_edges(&added).expect("admitted additions should have live, distinct endpoints");
    counts
}
