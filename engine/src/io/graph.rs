//! The graph of a state as files other tools read (GraphML, DOT), and its statistics
//! computed with petgraph's algorithms.
//!
//! GraphML keeps every node and edge column with typed keys, so a written graph loads back
//! as an initial graph ([`crate::io::graph_file`]) with the same attributes; node element ids
//! are `n<NodeId>`, edge ids `e<EdgeId>`.

use crate::store::{Direction, EdgeKind, Fertility, NodeKind, Store, Subtype, NO_CLASS};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The graph as a petgraph `DiGraph` whose node index `i` is store row `i` and whose edge
/// index `e` is the `e`-th live edge in id order (node weights: kind; edge weights: weight).
pub fn digraph(store: &Store) -> DiGraph<NodeKind, f32> {
    let store = &*store.compacted();
    let (n, e) = (store.nodes(), store.edges());
    let mut g = DiGraph::with_capacity(n.len(), e.rows());
    for r in 0..n.len() {
        g.add_node(n.kind_of(r));
    }
    for (k, (&s, &d)) in e.src_rows().iter().zip(e.dst_rows()).enumerate() {
        g.add_edge(NodeIndex::new(s as usize), NodeIndex::new(d as usize), e.weights()[k]);
    }
    g
}

fn class_name(code: u8) -> String {
    if code == NO_CLASS {
        String::new()
    } else {
        code.to_string()
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The GraphML keys: (id, for, type).
pub const GRAPHML_NODE_KEYS: [(&str, &str); 10] = [
    ("kind", "string"),
    ("energy", "float"),
    ("subtype", "string"),
    ("fertility", "string"),
    ("growth_class", "string"),
    ("gain_class", "string"),
    ("max_out_degree", "int"),
    ("parent", "string"),
    ("binding", "int"),
    ("born_step", "long"),
];

/// The GraphML edge keys.
pub const GRAPHML_EDGE_KEYS: [(&str, &str); 6] = [
    ("kind", "string"),
    ("direction", "string"),
    ("weight", "float"),
    ("gate", "float"),
    ("plastic_lr", "float"),
    ("born_step", "long"),
];

/// The state's graph as GraphML text (every node and edge column).
pub fn to_graphml(store: &Store) -> String {
    let store = &*store.compacted();
    let (n, e) = (store.nodes(), store.edges());
    let mut s = String::with_capacity(200 * (n.len() + e.rows()) + 1000);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
    for (k, t) in GRAPHML_NODE_KEYS {
        let _ = writeln!(s, "  <key id=\"n_{k}\" for=\"node\" attr.name=\"{k}\" attr.type=\"{t}\"/>");
    }
    for (k, t) in GRAPHML_EDGE_KEYS {
        let _ = writeln!(s, "  <key id=\"e_{k}\" for=\"edge\" attr.name=\"{k}\" attr.type=\"{t}\"/>");
    }
    s.push_str("  <graph id=\"neuroflux\" edgedefault=\"directed\">\n");
    for r in 0..n.len() {
        let rec = n.record(r);
        let subtype = Subtype::from_code(rec.subtype).map_or("", Subtype::name);
        let fertility = Fertility::from_code(rec.fertility).map_or("", Fertility::name);
        let parent = rec.parent.map(|p| p.0.to_string()).unwrap_or_default();
        let values = [
            rec.kind.name().to_string(),
            rec.energy.to_string(),
            subtype.to_string(),
            fertility.to_string(),
            class_name(rec.growth_class),
            class_name(rec.gain_class),
            rec.max_out_degree.to_string(),
            parent,
            rec.binding.to_string(),
            rec.born_step.to_string(),
        ];
        let _ = write!(s, "    <node id=\"n{}\">", rec.id.0);
        for ((k, _), v) in GRAPHML_NODE_KEYS.iter().zip(values) {
            if !v.is_empty() {
                let _ = write!(s, "<data key=\"n_{k}\">{}</data>", xml_escape(&v));
            }
        }
        s.push_str("</node>\n");
    }
    for r in 0..e.rows() {
        let rec = e.record(n, r);
        let values = [
            rec.kind.name().to_string(),
            rec.direction.name().to_string(),
            rec.weight.to_string(),
            rec.gate.to_string(),
            rec.plastic_lr.to_string(),
            rec.born_step.to_string(),
        ];
        let _ = write!(s, "    <edge id=\"e{}\" source=\"n{}\" target=\"n{}\">", rec.id.0, rec.src.0, rec.dst.0);
        for ((k, _), v) in GRAPHML_EDGE_KEYS.iter().zip(values) {
            let _ = write!(s, "<data key=\"e_{k}\">{v}</data>");
        }
        s.push_str("</edge>\n");
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}

/// The state's graph as Graphviz DOT (petgraph's writer): nodes labelled by id with their
/// kind and energy, edges with their kind, direction and weight.
pub fn to_dot(store: &Store) -> String {
    let store = &*store.compacted();
    let (n, e) = (store.nodes(), store.edges());
    let g = digraph(store);
    let node_attrs = |_: &DiGraph<NodeKind, f32>, (i, kind): (NodeIndex, &NodeKind)| {
        let r = i.index();
        format!("label=\"{}\" kind=\"{}\" energy={}", n.ids()[r], kind.name(), n.energy()[r])
    };
    let edge_attrs = |_: &DiGraph<NodeKind, f32>, er: petgraph::graph::EdgeReference<'_, f32>| {
        let k = petgraph::visit::EdgeRef::id(&er).index();
        let kd = e.kind_dirs()[k];
        let kind = EdgeKind::from_code(crate::store::kind_code(kd)).map_or("?", EdgeKind::name);
        let dir = Direction::from_code(crate::store::direction_code(kd)).map_or("?", Direction::name);
        format!("id={} kind=\"{kind}\" direction=\"{dir}\" weight={}", e.id(k), e.weights()[k])
    };
    let cfg = [petgraph::dot::Config::NodeNoLabel, petgraph::dot::Config::EdgeNoLabel];
    format!("{:?}", petgraph::dot::Dot::with_attr_getters(&g, &cfg, &edge_attrs, &node_attrs))
}

/// Degree statistics of one node kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Degrees {
    /// Nodes of the kind.
    pub nodes: u64,
    /// Mean in-degree.
    pub in_mean: f64,
    /// Mean out-degree.
    pub out_mean: f64,
    /// In-degree -> number of nodes.
    pub in_degree: BTreeMap<u32, u64>,
    /// Out-degree -> number of nodes.
    pub out_degree: BTreeMap<u32, u64>,
}

/// `graph-stats.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GraphStats {
    /// Nodes.
    pub nodes: u64,
    /// Edges.
    pub edges: u64,
    /// Degree distributions by node kind (`sensory`, `dynamic`, `workspace`).
    pub degrees: BTreeMap<String, Degrees>,
    /// Strongly connected components (Tarjan), isolated nodes included.
    pub scc_count: u64,
    /// The largest component's size.
    pub scc_largest: u64,
    /// Component size -> number of components.
    pub scc_sizes: BTreeMap<u64, u64>,
    /// Workspace nodes reachable from some sensory node along directed edges.
    pub workspace_reachable: u64,
    /// `workspace_reachable` over the workspace node count (0 when there are none).
    pub workspace_reachable_fraction: f64,
}

/// The statistics of the state's graph.
pub fn stats(store: &Store) -> GraphStats {
    let g = digraph(store);
    let n = g.node_count();
    let mut indeg = vec![0u32; n];
    let mut outdeg = vec![0u32; n];
    for er in g.raw_edges() {
        outdeg[er.source().index()] += 1;
        indeg[er.target().index()] += 1;
    }
    let mut degrees: BTreeMap<String, Degrees> = BTreeMap::new();
    for kind in NodeKind::ALL {
        degrees.insert(kind.name().to_string(), Degrees::default());
    }
    for i in g.node_indices() {
        if let Some(d) = degrees.get_mut(g[i].name()) {
            d.nodes += 1;
            *d.in_degree.entry(indeg[i.index()]).or_default() += 1;
            *d.out_degree.entry(outdeg[i.index()]).or_default() += 1;
        }
    }
    for d in degrees.values_mut() {
        if d.nodes > 0 {
            let mean =
                |m: &BTreeMap<u32, u64>| m.iter().map(|(&k, &c)| f64::from(k) * c as f64).sum::<f64>() / d.nodes as f64;
            d.in_mean = mean(&d.in_degree);
            d.out_mean = mean(&d.out_degree);
        }
    }
    let sccs = petgraph::algo::tarjan_scc(&g);
    let mut scc_sizes = BTreeMap::new();
    for c in &sccs {
        *scc_sizes.entry(c.len() as u64).or_default() += 1;
    }
    // Multi-source breadth-first search from every sensory node.
    let mut seen = vec![false; n];
    let mut queue: std::collections::VecDeque<NodeIndex> = std::collections::VecDeque::new();
    for i in g.node_indices().filter(|&i| g[i] == NodeKind::Sensory) {
        seen[i.index()] = true;
        queue.push_back(i);
    }
    while let Some(v) = queue.pop_front() {
        for w in g.neighbors(v) {
            if !seen[w.index()] {
                seen[w.index()] = true;
                queue.push_back(w);
            }
        }
    }
    let ws: Vec<NodeIndex> = g.node_indices().filter(|&i| g[i] == NodeKind::Workspace).collect();
    let reachable = ws.iter().filter(|i| seen[i.index()]).count() as u64;
    GraphStats {
        nodes: n as u64,
        edges: g.edge_count() as u64,
        degrees,
        scc_count: sccs.len() as u64,
        scc_largest: sccs.iter().map(Vec::len).max().unwrap_or(0) as u64,
        scc_sizes,
        workspace_reachable: reachable,
        workspace_reachable_fraction: if ws.is_empty() { 0.0 } else { reachable as f64 / ws.len() as f64 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EdgeId, EdgeRecord, NodeId, NodeRecord};

    fn node(kind: NodeKind, binding: u32) -> NodeRecord {
        NodeRecord {
            id: NodeId(0),
            kind,
            energy: 1.5,
            subtype: if kind == NodeKind::Dynamic { 0 } else { NO_CLASS },
            fertility: 1,
            growth_class: if kind == NodeKind::Dynamic { 0 } else { NO_CLASS },
            gain_class: if kind == NodeKind::Dynamic { 0 } else { NO_CLASS },
            max_out_degree: 8,
            parent: None,
            binding,
            born_step: 0,
        }
    }

    fn edge(src: u64, dst: u64) -> EdgeRecord {
        EdgeRecord {
            id: EdgeId(0),
            src: NodeId(src),
            dst: NodeId(dst),
            kind: EdgeKind::Excitatory,
            weight: 0.25,
            direction: Direction::FreeFlow,
            gate: 0.0,
            plastic_lr: 0.0,
            born_step: 0,
        }
    }

    /// S0 -> D1 <-> D2 -> W3, D4 alone, W5 unreachable.
    fn store() -> Store {
        let mut s = Store::new(false);
        s.add_nodes(&[
            node(NodeKind::Sensory, 0),
            node(NodeKind::Dynamic, 0),
            node(NodeKind::Dynamic, 0),
            node(NodeKind::Workspace, 0),
            node(NodeKind::Dynamic, 0),
            node(NodeKind::Workspace, 1),
        ]);
        s.add_edges(&[edge(0, 1), edge(1, 2), edge(2, 1), edge(2, 3)]).expect("edges");
        s.refresh_topology();
        s
    }

    #[test]
    fn stats_count_degrees_components_and_reachability() {
        let st = stats(&store());
        assert_eq!((st.nodes, st.edges), (6, 4));
        assert_eq!(st.scc_count, 5);
        assert_eq!(st.scc_largest, 2);
        assert_eq!(st.scc_sizes, BTreeMap::from([(1, 4), (2, 1)]));
        assert_eq!(st.workspace_reachable, 1);
        assert_eq!(st.workspace_reachable_fraction, 0.5);
        let d = &st.degrees["dynamic"];
        assert_eq!(d.nodes, 3);
        assert_eq!(d.out_degree, BTreeMap::from([(0, 1), (1, 1), (2, 1)]));
        assert_eq!(d.in_degree, BTreeMap::from([(0, 1), (1, 1), (2, 1)]));
        assert_eq!(st.degrees["sensory"].out_mean, 1.0);
    }

    #[test]
    fn graphml_and_dot_name_every_node_and_edge() {
        let s = store();
        let xml = to_graphml(&s);
        assert_eq!(xml.matches("<node ").count(), 6);
        assert_eq!(xml.matches("<edge ").count(), 4);
        assert!(xml.contains("<edge id=\"e3\" source=\"n2\" target=\"n3\">"), "{xml}");
        assert!(xml.contains("<data key=\"n_kind\">workspace</data>"));
        let dot = to_dot(&s);
        assert!(dot.starts_with("digraph {"), "{dot}");
        assert_eq!(dot.matches("->").count(), 4);
        assert!(dot.contains("kind=\"sensory\""));
    }
}
