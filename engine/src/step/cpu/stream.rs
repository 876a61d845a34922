//! Phases 5.2 and 5.3 by streaming the edge rows, for steps whose topology just changed.
//!
//! Edge rows are in ascending `EdgeId` order, so a pass over the rows that adds each edge's
//! term into its source's (or target's) accumulator adds every node's terms in ascending
//! `EdgeId` order: exactly the summation order of MODEL.md section 5, and the same bits as
//! the compressed-row passes of [`super::transfer`], without building either compressed-row
//! view or the in-slot arrays. That rebuild costs more than the step itself when the graph
//! changes every step (births, deaths, growth); a graph that stays the same from one step to
//! the next goes back to the compressed-row passes, whose data are then built once.
//!
//! Pass A (edges): per source, the [`Sums`] and the out-degree. Pass B (nodes, shared with
//! the compressed-row path): the factors and the outgoing change. Pass C (edges): per target,
//! the incoming change, received and inhibited. Then the plasticity of 5.3 per plastic edge.
//! Node rows are split into one range per thread; each thread streams every edge row and
//! takes those whose source (pass A) or target (pass C) is in its range, so each node's
//! sums still run on one thread in edge order.

use rayon::prelude::*;

use super::cache::{HotCache, Sums};
use super::{Scratch, CHUNK};
use crate::config::Params;
use crate::model::rules::flag;
use crate::store::{NodeKind, Store};

/// Node rows per parallel range of passes A and C (at least; fewer ranges on small graphs).
const MIN_RANGE: usize = 8192;

/// Node row ranges, one per task: `[lo, hi)` for each.
fn ranges(n: usize) -> Vec<(usize, usize)> {
    let tasks = rayon::current_num_threads().min(n.div_ceil(MIN_RANGE)).max(1);
    let per = n.div_ceil(tasks).max(1);
    (0..tasks).map(|t| ((t * per).min(n), ((t + 1) * per).min(n))).collect()
}

/// Pass A: the sums and out-degree of every source, by streaming the edge rows.
pub(super) fn source_sums(cache: &mut HotCache, sc: &mut Scratch, store: &Store) {
    let n = store.nodes().len();
    let edges = store.edges();
    let (src, gates) = (edges.src_rows(), edges.gates());
    let (q, meta) = (&cache.q, &cache.meta);
    let e0 = &sc.e0;
    cache.sums.clear();
    cache.sums.resize(n, Sums::default());
    sc.deg.clear();
    sc.deg.resize(n, 0);
    let parts = ranges(n);
    let mut sums_parts: Vec<&mut [Sums]> = Vec::with_capacity(parts.len());
    let mut deg_parts: Vec<&mut [u32]> = Vec::with_capacity(parts.len());
    let (mut s_rest, mut d_rest) = (&mut cache.sums[..], &mut sc.deg[..]);
    for &(lo, hi) in &parts {
        let (a, b) = std::mem::take(&mut s_rest).split_at_mut(hi - lo);
        sums_parts.push(a);
        s_rest = b;
        let (a, b) = std::mem::take(&mut d_rest).split_at_mut(hi - lo);
        deg_parts.push(a);
        d_rest = b;
    }
    parts.par_iter().zip(sums_parts).zip(deg_parts).for_each(|((&(lo, hi), sums), deg)| {
        for e in 0..src.len() {
            let s = src[e] as usize;
            if s < lo || s >= hi {
                continue;
            }
            let (f, qe) = (meta[e], q[e]);
            // Gated edges of an inactive source count as closed, as in the compressed-row
            // path; those sums are not used (an inactive source moves nothing).
            let open = f & flag::CONDUCTS != 0 && (f & flag::GATED == 0 || e0[s] >= gates[e]);
            let x = &mut sums[s - lo];
            // Branch-free, as in `HotCache::source_sums`: adding +0 is exact.
            x.b += if f & flag::INTO_SENSORY != 0 { qe } else { 0.0 };
            x.c += if open { qe } else { 0.0 };
            x.n += u32::from(open);
            x.p += if open && f & flag::NEGATIVE == 0 { qe } else { 0.0 };
            deg[s - lo] += 1;
        }
    });
}

/// Pass C and plasticity: per target the incoming change (into `sc.inc`); returns the
/// ledger's `(received, inhibited)`, summed per fixed chunk of target rows as the
/// compressed-row path does.
pub(super) fn targets(cache: &mut HotCache, sc: &mut Scratch, store: &mut Store, params: &Params) -> (f64, f64) {
    let n = store.nodes().len();
    sc.inc.clear();
    sc.inc.resize(n, 0.0);
    sc.rec.clear();
    sc.rec.resize(n, 0.0);
    sc.inh.clear();
    sc.inh.resize(n, 0.0);
    {
        let edges = store.edges();
        let (src, dst, gates) = (edges.src_rows(), edges.dst_rows(), edges.gates());
        let (q, meta) = (&cache.q, &cache.meta);
        let (e0, recv) = (&sc.e0, &sc.recv);
        let parts = ranges(n);
        let mut acc_parts = Vec::with_capacity(parts.len());
        let (mut a_rest, mut r_rest, mut i_rest) = (&mut sc.inc[..], &mut sc.rec[..], &mut sc.inh[..]);
        for &(lo, hi) in &parts {
            let (a, b) = std::mem::take(&mut a_rest).split_at_mut(hi - lo);
            let (r, rb) = std::mem::take(&mut r_rest).split_at_mut(hi - lo);
            let (i, ib) = std::mem::take(&mut i_rest).split_at_mut(hi - lo);
            acc_parts.push((a, r, i));
            (a_rest, r_rest, i_rest) = (b, rb, ib);
        }
        parts.par_iter().zip(acc_parts).for_each(|(&(lo, hi), (acc, rec, inh))| {
            for e in 0..dst.len() {
                let d = dst[e] as usize;
                if d < lo || d >= hi {
                    continue;
                }
                let s = src[e] as usize;
                let m = meta[e];
                let open = m & flag::CONDUCTS != 0 && (m & flag::GATED == 0 || e0[s] >= gates[e]);
                // `recv` is +0 for inactive sources; masked terms are +-0, which change no
                // sum (the argument of the compressed-row pull loop).
                let r = if open { recv[s] * q[e] } else { 0.0 };
                let neg = m & flag::NEGATIVE != 0;
                let k = d - lo;
                acc[k] += if neg { -r } else { r };
                rec[k] += if neg { 0.0 } else { r };
                inh[k] += if neg { r } else { 0.0 };
            }
        });
    }
    if params.transfer.plasticity {
        plasticity(cache, sc, store, params);
    }
    let (rec, inh) = (&sc.rec, &sc.inh);
    let parts: Vec<(f64, f64)> = rec
        .par_chunks(CHUNK)
        .zip(inh.par_chunks(CHUNK))
        .map(|(r, i)| {
            let (mut rs, mut is) = (0.0f64, 0.0f64);
            for (&r, &i) in r.iter().zip(i) {
                rs += f64::from(r);
                is += f64::from(i);
            }
            (rs, is)
        })
        .collect();
    parts.iter().fold((0.0, 0.0), |(a, b), &(r, i)| (a + r, b + i))
}

/// 5.3 on every conducting plastic edge of an active source, from the incoming changes.
fn plasticity(cache: &mut HotCache, sc: &Scratch, store: &mut Store, params: &Params) {
    let cap = params.energy.energy_cap;
    let [wmin, wmax] = params.transfer.plastic_weight_range;
    let ws = NodeKind::Workspace.code();
    let mut updates: Vec<(usize, f32, f32)> = Vec::new();
    {
        let (edges, nodes) = (store.edges(), store.nodes());
        let (src, dst, weights, lrs) = (edges.src_rows(), edges.dst_rows(), edges.weights(), edges.plastic_lrs());
        let kinds = nodes.kinds();
        for (e, &m) in cache.meta.iter().enumerate() {
            if m & flag::PLASTIC == 0 || m & flag::CONDUCTS == 0 {
                continue;
            }
            let (s, d) = (src[e] as usize, dst[e] as usize);
            let x = sc.e0[s];
            if kinds[s] == ws || !(x > 0.0) {
                continue;
            }
            let drive = (sc.inc[d] / cap).clamp(-1.0, 1.0);
            let w = (weights[e] + (lrs[e] * (x / cap)) * drive).clamp(wmin, wmax);
            updates.push((e, w, cache.dst_scale(store, d)));
        }
    }
    let weights = store.edge_weights_mut();
    for (e, w, ds) in updates {
        weights[e] = w;
        cache.q[e] = w.abs() * ds;
        cache.meta[e] = (cache.meta[e] & !flag::NEGATIVE) | if w < 0.0 { flag::NEGATIVE } else { 0 };
    }
}
