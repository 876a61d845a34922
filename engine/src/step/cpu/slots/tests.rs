//! The in-slot arrays followed through appends, tombstones, new nodes and compactions
//! against a rebuild, and the rebuild against a naive grouping.

use super::*;
use crate::store::{Direction, EdgeId, EdgeKind, EdgeRecord, NodeId, NodeKind, NodeRecord, NO_CLASS};

fn node() -> NodeRecord {
    NodeRecord {
        id: NodeId(0),
        kind: NodeKind::Workspace,
        energy: 1.0,
        subtype: NO_CLASS,
        fertility: 1,
        growth_class: NO_CLASS,
        gain_class: NO_CLASS,
        max_out_degree: 64,
        parent: None,
        binding: 0,
        born_step: 0,
    }
}

fn edge(src: u64, dst: u64, w: f32) -> EdgeRecord {
    EdgeRecord {
        id: EdgeId(0),
        src: NodeId(src),
        dst: NodeId(dst),
        kind: EdgeKind::Excitatory,
        weight: w,
        direction: Direction::FreeFlow,
        gate: 0.0,
        plastic_lr: 0.0,
        born_step: 0,
    }
}

/// Per-row factors and flags standing in for the cache's: a function of the edge (not
/// of its row, which a compaction changes), flagged [`flag::DEAD`] where tombstoned (as
/// the cache flags them). The factors are what [`Factors`] computes (`|w|`: every node
/// is a workspace node, scale 1), for the naive grouping to compare against.
fn per_row(store: &Store) -> (Vec<f32>, Vec<u8>) {
    let e = store.edges();
    let q = (0..e.rows()).map(|r| e.weights()[r].abs()).collect();
    let meta = (0..e.rows())
        .map(|r| match (e.is_live(r), e.id(r) % 3) {
            (false, _) => flag::DEAD,
            (true, 0) => flag::CONDUCTS | flag::NEGATIVE,
            (true, _) => flag::CONDUCTS,
        })
        .collect();
    (q, meta)
}

fn factors(store: &Store) -> Factors<'_> {
    Factors::of(store, [(2.0, 3.0); 4])
}

/// Every target's slots, masked ones left out, as `(row, src, q, meta)`.
fn live_groups(s: &InSlots) -> Vec<Vec<(u32, u32, u32, u8)>> {
    (0..s.len.len())
        .map(|j| {
            s.range(j).filter(|&k| !masked(s.q[k])).map(|k| (s.row[k], s.src[k], s.q[k].to_bits(), s.meta[k])).collect()
        })
        .collect()
}

#[test]
fn following_appends_tombstones_and_new_nodes_matches_a_rebuild() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for slack in [true, false] {
        let mut store = Store::new(true);
        store.set_max_tombstone_fraction(1.0);
        store.add_nodes(&[node(); 40]);
        let mut pair = |n: u64, newest: bool| {
            let a = next(n - 1);
            if newest {
                (a, n - 1)
            } else {
                (a, (a + 1 + next(n - 1)) % n)
            }
        };
        let first: Vec<EdgeRecord> = (0..300)
            .map(|i| {
                let (a, b) = pair(40, false);
                edge(a, b, 0.5 + i as f32)
            })
            .collect();
        store.add_edges(&first).expect("edges");
        let (_, meta) = per_row(&store);
        let mut s = InSlots::default();
        s.rebuild(&store, factors(&store), &meta, slack);
        let (mut followed, mut moved, mut carried) = (0, 0, 0);
        for round in 0..40 {
            // A batch: maybe new nodes, appended edges (some into the newest nodes, so
            // groups fill up), then removals (some of rows appended in this batch).
            let rows_before = store.edges().rows();
            if round % 7 == 3 {
                store.add_nodes(&[node(); 3]);
            }
            let n = store.nodes().len() as u64;
            let adds: Vec<EdgeRecord> = (0..1 + pair(30, false).0)
                .map(|i| {
                    let (a, b) = pair(n, i % 4 == 0);
                    edge(a, b, -(round as f32) - 0.25)
                })
                .collect();
            store.add_edges(&adds).expect("edges");
            let live: Vec<usize> = (0..store.edges().rows()).filter(|&r| store.edges().is_live(r)).collect();
            let gone: Vec<usize> =
                (0..pair(12, false).0).map(|_| live[pair(live.len() as u64 + 1, false).0 as usize]).collect();
            store.remove_edge_rows(&gone);
            // Now and then a compaction (rows move), maybe with more edits after it.
            let compacted = round % 5 == 4;
            if compacted {
                store.compact_edges();
                let n = store.nodes().len() as u64;
                let more: Vec<EdgeRecord> = (0..3)
                    .map(|_| {
                        let (a, b) = pair(n, false);
                        edge(a, b, 7.5)
                    })
                    .collect();
                store.add_edges(&more).expect("edges");
                let live = (0..store.edges().rows()).find(|&r| store.edges().is_live(r)).expect("a live row");
                store.remove_edge_rows(&[live]);
            }
            let (q, meta) = per_row(&store);
            let (mut changed, mut appended) = (Vec::new(), Vec::new());
            let before = s.holes;
            if s.follow(&store, factors(&store), &meta, &mut changed, &mut appended) {
                followed += 1;
                carried += usize::from(compacted);
                moved += usize::from(s.holes > before);
                // Every source that lost an edge is reported, and every live appended
                // row, ascending (an edge appended and removed since the last follow
                // changes nothing); compactions renumber the rows, so this is checked
                // between them only.
                if !compacted {
                    let e = store.edges();
                    let new_rows = rows_before..e.rows();
                    let mut want: Vec<u32> =
                        gone.iter().filter(|r| !new_rows.contains(r)).map(|&r| e.src_rows()[r]).collect();
                    want.sort_unstable();
                    want.dedup();
                    changed.sort_unstable();
                    changed.dedup();
                    assert!(want.iter().all(|w| changed.binary_search(w).is_ok()), "round {round}: changed sources");
                    let want: Vec<u32> = new_rows.filter(|&r| e.is_live(r)).map(|r| r as u32).collect();
                    assert_eq!(appended, want, "round {round}: appended rows");
                }
            } else {
                assert!(
                    !slack || s.holes * 8 > s.row.len() || round == 0,
                    "round {round}: only too many holes stop a follow"
                );
                s.rebuild(&store, factors(&store), &meta, slack);
            }
            let mut fresh = InSlots::default();
            fresh.rebuild(&store, factors(&store), &meta, false);
            assert_eq!(live_groups(&s), live_groups(&fresh), "round {round}, slack {slack}");
            // Where the arrays have room, every live slot's row names it as its hint (a stale
            // hint would cost a search, not a wrong slot); without room none is held.
            for k in (0..s.len.len()).flat_map(|j| s.range(j)).filter(|&k| !masked(s.q[k])) {
                let hint = s.pos.get(s.row[k] as usize).map(|p| p.load(Relaxed) as usize);
                assert_eq!(hint, s.slack.then_some(k), "round {round}, slack {slack}: the hint of slot {k}");
            }
            // The rebuild itself: each target's live rows in ascending order, with their
            // source rows, factors and flags.
            let e = store.edges();
            let naive: Vec<Vec<(u32, u32, u32, u8)>> = (0..store.nodes().len())
                .map(|j| {
                    (0..e.rows())
                        .filter(|&r| e.is_live(r) && e.dst_rows()[r] as usize == j)
                        .map(|r| (r as u32, e.src_rows()[r], q[r].to_bits(), meta[r]))
                        .collect()
                })
                .collect();
            assert_eq!(live_groups(&fresh), naive, "round {round}: the rebuild");
            // A target marked plain has only plain edges (one that had a non-plain edge
            // may stay unmarked after losing it: the general loop gives the same bits).
            for j in 0..store.nodes().len() {
                let plain = fresh.meta[fresh.range(j)].iter().all(|&f| f == flag::CONDUCTS);
                assert!(plain || !s.plain[j], "round {round}: target {j} is not plain");
            }
        }
        if slack {
            assert!(
                followed > 30 && moved > 0 && carried >= 5,
                "followed {followed} times ({carried} through a compaction), moved groups {moved} times"
            );
        } else {
            assert!(followed < 40, "arrays without room rebuild when a group fills");
        }
    }
}
