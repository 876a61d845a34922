//! A strictly ascending id column held as a bitmap over the ids' span: per word of 64 ids,
//! the bits of those held and the count held below the word, side by side (one read for
//! both), 16 bytes per 64 ids. An id's row is that count plus the bits below it in its word:
//! one random read, however fragmented the ids. The form a long-running store with churn
//! takes: every edge removed and compacted away leaves a gap in the ids, and the runs of
//! [`super::runs::IdColumn`] then approach one per row (16 bytes each, and a search that
//! reads several of them), where the bitmap holds a quarter byte per id of the span.

use super::col::Col;

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct IdBits {
    /// The id of bit 0 of word 0.
    base: u64,
    /// Per word of 64 ids from `base`: `[bits held, ids held in the words before]`.
    words: Col<[u64; 2]>,
    /// The number of ids held (rows).
    len: usize,
}

impl IdBits {
    /// `ids`, strictly ascending.
    pub(super) fn from_ascending(ids: impl Iterator<Item = u64>) -> Self {
        let mut b = Self::default();
        let mut words = Vec::new();
        for id in ids {
            if b.len == 0 {
                b.base = id;
            }
            b.set(&mut words, id);
        }
        b.words = words.into();
        b
    }
    /// Set the bit of `id` (larger than every id held) in `words` (this column's words).
    fn set(&mut self, words: &mut Vec<[u64; 2]>, id: u64) {
        let o = id - self.base;
        let w = (o / 64) as usize;
        // New words hold nothing yet: every id held lies below them.
        while words.len() <= w {
            words.push([0, self.len as u64]);
        }
        words[w][0] |= 1 << (o % 64);
        self.len += 1;
    }
    /// The number of rows.
    pub(super) fn len(&self) -> usize {
        self.len
    }
    /// Append `id`, larger than every id held.
    pub(super) fn push(&mut self, id: u64) {
        if self.len == 0 {
            self.base = id;
            self.words = Col::default();
        }
        let mut words = std::mem::take(&mut self.words);
        self.set(&mut words, id);
        self.words = words;
    }
    /// The word of row `row` (`row < len`): the last word with at most `row` ids below it
    /// (a word without ids has as many below it as the next one).
    fn word_of_row(&self, row: usize) -> usize {
        self.words.partition_point(|w| w[1] <= row as u64) - 1
    }
    /// The id at row `row` (`row < len`).
    pub(super) fn get(&self, row: usize) -> u64 {
        assert!(row < self.len, "row {row} of a column of {} rows", self.len);
        let w = self.word_of_row(row);
        let [bits, below] = self.words[w];
        self.base + 64 * w as u64 + u64::from(nth_bit(bits, (row as u64 - below) as u32))
    }
    /// The row holding `id`, if any.
    #[inline]
    pub(super) fn find(&self, id: u64) -> Option<usize> {
        let o = id.checked_sub(self.base)?;
        let word = *self.words.get(usize::try_from(o / 64).ok()?)?;
        (word[0] >> (o % 64) & 1 == 1).then(|| set_below(word, o % 64) as usize)
    }
    /// Ask the cache for what [`IdBits::find`] of `id` reads.
    #[inline]
    pub(super) fn prefetch(&self, id: u64) {
        if let Some(o) = id.checked_sub(self.base) {
            super::prefetch(&self.words, usize::try_from(o / 64).unwrap_or(usize::MAX));
        }
    }
    /// Every row's id, in order.
    pub(super) fn iter(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        let base = self.base;
        let each = self.words.iter().enumerate().flat_map(move |(w, &[bits, _])| {
            let first = base + 64 * w as u64;
            std::iter::successors(Some(bits).filter(|&b| b != 0), |&b| Some(b & (b - 1)).filter(|&b| b != 0))
                .map(move |b| first + u64::from(b.trailing_zeros()))
        });
        super::runs::Expand { runs: each, left: self.len }
    }
    /// Remove the rows `rows` (ascending, distinct, each `< len`); then drop the words
    /// before the first id held.
    pub(super) fn compact(&mut self, rows: &[usize]) {
        if rows.is_empty() {
            return;
        }
        let mut words = std::mem::take(&mut self.words);
        let ws: &mut Vec<[u64; 2]> = &mut words;
        // Each row's bit found through the counts as they were (bits of one word cleared
        // together, after every row of that word was found).
        let (mut w, mut clear) = (0usize, 0u64);
        for &r in rows {
            while ws.get(w + 1).is_some_and(|x| x[1] <= r as u64) {
                ws[w][0] &= !clear;
                (w, clear) = (w + 1, 0);
            }
            let [bits, below] = ws[w];
            clear |= 1 << nth_bit(bits, (r as u64 - below) as u32);
        }
        ws[w][0] &= !clear;
        let skip = ws.iter().take_while(|x| x[0] == 0).count();
        ws.drain(..skip);
        self.base += 64 * skip as u64;
        count_below(ws);
        self.len -= rows.len();
        if self.len == 0 {
            ws.clear();
        }
        self.words = words;
    }
    /// The number of runs of consecutive ids held.
    pub(super) fn runs(&self) -> usize {
        let mut carry = 0u64;
        let mut runs = 0usize;
        for &[bits, _] in self.words.iter() {
            // A run starts at every held id whose id before it is not held.
            runs += (bits & !(bits << 1 | carry)).count_ones() as usize;
            carry = bits >> 63;
        }
        runs
    }
    /// Bytes this form would take for ids spanning `first..=last`.
    pub(super) fn bytes_for(first: u64, last: u64) -> u64 {
        (last - first) / 64 * 16 + 16
    }
    /// Bytes allocated (by capacity).
    pub(super) fn resident_bytes(&self) -> usize {
        self.words.resident_bytes()
    }
}

/// In words of `[bits, set bits in the words before]`: the set bits before bit `b` of `word`.
#[inline(always)]
pub(super) fn set_below(word: [u64; 2], b: u64) -> u64 {
    word[1] + u64::from((word[0] & ((1u64 << b) - 1)).count_ones())
}

/// Write each word's count of the set bits in the words before it (`[bits, count]`).
pub(super) fn count_below(words: &mut [[u64; 2]]) {
    let mut n = 0u64;
    for w in words {
        w[1] = n;
        n += u64::from(w[0].count_ones());
    }
}

/// The position of the `n`-th (from 0) set bit of `bits` (which has more than `n`).
fn nth_bit(mut bits: u64, n: u32) -> u32 {
    for _ in 0..n {
        bits &= bits - 1;
    }
    bits.trailing_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_gets_and_compacts_like_a_vector() {
        let ids: Vec<u64> = (5..400).filter(|x| x % 3 != 0 || x % 7 == 0).chain([1000, 1001, 5000]).collect();
        let mut b = IdBits::from_ascending(ids.iter().copied());
        let check = |b: &IdBits, ids: &[u64]| {
            assert_eq!(b.len(), ids.len());
            assert_eq!(b.iter().collect::<Vec<_>>(), ids);
            for (r, &x) in ids.iter().enumerate() {
                assert_eq!((b.get(r), b.find(x)), (x, Some(r)));
            }
            for x in 0..ids.last().map_or(10, |&l| l + 70) {
                assert_eq!(b.find(x), ids.binary_search(&x).ok(), "id {x}");
            }
            let mut runs = usize::from(!ids.is_empty());
            runs += ids.windows(2).filter(|w| w[1] != w[0] + 1).count();
            assert_eq!(b.runs(), runs);
        };
        check(&b, &ids);
        // Rows of one word together, the first words emptied, then appends.
        let rows: Vec<usize> = (0..60).chain([61, 63, 100, 101, 102]).chain([ids.len() - 2]).collect();
        b.compact(&rows);
        let mut want: Vec<u64> =
            ids.iter().enumerate().filter(|(i, _)| rows.binary_search(i).is_err()).map(|(_, &x)| x).collect();
        check(&b, &want);
        assert!(b.base > 5, "the words before the first id are dropped");
        for x in [5001, 5002, 9000] {
            b.push(x);
            want.push(x);
        }
        check(&b, &want);
        b.compact(&(0..want.len()).collect::<Vec<_>>());
        check(&b, &[]);
        b.push(7);
        check(&b, &[7]);
    }
}
