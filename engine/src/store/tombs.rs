//! Removed edge rows that are still in the edge table (tombstones), until the store compacts
//! them in one batch (DESIGN.md: "removal may tombstone rows and compact in amortised
//! batches; compaction keeps the order").
//!
//! A tombstoned row keeps its values (its endpoint rows stay valid: node removal compacts
//! every tombstone with it), so passes over the rows only need to know that it no longer
//! counts. Two forms of the same set: a bit per row for tests in row loops, and the rows in
//! the order they were removed, so a reader that saw the first `k` can catch up on the rest.

use super::col::Col;

/// The tombstoned rows of the edge table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tombs {
    /// Bit `r % 64` of word `r / 64` is set when row `r` is tombstoned.
    bits: Col<u64>,
    /// The tombstoned rows, in the order they were removed (distinct).
    rows: Col<u32>,
}

impl Tombs {
    /// Number of tombstoned rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// Whether row `r` is tombstoned.
    #[inline]
    pub fn contains(&self, r: usize) -> bool {
        bit(&self.bits, r)
    }
    /// The bit words (rows past the end read as live).
    #[inline]
    pub fn bits(&self) -> &[u64] {
        &self.bits
    }
    /// The tombstoned rows in the order they were removed.
    pub fn rows(&self) -> &[u32] {
        &self.rows
    }
    /// Tombstone `rows` (live, distinct).
    pub fn add(&mut self, rows: &[usize]) {
        let Some(&max) = rows.iter().max() else {
            return;
        };
        debug_assert!(rows.iter().all(|&r| !self.contains(r)), "a row tombstoned twice");
        if self.bits.len() <= max / 64 {
            self.bits.resize(max / 64 + 1, 0);
        }
        set_bits(&mut self.bits, rows);
        self.rows.extend(rows.iter().map(|&r| r as u32));
    }
    /// The tombstoned rows, ascending; and the set emptied.
    pub fn take_sorted(&mut self) -> Vec<usize> {
        // Read off the bits in order (a word per 64 rows), rather than sorting the list.
        let mut rows: Vec<usize> = Vec::with_capacity(self.rows.len());
        for (i, &w) in self.bits.iter().enumerate() {
            rows.extend(ones(w).map(|k| i * 64 + k));
        }
        debug_assert_eq!(rows.len(), self.rows.len(), "the bits and the list should hold the same rows");
        *self = Self::default();
        rows
    }
    /// Bytes allocated (by capacity).
    pub fn resident_bytes(&self) -> usize {
        self.bits.resident_bytes() + self.rows.resident_bytes()
    }
}

/// Set the bits of `rows` in `bits` (long enough for every row).
pub fn set_bits(bits: &mut [u64], rows: &[usize]) {
    for &r in rows {
        bits[r / 64] |= 1 << (r % 64);
    }
}

/// The positions of the bits set in `word`, ascending: how the passes that test 64 rows at
/// once into a mask word visit the few rows set.
#[inline(always)]
pub fn ones(word: u64) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(word).filter(|&w| w != 0), |&w| Some(w & (w - 1)).filter(|&w| w != 0))
        .map(|w| w.trailing_zeros() as usize)
}

/// The word whose bit `i` is byte `i` of `bytes` (each 0 or 1): eight bytes at a time, by
/// the multiplication that gathers the low bit of each byte into the top byte. Mask forms
/// that test bytes compute a byte per row in one loop (which the compiler vectorises on
/// bytes) and pack them here, where shifting each row's bit into the word in the loop
/// widens every lane to 64 bits.
#[inline(always)]
pub fn pack_bytes(bytes: &[u8; 64]) -> u64 {
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut word = 0u64;
    for (j, c) in bytes.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        word |= (w.wrapping_mul(GATHER) >> 56) << (8 * j);
    }
    word
}

/// Whether row `r` is set in the bit words `bits` (rows past the end read as clear).
#[inline(always)]
pub fn bit(bits: &[u64], r: usize) -> bool {
    bits.get(r / 64).is_some_and(|w| w >> (r % 64) & 1 != 0)
}

#[cfg(test)]
mod tests {
    use super::{pack_bytes, Tombs};

    #[test]
    fn pack_bytes_sets_the_bit_of_each_byte_set() {
        let mut next = crate::rng::test_words(19);
        for round in 0..50 {
            let bytes: [u8; 64] = std::array::from_fn(|_| u8::from(next() % 3 == 0));
            let want = bytes.iter().enumerate().fold(0u64, |w, (i, &b)| w | u64::from(b) << i);
            assert_eq!(pack_bytes(&bytes), want, "round {round}");
        }
        assert_eq!(pack_bytes(&[1; 64]), u64::MAX);
        assert_eq!(pack_bytes(&[0; 64]), 0);
    }

    #[test]
    fn keeps_both_forms_of_the_set() {
        let mut t = Tombs::default();
        assert!(!t.contains(5));
        t.add(&[70, 3]);
        t.add(&[]);
        t.add(&[129]);
        assert_eq!(t.len(), 3);
        assert!(t.contains(3) && t.contains(70) && t.contains(129));
        assert!(!t.contains(4) && !t.contains(71) && !t.contains(100_000));
        assert_eq!(t.rows(), &[70, 3, 129]);
        assert_eq!(t.take_sorted(), vec![3, 70, 129]);
        assert_eq!(t.len(), 0);
        assert!(!t.contains(3));
    }
}
