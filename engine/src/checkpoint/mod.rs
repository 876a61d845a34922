//! Checkpoints: one self-describing file per checkpoint, written atomically, read back with
//! every check before anything is trusted, so that resuming is exact (docs/CHECKPOINTS.md).
//!
//! A checkpoint holds everything a run's future depends on: the resolved configuration, the
//! step, the id counters, every node and edge column, the pending proposals, and the run's
//! totals (for its summary). The stepper's caches are derived data, rebuilt on resume;
//! random draws come from counters (MODEL.md section 3), so no generator state is kept.

mod format;
mod fsio;

use std::path::{Path, PathBuf};

pub use format::{read_header, Header, EDGE_COLUMNS, FORMAT_VERSION, MAGIC, NODE_COLUMNS};
pub use fsio::{write_atomic, FileOp, FileOps, RealFs, WriteError};

use crate::config::{Config, ConfigError};
use crate::growth::Pending;
use crate::io::metrics::RunTotals;
use crate::store::Store;

/// The contents of one checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The resolved configuration of the run.
    pub config: Config,
    /// Steps run when it was taken.
    pub step: u64,
    /// Every node and edge column and the id counters.
    pub store: Store,
    /// Proposals not yet applied.
    pub pending: Pending,
    /// The run's totals so far.
    pub totals: RunTotals,
}

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file operation failed.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The atomic write failed at one of its operations.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The file is not a neuroflux checkpoint.
    #[error("not a neuroflux checkpoint: {0}")]
    NotACheckpoint(String),
    /// The file is a checkpoint of another format version.
    #[error("checkpoint format version {found} cannot be read by this build, which reads version {supported}")]
    Version {
        /// The file's version.
        found: u64,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A section's checksum does not match its bytes.
    #[error("checkpoint section `{section}` is corrupt: its checksum is {computed}, the header says {stored}")]
    Checksum {
        /// The section (a column, `config`, `pending`, `totals` or `counters`).
        section: String,
        /// The checksum in the header.
        stored: String,
        /// The checksum of the bytes.
        computed: String,
    },
    /// A count is above the configured capacity.
    #[error("the checkpoint holds {count} {what}, above the capacity of {max}")]
    Capacity {
        /// `nodes` or `edges`.
        what: &'static str,
        /// The count in the file.
        count: u64,
        /// The capacity.
        max: u64,
    },
    /// The embedded configuration does not load or validate.
    #[error("the checkpoint's configuration: {0}")]
    Config(#[from] ConfigError),
    /// The container is malformed.
    #[error("checkpoint container: {0}")]
    Container(#[from] safetensors::SafeTensorError),
    /// A structural check failed.
    #[error("invalid checkpoint: {0}")]
    Invalid(String),
}

impl Checkpoint {
    /// Encode and write atomically to `path` (see [`write_atomic`]).
    pub fn write(&self, path: &Path, ops: &dyn FileOps) -> Result<(), CheckpointError> {
        let bytes = format::encode(self)?;
        write_atomic(path, &bytes, ops)?;
        Ok(())
    }

    /// Read and check the checkpoint at `path`; `limits` caps its node and edge counts
    /// (besides its own configuration's capacities).
    pub fn read(path: &Path, limits: Option<(u64, u64)>) -> Result<Self, CheckpointError> {
        format::read(path, limits)
    }
}

/// The file name of the checkpoint taken after `step` steps.
pub fn file_name(step: u64) -> String {
    format!("step-{step:012}.safetensors")
}

/// The checkpoints in `dir` (files named by [`file_name`]), by ascending step.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(step) = name.strip_prefix("step-").and_then(|s| s.strip_suffix(".safetensors")) {
            if let Ok(step) = step.parse::<u64>() {
                out.push((step, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Remove all but the newest `keep` checkpoints in `dir`; returns the removed paths.
pub fn rotate(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let all = list(dir)?;
    let excess = all.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for (_, path) in all.into_iter().take(excess) {
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}
