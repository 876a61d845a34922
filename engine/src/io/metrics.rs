//! Per-step metrics (MODEL.md section 7), their CSV form, and the run summary.

use serde::Serialize;
use std::io::Write;

use crate::model::ledger::Ledger;
use crate::step::PhaseTimes;
use crate::store::NodeTable;

/// Energy statistics of one node kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EnergyStats {
    /// Nodes of this kind.
    pub count: u64,
    /// Total energy (f64: eight interleaved sums in row order, added in order).
    pub total: f64,
    /// Mean energy (0 when there are none).
    pub mean: f64,
    /// Minimum energy (0 when there are none).
    pub min: f32,
    /// Maximum energy (0 when there are none).
    pub max: f32,
}

/// Energy statistics by kind, in the order sensory, dynamic, workspace (totals are `f64`
/// sums in a fixed order, see `partial_lanes`).
pub fn energy_by_kind(nodes: &NodeTable) -> [EnergyStats; 3] {
    // Per fixed chunk of rows (so the totals' bits do not depend on the threads), combined
    // in chunk order.
    let chunks: Vec<_> = nodes.kinds().chunks(STATS_CHUNK).zip(nodes.energy().chunks(STATS_CHUNK)).collect();
    let parts: Vec<Partial> = crate::join::busy_map(chunks, |_, (k, e)| partial(k, e));
    let mut all = [(0u64, 0f64, f32::INFINITY, f32::NEG_INFINITY); 3];
    for p in parts {
        for (a, x) in all.iter_mut().zip(p) {
            *a = (a.0 + x.0, a.1 + x.1, a.2.min(x.2), a.3.max(x.3));
        }
    }
    all.map(|(count, total, min, max)| {
        if count == 0 {
            EnergyStats::default()
        } else {
            EnergyStats { count, total, mean: total / count as f64, min, max }
        }
    })
}

/// Rows per chunk of [`energy_by_kind`].
const STATS_CHUNK: usize = 1 << 16;

/// Count, total, min and max of each kind over some rows.
type Partial = [(u64, f64, f32, f32); 3];

fn partial(kinds: &[u8], energy: &[f32]) -> Partial {
    partial_fast(kinds, energy)
}

/// Lanes of each kind's total: row `r` adds to lane `r % STATS_LANES`.
const STATS_LANES: usize = 8;

/// Rows that [`partial`] takes at once, and the lanes of the counts and extremes (which are
/// exact in any order, so they take the vector's full width: half as many instructions per
/// row as at the totals' eight).
const STATS_WIDE: usize = 2 * STATS_LANES;

crate::rng::vector_forms!(partial_fast, partial_lanes, partial_avx512, partial_avx2,
    (kinds: &[u8], energy: &[f32]) -> Partial);

/// [`partial`]: every row adds to each kind's sums, an amount that is its own where the
/// kind is its own and else nothing (+0 to a total, which never holds -0; no change to a
/// count or an extreme), without a branch, so that the compiler vectorises it; the lanes
/// are then combined in lane order. A row's total goes to lane `row % STATS_LANES` (the
/// sixteen rows of a step in two halves, one after the other), so the totals are eight
/// interleaved sums in row order added in lane order, and not one chain of dependent
/// additions (22 us for `default.toml`'s 17,000 nodes); its count and extremes go to lane
/// `row % STATS_WIDE`. The extremes by a comparison and a select (`f32::min` adds a NaN
/// test): a NaN compares false and is passed over (the run stops at a non-finite energy
/// before the statistics anyway).
#[inline(always)]
fn partial_lanes(kinds: &[u8], energy: &[f32]) -> Partial {
    let n = kinds.len().min(energy.len());
    let mut acc = Lanes {
        count: [[0; STATS_WIDE]; 3],
        total: [[0.0; STATS_LANES]; 3],
        lo: [[f32::INFINITY; STATS_WIDE]; 3],
        hi: [[f32::NEG_INFINITY; STATS_WIDE]; 3],
    };
    // Plain loops, not an iterator adapter (see `vector_forms!`).
    let full = n - n % STATS_WIDE;
    let mut at = 0;
    while at < full {
        if let (Some(k), Some(e)) = (kinds.get(at..at + STATS_WIDE), energy.get(at..at + STATS_WIDE)) {
            acc.add(k, e);
        }
        at += STATS_WIDE;
    }
    acc.add(&kinds[full..n], &energy[full..n]);
    let Lanes { count, total, lo, hi } = acc;
    std::array::from_fn(|j| {
        let c = count[j].iter().map(|&c| u64::from(c)).sum();
        let t = total[j].iter().fold(0.0, |s, &x| s + x);
        let lo = lo[j].iter().fold(f32::INFINITY, |m, &x| if x < m { x } else { m });
        let hi = hi[j].iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
        (c, t, lo, hi)
    })
}

/// [`partial_lanes`]'s sums by kind and lane.
struct Lanes {
    count: [[u32; STATS_WIDE]; 3],
    total: [[f64; STATS_LANES]; 3],
    lo: [[f32; STATS_WIDE]; 3],
    hi: [[f32; STATS_WIDE]; 3],
}

impl Lanes {
    /// Rows `k` (kinds) and `e` (energies), at most [`STATS_WIDE`] from a multiple of it,
    /// row `l` to lane `l` of the counts and extremes and lane `l % STATS_LANES` of the
    /// totals, rows `0..8` before rows `8..16`. (A method, not a closure: see
    /// `vector_forms!`.)
    #[inline(always)]
    fn add(&mut self, k: &[u8], e: &[f32]) {
        let m = k.len().min(e.len()).min(STATS_WIDE);
        let (mut x, mut code) = ([0.0f32; STATS_WIDE], [0u8; STATS_WIDE]);
        x[..m].copy_from_slice(&e[..m]);
        code[..m].copy_from_slice(&k[..m]);
        // Whether row `l` is kind `j` (kind 2 takes every code above 1, as the table's
        // three kinds); rows past `m` are none. `&` and not `&&`: no branch.
        let is = |j: usize, l: usize| (l < m) & if j == 2 { code[l] > 1 } else { usize::from(code[l]) == j };
        for j in 0..3 {
            let (c, lo, hi) = (&mut self.count[j], &mut self.lo[j], &mut self.hi[j]);
            for l in 0..STATS_WIDE {
                let is = is(j, l);
                c[l] += u32::from(is);
                lo[l] = if is & (x[l] < lo[l]) { x[l] } else { lo[l] };
                hi[l] = if is & (x[l] > hi[l]) { x[l] } else { hi[l] };
            }
            let t = &mut self.total[j];
            for half in 0..2 {
                for l in 0..STATS_LANES {
                    let r = half * STATS_LANES + l;
                    t[l] += if is(j, r) { f64::from(x[r]) } else { 0.0 };
                }
            }
        }
    }
}

/// The connection worker's health as metrics report it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkerState {
    /// Whether a worker thread is running (false in inline mode).
    pub running: bool,
    /// Restarts so far.
    pub restarts: u64,
    /// Steps between the snapshot proposals are computed from and their application.
    pub lag_steps: u64,
    /// The last error, empty if none.
    pub last_error: String,
    /// Wall time of the last proposal round received, from sending the snapshot to
    /// receiving the proposals (microseconds; 0 inline).
    pub round_us: f64,
}

/// Everything recorded for one step.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepMetrics {
    /// The step.
    pub step: u64,
    /// Energy by kind (sensory, dynamic, workspace), including node counts.
    pub energy: [EnergyStats; 3],
    /// Edge count after the step.
    pub edges: u64,
    /// Children born.
    pub births: u64,
    /// Nodes that died.
    pub deaths: u64,
    /// Edges added by growth edits (5.1).
    pub edges_added: u64,
    /// Edges culled (5.1).
    pub edges_culled: u64,
    /// Growth proposals made from this step's snapshot.
    pub proposals_made: u64,
    /// Of those, dropped at proposing time.
    pub proposals_dropped: u64,
    /// Edits skipped at apply time this step.
    pub edits_skipped: u64,
    /// Edges that carried an effect in the transfer phase.
    pub edges_conducting: u64,
    /// The ledger.
    pub ledger: Ledger,
    /// Worker state.
    pub worker: WorkerState,
    /// Phase times.
    #[serde(skip)]
    pub times: PhaseTimes,
    /// Time computing growth proposals (inline), in nanoseconds.
    pub growth_ns: u64,
}

impl StepMetrics {
    /// Total energy over every kind.
    pub fn energy_total(&self) -> f64 {
        self.energy.iter().map(|s| s.total).sum()
    }

    /// The CSV header (snake_case, `step` first).
    pub fn csv_header() -> String {
        let mut h = vec!["step".to_string()];
        for k in ["sensory", "dynamic", "workspace"] {
            h.push(format!("nodes_{k}"));
        }
        for n in [
            "edges",
            "births",
            "deaths",
            "edges_added",
            "edges_culled",
            "proposals_made",
            "proposals_dropped",
            "edits_skipped",
            "edges_conducting",
            "energy_total",
        ] {
            h.push(n.into());
        }
        for k in ["sensory", "dynamic", "workspace"] {
            for s in ["total", "mean", "min", "max"] {
                h.push(format!("energy_{k}_{s}"));
            }
        }
        h.extend(Ledger::NAMES.iter().map(|s| s.to_string()));
        h.push("dissipated".into());
        for n in ["worker_running", "worker_restarts", "worker_lag_steps", "worker_round_us", "worker_last_error"] {
            h.push(n.into());
        }
        for n in ["edits", "cache", "transfer", "update", "death", "spawn", "growth"] {
            h.push(format!("time_{n}_us"));
        }
        h.join(",")
    }

    /// One CSV row matching [`StepMetrics::csv_header`].
    pub fn write_csv_row(&self, w: &mut impl Write) -> std::io::Result<()> {
        write!(w, "{}", self.step)?;
        for s in &self.energy {
            write!(w, ",{}", s.count)?;
        }
        write!(
            w,
            ",{},{},{},{},{},{},{},{},{},{}",
            self.edges,
            self.births,
            self.deaths,
            self.edges_added,
            self.edges_culled,
            self.proposals_made,
            self.proposals_dropped,
            self.edits_skipped,
            self.edges_conducting,
            self.energy_total()
        )?;
        for s in &self.energy {
            write!(w, ",{},{},{},{}", s.total, s.mean, s.min, s.max)?;
        }
        for v in self.ledger.values() {
            write!(w, ",{v}")?;
        }
        write!(w, ",{}", self.ledger.dissipated())?;
        let err = self.worker.last_error.replace([',', '\n', '"'], " ");
        let wk = &self.worker;
        write!(w, ",{},{},{},{:.1},{}", u8::from(wk.running), wk.restarts, wk.lag_steps, wk.round_us, err)?;
        let t = &self.times;
        for ns in [t.edits_ns, t.cache_ns, t.transfer_ns, t.update_ns, t.death_ns, t.spawn_ns, self.growth_ns] {
            write!(w, ",{:.1}", ns as f64 / 1000.0)?;
        }
        writeln!(w)
    }
}

/// Node counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct KindCounts {
    /// Sensory nodes.
    pub sensory: u64,
    /// Dynamic nodes.
    pub dynamic: u64,
    /// Workspace nodes.
    pub workspace: u64,
}

/// Energy totals by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EnergyTotals {
    /// Over all nodes.
    pub total: f64,
    /// Sensory nodes.
    pub sensory: f64,
    /// Dynamic nodes.
    pub dynamic: f64,
    /// Workspace nodes.
    pub workspace: f64,
}

/// Run totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct RunTotals {
    /// Children born.
    pub births: u64,
    /// Nodes that died.
    pub deaths: u64,
    /// Edges added by growth.
    pub edges_added: u64,
    /// Edges culled.
    pub edges_culled: u64,
    /// Proposals made.
    pub proposals_made: u64,
    /// Proposals dropped at proposing time.
    pub proposals_dropped: u64,
    /// Edits skipped at apply time.
    pub proposals_skipped: u64,
}

impl RunTotals {
    /// Add one step.
    pub fn add(&mut self, m: &StepMetrics) {
        self.births += m.births;
        self.deaths += m.deaths;
        self.edges_added += m.edges_added;
        self.edges_culled += m.edges_culled;
        self.proposals_made += m.proposals_made;
        self.proposals_dropped += m.proposals_dropped;
        self.proposals_skipped += m.edits_skipped;
    }
}

/// The `summary.json` of a run (DESIGN.md, "Interfaces every issue relies on").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Format of this file.
    pub format_version: u32,
    /// Steps run (the next step to run).
    pub step: u64,
    /// Node counts by kind.
    pub nodes: KindCounts,
    /// Edge count.
    pub edges: u64,
    /// Energy totals.
    pub energy: EnergyTotals,
    /// Run totals.
    #[serde(flatten)]
    pub totals: RunTotals,
    /// The state hash.
    pub state_hash: String,
    /// Wall seconds of the stepping loop.
    pub wall_seconds: f64,
    /// Steps per second of the stepping loop.
    pub steps_per_second: f64,
    /// Backend name.
    pub backend: String,
    /// Threads.
    pub threads: usize,
    /// The connection worker: `inline` or `thread`, and how it fared.
    pub worker: WorkerSummary,
}

/// The connection worker in the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkerSummary {
    /// `inline` or `thread`.
    pub mode: String,
    /// Restarts of the worker thread.
    pub restarts: u64,
    /// Growth stopped because the restart budget was spent.
    pub growth_stopped: bool,
    /// The last failure, empty if none.
    pub last_error: String,
}

#[cfg(test)]
mod tests {
    use super::{partial, partial_avx2, partial_avx512, partial_lanes, Partial, STATS_LANES};

    #[test]
    fn partial_statistics_by_kind_pass_over_nan() {
        let kinds = [0u8, 1, 1, 2, 1, 0];
        let energy = [0.5f32, 2.0, f32::NAN, 7.0, -1.0, 0.25];
        let p = partial(&kinds, &energy);
        assert_eq!((p[0].0, p[0].1, p[0].2, p[0].3), (2, 0.75, 0.25, 0.5));
        assert_eq!((p[1].0, p[1].2, p[1].3), (3, -1.0, 2.0));
        assert!(p[1].1.is_nan());
        assert_eq!((p[2].0, p[2].1, p[2].2, p[2].3), (1, 7.0, 7.0, 7.0));
    }

    #[test]
    fn every_form_gives_the_same_statistics_as_a_sum_per_lane() {
        let mut next = crate::rng::test_words(0x9e37_79b9_7f4a_7c15);
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 24, 1000, 4099] {
            let kinds: Vec<u8> = (0..n).map(|_| (next() % 4) as u8).collect();
            let energy: Vec<f32> = (0..n).map(|_| (next() % 10_000) as f32 * 0.37 - 100.0).collect();
            // The reference: per kind, the rows of each lane summed in row order, then the
            // lanes in order.
            let want: Partial = std::array::from_fn(|j| {
                let of = |r: &usize| usize::from(kinds[*r]).min(2) == j;
                let rows: Vec<usize> = (0..n).filter(of).collect();
                let lanes = (0..STATS_LANES).map(|l| {
                    rows.iter().filter(|&&r| r % STATS_LANES == l).fold(0.0f64, |s, &r| s + f64::from(energy[r]))
                });
                let lo = rows.iter().map(|&r| energy[r]).fold(f32::INFINITY, f32::min);
                let hi = rows.iter().map(|&r| energy[r]).fold(f32::NEG_INFINITY, f32::max);
                (rows.len() as u64, lanes.fold(0.0, |s, x| s + x), lo, hi)
            });
            let bits = |p: Partial| p.map(|(c, t, lo, hi)| (c, t.to_bits(), lo.to_bits(), hi.to_bits()));
            assert_eq!(bits(partial_lanes(&kinds, &energy)), bits(want), "{n} rows, portable");
            for form in crate::rng::forms_found() {
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected.
                let got = unsafe {
                    if form == "avx2" {
                        partial_avx2(&kinds, &energy)
                    } else {
                        partial_avx512(&kinds, &energy)
                    }
                };
                assert_eq!(bits(got), bits(want), "{n} rows, {form}");
            }
        }
    }
}
