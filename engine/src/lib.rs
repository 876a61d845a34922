//! neuroflux: energy-based neural simulation on large, changing graphs.
//!
//! The model is `MODEL.md` (the project's `docs/MODEL-NOTES.md` records every reading of it
//! that had to be chosen). The map of the code is `docs/ARCHITECTURE.md`:
//! [`store`] holds the state, [`model`] the rules, [`step`] the backends, [`growth`] the
//! connection rules, [`sim`] ties them into a run.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod growth;
pub mod hash;
pub mod io;
pub(crate) mod join;
pub mod model;
pub mod rng;
pub mod sim;
pub mod step;
pub mod store;

pub use config::{Config, Params};
pub use sim::{SimError, Simulation};
