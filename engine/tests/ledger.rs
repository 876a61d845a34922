//! Contract: on `sim-configs/default.toml` the energy ledger of MODEL.md 5.7 balances at
//! every one of 500 steps, and perturbing any single term makes the check fail.

use neuroflux::model::ledger::Ledger;
use neuroflux::{Config, Simulation};

fn default_sim() -> Simulation {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/default.toml");
    let p = Config::load(std::path::Path::new(path))
        .expect("default.toml loads")
        .validate()
        .expect("default.toml is valid");
    Simulation::new(p, Some(2), &|_| {}).expect("builds")
}

#[test]
fn ledger_balances_every_step_of_default_for_500_steps() {
    let mut s = default_sim();
    let mut births = 0;
    let mut deaths = 0;
    for _ in 0..500 {
        let m = s.step().expect("step");
        let (before, after) = s.last_totals();
        if let Err(e) = m.ledger.check(before, after) {
            panic!("step {}: {e}", m.step);
        }
        births += m.births;
        deaths += m.deaths;
    }
    assert!(births > 0 && deaths > 0, "the run should exercise spawn and death ({births} births, {deaths} deaths)");
}

#[test]
fn perturbing_any_single_term_breaks_the_check() {
    let mut s = default_sim();
    for _ in 0..80 {
        s.step().expect("step");
    }
    let m = s.step().expect("step");
    let (before, after) = s.last_totals();
    m.ledger.check(before, after).expect("balanced before perturbation");
    let tolerance = 1e-6 * before.abs().max(after.abs()).max(m.ledger.values().iter().map(|v| v.abs()).sum()).max(1.0);
    for i in 0..Ledger::NAMES.len() {
        let mut l = m.ledger;
        let fields: [&mut f64; 15] = [
            &mut l.input_set,
            &mut l.input_hold,
            &mut l.paid,
            &mut l.received,
            &mut l.burned,
            &mut l.inhibited,
            &mut l.upkeep,
            &mut l.gain,
            &mut l.noise,
            &mut l.ws_relax,
            &mut l.clamp_cap,
            &mut l.clamp_floor,
            &mut l.dead,
            &mut l.spawn_paid,
            &mut l.spawn_created,
        ];
        *fields.into_iter().nth(i).expect("15 fields") += 4.0 * tolerance;
        assert!(l.check(before, after).is_err(), "perturbing {} should break the ledger", Ledger::NAMES[i]);
    }
}

/// The stepper reuses the previous step's total as the next step's `total(before)` only
/// while the node values are unchanged: energies written between steps are counted.
#[test]
fn energies_changed_between_steps_are_in_the_next_total_before() {
    let mut s = default_sim();
    for _ in 0..5 {
        s.step().expect("step");
    }
    let (_, after) = s.last_totals();
    let energy = s.store_mut().node_values_mut().energy;
    let old = energy[0];
    energy[0] = old + 100.0;
    s.step().expect("step");
    let (before, _) = s.last_totals();
    let added = f64::from(old + 100.0) - f64::from(old);
    assert!(
        (before - (after + added)).abs() <= 1e-9 * after.abs(),
        "total(before) {before} should be the previous total(after) {after} plus {added} (node 0 was {old})"
    );
}
