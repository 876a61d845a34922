//! Inputs and outputs: sensory frames, per-step metrics and their CSV form, the summary.

pub mod graph;
pub mod graph_file;
pub mod input;
pub mod metrics;
