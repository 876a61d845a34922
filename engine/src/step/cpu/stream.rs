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
use super::factors::{by_subtype, q_of, with_sign};
use super::{Scratch, CHUNK, SOURCE_CHUNK};
use crate::config::Params;
use crate::model::rules::flag;
use crate::store::{ones, NodeKind, Store};

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
    // Per block of edge rows: each edge's terms without a branch (vectorised), then added
    // into its source's sums in row order (see `source_terms`).
    let mut terms = [[0.0f32; 4]; BLOCK];
    for lo in (0..n_edges).step_by(BLOCK) {
        let rows = lo..(lo + BLOCK).min(n_edges);
        let m = rows.len();
        let cols = (&meta[rows.clone()], &src[rows.clone()], &q[rows.clone()], &gates[rows.clone()]);
        source_terms_fast(cols, e0, &mut terms);
        add_source_terms(sums, &src[rows], &terms[..m]);
    }
}

/// Add each edge's terms (of [`source_terms`]) into its source's sums, in row order: the
/// three sums as `f32` additions, the two counts as one addition of their word (the
/// conducting count, at most the out-degree, a `u16`, never carries into it).
#[cfg(not(target_arch = "x86_64"))]
fn add_source_terms(sums: &mut [Sums], src: &[u32], terms: &[[f32; 4]]) {
    for (&s, &[c, p, b, k]) in src.iter().zip(terms) {
        if let Some(sums) = sums.get_mut(s as usize) {
            let k = k.to_bits();
            sums.c += c;
            sums.p += p;
            sums.b += b;
            sums.n += (k & 0xffff) as u16;
            sums.deg += (k >> 16) as u16;
        }
    }
}

/// Add each edge's terms (of [`source_terms`]) into its source's sums, in row order: one
/// 16-byte read and write of the sums per edge (three of each, field by field, measured
/// slower), the three sums as `f32` additions lane by lane (the bits of scalar additions),
/// the two counts as one addition of their word (the conducting count, at most the
/// out-degree, a `u16`, never carries into it).
#[cfg(target_arch = "x86_64")]
fn add_source_terms(sums: &mut [Sums], src: &[u32], terms: &[[f32; 4]]) {
    use std::arch::x86_64::{
        _mm_add_epi32, _mm_add_ps, _mm_and_ps, _mm_andnot_ps, _mm_castps_si128, _mm_castsi128_ps, _mm_loadu_ps,
        _mm_or_ps, _mm_set_epi32, _mm_storeu_ps,
    };
    for (&s, t) in src.iter().zip(terms) {
        let Some(cur) = sums.get_mut(s as usize) else { continue };
        // `Sums` is `repr(C)`, 16 bytes: three `f32`, then the two `u16` counts, the
        // conducting one first (the low half of the little-endian word at byte 12).
        let at: *mut f32 = (cur as *mut Sums).cast();
        #[allow(unsafe_code)]
        // SAFETY: `at` points to the 16 bytes of `cur` alone (borrowed mutably here), `t` to
        // 16 bytes; unaligned 16-byte loads and stores, and SSE2, which every x86_64 has.
        unsafe {
            // Lanes 0 to 2 (the sums); lane 3 holds the counts' word.
            let sums_lanes = _mm_castsi128_ps(_mm_set_epi32(0, -1, -1, -1));
            let (old, add) = (_mm_loadu_ps(at), _mm_loadu_ps(t.as_ptr()));
            // The sums with the counts' lane at +0 (no arithmetic on its bits as a float).
            let f = _mm_add_ps(_mm_and_ps(old, sums_lanes), _mm_and_ps(add, sums_lanes));
            let k = _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(old), _mm_castps_si128(add)));
            _mm_storeu_ps(at, _mm_or_ps(_mm_and_ps(sums_lanes, f), _mm_andnot_ps(sums_lanes, k)));
        }
    }
}

crate::rng::vector_forms!(source_terms_fast, source_terms, source_terms_avx512, source_terms_avx2,
    (c: EdgesIn<'_>, e0: &[f32], o: &mut [[f32; 4]; BLOCK]) -> ());

/// Pass A's terms of one block of edge rows: per edge its `q_e` times its factors in its
/// source's `c`, `p` and `b` sums (as [`Sums::add_edge`] computes them: each product is
/// `q_e` or +0), and, as the bits of the fourth lane, its counts: conducting in bit 0 and
/// live in bit 16 (the lanes in the order of [`Sums`]' fields). Gated edges of an
/// inactive source count as open or closed here by its `E0`, where the compressed-row path
/// counts them closed: those sums are not used (an inactive source moves nothing).
#[inline(always)]
fn source_terms((meta, src, q, gates): EdgesIn<'_>, e0: &[f32], terms: &mut [[f32; 4]; BLOCK]) {
    let m = meta.len().min(src.len()).min(q.len()).min(gates.len()).min(BLOCK);
    for k in 0..m {
        let f = meta[k];
        let x0 = e0.get(src[k] as usize).copied().unwrap_or_default();
        let open = conducts(f, x0, gates[k]);
        let (into_sensory, neg) = (f & flag::INTO_SENSORY != 0, f & flag::NEGATIVE != 0);
        let one = |b: bool| if b { 1.0f32 } else { 0.0 };
        let counts = u32::from(open) | u32::from(f & flag::DEAD == 0) << 16;
        terms[k] = [q[k] * one(open), q[k] * one(open & !neg), q[k] * one(into_sensory), f32::from_bits(counts)];
    }
}

/// Pass B (in parallel over fixed chunks of rows; on two threads, two runs of them): per source the factors, the outgoing change (into `sc.out`) and
/// `[E0_i, transmission_loss * a_i]` (into `sc.pair`), from the sums of pass A. The same
/// arithmetic as the compressed-row source pass, and the same ledger sums (per fixed chunk of
/// rows, chunks added in order). Returns `((paid, burned), conducting edges)`.
pub(super) fn amounts(cache: &HotCache, sc: &mut Scratch, store: &Store, params: &Params) -> ((f64, f64), u64) {
    let tr = &params.transfer;
    let nodes = store.nodes();
    let n = nodes.len();
    let p = PassB {
        tc: tr.transfer_capacity,
        tl: tr.transmission_loss,
        mof: tr.max_outflow_fraction,
        sb: tr.sensory_burn,
        ws: NodeKind::Workspace.code(),
        dynk: NodeKind::Dynamic.code(),
        scale: cache.scale_table.map(|s| s.0),
    };
    let (kinds, subtypes, e0, sums) = (nodes.kinds(), nodes.subtypes(), &sc.e0[..n], &cache.sums[..n]);
    // Every row of `out`, `pair` and `deg` is written below (the out-degrees for 5.4 and
    // spawn: by each chunk, not in a pass of their own before them, 7 us a step of
    // `default.toml` on the calling thread).
    sc.out.resize(n, 0.0);
    sc.pair.resize(n, [0.0; 2]);
    sc.deg.resize(n, 0);
    let work = |(ci, ((out, pair), deg)): (usize, OutChunk<'_>)| {
        let lo = ci * SOURCE_CHUNK;
        let (mut paid_sum, mut burned_sum, mut conducting) = (0.0f64, 0.0f64, 0u64);
        // Per block of rows: the amounts without a branch (every row computes its factor,
        // an inactive one's is replaced by 0), then the ledger sums in row order.
        let mut terms = [[0.0f32; 2]; BLOCK];
        for (bi, (out, pair)) in out.chunks_mut(BLOCK).zip(pair.chunks_mut(BLOCK)).enumerate() {
            let b0 = lo + bi * BLOCK;
            let rows = b0..b0 + out.len().min(pair.len());
            let cols = (&e0[rows.clone()], &kinds[rows.clone()], &subtypes[rows.clone()], &sums[rows.clone()]);
            conducting += amounts_fast(&p, cols, (out, pair), &mut terms);
            for t in &terms[..rows.len()] {
                paid_sum += f64::from(t[0]);
                burned_sum += f64::from(t[1]);
            }
        }
        for (d, s) in deg.iter_mut().zip(&sums[lo..]) {
            *d = u32::from(s.deg);
        }
        (paid_sum, burned_sum, conducting)
    };
    let (out, pair, deg) = (&mut sc.out[..n], &mut sc.pair[..n], &mut sc.deg[..n]);
    let chunks: Vec<_> =
        out.chunks_mut(SOURCE_CHUNK).zip(pair.chunks_mut(SOURCE_CHUNK)).zip(deg.chunks_mut(SOURCE_CHUNK)).collect();
    let parts: Vec<(f64, f64, u64)> =
        crate::join::chunk_map_share(chunks, (n, SOURCE_CHUNK), (9, 16), |i, c| work((i, c)));
    super::transfer::sum_chunks(parts)
}

/// Rows per block of [`amounts`]' loops.
const BLOCK: usize = 256;

/// One chunk of pass B's outputs: outgoing changes, pairs, out-degrees.
type OutChunk<'a> = ((&'a mut [f32], &'a mut [[f32; 2]]), &'a mut [u32]);

/// The constants of pass B: the transfer parameters, the kinds it tells apart, and the
/// source scale of each dynamic subtype.
struct PassB {
    tc: f32,
    tl: f32,
    mof: f32,
    sb: f32,
    ws: u8,
    dynk: u8,
    scale: [f32; 4],
}

/// One block's columns of pass B: `E0`, kind, subtype and sums per row.
type BlockIn<'a> = (&'a [f32], &'a [u8], &'a [u8], &'a [Sums]);

crate::rng::vector_forms!(amounts_fast, amounts_block, amounts_avx512, amounts_avx2,
    (p: &PassB, c: BlockIn<'_>, o: (&mut [f32], &mut [[f32; 2]]), terms: &mut [[f32; 2]; BLOCK]) -> u64);

/// Pass B on one block of rows: each row's outgoing change into `out`, its pair into
/// `pair` and its ledger terms `[paid, burned]` into `terms`; returns the conducting edges
/// of its active sources. Every row computes its factor, an inactive one's replaced by 0:
/// no branch, so that the loop can be vectorised (the same operations per row, so the same
/// bits).
#[inline(always)]
fn amounts_block(
    p: &PassB,
    (e0, kinds, subtypes, sums): BlockIn<'_>,
    (out, pair): (&mut [f32], &mut [[f32; 2]]),
    terms: &mut [[f32; 2]; BLOCK],
) -> u64 {
    let m = out.len().min(pair.len()).min(BLOCK);
    let (e0, kinds, subtypes, sums) = (&e0[..m], &kinds[..m], &subtypes[..m], &sums[..m]);
    let mut conducting = 0u32;
    for k in 0..m {
        let (e, kind, s) = (e0[k], kinds[k], sums[k]);
        let active = (kind != p.ws) & (e > 0.0);
        // The subtype's scale by selects, not a lookup (which would be a gather); computed
        // for every row, then chosen (a choice between calls kept the loop scalar).
        let sub = by_subtype(p.scale, subtypes[k]);
        let scale = if kind == p.dynk { sub } else { 1.0 };
        // An inactive source moves nothing (and adding its +0 terms to the ledger sums
        // changes no bit).
        let f = source_factor(p.tc, p.mof, p.sb, e, scale, &s);
        let a = if active { f } else { 0.0 };
        let paid = a * s.p;
        let burned = p.sb * (a * s.b);
        out[k] = paid + burned;
        pair[k] = [e, p.tl * a];
        terms[k] = [paid, burned];
        conducting += u32::from(s.n) * u32::from(a != 0.0);
    }
    u64::from(conducting)
}

/// One block's columns of pass C: flags, source row, `q_e` and gate per edge row.
type EdgesIn<'a> = (&'a [u8], &'a [u32], &'a [f32], &'a [f32]);

crate::rng::vector_forms!(target_terms_fast, target_terms, target_terms_avx512, target_terms_avx2,
    (c: EdgesIn<'_>, pair: &[[f32; 2]], terms: &mut [[f32; 4]; BLOCK]) -> ());

/// Pass C's terms of one block of edge rows: per edge `[incoming change, received,
/// inhibited, 0]` of its target, from its source's pair. `recv` is +0 for inactive
/// sources, and a closed edge's amount is +0; an excitatory edge adds +0 to the inhibited
/// sum and an inhibitory one +0 to the received, and masked terms are +-0, which change no
/// sum (the argument of the compressed-row pull loop).
#[inline(always)]
fn target_terms((meta, src, q, gates): EdgesIn<'_>, pair: &[[f32; 2]], terms: &mut [[f32; 4]; BLOCK]) {
    let m = meta.len().min(src.len()).min(q.len()).min(gates.len()).min(BLOCK);
    for k in 0..m {
        let f = meta[k];
        let [x0, recv] = pair.get(src[k] as usize).copied().unwrap_or_default();
        let r = if conducts(f, x0, gates[k]) { recv * q[k] } else { 0.0 };
        let neg = f & flag::NEGATIVE != 0;
        terms[k] = [if neg { -r } else { r }, if neg { 0.0 } else { r }, if neg { r } else { 0.0 }, 0.0];
    }
}

/// The new weight of a plastic edge: edge row, weight, target scale.
pub(super) type WeightUpdate = (usize, f32, f32);

/// Pass C: per target the incoming change (into `sc.inc`); returns the ledger's `(received,
/// inhibited)`, summed per fixed chunk of target rows as the compressed-row path does. (The
/// plasticity of 5.3, which reads the incoming changes, runs beside 5.4: [`super::plastic::updates`],
/// its weights written by [`write_weights`].)
pub(super) fn targets(cache: &mut HotCache, sc: &mut Scratch, store: &Store) -> (f64, f64) {
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
        // Per block of edge rows: each edge's terms without a branch (vectorised), then
        // added into its target's sums in row order. The terms do not depend on the sums,
        // so the additions run ahead without waiting for the gathers of the source pairs.
        let mut terms = [[0.0f32; 4]; BLOCK];
        for lo in (0..n_edges).step_by(BLOCK) {
            let rows = lo..(lo + BLOCK).min(n_edges);
            let m = rows.len();
            let cols = (&meta[rows.clone()], &src[rows.clone()], &q[rows.clone()], &gates[rows.clone()]);
            target_terms_fast(cols, pair, &mut terms);
            for (&d, v) in dst[rows].iter().zip(&terms[..m]) {
                let t = &mut tgt[d as usize];
                // `[incoming change, received, inhibited, 0]`: the pad lane adds +0 to +0.
                for (x, y) in t.iter_mut().zip(v) {
                    *x += *y;
                }
            }
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
    parts.iter().fold((0.0, 0.0), |(a, b), &(r, i)| (a + r, b + i))
}

/// The rows of `meta` whose flags have every flag of `want`, ascending: a mask word per 64
/// rows ([`flagged`], every word in one call of a compiled form: one call per word took
/// about 30 ns each), then its bits.
pub(super) fn flagged_rows(meta: &[u8], want: u8) -> Vec<u32> {
    let mut words = vec![0u64; meta.len().div_ceil(64)];
    flagged_words_fast(meta, want, &mut words);
    let mut rows = Vec::with_capacity(words.iter().map(|w| w.count_ones() as usize).sum());
    for (bi, &w) in words.iter().enumerate() {
        rows.extend(ones(w).map(|k| (bi * 64 + k) as u32));
    }
    rows
}

crate::rng::vector_forms!(flagged_words_fast, flagged_words, flagged_words_avx512, flagged_words_avx2,
    (meta: &[u8], want: u8, words: &mut [u64]) -> ());

/// [`flagged`] for every 64 rows of `meta`, into `words`.
#[inline(always)]
fn flagged_words(meta: &[u8], want: u8, words: &mut [u64]) {
    for (w, block) in words.iter_mut().zip(meta.chunks(64)) {
        *w = flagged(block, want);
    }
}

/// Bit `k` set where flag byte `k` of up to 64 has every flag of `want`: a loop without
/// branches, which the compiled forms of [`flagged_words`] vectorise. (Listing the
/// conducting plastic edges of `default.toml` by an index per row, the whole of 5.3 took
/// 37-47 us a step by a timer; so, 30-41.)
#[inline(always)]
fn flagged(meta: &[u8], want: u8) -> u64 {
    let mut mask = 0u64;
    for (k, &m) in meta.iter().enumerate().take(64) {
        mask |= u64::from(m & want == want) << k;
    }
    mask
}

/// Write new plastic weights into the edge table's weight column `weights` and the per-edge
/// cache entries (the caller then calls `Store::edge_weights_written`).
pub(super) fn write_weights(cache: &mut HotCache, weights: &mut [f32], updates: &[WeightUpdate]) {
    cache.weights_changed |= !updates.is_empty();
    for &(e, w, ds) in updates {
        weights[e] = w;
        cache.q[e] = q_of(w, ds);
        cache.meta[e] = with_sign(cache.meta[e], w);
    }
}

#[cfg(test)]
mod tests {
    use super::super::cache::{conducts, source_factor, Sums};
    use super::{
        amounts_block, flagged, flagged_rows, flagged_words, flagged_words_avx2, flagged_words_avx512, source_terms,
        target_terms, PassB, BLOCK,
    };
    use crate::model::rules::flag;

    /// The masks of rows with every wanted flag agree with a test row by row, in the portable
    /// form and every compiled one, over words that are not full; so do the rows listed.
    #[test]
    fn the_masks_of_flagged_rows_agree_in_every_form() {
        let mut next = crate::rng::test_words(3);
        let meta: Vec<u8> = (0..300).map(|_| next() as u8).collect();
        let want = flag::PLASTIC | flag::CONDUCTS;
        let mut expect = vec![0u64; meta.len().div_ceil(64)];
        for (lo, w) in (0..meta.len()).step_by(64).zip(&mut expect) {
            let m = &meta[lo..(lo + 64).min(meta.len())];
            *w = m.iter().enumerate().fold(0u64, |w, (k, &f)| w | u64::from(f & want == want) << k);
            assert!(*w != 0 && w.count_ones() < m.len() as u32, "both outcomes in rows {lo}..");
            assert_eq!(flagged(m, want), *w, "portable, rows {lo}..");
        }
        let mut got = vec![0u64; expect.len()];
        flagged_words(&meta, want, &mut got);
        assert_eq!(got, expect, "portable, every word");
        for form in crate::rng::forms_found() {
            let mut got = vec![0u64; expect.len()];
            #[allow(unsafe_code)]
            // SAFETY: each form is called only where its feature was detected.
            unsafe {
                if form == "avx2" {
                    flagged_words_avx2(&meta, want, &mut got)
                } else {
                    flagged_words_avx512(&meta, want, &mut got)
                }
            };
            assert_eq!(got, expect, "{form}");
        }
        let rows: Vec<u32> = (0..meta.len() as u32).filter(|&r| meta[r as usize] & want == want).collect();
        assert_eq!(flagged_rows(&meta, want), rows);
    }

    /// A flag byte with each of the flags the passes read set at random (a dead row only
    /// alone, as the cache flags it).
    fn flags(w: u64) -> u8 {
        if w % 11 == 0 {
            return flag::DEAD;
        }
        let bits = [flag::CONDUCTS, flag::INTO_SENSORY, flag::NEGATIVE, flag::GATED];
        bits.iter().enumerate().fold(0, |f, (i, &b)| f | if (w >> (8 + 3 * i)) % 3 == 0 { 0 } else { b })
    }

    fn unit(w: u64) -> f32 {
        (w >> 40) as f32 / (1u64 << 24) as f32
    }

    #[test]
    fn the_edge_passes_terms_are_those_of_a_branch_per_edge() {
        let mut next = crate::rng::test_words(0x9e37_79b9_7f4a_7c15);
        let (n_nodes, m) = (40usize, BLOCK - 5);
        let e0: Vec<f32> = (0..n_nodes).map(|i| if i % 7 == 0 { 0.0 } else { unit(next()) * 5.0 }).collect();
        // `[E0, transmission_loss * a]`, +0 for an inactive source.
        let pair: Vec<[f32; 2]> = e0.iter().map(|&x| [x, if x > 0.0 { 0.9 * x * unit(next()) } else { 0.0 }]).collect();
        let meta: Vec<u8> = (0..m).map(|_| flags(next())).collect();
        let src: Vec<u32> = (0..m).map(|_| (next() % n_nodes as u64) as u32).collect();
        let q: Vec<f32> = (0..m).map(|k| if meta[k] == flag::DEAD { 0.0 } else { unit(next()) * 2.0 }).collect();
        let gates: Vec<f32> = (0..m).map(|_| unit(next()) * 5.0).collect();
        let cols = (&meta[..], &src[..], &q[..], &gates[..]);
        let (mut t, mut s) = ([[0.0f32; 4]; BLOCK], [[0.0f32; 4]; BLOCK]);
        target_terms(cols, &pair, &mut t);
        source_terms(cols, &e0, &mut s);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for k in 0..m {
            let (f, sr) = (meta[k], src[k] as usize);
            // Pass C as a branch per edge.
            let [x0, recv] = pair[sr];
            let r = if conducts(f, x0, gates[k]) { recv * q[k] } else { 0.0 };
            let want = if f & flag::NEGATIVE != 0 { [-r, 0.0, r, 0.0] } else { [r, r, 0.0, 0.0] };
            assert_eq!(bits(&t[k]), bits(&want), "pass C, edge {k}, flags {f:#x}");
            // Pass A: one edge's sums as `Sums::add_edge` adds it.
            let mut one = Sums::default();
            one.add_edge(f, q[k], conducts(f, e0[sr], gates[k]));
            assert_eq!(bits(&s[k][..3]), bits(&[one.c, one.p, one.b]), "pass A, edge {k}, flags {f:#x}");
            assert_eq!(s[k][3].to_bits(), u32::from(one.n) | u32::from(one.deg) << 16, "pass A counts, edge {k}");
            // Added into sums that hold some edges already: the bits of `Sums::add_edge`.
            let mut before = Sums { c: 1.5, p: 0.25, b: 3.0, n: 7, deg: 9 };
            let mut added = before;
            super::add_source_terms(std::slice::from_mut(&mut added), &[0], &s[k..k + 1]);
            before.add_edge(f, q[k], conducts(f, e0[sr], gates[k]));
            let fields = |x: &Sums| (x.c.to_bits(), x.p.to_bits(), x.b.to_bits(), x.n, x.deg);
            assert_eq!(fields(&added), fields(&before), "pass A added, edge {k}, flags {f:#x}");
        }
        // Every compiled form gives the same bits.
        #[cfg(target_arch = "x86_64")]
        for name in crate::rng::forms_found() {
            let (mut t2, mut s2) = ([[0.0f32; 4]; BLOCK], [[0.0f32; 4]; BLOCK]);
            #[allow(unsafe_code)]
            // SAFETY: each form is called only where its feature was detected just above.
            unsafe {
                if name == "avx2" {
                    super::target_terms_avx2(cols, &pair, &mut t2);
                    super::source_terms_avx2(cols, &e0, &mut s2);
                } else {
                    super::target_terms_avx512(cols, &pair, &mut t2);
                    super::source_terms_avx512(cols, &e0, &mut s2);
                }
            }
            assert_eq!(bits(t2.as_flattened()), bits(t.as_flattened()), "{name}");
            assert_eq!(bits(s2.as_flattened()), bits(s.as_flattened()), "{name}");
        }
    }

    #[test]
    fn pass_b_per_block_is_the_source_factor_of_each_row() {
        let mut next = crate::rng::test_words(0x2545_f491_4f6c_dd1d);
        let p = PassB { tc: 0.8, tl: 0.9, mof: 0.5, sb: 0.3, ws: 2, dynk: 1, scale: [1.5, 0.7, 1.1, 1.0] };
        let m = BLOCK - 9;
        let e0: Vec<f32> = (0..m).map(|k| if k % 5 == 0 { -unit(next()) } else { unit(next()) * 50.0 }).collect();
        let kinds: Vec<u8> = (0..m).map(|_| (next() % 3) as u8).collect();
        let subtypes: Vec<u8> = (0..m).map(|_| (next() % 6) as u8).collect();
        let sums: Vec<Sums> = (0..m)
            .map(|_| Sums {
                c: unit(next()) * 9.0,
                p: unit(next()) * 9.0,
                b: unit(next()),
                n: (next() % 50) as u16,
                deg: 60,
            })
            .collect();
        let (mut out, mut pair, mut terms) = (vec![0.0f32; m], vec![[0.0f32; 2]; m], [[0.0f32; 2]; BLOCK]);
        let conducting = amounts_block(&p, (&e0, &kinds, &subtypes, &sums), (&mut out, &mut pair), &mut terms);
        let mut want_conducting = 0u64;
        for k in 0..m {
            // The row as a branch per case, its scale by a lookup.
            let scale = if kinds[k] == p.dynk { p.scale[usize::from(subtypes[k]).min(3)] } else { 1.0 };
            let active = kinds[k] != p.ws && e0[k] > 0.0;
            let a = if active { source_factor(p.tc, p.mof, p.sb, e0[k], scale, &sums[k]) } else { 0.0 };
            let (paid, burned) = (a * sums[k].p, p.sb * (a * sums[k].b));
            assert_eq!(out[k].to_bits(), (paid + burned).to_bits(), "row {k}");
            assert_eq!(pair[k].map(f32::to_bits), [e0[k], p.tl * a].map(f32::to_bits), "row {k}");
            assert_eq!(terms[k].map(f32::to_bits), [paid, burned].map(f32::to_bits), "row {k}");
            want_conducting += if a != 0.0 { u64::from(sums[k].n) } else { 0 };
        }
        assert_eq!(conducting, want_conducting);
        #[cfg(target_arch = "x86_64")]
        for name in crate::rng::forms_found() {
            let (mut out2, mut pair2, mut terms2) = (vec![0.0f32; m], vec![[0.0f32; 2]; m], [[0.0f32; 2]; BLOCK]);
            let cols = (&e0[..], &kinds[..], &subtypes[..], &sums[..]);
            #[allow(unsafe_code)]
            // SAFETY: each form is called only where its feature was detected just above.
            let c2 = unsafe {
                if name == "avx2" {
                    super::amounts_avx2(&p, cols, (&mut out2, &mut pair2), &mut terms2)
                } else {
                    super::amounts_avx512(&p, cols, (&mut out2, &mut pair2), &mut terms2)
                }
            };
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                (bits(&out2), bits(pair2.as_flattened()), c2),
                (bits(&out), bits(pair.as_flattened()), conducting),
                "{name}"
            );
            assert_eq!(bits(terms2.as_flattened()), bits(terms.as_flattened()), "{name}");
        }
    }
}
