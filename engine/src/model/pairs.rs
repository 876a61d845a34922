//! A filter over the (source id, target id) pairs of a store's edges, which phase 5.1 asks
//! before it scans an addition's source for an edge to the addition's target.
//!
//! A blocked Bloom filter: each pair sets three bits of one 64-bit word, chosen by a hash of
//! the two node ids. It answers "no such edge" (certain) or "perhaps" (the scan then
//! decides), so it never changes what is admitted; it only spares the scan, which reads the
//! source's whole group of the out-edge view, of most additions of a large batch (one word
//! read, which depends on nothing but the proposal, instead of a group found through its
//! bounds).
//!
//! Pairs are never taken out: a removed edge leaves its bits set, which costs only a scan when
//! it is asked for again. The filter follows a store by its edge ids: ids only grow and rows
//! ascend by id, so the edges appended since the filter last looked are the rows from the
//! first id it has not seen (removals and compactions keep that true, and take nothing it
//! needs). It is built again for another store (lineage), and when the pairs it holds pass
//! twice what it was sized for.

use crate::store::Store;

/// Bits of the filter per edge when it is built (rounded up to a power of two words): at
/// three bits per pair in one word, about 1% of absent pairs read "perhaps".
const BITS_PER_PAIR: usize = 12;

/// How many pairs ahead [`PairFilter::insert_all`] asks the cache for a word.
const AHEAD: usize = 16;

/// Words at least.
const MIN_WORDS: usize = 64;

/// Additions at least in a batch for which phase 5.1 asks the filter, by default: below
/// that the scans cost less than following the store.
pub const DEFAULT_MIN_ADDS: usize = 1024;

/// See the module docs.
#[derive(Debug)]
pub struct PairFilter {
    /// Additions at least in a batch for which 5.1 asks the filter.
    min_adds: usize,
    words: Vec<u64>,
    /// `64 - log2(words.len())`: a hash's top bits pick its word.
    shift: u32,
    /// The store lineage the filter describes.
    instance: Option<u64>,
    /// Every edge with a smaller id has its pair set.
    seen: u64,
    /// Pairs set since the last build.
    held: usize,
}

/// The word index and the three bits of a pair.
#[inline(always)]
fn spot(src: u64, dst: u64, shift: u32) -> (usize, u64) {
    // The finaliser of splitmix64 over a combination of the two ids (a multiplication by
    // an odd constant is a bijection, so pairs of one source differ before it).
    let mut z = src.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31) ^ dst;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let bits = (1u64 << (z & 63)) | (1u64 << ((z >> 6) & 63)) | (1u64 << ((z >> 12) & 63));
    // `shift` is at least 64 - 46 (words are far fewer than 2^46), so the word index and
    // the bits come from different bits of `z`.
    ((z >> shift) as usize, bits)
}

impl Default for PairFilter {
    fn default() -> Self {
        Self::for_batches_of(DEFAULT_MIN_ADDS)
    }
}

impl PairFilter {
    /// An empty filter (built when first used) that 5.1 asks for batches of at least
    /// `min_adds` additions.
    pub fn for_batches_of(min_adds: usize) -> Self {
        Self { min_adds, words: Vec::new(), shift: 63, instance: None, seen: 0, held: 0 }
    }

    /// Whether 5.1 asks the filter for a batch of `adds` additions.
    pub fn serves(&self, adds: usize) -> bool {
        adds >= self.min_adds
    }

    /// Whether `store` may hold an edge from node id `src` to node id `dst`; false is
    /// certain once [`PairFilter::follow`] has seen the store (and any edges since
    /// [`PairFilter::insert`]ed).
    #[inline]
    pub fn may_hold(&self, src: u64, dst: u64) -> bool {
        let (w, bits) = spot(src, dst, self.shift);
        self.words.get(w).is_none_or(|&x| x & bits == bits)
    }

    /// Ask the cache for the word of a pair (see [`crate::store::prefetch`]).
    #[inline]
    pub fn prefetch(&self, src: u64, dst: u64) {
        crate::store::prefetch(&self.words, spot(src, dst, self.shift).0);
    }

    /// Set a pair (an edge about to be appended; see [`PairFilter::seen_all_of`]).
    #[inline]
    pub fn insert(&mut self, src: u64, dst: u64) {
        let (w, bits) = spot(src, dst, self.shift);
        if let Some(x) = self.words.get_mut(w) {
            *x |= bits;
        }
    }

    /// Set the pairs of edges about to be appended, given as (source id, target id).
    pub fn insert_all(&mut self, pairs: impl Iterator<Item = (u64, u64)> + Clone) -> usize {
        // Each pair's word is a cache miss (the filter is large where it is used): asked
        // for some pairs ahead.
        let mut ahead = pairs.clone().skip(AHEAD);
        let mut n = 0;
        for (s, d) in pairs {
            if let Some((a, b)) = ahead.next() {
                self.prefetch(a, b);
            }
            self.insert(s, d);
            n += 1;
        }
        n
    }

    /// Bring the filter up to `store`: the pairs of the edges appended since it last looked
    /// (every id from the first it has not seen), or a build from every live edge where it
    /// describes another store, was never built, or would hold too many pairs.
    pub fn follow(&mut self, store: &Store) {
        let edges = store.edges();
        let from = if self.instance == Some(store.instance()) { first_row_from(store, self.seen) } else { 0 };
        let new = edges.rows() - from;
        let room = self.words.len() * 64 / BITS_PER_PAIR * 2;
        if from == 0 || self.held + new > room {
            self.build(store);
            return;
        }
        self.held += self.insert_all(pairs_of(store, from));
        self.seen = store.next_edge_id();
    }

    /// Sized for the store's edges, with the pair of every live one.
    fn build(&mut self, store: &Store) {
        let edges = store.edges();
        let n = (edges.count().max(1) * BITS_PER_PAIR).div_ceil(64).next_power_of_two().max(MIN_WORDS);
        self.words.clear();
        self.words.resize(n, 0);
        self.shift = 64 - n.trailing_zeros();
        self.held = self.insert_all(pairs_of(store, 0));
        self.instance = Some(store.instance());
        self.seen = store.next_edge_id();
    }

    /// After edges whose pairs were among the `inserted` pairs [`PairFilter::insert`]ed were
    /// appended to `store`, which the filter had followed up to `next_id` (its next edge id
    /// then): it has seen them all. Anything else appended in between leaves the filter to
    /// look from `next_id`.
    pub fn seen_all_of(&mut self, store: &Store, next_id: u64, inserted: usize) {
        self.held += inserted;
        if self.seen == next_id && self.instance == Some(store.instance()) {
            self.seen = store.next_edge_id();
        }
    }

    /// Bytes allocated.
    pub fn resident_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// The (source id, target id) pairs of the live edge rows of `store` from row `from`.
fn pairs_of(store: &Store, from: usize) -> impl Iterator<Item = (u64, u64)> + Clone + '_ {
    let (ids, edges) = (store.nodes().ids(), store.edges());
    let (src, dst) = (edges.src_rows(), edges.dst_rows());
    let dead = edges.tombstones() > 0;
    (from..edges.rows())
        .filter(move |&r| !dead || edges.is_live(r))
        .filter_map(move |r| Some((*ids.get(*src.get(r)? as usize)?, *ids.get(*dst.get(r)? as usize)?)))
}

/// The first edge row of `store` whose id is at least `id` (rows ascend by id).
fn first_row_from(store: &Store, id: u64) -> usize {
    let edges = store.edges();
    let (mut lo, mut hi) = (0, edges.rows());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if edges.id(mid) < id {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_set_is_always_held_and_few_absent_ones_read_perhaps() {
        let mut f = PairFilter::default();
        let n = 1 << 14;
        f.words.resize((n * BITS_PER_PAIR / 64).next_power_of_two(), 0);
        f.shift = 64 - f.words.len().trailing_zeros();
        for i in 0..n as u64 {
            f.insert(i / 16, i * 7919 % 100_003);
        }
        assert!((0..n as u64).all(|i| f.may_hold(i / 16, i * 7919 % 100_003)));
        let perhaps = (0..n as u64).filter(|&i| f.may_hold(i / 16 + 5_000_000, i)).count();
        assert!(perhaps * 100 < n * 3, "{perhaps} of {n} absent pairs read perhaps");
    }
}
