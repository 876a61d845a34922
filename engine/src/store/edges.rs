//! The edge table: one private column per field of MODEL.md 1.2, rows in ascending id order,
//! plus two derived columns (the endpoint rows) that the store keeps in step with the node table.
//!
//! Only [`EdgeTable::push`], [`EdgeTable::extend_bulk`] and [`EdgeTable::remove_sorted`] change
//! lengths, each touching
//! every column in one place.

use super::csr::compact;
use super::ids::{Direction, EdgeId, EdgeKind, NodeId};

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
    /// Gate (energy units) for Gated edges; 0 otherwise.
    pub gate: f32,
    /// Learning rate for Plastic edges; 0 otherwise.
    pub plastic_lr: f32,
    /// Step at which the edge was created.
    pub born_step: u64,
}

/// Structure-of-arrays edge storage.
#[derive(Debug, Clone, Default)]
pub struct EdgeTable {
    id: Vec<u64>,
    src: Vec<u64>,
    dst: Vec<u64>,
    src_row: Vec<u32>,
    dst_row: Vec<u32>,
    kind: Vec<u8>,
    weight: Vec<f32>,
    direction: Vec<u8>,
    gate: Vec<f32>,
    plastic_lr: Vec<f32>,
    born_step: Vec<u64>,
}

impl EdgeTable {
    /// Number of live edges.
    pub fn len(&self) -> usize {
        self.id.len()
    }
    /// Whether there are no edges.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
    pub(crate) fn reserve(&mut self, n: usize) {
        self.id.reserve(n);
        self.src.reserve(n);
        self.dst.reserve(n);
        self.src_row.reserve(n);
        self.dst_row.reserve(n);
        self.kind.reserve(n);
        self.weight.reserve(n);
        self.direction.reserve(n);
        self.gate.reserve(n);
        self.plastic_lr.reserve(n);
        self.born_step.reserve(n);
    }
    /// Append a row with its endpoint rows; the caller guarantees the id is the largest.
    pub(crate) fn push(&mut self, r: &EdgeRecord, src_row: u32, dst_row: u32) {
        self.id.push(r.id.0);
        self.src.push(r.src.0);
        self.dst.push(r.dst.0);
        self.src_row.push(src_row);
        self.dst_row.push(dst_row);
        self.kind.push(r.kind.code());
        self.weight.push(r.weight);
        self.direction.push(r.direction.code());
        self.gate.push(r.gate);
        self.plastic_lr.push(r.plastic_lr);
        self.born_step.push(r.born_step);
    }
    /// Append `recs` in bulk with ids `first_id..`, the columns filled in parallel groups.
    /// `rows` gives the endpoint rows; `None` means the endpoint ids are their rows (a
    /// fresh build, where node ids start at 0 and none was removed).
    pub(crate) fn extend_bulk(&mut self, recs: &[EdgeRecord], rows: Option<&[(u32, u32)]>, first_id: u64) {
        let (id, src, dst, src_row, dst_row, kind, weight, direction, gate, plastic_lr, born_step) = (
            &mut self.id,
            &mut self.src,
            &mut self.dst,
            &mut self.src_row,
            &mut self.dst_row,
            &mut self.kind,
            &mut self.weight,
            &mut self.direction,
            &mut self.gate,
            &mut self.plastic_lr,
            &mut self.born_step,
        );
        let row = |i: usize, r: &EdgeRecord| rows.map_or((r.src.0 as u32, r.dst.0 as u32), |rw| rw[i]);
        rayon::join(
            || {
                rayon::join(
                    || {
                        id.extend((0..recs.len() as u64).map(|i| first_id + i));
                        src.extend(recs.iter().map(|r| r.src.0));
                        dst.extend(recs.iter().map(|r| r.dst.0));
                    },
                    || {
                        src_row.extend(recs.iter().enumerate().map(|(i, r)| row(i, r).0));
                        dst_row.extend(recs.iter().enumerate().map(|(i, r)| row(i, r).1));
                        born_step.extend(recs.iter().map(|r| r.born_step));
                    },
                )
            },
            || {
                rayon::join(
                    || {
                        kind.extend(recs.iter().map(|r| r.kind.code()));
                        weight.extend(recs.iter().map(|r| r.weight));
                        direction.extend(recs.iter().map(|r| r.direction.code()));
                    },
                    || {
                        gate.extend(recs.iter().map(|r| r.gate));
                        plastic_lr.extend(recs.iter().map(|r| r.plastic_lr));
                    },
                )
            },
        );
    }

    /// Remove the rows listed in `rows` (ascending, distinct) from every column, keeping
    /// the order of the rest: one `copy_within` per run of kept rows.
    pub(crate) fn remove_sorted(&mut self, rows: &[usize]) {
        compact(&mut self.id, rows);
        compact(&mut self.src, rows);
        compact(&mut self.dst, rows);
        compact(&mut self.src_row, rows);
        compact(&mut self.dst_row, rows);
        compact(&mut self.kind, rows);
        compact(&mut self.weight, rows);
        compact(&mut self.direction, rows);
        compact(&mut self.gate, rows);
        compact(&mut self.plastic_lr, rows);
        compact(&mut self.born_step, rows);
    }

    /// Rewrite the endpoint rows through `new_row` (old node row to new node row) after
    /// node rows were removed.
    pub(crate) fn remap_rows(&mut self, new_row: &[u32]) {
        for r in self.src_row.iter_mut().chain(self.dst_row.iter_mut()) {
            *r = new_row[*r as usize];
        }
    }
    /// The row of an edge id, if it is alive.
    pub fn row_of(&self, id: EdgeId) -> Option<usize> {
        self.id.binary_search(&id.0).ok()
    }
    /// The full record of one row.
    pub fn record(&self, row: usize) -> EdgeRecord {
        EdgeRecord {
            id: EdgeId(self.id[row]),
            src: NodeId(self.src[row]),
            dst: NodeId(self.dst[row]),
            kind: self.kind_of(row),
            weight: self.weight[row],
            direction: self.direction_of(row),
            gate: self.gate[row],
            plastic_lr: self.plastic_lr[row],
            born_step: self.born_step[row],
        }
    }
    /// The kind of one row.
    pub fn kind_of(&self, row: usize) -> EdgeKind {
        EdgeKind::from_code(self.kind[row]).expect("edge kind codes should only be written from EdgeKind")
    }
    /// The direction of one row.
    pub fn direction_of(&self, row: usize) -> Direction {
        Direction::from_code(self.direction[row]).expect("direction codes should only be written from Direction")
    }
    /// Edge ids, ascending.
    pub fn ids(&self) -> &[u64] {
        &self.id
    }
    /// Source node ids.
    pub fn src(&self) -> &[u64] {
        &self.src
    }
    /// Target node ids.
    pub fn dst(&self) -> &[u64] {
        &self.dst
    }
    /// Source node rows (derived).
    pub fn src_rows(&self) -> &[u32] {
        &self.src_row
    }
    /// Target node rows (derived).
    pub fn dst_rows(&self) -> &[u32] {
        &self.dst_row
    }
    /// Kind codes.
    pub fn kinds(&self) -> &[u8] {
        &self.kind
    }
    /// Weights.
    pub fn weights(&self) -> &[f32] {
        &self.weight
    }
    /// Weights, mutable (values only).
    pub fn weights_mut(&mut self) -> &mut [f32] {
        &mut self.weight
    }
    /// Direction codes.
    pub fn directions(&self) -> &[u8] {
        &self.direction
    }
    /// Gates (energy units).
    pub fn gates(&self) -> &[f32] {
        &self.gate
    }
    /// Learning rates.
    pub fn plastic_lrs(&self) -> &[f32] {
        &self.plastic_lr
    }
    /// Birth steps.
    pub fn born_steps(&self) -> &[u64] {
        &self.born_step
    }
    pub(crate) fn column_lengths(&self) -> [usize; 11] {
        [
            self.id.len(),
            self.src.len(),
            self.dst.len(),
            self.src_row.len(),
            self.dst_row.len(),
            self.kind.len(),
            self.weight.len(),
            self.direction.len(),
            self.gate.len(),
            self.plastic_lr.len(),
            self.born_step.len(),
        ]
    }
    /// Overwrite one value of one model column (tests of the state hash use this).
    #[doc(hidden)]
    pub fn poke_column(&mut self, column: usize, row: usize) {
        match column {
            0 => self.id[row] ^= 1 << 40,
            1 => self.src[row] ^= 1 << 40,
            2 => self.dst[row] ^= 1 << 40,
            3 => self.kind[row] ^= 0x80,
            4 => self.weight[row] = f32::from_bits(self.weight[row].to_bits() ^ 1),
            5 => self.direction[row] ^= 0x80,
            6 => self.gate[row] = f32::from_bits(self.gate[row].to_bits() ^ 1),
            7 => self.plastic_lr[row] = f32::from_bits(self.plastic_lr[row].to_bits() ^ 1),
            _ => self.born_step[row] ^= 1,
        }
    }
}
