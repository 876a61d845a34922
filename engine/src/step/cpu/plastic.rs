//! 5.3 on the streamed path: the new weight of every conducting plastic edge of an active
//! source, from the incoming changes of pass C.
//!
//! First, per node row, the words the edges gather: the source's `E0` where it is active
//! (else 0, so that `> 0` tells them apart) and the target scale (a loop the compiled forms
//! vectorise). Then the conducting plastic rows, listed from a mask per 64 rows. Then eight
//! listed edges at a time with AVX2 gathers (the compiler keeps this loop's seven gathers
//! per edge scalar: about 18 ns per edge, 40-50 us a step of `default.toml`), the rest and
//! other processors by the same arithmetic one edge at a time.

use super::cache::HotCache;
use super::factors::by_subtype;
use super::stream::{flagged_rows, WeightUpdate};
use super::Scratch;
use crate::config::Params;
use crate::model::rules::flag;
use crate::store::{EdgeTable, NodeKind};

/// Per node row, what 5.3 gathers (kept from step to step).
#[derive(Default)]
pub(super) struct NodeWords {
    active_e0: Vec<f32>,
    dst_scale: Vec<f32>,
}

/// The constants of 5.3.
struct Consts {
    cap: f32,
    range: [f32; 2],
    ws: u8,
    dynk: u8,
    dst_scale: [f32; 4],
}

/// The columns the weights read: per edge row its source and target rows, weight and
/// learning rate; per node row the words of [`node_words`] and the incoming change.
struct Cols<'a> {
    edges: (&'a [u32], &'a [u32], &'a [f32], &'a [f32]),
    nodes: (&'a [f32], &'a [f32], &'a [f32]),
}

/// The new weight, target scale and edge row of every conducting plastic edge of an active
/// source, in row order.
pub(super) fn updates(
    cache: &HotCache,
    sc: &Scratch,
    (edges, kinds, subtypes): (&EdgeTable, &[u8], &[u8]),
    params: &Params,
    words: &mut NodeWords,
) -> Vec<WeightUpdate> {
    let c = Consts {
        cap: params.energy.energy_cap,
        range: params.transfer.plastic_weight_range,
        ws: NodeKind::Workspace.code(),
        dynk: NodeKind::Dynamic.code(),
        dst_scale: cache.scale_table.map(|s| s.1),
    };
    let n = kinds.len().min(subtypes.len()).min(sc.e0.len());
    words.active_e0.resize(n, 0.0);
    words.dst_scale.resize(n, 0.0);
    node_words_fast(&c, (&sc.e0[..n], &kinds[..n], &subtypes[..n]), (&mut words.active_e0, &mut words.dst_scale));
    let rows = flagged_rows(&cache.meta, flag::PLASTIC | flag::CONDUCTS);
    let cols = Cols {
        edges: (edges.src_rows(), edges.dst_rows(), edges.weights(), edges.kind_params()),
        nodes: (&words.active_e0, &sc.inc, &words.dst_scale),
    };
    let mut out = Vec::with_capacity(rows.len());
    let done = eight_at_a_time(&c, &cols, &rows, &mut out);
    for &e in &rows[done..] {
        if let Some(u) = one(&c, &cols, e as usize) {
            out.push(u);
        }
    }
    out
}

crate::rng::vector_forms!(node_words_fast, node_words, node_words_avx512, node_words_avx2,
    (c: &Consts, cols: (&[f32], &[u8], &[u8]), out: (&mut [f32], &mut [f32])) -> ());

/// Per node row: `E0` where the row is an active source (not a workspace node, `E0 > 0`),
/// else 0; and the target scale (`factors::scale_of`: a dynamic node's by its subtype,
/// `factors::by_subtype`, 1 for the others).
#[inline(always)]
fn node_words(
    c: &Consts,
    (e0, kinds, subtypes): (&[f32], &[u8], &[u8]),
    (active_e0, dst_scale): (&mut [f32], &mut [f32]),
) {
    let m = e0.len().min(kinds.len()).min(subtypes.len()).min(active_e0.len()).min(dst_scale.len());
    for r in 0..m {
        let (e, k, st) = (e0[r], kinds[r], subtypes[r]);
        active_e0[r] = if (k != c.ws) & (e > 0.0) { e } else { 0.0 };
        let sub = by_subtype(c.dst_scale, st);
        dst_scale[r] = if k == c.dynk { sub } else { 1.0 };
    }
}

/// MODEL.md 5.3 for edge row `e`, where its source is active: `w += lr * (E0_i / cap) *
/// clamp(in_j / cap, -1, 1)`, clamped to the weights' range (`f32::clamp`'s arithmetic; its
/// bounds are checked at validation). The reference for [`eight_at_a_time`].
#[inline]
fn one(c: &Consts, cols: &Cols<'_>, e: usize) -> Option<WeightUpdate> {
    let (src, dst, weights, lrs) = cols.edges;
    let (active_e0, inc, dst_scale) = cols.nodes;
    let (s, d) = (*src.get(e)? as usize, *dst.get(e)? as usize);
    let x = *active_e0.get(s)?;
    let drive = (*inc.get(d)? / c.cap).clamp(-1.0, 1.0);
    let [wmin, wmax] = c.range;
    let w = (*weights.get(e)? + (*lrs.get(e)? * (x / c.cap)) * drive).clamp(wmin, wmax);
    (x > 0.0).then_some((e, w, *dst_scale.get(d)?))
}

/// [`one`] for the listed rows eight at a time, with AVX2 gathers where the processor has
/// them; returns how many rows it took (a multiple of eight; the rest, and every row
/// without AVX2, are left to [`one`]).
fn eight_at_a_time(c: &Consts, cols: &Cols<'_>, rows: &[u32], out: &mut Vec<WeightUpdate>) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let (src, dst, weights, lrs) = cols.edges;
        let (active_e0, inc, dst_scale) = cols.nodes;
        let n_e = src.len().min(dst.len()).min(weights.len()).min(lrs.len());
        let n_n = active_e0.len().min(inc.len()).min(dst_scale.len());
        let fits = |n: usize| n > 0 && n <= i32::MAX as usize;
        if fits(n_e) && fits(n_n) && std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: AVX2 was detected just above; both counts are at least 1 and fit the
            // gathers' signed 32-bit indices (checked above), as `gather8` needs.
            return unsafe { gather8(c, cols, (n_e, n_n), rows, out) };
        }
    }
    let _ = (c, cols, rows, out);
    0
}

/// See [`eight_at_a_time`]. Every index is clamped to its column's last row (which changes
/// none: the listed rows and their endpoints are in range), so every gather reads inside
/// its column. The arithmetic is [`one`]'s, operation for operation (no fused multiply-add;
/// the clamps compare the value before either bound is applied, as `f32::clamp` does with
/// `min <= max`): the same bits.
///
/// # Safety
/// The processor has AVX2; `1 <= n_e <= i32::MAX` is at most the length of every edge
/// column of `cols` and `1 <= n_n <= i32::MAX` at most that of every node column.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn gather8(
    c: &Consts,
    cols: &Cols<'_>,
    (n_e, n_n): (usize, usize),
    rows: &[u32],
    out: &mut Vec<WeightUpdate>,
) -> usize {
    use std::arch::x86_64::{
        __m256, __m256i, _mm256_add_ps, _mm256_blendv_ps, _mm256_cmp_ps, _mm256_div_ps, _mm256_i32gather_epi32,
        _mm256_i32gather_ps, _mm256_loadu_si256, _mm256_min_epu32, _mm256_movemask_ps, _mm256_mul_ps,
        _mm256_set1_epi32, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps, _CMP_GT_OQ, _CMP_LT_OQ,
    };
    let (src, dst, weights, lrs) = cols.edges;
    let (active_e0, inc, dst_scale) = cols.nodes;
    let (last_e, last_n) = (_mm256_set1_epi32((n_e - 1) as i32), _mm256_set1_epi32((n_n - 1) as i32));
    let cap = _mm256_set1_ps(c.cap);
    let (lo, hi) = (_mm256_set1_ps(-1.0), _mm256_set1_ps(1.0));
    let (wmin, wmax) = (_mm256_set1_ps(c.range[0]), _mm256_set1_ps(c.range[1]));
    // `f32::clamp(v, a, b)` for `a <= b`: `a` below it, `b` above it, else `v` (NaN stays).
    let clamp = |v: __m256, a: __m256, b: __m256| {
        let above = _mm256_blendv_ps(v, b, _mm256_cmp_ps::<_CMP_GT_OQ>(v, b));
        _mm256_blendv_ps(above, a, _mm256_cmp_ps::<_CMP_LT_OQ>(v, a))
    };
    let (mut w8, mut ds8) = ([0.0f32; 8], [0.0f32; 8]);
    let mut k = 0;
    while k + 8 <= rows.len() {
        // SAFETY (every load below): `rows[k..k + 8]` is in bounds (the loop's test); each
        // gather's indices are at most its column's last row (clamped just before), which
        // the caller guarantees exists, and at most `i32::MAX`.
        let e: __m256i = _mm256_min_epu32(_mm256_loadu_si256(rows.as_ptr().add(k).cast()), last_e);
        let s = _mm256_min_epu32(_mm256_i32gather_epi32::<4>(src.as_ptr().cast(), e), last_n);
        let d = _mm256_min_epu32(_mm256_i32gather_epi32::<4>(dst.as_ptr().cast(), e), last_n);
        let x = _mm256_i32gather_ps::<4>(active_e0.as_ptr(), s);
        let drive = clamp(_mm256_div_ps(_mm256_i32gather_ps::<4>(inc.as_ptr(), d), cap), lo, hi);
        let (w, lr) = (_mm256_i32gather_ps::<4>(weights.as_ptr(), e), _mm256_i32gather_ps::<4>(lrs.as_ptr(), e));
        let w = clamp(_mm256_add_ps(w, _mm256_mul_ps(_mm256_mul_ps(lr, _mm256_div_ps(x, cap)), drive)), wmin, wmax);
        _mm256_storeu_ps(w8.as_mut_ptr(), w);
        _mm256_storeu_ps(ds8.as_mut_ptr(), _mm256_i32gather_ps::<4>(dst_scale.as_ptr(), d));
        let mut active = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_setzero_ps())) as u32;
        while active != 0 {
            let j = active.trailing_zeros() as usize;
            out.push((rows[k + j] as usize, w8[j], ds8[j]));
            active &= active - 1;
        }
        k += 8;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::{eight_at_a_time, one, Cols, Consts};

    /// The gathered form gives every row the bits of the one-edge form: sources active and
    /// not, drives past both bounds, weights clamped at both ends, and a tail of rows.
    #[test]
    fn eight_at_a_time_gives_the_bits_of_one_at_a_time() {
        let mut next = crate::rng::test_words(17);
        let mut unit = move || (next() >> 40) as f32 / (1u64 << 24) as f32;
        let (n_n, n_e) = (300usize, 2000usize);
        let active_e0: Vec<f32> = (0..n_n).map(|i| if i % 3 == 0 { 0.0 } else { 100.0 * unit() }).collect();
        let inc: Vec<f32> = (0..n_n).map(|_| 600.0 * unit() - 300.0).collect();
        let dst_scale: Vec<f32> = (0..n_n).map(|i| [1.0, 0.5, 1.5, 2.0][i % 4]).collect();
        let src: Vec<u32> = (0..n_e).map(|_| (unit() * n_n as f32) as u32 % n_n as u32).collect();
        let dst: Vec<u32> = (0..n_e).map(|_| (unit() * n_n as f32) as u32 % n_n as u32).collect();
        let weights: Vec<f32> = (0..n_e).map(|_| 2.2 * unit() - 1.1).collect();
        let lrs: Vec<f32> = (0..n_e).map(|_| 0.5 * unit()).collect();
        let c = Consts { cap: 100.0, range: [-1.0, 1.0], ws: 2, dynk: 1, dst_scale: [1.0; 4] };
        let cols = Cols { edges: (&src, &dst, &weights, &lrs), nodes: (&active_e0, &inc, &dst_scale) };
        let rows: Vec<u32> = (0..n_e as u32).filter(|e| e % 5 != 1).chain([7, 9, 11]).collect();
        let want: Vec<_> = rows.iter().filter_map(|&e| one(&c, &cols, e as usize)).collect();
        let mut got = Vec::new();
        let done = eight_at_a_time(&c, &cols, &rows, &mut got);
        got.extend(rows[done..].iter().filter_map(|&e| one(&c, &cols, e as usize)));
        let bits =
            |v: &[(usize, f32, f32)]| v.iter().map(|&(e, w, d)| (e, w.to_bits(), d.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want));
        assert!(want.iter().any(|u| u.1 == 1.0) && want.iter().any(|u| u.1 == -1.0), "both bounds reached");
        assert!(want.len() < rows.len() && !want.is_empty(), "active and inactive sources");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            assert_eq!(done, rows.len() / 8 * 8, "the gathered form ran");
        }
    }
}
