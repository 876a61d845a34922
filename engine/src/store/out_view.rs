//! How the out-edge view follows the store's tables: patched in O(edits) where rows were
//! only appended or tombstoned since it was complete, carried over the compaction that
//! made the current layout from its own, else rebuilt.

use super::{Compaction, Csr, OutBase, Renumber, Side};

/// Edge rows up to which a view is carried over a node removal rather than rebuilt. On
/// `seed-medium` (23,000 rows) the carry takes a third of the rebuild's time; on `full-1m`
/// (16 M rows) it measured 1.5-2 ms longer than the rebuild's 14.5 ms of spawn (its row map,
/// 64 MB, allocated and faulted in at every removal, and read at scattered rows).
const CARRY_NODE_REMOVAL_ROWS: usize = 1 << 20;

/// Bring `out` up to date for `n` nodes and the edges' source and target rows (rows set in
/// `dead` left out; `tombs`: the tombstoned rows in removal order): from `base` (nodes, edge
/// rows and tombstones when it was last complete, rows only appended or tombstoned since)
/// by dropping the new tombstones ([`Csr::remove_rows`]) and adding the new rows
/// ([`Csr::append`]), O(edits); else by a rebuild: to edit from the out-degrees `to_edit`
/// where given, else with room in the groups where the view had been built before (the
/// store is changing). `side`: as in [`super::Store::refresh_out_edges_beside`].
pub(super) fn refresh_out(
    out: &mut Csr,
    base: Option<OutBase>,
    carry: Option<&Compaction>,
    n: usize,
    (src, dst): (&[u32], &[u32]),
    (dead, tombs): (&[u64], &[u32]),
    (side, to_edit): (Option<Side<'_>>, Option<&[u32]>),
) {
    if let (Some((n0, e0, _)), Some(c)) = (base, carry) {
        // Complete just before the compaction `c`: the rows it removed leave the groups,
        // the others are renumbered (and where it removed node rows, their groups leave
        // too); then the rows tombstoned since the compaction leave them, and the rows
        // appended since the view was complete (renumbered too) are appended.
        let ren = || Renumber::new(&c.removed, c.rows_before);
        let carried = out.n_nodes() == n0
            && e0 <= c.rows_before
            && if c.removed_nodes.is_empty() {
                n0 <= n && out.carry_over(&ren())
            } else {
                c.rows_before <= CARRY_NODE_REMOVAL_ROWS
                    && n0 == c.nodes_before
                    && n0 - c.removed_nodes.len() <= n
                    && out.carry_over_node_removal(
                        &super::renumbering(c.rows_before, c.removed.iter().map(|&r| r as usize)),
                        &c.removed_sources,
                        &c.removed_nodes,
                    )
            };
        if carried {
            // (The rows edited since the view was complete, caught up with here, are part of
            // a fresh layout: the view stays fresh.)
            let fresh = out.is_fresh();
            let first = e0 - c.removed.partition_point(|&r| (r as usize) < e0);
            if out.remove_rows(tombs.iter().copied().filter(|&r| (r as usize) < first), src) {
                out.append(n, src, dst, first, dead, side);
                if fresh {
                    out.mark_fresh();
                }
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
        // A view patched a second time since it was built packed or to edit (or carried
        // over a node removal) follows a changing store: it holds the targets from then on
        // (a view laid out afresh and patched once, as spawn's every step, does not pay for
        // them).
        let was_fresh = out.is_fresh();
        if out.remove_rows(tombs[t0..].iter().copied().filter(|&r| (r as usize) < e0), src) {
            out.append(n, src, dst, e0, dead, side);
            if !out.has_many_holes() {
                if !was_fresh {
                    out.hold_ends(dst);
                }
                if let Some(side) = side {
                    out.hold_side(side);
                }
                return;
            }
        }
    }
    if let Some(deg) = to_edit {
        out.rebuild_live_to_edit(n, src, dead, Some(deg));
    } else if out.n_nodes() > 0 {
        out.rebuild_live_with_room(n, src, dst, dead, side);
    } else {
        out.rebuild_live(n, src, dead);
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Csr, Direction, EdgeId, EdgeKind, EdgeRecord, NodeId, NodeRecord, Store};

    fn node(i: u64) -> NodeRecord {
        NodeRecord { binding: i as u32, ..NodeRecord::dynamic_for_tests() }
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
        // (The tables changed in a way the view cannot follow: it is rebuilt.)
        s.tables_mut_for_tests();
        s.refresh_out_edges_to_edit_beside(&deg, |_| ());
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

    /// A view carried over node removals (each with edges appended and tombstoned before
    /// it, and children appended after) matches a rebuild each time, and stays fresh.
    #[test]
    fn a_view_carried_over_node_removals_matches_a_rebuild() {
        let mut s = store();
        s.set_max_tombstone_fraction(1.0);
        let deg = |s: &Store| {
            let mut d = vec![0u32; s.nodes().len()];
            for (e, &src) in s.edges().src_rows().iter().enumerate() {
                d[src as usize] += u32::from(s.edges().is_live(e));
            }
            d
        };
        s.refresh_out_edges_to_edit_beside(&deg(&s), |_| ());
        for round in 0..6u64 {
            // Edits since the view was complete: a tombstone and an append.
            let live: Vec<usize> = (0..s.edges().rows()).filter(|&e| s.edges().is_live(e)).collect();
            s.remove_edge_rows(&[live[(round as usize * 7) % live.len()]]);
            let ids: Vec<u64> = s.nodes().ids().to_vec();
            let (src, dst) = (s.edges().src_rows(), s.edges().dst_rows());
            let taken = |d: usize| (0..src.len()).any(|e| s.edges().is_live(e) && src[e] == 1 && dst[e] as usize == d);
            let d = (2..ids.len()).find(|&d| !taken(d)).expect("a free target");
            s.add_edges(&[edge(ids[1], ids[d])]).expect("edge");
            // Two nodes die with their edges.
            let n = s.nodes().len();
            s.remove_node_rows(&[3 + round as usize, n - 2]);
            assert!(!s.last_compaction().is_some_and(|c| c.removed_nodes.is_empty()));
            let d = deg(&s);
            s.refresh_out_edges_to_edit_beside(&d, |_| ());
            let want = Csr::build_live(s.nodes().len(), s.edges().src_rows(), s.edges().tombstone_bits());
            assert!(s.out_edges().same_groups(&want), "round {round}: the carried view matches a rebuild");
            assert!(s.out_edges().is_fresh(), "round {round}: carried, the view is fresh");
            assert_eq!(s.out_edges().count(), s.edges().count());
            // A child and its edge, patched in.
            s.add_nodes(&[node(100 + round)]);
            let child = s.nodes().ids()[s.nodes().len() - 1];
            s.add_edges(&[edge(s.nodes().ids()[0], child)]).expect("edge");
            s.refresh_out_edges();
            assert_eq!(s.check_invariants(), Ok(()));
        }
    }

    #[test]
    fn renumbering_skips_the_removed() {
        use crate::store::renumbering;
        assert_eq!(renumbering(7, [1, 2, 5]), vec![0, u32::MAX, u32::MAX, 1, 2, u32::MAX, 3]);
        assert_eq!(renumbering(3, [0usize; 0]), vec![0, 1, 2]);
        assert_eq!(renumbering(1, [0]), vec![u32::MAX]);
    }
}
