//! The in-slot arrays of the compressed-row transfer path, kept up to date under churn.
//!
//! Every live edge has one slot in its target row's group; a group's slots ascend by edge
//! row, which is ascending `EdgeId` order (the summation order of MODEL.md section 5). Per
//! slot: the edge row, the source row, the factor `q_e` and the flag byte; and where some slot
//! was gated or plastic at the last rebuild, copies of each edge's gate or learning rate and
//! (plastic) weight too ([`Copies`]), so that the pull reads them in slot order instead of by
//! edge row, scattered.
//!
//! While the store's edge layout stays, edges are only appended (the largest rows) and
//! tombstoned, so the arrays follow the store in O(edits) instead of being rebuilt:
//!
//! - an appended edge takes the next free slot of its target's group, after every edge
//!   already there, which keeps the group's order. A full group first drops its tombstoned
//!   slots (in place, order kept); still full, it moves to the end of the arrays with twice
//!   the room (the hole it leaves is reclaimed by the next rebuild);
//! - a tombstoned edge's slot is masked in place: `q = -0` ([`MASKED`]; a live slot's `q` is
//!   never `-0`, see `q_of`), its flags left as they were, so that a masking writes one line.
//!   Every pull loop's term for it is a product with `-0`, a zero (the other factors are
//!   finite), and every per-target sum starts at `+0` and can never be `-0`, so a masked
//!   slot changes no bit: the same sums as a group without it; the plasticity pass skips
//!   it. The tombstones are masked before the appends, so that a full group drops the slots
//!   just masked before it would move;
//! - where the arrays have room (the graph changes), each edge row keeps the slot it was
//!   last given ([`InSlots::pos`]), so that a masking reads that slot and no group. It is a
//!   hint, checked against the slot's row: where it is stale, the group is searched.
//!
//! A rebuild (rows moved, holes past an eighth of the arrays, or a full group in arrays
//! built without room) groups the live rows by a counting sort; for a graph whose topology
//! is changing, each group gets room for an eighth more edges (plus a few), so that appends
//! rarely move groups. Moved groups lose the arrays' order, and with it the pull loop's
//! locality, so they are kept few.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

use super::factors::Factors;
use crate::model::rules::flag;
use crate::store::{group_batches, lay_out_groups, moved_capacity, split_mut, with_room, Renumber, Store, AHEAD, ROOM};

/// A slot past a group's end (never read by the pull loops).
const NO_ROW: u32 = u32::MAX;

/// The bits of a masked slot's `q`: `-0` (see the module docs).
pub(super) const MASKED: u32 = 0x8000_0000;

/// Whether a slot whose factor is `q` is masked.
#[inline(always)]
pub(super) fn masked(q: f32) -> bool {
    q.to_bits() == MASKED
}

/// What the arrays describe: the store (lineage, edge layout, version) and how far into its
/// rows and tombstone list they have followed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Basis {
    instance: u64,
    layout: u64,
    version: u64,
    nodes: usize,
    rows: usize,
    tombs: usize,
}

impl Basis {
    /// The store's compaction that made its layout from this one (rows this far in kept
    /// track of), if one did.
    fn compacted_to(self, store: &Store) -> Option<&crate::store::Compaction> {
        store
            .last_compaction()
            .filter(|c| c.removed_nodes.is_empty() && c.from == self.layout && c.rows_before >= self.rows)
    }

    fn of(store: &Store) -> Self {
        let e = store.edges();
        Self {
            instance: store.instance(),
            layout: store.edge_layout(),
            version: store.version(),
            nodes: store.nodes().len(),
            rows: e.rows(),
            tombs: e.tombstones(),
        }
    }
}

/// What one batch of groups carried over a compaction gives (see `InSlots::carry_over`):
/// each group's slots kept, the sources of the slots dropped that were not masked yet, the
/// plain slots dropped, and whether a slot held a row the compaction did not know.
struct Carried {
    lens: Vec<(u32, u32)>,
    gone: Vec<u32>,
    plain_gone: usize,
    stray: bool,
}

/// Per slot, copies of per-edge columns of the store that the pull would otherwise read by
/// edge row, scattered: the gate or learning rate (where some slot was gated or plastic at the
/// last rebuild) and the weight (where some slot was plastic), else empty.
#[derive(Default)]
pub(super) struct Copies {
    pub param: Vec<f32>,
    pub holds_param: bool,
    pub weight: Vec<f32>,
    pub holds_weight: bool,
}

impl Copies {
    /// `f` of each column held.
    fn each(&mut self, mut f: impl FnMut(&mut Vec<f32>)) {
        if self.holds_param {
            f(&mut self.param);
        }
        if self.holds_weight {
            f(&mut self.weight);
        }
    }
}

/// See the module docs.
#[derive(Default)]
pub(super) struct InSlots {
    /// Per target row: first slot, slots in use, slots reserved.
    start: Vec<u32>,
    len: Vec<u32>,
    cap: Vec<u32>,
    /// Per slot.
    pub row: Vec<u32>,
    pub src: Vec<u32>,
    pub q: Vec<f32>,
    pub meta: Vec<u8>,
    /// Per edge row, where the arrays have room: the slot last given to it, else
    /// [`NO_ROW`] (a hint, checked against `row`; atomics only so that the threads of a
    /// reindex can each set theirs: a relaxed load or store is a plain one).
    pos: Vec<AtomicU32>,
    /// Per slot, copies of the edge's gate or learning rate and weight, where some slot was
    /// gated or plastic at the last rebuild.
    pub copies: Copies,
    /// Per target row: every slot in use is plain (conducting, non-negative, neither gated
    /// nor plastic) or masked.
    pub plain: Vec<bool>,
    /// Slots in use by plain targets (for the footprint).
    pub plain_slots: usize,
    /// Slots left behind by groups that moved.
    holes: usize,
    /// Whether the last rebuild left room in the groups.
    slack: bool,
    basis: Option<Basis>,
}

impl InSlots {
    /// The slots in use of target row `j`.
    #[inline(always)]
    pub fn range(&self, j: usize) -> std::ops::Range<usize> {
        let lo = self.start[j] as usize;
        lo..lo + self.len[j] as usize
    }

    /// The store version the arrays describe.
    pub fn version(&self) -> Option<u64> {
        self.basis.map(|b| b.version)
    }

    /// Whether the arrays can follow `store` by [`InSlots::follow`]: the same lineage, nodes
    /// only added, and either the same edge layout with rows only appended and tombstoned,
    /// or a layout made from theirs by one compaction.
    pub fn can_follow(&self, store: &Store) -> bool {
        let now = Basis::of(store);
        self.basis.is_some_and(|b| {
            b.instance == now.instance
                && b.nodes <= now.nodes
                && if b.layout == now.layout {
                    b.rows <= now.rows && b.tombs <= now.tombs
                } else {
                    b.compacted_to(store).is_some()
                }
        })
    }

    /// Group the live edge rows of `store` by target, with their factors (from `q`) and
    /// the per-row flags `meta` (the cache's, synced); `slack`: leave room in every group
    /// for appends.
    pub fn rebuild(&mut self, store: &Store, q: Factors<'_>, meta: &[u8], slack: bool) {
        let n = store.nodes().len();
        let edges = store.edges();
        let (dst, src_rows) = (edges.dst_rows(), edges.src_rows());
        let rows = edges.rows().min(dst.len()).min(src_rows.len()).min(meta.len());
        let any_dead = edges.tombstones() > 0;
        let dead = edges.tombstone_bits();
        let live = |e: usize| !any_dead || !crate::store::bit(dead, e);
        self.len.clear();
        self.len.resize(n, 0);
        for e in (0..rows).filter(|&e| live(e)) {
            self.len[dst[e] as usize] += 1;
        }
        let total = lay_out_groups(&self.len, slack, &mut self.cap, &mut self.start);
        // A counting sort (stable: ascending within a group); `len` is the cursor. The edge
        // rows are read in order and each slot written once (scattered writes cost less than
        // scattered reads of four columns per slot); each thread takes the targets of one
        // range of slots and skips the others' edges.
        let total = total as usize;
        self.row.clear();
        self.src.clear();
        self.q.clear();
        self.meta.clear();
        // Exactly the room asked for (a plain resize past the capacity would double it).
        self.reserve(total);
        self.row.resize(total, NO_ROW);
        self.src.resize(total, 0);
        self.q.resize(total, 0.0);
        self.meta.resize(total, flag::DEAD);
        self.len.iter_mut().for_each(|l| *l = 0);
        let parts = rayon::current_num_threads().clamp(1, 64);
        let mut bounds = vec![0usize];
        for p in 1..parts {
            let j = self.start.partition_point(|&s| (s as usize) < total * p / parts);
            bounds.push(j.max(bounds[p - 1]));
        }
        bounds.push(n);
        let mut pieces = Vec::with_capacity(parts);
        let (mut row, mut src, mut qs, mut metas, mut lens) =
            (&mut self.row[..], &mut self.src[..], &mut self.q[..], &mut self.meta[..], &mut self.len[..]);
        for w in bounds.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            let base = self.start.get(lo).map_or(total, |&s| s as usize);
            let end = self.start.get(hi).map_or(total, |&s| s as usize);
            let k = end - base;
            let (a, b) = std::mem::take(&mut row).split_at_mut(k);
            row = b;
            let (c, d) = std::mem::take(&mut src).split_at_mut(k);
            src = d;
            let (e, f) = std::mem::take(&mut qs).split_at_mut(k);
            qs = f;
            let (g, h) = std::mem::take(&mut metas).split_at_mut(k);
            metas = h;
            let (l, m) = std::mem::take(&mut lens).split_at_mut(hi - lo);
            lens = m;
            pieces.push((lo, hi, base, a, c, e, g, l));
        }
        let start = &self.start;
        pieces.into_par_iter().for_each(|(lo, hi, base, row, src, qs, metas, lens)| {
            for e in (0..rows).filter(|&e| live(e)) {
                let d = dst[e] as usize;
                if d < lo || d >= hi {
                    continue;
                }
                let k = start[d] as usize - base + lens[d - lo] as usize;
                lens[d - lo] += 1;
                (row[k], src[k], qs[k], metas[k]) = (e as u32, src_rows[e], q.q(e, d), meta[e]);
            }
        });
        self.copies.holds_param = self.meta.iter().any(|&f| f & (flag::GATED | flag::PLASTIC) != 0);
        self.copies.holds_weight = self.meta.iter().any(|&f| f & flag::PLASTIC != 0);
        self.refill_copies(q);
        self.plain.clear();
        self.plain_slots = 0;
        for j in 0..n {
            let r = self.range(j);
            let plain = self.meta[r.clone()].iter().all(|&f| f == flag::CONDUCTS);
            self.plain.push(plain);
            self.plain_slots += if plain { r.len() } else { 0 };
        }
        self.holes = 0;
        self.slack = slack;
        self.reindex(rows);
        self.basis = Some(Basis::of(store));
    }

    /// Follow `store` from the state the arrays describe, which must satisfy
    /// [`InSlots::can_follow`]: new node rows get empty groups, new tombstones are masked,
    /// then new live edge rows get their slots. The source rows of every edge removed are
    /// pushed onto `changed` (their per-source sums changed), and new node rows too; the
    /// rows of the live edges appended since go onto `appended`, ascending (but the sources
    /// of edges appended before a compaction the arrays are carried over go onto `changed`:
    /// their rows moved). Returns false, with the arrays left for a rebuild, where following
    /// would leave too many holes or the arrays do not match the store.
    pub fn follow(
        &mut self,
        store: &Store,
        q: Factors<'_>,
        meta: &[u8],
        changed: &mut Vec<u32>,
        appended: &mut Vec<u32>,
    ) -> bool {
        let Some(mut b) = self.basis.take() else {
            return false;
        };
        let now = Basis::of(store);
        if b.instance != now.instance || b.nodes > now.nodes {
            return false;
        }
        let (nodes, edges) = (store.nodes(), store.edges());
        let (src_rows, dst) = (edges.src_rows(), edges.dst_rows());
        for j in b.nodes..nodes.len() {
            self.start.push(self.row.len() as u32);
            self.len.push(0);
            self.cap.push(ROOM);
            self.extend_empty(ROOM as usize);
            self.plain.push(true);
            changed.push(j as u32);
        }
        b.nodes = nodes.len();
        if b.layout != now.layout {
            // Rows moved: the arrays follow only through the compaction that made this layout
            // from theirs.
            let Some(c) = b.compacted_to(store) else {
                return false;
            };
            if !self.carry_over(store, c, b.rows, q, meta, changed) {
                return false;
            }
            (b.layout, b.rows, b.tombs) = (c.to, c.rows_before - c.removed.len(), 0);
        }
        if b.rows > now.rows || b.tombs > now.tombs {
            return false;
        }
        let tombs = &edges.tombstoned_rows()[b.tombs..];
        let span = b.rows;
        for (i, &r) in tombs.iter().enumerate() {
            self.prefetch_masking(tombs, i, dst, src_rows, span);
            let r = r as usize;
            if r >= b.rows {
                // Appended and removed since: never given a slot.
                continue;
            }
            let hint = self.pos.get(r).map(|p| p.load(Relaxed) as usize);
            let k = match hint.filter(|&k| self.row.get(k) == Some(&(r as u32))) {
                Some(k) => k,
                None => {
                    // A group's rows ascend and are spread over the table's about evenly:
                    // the slot is searched for from its row's share of the table (see
                    // `crate::store::share`).
                    let range = self.range(dst[r] as usize);
                    let Some(k) = crate::store::find_from_share(&self.row[range.clone()], r as u32, span) else {
                        return false;
                    };
                    range.start + k
                }
            };
            self.q[k] = f32::from_bits(MASKED);
            changed.push(src_rows[r]);
        }
        if self.slack && edges.rows() > self.pos.len() {
            // Hints for every appended row at once, rather than grown by one per append (a
            // respread below sizes them itself).
            let more = edges.rows() - self.pos.len();
            crate::store::grow(&mut self.pos, more);
            self.pos.resize_with(edges.rows(), || AtomicU32::new(NO_ROW));
        }
        for e in b.rows..edges.rows() {
            // Each append reads its group's bounds, then writes at its end: the cache is
            // asked for both some appends ahead.
            if let Some(&d) = dst.get(e + 2 * AHEAD) {
                self.prefetch_bounds(d as usize);
            }
            if let Some(&d) = dst.get(e + AHEAD) {
                self.prefetch_end(d as usize);
            }
            if !edges.is_live(e) {
                continue;
            }
            if !self.append(e, src_rows, dst, q, meta) {
                // Built without room: the graph turned out to change, so give every group
                // room at once rather than move groups one by one (moved groups lose their
                // locality); full with room, rebuild.
                if self.slack {
                    return false;
                }
                self.respread(edges.rows());
                if !self.append(e, src_rows, dst, q, meta) {
                    return false;
                }
            }
            appended.push(e as u32);
        }
        if self.holes > self.row.len() / 8 {
            return false;
        }
        self.basis = Some(now);
        true
    }

    /// Ask the cache for target row `j`'s bounds (see [`crate::store::prefetch`]).
    #[inline]
    fn prefetch_bounds(&self, j: usize) {
        crate::store::prefetch(&self.start, j);
        crate::store::prefetch(&self.len, j);
        crate::store::prefetch(&self.cap, j);
    }
    /// Ask the cache for target row `j`'s first free slot (reads its bounds).
    #[inline]
    fn prefetch_end(&self, j: usize) {
        let (Some(&s), Some(&l)) = (self.start.get(j), self.len.get(j)) else { return };
        let k = (s + l) as usize;
        crate::store::prefetch(&self.row, k);
        crate::store::prefetch(&self.src, k);
        crate::store::prefetch(&self.q, k);
        crate::store::prefetch(&self.meta, k);
    }
    /// Ask the cache for the slot of target row `j`'s group where edge row `r` is guessed to
    /// lie (its row, factor and flags; reads the group's bounds).
    #[inline]
    fn prefetch_guess(&self, j: usize, r: u32, span: usize) {
        let (Some(&s), Some(&l)) = (self.start.get(j), self.len.get(j)) else { return };
        let k = s as usize + crate::store::share(l as usize, r, span);
        crate::store::prefetch(&self.row, k);
        crate::store::prefetch(&self.q, k);
        crate::store::prefetch(&self.meta, k);
    }

    /// Ask the cache for what the masking of `tombs[i + AHEAD / 2]` reads: its slot by the
    /// hint where hints are held (the hint and the source row asked for first), else its
    /// slot's guessed place in its group (its target and the bounds first).
    #[inline]
    fn prefetch_masking(&self, tombs: &[u32], i: usize, dst: &[u32], src_rows: &[u32], span: usize) {
        use crate::store::prefetch;
        let near = tombs.get(i + AHEAD / 2).map(|&m| m as usize);
        if self.pos.is_empty() {
            if let Some(&f) = tombs.get(i + AHEAD + AHEAD / 2) {
                prefetch(dst, f as usize);
                prefetch(src_rows, f as usize);
            }
            if let Some(&d) = tombs.get(i + AHEAD).and_then(|&m| dst.get(m as usize)) {
                self.prefetch_bounds(d as usize);
            }
            if let Some(m) = near {
                if let Some(&d) = dst.get(m) {
                    self.prefetch_guess(d as usize, m as u32, span);
                }
            }
            return;
        }
        if let Some(&f) = tombs.get(i + AHEAD) {
            prefetch(&self.pos, f as usize);
            prefetch(src_rows, f as usize);
        }
        if let Some(k) = near.and_then(|m| self.pos.get(m)).map(|p| p.load(Relaxed) as usize) {
            prefetch(&self.row, k);
            prefetch(&self.q, k);
        }
    }

    /// Give live edge row `e` (of the store's current rows) the next slot of its target's
    /// group; false where its group is full and the arrays have no room to move it.
    fn append(&mut self, e: usize, src_rows: &[u32], dst: &[u32], q: Factors<'_>, meta: &[u8]) -> bool {
        if e >= meta.len() {
            return false;
        }
        let d = dst[e] as usize;
        if self.len[d] == self.cap[d] && !self.make_room(d) {
            return false;
        }
        let k = (self.start[d] + self.len[d]) as usize;
        self.len[d] += 1;
        // The hint, where the arrays hold them (the follow sizes them for its appended rows
        // first; a carry over a compaction sets them all afresh after its appends).
        if let Some(p) = self.pos.get_mut(e) {
            *p.get_mut() = k as u32;
        }
        (self.row[k], self.src[k], self.q[k], self.meta[k]) = (e as u32, src_rows[e], q.q(e, d), meta[e]);
        if self.copies.holds_param {
            self.copies.param[k] = q.param(e);
        }
        if self.copies.holds_weight {
            self.copies.weight[k] = q.weight(e);
        }
        if self.plain[d] {
            if meta[e] == flag::CONDUCTS {
                self.plain_slots += 1;
            } else {
                self.plain[d] = false;
                self.plain_slots = self.plain_slots.saturating_sub(self.len[d] as usize - 1);
            }
        }
        true
    }

    /// Carry the arrays (which had followed the old layout up to its row `seen`) over the
    /// compaction `c` to the store's rows: the slots of removed rows dropped (their sources
    /// pushed onto `changed` where the slot was not masked yet: removed since), the others
    /// renumbered (the order within each group stays), then the rows appended between
    /// `seen` and the compaction that survived it given their slots. Every masked slot
    /// goes, since a compaction removes every tombstone.
    fn carry_over(
        &mut self,
        store: &Store,
        c: &crate::store::Compaction,
        seen: usize,
        q: Factors<'_>,
        meta: &[u8],
        changed: &mut Vec<u32>,
    ) -> bool {
        let ren = Renumber::new(&c.removed, c.rows_before);
        // The groups in parallel, in batches of about equal slots: each batch is a range of
        // the arrays no other batch touches.
        let (order, batches) = group_batches(&self.start, &self.len);
        let ranges: Vec<(usize, usize)> = batches.iter().map(|b| (b.lo, b.hi)).collect();
        let (start, len, plain) = (&self.start, &self.len, &self.plain);
        let parts: Vec<Carried> = split_mut(&mut self.row, &ranges)
            .into_par_iter()
            .zip(split_mut(&mut self.src, &ranges))
            .zip(split_mut(&mut self.q, &ranges))
            .zip(split_mut(&mut self.meta, &ranges))
            .zip(&batches)
            .map(|((((row, src), q), meta), b)| {
                let (mut lens, mut gone, mut plain_gone, mut stray) = (Vec::new(), Vec::new(), 0usize, false);
                for &j in &order[b.groups.clone()] {
                    let j = j as usize;
                    let from = start[j] as usize - b.lo;
                    let kept = ren.carry_group(row, from..from + len[j] as usize, |k, to| match to {
                        Some(w) => (src[w], q[w], meta[w]) = (src[k], q[k], meta[k]),
                        // Removed since it was masked: its source's sums change.
                        None if !masked(q[k]) => gone.push(src[k]),
                        None => {}
                    });
                    let Some(kept) = kept.map(|k| k as u32) else {
                        // A row the compaction did not know: the arrays are rebuilt.
                        stray = true;
                        break;
                    };
                    if plain[j] {
                        plain_gone += (len[j] - kept) as usize;
                    }
                    lens.push((j as u32, kept));
                }
                Carried { lens, gone, plain_gone, stray }
            })
            .collect();
        let mut stray = false;
        for Carried { lens, gone, plain_gone, stray: s } in parts {
            for (j, l) in lens {
                self.len[j as usize] = l;
            }
            changed.extend(gone);
            self.plain_slots = self.plain_slots.saturating_sub(plain_gone);
            stray |= s;
        }
        if stray {
            return false;
        }
        let edges = store.edges();
        let (src_rows, dst) = (edges.src_rows(), edges.dst_rows());
        for r in seen..c.rows_before {
            if ren.dead(r) {
                continue;
            }
            let e = ren.new_row(r);
            if !self.append(e, src_rows, dst, q, meta) {
                return false;
            }
            changed.push(src_rows[e]);
        }
        // The slots moved within their groups: their copies are read again by edge row, and
        // their hints set again.
        self.refill_copies(q);
        self.reindex(c.rows_before - c.removed.len());
        true
    }

    /// The copies held, each slot's from the store's columns by its edge row (in parallel;
    /// unused slots 0).
    fn refill_copies(&mut self, q: Factors<'_>) {
        let row = &self.row;
        let fill = |c: &mut Vec<f32>, of: &(dyn Fn(usize) -> f32 + Sync)| {
            c.clear();
            c.par_extend(row.par_iter().map(|&r| if r == NO_ROW { 0.0 } else { of(r as usize) }));
        };
        let c = &mut self.copies;
        if c.holds_param {
            fill(&mut c.param, &|e| q.param(e));
        } else {
            c.param = Vec::new();
        }
        if c.holds_weight {
            fill(&mut c.weight, &|e| q.weight(e));
        } else {
            c.weight = Vec::new();
        }
    }

    /// Keep, in order, the slots of target row `j` for which `keep(row, q, source row)` gives
    /// a row (the slot's new edge row), closing the gaps; returns the slots kept.
    fn compact_group(&mut self, j: usize, mut keep: impl FnMut(u32, f32, u32) -> Option<u32>) -> usize {
        let range = self.range(j);
        let mut w = range.start;
        for k in range.clone() {
            if let Some(row) = keep(self.row[k], self.q[k], self.src[k]) {
                if let Some(p) = self.pos.get_mut(row as usize) {
                    *p.get_mut() = w as u32;
                }
                self.row[w] = row;
                self.src[w] = self.src[k];
                self.q[w] = self.q[k];
                self.meta[w] = self.meta[k];
                self.copies.each(|c| c[w] = c[k]);
                w += 1;
            }
        }
        let kept = w - range.start;
        if self.plain[j] {
            self.plain_slots = self.plain_slots.saturating_sub(range.len() - kept);
        }
        self.len[j] = kept as u32;
        kept
    }

    /// Room for one more slot in target row `d`'s full group: its masked slots dropped (in
    /// place, order kept), else the group moved to the end of the arrays with twice the room
    /// (only where the arrays were built with room; returns false otherwise).
    fn make_room(&mut self, d: usize) -> bool {
        let range = self.range(d);
        let kept = self.compact_group(d, |row, q, _| (!masked(q)).then_some(row));
        let w = range.start + kept;
        if kept < self.cap[d] as usize {
            return true;
        }
        if !self.slack {
            return false;
        }
        let new_start = self.row.len();
        let new_cap = moved_capacity(kept);
        self.reserve(new_cap);
        self.row.extend_from_within(range.start..w);
        self.src.extend_from_within(range.start..w);
        self.q.extend_from_within(range.start..w);
        self.meta.extend_from_within(range.start..w);
        self.copies.each(|c| c.extend_from_within(range.start..w));
        self.extend_empty(new_cap - kept);
        self.holes += self.cap[d] as usize;
        self.start[d] = new_start as u32;
        self.cap[d] = new_cap as u32;
        for k in new_start..new_start + kept {
            if let Some(p) = self.pos.get_mut(self.row[k] as usize) {
                *p.get_mut() = k as u32;
            }
        }
        true
    }

    /// Lay out arrays built without room again with room in every group (an eighth more
    /// than its slots plus a few, as a rebuild with room gives, and never less than it had),
    /// in place: the groups lie in node row order (without room no group moves), so each
    /// moves towards the end, and they are moved from the last one down. Sequential copies
    /// of the slots, where a rebuild would scatter them again from the edge rows. The hints
    /// are set for `rows` edge rows.
    fn respread(&mut self, rows: usize) {
        debug_assert!(!self.slack && self.holes == 0, "arrays without room lie in node row order");
        let (old_start, old_cap) = (std::mem::take(&mut self.start), std::mem::take(&mut self.cap));
        let mut total = 0u32;
        for (j, &l) in self.len.iter().enumerate() {
            let cap = with_room(l).max(old_cap[j]);
            self.start.push(total);
            self.cap.push(cap);
            total += cap;
        }
        self.extend_empty((total as usize).saturating_sub(self.row.len()));
        for j in (0..self.len.len()).rev() {
            let (from, to, l) = (old_start[j] as usize, self.start[j] as usize, self.len[j] as usize);
            debug_assert!(to >= from, "groups move towards the end");
            self.row.copy_within(from..from + l, to);
            self.src.copy_within(from..from + l, to);
            self.q.copy_within(from..from + l, to);
            self.meta.copy_within(from..from + l, to);
            self.copies.each(|c| c.copy_within(from..from + l, to));
            let room = to + l..to + self.cap[j] as usize;
            self.row[room.clone()].fill(NO_ROW);
            self.src[room.clone()].fill(0);
            self.q[room.clone()].fill(0.0);
            self.meta[room].fill(flag::DEAD);
        }
        self.slack = true;
        self.reindex(rows);
    }

    /// Set every slot's hint afresh for `rows` edge rows (in parallel: each slot sets its
    /// own row's); none held where the arrays have no room.
    fn reindex(&mut self, rows: usize) {
        self.pos.clear();
        if !self.slack {
            self.pos.shrink_to_fit();
            return;
        }
        self.pos.resize_with(rows, || AtomicU32::new(NO_ROW));
        // By group: a slot outside every group (left behind by a group that moved) may hold a
        // stale row.
        let (pos, row) = (&self.pos, &self.row);
        (0..self.len.len()).into_par_iter().with_min_len(1024).for_each(|j| {
            for k in self.range(j) {
                if let Some(p) = pos.get(row[k] as usize) {
                    p.store(k as u32, Relaxed);
                }
            }
        });
    }

    /// Room for `k` more slots, the arrays growing by an eighth (not doubling) when full.
    fn reserve(&mut self, k: usize) {
        use crate::store::grow;
        grow(&mut self.row, k);
        grow(&mut self.src, k);
        grow(&mut self.q, k);
        grow(&mut self.meta, k);
        self.copies.each(|c| grow(c, k));
    }

    /// `k` unused slots at the end of the arrays.
    fn extend_empty(&mut self, k: usize) {
        self.reserve(k);
        let n = self.row.len() + k;
        self.row.resize(n, NO_ROW);
        self.src.resize(n, 0);
        self.q.resize(n, 0.0);
        self.meta.resize(n, flag::DEAD);
        self.copies.each(|c| c.resize(n, 0.0));
    }

    /// Bytes allocated (by capacity).
    pub fn resident_bytes(&self) -> usize {
        use super::cache::bytes;
        bytes(&self.start)
            + bytes(&self.len)
            + bytes(&self.cap)
            + bytes(&self.row)
            + bytes(&self.src)
            + bytes(&self.q)
            + bytes(&self.meta)
            + bytes(&self.pos)
            + bytes(&self.copies.param)
            + bytes(&self.copies.weight)
            + bytes(&self.plain)
    }
}

#[cfg(test)]
mod tests;
