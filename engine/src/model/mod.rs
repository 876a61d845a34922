//! The rules of MODEL.md as plain functions over slices and records: the reference
//! semantics every backend is built from or compared with.
//!
//! - [`rules`]: direction rule, admission rules, cull conditions, input scaling, scales.
//! - [`build`]: the initial graph (section 4).
//! - [`edits`]: applying pending topology edits (5.1).
//! - [`pairs`]: the filter of edge pairs that spares 5.1 most duplicate scans of a large batch.
//! - [`ledger`]: the energy ledger and its check (5.7).
//! - [`spawn`]: births (5.6).

pub mod build;
pub mod edits;
pub mod ledger;
pub mod pairs;
pub mod rules;
pub mod spawn;
