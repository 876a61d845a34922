//! Writing checkpoints beside the run, and finding them again (`--resume`, `inspect`).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Context, Result};
use neuroflux::checkpoint::{self, Checkpoint, RealFs};

/// A named thread that writes checkpoints (atomically, then rotating old ones), so that the
/// stepper only waits for the copy of its state; at most one checkpoint waits behind the one
/// being written.
pub struct Writer {
    tx: Option<SyncSender<(Checkpoint, f64)>>,
    thread: Option<JoinHandle<()>>,
    error: Arc<Mutex<Option<String>>>,
}

impl Writer {
    /// A writer into `dir` that keeps the newest `keep` checkpoints.
    pub fn start(dir: PathBuf, keep: usize) -> Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (tx, rx) = sync_channel::<(Checkpoint, f64)>(1);
        let error = Arc::new(Mutex::new(None));
        let err = error.clone();
        let thread = std::thread::Builder::new()
            .name("neuroflux-checkpoint".into())
            .spawn(move || {
                for (c, stall) in rx {
                    let path = dir.join(checkpoint::file_name(c.step));
                    let t = std::time::Instant::now();
                    let r = c.write(&path, &RealFs).map_err(|e| e.to_string()).and_then(|()| {
                        checkpoint::rotate(&dir, keep).map_err(|e| format!("cannot rotate checkpoints: {e}"))
                    });
                    match r {
                        Ok(removed) => tracing::info!(
                            step = c.step,
                            stall_ms = stall * 1e3,
                            write_seconds = t.elapsed().as_secs_f64(),
                            removed = removed.len(),
                            "wrote checkpoint {}",
                            path.display()
                        ),
                        Err(e) => {
                            tracing::error!("checkpoint at step {}: {e}", c.step);
                            if let Ok(mut slot) = err.lock() {
                                slot.get_or_insert(e);
                            }
                            return;
                        }
                    }
                }
            })
            .context("cannot start the checkpoint writer thread")?;
        Ok(Self { tx: Some(tx), thread: Some(thread), error })
    }

    fn failed(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// Queue `c`, taken with a stall of `stall` seconds for the stepper (reported with the
    /// write); fails if an earlier checkpoint failed (the run should stop).
    pub fn send(&self, c: Checkpoint, stall: f64) -> Result<()> {
        if let Some(e) = self.failed() {
            bail!("a checkpoint failed: {e}");
        }
        let tx = self.tx.as_ref().ok_or_else(|| anyhow!("the checkpoint writer has stopped"))?;
        tx.send((c, stall))
            .map_err(|_| anyhow!("the checkpoint writer has stopped: {}", self.failed().unwrap_or_default()))
    }

    /// Wait until every queued checkpoint is written; the first error, if any.
    pub fn finish(mut self) -> Result<()> {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| anyhow!("the checkpoint writer thread panicked"))?;
        }
        match self.failed() {
            Some(e) => bail!("a checkpoint failed: {e}"),
            None => Ok(()),
        }
    }
}

/// The checkpoint a path names, and its run directory: a checkpoint file (in a run's
/// `checkpoints/`), a run directory, or its `checkpoints/` directory (the newest checkpoint).
pub fn locate(path: &Path) -> Result<(PathBuf, PathBuf)> {
    if path.is_file() {
        let parent = path.parent().unwrap_or(Path::new("."));
        let run = if parent.file_name().is_some_and(|n| n == "checkpoints") {
            parent.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            parent.to_path_buf()
        };
        return Ok((path.to_path_buf(), run));
    }
    if !path.is_dir() {
        bail!("{} is neither a checkpoint file nor a directory", path.display());
    }
    let (dir, run) = if path.join("checkpoints").is_dir() {
        (path.join("checkpoints"), path.to_path_buf())
    } else {
        (path.to_path_buf(), path.parent().unwrap_or(Path::new(".")).to_path_buf())
    };
    let newest = checkpoint::list(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .pop()
        .ok_or_else(|| anyhow!("{} holds no checkpoint (files named step-NNNNNNNNNNNN.safetensors)", dir.display()))?;
    Ok((newest.1, run))
}
