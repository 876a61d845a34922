//! The rules of MODEL.md as plain functions over slices and records: the reference
//! semantics every backend is built from or compared with.
//!
//! - [`rules`]: direction rule, admission rules, cull conditions, input scaling, scales.
//! - [`build`]: the initial graph (section 4).
//! - [`edits`]: applying pending topology edits (5.1).
//! - [`ledger`]: the energy ledger and its check (5.7).
//! - [`spawn`]: births (5.6).

pub mod build;
pub mod edits;
pub mod ledger;
pub mod rules;
pub mod spawn;
