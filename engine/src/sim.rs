//! A running simulation: the state, the stepper, the pending proposals, the input, and the
//! growth rules computed inline at the point MODEL.md section 6 defines.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::config::Params;
use crate::growth::worker::Worker;
use crate::growth::{early_tests, propose_with, EarlyTests, GraphView, Pending, Proposals};
use crate::hash::state_hash;
use crate::io::input::Input;
use crate::io::metrics::{
    energy_by_kind, EnergyTotals, KindCounts, RunTotals, StepMetrics, Summary, WorkerState, WorkerSummary,
};
use crate::join::SetOnDrop;
use crate::model::build::{build_initial, BuildError};
use crate::rng::Rng;
use crate::step::{self, BackendError, StepError, StepInput, Stepper};
use crate::store::{NodeKind, Store, StoreError};

/// Errors of a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The backend could not be created.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The initial graph could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A step failed.
    #[error(transparent)]
    Step(#[from] StepError),
    /// An invariant does not hold.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The initial graph file cannot be used.
    #[error(transparent)]
    GraphFile(#[from] crate::io::graph_file::GraphFileError),
    /// The configured input could not be loaded.
    #[error(transparent)]
    Input(#[from] crate::io::input::InputError),
    /// The connection worker thread failed.
    #[error(transparent)]
    Worker(#[from] crate::growth::worker::WorkerError),
    /// A checkpoint's configuration is not valid.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// An energy is outside its bounds.
    #[error("node {node} has energy {energy}, outside [{floor}, {cap}]")]
    EnergyBounds {
        /// Node id.
        node: u64,
        /// Its energy.
        energy: f32,
        /// The floor.
        floor: f32,
        /// The cap.
        cap: f32,
    },
}

/// A simulation of one validated configuration.
pub struct Simulation {
    params: Params,
    rng: Rng,
    store: Store,
    step: u64,
    stepper: Box<dyn Stepper>,
    pending: Pending,
    input: Input,
    frame: Vec<f32>,
    totals: RunTotals,
    last_totals: (f64, f64),
    /// The connection worker thread (`run.worker = "thread"`), started at the first step.
    worker: Option<Worker>,
    /// Where snapshots are published, once asked for ([`Simulation::snapshots`]).
    published: Option<Arc<ArcSwap<Snapshot>>>,
}

/// An immutable copy of the state after a step, as published to readers.
#[derive(Debug)]
pub struct Snapshot {
    /// Steps run when it was taken.
    pub step: u64,
    /// Every node and edge column (and the out-edge view).
    pub store: Arc<Store>,
    /// The metrics of the step that produced it (none for the first snapshot).
    pub metrics: Option<StepMetrics>,
}

impl Simulation {
    /// What the backend holds and moved at its last step (the benchmark harness reports it).
    pub fn backend_footprint(&self) -> step::Footprint {
        self.stepper.footprint()
    }

    /// Queue edits from outside the model (the benchmark harness, a program driving the
    /// engine) to be applied at the start of the next step by the same phase 5.1 as the
    /// growth rules' proposals: `p.removes` unconditionally (where the edge still exists),
    /// then `p.culls` and `p.adds` re-validated as MODEL.md 5.1 says.
    pub fn queue_edits(&mut self, p: Proposals) {
        self.pending.insert(self.step, p);
    }

    /// Build the initial graph and the backend. `threads` overrides `run.threads`;
    /// `progress` is told each build phase as it starts.
    pub fn new(params: Params, threads: Option<usize>, progress: &(dyn Fn(&str) + Sync)) -> Result<Self, SimError> {
        let stepper = step::create(&params, threads)?;
        // On the stepper's pool: a second pool (rayon's global one) would keep its threads
        // spinning into the first steps and compete with the stepper's for the cores.
        let store = if params.graph.initial_graph.is_empty() {
            stepper.pool().install(|| build_initial(&params, progress))?
        } else {
            progress("loading the initial graph");
            crate::io::graph_file::load(&params)?
        };
        Self::from_parts(params, store, 0, Pending::default(), stepper)
    }

    /// A simulation from an existing state (tests build graphs by hand this way).
    /// Fails only when the configured input cannot be loaded.
    pub fn from_parts(
        params: Params,
        mut store: Store,
        step: u64,
        pending: Pending,
        stepper: Box<dyn Stepper>,
    ) -> Result<Self, SimError> {
        store.set_max_tombstone_fraction(f64::from(params.run.max_tombstone_fraction));
        Ok(Self {
            rng: Rng::new(params.run.seed),
            input: Input::from_params(&params)?,
            params,
            store,
            step,
            stepper,
            pending,
            frame: Vec::new(),
            totals: RunTotals::default(),
            last_totals: (0.0, 0.0),
            worker: None,
            published: None,
        })
    }

    /// Run one step with the configured input.
    pub fn step(&mut self) -> Result<StepMetrics, SimError> {
        let mut frame = std::mem::take(&mut self.frame);
        self.input.fill(self.step, &mut frame);
        let r = self.step_with_frame(&frame);
        self.frame = frame;
        r
    }

    /// Run steps with the configured input until the step counter reaches `end`, calling
    /// `each` after every step (it may stop the run by returning an error). The whole loop
    /// runs on the backend's thread pool, so steps do not hop between threads.
    ///
    /// While the loop runs, one other thread of the pool (if it has one) stays awake as a
    /// helper: it runs the halves of the step's parallel sections as soon as they are
    /// offered and spins when there are none. A step has several short parallel sections,
    /// and waking a sleeping pool thread for each costs about as much as the section saves
    /// (some 15 us each on the 2-core reference machine). The helper stops when the loop
    /// ends, also by an error or a panic.
    pub fn run_until<E: From<SimError> + Send>(
        &mut self,
        end: u64,
        each: &mut (dyn FnMut(&Simulation, &StepMetrics) -> Result<(), E> + Send),
    ) -> Result<(), E> {
        let pool = self.stepper.pool();
        pool.install(|| with_helper(|| self.run_loop(end, each)))
    }

    fn run_loop<E: From<SimError> + Send>(
        &mut self,
        end: u64,
        each: &mut (dyn FnMut(&Simulation, &StepMetrics) -> Result<(), E> + Send),
    ) -> Result<(), E> {
        let mut frame = std::mem::take(&mut self.frame);
        let mut r = Ok(());
        while self.step < end {
            self.input.fill(self.step, &mut frame);
            match self.step_on_pool(&frame) {
                Ok(m) => {
                    if let Err(e) = each(self, &m) {
                        r = Err(e);
                        break;
                    }
                }
                Err(e) => {
                    r = Err(E::from(e));
                    break;
                }
            }
        }
        self.frame = frame;
        // The worker's last proposals join the queue (and the totals), as inline growth's do.
        if let (Some(w), true) = (&mut self.worker, r.is_ok()) {
            let lag = u64::from(self.params.growth.worker_lag_steps);
            let (pending, totals, step) = (&mut self.pending, &mut self.totals, self.step);
            let drained = w.collect_all(step, &mut |k, p| {
                totals.proposals_made += p.made;
                totals.proposals_dropped += p.dropped;
                pending.push(k + 1 + lag, p);
            });
            if let (Ok(()), Err(e)) = (&r, drained) {
                r = Err(E::from(SimError::from(e)));
            }
        }
        r
    }

    /// Run one step with the given input frame.
    ///
    /// As in [`Simulation::run_until`], one other thread of the pool stays awake as a helper
    /// while the step runs.
    pub fn step_with_frame(&mut self, frame: &[f32]) -> Result<StepMetrics, SimError> {
        let pool = self.stepper.pool();
        pool.install(|| with_helper(|| self.step_on_pool(frame)))
    }

    fn step_on_pool(&mut self, frame: &[f32]) -> Result<StepMetrics, SimError> {
        let t = self.step;
        let lag = u64::from(self.params.growth.worker_lag_steps);
        let threaded = self.params.run.worker == "thread";
        if threaded && self.worker.is_none() {
            self.worker = Some(Worker::start(self.params.clone())?);
            // The worker's copy of each step's state is published too (it costs nothing more).
            self.snapshots();
        }
        // Proposals received from the worker this step (counted in this step's metrics).
        let (mut made, mut dropped) = (0, 0);
        if let Some(w) = &mut self.worker {
            // Everything due at this step: the snapshots up to step t - 1 - lag.
            if let Some(upto) = t.checked_sub(1 + lag) {
                let pending = &mut self.pending;
                w.collect_until(upto, t, &mut |k, p| {
                    made += p.made;
                    dropped += p.dropped;
                    pending.push(k + 1 + lag, p);
                })?;
            }
        }
        let due = self.pending.take_due(t);
        // Inline growth's probability tests for the proposals after this step, drawn by the
        // stepper beside its transfer (they depend only on the nodes that live through it).
        let mut early = None;
        let params = &self.params;
        let draws = self.worker.is_none() && growth_draws(params);
        let mut draw = |st: &Store| early = Some(early_tests(st.nodes(), params, t));
        let rep = self.stepper.step(StepInput {
            store: &mut self.store,
            params,
            rng: &self.rng,
            step: t,
            frame,
            edits: due.as_ref(),
            beside: draws.then_some(&mut draw as step::Beside<'_>),
        })?;
        self.step = t + 1;
        if let Some(w) = &self.worker {
            if w.health().growth_stopped && t % u64::from(self.params.output.metrics_every) == 0 {
                tracing::warn!(
                    step = t,
                    "growth is stopped: the connection worker's restart budget is spent (last error: {})",
                    w.health().last_error
                );
            }
        }
        // One copy of the state after step t (out-edge view complete) serves the worker and
        // the published snapshot.
        let copy = (self.worker.is_some() || self.published.is_some()).then(|| Arc::new(self.store.clone()));
        let (growth_ns, energy);
        if let (Some(w), Some(copy)) = (&mut self.worker, &copy) {
            let g0 = Instant::now();
            w.submit(t, copy.clone())?;
            growth_ns = g0.elapsed().as_nanos() as u64;
            energy = energy_by_kind(self.store.nodes());
        } else {
            // The proposals and the energy statistics only read the state: one beside the other.
            let (store, params) = (&self.store, &self.params);
            // The caller waits for the statistics by spinning (they may take longer).
            let ((p, ns), e) = crate::join::join_busy(
                || {
                    let g0 = Instant::now();
                    let p = proposals_after(store, params, t, early.as_ref());
                    (p, g0.elapsed().as_nanos() as u64)
                },
                || energy_by_kind(store.nodes()),
            );
            (growth_ns, energy) = (ns, e);
            (made, dropped) = (p.made, p.dropped);
            self.pending.push(t + 1 + lag, p);
        }
        let m = StepMetrics {
            step: t,
            energy,
            edges: self.store.edges().count() as u64,
            births: rep.births,
            deaths: rep.deaths,
            edges_added: rep.edits.added,
            edges_culled: rep.edits.culled,
            proposals_made: made,
            proposals_dropped: dropped,
            edits_skipped: rep.edits.skipped,
            edges_conducting: rep.edges_conducting,
            ledger: rep.ledger,
            worker: match &self.worker {
                Some(w) => WorkerState {
                    running: w.health().running,
                    restarts: w.health().restarts,
                    lag_steps: lag,
                    last_error: w.health().last_error.clone(),
                    round_us: w.health().last_round_seconds * 1e6,
                },
                None => WorkerState {
                    running: false,
                    restarts: 0,
                    lag_steps: lag,
                    last_error: String::new(),
                    round_us: 0.0,
                },
            },
            times: rep.times,
            growth_ns,
        };
        self.totals.add(&m);
        self.last_totals = (rep.total_before, rep.total_after);
        if let (Some(p), Some(store)) = (&self.published, copy) {
            p.store(Arc::new(Snapshot { step: self.step, store, metrics: Some(m.clone()) }));
        }
        Ok(m)
    }

    /// The published snapshots: after every step from now on, the simulation stores an
    /// immutable [`Snapshot`] of the state there, which any number of reader threads may
    /// load at any time without ever blocking the stepper (a reader holding an old one keeps
    /// it alive; the next store replaces it for new loads). A snapshot shares the store's
    /// columns, but the stepper's next changes then copy them, so inline runs publish only
    /// once asked; with the worker thread (which needs the copy anyway) publishing is on.
    pub fn snapshots(&mut self) -> Arc<ArcSwap<Snapshot>> {
        let p = self.published.get_or_insert_with(|| {
            Arc::new(ArcSwap::from_pointee(Snapshot {
                step: self.step,
                store: Arc::new(self.store.clone()),
                metrics: None,
            }))
        });
        p.clone()
    }

    /// A checkpoint of the current state: a copy, so that it can be written while the run
    /// goes on.
    pub fn checkpoint(&self) -> crate::checkpoint::Checkpoint {
        let (pending, totals) = self.complete_pending_and_totals();
        crate::checkpoint::Checkpoint {
            config: self.params.config().clone(),
            step: self.step,
            store: self.store.clone(),
            pending,
            totals,
        }
    }

    /// A simulation that continues from `c` exactly (the stepper's caches are rebuilt;
    /// draws come from counters). `threads` as for [`Simulation::new`].
    pub fn from_checkpoint(c: crate::checkpoint::Checkpoint, threads: Option<usize>) -> Result<Self, SimError> {
        let params = c.config.validate().map_err(|e| SimError::Resume(e.to_string()))?;
        let stepper = step::create(&params, threads)?;
        let mut sim = Self::from_parts(params, c.store, c.step, c.pending, stepper)?;
        sim.totals = c.totals;
        Ok(sim)
    }

    /// The state hash (see [`crate::hash`]).
    pub fn state_hash(&self) -> String {
        state_hash(&self.store, self.step, &self.complete_pending())
    }

    /// The pending proposals, including those the worker thread has not delivered yet
    /// (computed here from the snapshots it holds): the inline mode's queue.
    fn complete_pending(&self) -> Pending {
        self.complete_pending_and_totals().0
    }

    /// [`Simulation::complete_pending`], and the run totals counting its proposals.
    fn complete_pending_and_totals(&self) -> (Pending, RunTotals) {
        let (mut p, mut totals) = (self.pending.clone(), self.totals);
        if let Some(w) = &self.worker {
            let lag = u64::from(self.params.growth.worker_lag_steps);
            for (k, props) in w.in_flight_proposals(&self.params) {
                totals.proposals_made += props.made;
                totals.proposals_dropped += props.dropped;
                p.push(k + 1 + lag, props);
            }
        }
        (p, totals)
    }

    /// Check every invariant of MODEL.md section 8 that the state can show: the store's
    /// structural invariants and every energy finite and within bounds.
    pub fn check_invariants(&self) -> Result<(), SimError> {
        self.store.check_invariants()?;
        let e = &self.params.energy;
        let n = self.store.nodes();
        for (r, &x) in n.energy().iter().enumerate() {
            if !(x >= e.energy_floor && x <= e.energy_cap) {
                return Err(SimError::EnergyBounds {
                    node: n.ids()[r],
                    energy: x,
                    floor: e.energy_floor,
                    cap: e.energy_cap,
                });
            }
        }
        Ok(())
    }

    /// Workspace energies indexed by binding (`y * W + x`), never by store position.
    pub fn workspace_grid(&self) -> Vec<f32> {
        let n = self.store.nodes();
        let mut g = vec![0.0; self.params.n_workspace()];
        for r in 0..n.len() {
            if n.kind_of(r) == NodeKind::Workspace {
                if let Some(x) = g.get_mut(n.bindings()[r] as usize) {
                    *x = n.energy()[r];
                }
            }
        }
        g
    }

    /// The summary of the run so far, with the stepping loop's wall time.
    pub fn summary(&self, wall_seconds: f64, steps_run: u64) -> Summary {
        let s = energy_by_kind(self.store.nodes());
        Summary {
            format_version: 1,
            step: self.step,
            nodes: KindCounts { sensory: s[0].count, dynamic: s[1].count, workspace: s[2].count },
            edges: self.store.edges().count() as u64,
            energy: EnergyTotals {
                total: s.iter().map(|x| x.total).sum(),
                sensory: s[0].total,
                dynamic: s[1].total,
                workspace: s[2].total,
            },
            totals: self.totals,
            state_hash: self.state_hash(),
            wall_seconds,
            steps_per_second: if wall_seconds > 0.0 { steps_run as f64 / wall_seconds } else { 0.0 },
            backend: self.stepper.name().into(),
            threads: self.stepper.threads(),
            worker: WorkerSummary {
                mode: self.params.run.worker.clone(),
                restarts: self.worker.as_ref().map_or(0, |w| w.health().restarts),
                growth_stopped: self.worker.as_ref().is_some_and(|w| w.health().growth_stopped),
                last_error: self.worker.as_ref().map(|w| w.health().last_error.clone()).unwrap_or_default(),
            },
        }
    }

    /// The next step to run (= steps run so far).
    pub fn current_step(&self) -> u64 {
        self.step
    }
    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
    /// The state.
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// The state, mutable (tests and tools that edit a graph by hand).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }
    /// The pending proposals.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }
    /// Run totals.
    pub fn totals(&self) -> &RunTotals {
        &self.totals
    }
    /// The totals before and after the last step (for the ledger check).
    pub fn last_totals(&self) -> (f64, f64) {
        self.last_totals
    }
    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.stepper.name()
    }
    /// The backend's thread count.
    pub fn threads(&self) -> usize {
        self.stepper.threads()
    }

    /// The host thread pool the backend steps on. Work timed against the simulation's steps
    /// (the benchmark harness's reference loop) runs here, so that no second pool's threads
    /// compete with the steps for the cores.
    pub fn pool(&self) -> std::sync::Arc<rayon::ThreadPool> {
        self.stepper.pool()
    }
}

/// The proposals computed from `store`, which is the state after step `k`.
fn proposals_after(store: &Store, params: &Params, k: u64, early: Option<&EarlyTests>) -> Proposals {
    if !growth_draws(params) && params.growth.max_culled_edges_per_step == 0 {
        return Proposals { from_step: k, ..Proposals::default() };
    }
    let view = GraphView { nodes: store.nodes(), edges: store.edges(), out: store.out_edges() };
    propose_with(view, params, k, early)
}

/// Whether some node has a chance to propose an edge (a growth class or the sensory nodes
/// with a probability above 0).
fn growth_draws(params: &Params) -> bool {
    let gr = &params.growth;
    gr.classes.iter().any(|c| c.p > 0.0) || gr.sensory_growth_p > 0.0
}

/// Run `f` on the calling pool thread with another thread of the pool (if it has one) kept
/// awake as a helper until `f` returns, also by a panic.
fn with_helper<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let done = std::sync::atomic::AtomicBool::new(false);
    let (r, ()) = rayon::join(
        || {
            let _stop_helper = SetOnDrop(&done);
            f()
        },
        || help_until(&done),
    );
    r
}

/// Run pending pool work until `done` is set, spinning while there is none.
fn help_until(done: &std::sync::atomic::AtomicBool) {
    while !done.load(std::sync::atomic::Ordering::Acquire) {
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            std::hint::spin_loop();
        }
    }
}
