//! Phases 5.2 (transfer) and 5.3 (plasticity) on the CPU.
//!
//! Amounts (docs/MODEL-NOTES.md, "transfer arithmetic"): for an active source `i`,
//! `f_i = (transfer_capacity * E0_i) * src_scale_i`; its cost is
//! `f_i * C_i + sensory_burn * (f_i * B_i)`; `a_i = (limit / cost) * f_i` when the cost
//! exceeds `limit = max_outflow_fraction * E0_i`, else `f_i`; it pays `a_i * P_i` and burns
//! `sensory_burn * (a_i * B_i)`; an edge `e` delivers `(transmission_loss * a_i) * q_e`.

use rayon::prelude::*;

use super::{cache::HotCache, Scratch};
use crate::config::Params;
use crate::model::ledger::Ledger;
use crate::model::rules::flag;
use crate::store::{NodeKind, Store};

/// Run 5.2 and 5.3; returns the number of conducting edges of active sources.
pub(super) fn run(
    cache: &mut HotCache,
    sc: &mut Scratch,
    store: &mut Store,
    params: &Params,
    ledger: &mut Ledger,
) -> u64 {
    let n = store.nodes().len();
    let tr = &params.transfer;
    let (tc, tl, mof, sb) = (tr.transfer_capacity, tr.transmission_loss, tr.max_outflow_fraction, tr.sensory_burn);
    let ws = NodeKind::Workspace.code();
    sc.factor.resize(n, [0.0; 2]);
    sc.out.resize(n, [0.0; 3]);
    sc.inc.resize(n, [0.0; 3]);
    sc.conducting.resize(n, 0);
    sc.recv.resize(n, 0.0);
    {
        let kinds = store.nodes().kinds();
        let e0 = &sc.e0;
        let c: &HotCache = cache;
        let st: &Store = store;
        sc.factor
            .par_iter_mut()
            .zip(sc.out.par_iter_mut())
            .zip(sc.conducting.par_iter_mut())
            .enumerate()
            .with_min_len(2048)
            .for_each(|(i, ((f, o), nc))| {
                let e = e0[i];
                if kinds[i] == ws || !(e > 0.0) {
                    *f = [0.0; 2];
                    *o = [0.0; 3];
                    *nc = 0;
                    return;
                }
                let sums = if c.per_step[i] { c.source_sums(st, i, Some(e)) } else { c.sums[i] };
                let (cs, ps, bs) = (sums.c, sums.p, sums.b);
                let fi = (tc * e) * c.src_scale[i];
                let cost = fi * cs + sb * (fi * bs);
                let limit = mof * e;
                let a = if cost > limit { (limit / cost) * fi } else { fi };
                let paid = a * ps;
                let burned = sb * (a * bs);
                *o = [paid + burned, paid, burned];
                *f = [tl * a, a];
                *nc = if a != 0.0 { sums.n } else { 0 };
            });
    }
    for (r, f) in sc.recv.iter_mut().zip(&sc.factor) {
        *r = f[0];
    }
    let conducting: u64 = sc.conducting.iter().map(|&x| u64::from(x)).sum();
    {
        let topo = store.topology();
        let off = topo.inc.offsets();
        let pos = topo.inc.items();
        let gates = store.edges().gates();
        let (e0, recv) = (&sc.e0, &sc.recv);
        let (in_src, in_q, in_meta, plain) = (&cache.in_src, &cache.in_q, &cache.in_meta, &cache.plain);
        sc.inc.par_iter_mut().enumerate().with_min_len(2048).for_each(|(j, out)| {
            let (lo, hi) = (off[j] as usize, off[j + 1] as usize);
            if plain[j] {
                // Every term is >= +0, so adding the zero terms of inactive sources changes no
                // bit: this is the general loop below with its tests removed.
                let mut acc = 0.0f32;
                for (&src, &q) in in_src[lo..hi].iter().zip(&in_q[lo..hi]) {
                    acc += recv[src as usize] * q;
                }
                *out = [acc, acc, 0.0];
                return;
            }
            let (mut acc, mut rec, mut inh) = (0.0f32, 0.0f32, 0.0f32);
            for s in lo..hi {
                let m = in_meta[s];
                if m & flag::CONDUCTS == 0 {
                    continue;
                }
                let src = in_src[s] as usize;
                let cf = recv[src];
                if cf == 0.0 {
                    continue;
                }
                if m & flag::GATED != 0 && !(e0[src] >= gates[pos[s] as usize]) {
                    continue;
                }
                let r = cf * in_q[s];
                if m & flag::NEGATIVE != 0 {
                    acc -= r;
                    inh += r;
                } else {
                    acc += r;
                    rec += r;
                }
            }
            *out = [acc, rec, inh];
        });
    }
    let mut parts = vec![Ledger::default(); n.div_ceil(super::CHUNK)];
    parts.par_iter_mut().enumerate().for_each(|(ci, l)| {
        let lo = ci * super::CHUNK;
        let hi = (lo + super::CHUNK).min(n);
        for r in lo..hi {
            l.paid += f64::from(sc.out[r][1]);
            l.burned += f64::from(sc.out[r][2]);
            l.received += f64::from(sc.inc[r][1]);
            l.inhibited += f64::from(sc.inc[r][2]);
        }
    });
    let sums = super::sum_chunks(parts);
    ledger.paid = sums.paid;
    ledger.burned = sums.burned;
    ledger.received = sums.received;
    ledger.inhibited = sums.inhibited;

    if tr.plasticity && !cache.plastic.is_empty() {
        plasticity(cache, sc, store, params);
    }
    conducting
}

/// 5.3: `w += plastic_lr * (E0_i / cap) * clamp(in_j / cap, -1, 1)`, clamped, for every
/// conducting plastic edge; the cache's factors follow the new weights.
fn plasticity(cache: &mut HotCache, sc: &Scratch, store: &mut Store, params: &Params) {
    let cap = params.energy.energy_cap;
    let [wmin, wmax] = params.transfer.plastic_weight_range;
    let ws = NodeKind::Workspace.code();
    let pos: Vec<u32> = cache.plastic.iter().map(|&(s, _)| store.topology().inc.items()[s as usize]).collect();
    let kinds = store.nodes().kinds().to_vec();
    let lrs = store.edges().plastic_lrs().to_vec();
    let weights = store.edge_weights_mut();
    for (i, &(slot, j)) in cache.plastic.iter().enumerate() {
        let src = cache.in_src[slot as usize] as usize;
        let e = sc.e0[src];
        if kinds[src] == ws || !(e > 0.0) {
            continue;
        }
        let p = pos[i] as usize;
        let in_j = sc.inc[j as usize][0];
        let w = weights[p] + (lrs[p] * (e / cap)) * (in_j / cap).clamp(-1.0, 1.0);
        let w = w.clamp(wmin, wmax);
        weights[p] = w;
        let q = w.abs() * cache.dst_scale[j as usize];
        let m = (cache.meta[p] & !flag::NEGATIVE) | if w < 0.0 { flag::NEGATIVE } else { 0 };
        cache.q[p] = q;
        cache.meta[p] = m;
        cache.in_q[slot as usize] = q;
        cache.in_meta[slot as usize] = m;
    }
}
