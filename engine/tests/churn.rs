//! Contract (regressions of the seed project's failures): a configuration tuned for churn
//! runs 10,000 steps with every invariant holding after every step (checked by this test,
//! so release builds check too), and the workspace read-out stays correct by binding while
//! births and deaths shift rows.

use neuroflux::store::{NodeId, NodeKind};
use neuroflux::{Config, Simulation};

fn churn() -> Simulation {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/churn.toml");
    let p = Config::load(std::path::Path::new(path)).expect("loads").validate().expect("valid");
    Simulation::new(p, Some(2), &|_| {}).expect("builds")
}

#[test]
fn ten_thousand_steps_of_churn_keep_every_invariant() {
    let mut s = churn();
    let initial_dynamic = s.params().graph.n_dynamic as usize;
    let mut max_dynamic = 0;
    for _ in 0..10_000 {
        let m = s.step().expect("step");
        if let Err(e) = s.check_invariants() {
            panic!("after step {}: {e}", m.step);
        }
        max_dynamic = max_dynamic.max(m.energy[1].count as usize);
    }
    let t = *s.totals();
    println!(
        "churn: {} births, {} deaths, dynamic nodes {} -> max {}",
        t.births, t.deaths, initial_dynamic, max_dynamic
    );
    assert!(t.births >= 50_000, "births {}", t.births);
    assert!(t.deaths >= 50_000, "deaths {}", t.deaths);
    assert!(max_dynamic >= 3 * initial_dynamic, "dynamic nodes reached only {max_dynamic}");
}

#[test]
fn workspace_read_out_is_by_binding_after_spawns() {
    let mut s = churn();
    let p = s.params().clone();
    let first_ws_id = (p.n_sensory() + p.graph.n_dynamic as usize) as u64;
    let initial_row = s.store().nodes().row_of(NodeId(first_ws_id)).expect("workspace node");
    for _ in 0..300 {
        s.step().expect("step");
    }
    let n = s.store().nodes();
    let row = n.row_of(NodeId(first_ws_id)).expect("workspace nodes never die");
    assert_ne!(row, initial_row, "deaths should have shifted the workspace rows");
    assert!(s.totals().births > 0);
    let grid = s.workspace_grid();
    assert_eq!(grid.len(), p.n_workspace());
    for (b, &value) in grid.iter().enumerate() {
        let r = n.row_of(NodeId(first_ws_id + b as u64)).expect("workspace node");
        assert_eq!(n.kind_of(r), NodeKind::Workspace);
        assert_eq!(n.bindings()[r] as usize, b);
        assert_eq!(value.to_bits(), n.energy()[r].to_bits(), "cell {b}");
    }
}
