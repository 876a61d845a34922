//! The CPU stepper's derived per-edge data, kept in step with the store incrementally.
//!
//! - By edge row: the flag byte and the static factor `q_e = |w_e| * dst_scale(target)`.
//!   Both depend only on the edge and its endpoints' kinds, subtype and lineage, which never
//!   change while the edge lives (a plastic weight changes, and plasticity updates `q_e`
//!   itself). While the store's edge layout stays, rows are only appended (new entries) or
//!   tombstoned (flagged [`flag::DEAD`]); after rows moved, the entries are carried over by
//!   a merge on edge ids (rows keep ascending id order; new edges have the largest ids).
//! - By in-slot (edges grouped by target row, ascending id within a group): the source row,
//!   `q_e` and the flags, for the pull loop; and per target whether all its in-edges are
//!   plain (conducting, non-negative, neither gated nor plastic). Built in one pass, only
//!   for the compressed-row path (a topology unchanged since the previous step).
//! - Per source: the [`Sums`] over its out-edges, recomputed by the source pass when the
//!   topology changed or when the source has gated (or, with plasticity, plastic) out-edges.

use crate::config::Params;
use crate::model::rules::{edge_flags, flag, scales};
use crate::store::{NodeKind, Store};

/// A source's sums over its out-edges in ascending edge id order: `c` of `q_e` over
/// conducting edges, `p` over conducting edges with non-negative weight, `b` over edges into
/// sensory nodes, `n` the number of conducting edges, and `deg` the out-degree.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sums {
    pub c: f32,
    pub p: f32,
    pub b: f32,
    pub n: u32,
    /// Out-degree (every out-edge).
    pub deg: u32,
}

impl Sums {
    /// Add one out-edge (flags `f`, factor `q`, conducting this step if `open`), in the
    /// source's edge order. Branch-free: every sum starts at +0 and adds terms >= +0, so
    /// adding +0 for an edge that does not count is exact (the same bits as skipping it).
    /// A tombstoned row ([`flag::DEAD`], no other flag) adds nothing.
    #[inline(always)]
    pub fn add_edge(&mut self, f: u8, q: f32, open: bool) {
        self.b += if f & flag::INTO_SENSORY != 0 { q } else { 0.0 };
        self.c += if open { q } else { 0.0 };
        self.n += u32::from(open);
        self.p += if open & (f & flag::NEGATIVE == 0) { q } else { 0.0 };
        self.deg += u32::from(f & flag::DEAD == 0);
    }
}

/// Whether an edge with flags `f` and gate `gate` conducts from a source holding `e0`
/// (`-inf` for a source whose gated edges count as closed). Bitwise, not short-circuit:
/// the flags are unpredictable.
#[inline(always)]
pub(super) fn conducts(f: u8, e0: f32, gate: f32) -> bool {
    (f & flag::CONDUCTS != 0) & ((f & flag::GATED == 0) | (e0 >= gate))
}

/// `a_i` of an active source (module docs of `transfer`): `f_i = (transfer_capacity * E0_i)
/// * src_scale_i`, scaled down to `max_outflow_fraction * E0_i` when its cost exceeds that.
#[inline(always)]
pub(super) fn source_factor(tc: f32, mof: f32, sb: f32, e0: f32, scale: f32, s: &Sums) -> f32 {
    let fi = (tc * e0) * scale;
    let cost = fi * s.c + sb * (fi * s.b);
    let limit = mof * e0;
    // `1.0 * fi == fi` exactly: the select form is the same number without a branch.
    (if cost > limit { limit / cost } else { 1.0 }) * fi
}

/// See the module docs.
#[derive(Default)]
pub(super) struct HotCache {
    /// Store version the per-edge entries were synced to.
    version: Option<u64>,
    /// Store version the in-slot arrays were built for.
    slots_version: Option<u64>,
    /// Store version at the previous step's transfer.
    pub last_transfer_version: Option<u64>,
    /// The store lineage the per-row entries belong to.
    instance: Option<u64>,
    /// The store's edge layout the per-row entries were synced to, and how many of its
    /// tombstoned rows they mark.
    layout: Option<(u64, usize)>,
    /// Store version the per-source sums were computed for.
    pub sums_version: Option<u64>,
    /// Edge ids the per-row entries belong to (ascending).
    ids: Vec<u64>,
    /// Per edge row.
    pub q: Vec<f32>,
    pub meta: Vec<u8>,
    /// Per in-slot.
    pub in_src: Vec<u32>,
    pub in_q: Vec<f32>,
    pub in_meta: Vec<u8>,
    pub in_gate: Vec<f32>,
    /// Per target row: every in-edge is plain.
    pub plain: Vec<bool>,
    /// Per source row: cached sums (valid for `sums_version` in the compressed-row path,
    /// written every step by the streaming path) and whether they must be recomputed every
    /// step.
    pub sums: Vec<Sums>,
    pub per_step: Vec<bool>,
    /// Source and target scale by subtype code (dynamic nodes), from the parameters.
    pub scale_table: [(f32, f32); 4],
    /// In-slots of targets whose in-edges are all plain (the short pull loop).
    pub plain_slots: usize,
}

impl HotCache {
    /// Bring the per-edge entries up to date with the store's edge rows.
    pub fn sync(&mut self, store: &Store, params: &Params) {
        if self.version == Some(store.version()) {
            return;
        }
        self.scale_table = [0u8, 1, 2, 3].map(|st| scales(params, NodeKind::Dynamic.code(), st));
        if self.instance != Some(store.instance()) {
            self.ids.clear();
            self.q.clear();
            self.meta.clear();
            self.layout = None;
            self.instance = Some(store.instance());
        }
        let edges = store.edges();
        let tombs = edges.tombstoned_rows();
        // Rows that did not move since the last sync keep their entries as they are.
        let seen = match self.layout {
            Some((layout, seen)) if layout == store.edge_layout() && self.ids.len() <= edges.rows() => seen,
            _ => {
                self.sync_edges(store);
                0
            }
        };
        self.add_new_edges(store, params);
        // Rows tombstoned since: flagged so no pass counts them.
        for &r in &tombs[seen.min(tombs.len())..] {
            self.q[r as usize] = 0.0;
            self.meta[r as usize] = flag::DEAD;
        }
        self.layout = Some((store.edge_layout(), tombs.len()));
        self.version = Some(store.version());
    }

    /// Bring the in-slot arrays up to date; the store's topology must be fresh and the
    /// per-edge entries synced.
    pub fn sync_slots(&mut self, store: &Store) {
        debug_assert_eq!(self.version, Some(store.version()), "slots are built from synced per-edge entries");
        if self.slots_version == Some(store.version()) {
            return;
        }
        self.rebuild_slots(store);
        self.slots_version = Some(store.version());
    }

    /// Target scale of node row `r`.
    #[inline]
    pub fn dst_scale(&self, store: &Store, r: usize) -> f32 {
        self.node_scales(store, r).1
    }

    #[inline]
    fn node_scales(&self, store: &Store, r: usize) -> (f32, f32) {
        let n = store.nodes();
        self.scales_in(n.kinds(), n.subtypes(), r)
    }

    /// Source and target scale of node row `r`, from the kind and subtype columns (fetched
    /// once by loops over many rows).
    #[inline]
    pub fn scales_in(&self, kinds: &[u8], subtypes: &[u8], r: usize) -> (f32, f32) {
        if kinds[r] == NodeKind::Dynamic.code() {
            self.scale_table[usize::from(subtypes[r]).min(3)]
        } else {
            (1.0, 1.0)
        }
    }

    /// Carry per-row entries over to the store's current edge rows after rows moved (the
    /// entries of rows since tombstoned too: the caller flags them); new edges' entries are
    /// left to [`HotCache::add_new_edges`].
    fn sync_edges(&mut self, store: &Store) {
        let edges = store.edges();
        let new_ids = edges.ids();
        // Keep, in order, the entries whose ids survive: both lists ascend, and ids that are
        // new (larger than every old one) come after the survivors, so the survivors are a
        // prefix of the new ids. Runs of survivors are found by comparing blocks and moved
        // with one copy each.
        let old_len = self.ids.len();
        let (mut w, mut r, mut i) = (0usize, 0usize, 0usize);
        while r < old_len {
            if i < new_ids.len() && self.ids[r] == new_ids[i] {
                let mut l = 1;
                while r + l < old_len && i + l < new_ids.len() {
                    let m = 32.min(old_len - r - l).min(new_ids.len() - i - l);
                    if self.ids[r + l..r + l + m] == new_ids[i + l..i + l + m] {
                        l += m;
                    } else {
                        while self.ids[r + l] == new_ids[i + l] {
                            l += 1;
                        }
                        break;
                    }
                }
                if w != r {
                    self.ids.copy_within(r..r + l, w);
                    self.q.copy_within(r..r + l, w);
                    self.meta.copy_within(r..r + l, w);
                }
                (w, r, i) = (w + l, r + l, i + l);
            } else if i < new_ids.len() && new_ids[i] < self.ids[r] {
                // A new id below a surviving one: not a sequence of removals and appends.
                // Recompute every entry (never expected from the store's operations).
                w = 0;
                break;
            } else {
                r += 1;
            }
        }
        self.ids.truncate(w);
        self.q.truncate(w);
        self.meta.truncate(w);
        debug_assert!(new_ids[..w] == self.ids[..], "surviving edges should keep their order");
    }

    /// Compute the entries of the edge rows past the cached ones (new edges).
    fn add_new_edges(&mut self, store: &Store, params: &Params) {
        let (edges, nodes) = (store.edges(), store.nodes());
        let new_ids = edges.ids();
        let rule = params.transfer.direction_rule;
        for e in self.ids.len()..new_ids.len() {
            let (s, d) = (edges.src_rows()[e] as usize, edges.dst_rows()[e] as usize);
            let weight = edges.weights()[e];
            let f = edge_flags(
                rule,
                edges.kind_of(e),
                edges.direction_of(e),
                weight,
                nodes.kind_of(s),
                nodes.kind_of(d),
                nodes.ids()[s],
                nodes.parents()[d],
            );
            self.ids.push(new_ids[e]);
            self.q.push(weight.abs() * self.dst_scale(store, d));
            self.meta.push(f);
        }
    }

    /// Rebuild the in-slot arrays and the plain flags from the target-grouped view.
    fn rebuild_slots(&mut self, store: &Store) {
        let n = store.nodes().len();
        let inc = &store.topology().inc;
        let (off, items) = (inc.offsets(), inc.items());
        let src_rows = store.edges().src_rows();
        self.in_src.clear();
        self.in_q.clear();
        self.in_meta.clear();
        self.in_gate.clear();
        self.plain.clear();
        let gates = store.edges().gates();
        self.in_gate.extend(items.iter().map(|&p| gates[p as usize]));
        self.in_src.extend(items.iter().map(|&p| src_rows[p as usize]));
        self.in_q.extend(items.iter().map(|&p| self.q[p as usize]));
        self.in_meta.extend(items.iter().map(|&p| self.meta[p as usize]));
        let in_meta = &self.in_meta;
        self.plain
            .extend((0..n).map(|d| in_meta[off[d] as usize..off[d + 1] as usize].iter().all(|&f| f == flag::CONDUCTS)));
        self.plain_slots = (0..n).filter(|&d| self.plain[d]).map(|d| (off[d + 1] - off[d]) as usize).sum();
    }

    /// Bytes allocated for the cache (by capacity).
    pub fn resident_bytes(&self) -> usize {
        bytes(&self.ids)
            + bytes(&self.q)
            + bytes(&self.meta)
            + bytes(&self.in_src)
            + bytes(&self.in_q)
            + bytes(&self.in_meta)
            + bytes(&self.in_gate)
            + bytes(&self.plain)
            + bytes(&self.sums)
            + bytes(&self.per_step)
    }

    /// The [`Sums`] of source row `s`, and whether they change from step to step (it has a
    /// gated out-edge, or a plastic one while plasticity is on). With `e0 = Some(E0_s)`
    /// gated edges count only when open, with `None` they count as closed.
    #[inline]
    pub fn source_sums(&self, store: &Store, s: usize, e0: Option<f32>, plasticity: bool) -> (Sums, bool) {
        let gates = store.edges().gates();
        let mut x = Sums::default();
        let mut per_step = false;
        let energy = e0.unwrap_or(f32::NEG_INFINITY);
        for &e in store.topology().out.row(s) {
            let e = e as usize;
            let f = self.meta[e];
            per_step |= f & flag::GATED != 0 || (plasticity && f & flag::PLASTIC != 0);
            x.add_edge(f, self.q[e], conducts(f, energy, gates[e]));
        }
        (x, per_step)
    }
}

/// Bytes allocated by a vector (its capacity).
pub(super) fn bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}
