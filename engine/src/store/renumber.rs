//! Carrying per-row data over a compaction of the edge rows: the new row of each survivor
//! ([`Renumber`]), and the groups of a grouped array cut into batches that threads can
//! carry side by side ([`group_batches`], [`split_mut`]). The out-edge view
//! ([`super::Csr::carry_over`]) and the CPU stepper's in-slot arrays use them.

use super::csr::AHEAD;

/// The new rows of a compaction's survivors: row `r` (below the rows before it) moves to `r`
/// less the removed rows below it. Per word of 64 rows: the bits of the removed ones, and
/// the count removed below the word (side by side: one read for both).
pub(crate) struct Renumber {
    words: Vec<[u64; 2]>,
    rows_before: usize,
}

impl Renumber {
    /// For `removed` (ascending, each below `rows_before`) of `rows_before` rows.
    pub(crate) fn new(removed: &[u32], rows_before: usize) -> Self {
        let mut words = vec![[0u64; 2]; rows_before.div_ceil(64)];
        for &r in removed {
            words[r as usize / 64][0] |= 1 << (r % 64);
        }
        super::id_bits::count_below(&mut words);
        Self { words, rows_before }
    }
    /// Whether row `r` was there before the compaction (else it is stray).
    #[inline(always)]
    pub(crate) fn knows(&self, r: usize) -> bool {
        r < self.rows_before
    }
    /// Ask the cache for what row `r`'s lookups read (any `r`: out of range asks nothing).
    #[inline(always)]
    pub(crate) fn prefetch(&self, r: usize) {
        super::prefetch(&self.words, r / 64);
    }
    /// Carry one group of edge rows, `rows[group]`, over the compaction in place: removed
    /// rows leave (the gaps closed, order kept), the others take their new rows. `moved(k,
    /// to)` is told where entry `k` went (`Some(w)`, `w <= k`), or that it left (`None`), so
    /// the caller moves its other arrays alike. Returns the entries kept, or `None` at a row
    /// the compaction did not know.
    pub(crate) fn carry_group(
        &self,
        rows: &mut [u32],
        group: std::ops::Range<usize>,
        mut moved: impl FnMut(usize, Option<usize>),
    ) -> Option<usize> {
        let mut w = group.start;
        for k in group.clone() {
            // The lookups are scattered: asked for some entries ahead.
            if let Some(&a) = rows.get(k + AHEAD) {
                self.prefetch(a as usize);
            }
            let r = rows[k] as usize;
            if !self.knows(r) {
                return None;
            }
            if self.dead(r) {
                moved(k, None);
            } else {
                rows[w] = self.new_row(r) as u32;
                moved(k, Some(w));
                w += 1;
            }
        }
        Some(w - group.start)
    }
    /// Whether row `r` (known) was removed.
    #[inline(always)]
    pub(crate) fn dead(&self, r: usize) -> bool {
        self.words[r / 64][0] >> (r % 64) & 1 != 0
    }
    /// The row that row `r` (known; not removed, or the first survivor after it) moved to.
    #[inline(always)]
    pub(crate) fn new_row(&self, r: usize) -> usize {
        r - super::id_bits::set_below(self.words[r / 64], (r % 64) as u64) as usize
    }
}

/// One batch of [`group_batches`]: its range of items `lo..hi` (which no other batch's
/// overlaps) and its groups, a range of the order.
pub(crate) struct Batch {
    pub lo: usize,
    pub hi: usize,
    pub groups: std::ops::Range<usize>,
}

/// Groups (`start`, `len` per group) in batches of about equal items, in item order: the
/// groups by start, and the batches. For passes over the groups in parallel.
pub(crate) fn group_batches(start: &[u32], len: &[u32]) -> (Vec<u32>, Vec<Batch>) {
    let mut order: Vec<u32> = (0..len.len() as u32).collect();
    // (An empty group may start where the next begins: it goes first.)
    order.sort_unstable_by_key(|&j| (start[j as usize], len[j as usize]));
    let used: usize = len.iter().map(|&l| l as usize).sum();
    let per_batch = (used / 64).max(4096);
    let mut batches = Vec::new();
    let (mut first, mut items) = (0usize, 0usize);
    for (i, &j) in order.iter().enumerate() {
        items += len[j as usize] as usize;
        if items >= per_batch || i + 1 == order.len() {
            let lo = start[order[first] as usize] as usize;
            let hi = (start[j as usize] + len[j as usize]) as usize;
            batches.push(Batch { lo, hi, groups: first..i + 1 });
            (first, items) = (i + 1, 0);
        }
    }
    (order, batches)
}

/// `v` cut at the given ranges (ascending, disjoint): one slice for each, the rest left out.
pub(crate) fn split_mut<'a, T>(mut v: &'a mut [T], ranges: &[(usize, usize)]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(ranges.len());
    let mut at = 0usize;
    for &(lo, hi) in ranges {
        let rest = std::mem::take(&mut v).split_at_mut(lo - at).1;
        let (mine, rest) = rest.split_at_mut(hi - lo);
        out.push(mine);
        (v, at) = (rest, hi);
    }
    out
}
