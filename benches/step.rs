//! Criterion benchmarks of whole steps (run by hand with `cargo bench`; CI compiles them).
//! Per-phase benchmarks and the workload harness belong to `neuroflux bench`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use neuroflux::{Config, Simulation};

fn load(name: &str) -> neuroflux::Params {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim-configs").join(name);
    Config::load(&path).and_then(|c| c.validate()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn step_small(c: &mut Criterion) {
    let mut sim = Simulation::new(load("small.toml"), Some(2), &|_| {}).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..200 {
        sim.step().unwrap_or_else(|e| panic!("{e}"));
    }
    c.bench_function("step small.toml (settled)", |b| b.iter(|| sim.step().unwrap_or_else(|e| panic!("{e}"))));
}

fn step_default(c: &mut Criterion) {
    let mut sim = Simulation::new(load("default.toml"), Some(2), &|_| {}).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..300 {
        sim.step().unwrap_or_else(|e| panic!("{e}"));
    }
    c.bench_function("step default.toml (settled)", |b| b.iter(|| sim.step().unwrap_or_else(|e| panic!("{e}"))));
}

criterion_group!(benches, step_small, step_default);
criterion_main!(benches);
