//! Compressed rows of edge rows grouped by one endpoint's node row.
//!
//! Within a node's group the edge rows ascend, which is ascending `EdgeId` order: the
//! summation order of MODEL.md section 5 comes for free.
//!
//! Each group is a range of `items` with room to grow (`cap` past its start, `len` used),
//! so a view follows a store whose edges are appended and tombstoned in O(edits):
//! [`Csr::remove_rows`] closes the gap a removed row leaves in its group (O(degree)), and
//! [`Csr::append`] puts a new row at its group's end (its largest row), moving a full group
//! to the end of `items` with twice the room. The holes moved groups leave are reclaimed by
//! the next rebuild ([`Csr::has_many_holes`] says when). A fresh build has no room (the
//! groups are packed, and the view holds one offset per node row instead of three bounds:
//! a group ends where the next begins); [`Csr::rebuild_live_with_room`] leaves some. The
//! first edit of a packed view spells its bounds out. A view that follows a changing store
//! (rebuilt with room, or asked to by [`Csr::hold_ends`]) also holds each item's other
//! endpoint row beside it ([`Csr::ends`]: an out-edge's target), so a scan of a group for
//! its targets reads one contiguous range instead of gathering from the edge table; a
//! packed view, or one edited once after a packed build, does not. Such a view may also hold
//! a stepper's per-edge values beside its items ([`Csr::hold_side`], [`Csr::side`]; see
//! [`super::beside`]).

use super::beside::{Beside, Side};
use super::renumber::{group_batches, split_mut, Renumber};

/// Room a group gets beyond its edges in [`Csr::rebuild_live_with_room`] (plus an eighth),
/// and a new node's group.
pub(crate) const ROOM: u32 = 4;

/// The groups' bounds for `len` edges each: `cap` (with `room`, an eighth more plus
/// [`ROOM`]) and `start` (the groups laid out in order, by a running total of `cap`);
/// returns the total. Shared by the views and the CPU stepper's in-slot arrays.
pub(crate) fn lay_out_groups(len: &[u32], room: bool, cap: &mut Vec<u32>, start: &mut Vec<u32>) -> u32 {
    cap.clear();
    cap.extend(len.iter().map(|&l| if room { with_room(l) } else { l }));
    start.clear();
    let mut total = 0u32;
    start.extend(cap.iter().map(|&c| {
        let s = total;
        total += c;
        s
    }));
    total
}

/// The capacity of a group of `len` edges laid out with room: an eighth more plus [`ROOM`].
pub(crate) fn with_room(len: u32) -> u32 {
    len + len / 8 + ROOM
}

/// The capacity a full group of `len` edges moves to: twice its edges plus [`ROOM`].
pub(crate) fn moved_capacity(len: usize) -> usize {
    2 * len + ROOM as usize
}

/// How many edits ahead a pass over edits asks the cache for what later edits read (see
/// [`super::prefetch()`]): the last of its dependent reads half as far ahead.
pub(crate) const AHEAD: usize = 16;

/// How [`Csr::group`] lays the groups out.
#[derive(Clone, Copy)]
enum Layout<'a> {
    /// Back to back, one offset per node row.
    Packed,
    /// Back to back, each group's bounds spelt out; each group's live rows where known.
    Spelt(Option<&'a [u32]>),
    /// With room, and the other endpoints (`other[e]` for edge row `e`) beside the items,
    /// and the side values where given.
    Room(&'a [u32], Option<Side<'a>>),
}

/// One compressed-row view: `row(n)` are the edge rows of node row `n`, ascending.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    /// Per node row: first item; while `packed`, one more entry (the end of the last group).
    start: Vec<u32>,
    /// Per node row: items used and items reserved; both empty while `packed`.
    len: Vec<u32>,
    cap: Vec<u32>,
    /// Whether the groups lie back to back with no room (group `n` ends at `start[n + 1]`).
    packed: bool,
    items: Vec<u32>,
    /// Per item: the other endpoint row of its edge, and the side values, where held (never
    /// while `packed`).
    beside: Beside,
    /// Items used over all groups.
    count: usize,
    /// Items left behind by groups that moved.
    holes: usize,
    /// Whether the owner asked the view not to hold the other endpoints
    /// ([`Csr::set_targets`]).
    no_targets: bool,
    /// Whether the view holds no targets by its layout's choice, with no edit since
    /// ([`Csr::is_fresh`]).
    fresh: bool,
}

impl Csr {
    /// Group `0..key.len()` edge rows by `key[e]` (a node row below `n_nodes`), stable.
    pub fn build(n_nodes: usize, key: &[u32]) -> Self {
        Self::build_live(n_nodes, key, &[])
    }

    /// [`Csr::build`] leaving out the rows set in the bit words `dead` (bit `e % 64` of word
    /// `e / 64`; rows past its end are kept): the edge table's tombstones.
    pub fn build_live(n_nodes: usize, key: &[u32], dead: &[u64]) -> Self {
        let mut c = Self::default();
        c.rebuild_live(n_nodes, key, dead);
        c
    }

    /// [`Csr::build_live`] with its bounds spelt out (no room, no endpoints): for a view
    /// edited at once (spawn's, which gets the children's edges), where a packed one would
    /// spell them out at that edit anyway.
    pub fn build_live_to_edit(n_nodes: usize, key: &[u32], dead: &[u64]) -> Self {
        let mut c = Self::default();
        c.rebuild_live_to_edit(n_nodes, key, dead, None);
        c
    }

    /// [`Csr::build_live_to_edit`] into the existing buffers; `live_len`, where given, holds
    /// each group's live rows (counted already elsewhere; counted here where not, or where
    /// it is not one per node).
    pub fn rebuild_live_to_edit(&mut self, n_nodes: usize, key: &[u32], dead: &[u64], live_len: Option<&[u32]>) {
        // Not items far beyond what this view needs (a view grown by many moved groups would
        // otherwise keep its largest size for good).
        if self.items.capacity() > key.len() + key.len() / 4 {
            self.items = Vec::new();
        }
        self.group(n_nodes, key, dead, Layout::Spelt(live_len.filter(|l| l.len() == n_nodes)));
    }

    /// [`Csr::build`] into the existing buffers (a counting sort; no allocation once the
    /// buffers are large enough).
    pub fn rebuild(&mut self, n_nodes: usize, key: &[u32]) {
        self.rebuild_live(n_nodes, key, &[]);
    }

    /// [`Csr::build_live`] into the existing buffers, groups packed.
    pub fn rebuild_live(&mut self, n_nodes: usize, key: &[u32], dead: &[u64]) {
        self.group(n_nodes, key, dead, Layout::Packed);
    }

    /// [`Csr::rebuild_live`] with room in every group for an eighth more edges (plus a
    /// few): for a view that follows a changing store. `other[e]`: the other endpoint row
    /// of edge row `e` (held beside its item), and the side values where given.
    pub fn rebuild_live_with_room(
        &mut self,
        n_nodes: usize,
        key: &[u32],
        other: &[u32],
        dead: &[u64],
        side: Option<Side<'_>>,
    ) {
        self.group(n_nodes, key, dead, Layout::Room(other, side));
    }

    /// Group the live rows as `layout` says.
    fn group(&mut self, n_nodes: usize, key: &[u32], dead: &[u64], layout: Layout<'_>) {
        let any_dead = dead.iter().any(|&w| w != 0);
        let live = |e: usize| !any_dead || !super::tombs::bit(dead, e);
        let (other, side, known) = match layout {
            Layout::Packed => return self.group_packed(n_nodes, key, live),
            Layout::Spelt(known) => (None, None, known),
            Layout::Room(other, side) => (Some(other), side, None),
        };
        self.packed = false;
        self.len.clear();
        if let Some(len) = known {
            self.len.extend_from_slice(len);
        } else {
            self.len.resize(n_nodes, 0);
            for (e, &k) in key.iter().enumerate() {
                if live(e) {
                    self.len[k as usize] += 1;
                }
            }
        }
        let total = lay_out_groups(&self.len, other.is_some(), &mut self.cap, &mut self.start);
        self.count = self.len.iter().map(|&l| l as usize).sum();
        self.fill_items(total as usize);
        // `len` doubles as the cursor: each group's next position, from its start (one random
        // access per edge instead of reading the start and the length), made the group's
        // length again at the end.
        let n = self.len.len();
        self.len.copy_from_slice(&self.start[..n]);
        self.beside.lay_out(total as usize, other.is_some() && !self.no_targets, side.is_some());
        // The columns as local slices, so that the loop keeps their addresses in registers
        // (a write through `items` could otherwise alias the fields that hold them).
        let (cursor, items) = (&mut self.len[..], &mut self.items[..]);
        match other {
            // The other endpoints (and side values) are read in row order, written beside
            // the items.
            Some(other) => {
                let beside = &mut self.beside;
                for (e, &k) in key.iter().enumerate() {
                    if live(e) {
                        let k = k as usize;
                        let at = cursor[k] as usize;
                        items[at] = e as u32;
                        beside.set(at, e, other, side);
                        cursor[k] += 1;
                    }
                }
            }
            None if !any_dead => {
                for (e, &k) in key.iter().enumerate() {
                    let k = k as usize;
                    items[cursor[k] as usize] = e as u32;
                    cursor[k] += 1;
                }
            }
            None => {
                for (e, &k) in key.iter().enumerate() {
                    if live(e) {
                        let k = k as usize;
                        items[cursor[k] as usize] = e as u32;
                        cursor[k] += 1;
                    }
                }
            }
        }
        for (l, &s) in self.len.iter_mut().zip(&self.start) {
            *l -= s;
        }
        self.holes = 0;
        self.fresh = other.is_none();
    }

    /// [`Csr::group`] with no room: one offset per node row (a counting sort in `start`).
    fn group_packed(&mut self, n_nodes: usize, key: &[u32], live: impl Fn(usize) -> bool) {
        self.packed = true;
        self.len = Vec::new();
        self.cap = Vec::new();
        self.beside.drop_all();
        self.start.clear();
        self.start.resize(n_nodes + 1, 0);
        for (e, &k) in key.iter().enumerate() {
            if live(e) {
                self.start[k as usize + 1] += 1;
            }
        }
        for n in 1..=n_nodes {
            self.start[n] += self.start[n - 1];
        }
        self.count = self.start[n_nodes] as usize;
        self.fill_items(self.count);
        // `start[k]` doubles as group `k`'s cursor; it ends at the start of group `k + 1`.
        for (e, &k) in key.iter().enumerate() {
            if live(e) {
                let k = k as usize;
                self.items[self.start[k] as usize] = e as u32;
                self.start[k] += 1;
            }
        }
        self.start.copy_within(0..n_nodes, 1);
        self.start[0] = 0;
        self.holes = 0;
        self.fresh = true;
    }

    /// `items` cleared and sized to `total`, with exactly that room (a plain resize past the
    /// capacity would double it).
    fn fill_items(&mut self, total: usize) {
        self.items.clear();
        self.items.reserve_exact(total);
        self.items.resize(total, 0);
    }

    /// Spell out the bounds of a packed view (before an edit): each group's used and reserved
    /// items are the distance to the next group.
    fn unpack(&mut self) {
        if !self.packed {
            return;
        }
        self.len = self.start.windows(2).map(|w| w[1] - w[0]).collect();
        self.cap = self.len.clone();
        self.start.pop();
        self.packed = false;
    }

    /// Whether the groups lie packed (one offset per node row, no endpoints).
    pub fn is_packed(&self) -> bool {
        self.packed
    }

    /// Whether the view was built packed or to edit ([`Csr::rebuild_live_to_edit`]), or
    /// carried over a removal of node rows (which drops the targets), with no edit since: a
    /// view its owner lays out afresh often (spawn's, every step), which need not take on
    /// the upkeep of a view that follows a changing store at its first edit.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// From now on hold each item's other endpoint row beside it (`other[e]` for edge row
    /// `e`), for a view that has turned out to follow a changing store: one gather over the
    /// items now, then kept by every edit. Nothing for a packed view or one that holds them.
    pub fn hold_ends(&mut self, other: &[u32]) {
        if self.packed || self.beside.has_ends || self.no_targets {
            return;
        }
        self.beside.gather_ends(&self.items, other);
    }

    /// From now on hold the side values beside the items too (`side.q[e]` and
    /// `side.flags[e]` for edge row `e`): one gather over the items now, then kept by every
    /// edit that is given them. Only for a view that follows a changing store (one that
    /// holds the other endpoints, or is told not to hold them); nothing where it holds the
    /// side values already.
    pub fn hold_side(&mut self, side: Side<'_>) {
        if self.packed || !(self.beside.has_ends || self.no_targets) || self.beside.has_side {
            return;
        }
        self.beside.gather_side(&self.items, side);
    }

    /// Whether the view holds each item's other endpoint when it follows a changing store
    /// (the default) or not (`held` false: they are dropped now). An owner whose scans of
    /// a group do not need the targets (5.1 where a pair filter answers most of them) saves
    /// their upkeep: every removal and append moves one column fewer.
    pub fn set_targets(&mut self, held: bool) {
        self.no_targets = !held;
        if !held {
            self.beside.drop_ends();
        }
    }

    /// Stop holding the side values (their edges' values changed, or no longer known).
    pub fn drop_side(&mut self) {
        self.beside.drop_side();
    }

    /// Bytes allocated for the view (by capacity).
    pub fn resident_bytes(&self) -> usize {
        (self.start.capacity() + self.len.capacity() + self.cap.capacity() + self.items.capacity())
            * std::mem::size_of::<u32>()
            + self.beside.bytes()
    }

    /// Bring the view up to date after nodes and edges were only appended since it was
    /// complete: the node rows grow to `n_nodes` (new rows get empty groups) and the edge
    /// rows `first..key.len()` (`first`: the edge rows when it was complete) not set in the
    /// bit words `dead` join their groups. Appended edges have the largest rows, so each goes
    /// at the end of its group: the same groups as [`Csr::rebuild_live`]. `other`: as in
    /// [`Csr::rebuild_live_with_room`]. `side`: the side values of the rows, without which
    /// a view that holds them drops them.
    pub fn append(
        &mut self,
        n_nodes: usize,
        key: &[u32],
        other: &[u32],
        first: usize,
        dead: &[u64],
        side: Option<Side<'_>>,
    ) {
        debug_assert!(n_nodes >= self.n_nodes() && key.len() >= first, "append only grows the view");
        self.unpack();
        self.fresh = false;
        if side.is_none() {
            self.beside.drop_side();
        }
        let new_nodes = n_nodes.saturating_sub(self.n_nodes());
        grow(&mut self.items, new_nodes * ROOM as usize);
        self.beside.grow(new_nodes * ROOM as usize);
        for _ in self.n_nodes()..n_nodes {
            self.start.push(self.items.len() as u32);
            self.len.push(0);
            self.cap.push(ROOM);
            self.items.resize(self.items.len() + ROOM as usize, 0);
            self.beside.resize(self.items.len());
        }
        for e in first..key.len() {
            // Each append reads its group's bounds and capacity, then writes at its end: the
            // cache is asked for both some appends ahead.
            if let Some(&k) = key.get(e + AHEAD) {
                self.prefetch_bounds(k as usize);
                super::prefetch(&self.cap, k as usize);
            }
            if let Some(&k) = key.get(e + AHEAD / 2) {
                self.prefetch_end(k as usize);
            }
            if super::tombs::bit(dead, e) {
                continue;
            }
            let k = key[e] as usize;
            if self.len[k] == self.cap[k] {
                self.move_to_end(k);
            }
            let at = (self.start[k] + self.len[k]) as usize;
            self.items[at] = e as u32;
            self.beside.set(at, e, other, side);
            self.len[k] += 1;
            self.count += 1;
        }
    }

    /// Move group `k` to the end of `items` with twice its edges as room (plus a few).
    fn move_to_end(&mut self, k: usize) {
        let (s, l) = (self.start[k] as usize, self.len[k] as usize);
        let new_start = self.items.len();
        let new_cap = moved_capacity(l);
        grow(&mut self.items, new_cap);
        self.items.extend_from_within(s..s + l);
        self.items.resize(new_start + new_cap, 0);
        self.beside.extend_from_within(s..s + l, new_cap - l);
        self.holes += self.cap[k] as usize;
        self.start[k] = new_start as u32;
        self.cap[k] = new_cap as u32;
    }

    /// Drop the edge rows `rows` (each in the view once; any order) from their groups
    /// (`key[e]`: the group of row `e`), keeping the order of the rest: O(degree) each.
    /// Returns false, with the view left for a rebuild, where a row is not in its group.
    pub fn remove_rows(&mut self, rows: impl IntoIterator<Item = u32>, key: &[u32]) -> bool {
        self.unpack();
        self.fresh = false;
        let rows: Vec<u32> = rows.into_iter().collect();
        for (i, &r) in rows.iter().enumerate() {
            // Each removal reads its key, then its group's bounds, then the group: the cache
            // is asked for them some removals ahead.
            if let Some(&f) = rows.get(i + AHEAD + AHEAD / 2) {
                super::prefetch(key, f as usize);
            }
            if let Some(&k) = rows.get(i + AHEAD).and_then(|&m| key.get(m as usize)) {
                self.prefetch_bounds(k as usize);
            }
            if let Some(&k) = rows.get(i + AHEAD / 2).and_then(|&m| key.get(m as usize)) {
                self.prefetch_whole_group(k as usize);
            }
            let Some(&k) = key.get(r as usize) else {
                return false;
            };
            let k = k as usize;
            let (s, l) = (self.start[k] as usize, self.len[k] as usize);
            let Ok(i) = self.items[s..s + l].binary_search(&r) else {
                return false;
            };
            self.items.copy_within(s + i + 1..s + l, s + i);
            self.beside.copy_within(s + i + 1..s + l, s + i);
            self.len[k] -= 1;
            self.count -= 1;
        }
        true
    }

    /// Carry the view over a compaction of the edge rows (`ren`): the removed rows leave
    /// their groups, the others take their new rows (the order within each group stays).
    /// The groups in parallel. False, with the view left for a rebuild, where the view is
    /// packed or holds a row the compaction did not know.
    pub(crate) fn carry_over(&mut self, ren: &Renumber) -> bool {
        use rayon::prelude::*;
        if self.packed {
            return false;
        }
        self.fresh = false;
        let (order, batches) = group_batches(&self.start, &self.len);
        let ranges: Vec<(usize, usize)> = batches.iter().map(|b| (b.lo, b.hi)).collect();
        let besides = self.beside.split(&ranges);
        let (start, len) = (&self.start, &self.len);
        let parts: Vec<Option<Vec<(u32, u32)>>> = split_mut(&mut self.items, &ranges)
            .into_par_iter()
            .zip(besides)
            .zip(&batches)
            .map(|((items, mut beside), b)| {
                let mut lens = Vec::with_capacity(b.groups.len());
                for &j in &order[b.groups.clone()] {
                    let j = j as usize;
                    let from = start[j] as usize - b.lo;
                    let kept = ren.carry_group(items, from..from + len[j] as usize, |k, to| {
                        if let Some(w) = to {
                            beside.carry(k, w);
                        }
                    })?;
                    lens.push((j as u32, kept as u32));
                }
                Some(lens)
            })
            .collect();
        let mut ok = true;
        for part in parts {
            match part {
                Some(lens) => {
                    for (j, l) in lens {
                        self.count -= (self.len[j as usize] - l) as usize;
                        self.len[j as usize] = l;
                    }
                }
                None => ok = false,
            }
        }
        ok
    }

    /// Count the view as fresh again ([`Csr::is_fresh`]) after the edits that complete a
    /// fresh layout (the rows edited since it was complete, caught up with after a carry
    /// over a node removal).
    pub(crate) fn mark_fresh(&mut self) {
        self.fresh = true;
    }

    /// Carry the view over a compaction of the edge rows that removed the node rows
    /// `removed_nodes` (ascending) with every edge of theirs: `new_row[e]` is edge row `e`'s
    /// row after it (`u32::MAX` for a removed one), `sources` the groups of the removed rows
    /// (any order, repeats allowed). Every item takes its new row in one pass over the
    /// items (the groups stay where they are), the groups of `sources` close the gaps of
    /// their removed rows, and the removed node rows' groups (empty by then) are dropped.
    /// What the view held beside its items is dropped; the view is fresh
    /// ([`Csr::is_fresh`]). False, with the view left for a rebuild, where it is packed or
    /// a removed node row's group still holds an edge.
    pub(crate) fn carry_over_node_removal(
        &mut self,
        new_row: &[u32],
        sources: &[u32],
        removed_nodes: &[usize],
    ) -> bool {
        if self.packed {
            return false;
        }
        // The sources' first items and the removed groups' room, read before the bounds move.
        let firsts: Option<Vec<u32>> = sources.iter().map(|&g| self.start.get(g as usize).copied()).collect();
        let freed: Option<usize> = removed_nodes.iter().map(|&r| self.cap.get(r).map(|&c| c as usize)).sum();
        let (Some(firsts), Some(freed)) = (firsts, freed) else {
            return false;
        };
        // The items and the groups' lengths on the calling thread; the other bounds on the
        // other thread, where it is free (spawn's candidates take about 10 us of `default.toml`'s
        // step beside this carry's 17).
        let Self { start, len, cap, items, count, .. } = self;
        let (kept, ()) = crate::join::join_busy(
            || {
                // Items past a group's end (room, holes) are never read: renumbered all the same.
                super::renumber_col(items, new_row);
                for (&g, &s) in sources.iter().zip(&firsts) {
                    let Some(l) = len.get_mut(g as usize) else {
                        return false;
                    };
                    let group = &mut items[s as usize..(s + *l) as usize];
                    let mut w = 0;
                    for k in 0..group.len() {
                        let r = group[k];
                        group[w] = r;
                        w += usize::from(r != u32::MAX);
                    }
                    *count -= group.len() - w;
                    *l = w as u32;
                }
                if removed_nodes.iter().any(|&r| len.get(r) != Some(&0)) {
                    return false;
                }
                super::compact(len, removed_nodes);
                true
            },
            || {
                super::compact(start, removed_nodes);
                super::compact(cap, removed_nodes);
            },
        );
        if !kept {
            return false;
        }
        self.holes += freed;
        self.beside.drop_all();
        self.fresh = true;
        true
    }

    /// Whether the holes left by moved groups pass an eighth of the items (time to rebuild).
    pub fn has_many_holes(&self) -> bool {
        self.holes > self.items.len() / 8
    }

    /// The edge rows of node row `n`.
    #[inline]
    pub fn row(&self, n: usize) -> &[u32] {
        let s = self.start[n] as usize;
        &self.items[s..s + self.degree(n) as usize]
    }
    /// The other endpoint rows of node row `n`'s edges, in the order of [`Csr::row`], where
    /// the view holds them (see the module docs).
    #[inline]
    pub fn ends(&self, n: usize) -> Option<&[u32]> {
        if !self.beside.has_ends {
            return None;
        }
        let s = self.start[n] as usize;
        Some(&self.beside.ends[s..s + self.len[n] as usize])
    }
    /// The side values of node row `n`'s edges (factors and flags), in the order of
    /// [`Csr::row`], where the view holds them ([`Csr::hold_side`]).
    #[inline]
    pub fn side(&self, n: usize) -> Option<(&[f32], &[u8])> {
        if !self.beside.has_side {
            return None;
        }
        let s = self.start[n] as usize;
        let e = s + self.len[n] as usize;
        Some((&self.beside.q[s..e], &self.beside.flags[s..e]))
    }
    /// Whether the view holds the side values.
    pub fn has_side(&self) -> bool {
        self.beside.has_side
    }
    /// Ask the cache for node row `n`'s side values (reads the group's bounds).
    #[inline]
    pub fn prefetch_side(&self, n: usize) {
        let (Some(&s), Some(&l)) = (self.start.get(n), self.len.get(n)) else { return };
        let (s, e) = (s as usize, (s + l) as usize);
        for i in (s..e).step_by(16) {
            super::prefetch(&self.beside.q, i);
        }
        for i in (s..e).step_by(64) {
            super::prefetch(&self.beside.flags, i);
        }
    }
    /// Ask the cache for node row `n`'s bounds (see [`super::prefetch()`]); a later
    /// [`Csr::prefetch_group`] reads them.
    #[inline]
    pub fn prefetch_bounds(&self, n: usize) {
        super::prefetch(&self.start, n);
        super::prefetch(&self.len, n);
    }
    /// Ask the cache for the start of node row `n`'s group: its endpoints where the view
    /// holds them, and its items where `items` or it does not (reads the group's start).
    #[inline]
    pub fn prefetch_group(&self, n: usize, items: bool) {
        let Some(&s) = self.start.get(n) else { return };
        let s = s as usize;
        let l = self.len.get(n).map_or(32, |&l| l as usize);
        for i in (s..s + l).step_by(16) {
            if self.beside.has_ends {
                super::prefetch(&self.beside.ends, i);
            }
            if items || !self.beside.has_ends {
                super::prefetch(&self.items, i);
            }
        }
    }
    /// Ask the cache for every item of node row `n`'s group, and its endpoints where the
    /// view holds them, else its side values where it holds those (reads the group's
    /// bounds). (With the endpoints too, asking for the side values was slower: more lines
    /// than the fill buffers keep in flight.)
    #[inline]
    pub fn prefetch_whole_group(&self, n: usize) {
        let (Some(&s), Some(&l)) = (self.start.get(n), self.len.get(n)) else { return };
        for i in (s as usize..(s + l) as usize).step_by(16) {
            super::prefetch(&self.items, i);
            if self.beside.has_ends {
                super::prefetch(&self.beside.ends, i);
            } else if self.beside.has_side {
                super::prefetch(&self.beside.q, i);
                // 64 flags per line.
                if i % 64 < 16 {
                    super::prefetch(&self.beside.flags, i);
                }
            }
        }
    }
    /// Ask the cache for the first free item of node row `n`'s group, and its endpoint
    /// (reads the group's bounds).
    #[inline]
    fn prefetch_end(&self, n: usize) {
        let (Some(&s), Some(&l)) = (self.start.get(n), self.len.get(n)) else { return };
        super::prefetch(&self.items, (s + l) as usize);
        if self.beside.has_ends {
            super::prefetch(&self.beside.ends, (s + l) as usize);
        }
    }
    /// Number of edges of node row `n`.
    #[inline]
    pub fn degree(&self, n: usize) -> u32 {
        if self.packed {
            self.start[n + 1] - self.start[n]
        } else {
            self.len[n]
        }
    }
    /// Number of edge rows in the view.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Number of node rows.
    pub fn n_nodes(&self) -> usize {
        if self.packed {
            self.start.len() - 1
        } else {
            self.len.len()
        }
    }
    /// Whether both views hold the same groups (whatever their room and placement).
    pub fn same_groups(&self, other: &Csr) -> bool {
        self.n_nodes() == other.n_nodes() && (0..self.n_nodes()).all(|n| self.row(n) == other.row(n))
    }
    /// The view packed: offsets (`n_nodes + 1` entries) and the groups' edge rows, in node
    /// row order.
    pub fn packed(&self) -> (Vec<u32>, Vec<u32>) {
        let mut offsets = Vec::with_capacity(self.n_nodes() + 1);
        let mut items = Vec::with_capacity(self.count);
        offsets.push(0);
        for n in 0..self.n_nodes() {
            items.extend_from_slice(self.row(n));
            offsets.push(items.len() as u32);
        }
        (offsets, items)
    }
}

/// Room for `more` entries at the end of `v`, growing its allocation by an eighth (not
/// doubling it) when full: views that follow a changing store grow a little at a time.
pub(crate) fn grow<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8));
    }
}

/// Both views of the current topology.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// By source node row: out-edges.
    pub out: Csr,
    /// By target node row: in-edges.
    pub inc: Csr,
}

#[cfg(test)]
mod tests;
