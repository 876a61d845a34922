//! What a compressed-row view ([`super::Csr`]) holds beside its items, one entry per item at
//! the same position: the other endpoint row of the item's edge (`ends`), and, where a
//! stepper supplies them, a per-edge factor and flag byte of its own (the [`Side`] values:
//! the CPU stepper's `q_e` and flags), so that a scan of a group reads one contiguous range
//! for each instead of gathering by edge row. Every edit of the view moves these entries as
//! it moves the items; an edit that adds items without the side values drops them (the
//! view then holds none until a stepper hands them over again).

/// Per edge row: the side values a view may hold beside its items (the CPU stepper's
/// `q_e` and flag byte). Both as long as the edge rows they are of.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// A factor per edge row.
    pub q: &'a [f32],
    /// A flag byte per edge row.
    pub flags: &'a [u8],
}

/// The entries beside a view's items (see the module docs): `ends` where `has_ends`, the
/// side values where `has_side` (only in a view that follows a changing store; with or
/// without the ends, see [`super::Csr::set_targets`]).
#[derive(Debug, Clone, Default)]
pub(super) struct Beside {
    pub ends: Vec<u32>,
    pub has_ends: bool,
    pub q: Vec<f32>,
    pub flags: Vec<u8>,
    pub has_side: bool,
}

/// One batch's share of each held column (see [`Beside::split`]).
pub(super) struct BesideMut<'a> {
    ends: Option<&'a mut [u32]>,
    q: Option<&'a mut [f32]>,
    flags: Option<&'a mut [u8]>,
}

impl BesideMut<'_> {
    /// The entry at `k` moves to `w` in every held column.
    #[inline(always)]
    pub fn carry(&mut self, k: usize, w: usize) {
        if let Some(e) = self.ends.as_deref_mut() {
            e[w] = e[k];
        }
        if let (Some(q), Some(f)) = (self.q.as_deref_mut(), self.flags.as_deref_mut()) {
            q[w] = q[k];
            f[w] = f[k];
        }
    }
}

impl Beside {
    /// Hold nothing (and free what was held).
    pub fn drop_all(&mut self) {
        *self = Self::default();
    }

    /// Stop holding the side values (and free them).
    pub fn drop_side(&mut self) {
        self.q = Vec::new();
        self.flags = Vec::new();
        self.has_side = false;
    }

    /// Columns of `total` zeroed entries: ends where `ends`, the side values where also
    /// `side`; the entries are then written by [`Beside::set`].
    pub fn lay_out(&mut self, total: usize, ends: bool, side: bool) {
        self.drop_all();
        self.has_ends = ends;
        self.has_side = side;
        if self.has_ends {
            self.ends.reserve_exact(total);
            self.ends.resize(total, 0);
        }
        if self.has_side {
            self.q.reserve_exact(total);
            self.q.resize(total, 0.0);
            self.flags.reserve_exact(total);
            self.flags.resize(total, 0);
        }
    }

    /// Write the entries at `at` for edge row `e`: its other endpoint `other[e]`, and its
    /// side values from `side` where held (`side` must then be given).
    #[inline(always)]
    pub fn set(&mut self, at: usize, e: usize, other: &[u32], side: Option<Side<'_>>) {
        if self.has_ends {
            self.ends[at] = other[e];
        }
        if let (true, Some(s)) = (self.has_side, side) {
            self.q[at] = s.q[e];
            self.flags[at] = s.flags[e];
        }
    }

    /// Hold the other endpoints from now on: `other[e]` for each item `e` of `items` (items
    /// past a group's end, never read, take 0), gathered in parallel, with room for as many
    /// entries as `items` has.
    pub fn gather_ends(&mut self, items: &Vec<u32>, other: &[u32]) {
        self.ends = gather((items, items.capacity()), other, 0);
        self.has_ends = true;
    }

    /// Stop holding the other endpoints (and free them).
    pub fn drop_ends(&mut self) {
        self.ends = Vec::new();
        self.has_ends = false;
    }

    /// Hold the side values from now on: `side`'s entries for each item of `items`, the two
    /// columns gathered side by side.
    pub fn gather_side(&mut self, items: &Vec<u32>, side: Side<'_>) {
        let items = (&items[..], items.capacity());
        (self.q, self.flags) = rayon::join(|| gather(items, side.q, 0.0), || gather(items, side.flags, 0));
        self.has_side = true;
    }

    /// Every held column grown (or cut) to `len` entries, new ones zero.
    pub fn resize(&mut self, len: usize) {
        if self.has_ends {
            self.ends.resize(len, 0);
        }
        if self.has_side {
            self.q.resize(len, 0.0);
            self.flags.resize(len, 0);
        }
    }

    /// Room for `more` entries in every held column (see [`super::grow`]).
    pub fn grow(&mut self, more: usize) {
        if self.has_ends {
            super::grow(&mut self.ends, more);
        }
        if self.has_side {
            super::grow(&mut self.q, more);
            super::grow(&mut self.flags, more);
        }
    }

    /// The entries `from` copied to start at `to` in every held column.
    pub fn copy_within(&mut self, from: std::ops::Range<usize>, to: usize) {
        if self.has_ends {
            self.ends.copy_within(from.clone(), to);
        }
        if self.has_side {
            self.q.copy_within(from.clone(), to);
            self.flags.copy_within(from, to);
        }
    }

    /// The entries `from` appended to every held column, then `room` zeroed entries more
    /// (a group moved to the end of the items with room).
    pub fn extend_from_within(&mut self, from: std::ops::Range<usize>, room: usize) {
        let len = from.len();
        let held = if self.has_ends { self.ends.len() } else { self.q.len() };
        self.grow(len + room);
        if self.has_ends {
            self.ends.extend_from_within(from.clone());
        }
        if self.has_side {
            self.q.extend_from_within(from.clone());
            self.flags.extend_from_within(from);
        }
        self.resize(held + len + room);
    }

    /// The held columns cut at `ranges` (ascending, disjoint), one share per range.
    pub fn split(&mut self, ranges: &[(usize, usize)]) -> Vec<BesideMut<'_>> {
        let ends = cut(self.has_ends, &mut self.ends, ranges);
        let q = cut(self.has_side, &mut self.q, ranges);
        let flags = cut(self.has_side, &mut self.flags, ranges);
        ends.into_iter().zip(q).zip(flags).map(|((ends, q), flags)| BesideMut { ends, q, flags }).collect()
    }

    /// Bytes allocated (by capacity).
    pub fn bytes(&self) -> usize {
        self.ends.capacity() * std::mem::size_of::<u32>()
            + self.q.capacity() * std::mem::size_of::<f32>()
            + self.flags.capacity()
    }
}

/// `v` cut at `ranges` where `held` (one share per range), else no share for each.
fn cut<'a, T>(held: bool, v: &'a mut [T], ranges: &[(usize, usize)]) -> Vec<Option<&'a mut [T]>> {
    if held {
        super::split_mut(v, ranges).into_iter().map(Some).collect()
    } else {
        ranges.iter().map(|_| None).collect()
    }
}

/// `from[e]` for each `e` of `items` (`zero` where `e` is past `from`), in parallel, into a
/// column with room for `cap` entries (the items' capacity): one pass of writes.
fn gather<T: Copy + Send + Sync>((items, cap): (&[u32], usize), from: &[T], zero: T) -> Vec<T> {
    use rayon::prelude::*;
    let mut v = Vec::with_capacity(cap);
    v.par_extend(items.par_iter().map(|&e| from.get(e as usize).copied().unwrap_or(zero)));
    v
}
