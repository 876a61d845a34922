//! The file operations of an atomic checkpoint write, behind a seam so that a test can make
//! any one of them fail.
//!
//! The write: a temporary file in the target's directory, written, `fsync`ed, renamed over
//! the target, then the directory `fsync`ed. A crash at any point leaves either the previous
//! file or the new one complete at the target path, never a mix.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One file operation of the atomic write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOp {
    /// Create the temporary file.
    Create,
    /// Write the bytes.
    Write,
    /// `fsync` the temporary file.
    SyncFile,
    /// Rename the temporary file over the target.
    Rename,
    /// `fsync` the directory (so the rename survives a crash).
    SyncDir,
}

impl FileOp {
    /// Every operation, in the order the write performs them.
    pub const ALL: [FileOp; 5] = [FileOp::Create, FileOp::Write, FileOp::SyncFile, FileOp::Rename, FileOp::SyncDir];
}

impl std::fmt::Display for FileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOp::Create => "create the temporary file",
            FileOp::Write => "write",
            FileOp::SyncFile => "fsync the file",
            FileOp::Rename => "rename over the target",
            FileOp::SyncDir => "fsync the directory",
        })
    }
}

/// The seam: every file operation of the write goes through it.
pub trait FileOps: Send + Sync {
    /// Called before each operation; an error stops the write there.
    fn before(&self, op: FileOp, path: &Path) -> std::io::Result<()>;
}

/// The real file system, failing nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl FileOps for RealFs {
    fn before(&self, _op: FileOp, _path: &Path) -> std::io::Result<()> {
        Ok(())
    }
}

/// A failed atomic write: which operation, on which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {path}: {source}")]
pub struct WriteError {
    /// The operation that failed.
    pub op: FileOp,
    /// Its path.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// Write `bytes` to `target` atomically (see the module docs). On an error the temporary
/// file is removed (best effort) and `target` is as it was.
pub fn write_atomic(target: &Path, bytes: &[u8], ops: &dyn FileOps) -> Result<(), WriteError> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "checkpoint".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    fn fail(op: FileOp, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
        move |source| WriteError { op, path: path.to_path_buf(), source }
    }
    let result = (|| {
        ops.before(FileOp::Create, &tmp).map_err(fail(FileOp::Create, &tmp))?;
        let mut f = File::create(&tmp).map_err(fail(FileOp::Create, &tmp))?;
        ops.before(FileOp::Write, &tmp).map_err(fail(FileOp::Write, &tmp))?;
        f.write_all(bytes).map_err(fail(FileOp::Write, &tmp))?;
        ops.before(FileOp::SyncFile, &tmp).map_err(fail(FileOp::SyncFile, &tmp))?;
        f.sync_all().map_err(fail(FileOp::SyncFile, &tmp))?;
        drop(f);
        ops.before(FileOp::Rename, target).map_err(fail(FileOp::Rename, target))?;
        std::fs::rename(&tmp, target).map_err(fail(FileOp::Rename, target))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    ops.before(FileOp::SyncDir, &dir).map_err(fail(FileOp::SyncDir, &dir))?;
    File::open(&dir).and_then(|d| d.sync_all()).map_err(fail(FileOp::SyncDir, &dir))
}
