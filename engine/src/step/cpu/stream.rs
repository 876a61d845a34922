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
//! Passes A and C run on one thread: splitting the edge rows would split some node's sum,
//! and splitting the nodes makes every thread read every edge row.

use super::cache::{conducts, source_factor, HotCache, Sums};
use super::factors::{q_of, with_sign};
use super::{Scratch, CHUNK};
use crate::config::Params;
use crate::model::rules::flag;
use crate::store::{NodeKind, Store};

/// Pass A: the sums and out-degree of every source, by streaming the edge rows.
pub(super) fn source_sums(cache: &mut HotCache, sc: &mut Scratch, store: &Store) {
    let n = store.nodes().len();
    let edges = store.edges();
    // Gates where the flags say Gated (`conducts` reads them only there).
    let (src, gates) = (edges.src_rows(), edges.kind_params());
    let e0 = &sc.e0;
    cache.sums.clear();
    cache.sums.resize(n, Sums::default());
    let sums: &mut [Sums] = &mut cache.sums;
    let (meta, q, e0) = (&cache.meta[..], &cache.q[..], &e0[..]);
    let n_edges = meta.len().min(q.len()).min(src.len()).min(gates.len());
    for e in 0..n_edges {
        let (f, s) = (meta[e], src[e] as usize);
        // Gated edges of an inactive source count as open or closed here by its E0, where
        // the compressed-row path counts them closed: those sums are not used (an inactive
        // source moves nothing).
        sums[s].add_edge(f, q[e], conducts(f, e0[s], gates[e]));
    }
}

/// Pass B (in parallel over fixed chunks of rows; on two threads, two runs of them): per source the factors, the outgoing change (into `sc.out`) and
/// `[E0_i, transmission_loss * a_i]` (into `sc.pair`), from the sums of pass A. The same
/// arithmetic as the compressed-row source pass, and the same ledger sums (per fixed chunk of
/// rows, chunks added in order). Returns `((paid, burned), conducting edges)`.
pub(super) fn amounts(cache: &HotCache, sc: &mut Scratch, store: &Store, params: &Params) -> ((f64, f64), u64) {
    let tr = &params.transfer;
    let (tc, tl, mof, sb) = (tr.transfer_capacity, tr.transmission_loss, tr.max_outflow_fraction, tr.sensory_burn);
    let nodes = store.nodes();
    let n = nodes.len();
    let (ws, dynk) = (NodeKind::Workspace.code(), NodeKind::Dynamic.code());
    let table = cache.scale_table;
    let (kinds, subtypes, e0, sums) = (nodes.kinds(), nodes.subtypes(), &sc.e0[..n], &cache.sums[..n]);
    // Every row of `out` and `pair` is written below (the caller sized them).
    sc.out.resize(n, 0.0);
    sc.pair.resize(n, [0.0; 2]);
    sc.deg.clear();
    sc.deg.extend(sums.iter().map(|s| u32::from(s.deg)));
    let work = |(ci, (out, pair)): (usize, (&mut [f32], &mut [[f32; 2]]))| {
        let lo = ci * CHUNK;
        let (mut paid_sum, mut burned_sum, mut conducting) = (0.0f64, 0.0f64, 0u64);
        // Per block of rows: the amounts without a branch (every row computes its factor,
        // an inactive one's is replaced by 0), then the ledger sums in row order.
        let mut terms = [[0.0f32; 2]; BLOCK];
        for (bi, (out, pair)) in out.chunks_mut(BLOCK).zip(pair.chunks_mut(BLOCK)).enumerate() {
            let b0 = lo + bi * BLOCK;
            let m = out.len().min(pair.len());
            let rows = b0..b0 + m;
            let (e0, kinds, subtypes, sums) =
                (&e0[rows.clone()], &kinds[rows.clone()], &subtypes[rows.clone()], &sums[rows]);
            for k in 0..m.min(e0.len()).min(kinds.len()).min(subtypes.len()).min(sums.len()) {
                let (e, kind, s) = (e0[k], kinds[k], sums[k]);
                let active = (kind != ws) & (e > 0.0);
                let scale = if kind == dynk { table[usize::from(subtypes[k]).min(3)].0 } else { 1.0 };
                // An inactive source moves nothing (and adding its +0 terms to the ledger
                // sums changes no bit).
                let f = source_factor(tc, mof, sb, e, scale, &s);
                let a = if active { f } else { 0.0 };
                let paid = a * s.p;
                let burned = sb * (a * s.b);
                out[k] = paid + burned;
                pair[k] = [e, tl * a];
                terms[k] = [paid, burned];
                conducting += u64::from(s.n) * u64::from(a != 0.0);
            }
            for t in &terms[..m] {
                paid_sum += f64::from(t[0]);
                burned_sum += f64::from(t[1]);
            }
        }
        (paid_sum, burned_sum, conducting)
    };
    let (out, pair) = (&mut sc.out[..n], &mut sc.pair[..n]);
    let chunks: Vec<_> = out.chunks_mut(CHUNK).zip(pair.chunks_mut(CHUNK)).collect();
    let parts: Vec<(f64, f64, u64)> = crate::join::chunk_map(chunks, (n, CHUNK), |i, c| work((i, c)));
    super::transfer::sum_chunks(parts)
}

/// Rows per block of [`amounts`]' loops.
const BLOCK: usize = 256;

/// The new weight of a plastic edge: edge row, weight, target scale.
pub(super) type WeightUpdate = (usize, f32, f32);

/// Pass C and the plasticity of 5.3: per target the incoming change (into `sc.inc`); returns
/// the ledger's `(received, inhibited)`, summed per fixed chunk of target rows as the
/// compressed-row path does, and the new plastic weights (applied by [`apply_weights`]).
pub(super) fn targets(
    cache: &mut HotCache,
    sc: &mut Scratch,
    store: &Store,
    params: &Params,
) -> ((f64, f64), Vec<WeightUpdate>) {
    let n = store.nodes().len();
    // Per target: incoming change, received, inhibited (16 bytes per target). Every entry
    // is +0 between steps (the pass after this one zeroes each as it reads it, and new
    // entries are zero): no pass of its own to clear it.
    sc.tgt.resize(n, [0.0; 4]);
    debug_assert!(sc.tgt.iter().all(|t| t.iter().all(|x| x.to_bits() == 0)), "the target sums start at +0");
    {
        let edges = store.edges();
        let (src, dst, gates) = (edges.src_rows(), edges.dst_rows(), edges.kind_params());
        let (q, meta): (&[f32], &[u8]) = (&cache.q, &cache.meta);
        let (pair, tgt): (&[[f32; 2]], &mut [[f32; 4]]) = (&sc.pair, &mut sc.tgt);
        let n_edges = meta.len().min(q.len()).min(src.len()).min(dst.len()).min(gates.len());
        for e in 0..n_edges {
            let (m, s, d) = (meta[e], src[e] as usize, dst[e] as usize);
            let [x0, recv] = pair[s];
            let open = conducts(m, x0, gates[e]);
            // `recv` is +0 for inactive sources; masked terms are +-0, which change no sum
            // (the argument of the compressed-row pull loop).
            let r = if open { recv * q[e] } else { 0.0 };
            let neg = m & flag::NEGATIVE != 0;
            let t = &mut tgt[d];
            t[0] += if neg { -r } else { r };
            t[1] += if neg { 0.0 } else { r };
            t[2] += if neg { r } else { 0.0 };
        }
    }
    // The incoming changes, and the ledger's sums per fixed chunk of targets; each entry
    // zeroed once read.
    sc.inc.resize(n, 0.0);
    let chunks: Vec<_> = sc.tgt.chunks_mut(CHUNK).zip(sc.inc.chunks_mut(CHUNK)).collect();
    let parts: Vec<(f64, f64)> = crate::join::chunk_map(chunks, (n, CHUNK), |_, (tgt, inc)| {
        let (mut rs, mut is) = (0.0f64, 0.0f64);
        for (t, i) in tgt.iter_mut().zip(inc) {
            *i = t[0];
            rs += f64::from(t[1]);
            is += f64::from(t[2]);
            *t = [0.0; 4];
        }
        (rs, is)
    });
    let updates = if params.transfer.plasticity { plastic_updates(cache, sc, store, params) } else { Vec::new() };
    (parts.iter().fold((0.0, 0.0), |(a, b), &(r, i)| (a + r, b + i)), updates)
}

/// 5.3 on every conducting plastic edge of an active source, from the incoming changes.
fn plastic_updates(cache: &HotCache, sc: &Scratch, store: &Store, params: &Params) -> Vec<WeightUpdate> {
    let cap = params.energy.energy_cap;
    let [wmin, wmax] = params.transfer.plastic_weight_range;
    let ws = NodeKind::Workspace.code();
    let mut updates = Vec::new();
    let (edges, nodes) = (store.edges(), store.nodes());
    // Learning rates where the flags say Plastic (the only rows read).
    let (src, dst, weights, lrs) = (edges.src_rows(), edges.dst_rows(), edges.weights(), edges.kind_params());
    let (kinds, subtypes) = (nodes.kinds(), nodes.subtypes());
    let want = flag::PLASTIC | flag::CONDUCTS;
    // Per block of rows, the conducting plastic ones listed without a branch (they are
    // mixed with the others at random), then visited in order.
    let mut rows = [0u32; BLOCK];
    for (bi, block) in cache.meta.chunks(BLOCK).enumerate() {
        let mut k = 0;
        for (j, &m) in block.iter().enumerate() {
            rows[k] = j as u32;
            k += usize::from(m & want == want);
        }
        for &j in &rows[..k] {
            let e = bi * BLOCK + j as usize;
            let (s, d) = (src[e] as usize, dst[e] as usize);
            let x = sc.e0[s];
            if kinds[s] == ws || !(x > 0.0) {
                continue;
            }
            let drive = (sc.inc[d] / cap).clamp(-1.0, 1.0);
            let w = (weights[e] + (lrs[e] * (x / cap)) * drive).clamp(wmin, wmax);
            updates.push((e, w, cache.scales_in(kinds, subtypes, d).1));
        }
    }
    updates
}

/// Write new plastic weights into the store and the per-edge cache entries.
pub(super) fn apply_weights(cache: &mut HotCache, store: &mut Store, updates: &[WeightUpdate]) {
    let weights = store.edge_weights_mut();
    for &(e, w, ds) in updates {
        weights[e] = w;
        cache.q[e] = q_of(w, ds);
        cache.meta[e] = with_sign(cache.meta[e], w);
    }
}
