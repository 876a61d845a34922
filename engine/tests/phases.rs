//! Contract: each phase of MODEL.md section 5 computes the hand-derived energies on tiny
//! hand-built graphs (every edge kind, both direction rules, gates, the outflow cap, the
//! sensory burn, plasticity, upkeep, connection gain, workspace relaxation, clamping, death,
//! spawn, child wiring, the admission and cull rules, and the summation order).

mod common;

use common::*;
use neuroflux::config::DirectionRule;
use neuroflux::growth::{propose, EdgeProposal, GraphView, Proposals};
use neuroflux::model::edits::apply_edits;
use neuroflux::model::rules::{admit, Admission, Reject};
use neuroflux::store::{Direction, EdgeId, EdgeKind, Fertility, NodeId, NodeKind, NodeRecord};

use NodeKind::{Dynamic as D, Sensory as S, Workspace as W};

#[test]
fn excitatory_edge_moves_energy_with_loss() {
    let mut s = sim(quiet(|_| {}), &[node(D, 10.0), node(D, 5.0)], &[exc(0, 1, 0.5)]);
    // f = 0.5 * 10 = 5, q = 0.5: paid 2.5, received 0.8 * 5 * 0.5 = 2.0
    assert_eq!(step_energies(&mut s, &[]), vec![7.5, 7.0]);
}

#[test]
fn inhibitory_edge_drains_target_and_source_pays_nothing() {
    let mut s = sim(
        quiet(|_| {}),
        &[node(D, 10.0), node(D, 5.0)],
        &[edge(0, 1, EdgeKind::Inhibitory, -0.5, Direction::FreeFlow)],
    );
    assert_eq!(step_energies(&mut s, &[]), vec![10.0, 3.0]);
}

#[test]
fn gated_edge_conducts_only_at_or_above_its_gate() {
    for (gate, want) in [(12.0, vec![10.0, 5.0]), (10.0, vec![7.5, 7.0])] {
        let mut e = edge(0, 1, EdgeKind::Gated, 0.5, Direction::FreeFlow);
        e.gate = gate;
        let mut s = sim(quiet(|_| {}), &[node(D, 10.0), node(D, 5.0)], &[e]);
        assert_eq!(step_energies(&mut s, &[]), want, "gate {gate}");
    }
}

#[test]
fn direction_by_kind() {
    let p = quiet(|c| sensory_row(c, 1));
    // 0: sensory (input 0.5 -> (0.5 * 2 + 1) = 2), 1..3 dynamic, 4 workspace
    let nodes = [node(S, 0.0), node(D, 0.0), node(D, 10.0), node(D, 0.0), node(W, 5.0)];
    let edges = [
        edge(0, 1, EdgeKind::Excitatory, 0.5, Direction::OneWayOut), // sensory source: conducts
        edge(2, 3, EdgeKind::Excitatory, 0.5, Direction::OneWayOut), // dynamic source: never
        edge(2, 4, EdgeKind::Excitatory, 0.5, Direction::OneWayIn),  // into workspace: conducts
        edge(2, 1, EdgeKind::Excitatory, 0.5, Direction::OneWayIn),  // into dynamic: never
    ];
    let mut s = sim(p, &nodes, &edges);
    let e = step_energies(&mut s, &[0.5]);
    assert_eq!(e[0], 2.0, "sensory holds its input");
    assert_eq!(e[1], 0.4, "f = 0.5 * 2 = 1, received 0.8 * 1 * 0.5");
    assert_eq!(e[2], 7.5, "only the OneWayIn edge into the workspace node is paid");
    assert_eq!(e[3], 0.0);
    let w = 7.0f32;
    assert_eq!(e[4], w + 0.1 * (50.0 - w), "received 2.0, then relaxed");
}

#[test]
fn direction_by_lineage() {
    let p = quiet(|c| c.transfer.direction_rule = DirectionRule::ByLineage);
    let mut child = node(D, 0.0);
    child.parent = Some(NodeId(0));
    let nodes = [node(D, 10.0), child, node(D, 0.0)];
    let conduct = [
        edge(0, 1, EdgeKind::Excitatory, 0.5, Direction::OneWayOut), // to own child: conducts
        edge(0, 2, EdgeKind::Excitatory, 0.5, Direction::OneWayIn),  // to a non-child: conducts
    ];
    let mut s = sim(p.clone(), &nodes, &conduct);
    assert_eq!(step_energies(&mut s, &[]), vec![5.0, 2.0, 2.0]);
    let blocked = [
        edge(0, 1, EdgeKind::Excitatory, 0.5, Direction::OneWayIn),
        edge(0, 2, EdgeKind::Excitatory, 0.5, Direction::OneWayOut),
    ];
    let mut s = sim(p, &nodes, &blocked);
    assert_eq!(step_energies(&mut s, &[]), vec![10.0, 0.0, 0.0]);
}

#[test]
fn outflow_cap_scales_every_effect() {
    for (mof, src, each) in [(1.0f32, 0.0f32, 2.0f32), (0.5, 5.0, 1.0)] {
        let p = quiet(|c| c.transfer.max_outflow_fraction = mof);
        let nodes = [node(D, 10.0), node(D, 0.0), node(D, 0.0), node(D, 0.0), node(D, 0.0)];
        let edges: Vec<_> = (1..5).map(|t| exc(0, t, 1.0)).collect();
        let mut s = sim(p, &nodes, &edges);
        // f = 5, cost = 4 * 5 = 20 > limit = mof * 10: a = (limit / 20) * 5
        let e = step_energies(&mut s, &[]);
        assert_eq!(e[0], src, "mof {mof}");
        assert!(e[1..].iter().all(|&x| x == each), "mof {mof}: {e:?}");
    }
}

#[test]
fn edges_into_sensory_nodes_burn() {
    let p = quiet(|c| sensory_row(c, 1));
    let mut s = sim(p, &[node(S, 0.0), node(D, 10.0)], &[edge(1, 0, EdgeKind::Excitatory, 0.5, Direction::OneWayIn)]);
    let m = s.step_with_frame(&[0.5]).expect("step");
    let e = s.store().nodes().energy().to_vec();
    assert_eq!(e, vec![2.0, 8.75], "burn = 0.5 * (5 * 0.5) whatever the direction");
    assert_eq!(m.ledger.burned, 1.25);
    assert_eq!(m.ledger.received, 0.0);
}

#[test]
fn plasticity_updates_conducting_plastic_edges() {
    let p = quiet(|c| c.transfer.plasticity = true);
    let mut e = edge(0, 1, EdgeKind::Plastic, 0.5, Direction::FreeFlow);
    e.plastic_lr = 0.1;
    let mut s = sim(p, &[node(D, 100.0), node(D, 0.0)], &[e]);
    step_energies(&mut s, &[]);
    // in_B = 0.8 * 50 * 0.5 = 20
    let want = 0.5f32 + (0.1f32 * (100.0 / 244.0)) * (20.0f32 / 244.0);
    assert_eq!(s.store().edges().weights()[0], want);
    // a plastic edge from an inactive source does not learn
    let mut s2 = sim(quiet(|c| c.transfer.plasticity = true), &[node(D, 0.0), node(D, 5.0)], &[e]);
    step_energies(&mut s2, &[]);
    assert_eq!(s2.store().edges().weights()[0], 0.5);
}

#[test]
fn upkeep_and_connection_gain() {
    let p = quiet(|c| {
        c.transfer.transfer_capacity = 0.0;
        c.energy.maintenance_per_node = 0.05;
        c.energy.maintenance_per_out_edge = 0.122;
    });
    let mut s = sim(p, &[node(D, 10.0), node(D, 10.0), node(D, 10.0)], &[exc(0, 1, 0.1), exc(0, 2, 0.1)]);
    let e = step_energies(&mut s, &[]);
    assert_eq!(e, vec![10.0 - (0.05 + 0.122 * 2.0), 10.0 - 0.05, 10.0 - 0.05]);

    let p = quiet(|c| {
        c.transfer.transfer_capacity = 0.0;
        c.energy.connection_gain = true;
    });
    let mut a = node(D, 10.0);
    a.gain_class = 1;
    let mut s = sim(p, &[a, node(D, 10.0), node(D, 10.0)], &[exc(0, 1, 0.1), exc(0, 2, 0.1)]);
    assert_eq!(step_energies(&mut s, &[])[0], 10.0 + 2.0 * 0.1);
}

#[test]
fn workspace_relaxes_only_above_min_active() {
    let mut s = sim(quiet(|_| {}), &[node(W, 20.0), node(W, 0.05)], &[]);
    assert_eq!(step_energies(&mut s, &[]), vec![23.0, 0.05]);
}

#[test]
fn clamping_at_cap_and_floor_is_accounted() {
    let nodes = [node(D, 100.0), node(D, 240.0), node(W, 1.0)];
    let edges = [exc(0, 1, 1.0), edge(0, 2, EdgeKind::Inhibitory, -1.0, Direction::FreeFlow)];
    let mut s = sim(quiet(|c| c.transfer.transmission_loss = 0.8), &nodes, &edges);
    let m = s.step_with_frame(&[]).expect("step");
    // f = 50, cost 100 <= 100: a = 50; each target gets 0.8 * 50 = 40
    let e = s.store().nodes().energy().to_vec();
    assert_eq!(e, vec![50.0, 244.0, -10.0]);
    assert_eq!(m.ledger.clamp_cap, 36.0);
    assert_eq!(m.ledger.clamp_floor, 29.0);
    let (b, a) = s.last_totals();
    m.ledger.check(b, a).expect("balanced");
}

#[test]
fn death_removes_node_edges_and_clears_children_parents() {
    let p = quiet(|c| {
        c.energy.maintenance_per_node = 0.2;
        c.transfer.transfer_capacity = 0.0;
    });
    let mut child = node(D, 5.0);
    child.parent = Some(NodeId(0));
    let nodes = [node(D, -9.9), node(D, 5.0), node(D, 5.0), child];
    let edges = [exc(0, 1, 0.1), exc(2, 0, 0.1), exc(2, 1, 0.1)];
    let mut s = sim(p, &nodes, &edges);
    let m = s.step_with_frame(&[]).expect("step");
    assert_eq!(m.deaths, 1);
    assert_eq!(m.ledger.dead, -10.0);
    assert!(s.store().nodes().row_of(NodeId(0)).is_none());
    assert_eq!(s.store().edges().count(), 1, "both edges of the dead node are gone");
    assert_eq!(s.store().edges().record(s.store().nodes(), 0).src.0, 2);
    let r = s.store().nodes().row_of(NodeId(3)).expect("child lives");
    assert_eq!(s.store().nodes().record(r).parent, None);
    s.check_invariants().expect("invariants");
    let (b, a) = s.last_totals();
    m.ledger.check(b, a).expect("balanced");
}

fn parent(e: f32, fert: Fertility) -> neuroflux::store::NodeRecord {
    let mut n = node(D, e);
    n.fertility = fert.code();
    n
}

#[test]
fn spawn_serves_by_energy_then_id_with_fertility() {
    let p = quiet(|c| c.spawn.max_births_per_step = 3);
    let nodes = [
        parent(50.0, Fertility::Fertile),
        parent(60.0, Fertility::Normal),
        parent(50.0, Fertility::Normal),
        parent(100.0, Fertility::Sterile),
    ];
    let mut s = sim(p, &nodes, &[]);
    let m = s.step_with_frame(&[]).expect("step");
    assert_eq!(m.births, 3);
    let n = s.store().nodes();
    assert_eq!(n.energy()[..4], [50.0 - 19.52 * 2.0, 60.0 - 19.52, 50.0, 100.0]);
    let parents: Vec<_> = (4..7).map(|r| n.record(r).parent).collect();
    assert_eq!(parents, vec![Some(NodeId(1)), Some(NodeId(0)), Some(NodeId(0))], "service order: 60 first, then id 0");
    assert!((4..7).all(|r| n.energy()[r] == 0.5 * 19.52 && n.kind_of(r) == D && n.born_step(r) == 0));
    let store = s.store().compacted();
    let e = store.edges();
    let pairs: Vec<_> =
        (0..e.rows()).map(|i| (e.record(store.nodes(), i).src.0, e.record(store.nodes(), i).dst.0)).collect();
    assert_eq!(pairs, vec![(1, 4), (0, 5), (0, 6)], "one parent edge per child, in service order");
    assert!((0..e.rows()).all(|i| e.kind_of(i) == EdgeKind::Excitatory && e.direction_of(i) == Direction::FreeFlow));
    s.check_invariants().expect("invariants");
    let (b, a) = s.last_totals();
    m.ledger.check(b, a).expect("balanced");
}

#[test]
fn spawn_partial_service_at_the_cap() {
    let p = quiet(|c| c.spawn.max_births_per_step = 2);
    let mut s = sim(p, &[parent(50.0, Fertility::Fertile), parent(60.0, Fertility::Normal)], &[]);
    let m = s.step_with_frame(&[]).expect("step");
    assert_eq!(m.births, 2);
    assert_eq!(
        s.store().nodes().energy()[..2],
        [50.0 - 19.52, 60.0 - 19.52],
        "the last served pays only for what it got"
    );
    let p = quiet(|c| {
        c.spawn.max_births_per_step = 80;
        c.graph.max_nodes = 3;
    });
    let mut s = sim(p, &[parent(50.0, Fertility::Fertile), parent(60.0, Fertility::Normal)], &[]);
    assert_eq!(s.step_with_frame(&[]).expect("step").births, 1, "max_nodes caps births");
}

#[test]
fn spawn_needs_energy_a_free_slot_and_wires_while_slots_remain() {
    let p = quiet(|c| c.spawn.max_births_per_step = 80);
    let mut full = parent(100.0, Fertility::Normal);
    full.max_out_degree = 1;
    let mut one_slot = parent(100.0, Fertility::Fertile);
    one_slot.max_out_degree = 1;
    let nodes = [full, one_slot, parent(20.0, Fertility::Fertile), parent(30.0, Fertility::Fertile), node(D, 1.0)];
    let mut s = sim(p, &nodes, &[exc(0, 4, 0.1)]);
    let m = s.step_with_frame(&[]).expect("step");
    // node 0 has no free slot; node 2 is not above the threshold; node 3 wants
    // min(2, floor(30 / 19.52)) = 1; node 1 gets 2 children but wires only the first.
    assert_eq!(m.births, 3);
    let n = s.store().nodes();
    let parents: Vec<_> = (5..8).map(|r| n.record(r).parent.map(|p| p.0)).collect();
    assert_eq!(parents, vec![Some(1), Some(1), Some(3)]);
    let store = s.store().compacted();
    let e = store.edges();
    let pairs: Vec<_> =
        (0..e.rows()).map(|i| (e.record(store.nodes(), i).src.0, e.record(store.nodes(), i).dst.0)).collect();
    assert_eq!(pairs, vec![(0, 4), (1, 5), (3, 7)]);
    s.check_invariants().expect("invariants");
}

fn adm(src: NodeKind, dst: NodeKind) -> Admission {
    Admission {
        src_kind: src,
        dst_kind: dst,
        self_loop: false,
        out_degree: 0,
        max_out_degree: 5,
        edge_count: 0,
        duplicate: false,
        has_out_to_workspace: false,
        has_out_to_sensory: false,
    }
}

#[test]
fn growth_admission_rules() {
    let p = quiet(|c| c.graph.max_edges = 10);
    assert_eq!(admit(&adm(D, D), &p), Ok(()));
    assert_eq!(admit(&Admission { self_loop: true, ..adm(D, D) }, &p), Err(Reject::SelfLoop));
    for (s, d) in [(W, D), (S, S), (W, W), (S, W)] {
        assert_eq!(admit(&adm(s, d), &p), Err(Reject::Kinds), "{s:?} -> {d:?}");
    }
    assert_eq!(admit(&Admission { out_degree: 5, ..adm(D, D) }, &p), Err(Reject::OutDegree));
    assert_eq!(admit(&Admission { edge_count: 10, ..adm(D, D) }, &p), Err(Reject::Capacity));
    assert_eq!(admit(&Admission { duplicate: true, ..adm(D, D) }, &p), Err(Reject::Duplicate));
    let dup_ok = quiet(|c| c.graph.allow_duplicate_edges = true);
    assert_eq!(admit(&Admission { duplicate: true, ..adm(D, D) }, &dup_ok), Ok(()));
    assert_eq!(admit(&Admission { has_out_to_sensory: true, ..adm(D, W) }, &p), Err(Reject::WorkspaceAndSensory));
    assert_eq!(admit(&Admission { has_out_to_workspace: true, ..adm(D, S) }, &p), Err(Reject::WorkspaceAndSensory));
    assert_eq!(admit(&Admission { has_out_to_workspace: true, ..adm(D, D) }, &p), Ok(()));
}

fn add(src: u64, dst: u64) -> EdgeProposal {
    EdgeProposal {
        src: NodeId(src),
        dst: NodeId(dst),
        kind: EdgeKind::Excitatory,
        weight: 0.1,
        direction: Direction::FreeFlow,
        gate: 0.0,
        plastic_lr: 0.0,
    }
}

#[test]
fn edits_are_revalidated_when_applied() {
    let p = quiet(|c| c.growth.max_new_edges_per_step = 4);
    let mut capped = node(D, 1.0);
    capped.max_out_degree = 1;
    // 0..2 dynamic, 3 capped dynamic, 4 sensory, 5 workspace
    let nodes = [node(D, 1.0), node(D, 1.0), node(D, 1.0), capped, node(S, 1.0), node(W, 1.0)];
    let edges = [
        edge(0, 1, EdgeKind::Excitatory, 0.1, Direction::OneWayOut), // id 0: never conducts -> cullable
        exc(0, 2, 0.1),                                              // id 1: fine -> cull skipped
        exc(3, 0, 0.1),                                              // id 2: fills node 3
        exc(1, 5, 0.1),                                              // id 3: 1 -> workspace
    ];
    let mut s = sim(p.clone(), &nodes, &edges);
    let props = Proposals {
        from_step: 0,
        culls: vec![EdgeId(0), EdgeId(1), EdgeId(99)],
        removes: vec![],
        adds: vec![
            add(0, 1),  // re-adds the pair culled just before: admitted
            add(0, 2),  // duplicate: skipped
            add(3, 1),  // node 3 at its cap: skipped
            add(42, 1), // missing endpoint: skipped
            add(4, 5),  // sensory -> workspace: skipped
            add(1, 4),  // 1 has an edge to a workspace node: skipped
            add(2, 0),  // admitted
            add(2, 1),  // admitted
            add(1, 0),  // admitted (the 4th)
            add(1, 2),  // past max_new_edges_per_step: skipped
        ],
        made: 0,
        dropped: 0,
        rows: Default::default(),
    };
    let c = apply_edits(s.store_mut(), &p, &props, 7);
    assert_eq!((c.culled, c.added, c.skipped), (1, 4, 2 + 6));
    let store = s.store().compacted();
    let e = store.edges();
    let got: Vec<_> = (0..e.rows())
        .map(|i| (e.id(i), e.record(store.nodes(), i).src.0, e.record(store.nodes(), i).dst.0, e.born_step(i)))
        .collect();
    assert_eq!(
        got,
        vec![(1, 0, 2, 0), (2, 3, 0, 0), (3, 1, 5, 0), (4, 0, 1, 7), (5, 2, 0, 7), (6, 2, 1, 7), (7, 1, 0, 7)]
    );
    s.check_invariants().expect("invariants");
}

#[test]
fn queued_removals_need_only_their_edge_and_additions_see_earlier_ones() {
    let p = quiet(|c| c.growth.max_new_edges_per_step = 100);
    let mut capped = node(D, 1.0);
    capped.max_out_degree = 2;
    // 0, 1 dynamic, 2 capped dynamic (cap 2), 3 workspace
    let nodes = [node(D, 1.0), node(D, 1.0), capped, node(W, 1.0)];
    let edges = [exc(0, 1, 0.1), exc(2, 0, 0.1), exc(1, 0, 0.1)]; // ids 0, 1, 2: all conduct
                                                                  // Queued removals are part of the state (its hash).
    let hash_with = |r: u64| {
        let mut x = sim(p.clone(), &nodes, &edges);
        x.queue_edits(Proposals { removes: vec![EdgeId(r)], ..Proposals::default() });
        x.state_hash()
    };
    assert_ne!(hash_with(0), hash_with(1));
    let mut s = sim(p, &nodes, &edges);
    s.queue_edits(Proposals {
        removes: vec![EdgeId(2), EdgeId(0), EdgeId(0), EdgeId(77)], // one duplicate, one missing
        culls: vec![EdgeId(1)],                                     // conducts: not culled
        adds: vec![
            add(2, 1), // 2 reaches its cap of 2
            add(2, 3), // 2 over its cap: skipped
            add(0, 1), // the pair removed just before: admitted
            add(0, 1), // now a duplicate of the addition before it: skipped
            add(1, 3), // admitted
        ],
        ..Proposals::default()
    });
    let m = s.step().expect("step");
    assert_eq!((m.edges_culled, m.edges_added, m.edits_skipped), (2, 3, 2 + 1 + 2));
    let store = s.store().compacted();
    let e = store.edges();
    let pairs: Vec<_> =
        (0..e.rows()).map(|i| (e.id(i), e.record(store.nodes(), i).src.0, e.record(store.nodes(), i).dst.0)).collect();
    assert_eq!(pairs, vec![(1, 2, 0), (3, 2, 1), (4, 0, 1), (5, 1, 3)]);
    s.check_invariants().expect("invariants");
}

#[test]
fn a_source_that_lost_edges_is_checked_by_its_targets_once_the_view_holds_them() {
    let p = quiet(|c| c.growth.max_new_edges_per_step = 100);
    let mut capped = node(D, 1.0);
    capped.max_out_degree = 3;
    // 0 capped dynamic (cap 3), 1..5 dynamic
    let nodes = [capped, node(D, 1.0), node(D, 1.0), node(D, 1.0), node(D, 1.0), node(D, 1.0)];
    let edges = [exc(0, 1, 0.1), exc(0, 2, 0.1), exc(0, 3, 0.1), exc(4, 5, 0.1)]; // ids 0..3
    let mut s = sim(p, &nodes, &edges);
    // Two steps of edits elsewhere: the out-edge view then follows a changing graph and
    // holds its targets, which the admission scans read.
    for d in [1, 2] {
        s.queue_edits(Proposals { adds: vec![add(4, d)], ..Proposals::default() });
        let m = s.step().expect("step");
        assert_eq!(m.edges_added, 1);
    }
    s.store_mut().refresh_out_edges();
    assert!(s.store().out_edges().ends(0).is_some(), "the view should hold the targets by now");
    s.queue_edits(Proposals {
        removes: vec![EdgeId(0)], // 0 -> 1
        adds: vec![
            add(0, 1), // the pair removed just before: admitted, 0 back at its cap of 3
            add(0, 2), // a live edge of a source that lost one: a duplicate, skipped
            add(0, 4), // over the cap: skipped
        ],
        ..Proposals::default()
    });
    let m = s.step().expect("step");
    assert_eq!((m.edges_culled, m.edges_added, m.edits_skipped), (1, 1, 2));
    let store = s.store().compacted();
    let e = store.edges();
    let pairs: Vec<_> =
        (0..e.rows()).map(|i| (e.record(store.nodes(), i).src.0, e.record(store.nodes(), i).dst.0)).collect();
    assert_eq!(pairs, vec![(0, 2), (0, 3), (4, 5), (4, 1), (4, 2), (0, 1)]);
    s.check_invariants().expect("invariants");
}

#[test]
fn culls_are_proposed_in_ascending_id_order_up_to_the_limit() {
    let p = quiet(|c| {
        c.growth.cull_every = 1;
        c.growth.cull_min_edges_floor = 0;
        c.growth.cull_min_edges_per_dynamic = 0.0;
        c.growth.max_culled_edges_per_step = 2;
    });
    let mut weak = edge(1, 2, EdgeKind::Plastic, 0.001, Direction::FreeFlow);
    weak.plastic_lr = 0.01;
    let edges = [
        exc(0, 1, 0.1),                                              // 0: fine
        edge(0, 2, EdgeKind::Excitatory, 0.1, Direction::OneWayIn),  // 1: never conducts
        weak,                                                        // 2: |w| < min_abs_weight
        edge(2, 0, EdgeKind::Excitatory, 0.1, Direction::OneWayOut), // 3: never conducts (over the limit)
        edge(2, 3, EdgeKind::Excitatory, 0.1, Direction::OneWayOut), // 4: into sensory: never culled for direction
    ];
    let mut s = sim(p.clone(), &[node(D, 1.0), node(D, 1.0), node(D, 1.0), node(S, 1.0)], &edges);
    s.store_mut().refresh_topology();
    let st = s.store();
    let props = propose(GraphView { nodes: st.nodes(), edges: st.edges(), out: &st.topology().out }, &p, 3);
    assert_eq!(props.culls, vec![EdgeId(1), EdgeId(2)]);
    let p4 = quiet(|c| {
        c.growth.cull_every = 4;
        c.growth.max_culled_edges_per_step = 2;
    });
    let none = propose(GraphView { nodes: st.nodes(), edges: st.edges(), out: &st.topology().out }, &p4, 3);
    assert!(none.culls.is_empty(), "no cull round at a step that is not a multiple of cull_every");
}

#[test]
fn per_node_sums_follow_ascending_edge_ids() {
    // Received amounts 1e8, 1 and -1e8 (loss 1): in id order (1e8 + 1) - 1e8 = 0 in f32,
    // while 1e8 - 1e8 + 1 would give 1.
    let p = quiet(|c| {
        c.energy.energy_cap = 1e9;
        c.transfer.transmission_loss = 1.0;
    });
    let nodes = [node(D, 2e8), node(D, 2.0), node(D, 2e8), node(D, 0.0)];
    let inh = edge(2, 3, EdgeKind::Inhibitory, -1.0, Direction::FreeFlow);
    let mut s = sim(p.clone(), &nodes, &[exc(0, 3, 1.0), exc(1, 3, 1.0), inh]);
    assert_eq!(step_energies(&mut s, &[])[3], 0.0);
    let mut s = sim(p, &nodes, &[exc(0, 3, 1.0), inh, exc(1, 3, 1.0)]);
    assert_eq!(step_energies(&mut s, &[])[3], 1.0);
}

#[test]
fn sensory_nodes_take_their_input_wherever_their_rows_lie() {
    // Sensory nodes first (as the build lays them out), and one after a dynamic node.
    let p = quiet(|c| sensory_row(c, 3));
    let at = |binding| NodeRecord { binding, ..node(S, 0.0) };
    // Input `(p * 2 + 1)` (gain 2, bias 1, no warm-up).
    let mut s = sim(p.clone(), &[at(0), at(1), at(2), node(D, 5.0)], &[]);
    assert_eq!(step_energies(&mut s, &[0.25, 0.5, 0.75]), vec![1.5, 2.0, 2.5, 5.0]);
    let mut s = sim(p, &[at(0), at(1), node(D, 5.0), at(2)], &[]);
    assert_eq!(step_energies(&mut s, &[0.25, 0.5, 0.75]), vec![1.5, 2.0, 5.0, 2.5]);
}

#[test]
fn bad_frames_are_errors() {
    let p = quiet(|c| sensory_row(c, 2));
    let mut s = sim(p, &[node(S, 0.0), node(S, 0.0)], &[]);
    let e = s.step_with_frame(&[0.5]).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(e, "input frame at step 0 has 1 values, expected 2 (sensory grid 2x1)");
    let e = s.step_with_frame(&[0.5, 1.5]).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(e, "input frame at step 0: value 1.5 at pixel 1 is outside [0, 1]");
}

#[test]
fn a_non_finite_energy_is_an_error_naming_its_nodes() {
    // An infinite source pays an infinite amount: its own energy becomes inf - inf (NaN), and
    // the NaN is not clamped. Node ids 0 and 2 are finite (2 receives a capped amount).
    let nodes = [node(D, 1.0), node(D, f32::INFINITY), node(D, 1.0), node(D, f32::NAN)];
    let mut s = sim(quiet(|_| {}), &nodes, &[exc(1, 2, 0.5)]);
    let e = s.step_with_frame(&[]).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(e, "non-finite energy after step 0 at nodes [1, 3]");
}

/// The table form of the cull condition (used by the cull scan and the edit applier) agrees
/// with the rule itself on every combination of edge kind, direction, endpoint kinds,
/// lineage and weight, under both direction rules.
#[test]
fn cull_table_agrees_with_the_cull_condition() {
    use neuroflux::model::rules::{cull_condition, CullRule};
    use neuroflux::store::NodeRecord;
    for rule in [DirectionRule::ByKind, DirectionRule::ByLineage] {
        let p = quiet(|c| {
            c.transfer.direction_rule = rule;
            c.growth.min_abs_weight = 0.05;
        });
        // Node 0 of each kind is a parent; node 1 of each kind is its child.
        let mut store = neuroflux::store::Store::new(true);
        let mut nodes = Vec::new();
        for &k in NodeKind::ALL {
            nodes.push(NodeRecord { max_out_degree: 1000, ..node(k, 1.0) });
        }
        store.add_nodes(&nodes);
        let children: Vec<_> = NodeKind::ALL
            .iter()
            .enumerate()
            .map(|(i, &k)| NodeRecord { parent: Some(NodeId(i as u64)), max_out_degree: 1000, ..node(k, 1.0) })
            .collect();
        store.add_nodes(&children);
        let mut edges = Vec::new();
        for s in 0..6u64 {
            for d in 0..6u64 {
                if s == d {
                    continue;
                }
                for &kind in EdgeKind::ALL {
                    for &dir in Direction::ALL {
                        for w in [0.01f32, -0.01, 0.2, -0.2] {
                            edges.push(edge(s, d, kind, w, dir));
                        }
                    }
                }
            }
        }
        store.add_edges(&edges).expect("edges join existing nodes");
        let table = CullRule::new(&p);
        let (n, e) = (store.nodes(), store.edges());
        let mut culled = 0;
        for r in 0..e.rows() {
            let (s, d) = (e.src_rows()[r] as usize, e.dst_rows()[r] as usize);
            let want = cull_condition(
                rule,
                p.growth.min_abs_weight,
                e.kind_of(r),
                e.direction_of(r),
                e.weights()[r],
                n.kind_of(s),
                n.kind_of(d),
                n.ids()[s],
                n.parents()[d],
            );
            assert_eq!(table.edge_row(n, e, r), want, "{rule:?}: edge {:?}", e.record(n, r));
            culled += usize::from(want);
        }
        assert!(culled > 0 && culled < e.rows(), "both outcomes occur ({culled} of {})", e.rows());
    }
}

#[test]
fn the_stepper_runs_the_work_beside_its_step_once_before_deaths() {
    use neuroflux::step::{CpuStepper, StepInput, Stepper, TransferPath};
    // Node 1 dies in this step (its upkeep takes it to the floor, -10).
    let params = quiet(|c| c.energy.maintenance_per_node = 0.2);
    for path in [TransferPath::Stream, TransferPath::Rows] {
        let mut store = neuroflux::store::Store::new(false);
        store.add_nodes(&[node(D, 10.0), node(D, -9.9), node(D, 5.0)]);
        store.add_edges(&[exc(0, 2, 0.5), exc(1, 2, 0.5)]).expect("edges join nodes");
        store.refresh_topology();
        let mut stepper = CpuStepper::new(2).expect("a thread pool should start").with_path(path);
        let rng = neuroflux::rng::Rng::new(0);
        let mut seen = Vec::new();
        let mut beside = |s: &neuroflux::store::Store| seen.push(s.nodes().len());
        let rep = stepper
            .step(StepInput {
                store: &mut store,
                params: &params,
                rng: &rng,
                step: 0,
                frame: &[],
                edits: None,
                beside: Some(&mut beside),
            })
            .expect("the step should succeed");
        assert_eq!((rep.deaths, store.nodes().len()), (1, 2), "{path:?}");
        assert_eq!(seen, vec![3], "{path:?}: run once, on the three nodes before the death");
    }
}
