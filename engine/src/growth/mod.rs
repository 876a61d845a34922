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
    /// Where each addition's endpoints were in the snapshot the proposals came from.
    #[serde(skip)]
    pub rows: RowHints,
}

/// Per addition of a [`Proposals`] (parallel to `adds`), the rows its source and target had
/// in the snapshot the proposals were computed from: where 5.1 starts to look for them. A
/// node's row never grows (rows follow ids, and a node with a smaller id than another can
/// die but never be born after it), so a row is found by a short search down from its hint
/// instead of one over the whole table. Only a hint: one that does not hold, or hints
/// missing (proposals made elsewhere, loaded from a checkpoint, which does not keep them, or
/// merged with such), cost a search, never another result. So two [`Proposals`] compare
/// equal whatever their hints.
#[derive(Debug, Clone, Default)]
pub struct RowHints(pub Vec<[u32; 2]>);

impl PartialEq for RowHints {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Proposals {
    /// The row hints of every addition, where there is one for each.
    pub fn row_hints(&self) -> Option<&[[u32; 2]]> {
        (self.rows.0.len() == self.adds.len()).then_some(&self.rows.0)
    }
}
