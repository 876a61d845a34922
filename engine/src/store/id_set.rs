//! A set of node ids for one pass of membership tests (the dead parents of a node removal).

use super::NO_PARENT;

/// A set of node ids (never [`NO_PARENT`]) for one pass of membership tests: open
/// addressing at a load of at most one sixteenth, so that nearly every lookup is decided by
/// its first slot.
pub(super) struct IdSet {
    slots: Vec<u64>,
    shift: u32,
}

impl IdSet {
    pub fn new(ids: impl ExactSizeIterator<Item = u64>) -> Self {
        let bits = (ids.len().max(1) * 16).next_power_of_two().trailing_zeros().max(4);
        let mut set = Self { slots: vec![NO_PARENT; 1 << bits], shift: 64 - bits };
        for id in ids {
            let mut i = set.home(id);
            while set.slots[i] != NO_PARENT && set.slots[i] != id {
                i = (i + 1) & (set.slots.len() - 1);
            }
            set.slots[i] = id;
        }
        set
    }

    #[inline]
    fn home(&self, id: u64) -> usize {
        (id.wrapping_mul(HASH) >> self.shift) as usize
    }

    /// Whether `id` is in the set (`NO_PARENT` never is), without a branch where the first
    /// slot decides (the id is there, or the slot is empty): a pass over ids of which few are
    /// in the set mispredicts no branch. Other slots are probed by [`IdSet::probe`].
    #[cfg(test)]
    pub fn contains(&self, id: u64) -> bool {
        let s = self.slots.get(self.home(id)).copied().unwrap_or(NO_PARENT);
        ((s == id) & (id != NO_PARENT)) | ((s != NO_PARENT) & (s != id) && self.probe(id))
    }

    /// Replace every id of `ids` that is in the set by [`NO_PARENT`]: per block of ids, the
    /// home slots' answers without a branch (compiled for AVX-512 and AVX2: a gather per
    /// lane), then the rare ids whose home slot holds another id probed one by one.
    pub fn clear_in(&self, ids: &mut [u64]) {
        let mask = self.slots.len() - 1;
        for block in ids.chunks_mut(CLEAR_BLOCK) {
            let unsure = clear_block_fast(block, &self.slots, (self.shift, mask));
            for k in super::ones(unsure) {
                if let Some(id) = block.get_mut(k) {
                    if self.probe(*id) {
                        *id = NO_PARENT;
                    }
                }
            }
        }
    }

    /// Whether `id` is in the set, by probing from its home slot.
    #[inline]
    fn probe(&self, id: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = self.home(id);
        loop {
            let s = self.slots[i];
            if s == NO_PARENT {
                return false;
            }
            if s == id {
                return true;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Ids per block of [`IdSet::clear_in`] (one bit each in its mask of unsure ids).
const CLEAR_BLOCK: usize = 64;

/// Multiplier of the home slot's hash.
const HASH: u64 = 0x9E37_79B9_7F4A_7C15;

crate::rng::vector_forms!(clear_block_fast, clear_block, clear_block_avx512, clear_block_avx2,
    (ids: &mut [u64], slots: &[u64], at: (u32, usize)) -> u64);

/// [`IdSet::clear_in`] of up to [`CLEAR_BLOCK`] ids by their home slots (`at`: the hash's
/// shift and the slot mask): an id found there becomes [`NO_PARENT`]; returns the mask of
/// ids whose home slot holds another id (those need a probe). A plain loop, which the
/// compiled forms vectorise.
#[inline(always)]
fn clear_block(ids: &mut [u64], slots: &[u64], (shift, mask): (u32, usize)) -> u64 {
    let mut unsure = 0u64;
    for k in 0..ids.len().min(CLEAR_BLOCK) {
        let id = ids[k];
        let s = slots.get((id.wrapping_mul(HASH) >> shift) as usize & mask).copied().unwrap_or(NO_PARENT);
        let found = (s == id) & (id != NO_PARENT);
        unsure |= u64::from((s != NO_PARENT) & (s != id)) << k;
        ids[k] = if found { NO_PARENT } else { id };
    }
    unsure
}

#[cfg(test)]
mod tests {
    use super::{clear_block, clear_block_avx2, clear_block_avx512, IdSet, CLEAR_BLOCK, NO_PARENT};

    #[test]
    fn holds_exactly_its_ids() {
        let ids: Vec<u64> = (0..300u64).map(|i| i * 7919 % 100_003).collect();
        let set = IdSet::new(ids.iter().copied());
        for x in 0..100_003u64 {
            assert_eq!(set.contains(x), ids.contains(&x), "id {x}");
            assert_eq!(set.probe(x), ids.contains(&x), "id {x}");
        }
        assert!(!set.contains(NO_PARENT) && !set.probe(NO_PARENT));
        assert!(!IdSet::new(std::iter::empty()).contains(5));
        // Clearing: every id of the set (home slot or probed) and only those.
        let mut all: Vec<u64> = (0..100_003u64).chain([NO_PARENT]).collect();
        set.clear_in(&mut all);
        for (x, &got) in (0..100_003u64).chain([NO_PARENT]).zip(&all) {
            let want = if ids.contains(&x) { NO_PARENT } else { x };
            assert_eq!(got, want, "id {x}");
        }
        // Every compiled form of a block gives the portable form's ids and unsure mask.
        let at = (set.shift, set.slots.len() - 1);
        for block in (0..100_003u64).collect::<Vec<_>>().chunks(CLEAR_BLOCK) {
            let mut want = block.to_vec();
            let unsure = clear_block(&mut want, &set.slots, at);
            for form in crate::rng::forms_found() {
                let mut got = block.to_vec();
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected.
                let u = unsafe {
                    if form == "avx2" {
                        clear_block_avx2(&mut got, &set.slots, at)
                    } else {
                        clear_block_avx512(&mut got, &set.slots, at)
                    }
                };
                assert_eq!((got, u), (want.clone(), unsure), "{form}, block from {}", block[0]);
            }
        }
    }
}
