//! Helpers shared by the engine's integration tests: a quiet configuration and tiny
//! hand-built graphs.
#![allow(dead_code)]

use neuroflux::config::{Config, SubtypeScale};
use neuroflux::growth::Pending;
use neuroflux::step::CpuStepper;
use neuroflux::store::{
    Direction, EdgeId, EdgeKind, EdgeRecord, Fertility, NodeId, NodeKind, NodeRecord, Store, NO_CLASS,
};
use neuroflux::{Params, Simulation};

/// A configuration where nothing happens unless a test turns it on: no initial graph, no
/// noise, upkeep, growth, spawn or plasticity; unit scales; transfer 0.5, loss 0.8.
pub fn quiet(f: impl FnOnce(&mut Config)) -> Params {
    let mut c = Config::default();
    c.graph.sensory_width = 0;
    c.graph.sensory_height = 0;
    c.graph.n_dynamic = 0;
    c.graph.workspace_width = 0;
    c.graph.workspace_height = 0;
    c.energy.noise_sigma = 0.0;
    c.energy.maintenance_per_node = 0.0;
    c.energy.maintenance_per_out_edge = 0.0;
    c.transfer.plasticity = false;
    c.transfer.transfer_capacity = 0.5;
    c.transfer.transmission_loss = 0.8;
    let one = SubtypeScale { transmitter: 1.0, resonator: 1.0, dampener: 1.0 };
    c.transfer.subtype_src_scale = one;
    c.transfer.subtype_dst_scale = one;
    c.spawn.max_births_per_step = 0;
    for g in &mut c.growth.classes {
        g.p = 0.0;
    }
    c.growth.sensory_growth_p = 0.0;
    c.growth.max_culled_edges_per_step = 0;
    c.input.sensory_gain = 2.0;
    c.input.sensory_bias = 1.0;
    c.input.warmup_steps = 1;
    f(&mut c);
    c.validate().expect("the test configuration should be valid")
}

/// A node of `kind` with `energy`; dynamic nodes are Resonator, Normal, class 0, cap 10.
pub fn node(kind: NodeKind, energy: f32) -> NodeRecord {
    let dynamic = kind == NodeKind::Dynamic;
    NodeRecord {
        id: NodeId(0),
        kind,
        energy,
        subtype: if dynamic { 1 } else { NO_CLASS },
        fertility: Fertility::Normal.code(),
        growth_class: if dynamic { 0 } else { NO_CLASS },
        gain_class: if dynamic { 0 } else { NO_CLASS },
        max_out_degree: match kind {
            NodeKind::Dynamic => 10,
            NodeKind::Sensory => 100,
            NodeKind::Workspace => 0,
        },
        parent: None,
        binding: 0,
        born_step: 0,
    }
}

/// An edge `src -> dst` (node ids) of `kind` with weight `w` and direction `dir`.
pub fn edge(src: u64, dst: u64, kind: EdgeKind, w: f32, dir: Direction) -> EdgeRecord {
    EdgeRecord {
        id: EdgeId(0),
        src: NodeId(src),
        dst: NodeId(dst),
        kind,
        weight: w,
        direction: dir,
        gate: 0.0,
        plastic_lr: 0.0,
        born_step: 0,
    }
}

/// A FreeFlow excitatory edge.
pub fn exc(src: u64, dst: u64, w: f32) -> EdgeRecord {
    edge(src, dst, EdgeKind::Excitatory, w, Direction::FreeFlow)
}

/// A sensory grid of one row of `width` pixels, without the build's sensory edges (for
/// graphs built by hand, whose sensory nodes are bound to its pixels).
pub fn sensory_row(c: &mut Config, width: u32) {
    c.graph.sensory_width = width;
    c.graph.sensory_height = 1;
    c.graph.sensory_fanout = 0;
}

/// A simulation over a hand-built graph (node ids are their positions in `nodes`).
pub fn sim(params: Params, nodes: &[NodeRecord], edges: &[EdgeRecord]) -> Simulation {
    let mut store = Store::new(params.graph.allow_duplicate_edges);
    store.add_nodes(nodes);
    store.add_edges(edges).expect("test edges should join existing nodes");
    store.refresh_topology();
    let stepper = Box::new(CpuStepper::new(2).expect("a thread pool should start"));
    Simulation::from_parts(params, store, 0, Pending::default(), stepper).expect("simulation")
}

/// Energies by node id after one step with `frame` (empty for graphs without sensory nodes).
pub fn step_energies(s: &mut Simulation, frame: &[f32]) -> Vec<f32> {
    let m = s.step_with_frame(frame).expect("the step should succeed");
    let (before, after) = s.last_totals();
    m.ledger.check(before, after).expect("the ledger should balance");
    s.store().nodes().energy().to_vec()
}

/// Energy of node `id`, if alive.
pub fn energy_of(s: &Simulation, id: u64) -> Option<f32> {
    let n = s.store().nodes();
    n.row_of(NodeId(id)).map(|r| n.energy()[r])
}
