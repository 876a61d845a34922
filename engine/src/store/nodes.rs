//! The node table: one private column per field of MODEL.md 1.1, rows in ascending id order.
//!
//! Only [`NodeTable::push`] and [`NodeTable::remove_sorted_with_parents`] change lengths,
//! and each touches every column in one place, so no column can have a length other than the
//! node count.

use super::children::Children;
use super::col::Col;
use super::compact::compact;
use super::ids::{NodeId, NodeKind, NO_PARENT};
use super::runs::Runs;

/// Everything stored for one node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeRecord {
    /// Stable identity.
    pub id: NodeId,
    /// Sensory, Dynamic or Workspace.
    pub kind: NodeKind,
    /// Current energy (energy units).
    pub energy: f32,
    /// Subtype code, `NO_CLASS` for non-dynamic nodes.
    pub subtype: u8,
    /// Fertility code (Normal for non-dynamic nodes).
    pub fertility: u8,
    /// Index into `growth_classes`, `NO_CLASS` for non-dynamic nodes.
    pub growth_class: u8,
    /// Index into `connection_gain_values`, `NO_CLASS` for non-dynamic nodes.
    pub gain_class: u8,
    /// Cap on out-edges.
    pub max_out_degree: u16,
    /// The node that spawned this one, if it is alive.
    pub parent: Option<NodeId>,
    /// Pixel or cell index `y * W + x` for sensory and workspace nodes; 0 for dynamic.
    pub binding: u32,
    /// Step at which the node was created.
    pub born_step: u64,
}

/// Structure-of-arrays node storage.
#[derive(Debug, Clone, Default)]
pub struct NodeTable {
    id: Col<u64>,
    kind: Col<u8>,
    energy: Col<f32>,
    subtype: Col<u8>,
    fertility: Col<u8>,
    growth_class: Col<u8>,
    gain_class: Col<u8>,
    max_out_degree: Col<u16>,
    parent: Col<u64>,
    binding: Col<u32>,
    /// Birth steps, as runs (nodes are appended as they are born).
    born_step: Runs<u64>,
    /// Each parent's children (what a removal clears the parent of).
    pub(super) children: Children,
    /// Rows `0..sensory_lead` are all sensory, and, unless `sensory_after`, no row after them
    /// is (the build adds the sensory nodes first, and they never die): what 5.2's input
    /// reads ([`NodeTable::sensory_rows`]).
    sensory_lead: usize,
    sensory_after: bool,
}

/// Mutable access to the value columns (never the lengths, never the ids).
pub struct NodeColumnsMut<'a> {
    /// Energies (energy units).
    pub energy: &'a mut [f32],
    /// Bindings (read-only).
    pub bindings: &'a [u32],
    /// Ids (read-only).
    pub ids: &'a [u64],
    /// Kind codes (read-only).
    pub kinds: &'a [u8],
    /// Gain-class codes (read-only).
    pub gain_classes: &'a [u8],
    /// Subtype codes (read-only).
    pub subtypes: &'a [u8],
}

#[cfg(test)]
impl NodeRecord {
    /// A dynamic node for the store's tests: energy 1, no parent, binding 0, room for 64
    /// out-edges (its id is assigned when it is added).
    pub(crate) fn dynamic_for_tests() -> Self {
        NodeRecord {
            id: NodeId(0),
            kind: NodeKind::Dynamic,
            energy: 1.0,
            subtype: Default::default(),
            fertility: Default::default(),
            growth_class: 0,
            gain_class: 0,
            max_out_degree: 64,
            parent: None,
            binding: 0,
            born_step: 0,
        }
    }
}

impl NodeTable {
    /// Number of live nodes.
    pub fn len(&self) -> usize {
        self.id.len()
    }
    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
    /// Reserve room for `n` more rows in every column.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.id.reserve(n);
        self.kind.reserve(n);
        self.energy.reserve(n);
        self.subtype.reserve(n);
        self.fertility.reserve(n);
        self.growth_class.reserve(n);
        self.gain_class.reserve(n);
        self.max_out_degree.reserve(n);
        self.parent.reserve(n);
        self.binding.reserve(n);
    }
    /// Append a row; the caller guarantees its id is larger than every stored id.
    pub(crate) fn push(&mut self, r: &NodeRecord) {
        self.append(std::slice::from_ref(r), std::iter::once(r.id.0));
    }
    /// Append rows in order with their own ids (ascending, each larger than every stored
    /// id): [`NodeTable::extend`] for rows whose ids are not consecutive (a loaded
    /// checkpoint's).
    pub(crate) fn extend_records(&mut self, recs: &[NodeRecord]) {
        self.append(recs, recs.iter().map(|r| r.id.0));
    }
    /// Append rows in order with the ids `first`, `first + 1`, ... (their `id` fields are
    /// ignored); the caller guarantees `first` is larger than every stored id. A column at a
    /// time: each column is taken for writing once (a reference count checked, `Col`), and
    /// its end written in one run (spawn's births: 5.5 us a step of `default.toml` row by row).
    pub(crate) fn extend(&mut self, recs: &[NodeRecord], first: u64) {
        self.append(recs, first..first + recs.len() as u64);
    }
    /// [`NodeTable::extend`] with the ids `ids` (one per record).
    fn append(&mut self, recs: &[NodeRecord], ids: impl Iterator<Item = u64>) {
        for (i, r) in recs.iter().enumerate() {
            if r.kind == NodeKind::Sensory {
                // Row `len + i`, the `i`-th of the new rows.
                if self.sensory_lead == self.id.len() + i {
                    self.sensory_lead += 1;
                } else {
                    self.sensory_after = true;
                }
            }
        }
        self.id.extend(ids);
        debug_assert_eq!(self.id.len(), self.kind.len() + recs.len(), "one id per record");
        self.kind.extend(recs.iter().map(|r| r.kind.code()));
        self.energy.extend(recs.iter().map(|r| r.energy));
        self.subtype.extend(recs.iter().map(|r| r.subtype));
        self.fertility.extend(recs.iter().map(|r| r.fertility));
        self.growth_class.extend(recs.iter().map(|r| r.growth_class));
        self.gain_class.extend(recs.iter().map(|r| r.gain_class));
        self.max_out_degree.extend(recs.iter().map(|r| r.max_out_degree));
        self.parent.extend(recs.iter().map(|r| r.parent.map_or(NO_PARENT, |p| p.0)));
        self.binding.extend(recs.iter().map(|r| r.binding));
        for r in recs {
            self.born_step.push(r.born_step);
        }
    }
    /// Remove the rows listed in `rows` (ascending, distinct) from every column, keeping
    /// the order of the rest (one `copy_within` per run of kept rows), after the removed
    /// nodes' children have lost their parent: found through the children's index (a few
    /// rows, and the rows added since the last removal taken into it), where a pass over
    /// every row's parent took 13 us a step of `default.toml`'s 9,600 rows with a parent.
    pub(crate) fn remove_sorted_with_parents(&mut self, rows: &[usize]) {
        for child in self.children.remove(rows, &self.id, &self.parent) {
            if let Some(r) = self.row_of(NodeId(child)) {
                self.parent[r] = NO_PARENT;
            }
        }
        compact(&mut self.id, rows);
        compact(&mut self.kind, rows);
        compact(&mut self.energy, rows);
        compact(&mut self.subtype, rows);
        compact(&mut self.fertility, rows);
        compact(&mut self.growth_class, rows);
        compact(&mut self.gain_class, rows);
        compact(&mut self.max_out_degree, rows);
        self.sensory_lead -= rows.partition_point(|&r| r < self.sensory_lead);
        compact(&mut self.parent, rows);
        compact(&mut self.binding, rows);
        self.born_step.compact(rows);
        // (Checked on small tables only: the check rebuilds the index.)
        debug_assert!(
            self.id.len() > 2048 || self.children.matches(&self.id, &self.parent),
            "the children's index after a removal"
        );
    }

    /// The row of a node id, if it is alive.
    pub fn row_of(&self, id: NodeId) -> Option<usize> {
        // Where no node below `id` has died its row is `id - ids[0]`: one read.
        let guess = self.guess_row(id);
        if self.id.get(guess) == Some(&id.0) {
            return Some(guess);
        }
        super::edges::find_ascending(&self.id, id.0)
    }
    /// [`NodeTable::row_of`] from a row `hint` that node `id` had at some earlier time (or
    /// any row at or above its own): the row is `hint` less the nodes below it that died since,
    /// so it is looked for there first and then in windows that double in size downward,
    /// a few lines near the hint where `row_of`'s search reads lines across the table.
    /// A hint below the row (not one the node had) falls back to `row_of`.
    pub fn row_near(&self, id: NodeId, hint: usize) -> Option<usize> {
        let ids = &self.id;
        let mut hi = hint.min(ids.len().checked_sub(1)?);
        match ids[hi].cmp(&id.0) {
            std::cmp::Ordering::Equal => return Some(hi),
            std::cmp::Ordering::Less => return self.row_of(id),
            std::cmp::Ordering::Greater => {}
        }
        // `ids[hi] > id` throughout: the row, if any, is below `hi`.
        let mut step = 1;
        loop {
            let lo = hi.saturating_sub(step);
            if ids[lo] <= id.0 {
                let k = lo + ids[lo..hi].partition_point(|&x| x < id.0);
                return (ids.get(k) == Some(&id.0)).then_some(k);
            }
            if lo == 0 {
                return None;
            }
            (hi, step) = (lo, step * 2);
        }
    }
    /// Ask the cache for what [`NodeTable::row_near`] reads first.
    #[inline]
    pub fn prefetch_row_near(&self, hint: usize) {
        super::prefetch(&self.id, hint.min(self.id.len().saturating_sub(1)));
    }
    /// The row node `id` has where no node below it has died (`id - ids[0]`; may be out of
    /// range, or another node's): what [`NodeTable::row_of`] tries first.
    #[inline]
    pub fn guess_row(&self, id: NodeId) -> usize {
        id.0.wrapping_sub(self.id.first().copied().unwrap_or(0)) as usize
    }
    /// Ask the cache for what [`NodeTable::row_of`] reads first (see [`super::prefetch()`]).
    #[inline]
    pub fn prefetch_row_of(&self, id: NodeId) {
        super::prefetch(&self.id, self.guess_row(id));
    }
    /// The full record of one row.
    pub fn record(&self, row: usize) -> NodeRecord {
        NodeRecord {
            id: NodeId(self.id[row]),
            kind: self.kind_of(row),
            energy: self.energy[row],
            subtype: self.subtype[row],
            fertility: self.fertility[row],
            growth_class: self.growth_class[row],
            gain_class: self.gain_class[row],
            max_out_degree: self.max_out_degree[row],
            parent: (self.parent[row] != NO_PARENT).then_some(NodeId(self.parent[row])),
            binding: self.binding[row],
            born_step: self.born_step.get(row),
        }
    }
    /// The kind of one row.
    pub fn kind_of(&self, row: usize) -> NodeKind {
        NodeKind::from_code(self.kind[row]).expect("node kind codes should only be written from NodeKind")
    }
    /// Node ids, ascending.
    pub fn ids(&self) -> &[u64] {
        &self.id
    }
    /// Rows that hold every sensory node, where they are the leading rows (as the build
    /// lays them out); `None` where a sensory node may lie after a node of another kind.
    pub fn sensory_rows(&self) -> Option<std::ops::Range<usize>> {
        (!self.sensory_after).then_some(0..self.sensory_lead)
    }
    /// Kind codes.
    pub fn kinds(&self) -> &[u8] {
        &self.kind
    }
    /// Energies (energy units).
    pub fn energy(&self) -> &[f32] {
        &self.energy
    }
    /// Subtype codes.
    pub fn subtypes(&self) -> &[u8] {
        &self.subtype
    }
    /// Fertility codes.
    pub fn fertility(&self) -> &[u8] {
        &self.fertility
    }
    /// Growth class indices.
    pub fn growth_classes(&self) -> &[u8] {
        &self.growth_class
    }
    /// Gain class indices.
    pub fn gain_classes(&self) -> &[u8] {
        &self.gain_class
    }
    /// Out-degree caps.
    pub fn max_out_degree(&self) -> &[u16] {
        &self.max_out_degree
    }
    /// Parent ids (`NO_PARENT` for none).
    pub fn parents(&self) -> &[u64] {
        &self.parent
    }
    /// Bindings.
    pub fn bindings(&self) -> &[u32] {
        &self.binding
    }
    /// Birth steps by row.
    pub fn born_steps(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.born_step.iter()
    }
    /// The birth step of row `row`.
    pub fn born_step(&self, row: usize) -> u64 {
        self.born_step.get(row)
    }
    /// Mutable value columns.
    pub fn columns_mut(&mut self) -> NodeColumnsMut<'_> {
        NodeColumnsMut {
            energy: &mut self.energy,
            bindings: &self.binding,
            ids: &self.id,
            kinds: &self.kind,
            gain_classes: &self.gain_class,
            subtypes: &self.subtype,
        }
    }
    /// Bytes allocated for all columns (by capacity).
    pub fn resident_bytes(&self) -> usize {
        self.id.resident_bytes()
            + self.kind.resident_bytes()
            + self.energy.resident_bytes()
            + self.subtype.resident_bytes()
            + self.fertility.resident_bytes()
            + self.growth_class.resident_bytes()
            + self.gain_class.resident_bytes()
            + self.max_out_degree.resident_bytes()
            + self.parent.resident_bytes()
            + self.binding.resident_bytes()
            + self.born_step.resident_bytes()
            + self.children.resident_bytes()
    }
    /// Lengths of every column, for the invariant check.
    pub(crate) fn column_lengths(&self) -> [usize; 11] {
        [
            self.id.len(),
            self.kind.len(),
            self.energy.len(),
            self.subtype.len(),
            self.fertility.len(),
            self.growth_class.len(),
            self.gain_class.len(),
            self.max_out_degree.len(),
            self.parent.len(),
            self.binding.len(),
            self.born_step.len(),
        ]
    }
    /// Overwrite one value of one column (tests of the state hash use this).
    #[doc(hidden)]
    pub fn poke_column(&mut self, column: usize, row: usize) {
        match column {
            0 => {
                self.id[row] ^= 1 << 40;
                self.children.forget();
            }
            1 => {
                self.kind[row] ^= 0x80;
                (self.sensory_lead, self.sensory_after) = (0, true);
            }
            2 => self.energy[row] = f32::from_bits(self.energy[row].to_bits() ^ 1),
            3 => self.subtype[row] ^= 0x40,
            4 => self.fertility[row] ^= 0x40,
            5 => self.growth_class[row] ^= 0x40,
            6 => self.gain_class[row] ^= 0x40,
            7 => self.max_out_degree[row] ^= 1,
            8 => {
                self.parent[row] ^= 1;
                self.children.forget();
            }
            9 => self.binding[row] ^= 1,
            _ => self.born_step.set(row, self.born_step.get(row) ^ 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NodeId, NodeRecord, Store};

    /// From every row a node had at some earlier time (and from any row above that), the
    /// search finds its row now, through rounds of deaths and births; a node that died is
    /// found nowhere; a hint below the row or past the table falls back to the full search.
    #[test]
    fn a_row_is_found_from_any_row_the_node_had() {
        let mut s = Store::new(false);
        for _ in 0..3000 {
            s.add_node(NodeRecord::dynamic_for_tests());
        }
        let mut next = crate::rng::test_words(11);
        let mut hints: Vec<(u64, usize)> = s.nodes().ids().iter().enumerate().map(|(r, &id)| (id, r)).collect();
        for round in 0..6 {
            // Deaths spread over the table, a run of them, then births at the end.
            let n = s.nodes().len();
            let mut dead: Vec<usize> = (0..n / 9).map(|_| (next() % n as u64) as usize).collect();
            dead.extend(n / 3..n / 3 + 40 * round);
            s.remove_node_rows(&dead);
            for _ in 0..150 {
                s.add_node(NodeRecord::dynamic_for_tests());
            }
            let nodes = s.nodes();
            for &(id, hint) in &hints {
                let now = nodes.row_of(NodeId(id));
                assert_eq!(nodes.row_near(NodeId(id), hint), now, "id {id} from row {hint}, round {round}");
                let above = hint + (next() % 5000) as usize;
                assert_eq!(nodes.row_near(NodeId(id), above), now, "id {id} from row {above}");
                if let Some(r) = now {
                    assert!(r <= hint, "a row never grows");
                    assert_eq!(nodes.row_near(NodeId(id), r.saturating_sub(3)), now, "from below");
                }
            }
            // Rows taken now serve as the next round's hints, with the newborn ones.
            hints =
                nodes.ids().iter().enumerate().map(|(r, &id)| (id, r)).chain(hints.into_iter().step_by(5)).collect();
        }
        assert_eq!(s.nodes().row_near(NodeId(u64::MAX), 10), None);
        assert_eq!(Store::new(false).nodes().row_near(NodeId(0), 0), None);
    }
}
