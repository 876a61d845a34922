//! How the out-edge view follows the store's tables: patched in O(edits) where rows were
//! only appended or tombstoned since it was complete, carried over the compaction that
//! made the current layout from its own, else rebuilt.

use super::{Compaction, Csr, OutBase, Renumber, Side};

/// Bring `out` up to date for `n` nodes and the edges' source and target rows (rows set in
/// `dead` left out; `tombs`: the tombstoned rows in removal order): from `base` (nodes, edge
/// rows and tombstones when it was last complete, rows only appended or tombstoned since)
/// by dropping the new tombstones ([`Csr::remove_rows`]) and adding the new rows
/// ([`Csr::append`]), O(edits); else by a rebuild, with room in the groups where the view
/// had been built before (the store is changing). `side`: as in
/// [`super::Store::refresh_out_edges_beside`].
pub(super) fn refresh_out(
    out: &mut Csr,
    base: Option<OutBase>,
    carry: Option<&Compaction>,
    n: usize,
    (src, dst): (&[u32], &[u32]),
    (dead, tombs): (&[u64], &[u32]),
    side: Option<Side<'_>>,
) {
    if let (Some((n0, e0, _)), Some(c)) = (base, carry) {
        // Complete just before the compaction `c`: the rows it removed leave the groups,
        // the others are renumbered; then the rows tombstoned since the compaction leave
        // them too, and the rows appended since the view was complete (renumbered too) are
        // appended.
        if n0 <= n
            && out.n_nodes() == n0
            && e0 <= c.rows_before
            && out.carry_over(&Renumber::new(&c.removed, c.rows_before))
        {
            let first = e0 - c.removed.partition_point(|&r| (r as usize) < e0);
            if out.remove_rows(tombs.iter().copied().filter(|&r| (r as usize) < first), src) {
                out.append(n, src, dst, first, dead, side);
                if !out.has_many_holes() {
                    if let Some(side) = side {
                        out.hold_side(side);
                    }
                    return;
                }
            }
        }
    } else if let Some((_, e0, t0)) = base.filter(|&(n0, e0, t0)| {
        n0 <= n && e0 <= src.len() && t0 <= tombs.len() && out.n_nodes() == n0 && out.count() <= e0
    }) {
        // Rows appended and tombstoned since were never in the view.
        // A view patched a second time since it was built packed or to edit follows a
        // changing store: it holds the targets from then on (a view built and patched once,
        // as spawn's every step, does not pay for them).
        let was_as_built = out.is_as_built();
        if out.remove_rows(tombs[t0..].iter().copied().filter(|&r| (r as usize) < e0), src) {
            out.append(n, src, dst, e0, dead, side);
            if !out.has_many_holes() {
                if !was_as_built {
                    out.hold_ends(dst);
                }
                if let Some(side) = side {
                    out.hold_side(side);
                }
                return;
            }
        }
    }
    if out.n_nodes() > 0 {
        out.rebuild_live_with_room(n, src, dst, dead, side);
    } else {
        out.rebuild_live(n, src, dead);
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Csr, Direction, EdgeId, EdgeKind, EdgeRecord, NodeId, NodeKind, NodeRecord, Store};

    fn node(i: u64) -> NodeRecord {
        NodeRecord {
            id: NodeId(0),
            kind: NodeKind::Dynamic,
            energy: 1.0,
            subtype: Default::default(),
            fertility: Default::default(),
            growth_class: 0,
            gain_class: 0,
            max_out_degree: 64,
            parent: None,
            binding: i as u32,
            born_step: 0,
        }
    }

    fn edge(a: u64, b: u64) -> EdgeRecord {
        EdgeRecord {
            id: EdgeId(0),
            src: NodeId(a),
            dst: NodeId(b),
            kind: EdgeKind::Excitatory,
            weight: 0.5,
            direction: Direction::FreeFlow,
            gate: 0.0,
            plastic_lr: 0.0,
            born_step: 0,
        }
    }

    /// 40 nodes, each with 8 out-edges.
    fn store() -> Store {
        let mut s = Store::new(false);
        for i in 0..40 {
            s.add_node(node(i));
        }
        let all: Vec<EdgeRecord> = (0..40u64).flat_map(|a| (1..9u64).map(move |k| edge(a, (a + k * 3) % 40))).collect();
        s.add_edges(&all).expect("edges");
        s
    }

    /// The out-edge view carried over a compaction, with rows tombstoned and appended both
    /// before and after it, matches a rebuild.
    #[test]
    fn a_view_carried_over_a_compaction_follows_later_edits() {
        let mut s = store();
        s.set_max_tombstone_fraction(0.05);
        // A view with room, complete; then a row appended and some removed, which compacts.
        s.refresh_out_edges();
        s.add_edges(&[edge(1, 2)]).expect("edge");
        s.refresh_out_edges();
        s.add_edges(&[edge(3, 4)]).expect("edge");
        let rows: Vec<usize> = (0..s.edges().rows()).filter(|r| r % 9 == 4).collect();
        s.remove_edge_rows(&rows);
        assert!(s.last_compaction().is_some(), "the removals compacted the table");
        // After the compaction, before the view's refresh: a removal and an append.
        s.remove_edge_rows(&[5, 6]);
        s.add_edges(&[edge(5, 9)]).expect("edge");
        s.refresh_out_edges();
        let want = Csr::build_live(s.nodes().len(), s.edges().src_rows(), s.edges().tombstone_bits());
        assert!(s.out_edges().same_groups(&want), "the carried view matches a rebuild");
        assert_eq!(s.check_invariants(), Ok(()));
    }

    /// A view rebuilt to edit (spawn's, every step) and patched once does not gather the
    /// targets; patched a second time, it follows a changing store and holds them.
    #[test]
    fn a_view_built_to_edit_holds_the_targets_from_its_second_patch() {
        let mut s = store();
        // Held before the rebuild, as a view that followed the edits of earlier steps.
        s.refresh_out_edges();
        s.add_edges(&[edge(1, 2)]).expect("edge");
        s.refresh_out_edges();
        s.add_edges(&[edge(2, 4)]).expect("edge");
        s.refresh_out_edges();
        assert!(s.out_edges().ends(0).is_some(), "a view patched twice holds the targets");
        let deg: Vec<u32> = (0..s.nodes().len()).map(|r| s.out_edges().degree(r)).collect();
        s.rebuild_out_edges_to_edit_beside(&deg, |_| ());
        assert!(s.out_edges().ends(0).is_none(), "a view rebuilt to edit holds no targets");
        s.add_nodes(&[node(40)]);
        s.add_edges(&[edge(3, 40)]).expect("edge");
        s.refresh_out_edges();
        assert!(s.out_edges().ends(0).is_none(), "nor once patched once");
        s.add_edges(&[edge(4, 40)]).expect("edge");
        s.refresh_out_edges();
        let dst = s.edges().dst_rows();
        let out = s.out_edges();
        assert!(
            (0..s.nodes().len())
                .all(|r| out.ends(r).is_some_and(|t| t.iter().zip(out.row(r)).all(|(&t, &e)| t == dst[e as usize]))),
            "patched twice, it holds every edge's target"
        );
        let want = Csr::build_live(s.nodes().len(), s.edges().src_rows(), s.edges().tombstone_bits());
        assert!(out.same_groups(&want), "and the groups of a rebuild");
    }
}
