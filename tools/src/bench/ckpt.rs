//! `checkpoint-10m`: save and load (with full verification) of `dense-100k` after 10 steps,
//! against a plain sequential write with fsync and a read of the same number of bytes.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use neuroflux::checkpoint::{Checkpoint, RealFs};
use neuroflux::{Params, Simulation};

use super::measure;
use super::record::{CheckpointTimes, Record};

pub fn checkpoint(name: &str, params: Params, threads: usize, bandwidth: f64, dir: &Path) -> Result<Record> {
    super::machine::reset_peak_rss();
    let (mut sim, build_seconds) = measure::build(name, params, threads)?;
    let mut timed = measure::Steps::new();
    let edges = sim.store().edges().count();
    for _ in 0..10 {
        let t = Instant::now();
        let m = sim.step()?;
        timed.add(t.elapsed().as_secs_f64(), &m, edges);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("bench.nfckpt");
    eprintln!("{name}: saving to {}", path.display());
    let t = Instant::now();
    sim.checkpoint().write(&path, &RealFs)?;
    let save_seconds = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path).with_context(|| format!("cannot stat {}", path.display()))?.len();
    eprintln!("{name}: loading with full verification");
    let t = Instant::now();
    // `Checkpoint::read` checks every checksum, code, invariant of the store and energy
    // bound (what `Simulation::check_invariants` checks): the load as a resume makes it.
    let c = Checkpoint::read(&path, None)?;
    let loaded = Simulation::from_checkpoint(c, Some(threads))?;
    let load_seconds = t.elapsed().as_secs_f64();
    if loaded.state_hash() != sim.state_hash() {
        bail!("{name}: the loaded state's hash differs from the saved one's");
    }
    drop(loaded);
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    eprintln!("{name}: timing a plain write with fsync and a read of {bytes} bytes");
    let (disk_write_seconds, disk_read_seconds) = super::machine::disk_write_read(dir, bytes)?;
    let mut r = measure::start_record(name, &sim, build_seconds);
    measure::fill(&mut r, &sim, &timed, bandwidth);
    r.checkpoint = Some(CheckpointTimes {
        bytes,
        save_seconds,
        load_seconds,
        disk_write_seconds,
        disk_read_seconds,
        save_ratio: disk_write_seconds / save_seconds.max(1e-12),
        load_ratio: disk_read_seconds / load_seconds.max(1e-12),
    });
    Ok(r)
}
