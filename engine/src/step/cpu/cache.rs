//! The CPU stepper's derived per-edge data, kept in step with the store incrementally.
//!
//! - By edge row: the flag byte, and the static factor `q_e = |w_e| * dst_scale(target)`
//!   while the transfer streams the edge rows or the topology changes from step to step
//!   (the streamed passes and the sums of changed sources read it); on a graph that has
//!   stayed the same for a few steps the per-row copy is freed, and what needs `q_e`
//!   computes it from the weight ([`Factors`], the same bits). Both depend only on the
//!   edge and its endpoints' kinds, subtype and lineage, which never change while the edge
//!   lives (a plastic weight changes: the streamed plasticity updates `q_e` itself, and the
//!   compressed-row path no longer keeps it once plasticity has changed weights). While the
//!   store's edge layout stays, rows are only appended (new entries) or tombstoned (flagged
//!   [`flag::DEAD`] only before a pass that reads every row: [`HotCache::flag_tombstoned`]);
//!   after rows moved by a compaction (of tombstones, or with a node
//!   removal), the entries are carried over through the store's record of the rows it
//!   removed ([`crate::store::Compaction`]), so they need no edge ids; after anything else
//!   (two moves between syncs), they are recomputed. A graph unchanged for longer, with no
//!   source whose sums change every step (gated, or plastic with plasticity on), frees the
//!   flags too until its topology changes.
//! - By in-slot (edges grouped by target row, ascending id within a group): the
//!   [`InSlots`] of the compressed-row path, rebuilt when rows move and otherwise following
//!   the store's appends and tombstones.
//! - Per source: the [`Sums`] over its out-edges, recomputed by the source pass when the
//!   topology changed (only for the sources whose out-edges changed, where the in-slots
//!   followed the store) or when the source has gated (or, with plasticity, plastic)
//!   out-edges. Unless plasticity has changed weights, the store's out-edge view holds the
//!   per-row `q_e` and flags beside its items (handed over at each patch, see
//!   [`crate::store::Side`]), and the recomputations read them there: one contiguous range
//!   per source.

use super::factors::{q_of, scale_of, Factors};
use super::slots::InSlots;
use crate::config::Params;
use crate::model::rules::{edge_flags, flag, scales};
use crate::store::{NodeKind, Store, AHEAD};

/// A source's sums over its out-edges in ascending edge id order: `c` of `q_e` over
/// conducting edges, `p` over conducting edges with non-negative weight, `b` over edges into
/// sensory nodes, `n` the number of conducting edges, and `deg` the out-degree. Both counts
/// are `u16`: an out-degree is at most the source's `max_out_degree`, a `u16` (a store
/// invariant, checked in debug builds).
///
/// `repr(C)`: the streamed pass A adds an edge's terms to all five in one 16-byte access
/// (`stream::add_source_terms`), which relies on this layout.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C)]
pub(super) struct Sums {
    pub c: f32,
    pub p: f32,
    pub b: f32,
    pub n: u16,
    /// Out-degree (every out-edge).
    pub deg: u16,
}

const _: () = assert!(std::mem::size_of::<Sums>() == 16, "Sums is read and written as 16 bytes");

impl Sums {
    /// Add one out-edge (flags `f`, factor `q`, conducting this step if `open`), in the
    /// source's edge order. Branch-free: every sum starts at +0 and adds terms >= +0, so
    /// adding +0 for an edge that does not count is exact (the same bits as skipping it).
    /// A tombstoned row ([`flag::DEAD`], no other flag) adds nothing.
    #[inline(always)]
    pub fn add_edge(&mut self, f: u8, q: f32, open: bool) {
        let k = bit_of(f, flag::INTO_SENSORY) | usize::from(open) << 1 | bit_of(f, flag::NEGATIVE) << 2;
        let [b, c, p] = EDGE_FACTORS[k];
        self.b += q * b;
        self.c += q * c;
        self.n += u16::from(open);
        self.p += q * p;
        self.deg += u16::from(f & flag::DEAD == 0);
    }
}

impl Sums {
    /// [`Sums::add_edge`] of a live edge that is not gated and not into a sensory node, for
    /// sums whose counts are already set ([`open_counts`]): only `c` and `p` add (`b` adds
    /// +0 there, which changes no bit).
    #[inline(always)]
    fn add_open(&mut self, f: u8, q: f32) {
        let [_, c, p] = EDGE_FACTORS[bit_of(f, flag::CONDUCTS) << 1 | bit_of(f, flag::NEGATIVE) << 2];
        self.c += q * c;
        self.p += q * p;
    }
}

/// Flag `one` (a single bit) of the flags `f`, as 0 or 1: the bit shifted down, not a
/// comparison (which the compiler may turn into a branch).
#[inline(always)]
pub(super) fn bit_of(f: u8, one: u8) -> usize {
    usize::from((f >> one.trailing_zeros()) & 1)
}

/// The factors (1 or 0) of an edge's `q_e` in its source's `b`, `c` and `p` sums, by
/// whether it goes into a sensory node (bit 0), is open (bit 1) and is negative (bit 2).
/// `q_e` is finite and >= +0, so each product is `q_e` or +0 exactly, and adding +0 to
/// these sums changes no bit: the sums of a select, without a branch or a move between
/// the integer and float units per edge.
const EDGE_FACTORS: [[f32; 3]; 8] = {
    let mut t = [[0.0f32; 3]; 8];
    let mut k = 0;
    while k < 8 {
        let open = k & 2 != 0;
        t[k] = [(k & 1) as f32, open as u8 as f32, (open && k & 4 == 0) as u8 as f32];
        k += 1;
    }
    t
};

/// The counts of [`Sums`] over live edges with flags `fs`, none of them gated: those that
/// conduct, and all; the sums at +0.
fn open_counts(fs: &[u8]) -> Sums {
    let n = fs.iter().map(|&f| u16::from(f & flag::CONDUCTS != 0)).sum();
    Sums { n, deg: fs.len() as u16, ..Sums::default() }
}

/// Whether an edge with flags `f` makes its source's sums change from step to step: a gated
/// edge (its gate opens and closes with the source's energy), or a plastic one while
/// plasticity is on (its weight changes).
#[inline(always)]
pub(super) fn changes_each_step(f: u8, plasticity: bool) -> bool {
    f & flag::GATED != 0 || (plasticity && f & flag::PLASTIC != 0)
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
    /// Store version and edge layout at the previous step's transfer, and whether the
    /// layout had changed then.
    pub last_transfer_version: Option<u64>,
    pub last_layout: Option<u64>,
    pub moved_before: bool,
    /// The store lineage the per-row entries belong to.
    instance: Option<u64>,
    /// The store's edge layout the per-row entries were synced to, and how many of its
    /// tombstoned rows they flag (see [`HotCache::flag_tombstoned`]).
    layout: Option<(u64, usize)>,
    /// Store version the per-source sums were computed for.
    pub sums_version: Option<u64>,
    /// Per edge row: the flags, and `q_e` where `q_kept` (else empty).
    pub q: Vec<f32>,
    pub meta: Vec<u8>,
    q_kept: bool,
    /// Steps in a row whose topology was the same as the step before.
    pub quiet_steps: u32,
    /// The in-edges grouped by target.
    pub slots: InSlots,
    /// Per source row: cached sums (valid for `sums_version` in the compressed-row path,
    /// except where `stale`; written every step by the streaming path), whether they must be
    /// recomputed every step, and whether its out-edges changed since they were computed.
    pub sums: Vec<Sums>,
    pub per_step: Vec<bool>,
    pub stale: Vec<bool>,
    /// Per source row whose sums change from step to step only through its gated edges: the
    /// range `[lo, hi)` of its `E0` over which the sums hold (see [`HotCache::steady_range`]).
    pub steady: Vec<(f32, f32)>,
    /// Per node row, its target scale, where kept (see [`HotCache::keep_dst_scales`]).
    dst_scales: Vec<f32>,
    /// Source and target scale by subtype code (dynamic nodes), from the parameters.
    pub scale_table: [(f32, f32); 4],
    /// Whether plasticity has changed weights (then the out-edge view is not given the
    /// per-row entries to hold: they would change every step).
    pub weights_changed: bool,
}

impl HotCache {
    /// Bring the per-edge entries up to date with the store's edge rows.
    pub fn sync(&mut self, store: &Store, params: &Params) {
        if self.version == Some(store.version()) {
            return;
        }
        self.scale_table = [0u8, 1, 2, 3].map(|st| scales(params, NodeKind::Dynamic.code(), st));
        if self.instance != Some(store.instance()) {
            self.drop_q();
            self.meta.clear();
            self.layout = None;
            self.instance = Some(store.instance());
        }
        let edges = store.edges();
        // Rows that did not move since the last sync keep their entries as they are.
        let seen = match self.layout {
            Some((layout, seen)) if layout == store.edge_layout() && self.meta.len() <= edges.rows() => seen,
            Some((layout, _)) => {
                self.carry_over(store, layout);
                0
            }
            None => {
                self.q.clear();
                self.meta.clear();
                0
            }
        };
        // The new edges' entries (in parallel pieces where they are many). The tombstoned
        // rows' entries are flagged only where a pass reads entries by edge row
        // ([`HotCache::flag_tombstoned`]): every other reader reads live rows alone, so
        // that under edge churn the flagging (a random write per removed edge) is left out.
        let old = self.meta.len();
        self.meta.resize(edges.rows(), 0);
        if self.q_kept {
            self.q.resize(edges.rows(), 0.0);
        }
        let q_new = if self.q_kept { Some(&mut self.q[old..]) } else { None };
        add_new_edges(store, params, self.scale_table, old, &mut self.meta[old..], q_new);
        self.layout = Some((store.edge_layout(), seen));
        self.version = Some(store.version());
    }

    /// Flag the entries of the rows tombstoned since the last flagging [`flag::DEAD`] (and
    /// their `q_e` 0 where kept), for a pass that reads the entries of every edge row (the
    /// streamed transfer). The entries must be synced.
    pub fn flag_tombstoned(&mut self, store: &Store) {
        debug_assert_eq!(self.version, Some(store.version()), "flagging synced per-edge entries");
        let Some((layout, flagged)) = self.layout else { return };
        let tombs = store.edges().tombstoned_rows();
        let q = if self.q_kept { Some(&mut self.q[..]) } else { None };
        flag_dead(&tombs[flagged.min(tombs.len())..], &mut self.meta, q);
        self.layout = Some((layout, tombs.len()));
    }

    /// Bring the in-slot arrays up to date (the per-edge entries must be synced): by
    /// following the store's appends and tombstones where its rows did not move, else by a
    /// rebuild (`slack`: with room for appends). Where they followed and the per-source sums
    /// were those of the arrays' previous state, the sums stay, marked stale only for the
    /// sources whose out-edges changed. `q` and `meta`: the per-row entries, taken out of
    /// the cache meanwhile ([`HotCache::take_rows`]).
    pub fn sync_slots(&mut self, store: &Store, slack: bool, plasticity: bool, (q, meta): (&[f32], &[u8])) {
        debug_assert_eq!(self.version, Some(store.version()), "slots are built from synced per-edge entries");
        let before = self.slots.version();
        if before == Some(store.version()) {
            return;
        }
        let (mut changed, mut appended) = (Vec::new(), Vec::new());
        let f = self.factors(store).with_rows(q);
        if self.slots.follow(store, f, meta, &mut changed, &mut appended) {
            if before.is_some() && self.sums_version == before {
                let n = store.nodes().len();
                self.stale.resize(n, true);
                for s in changed {
                    self.stale[s as usize] = true;
                }
                self.add_appended(store, &appended, plasticity, (q, meta));
                self.sums_version = Some(store.version());
            }
        } else {
            self.slots.rebuild(store, f, meta, slack);
        }
    }

    /// The per-row entries (`q_e`, where kept, and the flags), taken out of the cache so that
    /// other work can read them while the cache is changed; [`HotCache::put_rows`] puts them
    /// back.
    pub fn take_rows(&mut self) -> (Vec<f32>, Vec<u8>) {
        (std::mem::take(&mut self.q), std::mem::take(&mut self.meta))
    }

    /// Put back what [`HotCache::take_rows`] took.
    pub fn put_rows(&mut self, (q, meta): (Vec<f32>, Vec<u8>)) {
        (self.q, self.meta) = (q, meta);
    }

    /// Whether `q_e` is kept per edge row.
    pub fn q_kept(&self) -> bool {
        self.q_kept
    }

    /// The sums of sources that only gained out-edges (rows `appended`, ascending) since
    /// they were computed: each new edge's terms added to them in row order. New edges
    /// have the largest ids, so they come last in the summation order of MODEL.md section
    /// 5 and this gives the bits a recomputation would. A source already stale, or whose
    /// sums depend on the step (a gated edge, or a plastic one while plasticity is on), is
    /// marked stale instead.
    fn add_appended(&mut self, store: &Store, appended: &[u32], plasticity: bool, (q, meta): (&[f32], &[u8])) {
        let edges = store.edges();
        let (src, dst) = (edges.src_rows(), edges.dst_rows());
        let factors = self.factors(store);
        for &e in appended {
            let (e, s) = (e as usize, src[e as usize] as usize);
            if self.stale[s] {
                continue;
            }
            let f = meta[e];
            match self.sums.get_mut(s) {
                Some(sums) if !changes_each_step(f, plasticity) && self.per_step.get(s) == Some(&false) => {
                    let q = if self.q_kept { q[e] } else { factors.q(e, dst[e] as usize) };
                    sums.add_edge(f, q, conducts(f, f32::NEG_INFINITY, 0.0));
                }
                _ => self.stale[s] = true,
            }
        }
    }

    /// `q_e` computed from the store (see [`Factors`]).
    pub fn factors<'a>(&self, store: &'a Store) -> Factors<'a> {
        Factors::of(store, self.scale_table)
    }

    /// Keep `q_e` per edge row from now on (the streamed passes read it), computing it
    /// where it was not kept; the per-edge entries must be synced.
    pub fn keep_q(&mut self, store: &Store) {
        if self.q_kept {
            return;
        }
        let f = self.factors(store);
        let dst = store.edges().dst_rows();
        self.q.clear();
        self.q.extend(
            self.meta.iter().enumerate().map(|(e, &m)| if m == flag::DEAD { 0.0 } else { f.q(e, dst[e] as usize) }),
        );
        self.q_kept = true;
    }

    /// Free the per-row entries, flags included, of a graph that has stayed the same for a
    /// while and has no source whose sums change from step to step: nothing reads them until
    /// the topology changes, and the sync after that computes them again.
    pub fn drop_rows(&mut self) {
        self.drop_q();
        self.meta = Vec::new();
        self.layout = None;
    }

    /// Stop keeping `q_e` per edge row (the compressed-row path computes it where needed).
    pub fn drop_q(&mut self) {
        self.q = Vec::new();
        self.q_kept = false;
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
        scale_of(self.scale_table, kinds, subtypes, r)
    }

    /// Carry the per-row entries synced to edge layout `layout` over to the store's current
    /// rows, through the compaction that made them (the entries of rows since tombstoned
    /// too: the caller flags them), else drop them all; new edges' entries are left to
    /// [`add_new_edges`].
    fn carry_over(&mut self, store: &Store, layout: u64) {
        let Some(c) = store.last_compaction().filter(|c| c.from == layout && c.rows_before >= self.meta.len()) else {
            self.q.clear();
            self.meta.clear();
            return;
        };
        // Entries exist for rows `..meta.len()`; the rows removed among them go, the rest
        // move down in order (rows past them, appended since the last sync, follow after).
        let seen = c.removed.partition_point(|&r| (r as usize) < self.meta.len());
        let rows: Vec<usize> = c.removed[..seen].iter().map(|&r| r as usize).collect();
        // Both columns at once (each a pass of moves the length of the table).
        let (q, meta, q_kept) = (&mut self.q, &mut self.meta, self.q_kept);
        rayon::join(
            || {
                if q_kept {
                    crate::store::compact(q, &rows);
                }
            },
            || crate::store::compact(meta, &rows),
        );
    }

    /// Bytes allocated for the cache (by capacity).
    pub fn resident_bytes(&self) -> usize {
        bytes(&self.q)
            + bytes(&self.meta)
            + self.slots.resident_bytes()
            + bytes(&self.sums)
            + bytes(&self.per_step)
            + bytes(&self.steady)
            + bytes(&self.stale)
            + bytes(&self.dst_scales)
    }

    /// Ask the cache for the per-row entries [`HotCache::source_sums`] reads for source row
    /// `s`: the side values beside the view's items where it holds them, else the entries of
    /// the group's first row (its rows mostly ascend close together, which the hardware
    /// follows; asking for every line measured slower on the plastic test graphs of
    /// docs/BENCHMARKS.md, a pass over the items of its own).
    pub fn prefetch_source_sums(&self, store: &Store, s: usize) {
        let out = store.out_edges();
        if out.has_side() {
            out.prefetch_side(s);
            return;
        }
        let Some(&e) = out.row(s).first() else { return };
        let e = e as usize;
        if self.q_kept {
            crate::store::prefetch(&self.q, e);
        } else {
            crate::store::prefetch(store.edges().weights(), e);
            crate::store::prefetch(store.edges().dst_rows(), e);
        }
        crate::store::prefetch(&self.meta, e);
    }
    /// The [`Sums`] of source row `s`, and whether they change from step to step (it has a
    /// gated out-edge, or a plastic one while plasticity is on). With `e0 = Some(E0_s)`
    /// gated edges count only when open, with `None` they count as closed. The store's
    /// out-edge view must be fresh.
    #[inline]
    pub fn source_sums(&self, store: &Store, s: usize, e0: Option<f32>, plasticity: bool) -> (Sums, bool) {
        // The gate where the flags say Gated (`conducts` reads it only there).
        let gates = store.edges().kind_params();
        let dst = store.edges().dst_rows();
        let energy = e0.unwrap_or(f32::NEG_INFINITY);
        if let Some((qs, fs)) = store.out_edges().side(s) {
            let (mut x, mut per_step) = (Sums::default(), false);
            let rows = store.out_edges().row(s);
            for k in 0..qs.len() {
                add_side_entry(&mut x, &mut per_step, (qs, fs, rows), k, (gates, energy, plasticity));
            }
            return (x, per_step);
        }
        // One loop for each way of getting `q_e`.
        let rows = store.out_edges().row(s);
        let scan = (rows, gates, energy, plasticity);
        if self.q_kept {
            self.scan_rows(scan, |e| self.q[e])
        } else if self.dst_scales.len() == store.nodes().len() {
            let (w, scales) = (store.edges().weights(), &self.dst_scales);
            self.scan_rows(scan, |e| q_of(w[e], scales[dst[e] as usize]))
        } else {
            let factors = self.factors(store);
            self.scan_rows(scan, |e| factors.q(e, dst[e] as usize))
        }
    }

    /// [`HotCache::source_sums`] by edge row, over the source's edge rows with their gates
    /// (`E0` and whether plasticity is on beside them) and `q_e` by `q`. The gate column is
    /// read in the same row order: every edge reads its entry, which `conducts` uses only for
    /// a gated one (no branch on the flag).
    #[inline(always)]
    fn scan_rows(
        &self,
        (rows, gates, energy, plasticity): (&[u32], &[f32], f32, bool),
        q: impl Fn(usize) -> f32,
    ) -> (Sums, bool) {
        let (mut x, mut per_step) = (Sums::default(), false);
        for &e in rows {
            let e = e as usize;
            let f = self.meta[e];
            per_step |= changes_each_step(f, plasticity);
            x.add_edge(f, q(e), conducts(f, energy, gates[e]));
        }
        (x, per_step)
    }

    /// Keep each node's target scale by row from now on (what `q_e` multiplies the weight's
    /// magnitude by) where `q_e` is computed from the weights and the sums of sources are
    /// recomputed from step to step (under plasticity), so that those recomputations read it
    /// in one place; else free it.
    pub fn keep_dst_scales(&mut self, store: &Store, keep: bool) {
        if keep && !self.q_kept {
            self.dst_scales.clear();
            let n = store.nodes();
            let (kinds, subtypes, table) = (n.kinds(), n.subtypes(), self.scale_table);
            self.dst_scales.extend((0..n.len()).map(|r| scale_of(table, kinds, subtypes, r).1));
        } else {
            self.dst_scales = Vec::new();
        }
    }

    /// Where the sums of source row `s` computed with `e0` (as [`HotCache::source_sums`])
    /// change from step to step only through its gated edges: the range `[lo, hi)` of `E0`
    /// over which they hold, as every gated edge that conducts at one `E0` in it conducts at
    /// all (`lo` the largest gate among those open, `hi` the smallest among those closed).
    /// An empty range (NaN) where a plastic edge changes them too.
    pub fn steady_range(&self, store: &Store, s: usize, e0: Option<f32>, plasticity: bool) -> (f32, f32) {
        let (gates, out) = (store.edges().kind_params(), store.out_edges());
        let energy = e0.unwrap_or(f32::NEG_INFINITY);
        let (mut lo, mut hi) = (f32::NEG_INFINITY, f32::INFINITY);
        // False at a plastic edge under plasticity: the range is then empty, and the scan
        // stops there.
        let mut add = |f: u8, e: u32| {
            if changes_each_step(f & flag::PLASTIC, plasticity) {
                return false;
            }
            if f & (flag::GATED | flag::CONDUCTS) == flag::GATED | flag::CONDUCTS {
                let gate = gates[e as usize];
                if energy >= gate {
                    lo = lo.max(gate);
                } else {
                    hi = hi.min(gate);
                }
            }
            true
        };
        let steady = match out.side(s) {
            Some((_, fs)) => fs.iter().zip(out.row(s)).all(|(&f, &e)| add(f, e)),
            None => out.row(s).iter().all(|&e| add(self.meta[e as usize], e)),
        };
        // (A flag apart: `f32::max` would take a gate over a NaN.)
        if steady {
            (lo, hi)
        } else {
            (f32::NAN, f32::NAN)
        }
    }

    /// [`HotCache::source_sums`] of two source rows at once: where the out-edge view holds
    /// the side values, both scans run side by side (each sum is a chain of dependent
    /// additions; two independent chains overlap), each in its own order (the same bits).
    pub fn source_sums_pair(
        &self,
        store: &Store,
        s: [usize; 2],
        e0: [Option<f32>; 2],
        plasticity: bool,
    ) -> [(Sums, bool); 2] {
        let out = store.out_edges();
        let (Some((qa, fa)), Some((qb, fb))) = (out.side(s[0]), out.side(s[1])) else {
            return [0, 1].map(|i| self.source_sums(store, s[i], e0[i], plasticity));
        };
        // Where neither source has a gated edge or one into a sensory node, only two of the
        // sums are chains of additions (`b` stays +0, the counts are counts).
        let (any_a, any_b) = (fa.iter().fold(0u8, |a, &f| a | f), fb.iter().fold(0u8, |a, &f| a | f));
        if (any_a | any_b) & (flag::GATED | flag::INTO_SENSORY) == 0 {
            let (mut xa, mut xb) = (open_counts(fa), open_counts(fb));
            side_by_side((qa.len(), |k| xa.add_open(fa[k], qa[k])), (qb.len(), |k| xb.add_open(fb[k], qb[k])));
            let per_step = |any: u8| changes_each_step(any & flag::PLASTIC, plasticity);
            return [(xa, per_step(any_a)), (xb, per_step(any_b))];
        }
        let gates = store.edges().kind_params();
        let (ea, eb) = (e0[0].unwrap_or(f32::NEG_INFINITY), e0[1].unwrap_or(f32::NEG_INFINITY));
        let (a, b) = ((qa, fa, out.row(s[0])), (qb, fb, out.row(s[1])));
        let (mut xa, mut xb) = (Sums::default(), Sums::default());
        let (mut pa, mut pb) = (false, false);
        side_by_side(
            (qa.len(), |k| add_side_entry(&mut xa, &mut pa, a, k, (gates, ea, plasticity))),
            (qb.len(), |k| add_side_entry(&mut xb, &mut pb, b, k, (gates, eb, plasticity))),
        );
        [(xa, pa), (xb, pb)]
    }

    /// The sums of four sources whose out-edges are all plain (each conducts, none negative,
    /// gated, into a sensory node or tombstoned; not plastic while plasticity is on), from
    /// the side values beside the out-edge view's items: `c` and `p` are then the same sum
    /// of `q_e` (each term `q_e * 1`), `b` stays +0 and both counts are the out-degree, the
    /// bits [`HotCache::source_sums_pair`] gives. Four chains of additions side by side (each
    /// about 4 cycles long) overlap. None where the view holds no side values or a group is
    /// not plain.
    pub fn plain_source_sums_four(&self, store: &Store, s: [usize; 4], plasticity: bool) -> Option<[Sums; 4]> {
        let out = store.out_edges();
        let mut qs: [&[f32]; 4] = [&[]; 4];
        for (q, &n) in qs.iter_mut().zip(&s) {
            let (g, fs) = out.side(n)?;
            if !all_plain(fs, plasticity) {
                return None;
            }
            *q = g;
        }
        let c = plain_sums(qs);
        Some(std::array::from_fn(|i| {
            let deg = qs[i].len() as u16;
            Sums { c: c[i], p: c[i], b: 0.0, n: deg, deg }
        }))
    }
}

/// Whether every edge of a group with flags `fs` is plain (see
/// [`HotCache::plain_source_sums_four`]): the flags folded without a branch per edge, in
/// two plain folds, which the compiler vectorises (one fold over pairs it does not).
#[inline(always)]
fn all_plain(fs: &[u8], plasticity: bool) -> bool {
    let every = fs.iter().fold(flag::CONDUCTS, |e, &f| e & f);
    let any = fs.iter().fold(0u8, |a, &f| a | f);
    let not =
        flag::NEGATIVE | flag::GATED | flag::INTO_SENSORY | flag::DEAD | if plasticity { flag::PLASTIC } else { 0 };
    every != 0 && any & not == 0
}

/// The sums of four groups of `q_e`, each from +0 in its own order, side by side while all
/// four have terms.
#[inline(always)]
fn plain_sums([a, b, c, d]: [&[f32]; 4]) -> [f32; 4] {
    let m = a.len().min(b.len()).min(c.len()).min(d.len());
    let (a0, b0, c0, d0) = (&a[..m], &b[..m], &c[..m], &d[..m]);
    let mut x = [0.0f32; 4];
    for k in 0..m {
        x[0] += a0[k];
        x[1] += b0[k];
        x[2] += c0[k];
        x[3] += d0[k];
    }
    for (x, g) in x.iter_mut().zip([a, b, c, d]) {
        *x = g[m..].iter().fold(*x, |s, &q| s + q);
    }
    x
}

/// `a(k)` for every `k` below `la` and `b(k)` for every `k` below `lb`, the two side by side
/// while both have entries (independent chains of additions overlap), each in ascending `k`.
#[inline(always)]
fn side_by_side((la, mut a): (usize, impl FnMut(usize)), (lb, mut b): (usize, impl FnMut(usize))) {
    let m = la.min(lb);
    for k in 0..m {
        a(k);
        b(k);
    }
    (m..la).for_each(&mut a);
    (m..lb).for_each(&mut b);
}

/// Add entry `k` of a source's side values (`qs`, `fs`, beside its edge rows `rows`) to its
/// sums `x`, and whether it changes from step to step to `per_step`; `gates` by edge row,
/// the source's `energy`.
#[inline(always)]
fn add_side_entry(
    x: &mut Sums,
    per_step: &mut bool,
    (qs, fs, rows): (&[f32], &[u8], &[u32]),
    k: usize,
    (gates, energy, plasticity): (&[f32], f32, bool),
) {
    let f = fs[k];
    *per_step |= changes_each_step(f, plasticity);
    let gate = if f & flag::GATED != 0 { gates[rows[k] as usize] } else { 0.0 };
    x.add_edge(f, qs[k], conducts(f, energy, gate));
}

/// New edges per parallel piece of [`add_new_edges`] (fewer run on the calling thread).
const NEW_EDGES_PIECE: usize = 2048;

/// The entries of the edge rows from `first` on (new edges): their flags into `meta`, and
/// `q_e` into `q` where it is kept (both as long as the rows past `first`).
fn add_new_edges(
    store: &Store,
    params: &Params,
    table: [(f32, f32); 4],
    first: usize,
    meta: &mut [u8],
    q: Option<&mut [f32]>,
) {
    let (edges, nodes) = (store.edges(), store.nodes());
    let rule = params.transfer.direction_rule;
    let factors = Factors::of(store, table);
    let (src, dst) = (edges.src_rows(), edges.dst_rows());
    let fill = |at: usize, meta: &mut [u8], mut q: Option<&mut [f32]>| {
        for (k, m) in meta.iter_mut().enumerate() {
            let e = at + k;
            // Each reads its endpoints' node entries, scattered: the cache is asked for them
            // some edges ahead.
            if let (Some(&s), Some(&d)) = (src.get(e + AHEAD), dst.get(e + AHEAD)) {
                let (s, d) = (s as usize, d as usize);
                crate::store::prefetch(nodes.kinds(), s);
                crate::store::prefetch(nodes.ids(), s);
                crate::store::prefetch(nodes.kinds(), d);
                crate::store::prefetch(nodes.parents(), d);
                crate::store::prefetch(nodes.subtypes(), d);
            }
            let (s, d) = (src[e] as usize, dst[e] as usize);
            let weight = edges.weights()[e];
            *m = edge_flags(
                rule,
                edges.kind_of(e),
                edges.direction_of(e),
                weight,
                nodes.kind_of(s),
                nodes.kind_of(d),
                nodes.ids()[s],
                nodes.parents()[d],
            );
            if let Some(q) = q.as_deref_mut() {
                q[k] = factors.q(e, d);
            }
        }
    };
    if meta.len() <= NEW_EDGES_PIECE {
        fill(first, meta, q);
        return;
    }
    // (The threads take pieces from a counter and the caller spins at the end, not sleeps.)
    let qs: Vec<Option<&mut [f32]>> = match q {
        Some(q) => q.chunks_mut(NEW_EDGES_PIECE).map(Some).collect(),
        None => Vec::new(),
    };
    let pieces: Vec<_> =
        meta.chunks_mut(NEW_EDGES_PIECE).zip(qs.into_iter().chain(std::iter::repeat_with(|| None))).collect();
    crate::join::busy_map(pieces, |i, (m, q)| fill(first + i * NEW_EDGES_PIECE, m, q));
}

/// Flag the entries of the tombstoned rows `tombs` (those below `meta.len()`) dead: the
/// flags [`flag::DEAD`] and `q_e` 0 where kept. Each writes a random row: the cache is asked
/// for it some rows ahead.
fn flag_dead(tombs: &[u32], meta: &mut [u8], mut q: Option<&mut [f32]>) {
    let n = meta.len();
    for (i, &r) in tombs.iter().enumerate() {
        if let Some(&f) = tombs.get(i + AHEAD) {
            crate::store::prefetch(meta, f as usize);
            if let Some(q) = q.as_deref() {
                crate::store::prefetch(q, f as usize);
            }
        }
        let r = r as usize;
        if r >= n {
            continue;
        }
        meta[r] = flag::DEAD;
        if let Some(q) = q.as_deref_mut() {
            q[r] = 0.0;
        }
    }
}

/// Bytes allocated by a vector (its capacity).
pub(super) fn bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}
