//! The structural invariants of MODEL.md section 8, checked in one place.

use super::{Csr, NodeKind, Store, StoreError, NO_PARENT};

impl Store {
    /// Check every structural invariant: equal column lengths, ascending ids below the
    /// counters, valid codes, endpoint rows matching endpoint ids, live endpoints, no
    /// self-loops, no duplicates unless allowed, out-degree within `max_out_degree`, parents
    /// alive or none, and a fresh topology that matches the tables.
    pub fn check_invariants(&self) -> Result<(), StoreError> {
        let bad = |m: String| Err(StoreError::Invariant(m));
        let nodes = self.nodes();
        let edges = self.edges();
        let nl = nodes.column_lengths();
        if nl.iter().any(|&l| l != nl[0]) {
            return bad(format!("node column lengths differ: {nl:?}"));
        }
        let el = edges.column_lengths();
        if el.iter().any(|&l| l != el[0]) {
            return bad(format!("edge column lengths differ: {el:?}"));
        }
        let ids = nodes.ids();
        if ids.windows(2).any(|w| w[0] >= w[1]) {
            return bad("node ids are not strictly ascending".into());
        }
        if ids.last().is_some_and(|&l| l >= self.next_node_id()) {
            return bad("a node id is not below the next node id".into());
        }
        if nodes.kinds().iter().any(|&k| NodeKind::from_code(k).is_none()) {
            return bad("a node kind code is invalid".into());
        }
        for (row, &p) in nodes.parents().iter().enumerate() {
            if p != NO_PARENT && ids.binary_search(&p).is_err() {
                return bad(format!("node {} has parent {p}, which is not alive", ids[row]));
            }
        }
        let eids: Vec<u64> = edges.ids().collect();
        if eids.windows(2).any(|w| w[0] >= w[1]) {
            return bad("edge ids are not strictly ascending".into());
        }
        if eids.last().is_some_and(|&l| l >= self.next_edge_id()) {
            return bad("an edge id is not below the next edge id".into());
        }
        let n = nodes.len();
        let rows = edges.rows();
        // Tombstones: distinct rows of the table, the bit words saying the same.
        let tombs = edges.tombstoned_rows();
        let set_bits: usize = edges.tombstone_bits().iter().map(|w| w.count_ones() as usize).sum();
        if tombs.iter().any(|&r| r as usize >= rows || edges.is_live(r as usize)) || set_bits != tombs.len() {
            return bad(format!("the {} tombstoned edge rows do not match their bits ({set_bits})", tombs.len()));
        }
        // Every row, tombstoned or not, keeps valid endpoint rows (node removal compacts).
        for e in 0..rows {
            let (s, d) = (edges.src_rows()[e] as usize, edges.dst_rows()[e] as usize);
            if s >= n || d >= n {
                return bad(format!("edge {}: an endpoint row ({s} -> {d}) is past the {n} nodes", eids[e]));
            }
            if s == d {
                return bad(format!("edge {} is a self-loop on node {}", eids[e], ids[s]));
            }
            if crate::store::direction_code(edges.kind_dirs()[e]) > 2 {
                return bad(format!("edge {} has an invalid kind or direction code", eids[e]));
            }
        }
        let out = Csr::build_live(n, edges.src_rows(), edges.tombstone_bits());
        let mut scratch: Vec<u32> = Vec::new();
        for s in 0..n {
            let row = out.row(s);
            if row.len() > usize::from(nodes.max_out_degree()[s]) {
                return bad(format!(
                    "node {} has {} out-edges, above its max_out_degree {}",
                    ids[s],
                    row.len(),
                    nodes.max_out_degree()[s]
                ));
            }
            if !self.allow_duplicate_edges() && row.len() > 1 {
                scratch.clear();
                scratch.extend(row.iter().map(|&e| edges.dst_rows()[e as usize]));
                scratch.sort_unstable();
                if let Some(w) = scratch.windows(2).find(|w| w[0] == w[1]) {
                    return bad(format!("duplicate edge {} -> {}", ids[s], ids[w[0] as usize]));
                }
            }
        }
        // The out-edge view wherever it is up to date (5.1 reads it without the in-edge one).
        if self.out_edges_are_fresh() && !self.out_edges().same_groups(&out) {
            return bad("the out-edge view does not match the edge table".into());
        }
        if self.topology_is_fresh() {
            let t = self.topology();
            if t.inc.n_nodes() != n || t.inc.count() != edges.count() {
                return bad("the cached topology does not match the edge table".into());
            }
        }
        Ok(())
    }
}
