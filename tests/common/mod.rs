//! Helpers shared by the tests of the `neuroflux` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the binary runs there, so `sim-configs/...` paths work).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the binary with `args` in the repository root; its output.
pub fn neuroflux(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neuroflux"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary should start")
}
