//! Contract (issue [checkpoint]): resuming from a checkpoint gives the uninterrupted run's
//! bits; a failing file operation reaches the caller and leaves the previous checkpoint
//! loadable; a damaged or foreign file is refused with a message that says what is wrong.

use std::path::{Path, PathBuf};

use neuroflux::checkpoint::{Checkpoint, CheckpointError, FileOp, FileOps, RealFs};
use neuroflux::{Config, Params, Simulation};

fn default_params(f: impl FnOnce(&mut Config)) -> Params {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/default.toml");
    let mut c = Config::load(Path::new(path)).expect("loads");
    f(&mut c);
    c.validate().expect("valid")
}

fn small_params() -> Params {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/small.toml");
    Config::load(Path::new(path)).expect("loads").validate().expect("valid")
}

fn run_to(sim: &mut Simulation, end: u64) {
    while sim.current_step() < end {
        sim.step().expect("step");
    }
}

fn resumed_hash(params: Params, at: u64, end: u64, dir: &Path) -> String {
    let mut sim = Simulation::new(params, Some(2), &|_| {}).expect("builds");
    run_to(&mut sim, at);
    let path = dir.join(neuroflux::checkpoint::file_name(at));
    sim.checkpoint().write(&path, &RealFs).expect("writes");
    drop(sim);
    let c = Checkpoint::read(&path, None).expect("reads");
    assert_eq!(c.step, at);
    let mut sim = Simulation::from_checkpoint(c, Some(2)).expect("resumes");
    run_to(&mut sim, end);
    sim.state_hash()
}

#[test]
fn resuming_at_400_gives_the_uninterrupted_runs_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (worker, lag) in [("inline", 1u32), ("inline", 2), ("thread", 2)] {
        let params = default_params(|c| {
            c.growth.worker_lag_steps = lag;
            c.run.worker = worker.into();
        });
        let mut whole = Simulation::new(params.clone(), Some(2), &|_| {}).expect("builds");
        run_to(&mut whole, 1000);
        let want = whole.state_hash();
        let got = resumed_hash(params, 400, 1000, dir.path());
        println!("default.toml, {worker} worker, worker_lag_steps = {lag}: uninterrupted {want}, resumed at 400 {got}");
        assert_eq!(got, want, "{worker} worker, lag {lag}");
    }
}

/// Fails one chosen operation.
struct FailAt(FileOp);

impl FileOps for FailAt {
    fn before(&self, op: FileOp, _path: &Path) -> std::io::Result<()> {
        if op == self.0 {
            Err(std::io::Error::other(format!("injected failure at {op}")))
        } else {
            Ok(())
        }
    }
}

#[test]
fn each_failing_file_operation_reaches_the_caller_and_the_previous_checkpoint_stays() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sim = Simulation::new(small_params(), Some(1), &|_| {}).expect("builds");
    run_to(&mut sim, 10);
    // The previous checkpoint of a run (its own file), and the next one being written.
    let previous: PathBuf = dir.path().join(neuroflux::checkpoint::file_name(10));
    sim.checkpoint().write(&previous, &RealFs).expect("the first write succeeds");
    let first = sim.state_hash();
    run_to(&mut sim, 20);
    let next: PathBuf = dir.path().join(neuroflux::checkpoint::file_name(20));
    for op in FileOp::ALL {
        let _ = std::fs::remove_file(&next);
        let err = sim.checkpoint().write(&next, &FailAt(op)).expect_err("the injected failure is an error");
        let msg = err.to_string();
        assert!(msg.contains(&format!("injected failure at {op}")), "{op}: {msg}");
        assert!(msg.contains(&format!("cannot {op}")), "{op}: {msg}");
        // The previous checkpoint is untouched and loads.
        let c = Checkpoint::read(&previous, None).expect("the previous checkpoint still loads");
        assert_eq!(Simulation::from_checkpoint(c, Some(1)).expect("resumes").state_hash(), first, "{op}");
        // The new one is absent, or (only the directory fsync failed) complete.
        if op == FileOp::SyncDir {
            let c = Checkpoint::read(&next, None).expect("renamed before the failure: complete");
            assert_eq!(c.step, 20);
        } else {
            assert!(!next.exists(), "{op}: no new checkpoint at the target");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{op}: no temporary file is left behind");
    }
}

fn written(dir: &Path) -> PathBuf {
    let mut sim = Simulation::new(small_params(), Some(1), &|_| {}).expect("builds");
    run_to(&mut sim, 15);
    let path = dir.join("c.safetensors");
    sim.checkpoint().write(&path, &RealFs).expect("writes");
    path
}

fn read_err(path: &Path) -> String {
    match Checkpoint::read(path, None) {
        Ok(_) => panic!("{} should not load", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damaged_files_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = written(dir.path());
    let good = std::fs::read(&path).expect("reads");

    // One flipped byte in the data of the column stored last (the container sorts them by
    // name: `node.subtype`).
    let mut bytes = good.clone();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x40;
    std::fs::write(&path, &bytes).expect("writes");
    let msg = read_err(&path);
    assert!(msg.contains("section `node.subtype` is corrupt"), "{msg}");

    // Truncated.
    std::fs::write(&path, &good[..good.len() - 100]).expect("writes");
    let msg = read_err(&path);
    assert!(msg.contains("offsets") || msg.contains("bytes of data"), "{msg}");

    // A header length that claims more than the file holds (a crafted header).
    let mut bytes = good.clone();
    bytes[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    std::fs::write(&path, &bytes).expect("writes");
    let msg = read_err(&path);
    assert!(msg.contains("header length field says 1099511627776 bytes"), "{msg}");

    // Not a checkpoint at all.
    std::fs::write(&path, b"hello").expect("writes");
    assert!(read_err(&path).contains("too short"), "short file");

    // Another format version.
    let needle = b"\"format_version\":\"1\"";
    let at = good.windows(needle.len()).position(|w| w == needle).expect("the header names its version");
    let mut bytes = good.clone();
    bytes[at + needle.len() - 2] = b'9';
    std::fs::write(&path, &bytes).expect("writes");
    let msg = read_err(&path);
    assert!(msg.contains("format version 9") && msg.contains("reads version 1"), "{msg}");

    // Capacity: more nodes than the loading run allows.
    std::fs::write(&path, &good).expect("writes");
    let e = Checkpoint::read(&path, Some((10, u64::MAX))).expect_err("over capacity");
    assert!(matches!(e, CheckpointError::Capacity { what: "nodes", max: 10, .. }), "{e}");

    // The good file still loads.
    Checkpoint::read(&path, None).expect("loads");
}
