//! Phase 5.4 on the CPU: the node update, its ledger terms, and the non-finite check.

use super::{Scratch, CHUNK};
use crate::config::Params;
use crate::model::ledger::Ledger;
use crate::rng::{Rng, Stream, LANES};
use crate::step::StepError;
use crate::store::{NodeKind, Store};

/// The noise of 5.4 for every dynamic row (others get 0), into `out`: LANES rows at once
/// (vector Philox) where a block of rows has a dynamic node; the same bits as one draw per
/// node. Reads only node ids and kinds, which 5.2 and 5.3 do not change, so it runs beside
/// the transfer.
pub(super) fn fill_noise(store: &Store, params: &Params, rng: &Rng, t: u64, out: &mut Vec<f32>) {
    let nodes = store.nodes();
    let (ids, kinds) = (nodes.ids(), nodes.kinds());
    let n = ids.len().min(kinds.len());
    let sigma = params.energy.noise_sigma;
    out.clear();
    out.resize(n, 0.0);
    if sigma <= 0.0 {
        return;
    }
    let dynk = NodeKind::Dynamic.code();
    let mut ent = [0u64; LANES];
    for lo in (0..n).step_by(LANES) {
        let hi = (lo + LANES).min(n);
        if !kinds[lo..hi].contains(&dynk) {
            continue;
        }
        ent[..hi - lo].copy_from_slice(&ids[lo..hi]);
        // Every lane's noise, kept where the row is dynamic.
        let z = rng.noise_lanes(t, Stream::Noise, &ent, sigma);
        for ((o, &k), &z) in out[lo..hi].iter_mut().zip(&kinds[lo..hi]).zip(&z) {
            *o = if k == dynk { z } else { 0.0 };
        }
    }
}

/// Whether 5.4 reads out-degrees: only through the per-edge upkeep and the connection gain
/// (the compressed-row path computes them only then; without them `0 * 0` is `0 * deg`).
pub(super) fn uses_out_degree(params: &Params) -> bool {
    params.energy.maintenance_per_out_edge != 0.0 || params.energy.connection_gain
}

/// Run 5.4 with the noise of [`fill_noise`] in `sc.noise`: new energies into the store, terms
/// into `ledger`.
pub(super) fn run(
    sc: &mut Scratch,
    store: &mut Store,
    params: &Params,
    rng: &Rng,
    t: u64,
    ledger: &mut Ledger,
) -> Result<Updated, StepError> {
    let e = &params.energy;
    let (cap, floor) = (e.energy_cap, e.energy_floor);
    // The new energies go straight into the store (a step that fails here fails the run).
    let cols = store.node_values_mut();
    let (ids, kinds, gains) = (cols.ids, cols.kinds, cols.gain_classes);
    let gain_values = &e.connection_gain_values;
    let (sens, dynk) = (NodeKind::Sensory.code(), NodeKind::Dynamic.code());
    let use_deg = uses_out_degree(params);
    let sc: &Scratch = sc;
    let work = |(ci, chunk): (usize, &mut [f32])| {
        // Accumulators in locals, not the fields of a struct: they stay in registers.
        let (mut input_hold, mut upkeep, mut gain, mut noise_sum) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut ws_relax, mut clamp_cap, mut clamp_floor) = (0.0f64, 0.0f64, 0.0f64);
        let (mut bad, mut dead) = (Vec::new(), Vec::new());
        for (k, out) in chunk.iter_mut().enumerate() {
            let r = ci * CHUNK + k;
            let e0 = sc.e0[r];
            let mut x = e0 + (sc.inc[r] - sc.out[r]);
            let kind = kinds[r];
            if kind == sens {
                input_hold += f64::from(e0 - x);
                x = e0;
            } else if kind == dynk {
                let deg = if use_deg { sc.deg[r] as f32 } else { 0.0 };
                let u = e.maintenance_per_node + e.maintenance_per_out_edge * deg;
                x -= u;
                upkeep += f64::from(u);
                if e.connection_gain {
                    let g = deg * gain_values[usize::from(gains[r]).min(gain_values.len() - 1)];
                    x += g;
                    gain += f64::from(g);
                }
                if e.noise_sigma > 0.0 {
                    let z = sc.noise[r];
                    debug_assert_eq!(z.to_bits(), rng.noise(t, ids[r], e.noise_sigma).to_bits());
                    x += z;
                    noise_sum += f64::from(z);
                }
            } else if x > e.workspace_min_active {
                let d = e.workspace_rate * (e.workspace_target - x);
                x += d;
                ws_relax += f64::from(d);
            }
            if x > cap {
                clamp_cap += f64::from(x - cap);
                x = cap;
            } else if x < floor {
                clamp_floor += f64::from(floor - x);
                x = floor;
            }
            *out = x;
        }
        // The rare rows that are not finite or die (5.5's test, on the values just
        // computed), found after the loop above so that it calls no function.
        for (k, &x) in chunk.iter().enumerate() {
            let r = ci * CHUNK + k;
            if !x.is_finite() && bad.len() < 10 {
                bad.push(ids[r]);
            }
            if kinds[r] == dynk && x <= floor {
                dead.push(r);
            }
        }
        let l = Ledger {
            input_hold,
            upkeep,
            gain,
            noise: noise_sum,
            ws_relax,
            clamp_cap,
            clamp_floor,
            ..Ledger::default()
        };
        (l, bad, dead)
    };
    let rows = cols.energy.len();
    let parts: Vec<(Ledger, Vec<u64>, Vec<usize>)> =
        crate::join::chunk_map(cols.energy.chunks_mut(CHUNK).collect(), (rows, CHUNK), |i, c| work((i, c)));
    let mut bad = Vec::new();
    let mut dead = Vec::new();
    let mut terms = Vec::with_capacity(parts.len());
    for (l, b, d) in parts {
        terms.push(l);
        bad.extend(b);
        dead.extend(d);
    }
    if !bad.is_empty() {
        bad.truncate(10);
        return Err(StepError::NonFinite { step: t, nodes: bad });
    }
    let mut s = Ledger::default();
    for t in &terms {
        s.add(t);
    }
    ledger.input_hold = s.input_hold;
    ledger.upkeep = s.upkeep;
    ledger.gain = s.gain;
    ledger.noise = s.noise;
    ledger.ws_relax = s.ws_relax;
    ledger.clamp_cap = s.clamp_cap;
    ledger.clamp_floor = s.clamp_floor;
    Ok(Updated { dead })
}

/// What 5.4 leaves for the next phases.
pub(super) struct Updated {
    /// Rows of the dynamic nodes at the floor, ascending: the deaths of 5.5.
    pub dead: Vec<usize>,
}
