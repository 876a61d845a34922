//! The CPU stepper: MODEL.md section 5 on rayon, bit-identical for any thread count.
//!
//! Every per-node sum runs over that node's edges in ascending `EdgeId` order on one
//! thread; ledger reductions run over fixed chunks of rows summed in order, so neither
//! depends on how rayon splits the work.

mod cache;
mod factors;
mod plastic;
mod slots;
mod stream;
mod transfer;
mod update;

use std::time::Instant;

use super::{Footprint, StepError, StepInput, StepReport, Stepper};
use crate::config::Params;
use crate::model::{edits, ledger::Ledger, rules::input_value, spawn};
use crate::store::{EdgeTable, NodeKind, Side, Store};

use cache::HotCache;

/// Per-node scratch of one step.
#[derive(Default)]
struct Scratch {
    e0: Vec<f32>,
    /// Per source: outgoing change (payments plus burns).
    out: Vec<f32>,
    /// Per target: incoming change (received minus drained).
    inc: Vec<f32>,
    /// Per node: out-degree.
    deg: Vec<u32>,
    /// Per node: the noise of 5.4 (dynamic nodes; 0 for others).
    noise: Vec<f32>,
    /// The store's node-values version after the previous step, and the energy total then.
    last_total: Option<(u64, f64)>,
    /// Per source: `[E0_i, transmission_loss * a_i]`, the second zero for inactive sources
    /// (what the target passes gather).
    pair: Vec<[f32; 2]>,
    /// Per source: `transmission_loss * a_i` alone (the compressed-row path's plain pull
    /// loop gathers only this: 4 bytes per edge instead of the pair's 8).
    recv: Vec<f32>,
    /// Per target: incoming change, received, inhibited (the streamed target pass).
    tgt: Vec<[f32; 4]>,
    /// Per node: the words the streamed plasticity gathers (`plastic`).
    plastic_words: plastic::NodeWords,
    /// The source rows of the edges the deaths removed (see `degrees_after_deaths`).
    lost_from: Vec<u32>,
    /// The edge pairs 5.1 asks before scanning for duplicates (large batches only).
    pairs: crate::model::pairs::PairFilter,
}

/// How the CPU stepper computes the per-node sums of 5.2. Both paths give the same bits;
/// only their speed differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferPath {
    /// Use the compressed-row path, its in-slot arrays following the store (edges only
    /// appended and tombstoned) or rebuilt after edge rows moved; stream the edge rows in a
    /// step whose rows moved when they had also moved in the step before.
    #[default]
    Auto,
    /// Always stream the edge rows.
    Stream,
    /// Always use the compressed-row path.
    Rows,
}

/// The reference backend.
pub struct CpuStepper {
    pool: std::sync::Arc<rayon::ThreadPool>,
    cache: HotCache,
    scratch: Scratch,
    path: TransferPath,
    /// Whether the last step streamed the edge rows, and its edge count.
    last: Option<(bool, usize)>,
}

impl CpuStepper {
    /// A stepper with `threads` rayon threads (0: one per core).
    pub fn new(threads: usize) -> Result<Self, String> {
        Self::with_pinning(threads, true)
    }

    /// [`CpuStepper::new`], with the pool's threads pinned to cores only where `pin` (and
    /// the pool has a thread for every core the process may use, see `pin_to_core`).
    pub fn with_pinning(threads: usize, pin: bool) -> Result<Self, String> {
        let cores = if pin { core_affinity::get_core_ids().unwrap_or_default() } else { Vec::new() };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("neuroflux-cpu-{i}"))
            .start_handler(move |i| pin_to_core(i, &cores))
            .build()
            .map_err(|e| format!("cannot start the CPU thread pool: {e}"))?;
        Ok(Self {
            pool: std::sync::Arc::new(pool),
            cache: HotCache::default(),
            scratch: Scratch::default(),
            path: TransferPath::Auto,
            last: None,
        })
    }

    /// The same stepper with the transfer computed by `path` (tests compare the paths).
    pub fn with_path(mut self, path: TransferPath) -> Self {
        self.path = path;
        self
    }
}

/// Pin pool thread `i` to its own core where the pool has one thread for each core this
/// process may run on (`cores`, more than one). Unpinned, the operating system sometimes
/// runs two of them on one core for milliseconds, and a parallel section then takes as
/// long as on one thread (measured: `churn-100k`'s admission scans, in about one step in
/// four). With fewer threads than cores, as in a sweep that runs several simulations side
/// by side, the operating system places them; and with a connection worker thread beside
/// the pool (`cores` empty), where pinning measured 2% slower on `full-1m`.
fn pin_to_core(i: usize, cores: &[core_affinity::CoreId]) {
    if cores.len() > 1 && rayon::current_num_threads() == cores.len() {
        if let Some(&core) = cores.get(i) {
            // Where the system refuses, the thread runs unpinned: only slower.
            let _ = core_affinity::set_for_current(core);
        }
    }
}

fn ns(t: Instant) -> u64 {
    t.elapsed().as_nanos() as u64
}

/// Rows per chunk of the energy total (fixed, so its bits do not depend on the threads; a
/// graph of up to this many nodes is summed as one chunk).
const TOTAL_CHUNK: usize = 1 << 16;

/// The energy total for the ledger check, in `f64`: per fixed chunk of rows, eight running
/// sums over rows `8k + l` added in lane order at the end; chunks added in order. A fixed
/// order (so the same bits on every run and thread count) that is not one long chain of
/// dependent additions.
fn total_energy(e: &[f32]) -> f64 {
    use rayon::prelude::*;
    let parts: Vec<f64> = e.par_chunks(TOTAL_CHUNK).map(lane_sum).collect();
    parts.iter().sum()
}

fn lane_sum(e: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = e.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += f64::from(x);
        }
    }
    for (l, &x) in lanes.iter_mut().zip(chunks.remainder()) {
        *l += f64::from(x);
    }
    lanes.iter().sum()
}

impl Stepper for CpuStepper {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
    fn step(&mut self, input: StepInput<'_>) -> Result<StepReport, StepError> {
        let Self { pool, cache, scratch, path, last } = self;
        // Runs inline when the caller is already on this pool (the simulation's step is).
        pool.install(|| step(cache, scratch, *path, input, last))
    }
    fn footprint(&self) -> Footprint {
        use cache::bytes;
        let sc = &self.scratch;
        let scratch = bytes(&sc.e0)
            + bytes(&sc.out)
            + bytes(&sc.inc)
            + bytes(&sc.deg)
            + bytes(&sc.noise)
            + bytes(&sc.pair)
            + bytes(&sc.recv)
            + bytes(&sc.tgt)
            + sc.pairs.resident_bytes();
        // Bytes per edge each transfer path reads (see `Footprint`): streamed, pass A reads
        // flags, source row, q and gate (13) and gathers E0 (4); pass C reads flags, both
        // endpoint rows, gate and q (17) and gathers the source pair (8). Compressed rows:
        // source row and q (8) and the gathered factor (4) on plain targets; the others read
        // flags too (1) and gather the source pair (8), and a gated edge its edge row and gate
        // (rare: counted as the others).
        let hot_bytes_per_edge = match self.last {
            Some((true, _)) => 42.0,
            Some((false, edges)) if edges > 0 => {
                let plain = self.cache.slots.plain_slots.min(edges);
                (12 * plain + 17 * (edges - plain)) as f64 / edges as f64
            }
            _ => 0.0,
        };
        Footprint { resident_bytes: self.cache.resident_bytes() + scratch, hot_bytes_per_edge }
    }
    fn pool(&self) -> std::sync::Arc<rayon::ThreadPool> {
        self.pool.clone()
    }
}

/// Steps without a topology change after which the per-row copy of `q_e` is freed.
const QUIET_STEPS: u32 = 4;
/// Steps without a topology change after which the per-row flags are freed too (where no
/// source's sums are recomputed every step): computing them again costs more than `q_e`.
const QUIET_STEPS_FLAGS: u32 = 16;

fn step(
    cache: &mut HotCache,
    sc: &mut Scratch,
    path: TransferPath,
    inp: StepInput<'_>,
    last: &mut Option<(bool, usize)>,
) -> Result<StepReport, StepError> {
    let StepInput { store, params, rng, step: t, frame, edits: due, beside } = inp;
    let mut rep = StepReport { step: t, ..StepReport::default() };
    let mut ledger = Ledger::default();
    // Unchanged node values since the previous step: the same sum as its total after.
    rep.total_before = match sc.last_total {
        Some((v, total)) if v == store.node_values_version() => total,
        _ => total_energy(store.nodes().energy()),
    };

    // 5.1
    let t0 = Instant::now();
    if let Some(p) = due {
        rep.edits = edits::apply_edits_with(store, params, p, t, &mut sc.pairs);
    }
    rep.times.edits_ns = ns(t0);
    let t0 = Instant::now();
    // 5.2 input: the frame is checked and this step's `E0` (sensory nodes at their input
    // value) built beside the cache sync; both only read the store. The store's sensory
    // energies are written by 5.4 (which holds them at the input value).
    let (input, ()) = {
        let st: &Store = store;
        let e0 = &mut sc.e0;
        crate::join::join_busy(|| input_energies(st, params, frame, t, e0), || cache.sync(st, params))
    };
    ledger.input_set = input?;
    // The compressed-row path where its in-slot arrays follow the store in O(edits), else
    // after a rebuild, which serves the steps after; but where the edge rows moved in this
    // step and the one before (node removals every step), the topology is streamed, as
    // rebuilding would cost more than the step.
    let changing = cache.last_transfer_version != Some(store.version());
    let cache_had_step = cache.last_transfer_version.is_some();
    let moved = cache.last_layout != Some(store.edge_layout());
    let stream = match path {
        TransferPath::Auto => changing && !cache.slots.can_follow(store) && moved && cache.moved_before,
        TransferPath::Stream => true,
        TransferPath::Rows => false,
    };
    cache.last_transfer_version = Some(store.version());
    cache.last_layout = Some(store.edge_layout());
    cache.moved_before = moved;
    *last = Some((stream, store.edges().count()));
    if stream && moved {
        // Rows moved: the in-slot arrays cannot follow any more (a later rebuild allocates
        // them again), so they stop holding memory.
        cache.slots = Default::default();
    }
    // `q_e` per edge row for the streamed passes, while the topology changes (the sums of
    // changed sources read it) and while some source's sums are recomputed every step (a
    // gated edge, or a plastic one under plasticity); any other graph that stays the same
    // frees it (4 bytes per edge), and what needs `q_e` then computes it from the weight.
    // So does the compressed-row path once plasticity has changed weights: each update
    // would write it at a scattered row (measured: 10% of a step of a graph with a tenth of
    // its edges plastic), where the sums that read it compute it for less.
    cache.quiet_steps = if changing { 0 } else { cache.quiet_steps.saturating_add(1) };
    // (Whether some source's sums are recomputed every step is asked only of a graph that has
    // stayed the same that long: a pass over the sources.)
    let quiet = !stream && cache.quiet_steps >= QUIET_STEPS;
    let recomputed_every_step = quiet && cache.per_step.iter().any(|&p| p);
    if !stream && cache.weights_changed && params.transfer.plasticity {
        cache.drop_q();
    } else if !quiet || recomputed_every_step {
        cache.keep_q(store);
    } else {
        cache.drop_q();
    }
    // Longer without a change, and with no source whose sums are recomputed every step,
    // nothing reads the per-row flags either until the topology changes (1 byte per edge).
    if quiet && cache.quiet_steps == QUIET_STEPS_FLAGS && !recomputed_every_step {
        cache.drop_rows();
    }
    if !stream {
        // The in-slot arrays follow the store beside the out-edge view (which they do not
        // read); room in the groups only where the topology changed since an earlier step
        // (a graph that stays the same reads its groups packed).
        let slack = changing && cache_had_step;
        let plasticity = params.transfer.plasticity;
        // The out-edge view holds the per-row entries beside its items (the sums of sources
        // that lost edges read them there), except where plasticity changes weights (and
        // with them `q_e`) from step to step.
        let rows = cache.take_rows();
        let side = (!cache.weights_changed && cache.q_kept()).then_some(Side { q: &rows.0, flags: &rows.1 });
        store.refresh_out_edges_beside(side, |st| cache.sync_slots(st, slack, plasticity, (&rows.0, &rows.1)));
        cache.put_rows(rows);
    }
    rep.times.cache_ns = ns(t0);
    let t0 = Instant::now();

    // 5.2 transfer and 5.3 plasticity
    // The transfer only reads the store until its plastic weights are written; the noise of
    // 5.4 (node ids and kinds only) is drawn beside it.
    let mut noise = std::mem::take(&mut sc.noise);
    let ((conducting, weights), ()) = {
        let st: &Store = store;
        crate::join::join_busy(
            || transfer::compute(cache, sc, st, params, &mut ledger, (stream, beside)),
            || update::fill_noise(st, params, rng, t, &mut noise),
        )
    };
    sc.noise = noise;
    let later = matches!(weights, transfer::NewWeights::Later);
    transfer::apply(cache, store, weights);
    rep.edges_conducting = conducting;
    rep.times.transfer_ns = ns(t0);

    // 5.4, with the streamed path's plasticity (5.3) beside it: 5.3 reads pass C's incoming
    // changes, `E0` and the edges, none of which 5.4 writes, and its weights take effect next
    // step.
    // The new weights are written in the same piece (8 us a step of `default.toml` after
    // 5.4 on one thread, before).
    let t0 = Instant::now();
    let mut words = std::mem::take(&mut sc.plastic_words);
    let s: &Scratch = sc;
    let plasticity = later.then_some(|(edges, kinds, subtypes): (&mut EdgeTable, &[u8], &[u8])| {
        let updates = plastic::updates(cache, s, (edges, kinds, subtypes), params, &mut words);
        stream::write_weights(cache, edges.weights_mut(), &updates);
    });
    let (updated, wrote) = update::run(s, store, (params, rng, t), &mut ledger, plasticity)?;
    sc.plastic_words = words;
    if wrote.is_some() {
        store.edge_weights_written();
    }
    rep.times.update_ns = ns(t0);

    // 5.5
    let t0 = Instant::now();
    // Every dynamic node at the floor dies; 5.4 listed them.
    let dead = updated.dead;
    for &r in &dead {
        ledger.dead += f64::from(store.nodes().energy()[r]);
    }
    rep.deaths = dead.len() as u64;
    // Spawn's out-degrees are those pass B kept for 5.4 (pass A's count of every live out-edge,
    // this step) less the edges the deaths remove, where the edge rows were streamed (else they
    // are counted after the deaths).
    let spawns = params.spawn.max_births_per_step > 0;
    let derived = spawns && stream && sc.deg.len() == store.nodes().len();
    if derived {
        let mut lost = std::mem::take(&mut sc.lost_from);
        lost.clear();
        rep.edges_lost_to_death = store.remove_node_rows_noting(&dead, Some(&mut lost)) as u64;
        degrees_after_deaths(&mut sc.deg, &dead, &lost);
        sc.lost_from = lost;
    } else {
        rep.edges_lost_to_death = store.remove_node_rows(&dead) as u64;
    }
    rep.times.death_ns = ns(t0);

    // 5.6
    let t0 = Instant::now();
    if spawns {
        let n = store.nodes().len();
        let mut deg = std::mem::take(&mut sc.deg);
        if derived {
            debug_assert_eq!(deg, out_degrees(store), "out-degrees from pass A less the deaths' edges");
        } else {
            deg.clear();
            deg.resize(n, 0);
            count_out_degrees(store, &mut deg);
        }
        // The out-edge view the growth rules read after this step is carried over the
        // deaths (or rebuilt, in the old one's buffers) beside the choice of candidates
        // (both only read the store); the children's edges are appended to it.
        let served = store.refresh_out_edges_to_edit_beside(&deg, |st| spawn::candidates(st, params, &deg));
        let c = spawn::births(store, params, rng, t, &deg, &served);
        sc.deg = deg;
        rep.births = c.births;
        ledger.spawn_paid = c.paid;
        ledger.spawn_created = c.created;
    }
    // The energy total after the step (the node values are final) beside the out-edge
    // view's last appends (which change no node value): on the other thread, which wrote
    // most of the energies in 5.4 (7 us a step of `default.toml` on the calling thread).
    rep.total_after = store.refresh_out_edges_beside(None, |st| total_energy(st.nodes().energy()));
    rep.times.spawn_ns = ns(t0);

    sc.last_total = Some((store.node_values_version(), rep.total_after));
    rep.ledger = ledger;
    Ok(rep)
}

/// Each node row's live out-degree, counted into `deg` (zeros, one per node row).
fn count_out_degrees(store: &Store, deg: &mut [u32]) {
    let edges = store.edges();
    if edges.tombstones() == 0 {
        for &s in edges.src_rows() {
            deg[s as usize] += 1;
        }
    } else {
        let dead = edges.tombstone_bits();
        for (e, &s) in edges.src_rows().iter().enumerate() {
            deg[s as usize] += u32::from(!crate::store::bit(dead, e));
        }
    }
}

/// [`count_out_degrees`] into a new vector (what debug builds check the derived ones against).
fn out_degrees(store: &Store) -> Vec<u32> {
    let mut deg = vec![0; store.nodes().len()];
    count_out_degrees(store, &mut deg);
    deg
}

/// The out-degrees after the deaths: `deg` (one per node row before the removal) less one for
/// each removed edge (`lost_from`, their source rows then), the removed rows (`dead`,
/// ascending) left out.
fn degrees_after_deaths(deg: &mut Vec<u32>, dead: &[usize], lost_from: &[u32]) {
    for &s in lost_from {
        deg[s as usize] -= 1;
    }
    crate::store::compact(deg, dead);
}

/// Check `frame` and fill `e0` with the store's energies, sensory nodes set to their input
/// value (5.2); returns the ledger's `input_set`.
fn input_energies(store: &Store, params: &Params, frame: &[f32], t: u64, e0: &mut Vec<f32>) -> Result<f64, StepError> {
    let expected = params.n_sensory();
    if frame.len() != expected {
        return Err(StepError::FrameSize {
            step: t,
            got: frame.len(),
            expected,
            width: params.graph.sensory_width,
            height: params.graph.sensory_height,
        });
    }
    // Every value in [0, 1] (NaN is not), counted without a branch per value (which the
    // compiler vectorises; a search that stops at the first bad value does not: 3.7 us of
    // `default.toml`'s 4,096 values a step by a timer); the first bad one is searched for
    // only where there is one.
    let outside = |v: &f32| !(0.0..=1.0).contains(v);
    let bad = frame.iter().map(|v| u32::from(outside(v))).sum::<u32>();
    if bad > 0 {
        if let Some((index, &value)) = frame.iter().enumerate().find(|(_, v)| outside(v)) {
            return Err(StepError::FrameValue { step: t, index, value });
        }
    }
    let nodes = store.nodes();
    let (kinds, bindings) = (nodes.kinds(), nodes.bindings());
    e0.clear();
    e0.extend_from_slice(nodes.energy());
    let sens = NodeKind::Sensory.code();
    // `input_set` in eight lanes, row `r` adding to lane `r % 8`, added in lane order: a
    // fixed order that is not one chain of dependent additions (the chain bound the loop:
    // 9.7 against 5.6-7.7 us a step by a timer, of `default.toml`'s 4,096 sensory rows).
    let mut lanes = [0.0f64; 8];
    // Set row energy `x` to the input at binding `b`; its term of `input_set`.
    let set = |x: &mut f32, b: u32| {
        let v = input_value(frame[b as usize], t, params);
        let d = f64::from(v - *x);
        *x = v;
        d
    };
    // Only the rows that can hold sensory nodes (the leading ones, as the build lays them
    // out): the others add nothing. (`default.toml`'s cache phase, whose longer side this
    // is, 26-27 -> 22 us a step, against a loop over all 17,000 rows.)
    match nodes.sensory_rows() {
        Some(rows) => {
            // Every one of these rows is sensory: no test of its kind. They start at row 0,
            // so that the lane of a row of a chunk of 8 is its place in the chunk.
            debug_assert_eq!(rows.start, 0, "the sensory rows lead");
            let (e, b) = (&mut e0[rows.clone()], &bindings[rows]);
            let (mut ec, mut bc) = (e.chunks_exact_mut(8), b.chunks_exact(8));
            for (xs, bs) in (&mut ec).zip(&mut bc) {
                for l in 0..8 {
                    lanes[l] += set(&mut xs[l], bs[l]);
                }
            }
            for ((x, &b), lane) in ec.into_remainder().iter_mut().zip(bc.remainder()).zip(&mut lanes) {
                *lane += set(x, b);
            }
        }
        None => {
            for (r, x) in e0.iter_mut().enumerate() {
                if kinds[r] == sens {
                    lanes[r % 8] += set(x, bindings[r]);
                }
            }
        }
    }
    let input_set: f64 = lanes.iter().sum();
    Ok(input_set)
}

/// Rows per chunk of the ledger reductions (fixed, so sums do not depend on threads).
pub(crate) const CHUNK: usize = 4096;

/// Rows per chunk of the source pass (pass B of the streamed transfer, and the compressed-row
/// path's source pass, whose ledger sums must be the same): half of [`CHUNK`], so that the
/// streamed pass's two runs can be cut at more than half the rows (the calling thread, which
/// wrote pass A's sums, reads them from its own cache).
pub(crate) const SOURCE_CHUNK: usize = 2048;

#[cfg(test)]
mod tests {
    use super::input_energies;
    use crate::config::Config;
    use crate::model::rules::input_value;
    use crate::store::{NodeKind, NodeRecord, Store};

    /// 5.2's input: each sensory row set to its pixel's input value, and `input_set` summed in
    /// eight lanes by row (row `r` into lane `r % 8`, lanes added in order), the same bits
    /// whether the store knows its sensory rows lead or not.
    #[test]
    fn input_energies_set_the_sensory_rows_and_sum_input_set_by_lanes() {
        let mut c = Config::default();
        (c.graph.sensory_width, c.graph.sensory_height) = (21, 1);
        c.input.sensory_gain = 3.0;
        let params = c.validate().expect("valid");
        // Energies of very different sizes, so that the order of the additions shows in the
        // bits of `input_set`.
        let sensory = |b: u32| NodeRecord {
            kind: NodeKind::Sensory,
            energy: if b % 3 == 0 { 1.1e12 * (b + 1) as f32 } else { 0.37 * b as f32 },
            binding: 20 - b,
            ..NodeRecord::dynamic_for_tests()
        };
        let mut recs: Vec<NodeRecord> = (0..21).map(sensory).collect();
        recs.push(NodeRecord { energy: 7.0, ..NodeRecord::dynamic_for_tests() });
        let mut leading = Store::new(false);
        leading.add_nodes(&recs);
        assert_eq!(leading.nodes().sensory_rows(), Some(0..21));
        // The same rows, the store no longer knowing that the sensory ones lead (a kind
        // written twice).
        let mut unknown = leading.clone();
        for _ in 0..2 {
            unknown.tables_mut_for_tests().0.poke_column(1, 3);
        }
        assert_eq!((unknown.nodes().sensory_rows(), unknown.nodes().kinds()), (None, leading.nodes().kinds()));
        let frame: Vec<f32> = (0..21).map(|i| (i as f32 * 0.37) % 1.0).collect();
        let t = 4;
        let mut lanes = [0.0f64; 8];
        let mut want = Vec::new();
        for (r, rec) in recs.iter().enumerate() {
            if rec.kind == NodeKind::Sensory {
                let v = input_value(frame[rec.binding as usize], t, &params);
                lanes[r % 8] += f64::from(v - rec.energy);
                want.push(v);
            } else {
                want.push(rec.energy);
            }
        }
        let want_set: f64 = lanes.iter().sum();
        for store in [&leading, &unknown] {
            let mut e0 = Vec::new();
            let got = input_energies(store, &params, &frame, t, &mut e0).expect("a good frame");
            assert_eq!(e0, want);
            assert_eq!(got.to_bits(), want_set.to_bits(), "input_set");
        }
    }
}
