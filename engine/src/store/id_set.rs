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
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Whether `id` is in the set (`NO_PARENT` never is), without a branch where the first
    /// slot decides (the id is there, or the slot is empty): a pass over ids of which few are
    /// in the set mispredicts no branch. Other slots are probed by [`IdSet::probe`].
    #[inline(always)]
    pub fn contains(&self, id: u64) -> bool {
        let s = self.slots.get(self.home(id)).copied().unwrap_or(NO_PARENT);
        ((s == id) & (id != NO_PARENT)) | ((s != NO_PARENT) & (s != id) && self.probe(id))
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

#[cfg(test)]
mod tests {
    use super::{IdSet, NO_PARENT};

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
    }
}
