//! Contract: random sequences (200+ operations, 256 cases) of adding and removing nodes and
//! edges, applying edits and stepping keep the store equal to a naive model (maps keyed by
//! id) and keep every invariant after every operation, whether removed edge rows are
//! compacted at once, in batches or only with node removals.

mod common;

use std::collections::BTreeMap;

use common::*;
use neuroflux::growth::{EdgeProposal, Proposals};
use neuroflux::model::edits::{apply_edits, apply_edits_with};
use neuroflux::model::pairs::PairFilter;
use neuroflux::model::rules::{admit, cull_condition, Admission};
use neuroflux::store::{Direction, EdgeId, EdgeKind, NodeId, NodeKind, NO_PARENT};
use neuroflux::{Params, Simulation};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    AddNode(u8, f32, u16),
    AddEdges(Vec<(u16, u16, u8)>),
    RemoveNodes(Vec<u16>),
    RemoveEdges(Vec<u16>),
    Edits(Vec<u16>, Vec<(u16, u16, u8)>),
    Step,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0.0f32..60.0, 0u16..6).prop_map(|(k, e, m)| Op::AddNode(k, e, m)),
        4 => prop::collection::vec((any::<u16>(), any::<u16>(), 0u8..6), 1..6).prop_map(Op::AddEdges),
        1 => prop::collection::vec(any::<u16>(), 1..3).prop_map(Op::RemoveNodes),
        1 => prop::collection::vec(any::<u16>(), 1..4).prop_map(Op::RemoveEdges),
        2 => (prop::collection::vec(any::<u16>(), 0..4), prop::collection::vec((any::<u16>(), any::<u16>(), 0u8..6), 0..5)).prop_map(|(c, a)| Op::Edits(c, a)),
        2 => Just(Op::Step),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct N {
    kind: NodeKind,
    parent: u64,
    max_out: u16,
}
#[derive(Debug, Clone, Copy, PartialEq)]
struct E {
    src: u64,
    dst: u64,
    kind: EdgeKind,
    dir: Direction,
    w: f32,
}

#[derive(Default)]
struct Naive {
    nodes: BTreeMap<u64, N>,
    edges: BTreeMap<u64, E>,
}

impl Naive {
    fn out(&self, s: u64) -> impl Iterator<Item = &E> {
        self.edges.values().filter(move |e| e.src == s)
    }
    fn pick_node(&self, x: u16) -> Option<u64> {
        (!self.nodes.is_empty()).then(|| *self.nodes.keys().nth(x as usize % self.nodes.len()).expect("index in range"))
    }
    fn pick_edge(&self, x: u16) -> Option<u64> {
        (!self.edges.is_empty()).then(|| *self.edges.keys().nth(x as usize % self.edges.len()).expect("index in range"))
    }
}

fn kind_dir(x: u8) -> (EdgeKind, Direction, f32) {
    match x {
        0 => (EdgeKind::Excitatory, Direction::FreeFlow, 0.2),
        1 => (EdgeKind::Inhibitory, Direction::FreeFlow, -0.2),
        2 => (EdgeKind::Excitatory, Direction::OneWayOut, 0.2),
        3 => (EdgeKind::Excitatory, Direction::OneWayIn, 0.2),
        4 => (EdgeKind::Plastic, Direction::FreeFlow, 0.001),
        _ => (EdgeKind::Plastic, Direction::FreeFlow, -0.5),
    }
}

fn params() -> Params {
    quiet(|c| {
        sensory_row(c, 4);
        c.graph.max_edges = 60;
        c.energy.maintenance_per_node = 3.0;
        c.spawn.max_births_per_step = 3;
        c.transfer.plasticity = true;
        c.growth.max_new_edges_per_step = 3;
    })
}

fn compare(s: &Simulation, m: &Naive) -> Result<(), TestCaseError> {
    s.store().check_invariants().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let n = s.store().nodes();
    prop_assert_eq!(n.ids().to_vec(), m.nodes.keys().copied().collect::<Vec<_>>());
    for (r, (id, x)) in m.nodes.iter().enumerate() {
        prop_assert_eq!(n.ids()[r], *id);
        prop_assert_eq!(n.kind_of(r), x.kind);
        prop_assert_eq!(n.parents()[r], x.parent);
    }
    let e = s.store().edges();
    // The live rows (tombstoned ones wait for compaction), in id order.
    let live: Vec<usize> = (0..e.rows()).filter(|&r| e.is_live(r)).collect();
    prop_assert_eq!(live.len(), e.count());
    prop_assert_eq!(live.iter().map(|&r| e.id(r)).collect::<Vec<_>>(), m.edges.keys().copied().collect::<Vec<_>>());
    for (&r, x) in live.iter().zip(m.edges.values()) {
        let rec = e.record(s.store().nodes(), r);
        prop_assert_eq!((rec.src.0, rec.dst.0), (x.src, x.dst));
    }
    Ok(())
}

/// `pairs`: where given, edits go through [`apply_edits_with`] and this filter (which every
/// batch asks), and every live edge's pair must read as held afterwards.
fn apply(
    s: &mut Simulation,
    m: &mut Naive,
    op: &Op,
    p: &Params,
    pairs: Option<&mut PairFilter>,
) -> Result<(), TestCaseError> {
    match op {
        Op::AddNode(k, energy, max_out) => {
            let kind = NodeKind::ALL[*k as usize];
            let mut r = node(kind, *energy);
            r.max_out_degree = if kind == NodeKind::Workspace { 0 } else { *max_out };
            r.binding = (m.nodes.len() % 4) as u32;
            let id = s.store_mut().add_nodes(&[r]).0;
            m.nodes.insert(id, N { kind, parent: NO_PARENT, max_out: r.max_out_degree });
        }
        Op::AddEdges(list) => {
            let mut recs = Vec::new();
            for &(a, b, k) in list {
                let (Some(src), Some(dst)) = (m.pick_node(a), m.pick_node(b)) else { continue };
                let (kind, dir, w) = kind_dir(k);
                let deg = m.out(src).count() + recs.iter().filter(|e: &&E| e.src == src).count();
                let dup = m.out(src).any(|e| e.dst == dst) || recs.iter().any(|e| e.src == src && e.dst == dst);
                if src == dst || dup || deg >= usize::from(m.nodes[&src].max_out) {
                    continue;
                }
                recs.push(E { src, dst, kind, dir, w });
            }
            let records: Vec<_> = recs
                .iter()
                .map(|e| {
                    let mut r = edge(e.src, e.dst, e.kind, e.w, e.dir);
                    r.plastic_lr = if e.kind == EdgeKind::Plastic { 0.05 } else { 0.0 };
                    r
                })
                .collect();
            let ids = s.store_mut().add_edges(&records).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (id, e) in ids.into_iter().zip(recs) {
                m.edges.insert(id.0, e);
            }
        }
        Op::RemoveNodes(list) => {
            let ids: Vec<u64> = list.iter().filter_map(|&x| m.pick_node(x)).collect();
            let rows: Vec<usize> = ids.iter().filter_map(|&id| s.store().nodes().row_of(NodeId(id))).collect();
            s.store_mut().remove_node_rows(&rows);
            for id in &ids {
                m.nodes.remove(id);
            }
            m.edges.retain(|_, e| !ids.contains(&e.src) && !ids.contains(&e.dst));
            for x in m.nodes.values_mut() {
                if ids.contains(&x.parent) {
                    x.parent = NO_PARENT;
                }
            }
        }
        Op::RemoveEdges(list) => {
            let ids: Vec<u64> = list.iter().filter_map(|&x| m.pick_edge(x)).collect();
            let rows: Vec<usize> = ids.iter().filter_map(|&id| s.store().edges().row_of(EdgeId(id))).collect();
            s.store_mut().remove_edge_rows(&rows);
            for id in &ids {
                m.edges.remove(id);
            }
        }
        Op::Edits(culls, adds) => {
            let mut props = Proposals {
                culls: culls.iter().filter_map(|&x| m.pick_edge(x)).map(EdgeId).collect(),
                ..Proposals::default()
            };
            props.culls.push(EdgeId(1 << 40)); // never existed
            for &(a, b, k) in adds {
                let (Some(src), Some(dst)) = (m.pick_node(a), m.pick_node(b)) else { continue };
                let (kind, direction, weight) = kind_dir(k);
                props.adds.push(EdgeProposal {
                    src: NodeId(src),
                    dst: NodeId(dst),
                    kind,
                    weight,
                    direction,
                    gate: 0.0,
                    plastic_lr: 0.0,
                });
            }
            props.adds.push(EdgeProposal {
                src: NodeId(1 << 40),
                dst: NodeId(0),
                kind: EdgeKind::Excitatory,
                weight: 0.1,
                direction: Direction::FreeFlow,
                gate: 0.0,
                plastic_lr: 0.0,
            });
            // The naive expectation.
            let mut sorted = props.culls.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let mut culled = Vec::new();
            for c in &sorted {
                if let Some(e) = m.edges.get(&c.0) {
                    let (sk, dk) = (m.nodes[&e.src].kind, m.nodes[&e.dst].kind);
                    if cull_condition(
                        p.transfer.direction_rule,
                        p.growth.min_abs_weight,
                        e.kind,
                        e.dir,
                        e.w,
                        sk,
                        dk,
                        e.src,
                        m.nodes[&e.dst].parent,
                    ) {
                        culled.push(c.0);
                    }
                }
            }
            for c in &culled {
                m.edges.remove(c);
            }
            let mut added: Vec<E> = Vec::new();
            for a in &props.adds {
                if added.len() >= p.growth.max_new_edges_per_step as usize {
                    continue;
                }
                let (Some(sn), Some(dn)) = (m.nodes.get(&a.src.0), m.nodes.get(&a.dst.0)) else { continue };
                let outs: Vec<u64> = m
                    .out(a.src.0)
                    .map(|e| e.dst)
                    .chain(added.iter().filter(|e| e.src == a.src.0).map(|e| e.dst))
                    .collect();
                let q = Admission {
                    src_kind: sn.kind,
                    dst_kind: dn.kind,
                    self_loop: a.src == a.dst,
                    out_degree: outs.len() as u32,
                    max_out_degree: sn.max_out,
                    edge_count: (m.edges.len() + added.len()) as u64,
                    duplicate: outs.contains(&a.dst.0),
                    has_out_to_workspace: outs.iter().any(|t| m.nodes[t].kind == NodeKind::Workspace),
                    has_out_to_sensory: outs.iter().any(|t| m.nodes[t].kind == NodeKind::Sensory),
                };
                if admit(&q, p).is_ok() {
                    added.push(E { src: a.src.0, dst: a.dst.0, kind: a.kind, dir: a.direction, w: a.weight });
                }
            }
            let first = s.store().next_edge_id();
            let at = s.current_step();
            let c = match pairs {
                Some(f) => {
                    let c = apply_edits_with(s.store_mut(), p, &props, at, f);
                    // No edge of the store may read as absent (the filter followed it).
                    f.follow(s.store());
                    let (n, e) = (s.store().nodes(), s.store().edges());
                    for r in (0..e.rows()).filter(|&r| e.is_live(r)) {
                        let (a, b) = (n.ids()[e.src_rows()[r] as usize], n.ids()[e.dst_rows()[r] as usize]);
                        prop_assert!(f.may_hold(a, b), "edge {} ({a} -> {b}) reads as absent", e.id(r));
                    }
                    c
                }
                None => apply_edits(s.store_mut(), p, &props, at),
            };
            prop_assert_eq!(c.culled as usize, culled.len());
            prop_assert_eq!(c.added as usize, added.len());
            prop_assert_eq!(c.skipped as usize, sorted.len() - culled.len() + props.adds.len() - added.len());
            for (i, e) in added.into_iter().enumerate() {
                m.edges.insert(first + i as u64, e);
            }
        }
        Op::Step => {
            let next_node = s.store().next_node_id();
            let next_edge = s.store().next_edge_id();
            let before: Vec<u64> = m.nodes.keys().copied().collect();
            s.step_with_frame(&[0.1, 0.4, 0.7, 1.0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let n = s.store().nodes();
            let dead: Vec<u64> = before.iter().copied().filter(|id| n.row_of(NodeId(*id)).is_none()).collect();
            for id in &dead {
                prop_assert_eq!(m.nodes[id].kind, NodeKind::Dynamic, "only dynamic nodes die");
                m.nodes.remove(id);
            }
            m.edges.retain(|_, e| !dead.contains(&e.src) && !dead.contains(&e.dst));
            for x in m.nodes.values_mut() {
                if dead.contains(&x.parent) {
                    x.parent = NO_PARENT;
                }
            }
            for r in 0..n.len() {
                let id = n.ids()[r];
                if id >= next_node {
                    let rec = n.record(r);
                    prop_assert_eq!(rec.kind, NodeKind::Dynamic);
                    m.nodes.insert(
                        id,
                        N {
                            kind: rec.kind,
                            parent: rec.parent.map_or(NO_PARENT, |p| p.0),
                            max_out: rec.max_out_degree,
                        },
                    );
                }
            }
            let e = s.store().edges();
            for r in (0..e.rows()).filter(|&r| e.is_live(r)) {
                if e.id(r) >= next_edge {
                    let rec = e.record(s.store().nodes(), r);
                    prop_assert!(rec.dst.0 >= next_node, "new edges only wire new children");
                    m.edges.insert(
                        rec.id.0,
                        E { src: rec.src.0, dst: rec.dst.0, kind: rec.kind, dir: rec.direction, w: rec.weight },
                    );
                } else if let Some(x) = m.edges.get_mut(&e.id(r)) {
                    x.w = e.weights()[r]; // plasticity may have moved it
                }
            }
            s.check_invariants().map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_match_the_naive_model(
        ops in prop::collection::vec(op(), 200..260),
        tombstones in prop_oneof![Just(0.0), Just(0.3), Just(1.0)],
        filtered in any::<bool>(),
    ) {
        let p = params();
        let mut s = sim(p.clone(), &[], &[]);
        // Removed edges compacted at once, in batches, or only with node removals.
        s.store_mut().set_max_tombstone_fraction(tombstones);
        let mut m = Naive::default();
        // Half the cases: every batch of edits through one pair filter that follows the store.
        let mut pairs = filtered.then(|| PairFilter::for_batches_of(0));
        let mut max_nodes = 0;
        let mut max_edges = 0;
        for op in &ops {
            apply(&mut s, &mut m, op, &p, pairs.as_mut())?;
            compare(&s, &m)?;
            max_nodes = max_nodes.max(m.nodes.len());
            max_edges = max_edges.max(m.edges.len());
        }
        let t = s.totals();
        if std::env::var_os("NEUROFLUX_PROP_STATS").is_some() {
            eprintln!("stats: max nodes {max_nodes}, max edges {max_edges}, births {}, deaths {}", t.births, t.deaths);
        }
    }
}
