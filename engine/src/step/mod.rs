//! The `Stepper` trait, the backend factory, and what a step reports.
//!
//! A stepper holds only scratch space and caches; the state (the [`Store`]) is passed in,
//! and the stepper is its only writer during a step. Backends that are not compiled in or
//! have no device are error values, never panics.

mod cpu;

pub use cpu::{CpuStepper, TransferPath};

use crate::config::Params;
use crate::growth::Proposals;
use crate::model::edits::EditCounts;
use crate::model::ledger::Ledger;
use crate::rng::Rng;
use crate::store::Store;

/// Why a backend cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BackendError {
    /// The backend exists but this build does not include it.
    #[error("backend `{name}` is not compiled into this build (enable the cargo feature `{name}`)")]
    NotCompiled {
        /// Backend name.
        name: String,
    },
    /// The backend is compiled in but cannot run here.
    #[error("backend `{name}` is unavailable: {reason}")]
    Unavailable {
        /// Backend name.
        name: String,
        /// Why.
        reason: String,
    },
    /// No such backend.
    #[error("unknown backend `{0}` (expected cpu, wgpu, hip or auto)")]
    Unknown(String),
}

/// Errors of one step.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StepError {
    /// The input frame has the wrong number of values.
    #[error("input frame at step {step} has {got} values, expected {expected} (sensory grid {width}x{height})")]
    FrameSize {
        /// Step.
        step: u64,
        /// Values given.
        got: usize,
        /// Values expected.
        expected: usize,
        /// Sensory width.
        width: u32,
        /// Sensory height.
        height: u32,
    },
    /// A frame value is outside [0, 1] or not finite.
    #[error("input frame at step {step}: value {value} at pixel {index} is outside [0, 1]")]
    FrameValue {
        /// Step.
        step: u64,
        /// Pixel index.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A node's energy became non-finite.
    #[error("non-finite energy after step {step} at nodes {nodes:?}")]
    NonFinite {
        /// Step.
        step: u64,
        /// Up to ten node ids.
        nodes: Vec<u64>,
    },
}

/// Wall time of each phase of one step, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    /// 5.1 applying edits (including the topology refresh).
    pub edits_ns: u64,
    /// Rebuilding the stepper's caches after topology changes.
    pub cache_ns: u64,
    /// 5.2 input and transfer, 5.3 plasticity.
    pub transfer_ns: u64,
    /// 5.4 node update.
    pub update_ns: u64,
    /// 5.5 death.
    pub death_ns: u64,
    /// 5.6 spawn and the final topology refresh.
    pub spawn_ns: u64,
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepReport {
    /// The step that ran.
    pub step: u64,
    /// Phase 5.1 counts.
    pub edits: EditCounts,
    /// Children born.
    pub births: u64,
    /// Dynamic nodes that died.
    pub deaths: u64,
    /// Edges removed with dead nodes.
    pub edges_lost_to_death: u64,
    /// Edges that conducted (carried an effect) in the transfer phase.
    pub edges_conducting: u64,
    /// The energy ledger.
    pub ledger: Ledger,
    /// Total energy before the step (f64 sum of stored energies in row order).
    pub total_before: f64,
    /// Total energy after the step.
    pub total_after: f64,
    /// Phase times.
    pub times: PhaseTimes,
}

/// Everything a step needs besides the stepper's own scratch.
pub struct StepInput<'a> {
    /// The state; the stepper is its only writer.
    pub store: &'a mut Store,
    /// Validated parameters.
    pub params: &'a Params,
    /// The run's generator.
    pub rng: &'a Rng,
    /// The step to run.
    pub step: u64,
    /// This step's input frame, one value in [0, 1] per sensory pixel (row-major).
    pub frame: &'a [f32],
    /// The proposals due at this step.
    pub edits: Option<&'a Proposals>,
    /// Work that only reads the state as it is before this step's deaths and births (the
    /// run loop's draws for the proposals after this step), for the stepper to run on a
    /// thread that would otherwise wait. It is run once, with the store, if the step gets
    /// as far as its transfer.
    pub beside: Option<Beside<'a>>,
}

/// See [`StepInput::beside`].
pub type Beside<'a> = &'a mut (dyn FnMut(&Store) + Send);

/// What a backend holds and moves besides the store, for the benchmark harness.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Footprint {
    /// Bytes the backend allocated for its derived data and scratch (host memory; a GPU
    /// backend adds its device buffers).
    pub resident_bytes: usize,
    /// Bytes the last step's transfer read per edge from per-edge arrays, plus the
    /// per-source values it gathered per edge (BENCH.md counts 12 for the reference loop:
    /// source index, weight, the source's energy). Scattered accumulator updates are not
    /// counted.
    pub hot_bytes_per_edge: f64,
}

/// A backend that advances the state by one step of MODEL.md section 5.
pub trait Stepper: Send {
    /// The backend's name (`cpu`, `wgpu`, `hip`).
    fn name(&self) -> &'static str;
    /// Worker threads the backend uses on the host.
    fn threads(&self) -> usize;
    /// Run one step.
    fn step(&mut self, input: StepInput<'_>) -> Result<StepReport, StepError>;
    /// The host thread pool the backend runs on; the simulation runs its host work (growth,
    /// metrics) on it too, so that one pool owns the cores.
    fn pool(&self) -> std::sync::Arc<rayon::ThreadPool>;
    /// What the backend holds and moved at its last step.
    fn footprint(&self) -> Footprint {
        Footprint::default()
    }
}

/// Create the backend named by `params.run.backend`; `threads` overrides `run.threads`.
/// `auto` picks the best compiled-in backend with a device (today: `cpu`).
pub fn create(params: &Params, threads: Option<usize>) -> Result<Box<dyn Stepper>, BackendError> {
    let threads = threads.unwrap_or(params.run.threads as usize);
    match params.run.backend.as_str() {
        // Pinned threads leave no core to a connection worker thread that runs beside them.
        "cpu" | "auto" => Ok(Box::new(
            CpuStepper::with_pinning(threads, params.run.worker != "thread")
                .map_err(|reason| BackendError::Unavailable { name: "cpu".into(), reason })?,
        )),
        "wgpu" | "hip" => Err(BackendError::NotCompiled { name: params.run.backend.clone() }),
        other => Err(BackendError::Unknown(other.into())),
    }
}
