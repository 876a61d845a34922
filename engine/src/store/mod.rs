//! The structure-of-arrays store: the node and edge tables, the id counters and the
//! compressed-row views of the topology.
//!
//! Architecture invariant: only the methods of [`Store`] (and a loaded checkpoint's tables)
//! change a table's length, and each changes every column of that table in one place
//! (`NodeTable::push`/`extend`/`extend_records`/`remove_sorted_with_parents`,
//! `EdgeTable::extend`/`remove_sorted_renumbering`/`from_build_columns`/`from_columns`).
//! Callers get slices; they can change values, never lengths.
//! Debug builds run [`Store::check_invariants`] after every mutation.

mod beside;
mod children;
mod col;
mod compact;
mod csr;
mod edges;
mod guess;
mod id_bits;
mod ids;
mod incident;
mod invariants;
mod nodes;
mod out_view;
mod prefetch;
mod renumber;
mod runs;
mod tombs;

pub use beside::Side;
pub use col::Col;
pub(crate) use compact::compact;
pub(crate) use csr::{grow, lay_out_groups, moved_capacity, with_room, AHEAD, ROOM};
pub use csr::{Csr, Topology};
use edges::renumber_col;
pub use edges::{direction_code, kind_code, EdgeRecord, EdgeTable};
pub(crate) use edges::{pack_kind_dir, param_of, BuildColumns, BuildColumnsMut};
pub(crate) use guess::{find_from_share, share};
pub use ids::{Direction, EdgeId, EdgeKind, Fertility, NodeId, NodeKind, Subtype, NO_CLASS, NO_PARENT};
pub use nodes::{NodeColumnsMut, NodeRecord, NodeTable};
pub use prefetch::prefetch;
pub(crate) use renumber::{group_batches, split_mut, Renumber};
pub use runs::Runs;
pub use tombs::{bit, ones, pack_bytes, set_bits};

/// Errors of store operations.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// An edge names a node that does not exist.
    #[error("edge {src} -> {dst}: node {missing} does not exist")]
    MissingNode {
        /// Source id.
        src: u64,
        /// Target id.
        dst: u64,
        /// The id that is missing.
        missing: u64,
    },
    /// An edge from a node to itself.
    #[error("edge {node} -> {node} is a self-loop")]
    SelfLoop {
        /// The node.
        node: u64,
    },
    /// A structural invariant of MODEL.md section 8 does not hold.
    #[error("store invariant broken: {0}")]
    Invariant(String),
}

/// The fewest edits in a batch for its parts on different tables to run on two threads
/// (a smaller batch runs them one after the other: the hand-off would cost more than it
/// saves).
pub(crate) const BESIDE_MIN: usize = 1024;

/// Versions are unique across every store of the process, so a cache keyed by a version
/// can never mistake one store (or a diverged clone) for another.
static NEXT_VERSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn fresh_version() -> u64 {
    NEXT_VERSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Nodes, edge rows and tombstones when the out-edge view was last complete.
pub(super) type OutBase = (usize, usize, usize);

/// The graph state: nodes, edges, id counters, and the cached topology.
#[derive(Debug)]
pub struct Store {
    nodes: NodeTable,
    edges: EdgeTable,
    next_node_id: u64,
    next_edge_id: u64,
    allow_duplicate_edges: bool,
    topology: Topology,
    out_valid: bool,
    in_valid: bool,
    /// Nodes, edge rows and tombstones when the out-edge view was last complete, while
    /// rows have only been appended or tombstoned since (so [`Csr::remove_rows`] and
    /// [`Csr::append`] bring it up to date).
    out_base: Option<OutBase>,
    /// The edge layout `out_base` is of: a compaction since is carried over
    /// ([`Csr::carry_over`]), where the view was complete just before it.
    out_layout: Option<u64>,
    version: u64,
    instance: u64,
    values_version: u64,
    /// Changes whenever edge rows move (compaction, node removal, a new edge table); rows
    /// only appended or tombstoned keep it.
    layout: u64,
    /// Tombstoned edge rows are compacted away once they exceed this fraction of the rows.
    max_tombstone_fraction: f64,
    /// The compaction that made the current layout, if one did.
    last_compaction: Option<std::sync::Arc<Compaction>>,
}

/// A compaction of edge rows: the edge layouts before and after, the number of rows before,
/// and the rows it removed (ascending). Every other row `r` moved to `r` less the removed
/// rows below it, in order; so per-row data can be carried over without matching ids.
/// A node removal makes one too (the incident edges and the tombstones removed), with
/// `removed_nodes`: the node rows moved as well, so per-edge data that depends only on the
/// edge and its endpoints' kinds carries over, and data grouped by node row only where the
/// groups of the removed rows are dropped too.
#[derive(Debug)]
pub struct Compaction {
    /// The node rows removed (ascending; each node row `r` kept moved to `r` less the
    /// removed ones below it), empty where only edge rows were.
    pub removed_nodes: Vec<usize>,
    /// Node rows before.
    pub nodes_before: usize,
    /// Where node rows were removed: the source row (before) of each removed edge row, in
    /// no particular order (an out-edge view carried over the removal compacts those
    /// groups); else empty.
    pub removed_sources: Vec<u32>,
    /// [`Store::edge_layout`] before and after.
    pub from: u64,
    /// See `from`.
    pub to: u64,
    /// Edge rows before.
    pub rows_before: usize,
    /// The rows removed, ascending.
    pub removed: Vec<u32>,
}

/// The default [`Store::set_max_tombstone_fraction`] (and of the configuration's
/// `run.max_tombstone_fraction`, which a simulation passes to its store). A compaction
/// moves every row after the first tombstone (about one pass over the edge table) and
/// renumbers every per-row array that follows the table; waiting until a quarter of the
/// rows are tombstoned spreads that over many removals (about 4 row moves per removed
/// edge), while the tombstoned rows cost memory and, in the CPU stepper's in-slot arrays, a
/// masked slot that the pull reads until its group fills. Measured on `churn-100k`
/// (docs/BENCHMARKS.md), a quarter runs 10% faster than a sixteenth over 1,000 steps; a
/// half gains little more for a higher peak.
pub const DEFAULT_MAX_TOMBSTONE_FRACTION: f64 = 1.0 / 4.0;

impl Clone for Store {
    fn clone(&self) -> Self {
        let layout = fresh_version();
        Self {
            nodes: self.nodes.clone(),
            edges: self.edges.clone(),
            next_node_id: self.next_node_id,
            next_edge_id: self.next_edge_id,
            allow_duplicate_edges: self.allow_duplicate_edges,
            topology: self.topology.clone(),
            out_valid: self.out_valid,
            in_valid: self.in_valid,
            out_base: self.out_base,
            out_layout: (self.out_layout == Some(self.layout)).then_some(layout),
            version: fresh_version(),
            instance: fresh_version(),
            values_version: fresh_version(),
            layout,
            max_tombstone_fraction: self.max_tombstone_fraction,
            last_compaction: None,
        }
    }
}

impl Store {
    /// An empty store.
    pub fn new(allow_duplicate_edges: bool) -> Self {
        Self::from_parts(NodeTable::default(), EdgeTable::default(), 0, 0, allow_duplicate_edges)
    }
    /// A store restored from its parts (checkpoints); the caller runs `check_invariants`.
    pub fn from_parts(
        nodes: NodeTable,
        edges: EdgeTable,
        next_node_id: u64,
        next_edge_id: u64,
        allow_duplicate_edges: bool,
    ) -> Self {
        Self {
            nodes,
            edges,
            next_node_id,
            next_edge_id,
            allow_duplicate_edges,
            topology: Topology::default(),
            out_valid: false,
            in_valid: false,
            out_base: None,
            out_layout: None,
            version: fresh_version(),
            instance: fresh_version(),
            values_version: fresh_version(),
            layout: fresh_version(),
            max_tombstone_fraction: DEFAULT_MAX_TOMBSTONE_FRACTION,
            last_compaction: None,
        }
    }
    /// An identity of this store's lineage: new for every store and every clone, so caches
    /// carried across versions never cross from one store to another.
    pub fn instance(&self) -> u64 {
        self.instance
    }
    /// The node table.
    pub fn nodes(&self) -> &NodeTable {
        &self.nodes
    }
    /// The edge table.
    pub fn edges(&self) -> &EdgeTable {
        &self.edges
    }
    /// Mutable node values (energies); lengths stay fixed.
    pub fn node_values_mut(&mut self) -> NodeColumnsMut<'_> {
        self.values_version = fresh_version();
        self.nodes.columns_mut()
    }
    /// [`Store::node_values_mut`], with the edge table meanwhile, to read and to write its
    /// weights (values only: no length changes). A caller that wrote weights calls
    /// [`Store::edge_weights_written`] after.
    pub(crate) fn node_values_mut_beside_edges(&mut self) -> (NodeColumnsMut<'_>, &mut EdgeTable) {
        self.values_version = fresh_version();
        (self.nodes.columns_mut(), &mut self.edges)
    }
    /// Edge weights were written through [`Store::node_values_mut_beside_edges`]: as after
    /// [`Store::edge_weights_mut`], the out-edge view stops holding side values.
    pub(crate) fn edge_weights_written(&mut self) {
        self.topology.out.drop_side();
    }
    /// A number that changes (to one never used before, by any store) whenever the node
    /// table may have changed: values handed out for writing, nodes added or removed. Edge
    /// edits leave it alone. Lets a reader reuse a sum over the node values.
    pub fn node_values_version(&self) -> u64 {
        self.values_version
    }
    /// Mutable edge weights; lengths stay fixed. The out-edge view stops holding side values
    /// (a stepper's factors of the weights; [`Csr::hold_side`]).
    pub fn edge_weights_mut(&mut self) -> &mut [f32] {
        self.topology.out.drop_side();
        self.edges.weights_mut()
    }
    /// The next node id to be assigned.
    pub fn next_node_id(&self) -> u64 {
        self.next_node_id
    }
    /// The next edge id to be assigned.
    pub fn next_edge_id(&self) -> u64 {
        self.next_edge_id
    }
    /// Whether duplicate edges are allowed.
    pub fn allow_duplicate_edges(&self) -> bool {
        self.allow_duplicate_edges
    }
    /// A value that changes whenever the topology (or node rows) change; unique across stores.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// A value that changes (to one never used before) whenever edge rows move; while it
    /// stays, edges are only appended and tombstoned ([`EdgeTable::tombstoned_rows`] grows
    /// at its end), so per-row data can be carried over without matching ids.
    pub fn edge_layout(&self) -> u64 {
        self.layout
    }
    /// Compact tombstoned edge rows once they exceed `fraction` of the rows (0: at every
    /// removal, the layout before tombstones; 1: only with node removals or
    /// [`Store::compact_edges`]). Results never depend on it; only speed does.
    pub fn set_max_tombstone_fraction(&mut self, fraction: f64) {
        self.max_tombstone_fraction = fraction;
        self.compact_if_due();
    }
    /// Remove every tombstoned edge row now (rows after the first tombstone move).
    pub fn compact_edges(&mut self) {
        let rows_before = self.edges.rows();
        if let Some(removed) = self.edges.compact_tombstones() {
            let from = self.layout;
            self.layout = fresh_version();
            let removed = removed.iter().map(|&r| r as u32).collect();
            self.last_compaction = Some(std::sync::Arc::new(Compaction {
                removed_nodes: Vec::new(),
                nodes_before: self.nodes.len(),
                removed_sources: Vec::new(),
                from,
                to: self.layout,
                rows_before,
                removed,
            }));
            // The out-edge view is carried over at its next refresh.
            self.touched();
            self.debug_check();
        }
    }
    /// The compaction that made the current edge layout, if one did (see [`Compaction`]).
    pub fn last_compaction(&self) -> Option<&Compaction> {
        self.last_compaction.as_deref().filter(|c| c.to == self.layout)
    }
    fn compact_if_due(&mut self) {
        let t = self.edges.tombstones();
        if t > 0 && t as f64 > self.max_tombstone_fraction * self.edges.rows() as f64 {
            self.compact_edges();
        }
    }
    /// This store without tombstoned edge rows: itself when it has none, else a compacted
    /// copy (for readers that walk every row: the hash, checkpoints, graph files).
    pub fn compacted(&self) -> std::borrow::Cow<'_, Store> {
        if self.edges.tombstones() == 0 {
            std::borrow::Cow::Borrowed(self)
        } else {
            let mut c = self.clone();
            c.compact_edges();
            std::borrow::Cow::Owned(c)
        }
    }
    /// Bytes allocated for the state: `(node table, edge table, compressed-row views)`, by
    /// capacity (what the process holds for them, whether used or not).
    pub fn resident_bytes(&self) -> (usize, usize, usize) {
        let t = &self.topology;
        (self.nodes.resident_bytes(), self.edges.resident_bytes(), t.out.resident_bytes() + t.inc.resident_bytes())
    }
    /// Reserve room for more rows.
    pub fn reserve(&mut self, nodes: usize, edges: usize) {
        self.nodes.reserve(nodes);
        self.edges.reserve(edges);
    }

    fn touched(&mut self) {
        self.out_valid = false;
        self.in_valid = false;
        self.version = fresh_version();
    }

    /// Append a node; its `id` field is ignored and the next id is assigned and returned.
    pub fn add_node(&mut self, mut rec: NodeRecord) -> NodeId {
        rec.id = NodeId(self.next_node_id);
        self.next_node_id += 1;
        self.nodes.push(&rec);
        self.touched();
        self.values_version = fresh_version();
        self.debug_check();
        rec.id
    }

    /// Append nodes in order with consecutive fresh ids (their `id` fields are ignored);
    /// returns the first id assigned.
    pub fn add_nodes(&mut self, recs: &[NodeRecord]) -> NodeId {
        let first = NodeId(self.next_node_id);
        self.nodes.extend(recs, first.0);
        self.next_node_id += recs.len() as u64;
        if !recs.is_empty() {
            self.touched();
            self.values_version = fresh_version();
            self.debug_check();
        }
        first
    }

    /// Append edges in order; their `id` fields are ignored and fresh ids assigned.
    /// Endpoints must be live and distinct; the caller has applied the model's admission rules.
    pub fn add_edges(&mut self, recs: &[EdgeRecord]) -> Result<Vec<EdgeId>, StoreError> {
        let mut rows = Vec::with_capacity(recs.len());
        for r in recs {
            if r.src == r.dst {
                return Err(StoreError::SelfLoop { node: r.src.0 });
            }
            let missing = |id: NodeId| StoreError::MissingNode { src: r.src.0, dst: r.dst.0, missing: id.0 };
            let s = self.nodes.row_of(r.src).ok_or_else(|| missing(r.src))?;
            let d = self.nodes.row_of(r.dst).ok_or_else(|| missing(r.dst))?;
            rows.push((s as u32, d as u32));
        }
        Ok(self.add_edges_at_rows(recs, &rows))
    }

    /// [`Store::add_edges`] for a caller that has found the endpoints' rows (`rows[i]` for
    /// `recs[i]`: live, distinct, those of `recs[i].src` and `recs[i].dst`; checked in debug
    /// builds).
    pub(crate) fn add_edges_at_rows(&mut self, recs: &[EdgeRecord], rows: &[(u32, u32)]) -> Vec<EdgeId> {
        debug_assert!(
            recs.len() == rows.len()
                && recs.iter().zip(rows).all(|(r, &(s, d))| {
                    s != d
                        && self.nodes.row_of(r.src) == Some(s as usize)
                        && self.nodes.row_of(r.dst) == Some(d as usize)
                }),
            "endpoint rows should be those of the records' live, distinct endpoints"
        );
        let first = self.next_edge_id;
        self.next_edge_id += recs.len() as u64;
        self.edges.extend(recs, rows, first);
        let ids = (first..self.next_edge_id).map(EdgeId).collect();
        if !recs.is_empty() {
            self.touched();
            self.debug_check();
        }
        ids
    }

    /// Set the edges of a fresh build from whole columns (ids `0..n`): the store has nodes
    /// whose ids equal their rows and no edges yet; endpoints are live and distinct and the
    /// caller has applied the model's rules.
    pub(crate) fn set_build_edges(&mut self, cols: BuildColumns) {
        assert!(self.edges.is_empty(), "build edges go into an empty edge table");
        debug_assert_eq!(self.next_node_id, self.nodes.len() as u64, "ids are rows only in a fresh build");
        self.edges = EdgeTable::from_build_columns(cols);
        self.next_edge_id = self.edges.rows() as u64;
        self.out_base = None;
        self.layout = fresh_version();
        self.touched();
        self.debug_check();
    }

    /// Remove the live edges at the given rows (any order, duplicates allowed): tombstoned,
    /// and compacted away with the others once they are too many (see
    /// [`Store::set_max_tombstone_fraction`]).
    pub fn remove_edge_rows(&mut self, rows: &[usize]) {
        self.remove_edge_rows_beside(rows, |_| ());
    }

    /// [`Store::remove_edge_rows`], with `beside` given the node table meanwhile: on another
    /// thread where at least [`BESIDE_MIN`] rows are removed (tombstoning them writes only
    /// the edge table's tombstones), else after. The compaction that may follow comes after
    /// both.
    pub(crate) fn remove_edge_rows_beside<R: Send>(
        &mut self,
        rows: &[usize],
        beside: impl FnOnce(&NodeTable) -> R + Send,
    ) -> R {
        if rows.is_empty() {
            return beside(&self.nodes);
        }
        let mut rows = rows.to_vec();
        rows.sort_unstable();
        rows.dedup();
        debug_assert!(rows.iter().all(|&r| r < self.edges.rows() && self.edges.is_live(r)), "removing a dead row");
        let (nodes, edges) = (&self.nodes, &mut self.edges);
        let r = if rows.len() >= BESIDE_MIN {
            crate::join::join_busy(|| edges.tombstone(&rows), || beside(nodes)).1
        } else {
            edges.tombstone(&rows);
            beside(nodes)
        };
        self.touched();
        self.compact_if_due();
        self.debug_check();
        r
    }

    /// Remove the nodes at the given rows (any order, duplicates allowed) with all their in-
    /// and out-edges; children of a removed node get `parent = None`. Returns the number of
    /// edges removed.
    pub fn remove_node_rows(&mut self, rows: &[usize]) -> usize {
        self.remove_node_rows_noting(rows, None)
    }

    /// [`Store::remove_node_rows`], noting in `lost_from` (where given) the source row, before
    /// the removal, of every live edge removed (one entry per edge; those of removed sources
    /// too).
    pub(crate) fn remove_node_rows_noting(&mut self, rows: &[usize], lost_from: Option<&mut Vec<u32>>) -> usize {
        if rows.is_empty() {
            return 0;
        }
        let mut rows = rows.to_vec();
        rows.sort_unstable();
        rows.dedup();
        // The incident edges beside the renumbering of the node rows: where the views do not
        // list them, the edge rows are scanned, the last third of them on the other thread
        // after the renumbering.
        let n = self.nodes.len();
        let by_views = self.views_list_incident();
        let (dead, split) = if by_views {
            (Vec::new(), self.edges.rows())
        } else {
            (incident::dead_rows(n, &rows), incident::scan_split(self.edges.rows()))
        };
        let (first, (new_row, rest)) = crate::join::join_busy(
            || if by_views { self.incident_by_views(&rows) } else { self.incident_in(&dead, 0..split) },
            || {
                let new_row = renumbering(n, rows.iter().copied());
                (new_row, self.incident_in(&dead, split..self.edges.rows()))
            },
        );
        let mut dead_edges = first;
        dead_edges.extend(rest);
        // The sources of every row the compaction removes: the dead edges (those are what
        // `lost_from` notes), then the tombstones.
        let src = self.edges.src_rows();
        let removed_sources: Vec<u32> = dead_edges
            .iter()
            .copied()
            .chain(self.edges.tombstoned_rows().iter().map(|&r| r as usize))
            .map(|e| src[e])
            .collect();
        if let Some(lost) = lost_from {
            lost.extend_from_slice(&removed_sources[..dead_edges.len()]);
        }
        let (nodes, edges) = (&mut self.nodes, &mut self.edges);
        let rows_before = edges.rows();
        let (removed, ()) = crate::join::join_busy(
            || {
                // The endpoint rows renumbered as they move.
                edges.remove_sorted_renumbering(&dead_edges, &new_row)
            },
            // The children of removed nodes lose their parent, then the rows move.
            || nodes.remove_sorted_with_parents(&rows),
        );
        // (The out-edge view's base stays: the view can be carried over this compaction.)
        let from = self.layout;
        self.layout = fresh_version();
        self.last_compaction = Some(std::sync::Arc::new(Compaction {
            removed_nodes: rows,
            nodes_before: n,
            removed_sources,
            from,
            to: self.layout,
            rows_before,
            removed: removed.iter().map(|&r| r as u32).collect(),
        }));
        self.touched();
        self.values_version = fresh_version();
        self.debug_check();
        dead_edges.len()
    }

    /// Whether the out-edge view holds each edge's target beside it once it follows a
    /// changing store (see [`Csr::set_targets`]).
    pub fn set_out_edge_targets(&mut self, held: bool) {
        self.topology.out.set_targets(held);
    }

    /// Rebuild both compressed-row views if the topology changed since their last rebuild
    /// (the two in parallel).
    pub fn refresh_topology(&mut self) {
        let (n, e, t) = (self.nodes.len(), self.edges.rows(), self.edges.tombstones());
        let (out_valid, in_valid, (out_base, carry)) = (self.out_valid, self.in_valid, self.out_start());
        let Topology { out, inc } = &mut self.topology;
        let (src, dst, dead) = (self.edges.src_rows(), self.edges.dst_rows(), self.edges.tombstone_bits());
        let tombs = self.edges.tombstoned_rows();
        rayon::join(
            || {
                if !out_valid {
                    out_view::refresh_out(out, out_base, carry.as_deref(), n, (src, dst), (dead, tombs), (None, None));
                }
            },
            || {
                if !in_valid {
                    inc.rebuild_live(n, dst, dead);
                }
            },
        );
        self.out_valid = true;
        self.in_valid = true;
        self.out_base = Some((n, e, t));
        self.out_layout = Some(self.layout);
    }

    /// Bring the out-edge view up to date (the in-edge view may stay stale): by appending
    /// where only nodes and edges were added since it was complete, else by a rebuild.
    pub fn refresh_out_edges(&mut self) {
        if !self.out_valid {
            let mut out = std::mem::take(&mut self.topology.out);
            self.patch_out(&mut out, None, None);
            self.set_out_edges(out);
        }
    }

    /// [`Store::refresh_out_edges`], with `beside` run on another thread meanwhile: it reads
    /// the store, whose out-edge view it must not read (the view is being brought up to
    /// date; reading it panics in debug builds). With `side` (per edge row, for every row of
    /// the table), a view that follows a changing store holds those values beside its
    /// items from now on ([`Csr::hold_side`]); without, it holds none once edges are added.
    pub fn refresh_out_edges_beside<R: Send>(
        &mut self,
        side: Option<Side<'_>>,
        beside: impl FnOnce(&Store) -> R + Send,
    ) -> R {
        if self.out_valid {
            if let Some(side) = side {
                self.topology.out.hold_side(side);
            }
            return beside(self);
        }
        let mut out = std::mem::take(&mut self.topology.out);
        let me: &Store = self;
        let r = crate::join::join_busy(|| me.patch_out(&mut out, side, None), || beside(me)).1;
        self.set_out_edges(out);
        r
    }

    /// Bring the out-edge view up to date for edits that come at once (spawn's children's
    /// edges), with `beside` run on another thread meanwhile: it reads the store, but not
    /// its out-edge view (reading it panics in debug builds). Carried over the node removal
    /// that made the current layout (and patched) where it can be, which leaves it fresh
    /// ([`Csr::is_fresh`]); else rebuilt with its bounds spelt out
    /// ([`Csr::build_live_to_edit`]) in the buffers of the one it had. `out_degree` holds
    /// each node row's live out-edges.
    pub(crate) fn refresh_out_edges_to_edit_beside<R: Send>(
        &mut self,
        out_degree: &[u32],
        beside: impl FnOnce(&Store) -> R + Send,
    ) -> R {
        if self.out_valid {
            return beside(self);
        }
        let mut out = std::mem::take(&mut self.topology.out);
        let me: &Store = self;
        let r = crate::join::join_busy(|| me.patch_out(&mut out, None, Some(out_degree)), || beside(me)).1;
        self.set_out_edges(out);
        r
    }

    /// Bring `out` (the out-edge view as last complete) up to date with the tables; where it
    /// must be rebuilt, to edit from the out-degrees `to_edit` where given.
    fn patch_out(&self, out: &mut Csr, side: Option<Side<'_>>, to_edit: Option<&[u32]>) {
        let e = &self.edges;
        let rows = (e.src_rows(), e.dst_rows());
        let (base, carry) = self.out_start();
        let (n, dead, tombs) = (self.nodes.len(), e.tombstone_bits(), e.tombstoned_rows());
        out_view::refresh_out(out, base, carry.as_deref(), n, rows, (dead, tombs), (side, to_edit));
    }

    /// Where the out-edge view's refresh starts: its base where it is of the current edge
    /// layout (patched), or with the compaction that made this layout from its own (carried
    /// over), else none (rebuilt).
    fn out_start(&self) -> (Option<OutBase>, Option<std::sync::Arc<Compaction>>) {
        if self.out_layout == Some(self.layout) {
            return (self.out_base, None);
        }
        let c = self.last_compaction.as_ref().filter(|c| c.to == self.layout);
        match c.filter(|c| Some(c.from) == self.out_layout) {
            Some(c) => (self.out_base, Some(c.clone())),
            None => (None, None),
        }
    }

    /// Take `out`, complete for the current tables, as the out-edge view.
    fn set_out_edges(&mut self, out: Csr) {
        self.topology.out = out;
        self.out_valid = true;
        self.out_base = Some((self.nodes.len(), self.edges.rows(), self.edges.tombstones()));
        self.out_layout = Some(self.layout);
        self.debug_check();
    }

    /// The compressed-row views; call [`Store::refresh_topology`] after mutations first.
    pub fn topology(&self) -> &Topology {
        debug_assert!(self.out_valid && self.in_valid, "topology read before refresh_topology");
        &self.topology
    }

    /// The out-edge view; call [`Store::refresh_out_edges`] (or `refresh_topology`) first.
    pub fn out_edges(&self) -> &Csr {
        debug_assert!(self.out_valid, "out-edges read before refresh_out_edges");
        &self.topology.out
    }

    /// Whether the out-edge view matches the tables.
    pub fn out_edges_are_fresh(&self) -> bool {
        self.out_valid
    }

    /// Whether both cached views match the tables.
    pub fn topology_is_fresh(&self) -> bool {
        self.out_valid && self.in_valid
    }

    /// Test hooks to overwrite single values (state-hash tests).
    #[doc(hidden)]
    pub fn tables_mut_for_tests(&mut self) -> (&mut NodeTable, &mut EdgeTable) {
        self.out_base = None;
        self.touched();
        self.values_version = fresh_version();
        (&mut self.nodes, &mut self.edges)
    }

    fn debug_check(&self) {
        #[cfg(debug_assertions)]
        if let Err(e) = self.check_invariants() {
            panic!("{e}");
        }
    }
}

/// Per row of `n` (node rows, or edge rows), its row once the rows `removed` (ascending,
/// distinct, each below `n`) are removed: old row r moves to r - (removed rows below r); a
/// removed row maps to `u32::MAX`. Runs of kept rows filled as ranges.
pub(super) fn renumbering(n: usize, removed: impl IntoIterator<Item = usize>) -> Vec<u32> {
    let mut new_row = Vec::with_capacity(n);
    let mut k = 0u32;
    for r in removed {
        let from = new_row.len() as u32;
        new_row.extend((from..r as u32).map(|e| e - k));
        new_row.push(u32::MAX);
        k += 1;
    }
    let from = new_row.len() as u32;
    new_row.extend((from..n as u32).map(|e| e - k));
    new_row
}

#[cfg(test)]
mod tests {
    use super::{NodeId, NodeKind, NodeRecord, Store, NO_PARENT};

    /// A dynamic node with `parent`.
    fn child_of(parent: Option<u64>) -> NodeRecord {
        NodeRecord { parent: parent.map(NodeId), ..NodeRecord::dynamic_for_tests() }
    }

    /// The rows that hold every sensory node: the leading ones while they are laid out first,
    /// fewer after a removal among them, and none known once a sensory node follows another
    /// kind.
    #[test]
    fn the_sensory_rows_are_the_leading_ones_while_they_are_laid_out_first() {
        let of = |kind| NodeRecord { kind, ..child_of(None) };
        let (sens, dynamic) = (of(NodeKind::Sensory), of(NodeKind::Dynamic));
        let mut s = Store::new(false);
        assert_eq!(s.nodes().sensory_rows(), Some(0..0));
        s.add_nodes(&[sens, sens, sens, dynamic, dynamic]);
        assert_eq!(s.nodes().sensory_rows(), Some(0..3));
        s.remove_node_rows(&[1, 4]);
        assert_eq!(s.nodes().sensory_rows(), Some(0..2));
        s.add_nodes(&[dynamic]);
        assert_eq!(s.nodes().sensory_rows(), Some(0..2));
        s.add_nodes(&[sens]);
        assert_eq!(s.nodes().sensory_rows(), None, "a sensory node after a dynamic one");
    }

    /// A node removal clears the removed nodes' children's parents: those after the first
    /// removed row (spawned children, younger than their parents), and, once some node was
    /// given a parent younger than itself, those before it too.
    #[test]
    fn a_node_removal_clears_the_parents_that_died_before_and_after_the_first_removed_row() {
        // Ids 0 to 5: 2's parent is 0, 4's is 1, 5's is 3.
        let mut s = Store::new(false);
        let parents = [None, None, Some(0), None, Some(1), Some(3)];
        s.add_nodes(&parents.map(child_of));
        s.remove_node_rows(&[1, 3]);
        assert_eq!(s.nodes().ids(), &[0, 2, 4, 5]);
        assert_eq!(s.nodes().parents(), &[NO_PARENT, 0, NO_PARENT, NO_PARENT]);
        // Id 0's parent is 3, younger than itself (possible through the API, not by spawning).
        let mut s = Store::new(false);
        let parents = [Some(3), None, Some(0), None, Some(1)];
        s.add_nodes(&parents.map(child_of));
        s.remove_node_rows(&[3]);
        assert_eq!(s.nodes().ids(), &[0, 1, 2, 4]);
        assert_eq!(
            s.nodes().parents(),
            &[NO_PARENT, NO_PARENT, 0, 1],
            "the parent of a row before the first removed one"
        );
        s.check_invariants().expect("parents alive or none");
    }

    /// The parent pass of a removal starts at the first row that was ever given a parent
    /// where that comes after the first removed row: the rows before it have no parent to
    /// lose. Every child of a removed node still loses its parent, the first child too.
    #[test]
    fn a_node_removal_clears_every_child_from_the_first_one_given_a_parent() {
        // Ids 0 to 7: none of 0 to 4 has a parent; 5's and 7's is 1, 6's is 0.
        let mut s = Store::new(false);
        let parents = [None, None, None, None, None, Some(1), Some(0), Some(1)];
        s.add_nodes(&parents.map(child_of));
        s.remove_node_rows(&[0, 1]);
        assert_eq!(s.nodes().ids(), &[2, 3, 4, 5, 6, 7]);
        assert_eq!(s.nodes().parents(), &[NO_PARENT; 6]);
        // A later child of a surviving node keeps its parent; a removal before any child.
        s.add_nodes(&[NodeRecord { id: NodeId(8), ..child_of(Some(5)) }]);
        s.remove_node_rows(&[0]);
        assert_eq!(s.nodes().parents(), &[NO_PARENT, NO_PARENT, NO_PARENT, NO_PARENT, NO_PARENT, 5]);
        s.check_invariants().expect("parents alive or none");
    }
}
