//! The connection worker thread and its supervisor: proposals of MODEL.md section 6
//! computed from copies of the state, beside the stepper.
//!
//! Happens-before rules:
//! - The stepper sends the copy of the state after step `k` (a `Store` clone with a
//!   complete out-edge view) before it starts step `k + 1`; the worker reads only that
//!   copy, never the live store, so nothing it does can touch the stepper's state.
//! - The worker's proposals for snapshot `k` are received by the stepper before the start of
//!   step `k + 1 + worker_lag_steps`, where they are applied (the stepper waits for them if
//!   they are late, never longer than `worker.deadline_ms`); they are queued in snapshot
//!   order, so the pending queue equals the inline mode's.
//! - A checkpoint or a state hash taken while proposals are in flight computes them on the
//!   spot from the copies held, so it equals the inline mode's.
//!
//! Supervision: a worker that panics, returns an error, or misses the deadline (hung) is
//! replaced by a new thread (generation) after a delay that doubles with each consecutive
//! restart (with jitter), and every snapshot not yet answered is sent again: proposals are a
//! pure function of the snapshot, the seed and `k` ([`super::propose()`]), so a restart
//! changes no result. The restart budget is counted in steps (at most `max_restarts`
//! within `restart_window_steps`), so it does not depend on how loaded the machine is. Past
//! it, `when_exhausted` decides: `continue` without growth, or `stop` with an error. A hung
//! thread cannot be killed: it is abandoned, and its late answer goes nowhere (each
//! generation has its own channels).

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use super::{propose, GraphView, Proposals};
use crate::config::Params;
use crate::rng::{uniform, Rng, Stream};
use crate::store::Store;

/// Why the worker could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The thread could not be started.
    #[error("cannot start the connection worker thread: {0}")]
    Spawn(String),
    /// The restart budget is spent and the configuration says stop.
    #[error("the connection worker failed {restarts} times within {window} steps (the budget); last error: {last}")]
    BudgetExhausted {
        /// Restarts within the window.
        restarts: u64,
        /// The window (steps).
        window: u64,
        /// The last failure.
        last: String,
    },
}

/// What the worker thread answers for one round.
type Answer = (u64, Result<Proposals, String>);

/// One worker thread with its own channels.
struct Generation {
    /// Control messages, served before rounds: a message (or the sender's drop) stops it.
    control: Sender<()>,
    /// Rounds: step, snapshot, whether it is the round's first attempt.
    jobs: Sender<(u64, Arc<Store>, bool)>,
    answers: Receiver<Answer>,
    thread: JoinHandle<()>,
}

/// The health of the worker, as the metrics report it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// A worker thread is running (false once growth stopped after the budget).
    pub running: bool,
    /// Restarts so far.
    pub restarts: u64,
    /// The last failure, empty if none.
    pub last_error: String,
    /// Wall time of the last round received (seconds, from sending to receiving).
    pub last_round_seconds: f64,
    /// Growth stopped because the restart budget was spent (`when_exhausted = continue`).
    pub growth_stopped: bool,
}

/// The supervised worker: the stepper's side.
pub struct Worker {
    params: Params,
    rng: Rng,
    current: Option<Generation>,
    /// Snapshots sent and not answered yet, oldest first, with the time each was sent.
    in_flight: VecDeque<(u64, Arc<Store>, Instant)>,
    /// Steps of the restarts, for the budget window.
    restart_steps: VecDeque<u64>,
    /// Restarts in a row without a successful round (for the backoff).
    consecutive: u32,
    health: Health,
    jitter_state: u64,
    /// Abandoned (hung) threads, never joined.
    abandoned: usize,
}

impl Worker {
    /// Start the thread for `params`.
    pub fn start(params: Params) -> Result<Self, WorkerError> {
        let rng = Rng::new(params.run.seed);
        let mut w = Self {
            current: None,
            in_flight: VecDeque::new(),
            restart_steps: VecDeque::new(),
            consecutive: 0,
            health: Health { running: true, ..Health::default() },
            jitter_state: 0x9E37_79B9_7F4A_7C15 ^ params.run.seed,
            abandoned: 0,
            rng,
            params,
        };
        w.current = Some(w.spawn(0)?);
        Ok(w)
    }

    fn spawn(&self, generation: u64) -> Result<Generation, WorkerError> {
        let (jobs, job_rx) = bounded::<(u64, Arc<Store>, bool)>(1024);
        let (control, control_rx) = bounded::<()>(1);
        let (answer_tx, answers) = bounded::<Answer>(1024);
        let params = self.params.clone();
        let rng = self.rng;
        let thread = std::thread::Builder::new()
            .name(format!("neuroflux-worker-{generation}"))
            .spawn(move || {
                // Its own one-thread pool: the proposal function's parallel loops must not
                // take the stepper's threads.
                let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(1).build() else { return };
                loop {
                    // Control first: a stop (or a closed control channel) ends the thread
                    // before it takes another round.
                    let (k, snap, first) = crossbeam_channel::select_biased! {
                        recv(control_rx) -> _ => return,
                        recv(job_rx) -> job => match job {
                            Ok(job) => job,
                            Err(_) => return,
                        },
                    };
                    // Faults (a testing aid) fire on a round's first attempt only.
                    let fault = if first { injected_fault(&params, &rng, k) } else { None };
                    let answer = match fault {
                        Some(Fault::Panic) => panic!("injected fault: panic in the round of step {k}"),
                        Some(Fault::Exit) => return,
                        Some(Fault::Error) => Err(format!("injected fault: error in the round of step {k}")),
                        Some(Fault::Hang) => {
                            std::thread::sleep(Duration::from_millis(params.worker.deadline_ms.saturating_mul(3)));
                            Err(format!("injected fault: hung in the round of step {k}"))
                        }
                        None => {
                            let view = GraphView { nodes: snap.nodes(), edges: snap.edges(), out: snap.out_edges() };
                            Ok(pool.install(|| propose(view, &params, k)))
                        }
                    };
                    if answer_tx.send((k, answer)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| WorkerError::Spawn(e.to_string()))?;
        Ok(Generation { control, jobs, answers, thread })
    }

    /// Hand the worker the state after step `k` (its out-edge view must be complete).
    /// Does nothing once growth stopped.
    pub fn submit(&mut self, k: u64, snapshot: Arc<Store>) -> Result<(), WorkerError> {
        // After growth stopped or the run was told to stop, nothing more is sent.
        if !self.health.running {
            return Ok(());
        }
        self.in_flight.push_back((k, snapshot.clone(), Instant::now()));
        let sent = self.current.as_ref().is_some_and(|g| g.jobs.send((k, snapshot, true)).is_ok());
        if !sent {
            // The thread ended (a panic): its failure is the cause; the restart resends this
            // round with the others in flight.
            let why = self.panic_message();
            self.failed(k, why, false)?;
        }
        Ok(())
    }

    /// Receive, in snapshot order, the proposals of every snapshot up to step `upto`
    /// (waiting for them if needed, restarting the worker when it fails), calling
    /// `deliver` with each. `step` is the stepper's current step (for the budget).
    pub fn collect_until(
        &mut self,
        upto: u64,
        step: u64,
        deliver: &mut dyn FnMut(u64, Proposals),
    ) -> Result<(), WorkerError> {
        let deadline = Duration::from_millis(self.params.worker.deadline_ms);
        while let Some(&(want, _, sent)) = self.in_flight.front() {
            if want > upto || !self.health.running {
                break;
            }
            let Some(g) = &self.current else {
                self.failed(step, "the connection worker thread is gone".into(), false)?;
                continue;
            };
            let waited = sent.elapsed();
            let left = deadline.saturating_sub(waited).max(Duration::from_millis(1));
            match g.answers.recv_timeout(left) {
                Ok((k, Ok(p))) if k == want => {
                    self.health.last_round_seconds = sent.elapsed().as_secs_f64();
                    self.consecutive = 0;
                    self.in_flight.pop_front();
                    deliver(k, p);
                }
                Ok((k, Ok(_))) => {
                    self.failed(step, format!("answered step {k} while step {want} was due"), false)?;
                }
                Ok((_, Err(e))) => self.failed(step, e, false)?,
                Err(RecvTimeoutError::Timeout) => {
                    if sent.elapsed() >= deadline {
                        self.failed(
                            step,
                            format!("missed its deadline of {} ms for the round of step {want}", deadline.as_millis()),
                            true,
                        )?;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let why = self.panic_message();
                    self.failed(step, why, false)?;
                }
            }
        }
        Ok(())
    }

    /// Receive every proposal still in flight.
    pub fn collect_all(&mut self, step: u64, deliver: &mut dyn FnMut(u64, Proposals)) -> Result<(), WorkerError> {
        self.collect_until(u64::MAX, step, deliver)
    }

    /// The panic message of the current thread, which has ended.
    fn panic_message(&mut self) -> String {
        match self.current.take() {
            Some(g) => match g.thread.join() {
                Err(payload) => {
                    let msg = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "a panic".into());
                    format!("the connection worker panicked: {msg}")
                }
                Ok(()) => "the connection worker thread ended".into(),
            },
            None => "the connection worker thread is gone".into(),
        }
    }

    /// A failure at step `step`: restart within the budget, else stop growth or fail.
    fn failed(&mut self, step: u64, why: String, hung: bool) -> Result<(), WorkerError> {
        tracing::warn!(step, "connection worker failure: {why}");
        self.health.last_error = why.clone();
        if let Some(g) = self.current.take() {
            if hung {
                self.abandoned += 1; // cannot be joined; its answers go nowhere
                drop(g);
            } else {
                drop(g.jobs);
                drop(g.answers);
                let _ = g.thread.join();
            }
        }
        let cfg = &self.params.worker;
        let window = cfg.restart_window_steps;
        while self.restart_steps.front().is_some_and(|&s| s + window <= step) {
            self.restart_steps.pop_front();
        }
        if self.restart_steps.len() as u64 >= u64::from(cfg.max_restarts) {
            self.health.running = false;
            if cfg.when_exhausted == "stop" {
                return Err(WorkerError::BudgetExhausted {
                    restarts: self.restart_steps.len() as u64,
                    window,
                    last: why,
                });
            }
            tracing::error!(step, "the connection worker's restart budget is spent; the run goes on without growth");
            self.health.growth_stopped = true;
            self.in_flight.clear();
            return Ok(());
        }
        // Backoff: base * 2^consecutive, capped, plus up to 50% jitter.
        let base = cfg.backoff_ms.saturating_mul(1u64 << self.consecutive.min(20)).min(cfg.backoff_max_ms);
        self.jitter_state ^= self.jitter_state << 13;
        self.jitter_state ^= self.jitter_state >> 7;
        self.jitter_state ^= self.jitter_state << 17;
        let jitter = if base > 0 { self.jitter_state % (base / 2 + 1) } else { 0 };
        std::thread::sleep(Duration::from_millis(base + jitter));
        self.consecutive += 1;
        self.restart_steps.push_back(step);
        self.health.restarts += 1;
        let g = self.spawn(self.health.restarts)?;
        // Every round not answered yet goes to the new thread, in order.
        let now = Instant::now();
        for (k, snap, sent) in self.in_flight.iter_mut() {
            *sent = now;
            if g.jobs.send((*k, snap.clone(), false)).is_err() {
                break;
            }
        }
        self.current = Some(g);
        Ok(())
    }

    /// Snapshots sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The worker's health.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The proposals the snapshots in flight will yield, computed here and now (the same
    /// pure function the worker runs), oldest first.
    pub fn in_flight_proposals(&self, params: &Params) -> Vec<(u64, Proposals)> {
        self.in_flight
            .iter()
            .map(|(k, snap, _)| {
                let view = GraphView { nodes: snap.nodes(), edges: snap.edges(), out: snap.out_edges() };
                (*k, propose(view, params, *k))
            })
            .collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(g) = self.current.take() {
            // Stop it without waiting for it (every wait of the stepper has a deadline, and
            // a hung worker would never be joined): it ends when it next looks at its
            // channels; with no receiver for its answer it cannot block either.
            let _ = g.control.try_send(());
            drop(g);
        }
    }
}

/// A fault the configuration injects.
enum Fault {
    Panic,
    Exit,
    Error,
    Hang,
}

/// The fault `[faults]` asks for in the round of step `k`, if any.
fn injected_fault(params: &Params, rng: &Rng, k: u64) -> Option<Fault> {
    let f = &params.faults;
    if f.hang_at.contains(&k) {
        return Some(Fault::Hang);
    }
    if f.exit_at.contains(&k) {
        return Some(Fault::Exit);
    }
    if f.error_at.contains(&k) {
        return Some(Fault::Error);
    }
    if (f.panic_every > 0 && k > 0 && k % f.panic_every == 0) || f.panic_at.contains(&k) {
        return Some(Fault::Panic);
    }
    if f.panic_probability > 0.0 {
        let w = rng.words(k, Stream::Faults, 0, 0);
        if f64::from(uniform(w[0])) < f.panic_probability {
            return Some(Fault::Panic);
        }
    }
    None
}
