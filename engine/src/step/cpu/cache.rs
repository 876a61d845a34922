//! The CPU stepper's derived data, rebuilt when the store's topology version changes:
//! per-edge flags and static factors `q_e = |w_e| * dst_scale(target)`, the same in
//! target-grouped ("in-slot") order for the pull loop, per-source static sums, and lists of
//! the rows and slots that need per-step work (sensory inputs, gated and plastic sources).

use rayon::prelude::*;

use crate::config::Params;
use crate::model::rules::{edge_flags, flag, scales};
use crate::store::{NodeKind, Store};

/// A source's sums over its out-edges in ascending edge id order: `c` of `q_e` over
/// conducting edges, `p` over conducting edges with non-negative weight, `b` over edges into
/// sensory nodes, and `n` the number of conducting edges.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sums {
    pub c: f32,
    pub p: f32,
    pub b: f32,
    pub n: u32,
}

/// See the module docs.
#[derive(Default)]
pub(super) struct HotCache {
    version: Option<u64>,
    /// Rows of sensory nodes.
    pub sensory_rows: Vec<u32>,
    /// Source and target scales per node row.
    pub src_scale: Vec<f32>,
    pub dst_scale: Vec<f32>,
    /// Per edge row.
    pub q: Vec<f32>,
    pub meta: Vec<u8>,
    /// Per in-slot (edges grouped by target row, ascending id within a group).
    pub in_src: Vec<u32>,
    pub in_q: Vec<f32>,
    pub in_meta: Vec<u8>,
    /// Per source row: sums over out-edges (see [`Sums`]), valid for sources without
    /// per-step terms.
    pub sums: Vec<Sums>,
    /// Per target row: every in-edge conducts with a non-negative fixed weight (no gate,
    /// not plastic), so the pull loop needs no per-edge tests.
    pub plain: Vec<bool>,
    /// Per source row: sums depend on this step (gated out-edges, or plastic ones while
    /// plasticity is on).
    pub per_step: Vec<bool>,
    /// `(in-slot, target row)` of every conducting plastic edge (plasticity on).
    pub plastic: Vec<(u32, u32)>,
}

impl HotCache {
    /// Rebuild if the store's topology changed since the last build.
    pub fn ensure(&mut self, store: &Store, params: &Params) {
        if self.version == Some(store.version()) {
            return;
        }
        self.rebuild(store, params);
        self.version = Some(store.version());
    }

    fn rebuild(&mut self, store: &Store, params: &Params) {
        let nodes = store.nodes();
        let edges = store.edges();
        let topo = store.topology();
        let n = nodes.len();
        let rule = params.transfer.direction_rule;
        self.sensory_rows.clear();
        self.sensory_rows.extend((0..n as u32).filter(|&r| nodes.kinds()[r as usize] == NodeKind::Sensory.code()));
        let table: [(f32, f32); 4] = [0u8, 1, 2, 3].map(|st| scales(params, NodeKind::Dynamic.code(), st));
        let scale_of = |r: usize| {
            if nodes.kinds()[r] == NodeKind::Dynamic.code() {
                table[usize::from(nodes.subtypes()[r]).min(3)]
            } else {
                (1.0, 1.0)
            }
        };
        self.src_scale = (0..n).map(|r| scale_of(r).0).collect();
        self.dst_scale = (0..n).map(|r| scale_of(r).1).collect();
        let (src_rows, dst_rows) = (edges.src_rows(), edges.dst_rows());
        let dst_scale = &self.dst_scale;
        let m = edges.len();
        (0..m)
            .into_par_iter()
            .with_min_len(8192)
            .map(|e| {
                let (s, d) = (src_rows[e] as usize, dst_rows[e] as usize);
                let w = edges.weights()[e];
                let f = edge_flags(
                    rule,
                    edges.kind_of(e),
                    edges.direction_of(e),
                    w,
                    nodes.kind_of(s),
                    nodes.kind_of(d),
                    nodes.ids()[s],
                    nodes.parents()[d],
                );
                (w.abs() * dst_scale[d], f)
            })
            .unzip_into_vecs(&mut self.q, &mut self.meta);
        let items = topo.inc.items();
        let (q, meta) = (&self.q, &self.meta);
        items.par_iter().with_min_len(8192).map(|&p| src_rows[p as usize]).collect_into_vec(&mut self.in_src);
        items.par_iter().with_min_len(8192).map(|&p| q[p as usize]).collect_into_vec(&mut self.in_q);
        items.par_iter().with_min_len(8192).map(|&p| meta[p as usize]).collect_into_vec(&mut self.in_meta);
        let plastic_on = params.transfer.plasticity;
        let dynamic_sums: Vec<(bool, Sums)> = (0..n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|s| {
                let per_step = topo.out.row(s).iter().any(|&p| {
                    let f = meta[p as usize];
                    f & flag::GATED != 0 || (plastic_on && f & flag::PLASTIC != 0)
                });
                (per_step, if per_step { Sums::default() } else { self.source_sums(store, s, None) })
            })
            .collect();
        (self.per_step, self.sums) = dynamic_sums.into_iter().unzip();
        let off = topo.inc.offsets();
        let in_meta = &self.in_meta;
        self.plain = (0..n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|d| in_meta[off[d] as usize..off[d + 1] as usize].iter().all(|&f| f == flag::CONDUCTS))
            .collect();
        self.plastic.clear();
        if plastic_on {
            for d in 0..n {
                for slot in off[d]..off[d + 1] {
                    let f = self.in_meta[slot as usize];
                    if f & flag::PLASTIC != 0 && f & flag::CONDUCTS != 0 {
                        self.plastic.push((slot, d as u32));
                    }
                }
            }
        }
    }

    /// The [`Sums`] of source row `s`; with `e0 = Some(E0_s)` gated edges count only when
    /// open, with `None` they count as closed.
    #[inline]
    pub fn source_sums(&self, store: &Store, s: usize, e0: Option<f32>) -> Sums {
        let gates = store.edges().gates();
        let (mut c, mut p, mut b, mut n) = (0.0f32, 0.0f32, 0.0f32, 0u32);
        for &e in store.topology().out.row(s) {
            let e = e as usize;
            let f = self.meta[e];
            if f & flag::INTO_SENSORY != 0 {
                b += self.q[e];
            }
            if f & flag::CONDUCTS == 0 {
                continue;
            }
            if f & flag::GATED != 0 && !e0.is_some_and(|x| x >= gates[e]) {
                continue;
            }
            c += self.q[e];
            n += 1;
            if f & flag::NEGATIVE == 0 {
                p += self.q[e];
            }
        }
        Sums { c, p, b, n }
    }
}
