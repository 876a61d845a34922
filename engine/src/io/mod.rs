//! Inputs and outputs: sensory frames, per-step metrics and their CSV form, the summary.

pub mod input;
pub mod metrics;
