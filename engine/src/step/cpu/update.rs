//! Phase 5.4 on the CPU: the node update, its ledger terms, and the non-finite check.

use super::{Scratch, CHUNK};
use crate::config::Params;
use crate::model::ledger::Ledger;
use crate::rng::{Rng, Stream, LANES};
use crate::step::StepError;
use crate::store::{ones, EdgeTable, NodeKind, Store};

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
///
/// `beside`, where given, runs meanwhile as the first piece of the work that the threads
/// take (before the chunks of rows), with the edge table (whose weights it may write) and
/// the node kinds and subtypes, none of which 5.4 reads or writes; its result comes back
/// beside 5.4's. (Cut in two pieces, the streamed plasticity measured slower.)
pub(super) fn run<R: Send>(
    sc: &Scratch,
    store: &mut Store,
    (params, rng, t): (&Params, &Rng, u64),
    ledger: &mut Ledger,
    beside: Option<impl FnOnce((&mut EdgeTable, &[u8], &[u8])) -> R + Send>,
) -> Result<(Updated, Option<R>), StepError> {
    let e = &params.energy;
    let floor = e.energy_floor;
    // The new energies go straight into the store (a step that fails here fails the run).
    let (cols, edges) = store.node_values_mut_beside_edges();
    let (ids, kinds, gains, subtypes) = (cols.ids, cols.kinds, cols.gain_classes, cols.subtypes);
    let rule = Rule::of(params);
    let dynk = NodeKind::Dynamic.code();
    let use_deg = uses_out_degree(params);
    let no_deg = [0u32; BLOCK];
    let work = |(ci, chunk): (usize, &mut [f32])| {
        // Per block of rows: the new values and each row's ledger terms without a branch
        // (`block`), then the terms added into the chunk's sums by lane (`sum_terms`).
        let mut sums = [[0.0f64; SUM_LANES]; 7];
        let mut terms = Terms::default();
        for (bi, out) in chunk.chunks_mut(BLOCK).enumerate() {
            let lo = ci * CHUNK + bi * BLOCK;
            let rows = lo..lo + out.len();
            let deg = if use_deg { &sc.deg[rows.clone()] } else { &no_deg[..out.len()] };
            let cols = In {
                e0: &sc.e0[rows.clone()],
                inc: &sc.inc[rows.clone()],
                out: &sc.out[rows.clone()],
                noise: &sc.noise[rows.clone()],
                kinds: &kinds[rows.clone()],
                gains: &gains[rows.clone()],
                deg,
            };
            block_fast(&rule, &cols, out, &mut terms);
            if cfg!(debug_assertions) && e.noise_sigma > 0.0 {
                for (r, &k) in rows.clone().zip(cols.kinds) {
                    if k == dynk {
                        debug_assert_eq!(sc.noise[r].to_bits(), rng.noise(t, ids[r], e.noise_sigma).to_bits());
                    }
                }
            }
            // Every term that does not count for its row is +0, and adding +0 to a sum that
            // starts at +0 changes no bit (such a sum is never -0): the sums of the
            // branches.
            sum_terms_fast(&mut sums, &terms, out.len());
        }
        // Each sum's lanes added in lane order.
        let [input_hold, upkeep, gain, noise_sum, ws_relax, clamp_cap, clamp_floor] =
            sums.map(|lanes| lanes.iter().fold(0.0, |s, &x| s + x));
        let (mut bad, mut dead) = (Vec::new(), Vec::new());
        // The rare rows that are not finite or die (5.5's test, on the values just
        // computed), found after the loop above so that it calls no function: one mask word
        // per 64 rows without a branch, then the rows set, in order.
        let lo = ci * CHUNK;
        let chunk_kinds = kinds.get(lo..lo + chunk.len()).unwrap_or_default();
        for (w, (x, k)) in chunk.chunks(64).zip(chunk_kinds.chunks(64)).enumerate() {
            let (not_finite, dies) = rare_rows_fast(x, k, (dynk, floor));
            let room = 10usize.saturating_sub(bad.len());
            bad.extend(ones(not_finite).take(room).map(|j| ids[lo + w * 64 + j]));
            dead.extend(ones(dies).map(|j| lo + w * 64 + j));
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
    let chunks: Vec<&mut [f32]> = cols.energy.chunks_mut(CHUNK).collect();
    let (parts, aside) = if let Some(b) = beside {
        let items = std::iter::once(Piece::Beside(b, edges)).chain(chunks.into_iter().enumerate().map(Piece::Chunk));
        let (mut parts, mut aside) = (Vec::new(), None);
        for out in crate::join::busy_map(items.collect(), |_, piece| match piece {
            Piece::Beside(b, edges) => Done::Beside(b((edges, kinds, subtypes))),
            Piece::Chunk(c) => Done::Chunk(work(c)),
        }) {
            match out {
                Done::Beside(r) => aside = Some(r),
                Done::Chunk(p) => parts.push(p),
            }
        }
        (parts, aside)
    } else {
        (crate::join::chunk_map(chunks, (rows, CHUNK), |i, c| work((i, c))), None)
    };
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
    Ok((Updated { dead }, aside))
}

/// A piece of [`run`]'s work: the work beside it (with the edge table), or a chunk of rows.
enum Piece<'a, B> {
    Beside(B, &'a mut EdgeTable),
    Chunk((usize, &'a mut [f32])),
}

/// What a [`Piece`] gives.
enum Done<R> {
    Beside(R),
    Chunk((Ledger, Vec<u64>, Vec<usize>)),
}

/// Rows per block of [`run`]'s loops.
const BLOCK: usize = 256;

crate::rng::vector_forms!(rare_rows_fast, rare_rows, rare_rows_avx512, rare_rows_avx2,
    (x: &[f32], kinds: &[u8], dies: (u8, f32)) -> (u64, u64));

/// Of up to 64 rows (new energies `x`, kind codes `kinds`): bit `k` of the first word set
/// where row `k`'s value is not finite, of the second where it dies (5.5: a dynamic row,
/// `dies.0`, at or below the floor, `dies.1`). A loop without branches, which the compiled
/// forms vectorise: row by row with a branch each, this test was 3.4% of a one-thread
/// profile of `default.toml` (about 30 us a step); so, 1%.
#[inline(always)]
fn rare_rows(x: &[f32], kinds: &[u8], (dynk, floor): (u8, f32)) -> (u64, u64) {
    let m = x.len().min(kinds.len()).min(64);
    let (mut not_finite, mut dies) = ([0u8; 64], [0u8; 64]);
    for k in 0..m {
        not_finite[k] = u8::from(!x[k].is_finite());
        dies[k] = u8::from((kinds[k] == dynk) & (x[k] <= floor));
    }
    (crate::store::pack_bytes(&not_finite), crate::store::pack_bytes(&dies))
}

/// The parameters of 5.4 a row's new value depends on.
struct Rule {
    cap: f32,
    floor: f32,
    per_node: f32,
    per_edge: f32,
    /// Whether the connection gain is on, and the gain per out-edge by gain class (all 256
    /// codes; a class past the configured values takes the last one; zeros where it is off).
    gain_on: bool,
    gain: [f32; 256],
    noise: bool,
    ws_min: f32,
    ws_rate: f32,
    ws_target: f32,
    sens: u8,
    dynk: u8,
}

/// One block of rows' columns.
struct In<'a> {
    e0: &'a [f32],
    inc: &'a [f32],
    out: &'a [f32],
    noise: &'a [f32],
    kinds: &'a [u8],
    gains: &'a [u8],
    deg: &'a [u32],
}

/// Lanes of each of 5.4's ledger sums per chunk of rows (see [`sum_terms`]).
const SUM_LANES: usize = 8;

crate::rng::vector_forms!(sum_terms_fast, sum_terms, sum_terms_avx512, sum_terms_avx2,
    (sums: &mut [[f64; SUM_LANES]; 7], t: &Terms, m: usize) -> ());

/// Add the first `m` rows of a block's ledger terms `t` into the chunk's `sums`, row `k` of
/// the block into lane `k % SUM_LANES` (blocks start at multiples of the lanes within their
/// chunk, so a row's lane is its row number's): eight interleaved sums per term in row
/// order, added in lane order at the end of the chunk, a fixed order on any thread count,
/// and not one chain of dependent additions per term (at least 23 us per step for
/// `default.toml`'s 17,000 nodes on one thread). Plain loops (see `rng::vector_forms!`).
#[inline(always)]
fn sum_terms(sums: &mut [[f64; SUM_LANES]; 7], t: &Terms, m: usize) {
    let cols = [&t.hold, &t.upkeep, &t.gain, &t.noise, &t.relax, &t.cap, &t.floor];
    let m = m.min(BLOCK);
    let full = m - m % SUM_LANES;
    for j in 0..7 {
        let (lanes, col) = (&mut sums[j], cols[j]);
        let mut k = 0;
        while k < full {
            for l in 0..SUM_LANES {
                lanes[l] += f64::from(col[k + l]);
            }
            k += SUM_LANES;
        }
        for l in 0..m - full {
            lanes[l] += f64::from(col[full + l]);
        }
    }
}

/// One block of rows' ledger terms: each row's term of each sum, +0 where the row adds
/// nothing to it.
struct Terms {
    hold: [f32; BLOCK],
    upkeep: [f32; BLOCK],
    gain: [f32; BLOCK],
    noise: [f32; BLOCK],
    relax: [f32; BLOCK],
    cap: [f32; BLOCK],
    floor: [f32; BLOCK],
}

impl Default for Terms {
    fn default() -> Self {
        let z = [0.0; BLOCK];
        Self { hold: z, upkeep: z, gain: z, noise: z, relax: z, cap: z, floor: z }
    }
}

impl Rule {
    fn of(params: &Params) -> Self {
        let e = &params.energy;
        let values = &e.connection_gain_values;
        let gain_on = e.connection_gain && !values.is_empty();
        let mut gain = [0.0f32; 256];
        if gain_on {
            for (c, g) in gain.iter_mut().enumerate() {
                *g = values[c.min(values.len() - 1)];
            }
        }
        Self {
            cap: e.energy_cap,
            floor: e.energy_floor,
            per_node: e.maintenance_per_node,
            per_edge: e.maintenance_per_out_edge,
            gain_on,
            gain,
            noise: e.noise_sigma > 0.0,
            ws_min: e.workspace_min_active,
            ws_rate: e.workspace_rate,
            ws_target: e.workspace_target,
            sens: NodeKind::Sensory.code(),
            dynk: NodeKind::Dynamic.code(),
        }
    }
}

crate::rng::vector_forms!(block_fast, block, block_avx512, block_avx2, (rule: &Rule, c: &In<'_>, out: &mut [f32], t: &mut Terms) -> ());

/// The new values of one block of rows into `out`, and their ledger terms into `t`:
/// MODEL.md 5.4 by kind (a sensory row held at its input, a dynamic row's upkeep, gain
/// and noise, a workspace row's relaxation), then the clamp. Every kind's value is
/// computed for every row and the row's own chosen by selects, so the loop has no
/// branch; each operation is the one the rule makes, in its order, so the bits are
/// those of a branch per row.
#[inline(always)]
fn block(rule: &Rule, c: &In<'_>, out: &mut [f32], t: &mut Terms) {
    let m = out.len();
    let (e0, inc, outgoing) = (&c.e0[..m], &c.inc[..m], &c.out[..m]);
    let (noise, kinds, gains, deg) = (&c.noise[..m], &c.kinds[..m], &c.gains[..m], &c.deg[..m]);
    let (table, gain_on) = (&rule.gain, rule.gain_on);
    for k in 0..m {
        let (x0, kind) = (e0[k], kinds[k]);
        let x = x0 + (inc[k] - outgoing[k]);
        let (is_s, is_d) = (kind == rule.sens, kind == rule.dynk);
        // Dynamic.
        let d = deg[k] as f32;
        let u = rule.per_node + rule.per_edge * d;
        let g = d * table[usize::from(gains[k])];
        let z = noise[k];
        let mut xd = x - u;
        xd = if gain_on { xd + g } else { xd };
        xd = if rule.noise { xd + z } else { xd };
        // Workspace (any other kind).
        let relaxes = !is_s & !is_d & (x > rule.ws_min);
        let r = rule.ws_rate * (rule.ws_target - x);
        let xw = if relaxes { x + r } else { x };
        let v = if is_s {
            x0
        } else if is_d {
            xd
        } else {
            xw
        };
        let (over, under) = (v > rule.cap, v < rule.floor);
        t.hold[k] = if is_s { x0 - x } else { 0.0 };
        t.upkeep[k] = if is_d { u } else { 0.0 };
        t.gain[k] = if is_d & gain_on { g } else { 0.0 };
        t.noise[k] = if is_d & rule.noise { z } else { 0.0 };
        t.relax[k] = if relaxes { r } else { 0.0 };
        t.cap[k] = if over { v - rule.cap } else { 0.0 };
        t.floor[k] = if under { rule.floor - v } else { 0.0 };
        out[k] = if over {
            rule.cap
        } else if under {
            rule.floor
        } else {
            v
        };
    }
}

/// What 5.4 leaves for the next phases.
pub(super) struct Updated {
    /// Rows of the dynamic nodes at the floor, ascending: the deaths of 5.5.
    pub dead: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::{block, sum_terms, sum_terms_avx2, sum_terms_avx512, In, Rule, Terms, BLOCK, SUM_LANES};
    use super::{rare_rows, rare_rows_avx2, rare_rows_avx512};

    /// The masks of rows that are not finite or die agree with a test row by row, in the
    /// portable form and every compiled one, over words that are not full.
    #[test]
    fn the_masks_of_rare_rows_agree_in_every_form() {
        let mut next = crate::rng::test_words(5);
        let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -10.0, -10.000001, -9.999999];
        let x: Vec<f32> = (0..300)
            .map(|_| match next() % 8 {
                0 => specials[(next() % specials.len() as u64) as usize],
                _ => ((next() % 4000) as f32 - 2000.0) / 100.0,
            })
            .collect();
        let kinds: Vec<u8> = (0..300).map(|_| (next() % 3) as u8).collect();
        let (dynk, floor) = (crate::store::NodeKind::Dynamic.code(), -10.0f32);
        let (mut some_bad, mut some_dead) = (false, false);
        for lo in (0..x.len()).step_by(64) {
            let hi = (lo + 64).min(x.len());
            let (xs, ks) = (&x[lo..hi], &kinds[lo..hi]);
            let word = |t: &dyn Fn(usize) -> bool| (0..hi - lo).fold(0u64, |m, k| m | u64::from(t(k)) << k);
            let want = (word(&|k| !xs[k].is_finite()), word(&|k| ks[k] == dynk && xs[k] <= floor));
            (some_bad, some_dead) = (some_bad || want.0 != 0, some_dead || want.1 != 0);
            assert_eq!(rare_rows(xs, ks, (dynk, floor)), want, "portable, rows {lo}..{hi}");
            for form in crate::rng::forms_found() {
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected.
                let got = unsafe {
                    if form == "avx2" {
                        rare_rows_avx2(xs, ks, (dynk, floor))
                    } else {
                        rare_rows_avx512(xs, ks, (dynk, floor))
                    }
                };
                assert_eq!(got, want, "{form}, rows {lo}..{hi}");
            }
        }
        assert!(some_bad && some_dead, "both kinds of rows occur");
    }

    /// One row's inputs: `E0`, incoming and outgoing change, noise, kind, gain class and
    /// out-degree.
    type Row = (f32, f32, f32, f32, u8, u8, u32);

    /// 5.4 for one row with a branch per case, as MODEL.md states it: the new value and the
    /// terms `[hold, upkeep, gain, noise, relax, cap, floor]` it adds (`None`: none).
    fn by_cases(r: &Rule, (x0, inc, out, z, kind, class, deg): Row) -> (f32, [Option<f32>; 7]) {
        let mut t = [None; 7];
        let mut x = x0 + (inc - out);
        if kind == r.sens {
            t[0] = Some(x0 - x);
            x = x0;
        } else if kind == r.dynk {
            let d = deg as f32;
            let u = r.per_node + r.per_edge * d;
            x -= u;
            t[1] = Some(u);
            if r.gain_on {
                let g = d * r.gain[usize::from(class)];
                x += g;
                t[2] = Some(g);
            }
            if r.noise {
                x += z;
                t[3] = Some(z);
            }
        } else if x > r.ws_min {
            let d = r.ws_rate * (r.ws_target - x);
            x += d;
            t[4] = Some(d);
        }
        if x > r.cap {
            t[5] = Some(x - r.cap);
            x = r.cap;
        } else if x < r.floor {
            t[6] = Some(r.floor - x);
            x = r.floor;
        }
        (x, t)
    }

    fn rule(gain: bool, noise: bool) -> Rule {
        let mut table = [0.0f32; 256];
        for (c, g) in table.iter_mut().enumerate() {
            *g = [1.0, 0.1, 0.01][c.min(2)];
        }
        Rule {
            cap: 244.0,
            floor: -10.0,
            per_node: 0.05,
            per_edge: 0.122,
            gain_on: gain,
            gain: table,
            noise,
            ws_min: 0.1,
            ws_rate: 0.1,
            ws_target: 50.0,
            sens: 0,
            dynk: 1,
        }
    }

    #[test]
    fn a_block_gives_the_values_and_ledger_sums_of_a_branch_per_row() {
        // Values around every threshold, zeros of both signs, and non-finite ones.
        let special = [0.0, -0.0, 0.1, 0.10000001, 244.0, 250.0, -10.0, -12.5, 1e-30, f32::INFINITY, f32::NAN, 3.7];
        let mut next = crate::rng::test_words(0x2545_f491_4f6c_dd1d);
        for (gain, noise) in [(false, true), (true, true), (false, false)] {
            let r = rule(gain, noise);
            let val = |w: u64| match w % 4 {
                0 => special[(w >> 8) as usize % special.len()],
                _ => ((w >> 16) as u32 as f32 / u32::MAX as f32 - 0.2) * 300.0,
            };
            let n = BLOCK - 3;
            let rows: Vec<Row> = (0..n)
                .map(|_| {
                    let w = next();
                    (
                        val(next()),
                        val(next()),
                        val(next()),
                        val(next()) * 0.01,
                        (w % 3) as u8,
                        (w >> 8) as u8,
                        (w >> 16) as u32 % 30,
                    )
                })
                .collect();
            let col = |f: fn(&Row) -> f32| rows.iter().map(f).collect::<Vec<f32>>();
            let (e0, inc, out, z) = (col(|r| r.0), col(|r| r.1), col(|r| r.2), col(|r| r.3));
            let kinds: Vec<u8> = rows.iter().map(|r| r.4).collect();
            let gains: Vec<u8> = rows.iter().map(|r| r.5).collect();
            let deg: Vec<u32> = rows.iter().map(|r| r.6).collect();
            let c = In { e0: &e0, inc: &inc, out: &out, noise: &z, kinds: &kinds, gains: &gains, deg: &deg };
            let mut got = vec![0.0f32; n];
            let mut t = Terms::default();
            block(&r, &c, &mut got, &mut t);
            let (mut sums, mut want_sums) = ([0.0f64; 7], [0.0f64; 7]);
            for (k, row) in rows.iter().enumerate() {
                let (x, terms) = by_cases(&r, *row);
                assert_eq!(got[k].to_bits(), x.to_bits(), "row {k}: {row:?}");
                let mine = [t.hold[k], t.upkeep[k], t.gain[k], t.noise[k], t.relax[k], t.cap[k], t.floor[k]];
                for i in 0..7 {
                    // The row's own term, and a zero for a term it does not add.
                    match terms[i] {
                        Some(v) => assert_eq!(mine[i].to_bits(), v.to_bits(), "row {k}, term {i}: {row:?}"),
                        None => assert_eq!(mine[i], 0.0, "row {k}, term {i}: {row:?}"),
                    }
                    sums[i] += f64::from(mine[i]);
                    if let Some(v) = terms[i] {
                        want_sums[i] += f64::from(v);
                    }
                }
            }
            assert_eq!(sums.map(f64::to_bits), want_sums.map(f64::to_bits), "gain {gain}, noise {noise}");
            // Every compiled form gives the same bits.
            #[cfg(target_arch = "x86_64")]
            for name in crate::rng::forms_found() {
                let mut other = vec![0.0f32; n];
                let mut t2 = Terms::default();
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected just above.
                unsafe {
                    if name == "avx2" {
                        super::block_avx2(&r, &c, &mut other, &mut t2);
                    } else {
                        super::block_avx512(&r, &c, &mut other, &mut t2);
                    }
                }
                assert_eq!(
                    other.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "{name}"
                );
                for (a, b) in [
                    (&t.hold, &t2.hold),
                    (&t.upkeep, &t2.upkeep),
                    (&t.gain, &t2.gain),
                    (&t.noise, &t2.noise),
                    (&t.relax, &t2.relax),
                    (&t.cap, &t2.cap),
                    (&t.floor, &t2.floor),
                ] {
                    assert!(a[..n].iter().zip(&b[..n]).all(|(x, y)| x.to_bits() == y.to_bits()), "{name}");
                }
            }
        }
    }

    #[test]
    fn ledger_sums_add_each_row_into_its_lane_in_row_order() {
        let mut next = crate::rng::test_words(0x5851_f42d_4c95_7f2d);
        let mut t = Terms::default();
        for col in [&mut t.hold, &mut t.upkeep, &mut t.gain, &mut t.noise, &mut t.relax, &mut t.cap, &mut t.floor] {
            for x in col.iter_mut() {
                *x = (next() % 2_000_001) as f32 * 1e-3 - 1e3;
            }
        }
        let cols = [&t.hold, &t.upkeep, &t.gain, &t.noise, &t.relax, &t.cap, &t.floor];
        for m in [0, 1, 7, 8, 9, 100, BLOCK] {
            // Two blocks' worth: the second adds onto the first's sums.
            let mut want = [[0.0f64; SUM_LANES]; 7];
            for _ in 0..2 {
                for (j, col) in cols.iter().enumerate() {
                    for (k, &x) in col[..m].iter().enumerate() {
                        want[j][k % SUM_LANES] += f64::from(x);
                    }
                }
            }
            let bits = |s: [[f64; SUM_LANES]; 7]| s.map(|l| l.map(f64::to_bits));
            let mut got = [[0.0f64; SUM_LANES]; 7];
            sum_terms(&mut got, &t, m);
            sum_terms(&mut got, &t, m);
            assert_eq!(bits(got), bits(want), "{m} rows, portable");
            for name in crate::rng::forms_found() {
                let mut got = [[0.0f64; SUM_LANES]; 7];
                for _ in 0..2 {
                    #[allow(unsafe_code)]
                    // SAFETY: each form is called only where its feature was detected.
                    unsafe {
                        if name == "avx2" {
                            sum_terms_avx2(&mut got, &t, m);
                        } else {
                            sum_terms_avx512(&mut got, &t, m);
                        }
                    }
                }
                assert_eq!(bits(got), bits(want), "{m} rows, {name}");
            }
        }
    }
}
