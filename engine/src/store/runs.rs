//! A column held as runs of equal values: the first row and the value of each run.
//!
//! For a column whose rows mostly repeat their neighbour's value, such as the edges' birth
//! steps (edges are appended in id order as they are born, so the column never decreases
//! while the engine alone adds edges), the column takes a few bytes per run instead of
//! eight per row. Any sequence can be held; one that changes at every row takes 16 bytes
//! per row, twice the plain column.

use super::col::Col;
use super::guess::gallop_from;
use super::id_bits::IdBits;

/// See the module docs. Runs are maximal: neighbouring runs hold different values.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs<T: Clone> {
    /// The first row of each run, ascending; `starts[0] == 0` when there are rows.
    starts: Col<u64>,
    /// The value of each run.
    values: Col<T>,
    /// The number of rows.
    len: usize,
}

impl<T: Clone> Default for Runs<T> {
    fn default() -> Self {
        Self { starts: Col::default(), values: Vec::new().into(), len: 0 }
    }
}

impl<T: Copy + PartialEq> Runs<T> {
    /// `n` rows of `v`.
    pub fn filled(v: T, n: usize) -> Self {
        if n == 0 {
            return Self::default();
        }
        Self { starts: vec![0].into(), values: vec![v].into(), len: n }
    }
    /// The rows `values`, built in plain vectors (a push through a copy-on-write column
    /// checks its sharing every time), then moved into the columns.
    pub fn from_values(values: impl IntoIterator<Item = T>) -> Self {
        let (mut starts, mut runs, mut len) = (Vec::new(), Vec::new(), 0usize);
        for v in values {
            if runs.last() != Some(&v) {
                starts.push(len as u64);
                runs.push(v);
            }
            len += 1;
        }
        Self { starts: starts.into(), values: runs.into(), len }
    }
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The number of runs.
    pub fn runs(&self) -> usize {
        self.values.len()
    }
    /// Append a row.
    pub fn push(&mut self, v: T) {
        if self.values.last() != Some(&v) {
            self.starts.push(self.len as u64);
            self.values.push(v);
        }
        self.len += 1;
    }
    /// The value of row `row` (`row < len`).
    pub fn get(&self, row: usize) -> T {
        assert!(row < self.len, "row {row} of a column of {} rows", self.len);
        let i = self.starts.partition_point(|&s| s <= row as u64) - 1;
        self.values[i]
    }
    /// Every row's value, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T> + '_ {
        let ends = self.starts.iter().skip(1).copied().chain(std::iter::once(self.len as u64));
        let each = self.starts.iter().zip(ends).zip(self.values.iter());
        Expand { runs: each.flat_map(|((&s, e), &v)| std::iter::repeat_n(v, (e - s) as usize)), left: self.len }
    }
    /// Every row's value, as a vector.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }
    /// Remove the rows listed in `rows` (ascending, distinct, each `< len`), keeping the
    /// order of the rest: O(runs + rows).
    pub fn compact(&mut self, rows: &[usize]) {
        if rows.is_empty() {
            return;
        }
        let (mut starts, mut values) = (Vec::with_capacity(self.runs()), Vec::with_capacity(self.runs()));
        let mut gone = 0usize;
        let mut k = 0usize;
        for i in 0..self.runs() {
            let s = self.starts[i] as usize;
            let e = self.starts.get(i + 1).map_or(self.len, |&x| x as usize);
            let before = gone;
            while k < rows.len() && rows[k] < e {
                k += 1;
                gone += 1;
            }
            let kept = (e - s) - (gone - before);
            let v = self.values[i];
            if kept > 0 && values.last() != Some(&v) {
                starts.push((s - before) as u64);
                values.push(v);
            }
        }
        self.len -= gone;
        self.starts = starts.into();
        self.values = values.into();
    }
    /// Set row `row` to `v` (re-encodes the column: for tests).
    #[doc(hidden)]
    pub fn set(&mut self, row: usize, v: T) {
        let mut all = self.to_vec();
        all[row] = v;
        let mut out = Self::default();
        for x in all {
            out.push(x);
        }
        *self = out;
    }
    /// The runs: their first rows and their values.
    pub(crate) fn parts(&self) -> (&[u64], &[T]) {
        (&self.starts, &self.values)
    }
    /// Reserve room for `n` more runs (a run per row at worst).
    pub fn reserve_runs(&mut self, n: usize) {
        self.starts.reserve(n);
        self.values.reserve(n);
    }
    /// Bytes allocated (by capacity).
    pub fn resident_bytes(&self) -> usize {
        self.starts.resident_bytes() + self.values.resident_bytes()
    }
}

/// A strictly ascending id column, held in the smallest of three forms: runs of consecutive
/// ids (as [`Runs`] of `id - row`, which never decreases: one run while no row was removed,
/// one more for each gap a removal left, about 16 bytes per run), a plain column (8 bytes
/// per row), or a bitmap over the ids' span (`engine/src/store/id_bits.rs`, a quarter byte
/// per id of the span); appends keep the form, a compaction picks again. An id's row is a
/// search over the runs, an interpolation search over the plain column, or one read of
/// the bitmap.
#[derive(Debug, Clone, PartialEq)]
pub struct IdColumn(Ids);

#[derive(Debug, Clone, PartialEq)]
enum Ids {
    Runs(Runs<u64>),
    Plain(Col<u64>),
    Bits(IdBits),
}

impl Default for IdColumn {
    fn default() -> Self {
        Self(Ids::Runs(Runs::default()))
    }
}

/// The forms of [`IdColumn`].
enum Form {
    Runs,
    Plain,
    Bits,
}

impl IdColumn {
    /// Rows `0..n` holding ids `0..n`.
    pub fn dense(n: usize) -> Self {
        Self(Ids::Runs(Runs::filled(0, n)))
    }
    /// Rows holding `ids` (ascending and distinct), in the smallest form.
    pub fn from_ascending(ids: Vec<u64>) -> Self {
        let mut c = Self(Ids::Plain(ids.into()));
        c.choose();
        c
    }
    /// The number of rows.
    pub fn len(&self) -> usize {
        match &self.0 {
            Ids::Runs(r) => r.len(),
            Ids::Plain(c) => c.len(),
            Ids::Bits(b) => b.len(),
        }
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The number of runs of consecutive ids, where held as runs (else `None`).
    pub fn runs(&self) -> Option<usize> {
        match &self.0 {
            Ids::Runs(r) => Some(r.runs()),
            Ids::Plain(_) | Ids::Bits(_) => None,
        }
    }
    /// Append `id`, larger than every id held (checked by the store's invariants).
    pub fn push(&mut self, id: u64) {
        debug_assert!(self.last().is_none_or(|l| l < id), "ids are appended in ascending order");
        match &mut self.0 {
            Ids::Runs(r) => r.push(id - r.len() as u64),
            Ids::Plain(c) => c.push(id),
            Ids::Bits(b) => b.push(id),
        }
    }
    /// The id at row `row` (`row < len`).
    pub fn get(&self, row: usize) -> u64 {
        match &self.0 {
            Ids::Runs(r) => row as u64 + r.get(row),
            Ids::Plain(c) => c[row],
            Ids::Bits(b) => b.get(row),
        }
    }
    /// The last id, if any.
    pub fn last(&self) -> Option<u64> {
        (!self.is_empty()).then(|| self.get(self.len() - 1))
    }
    /// Every row's id, in order.
    pub fn iter(&self) -> Box<dyn ExactSizeIterator<Item = u64> + '_> {
        match &self.0 {
            Ids::Runs(r) => Box::new(r.iter().enumerate().map(|(row, d)| row as u64 + d)),
            Ids::Plain(c) => Box::new(c.iter().copied()),
            Ids::Bits(b) => Box::new(b.iter()),
        }
    }
    /// The row holding `id`, if any.
    pub fn find(&self, id: u64) -> Option<usize> {
        let r = match &self.0 {
            Ids::Runs(r) => r,
            Ids::Plain(c) => return super::edges::find_ascending(c, id),
            Ids::Bits(b) => return b.find(id),
        };
        let (starts, offsets) = r.parts();
        // The last run whose first id (`start + offset`, ascending over the runs) is <= id.
        let (mut lo, mut hi) = (0usize, starts.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if starts[mid] + offsets[mid] <= id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let k = lo.checked_sub(1)?;
        let row = id - offsets[k];
        let end = starts.get(k + 1).map_or(r.len() as u64, |&e| e);
        (row < end).then_some(row as usize)
    }
    /// The rows of those of `ids` (ascending, distinct) that are held, appended to `out`
    /// (ascending): each search starts where the one before ended and gallops forward, so
    /// ids that lie close together cost a few reads each instead of a search of the whole
    /// column.
    pub fn find_many(&self, ids: &[u64], out: &mut Vec<usize>) {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids should be ascending and distinct");
        match &self.0 {
            Ids::Runs(r) => {
                let (starts, offsets) = r.parts();
                let first = |k: usize| starts[k] + offsets[k];
                let mut k = 0usize;
                for (t, &id) in ids.iter().enumerate() {
                    if starts.is_empty() || first(0) > id {
                        continue;
                    }
                    let n = starts.len();
                    // The first reads of a search some ids ahead, guessed from here: asked of
                    // the cache now.
                    if let Some(&f) = ids.get(t + super::csr::AHEAD) {
                        let g = guess(k, first(k), n, first(n - 1), f);
                        super::prefetch(starts, g);
                        super::prefetch(offsets, g);
                    }
                    let at = guess(k, first(k), n, first(n - 1), id);
                    k = gallop_from(k, at, n, |j| first(j) <= id);
                    let row = id - offsets[k];
                    let end = starts.get(k + 1).map_or(r.len() as u64, |&e| e);
                    if row < end {
                        out.push(row as usize);
                    }
                }
            }
            Ids::Plain(c) => {
                let mut i = 0usize;
                for (t, &id) in ids.iter().enumerate() {
                    if c.first().is_none_or(|&f| f > id) {
                        continue;
                    }
                    let n = c.len();
                    if let Some(&f) = ids.get(t + super::csr::AHEAD) {
                        super::prefetch(c, guess(i, c[i], n, c[n - 1], f));
                    }
                    i = gallop_from(i, guess(i, c[i], n, c[n - 1], id), n, |j| c[j] <= id);
                    if c[i] == id {
                        out.push(i);
                    }
                }
            }
            Ids::Bits(b) => {
                for (t, &id) in ids.iter().enumerate() {
                    if let Some(&f) = ids.get(t + super::csr::AHEAD) {
                        b.prefetch(f);
                    }
                    out.extend(b.find(id));
                }
            }
        }
    }
    /// Remove the rows listed in `rows` (ascending, distinct), keeping the order of the rest;
    /// then hold the ids as runs or as a plain column, whichever is smaller.
    pub fn compact(&mut self, rows: &[usize]) {
        if rows.is_empty() {
            return;
        }
        match &mut self.0 {
            Ids::Runs(r) => *r = compact_offsets(r, rows),
            Ids::Plain(c) => super::compact::compact(c, rows),
            Ids::Bits(b) => b.compact(rows),
        }
        self.choose();
    }
    /// The smallest form for the ids held: runs (16 bytes per run), the plain column (8 per
    /// row) or the bitmap (16 per 64 ids of the span); runs, then the bitmap, on a tie.
    fn choose(&mut self) {
        let n = self.len();
        let (Some(first), Some(last)) = ((n > 0).then(|| self.get(0)), self.last()) else {
            self.0 = Ids::Runs(Runs::default());
            return;
        };
        let runs = match &self.0 {
            Ids::Runs(r) => r.runs(),
            Ids::Plain(c) => 1 + c.windows(2).filter(|w| w[1] != w[0] + 1).count(),
            Ids::Bits(b) => b.runs(),
        } as u64;
        let (as_runs, plain, bits) = (16 * runs, 8 * n as u64, IdBits::bytes_for(first, last));
        let next = if as_runs <= plain && as_runs <= bits {
            Form::Runs
        } else if bits <= plain {
            Form::Bits
        } else {
            Form::Plain
        };
        self.0 = match (std::mem::replace(&mut self.0, Ids::Runs(Runs::default())), next) {
            (Ids::Runs(r), Form::Runs) => Ids::Runs(r),
            (Ids::Plain(c), Form::Plain) => Ids::Plain(c),
            (Ids::Bits(b), Form::Bits) => Ids::Bits(b),
            (ids, Form::Runs) => {
                Ids::Runs(Runs::from_values(IdColumn(ids).iter().enumerate().map(|(row, id)| id - row as u64)))
            }
            (ids, Form::Plain) => Ids::Plain(IdColumn(ids).iter().collect::<Vec<u64>>().into()),
            (ids, Form::Bits) => Ids::Bits(IdBits::from_ascending(IdColumn(ids).iter())),
        };
    }
    /// Change the id of row `row` (undone by repeating it; for tests of the state hash).
    #[doc(hidden)]
    pub fn poke(&mut self, row: usize) {
        match &mut self.0 {
            Ids::Runs(r) => {
                let d = r.get(row);
                r.set(row, d ^ 1 << 40);
            }
            Ids::Plain(c) => c[row] ^= 1 << 40,
            Ids::Bits(b) => {
                // Any id can be poked into a plain column (a bitmap holds ascending ids only).
                let mut c: Vec<u64> = b.iter().collect();
                c[row] ^= 1 << 40;
                self.0 = Ids::Plain(c.into());
            }
        }
    }
    /// Bytes allocated (by capacity).
    pub fn resident_bytes(&self) -> usize {
        match &self.0 {
            Ids::Runs(r) => r.resident_bytes(),
            Ids::Plain(c) => c.resident_bytes(),
            Ids::Bits(b) => b.resident_bytes(),
        }
    }
}

/// Where `id` would lie among `n` ascending values whose `k`-th is `lo_v` (at most `id`)
/// and last is `hi_v`, if they were spread evenly: the guess of [`gallop_from`] for ids,
/// which the removals of random edges leave spread about evenly over the rows.
fn guess(k: usize, lo_v: u64, n: usize, hi_v: u64, id: u64) -> usize {
    if hi_v <= id || n <= k + 1 {
        return n.saturating_sub(1);
    }
    let span = (hi_v - lo_v).max(1) as u128;
    k + ((u128::from(id - lo_v) * (n - 1 - k) as u128) / span) as usize
}

/// `r` (runs of `id - row`) without the rows `rows` (ascending, distinct, each `< len`):
/// row `x` keeps its id and moves to `x - (removed rows below it)`, so its offset grows by
/// that count; re-encoded stretch by stretch. Built in plain vectors (a push through a
/// copy-on-write column checks its sharing every time), then moved into the columns.
fn compact_offsets(r: &Runs<u64>, rows: &[usize]) -> Runs<u64> {
    let (mut new_starts, mut new_offsets) = (Vec::with_capacity(r.runs()), Vec::with_capacity(r.runs()));
    let (mut k, mut x, mut run) = (0usize, 0usize, 0usize);
    let n = r.len();
    let (starts, offsets) = r.parts();
    while x < n {
        let next_gone = rows.get(k).copied().unwrap_or(n);
        if x == next_gone {
            k += 1;
            x += 1;
            continue;
        }
        // Rows x..next_gone are kept; split them at run boundaries.
        while starts.get(run + 1).is_some_and(|&s| s as usize <= x) {
            run += 1;
        }
        let run_end = starts.get(run + 1).map_or(n, |&s| s as usize);
        let end = next_gone.min(run_end);
        let v = offsets[run] + k as u64;
        if new_offsets.last() != Some(&v) {
            new_starts.push((x - k) as u64);
            new_offsets.push(v);
        }
        x = end;
    }
    Runs { starts: new_starts.into(), values: new_offsets.into(), len: n - rows.len() }
}

/// The rows of a sequence of runs (or of any iterator), with its length known.
pub(super) struct Expand<I> {
    pub(super) runs: I,
    pub(super) left: usize,
}

impl<T, I: Iterator<Item = T>> Iterator for Expand<I> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let x = self.runs.next()?;
        self.left -= 1;
        Some(x)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T, I: Iterator<Item = T>> ExactSizeIterator for Expand<I> {}

#[cfg(test)]
mod tests {
    use super::{IdColumn, Runs};

    fn runs_of(v: &[u64]) -> Runs<u64> {
        let mut r = Runs::default();
        for &x in v {
            r.push(x);
        }
        r
    }

    #[test]
    fn holds_any_sequence_and_compacts_like_a_vector() {
        let seqs: Vec<Vec<u64>> = vec![
            vec![],
            vec![0; 10],
            vec![0, 0, 0, 1, 1, 2, 5, 5, 5, 5, 7],
            (0..40).map(|i| i % 3).collect(),
            vec![3, 3, 1, 1, 3, 3],
        ];
        for v in &seqs {
            let r = runs_of(v);
            assert_eq!(r.to_vec(), *v);
            assert_eq!(r.iter().len(), v.len());
            for (i, &x) in v.iter().enumerate() {
                assert_eq!(r.get(i), x);
            }
            // Every subset of the rows of a short sequence; a few of a longer one (in its first 64 rows).
            let n = v.len();
            let patterns: Vec<u64> =
                if n <= 12 { (0..1u64 << n).collect() } else { vec![0, 1, 0x0055_5555_5555, u64::MAX] };
            for m in patterns {
                let rows: Vec<usize> = (0..n).filter(|&i| i < 64 && m >> i & 1 == 1).collect();
                let mut c = r.clone();
                c.compact(&rows);
                let want: Vec<u64> =
                    v.iter().enumerate().filter(|(i, _)| rows.binary_search(i).is_err()).map(|(_, &x)| x).collect();
                assert_eq!(c.to_vec(), want, "{v:?} less {rows:?}");
                assert_eq!(c, runs_of(&want), "runs stay maximal");
            }
        }
        let mut r = runs_of(&[1, 1, 1]);
        r.set(1, 4);
        assert_eq!((r.to_vec(), r.runs()), (vec![1, 4, 1], 3));
        assert_eq!(Runs::filled(7u64, 3).to_vec(), vec![7, 7, 7]);
        assert_eq!(Runs::filled(7u64, 3), runs_of(&[7, 7, 7]));
    }

    /// A column from whole values equals the one pushed row by row; ids from a whole vector
    /// take the smallest form (as a compaction chooses), and find every row.
    #[test]
    fn whole_columns_equal_pushed_ones_in_the_smallest_form() {
        for v in [vec![], vec![4u64; 5], vec![1, 1, 2, 2, 2, 9, 1], (0..50).map(|i| i / 7).collect()] {
            assert_eq!(Runs::from_values(v.iter().copied()), runs_of(&v), "{v:?}");
        }
        let dense: Vec<u64> = (5..1005).collect();
        let gappy: Vec<u64> = (0..1000).filter(|x| x % 3 != 0).collect();
        let sparse: Vec<u64> = (0..300).map(|i| i * 1000).collect();
        for (ids, form) in [(dense, "runs"), (gappy, "bits"), (sparse, "plain"), (vec![], "runs")] {
            let c = IdColumn::from_ascending(ids.clone());
            let got = match c.0 {
                super::Ids::Runs(_) => "runs",
                super::Ids::Bits(_) => "bits",
                super::Ids::Plain(_) => "plain",
            };
            assert_eq!(got, form, "{} ids", ids.len());
            assert_eq!(c.iter().collect::<Vec<_>>(), ids);
            for (r, &x) in ids.iter().enumerate() {
                assert_eq!(c.find(x), Some(r));
            }
        }
    }

    #[test]
    fn ascending_ids_find_their_rows_through_any_compaction() {
        let lists: Vec<Vec<u64>> = vec![
            vec![],
            (0..20).collect(),
            (0..30).filter(|x| x % 4 != 1).collect(),
            vec![3, 4, 5, 9, 10, 100, 101, 102, 103, 500],
            (0..16u64).map(|i| i * i).collect(),
        ];
        for ids in &lists {
            let mut c = IdColumn::default();
            for &x in ids {
                c.push(x);
            }
            let check = |c: &IdColumn, ids: &[u64]| {
                assert_eq!(c.iter().collect::<Vec<_>>(), ids);
                assert_eq!(c.last(), ids.last().copied());
                for (r, &x) in ids.iter().enumerate() {
                    assert_eq!((c.get(r), c.find(x)), (x, Some(r)));
                }
                for x in 0..ids.last().map_or(5, |&l| l + 5) {
                    assert_eq!(c.find(x), ids.binary_search(&x).ok(), "id {x} of {ids:?}");
                }
                // Many at once, ascending: every id up to past the last, and every third.
                for stride in [1, 3] {
                    let xs: Vec<u64> = (0..ids.last().map_or(5, |&l| l + 5)).step_by(stride).collect();
                    let mut got = vec![usize::MAX];
                    c.find_many(&xs, &mut got);
                    let want: Vec<usize> = xs.iter().filter_map(|x| ids.binary_search(x).ok()).collect();
                    assert_eq!((got[0], &got[1..]), (usize::MAX, &want[..]), "ids {xs:?} of {ids:?}");
                }
            };
            check(&c, ids);
            let n = ids.len();
            for m in [0u64, 1, 0b1010_0110, 0x00F0_0F0F, u64::MAX, 0x5555_5555] {
                let rows: Vec<usize> = (0..n.min(64)).filter(|&i| m >> i & 1 == 1).collect();
                let mut d = c.clone();
                d.compact(&rows);
                let want: Vec<u64> =
                    ids.iter().enumerate().filter(|(i, _)| rows.binary_search(i).is_err()).map(|(_, &x)| x).collect();
                check(&d, &want);
                if let Some(runs) = d.runs() {
                    let mut fresh = IdColumn::default();
                    for &x in &want {
                        fresh.push(x);
                    }
                    assert_eq!(Some(runs), fresh.runs(), "runs stay maximal");
                    assert!(rows.is_empty() || runs * 2 <= want.len(), "a compaction keeps runs only where smaller");
                }
                // And appends after a compaction.
                let top = want.last().map_or(0, |&l| l + 1);
                d.push(top + 3);
                d.push(top + 4);
                let mut w2 = want.clone();
                w2.extend([top + 3, top + 4]);
                check(&d, &w2);
            }
        }
        assert_eq!(IdColumn::dense(4).iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        // Ids with many gaps over a short span turn into a bitmap at a compaction, and back
        // into runs at one that leaves few gaps; over a long span, into a plain column.
        let ids: Vec<u64> = (0..10).chain((2..21).map(|i| i * 10)).collect();
        let mut c = IdColumn::default();
        for &x in &ids {
            c.push(x);
        }
        c.compact(&[28]);
        assert!(matches!(c.0, super::Ids::Bits(_)), "{c:?}");
        assert_eq!((c.runs(), c.find(190), c.find(200), c.last()), (None, Some(27), None, Some(190)));
        let mut sparse = IdColumn::default();
        for i in 0..30 {
            sparse.push(i * 1000);
        }
        sparse.compact(&[0]);
        assert!(matches!(sparse.0, super::Ids::Plain(_)), "{sparse:?}");
        assert_eq!((sparse.find(1000), sparse.find(29_000), sparse.get(3)), (Some(0), Some(28), 4000));
        c.push(1000);
        c.compact(&(10..28).collect::<Vec<_>>());
        assert_eq!(c.runs(), Some(2));
        assert_eq!(c.iter().collect::<Vec<_>>(), (0..10).chain([1000]).collect::<Vec<_>>());
        assert_eq!((c.find(1000), c.find(9), c.find(10)), (Some(10), Some(9), None));
    }
}
