//! `q_e = |w_e| * dst_scale(target)`, the static factor of an edge: computed by one
//! function on every path ([`q_of`]), so that the per-row entries, the in-slot arrays, the
//! out-edge view's side values and the sums all hold the same bits.

use crate::model::rules::flag;
use crate::store::{NodeKind, Store};

/// `q_e = |w_e| * dst_scale(target)` from the store's weights and the target's kind and
/// subtype: the same bits as the per-row entries hold.
#[derive(Clone, Copy)]
pub(super) struct Factors<'a> {
    weights: &'a [f32],
    kinds: &'a [u8],
    subtypes: &'a [u8],
    table: [(f32, f32); 4],
    kind_params: &'a [f32],
    /// `q_e` per edge row where the cache keeps it (synced), else empty.
    rows: &'a [f32],
}

impl<'a> Factors<'a> {
    /// The factors of `store` with the subtype scale table `table`.
    pub fn of(store: &'a Store, table: [(f32, f32); 4]) -> Self {
        let (n, e) = (store.nodes(), store.edges());
        Self {
            weights: e.weights(),
            kinds: n.kinds(),
            subtypes: n.subtypes(),
            table,
            kind_params: e.kind_params(),
            rows: &[],
        }
    }

    /// These factors reading `q_e` from `rows` (the per-row entries, synced) where it holds
    /// the row: the same bits, read by row instead of from the target's kind and subtype.
    pub fn with_rows(self, rows: &'a [f32]) -> Self {
        Self { rows, ..self }
    }

    /// The weight of edge row `e` (what the in-slot arrays may copy per slot).
    #[inline]
    pub fn weight(&self, e: usize) -> f32 {
        self.weights.get(e).copied().unwrap_or(0.0)
    }

    /// The gate or learning rate of edge row `e` (the store's column; what the in-slot
    /// arrays may copy per slot).
    #[inline]
    pub fn param(&self, e: usize) -> f32 {
        self.kind_params.get(e).copied().unwrap_or(0.0)
    }

    /// `q_e` of edge row `e` whose target is node row `d`.
    #[inline]
    pub fn q(&self, e: usize, d: usize) -> f32 {
        match self.rows.get(e) {
            Some(&q) => q,
            None => q_of(self.weights[e], scale_of(self.table, self.kinds, self.subtypes, d).1),
        }
    }
}

/// `q_e` of an edge of weight `w` into a target of scale `dst_scale`: the weight's magnitude
/// times the target's scale (every path computes it by this, so all give the same bits).
/// Never `-0` (a scale of `-0`, which validation lets through, would give it: adding `+0`
/// turns it into `+0` and leaves every other value as it is), so that `-0` can mark a
/// masked slot of the in-slot arrays ([`super::slots::MASKED`]).
#[inline(always)]
pub(super) fn q_of(w: f32, dst_scale: f32) -> f32 {
    w.abs() * dst_scale + 0.0
}

/// The flags `f` of a plastic edge whose weight became `w`: only the sign bit follows it.
#[inline(always)]
pub(super) fn with_sign(f: u8, w: f32) -> u8 {
    (f & !flag::NEGATIVE) | if w < 0.0 { flag::NEGATIVE } else { 0 }
}

/// Source and target scale of node row `r` by the subtype table (dynamic nodes), else 1.
#[inline(always)]
pub(super) fn scale_of(table: [(f32, f32); 4], kinds: &[u8], subtypes: &[u8], r: usize) -> (f32, f32) {
    if kinds[r] == NodeKind::Dynamic.code() {
        table[usize::from(subtypes[r]).min(3)]
    } else {
        (1.0, 1.0)
    }
}

/// `table[st]` for a dynamic node's subtype code (`table[3]` for any code past 2, as
/// [`scale_of`] clamps it), by selects instead of a lookup, so that a loop over rows
/// vectorises without a gather.
#[inline(always)]
pub(super) fn by_subtype(table: [f32; 4], st: u8) -> f32 {
    if st == 0 {
        table[0]
    } else if st == 1 {
        table[1]
    } else if st == 2 {
        table[2]
    } else {
        table[3]
    }
}
