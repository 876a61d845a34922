//! The connection worker thread: computes the proposals of MODEL.md section 6 from copies
//! of the state, beside the stepper.
//!
//! Happens-before rules:
//! - The stepper sends the copy of the state after step `k` (a `Store` clone with a
//!   complete out-edge view) before it starts step `k + 1`; the worker reads only that
//!   copy, never the live store, so nothing it does can touch the stepper's state.
//! - The worker's proposals for snapshot `k` are received by the stepper before the start of
//!   step `k + 1 + worker_lag_steps`, where they are applied (the stepper waits for them if
//!   they are late, with a deadline); they are queued in snapshot order, so the pending
//!   queue equals the inline mode's.
//! - A checkpoint first receives every proposal still in flight, so it holds the same
//!   pending queue as the inline mode.
//!
//! Proposals depend only on the snapshot, the seed and `k` ([`super::propose`]), so a run
//! with the worker thread and a run with inline growth give identical results.
//!
//! This is the worker without its supervisor: a worker that panics or misses the deadline
//! stops the run with an error (restarts, budgets and fault injection are the worker
//! issue's).

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use super::{propose, GraphView, Proposals};
use crate::config::Params;
use crate::store::Store;

/// How long the stepper waits for one batch of proposals before giving up.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Why the worker could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The thread could not be started.
    #[error("cannot start the connection worker thread: {0}")]
    Spawn(String),
    /// The thread ended (it panicked).
    #[error("the connection worker stopped before delivering the proposals from step {0}")]
    Stopped(u64),
    /// The proposals did not arrive in time.
    #[error("the connection worker missed its deadline of {secs} s for the proposals from step {step}")]
    Deadline {
        /// The snapshot's step.
        step: u64,
        /// The deadline.
        secs: u64,
    },
}

/// A running worker thread and the snapshots it has not answered yet.
pub struct Worker {
    jobs: Option<Sender<(u64, Arc<Store>)>>,
    results: Receiver<(u64, Proposals)>,
    /// Snapshots sent and not answered yet, oldest first (kept so that the proposals they
    /// will yield can be computed on the spot, for a checkpoint or a state hash).
    in_flight: VecDeque<(u64, Arc<Store>)>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Start the thread `neuroflux-worker` for `params`.
    pub fn start(params: Params) -> Result<Self, WorkerError> {
        let (jobs, job_rx) = bounded::<(u64, Arc<Store>)>(64);
        let (result_tx, results) = bounded::<(u64, Proposals)>(64);
        let thread = std::thread::Builder::new()
            .name("neuroflux-worker".into())
            .spawn(move || {
                // Its own one-thread pool: the proposal function's parallel loops must not
                // take the stepper's threads.
                let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(1).build() else { return };
                for (k, snap) in job_rx {
                    let view = GraphView { nodes: snap.nodes(), edges: snap.edges(), out: snap.out_edges() };
                    let p = pool.install(|| propose(view, &params, k));
                    if result_tx.send((k, p)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| WorkerError::Spawn(e.to_string()))?;
        Ok(Self { jobs: Some(jobs), results, in_flight: VecDeque::new(), thread: Some(thread) })
    }

    /// Hand the worker the state after step `k` (its out-edge view must be complete).
    pub fn submit(&mut self, k: u64, snapshot: Arc<Store>) -> Result<(), WorkerError> {
        let jobs = self.jobs.as_ref().ok_or(WorkerError::Stopped(k))?;
        jobs.send((k, snapshot.clone())).map_err(|_| WorkerError::Stopped(k))?;
        self.in_flight.push_back((k, snapshot));
        Ok(())
    }

    /// Receive, in snapshot order, the proposals of every snapshot up to step `upto`
    /// (waiting for them if needed), calling `deliver` with each.
    pub fn collect_until(&mut self, upto: u64, deliver: &mut dyn FnMut(u64, Proposals)) -> Result<(), WorkerError> {
        while self.in_flight.front().is_some_and(|(k, _)| *k <= upto) {
            let want = self.in_flight.front().map_or(upto, |(k, _)| *k);
            match self.results.recv_timeout(DEADLINE) {
                Ok((k, p)) => {
                    // The worker answers in order; anything else means it is broken.
                    if k != want {
                        return Err(WorkerError::Stopped(want));
                    }
                    self.in_flight.pop_front();
                    deliver(k, p);
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(WorkerError::Deadline { step: want, secs: DEADLINE.as_secs() });
                }
                Err(RecvTimeoutError::Disconnected) => return Err(WorkerError::Stopped(want)),
            }
        }
        Ok(())
    }

    /// Receive every proposal still in flight.
    pub fn collect_all(&mut self, deliver: &mut dyn FnMut(u64, Proposals)) -> Result<(), WorkerError> {
        self.collect_until(u64::MAX, deliver)
    }

    /// Snapshots sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The proposals the snapshots in flight will yield, computed here and now (the same
    /// pure function the worker runs), oldest first.
    pub fn in_flight_proposals(&self, params: &Params) -> Vec<(u64, Proposals)> {
        self.in_flight
            .iter()
            .map(|(k, snap)| {
                let view = GraphView { nodes: snap.nodes(), edges: snap.edges(), out: snap.out_edges() };
                (*k, propose(view, params, *k))
            })
            .collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        // With no receiver, a worker blocked on sending a result stops instead of waiting.
        drop(std::mem::replace(&mut self.results, crossbeam_channel::never()));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
