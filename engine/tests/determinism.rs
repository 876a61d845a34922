//! Contract: the state hash after 300 steps of `default.toml` is the same with 1, 2 and 4
//! rayon threads and between two runs, and changing any single value of any column (or the
//! pending proposals) changes it.

use neuroflux::store::EdgeKind;
use neuroflux::{Config, Params, Simulation};

fn params() -> Params {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/default.toml");
    Config::load(std::path::Path::new(path)).expect("loads").validate().expect("valid")
}

fn hash_after(steps: u64, threads: usize) -> String {
    let mut s = Simulation::new(params(), Some(threads), &|_| {}).expect("builds");
    for _ in 0..steps {
        s.step().expect("step");
    }
    s.state_hash()
}

#[test]
fn hash_is_independent_of_thread_count_and_run() {
    let h1 = hash_after(300, 1);
    let h2 = hash_after(300, 2);
    let h4 = hash_after(300, 4);
    let again = hash_after(300, 2);
    println!(
        "state_hash after 300 steps of default.toml: 1 thread {h1}, 2 threads {h2}, 4 threads {h4}, again {again}"
    );
    assert_eq!(h1, h2);
    assert_eq!(h2, h4);
    assert_eq!(h2, again);
}

#[test]
fn changing_any_single_value_changes_the_hash() {
    let mut c = params().config().clone();
    c.graph.sensory_width = 8;
    c.graph.sensory_height = 8;
    c.graph.n_dynamic = 200;
    c.graph.workspace_width = 4;
    c.graph.workspace_height = 4;
    let mut s = Simulation::new(c.validate().expect("valid"), Some(1), &|_| {}).expect("builds");
    for _ in 0..22 {
        s.step().expect("step");
    }
    assert!(s.pending().entries().any(|(_, p)| !p.adds.is_empty() || !p.culls.is_empty()), "pending proposals exist");
    let base = s.state_hash();
    let rows = [0usize, 70, s.store().nodes().len() - 1];
    for col in 0..11 {
        for &r in &rows {
            s.store_mut().tables_mut_for_tests().0.poke_column(col, r);
            assert_ne!(s.state_hash(), base, "node column {col} row {r}");
            s.store_mut().tables_mut_for_tests().0.poke_column(col, r);
            assert_eq!(s.state_hash(), base, "poke should be undone");
        }
    }
    let erows = [0usize, s.store().edges().rows() / 2, s.store().edges().rows() - 1];
    // The gate and the learning rate are kept only for the kinds that have them.
    let of_kind = |k: EdgeKind| -> Vec<usize> {
        let e = s.store().edges();
        let rows: Vec<usize> = (0..e.rows()).filter(|&r| e.kind_of(r) == k).collect();
        assert!(!rows.is_empty(), "the graph has {k:?} edges");
        vec![rows[0], rows[rows.len() / 2], rows[rows.len() - 1]]
    };
    let (gated, plastic) = (of_kind(EdgeKind::Gated), of_kind(EdgeKind::Plastic));
    for col in 0..9 {
        let rows = match col {
            6 => &gated,
            7 => &plastic,
            _ => &erows[..],
        };
        for &r in rows {
            s.store_mut().tables_mut_for_tests().1.poke_column(col, r);
            assert_ne!(s.state_hash(), base, "edge column {col} row {r}");
            s.store_mut().tables_mut_for_tests().1.poke_column(col, r);
        }
    }
    assert_eq!(s.state_hash(), base);
    s.step().expect("step");
    assert_ne!(s.state_hash(), base, "a step changes the hash");
}

/// Runs `steps` of `config` with the transfer computed by `path`; returns the state hash and
/// every step's ledger as bits.
fn run_with_path(config: &str, steps: u64, path: neuroflux::step::TransferPath) -> (String, Vec<[u64; 15]>) {
    let file = format!("{}/../sim-configs/{config}", env!("CARGO_MANIFEST_DIR"));
    let params = Config::load(std::path::Path::new(&file)).expect("loads").validate().expect("valid");
    let store = neuroflux::model::build::build_initial(&params, &|_| {}).expect("builds");
    let stepper = Box::new(neuroflux::step::CpuStepper::new(2).expect("pool").with_path(path));
    let mut s =
        Simulation::from_parts(params, store, 0, neuroflux::growth::Pending::default(), stepper).expect("simulation");
    let mut ledgers = Vec::new();
    for _ in 0..steps {
        let m = s.step().expect("step");
        ledgers.push(m.ledger.values().map(f64::to_bits));
    }
    (s.state_hash(), ledgers)
}

#[test]
fn streamed_and_compressed_row_transfer_give_the_same_bits() {
    use neuroflux::step::TransferPath::{Auto, Rows, Stream};
    // default.toml changes its topology every step and has every edge kind and direction;
    // small.toml as well, on a smaller graph; dense-100k keeps its topology (Auto uses rows).
    for (config, steps) in [("default.toml", 200), ("small.toml", 300), ("dense-100k.toml", 3)] {
        let (h_rows, l_rows) = run_with_path(config, steps, Rows);
        let (h_stream, l_stream) = run_with_path(config, steps, Stream);
        let (h_auto, l_auto) = run_with_path(config, steps, Auto);
        println!("{config}: {steps} steps, state_hash rows {h_rows}, stream {h_stream}, auto {h_auto}");
        assert_eq!(h_rows, h_stream, "{config}: state hash, rows vs stream");
        assert_eq!(h_rows, h_auto, "{config}: state hash, rows vs auto");
        for (t, ((a, b), c)) in l_rows.iter().zip(&l_stream).zip(&l_auto).enumerate() {
            assert_eq!(a, b, "{config}: ledger of step {t}, rows vs stream");
            assert_eq!(a, c, "{config}: ledger of step {t}, rows vs auto");
        }
    }
}

#[test]
fn the_worker_thread_gives_the_inline_runs_bits() {
    // 300 steps stepped one by one, and 300 through the run loop (which drains the worker).
    for lag in [0u32, 1, 3] {
        let with = |worker: &str| {
            let mut c = params().config().clone();
            c.run.worker = worker.into();
            c.growth.worker_lag_steps = lag;
            c.validate().expect("valid")
        };
        let mut inline = Simulation::new(with("inline"), Some(2), &|_| {}).expect("builds");
        let mut thread = Simulation::new(with("thread"), Some(2), &|_| {}).expect("builds");
        for _ in 0..150 {
            inline.step().expect("step");
            thread.step().expect("step");
        }
        assert_eq!(thread.state_hash(), inline.state_hash(), "lag {lag}, after 150 single steps");
        let ok = |_: &Simulation, _: &neuroflux::io::metrics::StepMetrics| Ok::<(), neuroflux::SimError>(());
        inline.run_until(300, &mut ok.clone()).expect("runs");
        thread.run_until(300, &mut ok.clone()).expect("runs");
        assert_eq!(thread.state_hash(), inline.state_hash(), "lag {lag}, after 300 steps");
        assert_eq!(thread.totals(), inline.totals(), "lag {lag}: run totals");
        println!("lag {lag}: inline and worker thread agree: {}", inline.state_hash());
    }
}
