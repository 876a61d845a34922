//! The edge table: one private column per field of MODEL.md 1.2, rows in ascending id order.
//! The endpoints are held as node rows, which the store keeps in step with the node table;
//! their ids are read through the node table ([`EdgeTable::src_ids`], [`EdgeTable::record`]),
//! so the table holds no copy of them.
//!
//! Only `EdgeTable::extend`, [`EdgeTable::remove_sorted_renumbering`] (and the compaction
//! of tombstones), and the constructors from whole columns (`from_build_columns`, a loaded
//! checkpoint's `from_columns`) change lengths, each touching every column in one place.

use super::col::Col;
use super::compact::compact;
use super::ids::{Direction, EdgeId, EdgeKind, NodeId};
use super::nodes::NodeTable;
use super::runs::{IdColumn, Runs};
use super::tombs::Tombs;

/// Everything stored for one edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeRecord {
    /// Stable identity.
    pub id: EdgeId,
    /// Source node.
    pub src: NodeId,
    /// Target node.
    pub dst: NodeId,
    /// Excitatory, Inhibitory, Gated or Plastic.
    pub kind: EdgeKind,
    /// Signed weight.
    pub weight: f32,
    /// OneWayOut, OneWayIn or FreeFlow.
    pub direction: Direction,
    /// Gate (energy units) for Gated edges; 0 otherwise (the table keeps it for Gated
    /// edges only: another kind's reads 0).
    pub gate: f32,
    /// Learning rate for Plastic edges; 0 otherwise (the table keeps it for Plastic edges
    /// only: another kind's reads 0).
    pub plastic_lr: f32,
    /// Step at which the edge was created.
    pub born_step: u64,
}

/// The drawn columns of a fresh build's edges (ids and birth steps follow); node ids equal
/// node rows in a fresh build, so the endpoints are written as rows.
#[derive(Debug, Default)]
pub(crate) struct BuildColumns {
    pub src: Vec<u32>,
    pub dst: Vec<u32>,
    /// Kind and direction codes, packed ([`pack_kind_dir`]).
    pub kind_dir: Vec<u8>,
    pub weight: Vec<f32>,
    /// The gate of a Gated edge, the learning rate of a Plastic one, 0 otherwise.
    pub param: Vec<f32>,
}

impl BuildColumns {
    /// `n` zeroed rows (zeroed allocations are lazily mapped pages: no up-front writes).
    pub fn zeroed(n: usize) -> Self {
        Self { src: vec![0; n], dst: vec![0; n], kind_dir: vec![0; n], weight: vec![0.0; n], param: vec![0.0; n] }
    }

    /// Mutable views of all columns.
    pub fn view(&mut self) -> BuildColumnsMut<'_> {
        BuildColumnsMut {
            src: &mut self.src,
            dst: &mut self.dst,
            kind_dir: &mut self.kind_dir,
            weight: &mut self.weight,
            param: &mut self.param,
        }
    }
}

/// Mutable slices of [`BuildColumns`], over some range of rows.
pub(crate) struct BuildColumnsMut<'a> {
    pub src: &'a mut [u32],
    pub dst: &'a mut [u32],
    pub kind_dir: &'a mut [u8],
    pub weight: &'a mut [f32],
    pub param: &'a mut [f32],
}

impl<'a> BuildColumnsMut<'a> {
    /// Rows `..n` and `n..`.
    pub fn split_at(self, n: usize) -> (BuildColumnsMut<'a>, BuildColumnsMut<'a>) {
        let (s0, s1) = self.src.split_at_mut(n);
        let (d0, d1) = self.dst.split_at_mut(n);
        let (k0, k1) = self.kind_dir.split_at_mut(n);
        let (w0, w1) = self.weight.split_at_mut(n);
        let (p0, p1) = self.param.split_at_mut(n);
        (
            BuildColumnsMut { src: s0, dst: d0, kind_dir: k0, weight: w0, param: p0 },
            BuildColumnsMut { src: s1, dst: d1, kind_dir: k1, weight: w1, param: p1 },
        )
    }

    /// Write one edge's drawn fields at row `i` (its endpoint ids are their rows).
    #[inline]
    pub fn set(&mut self, i: usize, r: &EdgeRecord) {
        debug_assert!(r.src.0 <= u64::from(u32::MAX) && r.dst.0 <= u64::from(u32::MAX), "node rows are u32");
        self.src[i] = r.src.0 as u32;
        self.dst[i] = r.dst.0 as u32;
        self.kind_dir[i] = pack_kind_dir(r.kind, r.direction);
        self.weight[i] = r.weight;
        self.param[i] = kind_param(r);
    }

    /// Split into consecutive groups of `size` rows, in parallel order.
    pub fn par_groups(self, size: usize) -> impl rayon::iter::IndexedParallelIterator<Item = BuildColumnsMut<'a>> {
        use rayon::prelude::*;
        self.src
            .par_chunks_mut(size)
            .zip(self.dst.par_chunks_mut(size))
            .zip(self.kind_dir.par_chunks_mut(size))
            .zip(self.weight.par_chunks_mut(size))
            .zip(self.param.par_chunks_mut(size))
            .map(|((((src, dst), kind_dir), weight), param)| BuildColumnsMut { src, dst, kind_dir, weight, param })
    }
}

/// The bits of a packed kind-and-direction byte that hold the kind code.
const KIND_BITS: u8 = 0b11;

/// A kind and a direction in one byte (kind codes 0-3, direction codes 0-2).
pub(crate) fn pack_kind_dir(kind: EdgeKind, direction: Direction) -> u8 {
    kind.code() | direction.code() << 2
}

/// The kind code of a packed kind-and-direction byte ([`EdgeTable::kind_dirs`]).
#[inline(always)]
pub fn kind_code(b: u8) -> u8 {
    b & KIND_BITS
}

/// The direction code of a packed kind-and-direction byte ([`EdgeTable::kind_dirs`]).
#[inline(always)]
pub fn direction_code(b: u8) -> u8 {
    b >> 2
}

/// What the table keeps of `r`'s gate and learning rate: the one its kind has.
fn kind_param(r: &EdgeRecord) -> f32 {
    param_of(r.kind, r.gate, r.plastic_lr)
}

/// What the table keeps of an edge's gate and learning rate (its `param` column): the gate
/// of a Gated edge, the learning rate of a Plastic one, 0 for the others.
pub(crate) fn param_of(kind: EdgeKind, gate: f32, plastic_lr: f32) -> f32 {
    match kind {
        EdgeKind::Gated => gate,
        EdgeKind::Plastic => plastic_lr,
        EdgeKind::Excitatory | EdgeKind::Inhibitory => 0.0,
    }
}

crate::rng::vector_forms!(renumber_fast, renumber, renumber_avx512, renumber_avx2,
    (col: &mut [u32], new_row: &[u32]) -> ());

/// Each node row of `col` replaced by its new row (`new_row`; a row past its end, which a
/// live edge never holds, by `u32::MAX`): a loop without branches, which the compiled forms
/// vectorise with gathers.
#[inline(always)]
fn renumber(col: &mut [u32], new_row: &[u32]) {
    for r in col.iter_mut() {
        *r = super::compact::new_row_of(new_row, *r);
    }
}

/// Each row of `col` replaced by its new row (`new_row`; a row past its end by `u32::MAX`),
/// in the compiled form the processor runs ([`renumber`]).
pub(crate) fn renumber_col(col: &mut [u32], new_row: &[u32]) {
    renumber_fast(col, new_row);
}

/// Rows up to which a compaction that renumbers the endpoint rows writes each endpoint
/// column into a new vector (128 KB: beyond, a new vector can be fresh pages).
const FRESH_COMPACTION_ROWS: usize = 1 << 15;

/// Rows from which a compaction moves the edge columns in parallel.
const PARALLEL_COMPACTION_ROWS: usize = 1 << 18;

/// Structure-of-arrays edge storage.
#[derive(Debug, Clone, Default)]
pub struct EdgeTable {
    /// Edge ids, ascending: runs of consecutive ids, a plain column or a bitmap.
    id: IdColumn,
    src_row: Col<u32>,
    dst_row: Col<u32>,
    /// Kind code (bits 0-1) and direction code (bits 2-3) in one byte.
    kind_dir: Col<u8>,
    weight: Col<f32>,
    /// The gate of a Gated edge, the learning rate of a Plastic one, 0 for the others (one
    /// column: an edge has at most one of them).
    param: Col<f32>,
    /// Birth steps, as runs (edges are appended as they are born, so it rarely changes).
    born_step: Runs<u64>,
    /// Rows removed but not yet compacted away.
    tombs: Tombs,
}

impl EdgeTable {
    /// Number of rows, live or tombstoned (the length of every column).
    pub fn rows(&self) -> usize {
        self.id.len()
    }
    /// Number of live edges.
    pub fn count(&self) -> usize {
        self.id.len() - self.tombs.len()
    }
    /// Whether there are no live edges.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
    /// Whether row `r` holds a live edge (not tombstoned).
    #[inline]
    pub fn is_live(&self, r: usize) -> bool {
        !self.tombs.contains(r)
    }
    /// Number of tombstoned rows.
    pub fn tombstones(&self) -> usize {
        self.tombs.len()
    }
    /// The tombstoned rows in the order they were removed; a reader that saw the first `k`
    /// (with no compaction since) needs only the rest.
    pub fn tombstoned_rows(&self) -> &[u32] {
        self.tombs.rows()
    }
    /// The tombstones as bit words (bit `r % 64` of word `r / 64`; rows past the end are
    /// live), for tests in row loops with [`super::tombs::bit`].
    pub fn tombstone_bits(&self) -> &[u64] {
        self.tombs.bits()
    }
    /// Tombstone the live rows `rows` (distinct).
    pub(crate) fn tombstone(&mut self, rows: &[usize]) {
        self.tombs.add(rows);
    }
    /// Remove every tombstoned row, keeping the order of the rest; the rows removed
    /// (ascending), or `None` where there were none.
    pub(crate) fn compact_tombstones(&mut self) -> Option<Vec<usize>> {
        if self.tombs.len() == 0 {
            return None;
        }
        let rows = self.tombs.take_sorted();
        self.compact_rows(&rows, None);
        Some(rows)
    }
    fn reserve_exact(&mut self, n: usize) {
        self.src_row.reserve_exact(n);
        self.dst_row.reserve_exact(n);
        self.kind_dir.reserve_exact(n);
        self.weight.reserve_exact(n);
        self.param.reserve_exact(n);
    }
    pub(crate) fn reserve(&mut self, n: usize) {
        self.src_row.reserve(n);
        self.dst_row.reserve(n);
        self.kind_dir.reserve(n);
        self.weight.reserve(n);
        self.param.reserve(n);
    }
    /// Append rows with their endpoint rows, the records' ids replaced by `first_id`,
    /// `first_id + 1`, ... (larger than every id held), one column at a time.
    pub(crate) fn extend(&mut self, recs: &[EdgeRecord], rows: &[(u32, u32)], first_id: u64) {
        debug_assert_eq!(recs.len(), rows.len(), "a pair of endpoint rows per record");
        let free = self.weight.capacity() - self.weight.len();
        if recs.len() > free {
            let more = (self.weight.len() / 8 + 1024).max(recs.len() - free);
            self.reserve_exact(more);
        }
        for (r, id) in recs.iter().zip(first_id..) {
            self.id.push(id);
            self.born_step.push(r.born_step);
        }
        self.src_row.extend(rows.iter().map(|&(s, _)| s));
        self.dst_row.extend(rows.iter().map(|&(_, d)| d));
        self.kind_dir.extend(recs.iter().map(|r| pack_kind_dir(r.kind, r.direction)));
        self.weight.extend(recs.iter().map(|r| r.weight));
        self.param.extend(recs.iter().map(kind_param));
    }
    /// A table of whole columns, one entry per row: ids ascending and distinct, endpoint
    /// rows, kinds and directions packed ([`pack_kind_dir`]), weights, and `param` as
    /// [`param_of`] makes it (a loaded checkpoint's; the columns are moved in, not pushed
    /// row by row).
    pub(crate) fn from_columns(
        ids: Vec<u64>,
        (src_row, dst_row): (Vec<u32>, Vec<u32>),
        kind_dir: Vec<u8>,
        (weight, param): (Vec<f32>, Vec<f32>),
        born_step: &[u64],
    ) -> Self {
        let n = ids.len();
        let same = [src_row.len(), dst_row.len(), kind_dir.len(), weight.len(), param.len(), born_step.len()];
        assert!(same.iter().all(|&l| l == n), "edge columns should have equal lengths");
        Self {
            id: IdColumn::from_ascending(ids),
            src_row: src_row.into(),
            dst_row: dst_row.into(),
            kind_dir: kind_dir.into(),
            weight: weight.into(),
            param: param.into(),
            born_step: Runs::from_values(born_step.iter().copied()),
            tombs: Tombs::default(),
        }
    }
    /// A table from whole columns of a fresh build (node ids equal node rows). All columns
    /// must have the same length.
    pub(crate) fn from_build_columns(cols: BuildColumns) -> Self {
        let n = cols.dst.len();
        let same = [cols.src.len(), cols.kind_dir.len(), cols.weight.len(), cols.param.len()];
        assert!(same.iter().all(|&l| l == n), "build columns should have equal lengths");
        Self {
            id: IdColumn::dense(n),
            src_row: cols.src.into(),
            dst_row: cols.dst.into(),
            kind_dir: cols.kind_dir.into(),
            weight: cols.weight.into(),
            param: cols.param.into(),
            born_step: Runs::filled(0, n),
            tombs: Tombs::default(),
        }
    }

    /// Remove the live rows listed in `rows` (ascending, distinct) and every tombstoned
    /// row from every column, keeping the order of the rest, every kept edge's endpoint rows
    /// then renumbered as `new_row` (old node row to new) says (a removal of node rows); every
    /// row removed, ascending.
    pub(crate) fn remove_sorted_renumbering(&mut self, rows: &[usize], new_row: &[u32]) -> Vec<usize> {
        // Live rows and tombstones are disjoint: together, sorted, every row to drop.
        let mut all = self.tombs.take_sorted();
        all.extend_from_slice(rows);
        all.sort_unstable();
        self.compact_rows(&all, Some(new_row));
        all
    }

    /// Remove the rows listed in `rows` (ascending, distinct) from every column, keeping
    /// the order of the rest: one `copy_within` per run of kept rows; the endpoint rows, where
    /// `new_row` renumbers them, renumbered after they moved ([`renumber`]).
    fn compact_rows(&mut self, rows: &[usize], new_row: Option<&[u32]>) {
        // The columns in parallel on a large table: each is a run of short moves (a removal
        // every few rows), which one thread does at a fraction of the memory bandwidth. A
        // small one (a graph whose nodes die every step compacts it every step) in order:
        // there the threads' fork and join cost more than they save.
        let Self { id, src_row, dst_row, kind_dir, weight, param, born_step, .. } = self;
        let ends = |col: &mut Col<u32>| match new_row {
            // A small column into a new vector, in one pass (`compact_renumbered`): 2-3 us a
            // column of `default.toml`'s 22,000 edges less than a compaction in place and a
            // renumbering after it (and no copy of a column a snapshot shares).
            Some(new_row) if col.len() <= FRESH_COMPACTION_ROWS => {
                *col = super::compact::compact_renumbered(col, col.capacity(), rows, new_row).into();
            }
            _ => {
                compact(col, rows);
                if let Some(new_row) = new_row {
                    renumber_fast(col, new_row);
                }
            }
        };
        if src_row.len() < PARALLEL_COMPACTION_ROWS {
            ends(src_row);
            ends(dst_row);
            compact(weight, rows);
            compact(param, rows);
            compact(kind_dir, rows);
            id.compact(rows);
            born_step.compact(rows);
            return;
        }
        // Every column its own task (the ids, whose runs fragment under churn, take the
        // longest), so that no chain of several columns on one thread sets the time.
        rayon::join(
            || rayon::join(|| ends(src_row), || ends(dst_row)),
            || {
                rayon::join(
                    || rayon::join(|| compact(weight, rows), || compact(param, rows)),
                    || {
                        rayon::join(
                            || id.compact(rows),
                            || {
                                compact(kind_dir, rows);
                                born_step.compact(rows);
                            },
                        )
                    },
                )
            },
        );
    }

    /// The rows of those of `ids` (ascending, distinct) that are alive, appended to `out`
    /// (ascending); each search gallops on from where the one before ended.
    pub fn rows_of_ascending(&self, ids: &[u64], out: &mut Vec<usize>) {
        let from = out.len();
        self.id.find_many(ids, out);
        let mut w = from;
        for i in from..out.len() {
            let r = out[i];
            out[w] = r;
            w += usize::from(self.is_live(r));
        }
        out.truncate(w);
    }
    /// The row of an edge id, if it is alive.
    pub fn row_of(&self, id: EdgeId) -> Option<usize> {
        self.id.find(id.0).filter(|&r| self.is_live(r))
    }
    /// The full record of one row; `nodes` is the node table of the same store (the
    /// endpoint ids are read there).
    pub fn record(&self, nodes: &NodeTable, row: usize) -> EdgeRecord {
        let ids = nodes.ids();
        EdgeRecord {
            id: EdgeId(self.id.get(row)),
            src: NodeId(ids[self.src_row[row] as usize]),
            dst: NodeId(ids[self.dst_row[row] as usize]),
            kind: self.kind_of(row),
            weight: self.weight[row],
            direction: self.direction_of(row),
            gate: self.gate(row),
            plastic_lr: self.plastic_lr(row),
            born_step: self.born_step.get(row),
        }
    }
    /// The kind of one row.
    pub fn kind_of(&self, row: usize) -> EdgeKind {
        EdgeKind::from_code(kind_code(self.kind_dir[row]))
            .expect("edge kind codes should only be written from EdgeKind")
    }
    /// The direction of one row.
    pub fn direction_of(&self, row: usize) -> Direction {
        Direction::from_code(direction_code(self.kind_dir[row]))
            .expect("direction codes should only be written from Direction")
    }
    /// Edge ids by row, ascending.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.id.iter()
    }
    /// The id of row `row`.
    pub fn id(&self, row: usize) -> u64 {
        self.id.get(row)
    }
    /// The largest id, if there are rows.
    pub fn last_id(&self) -> Option<u64> {
        self.id.last()
    }
    /// The number of runs of consecutive ids the id column holds (one per gap a removal
    /// left, plus one), or `None` where the gaps are so many that it holds a plain column or
    /// a bitmap instead.
    pub fn id_runs(&self) -> Option<usize> {
        self.id.runs()
    }
    /// Source node ids by row, read through `nodes` (the node table of the same store).
    pub fn src_ids<'a>(&'a self, nodes: &'a NodeTable) -> impl ExactSizeIterator<Item = u64> + 'a {
        let ids = nodes.ids();
        self.src_row.iter().map(move |&r| ids[r as usize])
    }
    /// Target node ids by row, read through `nodes` (the node table of the same store).
    pub fn dst_ids<'a>(&'a self, nodes: &'a NodeTable) -> impl ExactSizeIterator<Item = u64> + 'a {
        let ids = nodes.ids();
        self.dst_row.iter().map(move |&r| ids[r as usize])
    }
    /// Source node rows.
    pub fn src_rows(&self) -> &[u32] {
        &self.src_row
    }
    /// Target node rows.
    pub fn dst_rows(&self) -> &[u32] {
        &self.dst_row
    }
    /// Kind codes by row.
    pub fn kinds(&self) -> impl ExactSizeIterator<Item = u8> + '_ {
        self.kind_dir.iter().map(|&b| kind_code(b))
    }
    /// Kind and direction codes packed in one byte per row: the kind code in bits 0-1
    /// ([`kind_code`]), the direction code in bits 2-3 ([`direction_code`]).
    pub fn kind_dirs(&self) -> &[u8] {
        &self.kind_dir
    }
    /// Weights.
    pub fn weights(&self) -> &[f32] {
        &self.weight
    }
    /// Weights, mutable (values only).
    pub fn weights_mut(&mut self) -> &mut [f32] {
        &mut self.weight
    }
    /// Direction codes by row.
    pub fn directions(&self) -> impl ExactSizeIterator<Item = u8> + '_ {
        self.kind_dir.iter().map(|&b| direction_code(b))
    }
    /// Gates (energy units).
    pub fn gates(&self) -> impl ExactSizeIterator<Item = f32> + '_ {
        (0..self.rows()).map(|r| self.gate(r))
    }
    /// Learning rates.
    pub fn plastic_lrs(&self) -> impl ExactSizeIterator<Item = f32> + '_ {
        (0..self.rows()).map(|r| self.plastic_lr(r))
    }
    /// The gate of row `row` (0 unless it is Gated).
    #[inline]
    pub fn gate(&self, row: usize) -> f32 {
        self.param_if(row, EdgeKind::Gated)
    }
    /// The learning rate of row `row` (0 unless it is Plastic).
    #[inline]
    pub fn plastic_lr(&self, row: usize) -> f32 {
        self.param_if(row, EdgeKind::Plastic)
    }
    #[inline]
    fn param_if(&self, row: usize, kind: EdgeKind) -> f32 {
        if kind_code(self.kind_dir[row]) == kind.code() {
            self.param[row]
        } else {
            0.0
        }
    }
    /// Per row, the gate of a Gated edge, the learning rate of a Plastic one, 0 otherwise:
    /// for loops that read a gate only where the flags say Gated, or a learning rate only
    /// where they say Plastic.
    pub fn kind_params(&self) -> &[f32] {
        &self.param
    }
    /// Birth steps by row.
    pub fn born_steps(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.born_step.iter()
    }
    /// The birth step of row `row`.
    pub fn born_step(&self, row: usize) -> u64 {
        self.born_step.get(row)
    }
    /// Bytes allocated for all columns (by capacity).
    pub fn resident_bytes(&self) -> usize {
        self.id.resident_bytes()
            + self.src_row.resident_bytes()
            + self.dst_row.resident_bytes()
            + self.kind_dir.resident_bytes()
            + self.weight.resident_bytes()
            + self.param.resident_bytes()
            + self.born_step.resident_bytes()
            + self.tombs.resident_bytes()
    }
    pub(crate) fn column_lengths(&self) -> [usize; 7] {
        [
            self.id.len(),
            self.src_row.len(),
            self.dst_row.len(),
            self.kind_dir.len(),
            self.weight.len(),
            self.param.len(),
            self.born_step.len(),
        ]
    }
    /// Overwrite one value of one model column (tests of the state hash use this); each
    /// poke undoes itself when repeated. The endpoint ids (columns 1 and 2) are read through
    /// the rows, so either pokes the endpoints by swapping them.
    #[doc(hidden)]
    pub fn poke_column(&mut self, column: usize, row: usize) {
        match column {
            0 => self.id.poke(row),
            1 | 2 => std::mem::swap(&mut self.src_row[row], &mut self.dst_row[row]),
            3 => self.kind_dir[row] ^= 1,
            4 => self.weight[row] = f32::from_bits(self.weight[row].to_bits() ^ 1),
            5 => self.kind_dir[row] ^= 1 << 2,
            // The gate or the learning rate, whichever the row's kind has.
            6 | 7 => self.param[row] = f32::from_bits(self.param[row].to_bits() ^ 1),
            _ => self.born_step.set(row, self.born_step.get(row) ^ 1),
        }
    }
}

/// The index of `x` in the strictly ascending `ids`, if present. Edge and node ids are
/// nearly dense (assigned in order, with gaps where rows were removed), so a few interpolation steps
/// land next to the row where a binary search would miss the cache about 12 times on a
/// 10 M-row table; after four steps it finishes as a binary search.
pub(crate) fn find_ascending(ids: &[u64], x: u64) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, ids.len());
    for _ in 0..4 {
        if hi - lo <= 16 {
            break;
        }
        let (a, b) = (ids[lo], ids[hi - 1]);
        if x < a || x > b {
            return None;
        }
        // Where `x` would be if the ids between rows `lo` and `hi - 1` were evenly spread,
        // then a small window around it (widened until it holds `x`, else the side that does).
        let span = (b - a).max(1) as u128;
        let guess = lo + ((u128::from(x - a) * (hi - 1 - lo) as u128) / span) as usize;
        let w = 8usize;
        let (glo, ghi) = (guess.saturating_sub(w).max(lo), (guess + w + 1).min(hi));
        if ids[glo] <= x && x <= ids[ghi - 1] {
            (lo, hi) = (glo, ghi);
        } else if x < ids[glo] {
            hi = glo;
        } else {
            lo = ghi;
        }
    }
    ids[lo..hi].binary_search(&x).ok().map(|i| lo + i)
}

#[cfg(test)]
mod find_tests {
    use super::{find_ascending, renumber, renumber_avx2, renumber_avx512};

    #[test]
    fn renumbering_gives_each_row_its_new_row_in_every_form() {
        let new_row: Vec<u32> = (0..1000u32).map(|r| if r % 7 == 3 { u32::MAX } else { r - r / 7 }).collect();
        let col: Vec<u32> = (0..5000u32).map(|i| (i * 7919) % 1003).collect();
        let want: Vec<u32> = col.iter().map(|&r| new_row.get(r as usize).copied().unwrap_or(u32::MAX)).collect();
        let mut got = col.clone();
        renumber(&mut got, &new_row);
        assert_eq!(got, want, "portable");
        for form in crate::rng::forms_found() {
            let mut got = col.clone();
            #[allow(unsafe_code)]
            // SAFETY: each form is called only where its feature was detected.
            unsafe {
                if form == "avx2" {
                    renumber_avx2(&mut got, &new_row);
                } else {
                    renumber_avx512(&mut got, &new_row);
                }
            }
            assert_eq!(got, want, "{form}");
        }
    }

    #[test]
    fn finds_every_id_and_no_other() {
        // Dense, gapped, clustered and sparse id lists.
        let mut lists: Vec<Vec<u64>> = vec![(0..1000).collect(), (0..1000).filter(|x| x % 7 != 3).collect()];
        lists.push((0..500).chain(100_000..100_400).chain([u64::MAX / 2, u64::MAX - 1]).collect());
        lists.push((0..300u64).map(|i| i * i * i).collect());
        lists.push(vec![]);
        lists.push(vec![5]);
        for ids in &lists {
            for (i, &x) in ids.iter().enumerate() {
                assert_eq!(find_ascending(ids, x), Some(i), "id {x}");
            }
            for x in [0u64, 1, 4, 6, 999, 1000, 1001, 99_999, 100_400, u64::MAX] {
                assert_eq!(find_ascending(ids, x), ids.binary_search(&x).ok(), "id {x}");
            }
        }
    }
}

#[cfg(test)]
mod param_tests {
    use super::{EdgeRecord, EdgeTable};
    use crate::store::{Direction, EdgeId, EdgeKind, NodeId, NodeKind, NodeRecord, NodeTable};

    #[test]
    fn each_kind_keeps_only_its_own_gate_or_learning_rate() {
        let mut nodes = NodeTable::default();
        for id in 0..2 {
            nodes.push(&NodeRecord {
                id: NodeId(id),
                kind: NodeKind::Dynamic,
                energy: 1.0,
                subtype: 0,
                fertility: 0,
                growth_class: 0,
                gain_class: 0,
                max_out_degree: 4,
                parent: None,
                binding: 0,
                born_step: 0,
            });
        }
        let mut t = EdgeTable::default();
        for (i, &kind) in EdgeKind::ALL.iter().enumerate() {
            let rec = EdgeRecord {
                id: EdgeId(i as u64),
                src: NodeId(0),
                dst: NodeId(1),
                kind,
                weight: 0.5,
                direction: Direction::FreeFlow,
                gate: 0.25,
                plastic_lr: 0.125,
                born_step: 3,
            };
            t.extend(&[rec], &[(0, 1)], i as u64);
            let got = t.record(&nodes, i);
            let want =
                (if kind == EdgeKind::Gated { 0.25 } else { 0.0 }, if kind == EdgeKind::Plastic { 0.125 } else { 0.0 });
            assert_eq!((got.gate, got.plastic_lr), want, "{kind:?}");
            assert_eq!((got.src, got.dst, got.born_step, got.id), (NodeId(0), NodeId(1), 3, EdgeId(i as u64)));
        }
        assert_eq!(t.gates().collect::<Vec<_>>(), [0.0, 0.0, 0.25, 0.0]);
        assert_eq!(t.plastic_lrs().collect::<Vec<_>>(), [0.0, 0.0, 0.0, 0.125]);
    }
}
