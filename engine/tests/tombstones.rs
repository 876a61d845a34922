//! Contract: removed edge rows may wait as tombstones for a batched compaction (DESIGN.md),
//! and no result depends on when they are compacted: every step's ledger (as bits), counts
//! and the state hash are the same whether removals compact at once, in batches or only
//! with node removals, on both transfer paths, with and without deaths.

use neuroflux::growth::{EdgeProposal, Proposals};
use neuroflux::step::TransferPath;
use neuroflux::store::{Direction, EdgeId, EdgeKind, NodeId};
use neuroflux::{Config, Params, Simulation};

fn load(config: &str) -> Config {
    let file = format!("{}/../sim-configs/{config}", env!("CARGO_MANIFEST_DIR"));
    Config::load(std::path::Path::new(&file)).expect("loads")
}

/// `dense-100k.toml`'s propagation graph at `n` dynamic nodes with `degree` out-edges each
/// and initial out-degree caps drawn from `caps`.
fn propagation(n: u32, degree: u32, caps: [u32; 2]) -> Config {
    let mut c = load("dense-100k.toml");
    c.graph.n_dynamic = n;
    c.graph.dynamic_out_degree = degree;
    c.graph.max_out_degree_initial = caps;
    c
}

/// Everything a step reports that could differ, as bits.
type StepBits = (Vec<u64>, [u64; 6]);

/// Runs `steps` of `params` with tombstones compacted past `fraction` of the rows and the
/// transfer by `path`; before every step `edits` (if given) queues edits built from the
/// live edges. Checks the invariants after every step; returns the state hash, every step's
/// bits and the most tombstones seen after a step.
fn run(
    params: &Params,
    steps: u64,
    fraction: f64,
    path: TransferPath,
    edits: Option<&dyn Fn(&Simulation) -> Proposals>,
) -> (String, Vec<StepBits>, usize) {
    let store = neuroflux::model::build::build_initial(params, &|_| {}).expect("builds");
    let stepper = Box::new(neuroflux::step::CpuStepper::new(2).expect("pool").with_path(path));
    let mut s = Simulation::from_parts(params.clone(), store, 0, neuroflux::growth::Pending::default(), stepper)
        .expect("simulation");
    s.store_mut().set_max_tombstone_fraction(fraction);
    let (mut bits, mut most) = (Vec::new(), 0);
    for _ in 0..steps {
        if let Some(f) = edits {
            let p = f(&s);
            s.queue_edits(p);
        }
        let m = s.step().expect("step");
        s.check_invariants().expect("invariants after a step");
        most = most.max(s.store().edges().tombstones());
        let counts = [m.edges, m.edges_added, m.edges_culled, m.edits_skipped, m.births, m.deaths];
        bits.push((m.ledger.values().map(f64::to_bits).to_vec(), counts));
    }
    (s.state_hash(), bits, most)
}

/// The same results for every compaction policy and transfer path; returns the most
/// tombstones any run held after a step.
fn same_for_every_policy(
    name: &str,
    params: &Params,
    steps: u64,
    edits: Option<&dyn Fn(&Simulation) -> Proposals>,
) -> usize {
    let (want_hash, want_bits, _) = run(params, steps, 0.0, TransferPath::Stream, edits);
    let mut most = 0;
    for path in [TransferPath::Stream, TransferPath::Rows, TransferPath::Auto] {
        for fraction in [0.0, neuroflux::store::DEFAULT_MAX_TOMBSTONE_FRACTION, 1.0] {
            let (hash, bits, m) = run(params, steps, fraction, path, edits);
            most = most.max(m);
            for (t, (a, b)) in want_bits.iter().zip(&bits).enumerate() {
                assert_eq!(a, b, "{name}: step {t}, {path:?}, compaction past {fraction} of the rows");
            }
            assert_eq!(hash, want_hash, "{name}: state hash, {path:?}, compaction past {fraction}");
        }
    }
    println!("{name}: {steps} steps, state_hash {want_hash}, up to {most} tombstoned rows");
    most
}

#[test]
fn the_model_configurations_do_not_depend_on_compaction() {
    // Births, deaths (which compact), culls and additions every step.
    for (config, steps) in [("default.toml", 120), ("small.toml", 300)] {
        let params = load(config).validate().expect("valid");
        same_for_every_policy(config, &params, steps, None);
    }
    // Plasticity off: the out-edge view holds the stepper's factors and flags (edges into
    // sensory nodes among them) while the compressed-row path follows the changes.
    let mut c = load("small.toml");
    c.transfer.plasticity = false;
    same_for_every_policy("small.toml without plasticity", &c.validate().expect("valid"), 300, None);
}

/// A small splitmix generator for the test's edits.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E9B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `k` removals of random live edges (chosen among the live edges in id order, so the same
/// whatever the layout) and `k` random additions of every kind.
fn random_edits(s: &Simulation, k: usize) -> Proposals {
    random_edits_of(s, k, &[EdgeKind::Excitatory, EdgeKind::Inhibitory, EdgeKind::Gated, EdgeKind::Plastic])
}

/// [`random_edits`] adding edges of the given kinds only (in turn).
fn random_edits_of(s: &Simulation, k: usize, kinds: &[EdgeKind]) -> Proposals {
    let (nodes, edges) = (s.store().nodes(), s.store().edges());
    let live: Vec<u64> = (0..edges.rows()).filter(|&r| edges.is_live(r)).map(|r| edges.id(r)).collect();
    let mut p = Proposals::default();
    let mut x = s.current_step().wrapping_mul(0x1234_5678_9ABC_DEF1);
    let mut next = |m: usize| {
        x = mix(x);
        (x % m as u64) as usize
    };
    for _ in 0..k.min(live.len()) {
        p.removes.push(EdgeId(live[next(live.len())]));
    }
    let n = nodes.len();
    for i in 0..k {
        let (s, d) = (next(n), next(n));
        let kind = kinds[i % kinds.len()];
        let weight = if kind == EdgeKind::Inhibitory { -0.3 } else { 0.05 + (next(100) as f32) / 200.0 };
        p.adds.push(EdgeProposal {
            src: NodeId(nodes.ids()[s]),
            dst: NodeId(nodes.ids()[d]),
            kind,
            weight,
            direction: Direction::FreeFlow,
            gate: if kind == EdgeKind::Gated { 0.5 } else { 0.0 },
            plastic_lr: if kind == EdgeKind::Plastic { 0.05 } else { 0.0 },
        });
    }
    p
}

#[test]
fn churn_without_deaths_does_not_depend_on_compaction() {
    // A propagation graph of every edge kind (no births or deaths, so only the policy
    // compacts), plasticity on, with removals and additions queued every step.
    let mut c = propagation(1500, 12, [12, 16]);
    c.graph.build_kind_mix.inhibitory = 0.2;
    c.graph.build_kind_mix.gated = 0.2;
    c.graph.build_kind_mix.plastic = 0.2;
    c.transfer.plasticity = true;
    c.growth.max_new_edges_per_step = 150;
    // Inhibition and maintenance (which reads out-degrees) drain; a low floor keeps every
    // node alive over the run.
    c.energy.energy_floor = -1.0e6;
    c.energy.maintenance_per_out_edge = 0.001;
    let params = c.clone().validate().expect("valid");
    let edits = |s: &Simulation| random_edits(s, 150);
    let most = same_for_every_policy("churn on 1,500 nodes", &params, 40, Some(&edits));
    assert!(most > 1000, "tombstones should accumulate without compaction (at most {most})");
    // Edits in bursts: between them the topology stays the same long enough for the CPU
    // stepper to free its per-row factors, and the sums of the sources a burst changes are
    // then computed from the weights (which plasticity keeps changing).
    let bursts = |s: &Simulation| if s.current_step() % 10 >= 7 { random_edits(s, 150) } else { Proposals::default() };
    same_for_every_policy("bursts of churn on 1,500 nodes", &params, 40, Some(&bursts));
    // Plasticity off: no weight changes, so the out-edge view holds the stepper's factors
    // and flags beside its items, and the sums of the sources that lost edges (gated ones
    // among them) are computed from there.
    let mut off = c.clone();
    off.transfer.plasticity = false;
    let params_off = off.validate().expect("valid");
    same_for_every_policy("churn without plasticity on 1,500 nodes", &params_off, 40, Some(&edits));
    // Without gated or plastic edges no source's sums change from step to step, so after 16
    // quiet steps the stepper frees its per-row flags too; a burst brings them back.
    c.graph.build_kind_mix.gated = 0.0;
    c.graph.build_kind_mix.plastic = 0.0;
    let params = c.clone().validate().expect("valid");
    let plain = [EdgeKind::Excitatory, EdgeKind::Inhibitory];
    let rare = |s: &Simulation| {
        if s.current_step() % 20 >= 18 {
            random_edits_of(s, 150, &plain)
        } else {
            Proposals::default()
        }
    };
    same_for_every_policy("rare bursts of plain churn on 1,500 nodes", &params, 60, Some(&rare));
    // Excitatory edges only: every target is plain, and the compressed-row path keeps no
    // source pair until a burst adds edges of the other kinds.
    c.graph.build_kind_mix.inhibitory = 0.0;
    let params = c.validate().expect("valid");
    let mixed = |s: &Simulation| if s.current_step() % 20 >= 18 { random_edits(s, 150) } else { Proposals::default() };
    same_for_every_policy("bursts of every kind on plain targets", &params, 45, Some(&mixed));
}

#[test]
fn the_configured_fraction_decides_when_the_store_compacts() {
    // `run.max_tombstone_fraction` reaches the store of a simulation built from the
    // configuration: at 1 every removed row waits, at 0 none does.
    let mut c = propagation(500, 8, [8, 8]);
    c.growth.max_new_edges_per_step = 40;
    for (fraction, waiting) in [(1.0f32, 40), (0.0, 0)] {
        c.run.max_tombstone_fraction = fraction;
        let mut s = Simulation::new(c.clone().validate().expect("valid"), Some(1), &|_| {}).expect("builds");
        s.step().expect("step");
        s.queue_edits(random_edits(&s, 40));
        s.step().expect("step");
        assert_eq!(s.store().edges().tombstones(), waiting, "run.max_tombstone_fraction = {fraction}");
    }
}
