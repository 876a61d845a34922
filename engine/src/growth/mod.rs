//! Growth and culling (MODEL.md section 6): the proposal types, the queue of pending
//! proposals, and the proposal function.
//!
//! Happens-before rules (inline mode, the only mode until the worker thread lands):
//! 1. The stepper finishes step `k` and its state is final ("snapshot k").
//! 2. [`propose()`] reads only snapshot `k`, the seed and `k`, and returns proposals.
//! 3. The proposals are queued as due at step `k + 1 + worker_lag_steps` and applied at the
//!    start of that step (MODEL.md 5.1), each re-validated against the graph of that moment.
//!
//! No proposals are computed from the initial graph. Because [`propose()`] is a pure function
//! of its view, a worker thread that calls it on a published snapshot gives the same results.
//! Inline growth draws the probability tests of step `k` earlier in step `k`
//! ([`early_tests()`]) and passes them to [`propose_with()`], which gives the same proposals.

mod pending;
mod propose;
pub mod worker;

pub use pending::Pending;
pub use propose::{early_tests, propose, propose_with, EarlyTests, GraphView};

use crate::store::{Direction, EdgeId, EdgeKind, NodeId};

/// One proposed edge addition with its attributes already drawn.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EdgeProposal {
    /// Source.
    pub src: NodeId,
    /// Target.
    pub dst: NodeId,
    /// Kind.
    pub kind: EdgeKind,
    /// Signed weight.
    pub weight: f32,
    /// Direction.
    pub direction: Direction,
    /// Gate (Gated only, else 0).
    pub gate: f32,
    /// Learning rate (Plastic only, else 0).
    pub plastic_lr: f32,
}

/// The proposals computed from one snapshot.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Proposals {
    /// The step of the snapshot they were computed from.
    pub from_step: u64,
    /// Edges to cull, ascending.
    pub culls: Vec<EdgeId>,
    /// Edges to remove whatever their state (edits from outside the model, queued by
    /// [`crate::Simulation::queue_edits`]; the growth rules never propose these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removes: Vec<EdgeId>,
    /// Edges to add, in proposal order (ascending proposer id).
    pub adds: Vec<EdgeProposal>,
    /// Growth draws that passed their probability test.
    pub made: u64,
    /// Of those, the ones that broke an admission rule at proposing time.
    pub dropped: u64,
}
