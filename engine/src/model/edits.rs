//! Phase 5.1: apply the proposals due at this step. Culls by ascending `EdgeId`, then
//! additions in proposal order; each is re-validated against the graph of this moment
//! (including the edits before it) and counted as skipped when it no longer holds.
//! Removals queued from outside the model ([`crate::Simulation::queue_edits`]) go first and
//! need only their edge to exist.

use crate::config::Params;
use crate::growth::Proposals;
use crate::store::{EdgeRecord, NodeKind, NodeTable, Store, BESIDE_MIN};

use super::pairs::PairFilter;
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

/// What an addition's existing out-edges say (computed for all additions in parallel,
/// before the sequential pass that adds this step's earlier additions).
#[derive(Clone, Copy)]
struct Existing {
    /// Source and target rows.
    s: usize,
    d: usize,
    /// Out-edges not removed this step, whether one goes to the target, and whether one
    /// goes to a workspace or sensory node (only where the rules read it).
    deg: u32,
    duplicate: bool,
    to_workspace: bool,
    to_sensory: bool,
}

/// How many additions ahead a scan asks the cache for the next scans' ids and bounds, and
/// for their groups.
const FAR: usize = 16;
const NEAR: usize = 8;

/// The end of a chain of admitted additions.
const NONE: u32 = u32::MAX;

/// Additions per piece of the admission scans that a thread takes at a time: a sixteenth of
/// the additions, and from 16 to 256. A batch of a few hundred additions (`default.toml`'s
/// growth rounds: about 280 every fifth step) is then cut in about sixteen pieces, which both
/// threads take (in one piece of 256 or more, the calling thread scanned alone: 75 us of a
/// step's 5.1, about 300 ns per scan, latency bound); a large batch (`churn-100k`'s 10,000)
/// in pieces of 256, as before (in pieces of 16 its edits per second were 17% fewer:
/// 16.7 M against 20.0 M, the counter and the pieces' results taken 625 times).
fn scan_piece(additions: usize) -> usize {
    (additions / 16).clamp(16, 256)
}

/// Whether the workspace-and-sensory rule of 6.1 reads the targets' kinds.
fn kinds_matter(src: NodeKind, dst: NodeKind) -> bool {
    src == NodeKind::Dynamic && matches!(dst, NodeKind::Workspace | NodeKind::Sensory)
}

/// Apply `p` to `store` at step `step`. The store's out-edge view is refreshed first.
pub fn apply_edits(store: &mut Store, params: &Params, p: &Proposals, step: u64) -> EditCounts {
    apply(store, params, p, step, None)
}

/// [`apply_edits`], where a batch of additions large enough for `pairs`
/// ([`PairFilter::serves`]) first asks it (brought up to the store, and given the pairs
/// added) whether an addition's source may already have an edge to its target: the same
/// edits, most scans of the source's out-edges spared.
pub fn apply_edits_with(
    store: &mut Store,
    params: &Params,
    p: &Proposals,
    step: u64,
    pairs: &mut PairFilter,
) -> EditCounts {
    let serves = pairs.serves(p.adds.len());
    apply(store, params, p, step, serves.then_some(pairs))
}

fn apply(
    store: &mut Store,
    params: &Params,
    p: &Proposals,
    step: u64,
    mut pairs: Option<&mut PairFilter>,
) -> EditCounts {
    let mut counts = EditCounts::default();
    if let Some(f) = pairs.as_deref_mut() {
        f.follow(store);
        // The filter answers most scans without the targets: the out-edge view need not
        // hold them.
        store.set_out_edge_targets(false);
    }
    let next_id = store.next_edge_id();
    store.refresh_out_edges();
    let mut removed: Vec<usize>;
    // The source row of each removed row (in no particular order), for the per-source
    // counts below.
    let mut removed_from: Vec<u32>;
    {
        let nodes = store.nodes();
        let edges = store.edges();
        let src_rows = edges.src_rows();
        // Removals from outside the model: wherever the edge still exists (the lookups,
        // each a likely cache miss on a large table, in parallel, and so the reads of their
        // sources, far apart too: each asked for some rows ahead).
        // Sorted, so that the rows come out ascending and each search starts where the one
        // before ended; duplicates and ids no longer held count as skipped.
        let mut ids: Vec<u64> = p.removes.iter().map(|e| e.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let found = crate::join::busy_map(ids.chunks(1024).collect(), |_, c| {
            let mut rows = Vec::new();
            edges.rows_of_ascending(c, &mut rows);
            let from = (0..rows.len())
                .map(|i| {
                    if let Some(&f) = rows.get(i + FAR) {
                        crate::store::prefetch(src_rows, f);
                    }
                    src_rows[rows[i]]
                })
                .collect::<Vec<u32>>();
            (rows, from)
        });
        let (rows, from): (Vec<Vec<usize>>, Vec<Vec<u32>>) = found.into_iter().unzip();
        (removed, removed_from) = (rows.concat(), from.concat());
        counts.skipped += (p.removes.len() - removed.len()) as u64;
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
                removed_from.push(src_rows[e]);
            } else {
                counts.skipped += 1;
            }
        }
        if removes > 0 && removed.len() > removes {
            removed.sort_unstable();
        }
    }
    // `removed` ascends (culls ascend and rows follow id order; removals were merged in).
    // A scan that tests every out-edge reads it as bits by row (O(1) per edge), made by the
    // first such scan (a bit per row of the table, so not made where no scan needs it); the
    // others search it for the one edge to the addition's target.
    let gone_bits = std::sync::OnceLock::new();
    let gone = || -> &[u64] {
        gone_bits.get_or_init(|| {
            let mut bits = Vec::new();
            if let Some(&last) = removed.last() {
                bits.resize(last / 64 + 1, 0);
                crate::store::set_bits(&mut bits, &removed);
            }
            bits
        })
    };
    // Per source row, how many of its out-edges are removed: a scan that reads the targets
    // alone subtracts them from the group's length, and looks for a removal only of an
    // edge to the addition's target. (An out-degree, and so this count, fits a `u16`: a
    // store invariant.)
    let mut gone_from: Vec<u16> = Vec::new();
    if !removed.is_empty() && !p.adds.is_empty() {
        gone_from.resize(store.nodes().len(), 0);
        for &s in &removed_from {
            let s = s as usize;
            gone_from[s] = gone_from[s].saturating_add(1);
        }
    }
    let gone_of = |s: usize| gone_from.get(s).map_or(0, |&g| u32::from(g));
    let existing: Vec<Option<Existing>> = {
        let nodes = store.nodes();
        let edges = store.edges();
        let out = store.out_edges();
        let (dst_rows, node_kinds) = (edges.dst_rows(), nodes.kinds());
        let (ws, sens) = (NodeKind::Workspace.code(), NodeKind::Sensory.code());
        // Each addition's existing out-edges (they do not change during this phase), in
        // parallel: the scans are memory-latency bound.
        // Each scan's reads depend on the one before (the id's row, the row's bounds, the
        // group), so the cache is asked for them some additions ahead: the bounds and ids
        // `FAR` ahead (guessing the row, as `row_of` does), the group `NEAR` ahead.
        // Where the pair filter says an addition's source has no edge to its target, its
        // group is not read (nor asked for).
        let filter = pairs.as_deref();
        let absent = |e: &crate::growth::EdgeProposal| filter.is_some_and(|f| !f.may_hold(e.src.0, e.dst.0));
        // Where the proposals hold the rows their endpoints had when they were drawn, the
        // rows are looked for from there (`row_near`), and those rows are the guesses.
        let hints = p.row_hints();
        let hint = |i: usize| hints.and_then(|h| h.get(i)).map(|&[s, d]| (s as usize, d as usize));
        let ask = |i: usize| {
            if let Some(e) = p.adds.get(i + FAR) {
                let src_row = match hint(i + FAR) {
                    Some((s, d)) => {
                        nodes.prefetch_row_near(s);
                        nodes.prefetch_row_near(d);
                        s
                    }
                    None => {
                        nodes.prefetch_row_of(e.src);
                        nodes.prefetch_row_of(e.dst);
                        nodes.guess_row(e.src)
                    }
                };
                out.prefetch_bounds(src_row);
                if let Some(f) = filter {
                    f.prefetch(e.src.0, e.dst.0);
                }
            }
            if let Some(e) = p.adds.get(i + NEAR) {
                if !absent(e) {
                    out.prefetch_group(hint(i + NEAR).map_or_else(|| nodes.guess_row(e.src), |(s, _)| s), false);
                }
            }
        };
        let scan = |i: usize| {
            ask(i);
            let e = &p.adds[i];
            let absent_here = absent(e);
            let (s, d) = match hint(i) {
                Some((hs, hd)) => (nodes.row_near(e.src, hs)?, nodes.row_near(e.dst, hd)?),
                None => (nodes.row_of(e.src)?, nodes.row_of(e.dst)?),
            };
            let kinds = kinds_matter(nodes.kind_of(s), nodes.kind_of(d));
            let mut x = Existing { s, d, deg: 0, duplicate: false, to_workspace: false, to_sensory: false };
            let mut add = |gone: &[u64], r: u32, t: u32| {
                if !crate::store::bit(gone, r as usize) {
                    let t = t as usize;
                    x.deg += 1;
                    x.duplicate |= t == d;
                    if kinds {
                        x.to_workspace |= node_kinds[t] == ws;
                        x.to_sensory |= node_kinds[t] == sens;
                    }
                }
            };
            if !kinds {
                // The out-degree from the group's bounds, less this step's removals; then an
                // edge to the target not removed this step (at most one: duplicates are never
                // admitted), unless the pair filter says there is none: in the targets beside
                // the view's items where it holds them (one contiguous read), else gathered
                // from the edge table.
                let gone_here = gone_of(s);
                x.deg = out.degree(s) - gone_here;
                let kept = |r: u32| removed.binary_search(&(r as usize)).is_err();
                x.duplicate = !absent_here
                    && match out.ends(s) {
                        Some(ends) if gone_here == 0 => ends.iter().fold(false, |dup, &t| dup | (t as usize == d)),
                        Some(ends) => ends.iter().position(|&t| t as usize == d).is_some_and(|k| kept(out.row(s)[k])),
                        None => out.row(s).iter().any(|&r| dst_rows[r as usize] as usize == d && kept(r)),
                    };
            } else {
                // Every target's kind is read too.
                let gone = gone();
                match out.ends(s) {
                    Some(ends) => out.row(s).iter().zip(ends).for_each(|(&r, &t)| add(gone, r, t)),
                    None => out.row(s).iter().for_each(|&r| add(gone, r, dst_rows[r as usize])),
                }
            }
            Some(x)
        };
        let pieces = crate::join::pieces(p.adds.len(), scan_piece(p.adds.len()));
        crate::join::busy_map(pieces, |_, r| r.map(scan).collect::<Vec<_>>()).concat()
    };
    // Then in proposal order, each seeing the additions admitted before it: per source row
    // the last one admitted (an index into `added_rows`), and per admitted one the source's
    // one before (a chain, most often of one). It reads the nodes alone, so it runs beside
    // the tombstoning of the removed rows (the edge count is the one before it).
    let edge_count = store.edges().count();
    let removes = removed.len();
    let admit_all = |nodes: &NodeTable| {
        // At most one per proposed addition, and at most the step's limit.
        let most = p.adds.len().min(params.growth.max_new_edges_per_step as usize);
        let mut added: Vec<EdgeRecord> = Vec::with_capacity(most);
        let mut added_rows: Vec<(u32, u32)> = Vec::with_capacity(most);
        let mut skipped = 0u64;
        let node_kinds = nodes.kinds();
        let (ws, sens) = (NodeKind::Workspace.code(), NodeKind::Sensory.code());
        let mut last_added: Vec<u32> = if p.adds.is_empty() { Vec::new() } else { vec![NONE; nodes.len()] };
        let mut before_it: Vec<u32> = Vec::with_capacity(most);
        let max_new = params.growth.max_new_edges_per_step as usize;
        for (e, x) in p.adds.iter().zip(existing) {
            if added.len() >= max_new {
                skipped += 1;
                continue;
            }
            let Some(x) = x else {
                skipped += 1;
                continue;
            };
            let (s, d) = (x.s, x.d);
            let mut a = Admission {
                src_kind: nodes.kind_of(s),
                dst_kind: nodes.kind_of(d),
                self_loop: s == d,
                out_degree: x.deg,
                max_out_degree: nodes.max_out_degree()[s],
                edge_count: (edge_count - removes + added.len()) as u64,
                duplicate: x.duplicate,
                has_out_to_workspace: x.to_workspace,
                has_out_to_sensory: x.to_sensory,
            };
            let kinds = kinds_matter(a.src_kind, a.dst_kind);
            let mut k = last_added[s];
            while k != NONE {
                let t = added_rows[k as usize].1 as usize;
                a.out_degree += 1;
                a.duplicate |= t == d;
                if kinds {
                    a.has_out_to_workspace |= node_kinds[t] == ws;
                    a.has_out_to_sensory |= node_kinds[t] == sens;
                }
                k = before_it[k as usize];
            }
            if admit(&a, params).is_ok() {
                before_it.push(last_added[s]);
                last_added[s] = added_rows.len() as u32;
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
                added_rows.push((s as u32, d as u32));
            } else {
                skipped += 1;
            }
        }
        (added, added_rows, skipped)
    };
    counts.culled = removed.len() as u64;
    let (added, added_rows, skipped) = store.remove_edge_rows_beside(&removed, admit_all);
    counts.skipped += skipped;
    counts.added = added.len() as u64;
    // The endpoint rows were found above (node rows do not move in this phase); the pair
    // filter is given the added pairs beside.
    let Some(f) = pairs else {
        store.add_edges_at_rows(&added, &added_rows);
        return counts;
    };
    let mut insert = || f.insert_all(added.iter().map(|r| (r.src.0, r.dst.0)));
    let n = if added.len() >= BESIDE_MIN {
        crate::join::join_busy(|| store.add_edges_at_rows(&added, &added_rows), insert).1
    } else {
        store.add_edges_at_rows(&added, &added_rows);
        insert()
    };
    f.seen_all_of(store, next_id, n);
    counts
}
