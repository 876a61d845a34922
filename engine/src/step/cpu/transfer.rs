//! Phases 5.2 (transfer) and 5.3 (plasticity) on the CPU.
//!
//! Amounts (docs/MODEL-NOTES.md, "transfer arithmetic"): for an active source `i`,
//! `f_i = (transfer_capacity * E0_i) * src_scale_i`; its cost is
//! `f_i * C_i + sensory_burn * (f_i * B_i)`; `a_i = (limit / cost) * f_i` when the cost
//! exceeds `limit = max_outflow_fraction * E0_i`, else `f_i`; it pays `a_i * P_i` and burns
//! `sensory_burn * (a_i * B_i)`; an edge `e` delivers `(transmission_loss * a_i) * q_e`.
//!
//! Both passes run over fixed chunks of rows (the source pass [`super::SOURCE_CHUNK`], the
//! pull [`super::CHUNK`]); each chunk returns its ledger terms, summed in chunk order, so
//! nothing depends on the thread count.

use rayon::prelude::*;

use super::{
    cache::{source_factor, HotCache, Sums},
    factors::{q_of, with_sign},
    slots::masked,
    Scratch, CHUNK, SOURCE_CHUNK,
};
use crate::config::Params;
use crate::model::ledger::Ledger;
use crate::model::rules::flag;
use crate::step::Beside;
use crate::store::{NodeKind, Store, AHEAD};

/// The plastic weights 5.3 computed, to be written once the store is free again.
pub(super) enum NewWeights {
    /// From the streamed path without plasticity: none. (With it, 5.3's weights are
    /// written in its piece of 5.4's pass, `stream::write_weights`.)
    Stream,
    /// From the compressed-row path.
    Rows(Vec<Update>),
    /// None yet: the streamed path leaves 5.3 to run beside 5.4 (see
    /// [`super::plastic::updates`]), which does not read the weights.
    Later,
}

impl NewWeights {
    /// Whether no weight changes.
    fn is_empty(&self) -> bool {
        match self {
            NewWeights::Stream => true,
            NewWeights::Rows(u) => u.is_empty(),
            NewWeights::Later => true,
        }
    }
}

/// Compute 5.2 and 5.3 from a store that is only read (so other work can read it too);
/// returns the number of conducting edges of active sources and the new plastic weights,
/// which [`apply`] writes. With `stream` the per-node sums come from streaming the edge rows
/// ([`super::stream`]), else from the compressed-row views and the in-slot arrays (which
/// must be fresh). Both give the same bits.
pub(super) fn compute(
    cache: &mut HotCache,
    sc: &mut Scratch,
    store: &Store,
    params: &Params,
    ledger: &mut Ledger,
    (stream, beside): (bool, Option<Beside<'_>>),
) -> (u64, NewWeights) {
    // The caller's work beside the step (`StepInput::beside`), on the other thread.
    let beside = || {
        if let Some(b) = beside {
            b(store);
        }
    };
    let n = store.nodes().len();
    sc.out.resize(n, 0.0);
    sc.inc.resize(n, 0.0);
    sc.recv.resize(n, 0.0);
    cache.per_step.resize(n, false);
    if !cache.steady.is_empty() {
        cache.steady.resize(n, (f32::NAN, f32::NAN));
    }
    let (paid_burned, conducting, received_inhibited, weights);
    if stream {
        sc.pair.resize(n, [0.0; 2]);
        cache.flag_tombstoned(store);
        super::stream::source_sums(cache, sc, store);
        // The streamed sums hold this step's gates; the compressed-row path must not reuse them
        // (nor their steady ranges).
        cache.sums_version = None;
        cache.steady = Vec::new();
        (paid_burned, conducting) = super::stream::amounts(cache, sc, store, params);
        // Pass C runs on one thread: the other takes the caller's work.
        (received_inhibited, ()) = crate::join::join_busy(|| super::stream::targets(cache, sc, store), beside);
        weights = if params.transfer.plasticity { NewWeights::Later } else { NewWeights::Stream };
    } else {
        let fresh = cache.sums_version != Some(store.version());
        cache.sums.resize(n, Default::default());
        cache.stale.resize(n, true);
        // Only a target that is not plain gathers the source pair; where every target is
        // plain (a propagation-only graph) the pair column is not kept.
        if cache.slots.plain.iter().all(|&p| p) {
            sc.pair = Vec::new();
        } else {
            sc.pair.resize(n, [0.0; 2]);
        }
        cache.keep_dst_scales(store, cache.weights_changed && params.transfer.plasticity);
        (paid_burned, conducting) = source_pass(cache, sc, store, params, fresh);
        cache.sums_version = Some(store.version());
        let updates;
        ((received_inhibited, updates), ()) = crate::join::join_busy(|| pull_pass(cache, sc, store, params), beside);
        weights = NewWeights::Rows(updates);
        // Out-degrees for 5.4, only where it uses them.
        if super::update::uses_out_degree(params) {
            let out = store.out_edges();
            sc.deg.clear();
            sc.deg.resize(n, 0);
            sc.deg.par_chunks_mut(CHUNK).enumerate().for_each(|(ci, d)| {
                for (k, x) in d.iter_mut().enumerate() {
                    *x = out.degree(ci * CHUNK + k);
                }
            });
        }
    }
    ledger.paid = paid_burned.0;
    ledger.burned = paid_burned.1;
    ledger.received = received_inhibited.0;
    ledger.inhibited = received_inhibited.1;
    (conducting, weights)
}

/// Write the plastic weights of [`compute`] (5.3: they take effect next step).
pub(super) fn apply(cache: &mut HotCache, store: &mut Store, weights: NewWeights) {
    cache.weights_changed |= !weights.is_empty();
    match weights {
        // (As where weights were written, the out-edge view stops holding side values.)
        NewWeights::Stream => store.edge_weights_written(),
        NewWeights::Rows(u) if !u.is_empty() => apply_plasticity(cache, store, &u),
        NewWeights::Rows(_) | NewWeights::Later => {}
    }
}

/// Per source: factors and outgoing change; the per-source sums are recomputed where the
/// topology changed (all with `fresh`, else those marked stale) or they depend on this
/// step. Returns `((paid, burned), conducting edges)`.
fn source_pass(
    cache: &mut HotCache,
    sc: &mut Scratch,
    store: &Store,
    params: &Params,
    fresh: bool,
) -> ((f64, f64), u64) {
    let tr = &params.transfer;
    let (tc, tl, mof, sb) = (tr.transfer_capacity, tr.transmission_loss, tr.max_outflow_fraction, tr.sensory_burn);
    let plasticity = tr.plasticity;
    let ws = NodeKind::Workspace.code();
    let (kinds, subtypes) = (store.nodes().kinds(), store.nodes().subtypes());
    let e0 = &sc.e0;
    let mut sums = std::mem::take(&mut cache.sums);
    let mut per_step = std::mem::take(&mut cache.per_step);
    let mut stale = std::mem::take(&mut cache.stale);
    let mut steady = std::mem::take(&mut cache.steady);
    let c: &HotCache = cache;
    // The pair column where it is kept (see `compute`), and the steady ranges where they are
    // (some source's sums changed from step to step at the step before).
    let chunks = sc.out.len().div_ceil(SOURCE_CHUNK);
    let (pairs, steadies) = (chunks_if_kept(&mut sc.pair, chunks), chunks_if_kept(&mut steady, chunks));
    let chunks: Vec<_> = sc
        .out
        .chunks_mut(SOURCE_CHUNK)
        .zip(pairs.into_iter().zip(sc.recv.chunks_mut(SOURCE_CHUNK)))
        .zip(sums.chunks_mut(SOURCE_CHUNK).zip(per_step.chunks_mut(SOURCE_CHUNK).zip(stale.chunks_mut(SOURCE_CHUNK))))
        .zip(steadies)
        .collect();
    // (The threads take chunks from a counter and the caller spins at the end, not sleeps.)
    let (parts, dynamic): (Vec<(f64, f64, u64)>, Vec<usize>) =
        crate::join::busy_map(chunks, |ci, (((out, (mut pair, recv)), (sums, (per_step, stale))), mut steady)| {
            let (mut paid_sum, mut burned_sum, mut conducting) = (0.0f64, 0.0f64, 0u64);
            // The rows whose sums are recomputed (all with `fresh`), two at a time (see
            // `source_sums_pair`); the cache is asked for their scans' reads some rows ahead
            // (with `fresh` they are read in order and need no help): the group's bounds,
            // then its entries.
            let base = ci * SOURCE_CHUNK;
            let active = |i: usize| kinds[i] != ws && e0[i] > 0.0;
            // A source whose sums change only through its gated edges keeps them while its
            // `E0` stays in their steady range (the same edges conduct: the same bits).
            let holds = |steady: &Option<&mut [(f32, f32)]>, k: usize| {
                let e = e0[base + k];
                steady.as_deref().is_some_and(|s| s[k].0 <= e && e < s[k].1)
            };
            let todo: Vec<u32> = (0..out.len())
                .filter(|&k| fresh || stale[k] || (per_step[k] && active(base + k) && !holds(&steady, k)))
                .map(|k| k as u32)
                .collect();
            let e_of = |k: u32| {
                let i = base + k as usize;
                active(i).then_some(e0[i])
            };
            let mut put = |k: u32, (s, dynamic): (Sums, bool)| {
                let k = k as usize;
                (sums[k], per_step[k], stale[k]) = (s, dynamic, false);
                if let (true, Some(steady)) = (dynamic, steady.as_deref_mut()) {
                    steady[k] = c.steady_range(store, base + k, e_of(k as u32), plasticity);
                }
            };
            for (t, four) in todo.chunks(4).enumerate() {
                if !fresh {
                    for j in 0..4 {
                        let at = |d: usize| todo.get(4 * t + d + j).map(|&x| base + x as usize);
                        if let Some(f) = at(AHEAD) {
                            store.out_edges().prefetch_bounds(f);
                        }
                        if let Some(n) = at(AHEAD / 2) {
                            c.prefetch_source_sums(store, n);
                        }
                    }
                }
                // Four plain groups at once where they are; else two at a time.
                if let [k1, k2, k3, k4] = *four {
                    let rows = [k1, k2, k3, k4].map(|k| base + k as usize);
                    if let Some(got) = c.plain_source_sums_four(store, rows, plasticity) {
                        four.iter().zip(got).for_each(|(&k, s)| put(k, (s, false)));
                        continue;
                    }
                }
                for pair in four.chunks(2) {
                    let got = if let [k1, k2] = *pair {
                        c.source_sums_pair(
                            store,
                            [base + k1 as usize, base + k2 as usize],
                            [e_of(k1), e_of(k2)],
                            plasticity,
                        )
                    } else {
                        [c.source_sums(store, base + pair[0] as usize, e_of(pair[0]), plasticity); 2]
                    };
                    pair.iter().zip(got).for_each(|(&k, x)| put(k, x));
                }
            }
            let mut dynamic = 0usize;
            for k in 0..out.len() {
                let i = base + k;
                let e = e0[i];
                let active = active(i);
                dynamic += usize::from(per_step[k]);
                let s = sums[k];
                if !active {
                    out[k] = 0.0;
                    if let Some(pair) = pair.as_deref_mut() {
                        pair[k] = [e, 0.0];
                    }
                    recv[k] = 0.0;
                    continue;
                }
                let a = source_factor(tc, mof, sb, e, c.scales_in(kinds, subtypes, i).0, &s);
                let paid = a * s.p;
                let burned = sb * (a * s.b);
                out[k] = paid + burned;
                if let Some(pair) = pair.as_deref_mut() {
                    pair[k] = [e, tl * a];
                }
                recv[k] = tl * a;
                paid_sum += f64::from(paid);
                burned_sum += f64::from(burned);
                if a != 0.0 {
                    conducting += u64::from(s.n);
                }
            }
            ((paid_sum, burned_sum, conducting), dynamic)
        })
        .into_iter()
        .unzip();
    cache.sums = sums;
    cache.per_step = per_step;
    // Kept from the next step on where some source's sums change from step to step.
    match (dynamic.iter().any(|&d| d > 0), steady.is_empty()) {
        (true, true) => steady.resize(cache.per_step.len(), (f32::NAN, f32::NAN)),
        (false, false) => steady = Vec::new(),
        _ => {}
    }
    cache.steady = steady;
    cache.stale = stale;
    sum_chunks(parts)
}

/// A per-node column's chunks of [`SOURCE_CHUNK`] rows where it is kept, else none for each
/// of the `chunks` chunks.
fn chunks_if_kept<T>(v: &mut [T], chunks: usize) -> Vec<Option<&mut [T]>> {
    if v.is_empty() {
        (0..chunks).map(|_| None).collect()
    } else {
        v.chunks_mut(SOURCE_CHUNK).map(Some).collect()
    }
}

/// The source pass's per-chunk `(paid, burned, conducting)`, added in chunk order (both
/// transfer paths, so their ledger terms have the same bits): `((paid, burned), conducting)`.
pub(super) fn sum_chunks(parts: Vec<(f64, f64, u64)>) -> ((f64, f64), u64) {
    let (mut paid, mut burned, mut conducting) = (0.0, 0.0, 0);
    for (p, b, n) in parts {
        paid += p;
        burned += b;
        conducting += n;
    }
    ((paid, burned), conducting)
}

/// Per slot of the pull's signed loop, by whether its edge is negative: the factors of its
/// term in the target's incoming change, received and inhibited sums.
const SIGNED: [[f32; 3]; 2] = [[1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]];

/// One target's incoming change, received and inhibited sums in the pull's signed loop
/// (see [`flagged_sums`]), over its slots' flags, sources and factors. A function of its
/// own, so that its code does not depend on what is compiled around it.
#[inline(never)]
fn signed_sums(meta: &[u8], src: &[u32], q: &[f32], recv: &[f32]) -> (f32, f32, f32) {
    let (mut acc, mut rec, mut inh) = (0.0f32, 0.0f32, 0.0f32);
    for ((&m, &s), &q) in meta.iter().zip(src).zip(q) {
        let r = recv[s as usize] * q;
        // The flag's bit shifted down, not a comparison: a comparison became a branch
        // (17 ms per step instead of 7.6 for the graph of docs/BENCHMARKS.md).
        let [a, c, i] = SIGNED[super::cache::bit_of(m, flag::NEGATIVE)];
        acc += r * a;
        rec += r * c;
        inh += r * i;
    }
    (acc, rec, inh)
}

/// Per slot of the pull's gated loop, by whether its edge conducts this step (bit 0) and is
/// negative (bit 1): the factors of its term as in [`SIGNED`], and 0 for one that does not.
const GATED_SIGNED: [[f32; 3]; 4] = [[0.0; 3], SIGNED[0], [0.0; 3], SIGNED[1]];

/// [`signed_sums`] of a target with gated slots (see [`flagged_sums`]), over its slots'
/// gates too and the sources' `E0` and received factor (`pair`): a slot's term is its factor
/// times 0 where it does not conduct, which is the `+0` the general loop adds for it.
#[inline(always)]
fn gated_sums(meta: &[u8], src: &[u32], q: &[f32], gate: &[f32], pair: &[[f32; 2]]) -> (f32, f32, f32) {
    use super::cache::bit_of;
    let (mut acc, mut rec, mut inh) = (0.0f32, 0.0f32, 0.0f32);
    for (((&m, &s), &q), &g) in meta.iter().zip(src).zip(q).zip(gate) {
        let [x0, recv] = pair[s as usize];
        let r = recv * q;
        let open = bit_of(m, flag::CONDUCTS) & ((bit_of(m, flag::GATED) ^ 1) | usize::from(x0 >= g));
        let [a, c, i] = GATED_SIGNED[open | bit_of(m, flag::NEGATIVE) << 1];
        acc += r * a;
        rec += r * c;
        inh += r * i;
    }
    (acc, rec, inh)
}

/// The incoming change, received and inhibited sums of a target whose slots (flags, sources,
/// factors) take a loop without branches, or none. Where every slot conducts, plainly or
/// negatively (or is masked), the signs and the received and inhibited shares are factors of
/// +-1 and 0: products that are exact (a term times 1 or -1 is itself or its negation, times
/// 0 a zero, and adding a zero to these sums, which start at +0 and only grow, changes no
/// bit; the terms are finite), so no flag needs a branch or a move between the integer and
/// float units ([`signed_sums`]). Where the in-slot arrays hold the slots' `gates` (and
/// learning rates), the same for any target ([`gated_sums`], with the sources' received
/// factors and `E0` beside them in `pair`). A first pass over the flag bytes alone says
/// which loop; the second, whether it was the latter (only then may the target have plastic
/// slots, whose updates are a pass of their own).
#[inline(never)]
fn flagged_sums(
    (meta, src, q): (&[u8], &[u32], &[f32]),
    gates: Option<&[f32]>,
    (recv, pair): (&[f32], &[[f32; 2]]),
) -> Option<((f32, f32, f32), bool)> {
    let other = !(flag::CONDUCTS | flag::NEGATIVE | flag::DEAD);
    let odd = meta.iter().fold(0u8, |o, &m| o | (m & other) | u8::from(m & (flag::CONDUCTS | flag::DEAD) == 0));
    if odd == 0 {
        return Some((signed_sums(meta, src, q, recv), false));
    }
    Some((gated_sums(meta, src, q, gates?, pair), true))
}

/// One plasticity update: its in-slot and edge row, the new weight and its `q_e` (the
/// weight's magnitude times the target's scale).
#[derive(Clone, Copy)]
pub(super) struct Update {
    slot: u32,
    row: u32,
    w: f32,
    q: f32,
}

/// How many slots ahead the pull's general loop asks the cache for a gated slot's gate. Only
/// some slots are gated, so the distance in slots must span several gated ones for their
/// misses to overlap: on `dense-100k.toml` with a tenth of its edges gated, 64 slots took
/// the transfer from 57-59 ms per step (16 slots) to 45-51 ms (32: 51-52; 96: 47-49).
const GATE_AHEAD: usize = 4 * AHEAD;

/// Per target: incoming change, received, inhibited; and the plastic weight updates.
fn pull_pass(cache: &HotCache, sc: &mut Scratch, store: &Store, params: &Params) -> ((f64, f64), Vec<Update>) {
    let slots = &cache.slots;
    let pos = &slots.row;
    let weights = store.edges().weights();
    // Gates and learning rates (one column), read only where the flags say Gated or Plastic:
    // per slot where the in-slot arrays hold them, else by edge row.
    let kind_params = store.edges().kind_params();
    let (held, param) = (slots.copies.holds_param, &slots.copies.param);
    let (held_w, weight) = (slots.copies.holds_weight, &slots.copies.weight);
    let param_at = |s: usize| if held { param[s] } else { kind_params[pos[s] as usize] };
    let (pair, recv) = (&sc.pair, &sc.recv);
    let (in_src, in_q, in_meta, plain) = (&slots.src, &slots.q, &slots.meta, &slots.plain);
    let plasticity = params.transfer.plasticity;
    let cap = params.energy.energy_cap;
    let [wmin, wmax] = params.transfer.plastic_weight_range;
    // 5.3 for target `j` (slots `r`, incoming change `acc`): w += (lr * (E0_i / cap)) *
    // clamp(in_j / cap, -1, 1), clamped. A weight is read by edge row, scattered: the cache is
    // asked for it some plastic slots ahead.
    let plastic_updates = |r: std::ops::Range<usize>, j: usize, acc: f32, updates: &mut Vec<Update>| {
        let drive = (acc / cap).clamp(-1.0, 1.0);
        let ds = cache.dst_scale(store, j);
        let plastic = |m: u8| m & (flag::PLASTIC | flag::CONDUCTS) == flag::PLASTIC | flag::CONDUCTS;
        // A conducting edge's source is not a workspace node (its flags say so), so it is
        // active where its `E0 > 0`. A masked slot (its flags left as they were) is skipped.
        let mut update = |s: usize, old: f32| {
            let x0 = pair[in_src[s] as usize][0];
            if x0 > 0.0 && !masked(in_q[s]) {
                let w = (old + (param_at(s) * (x0 / cap)) * drive).clamp(wmin, wmax);
                updates.push(Update { slot: s as u32, row: pos[s], w, q: q_of(w, ds) });
            }
        };
        if held_w {
            // Only the flags (in the cache after the sums) are read for every slot.
            for s in r {
                if plastic(in_meta[s]) {
                    update(s, weight[s]);
                }
            }
            return;
        }
        for s in r.clone() {
            if let (Some(&m), Some(&p)) = (in_meta.get(s + GATE_AHEAD), pos.get(s + GATE_AHEAD)) {
                if m & flag::PLASTIC != 0 && s + GATE_AHEAD < r.end {
                    crate::store::prefetch(weights, p as usize);
                }
            }
            if plastic(in_meta[s]) {
                update(s, weights[pos[s] as usize]);
            }
        }
    };
    // (The threads take chunks from a counter and the caller spins at the end, not sleeps.)
    let chunks: Vec<&mut [f32]> = sc.inc.chunks_mut(CHUNK).collect();
    let parts: Vec<(f64, f64, Vec<Update>)> = crate::join::busy_map(chunks, |ci, chunk| {
        let (mut rec_sum, mut inh_sum) = (0.0f64, 0.0f64);
        let mut updates = Vec::new();
        let mut k = 0;
        while k < chunk.len() {
            let j = ci * CHUNK + k;
            let std::ops::Range { start: lo, end: hi } = slots.range(j);
            if plain[j] && k + 1 < chunk.len() && plain[j + 1] {
                // Two plain targets side by side: each sum is a chain of dependent
                // additions (about 4 cycles each) in its own order; the two chains
                // overlap, so the loop is no longer bound by one chain's latency.
                let std::ops::Range { start: lo1, end: hi1 } = slots.range(j + 1);
                let (s0, q0) = (&in_src[lo..hi], &in_q[lo..hi]);
                let (s1, q1) = (&in_src[lo1..hi1], &in_q[lo1..hi1]);
                let n = s0.len().min(s1.len());
                let (mut a0, mut a1) = (0.0f32, 0.0f32);
                for i in 0..n {
                    a0 += recv[s0[i] as usize] * q0[i];
                    a1 += recv[s1[i] as usize] * q1[i];
                }
                for (&src, &q) in s0[n..].iter().zip(&q0[n..]) {
                    a0 += recv[src as usize] * q;
                }
                for (&src, &q) in s1[n..].iter().zip(&q1[n..]) {
                    a1 += recv[src as usize] * q;
                }
                chunk[k] = a0;
                chunk[k + 1] = a1;
                rec_sum += f64::from(a0);
                rec_sum += f64::from(a1);
                k += 2;
                continue;
            }
            let out = &mut chunk[k];
            k += 1;
            if plain[j] {
                // Every term is >= +0 (a masked slot's is -0), so adding the zero terms of
                // inactive sources and masked slots changes no bit: the general loop below
                // with its tests removed.
                let mut acc = 0.0f32;
                for (&src, &q) in in_src[lo..hi].iter().zip(&in_q[lo..hi]) {
                    acc += recv[src as usize] * q;
                }
                *out = acc;
                rec_sum += f64::from(acc);
                continue;
            }
            // Most targets with other slots than plain ones take a loop without branches
            // (see `flagged_sums`); the others the general loop below.
            let r = lo..hi;
            let gates = held.then(|| &param[r.clone()]);
            let slots = (&in_meta[r.clone()], &in_src[r.clone()], &in_q[r]);
            if let Some(((acc, rec, inh), gated)) = flagged_sums(slots, gates, (recv, pair)) {
                *out = acc;
                rec_sum += f64::from(rec);
                inh_sum += f64::from(inh);
                if gated && plasticity && in_meta[lo..hi].iter().any(|&m| m & flag::PLASTIC != 0) {
                    plastic_updates(lo..hi, j, acc, &mut updates);
                }
                continue;
            }
            // The general loop: only where the in-slot arrays hold no copies of the gates
            // (`flagged_sums` takes every other target), so a gate is read by edge row.
            let (mut acc, mut rec, mut inh) = (0.0f32, 0.0f32, 0.0f32);
            let mut has_plastic = false;
            // Branch-free: `acc` starts at +0 and can never become -0 (exact cancellation
            // gives +0), and `rec`, `inh` only grow, so adding a masked +-0 is exact.
            for s in lo..hi {
                // A gate read by edge row is scattered: the cache is asked for it some slots
                // ahead (see `GATE_AHEAD`).
                if let (Some(&m), Some(&p)) = (in_meta.get(s + GATE_AHEAD), pos.get(s + GATE_AHEAD)) {
                    if m & flag::GATED != 0 {
                        crate::store::prefetch(kind_params, p as usize);
                    }
                }
                let m = in_meta[s];
                let src = in_src[s] as usize;
                let [x0, recv] = pair[src];
                let open = m & flag::CONDUCTS != 0 && (m & flag::GATED == 0 || x0 >= kind_params[pos[s] as usize]);
                has_plastic |= m & flag::PLASTIC != 0 && m & flag::CONDUCTS != 0;
                let r = if open { recv * in_q[s] } else { 0.0 };
                let neg = m & flag::NEGATIVE != 0;
                acc += if neg { -r } else { r };
                rec += if neg { 0.0 } else { r };
                inh += if neg { r } else { 0.0 };
            }
            *out = acc;
            rec_sum += f64::from(rec);
            inh_sum += f64::from(inh);
            if plasticity && has_plastic {
                plastic_updates(lo..hi, j, acc, &mut updates);
            }
        }
        (rec_sum, inh_sum, updates)
    });
    let (mut received, mut inhibited) = (0.0, 0.0);
    // Sized once: the updates of a plastic graph run to millions, and growing by doubling
    // copies them over and over into fresh memory (measured: 7-9 ms of a 71 ms step).
    let mut updates = Vec::with_capacity(parts.iter().map(|p| p.2.len()).sum());
    for (r, i, u) in parts {
        received += r;
        inhibited += i;
        updates.extend(u);
    }
    ((received, inhibited), updates)
}

/// Write the new plastic weights into the store and the cache (each edge once).
fn apply_plasticity(cache: &mut HotCache, store: &mut Store, updates: &[Update]) {
    let kept = cache.q_kept();
    let weights = store.edge_weights_mut();
    let HotCache { q: row_q, meta: row_meta, slots, .. } = cache;
    // The rows are scattered (the updates come in target order): each writer asks the cache
    // for its rows some updates ahead; the store's weights on one thread, the cache's entries
    // (by row, then by slot) on the other.
    fn ahead<T>(updates: &[Update], i: usize, col: &[T]) {
        if let Some(u) = updates.get(i + AHEAD) {
            crate::store::prefetch(col, u.row as usize);
        }
    }
    rayon::join(
        || {
            for (i, u) in updates.iter().enumerate() {
                ahead(updates, i, weights);
                weights[u.row as usize] = u.w;
            }
        },
        || {
            for (i, u) in updates.iter().enumerate() {
                let (p, s) = (u.row as usize, u.slot as usize);
                if kept {
                    ahead(updates, i, row_q);
                    row_q[p] = u.q;
                }
                // A plastic edge's flags change only in their sign bit; the per-row flags
                // are written only where it flips (rare), the slot's holding the sign before.
                let old = slots.meta[s];
                let m = with_sign(old, u.w);
                if m != old {
                    row_meta[p] = (row_meta[p] & !flag::NEGATIVE) | (m & flag::NEGATIVE);
                }
                (slots.q[s], slots.meta[s]) = (u.q, m);
                if let Some(c) = slots.copies.weight.get_mut(s) {
                    *c = u.w;
                }
            }
        },
    );
}
