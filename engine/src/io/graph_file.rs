//! Loading an initial graph from a file (MODEL.md section 4): an edge list over the
//! configuration's nodes, or a GraphML file that defines its nodes too. Every edge is checked
//! against MODEL.md sections 1 and 2 and a violation names its line (docs/CONFIG.md,
//! "Initial graph files").
//!
//! - Edge list (any name not ending in `.graphml`): `#` comments, blank lines, and one edge
//!   per line, `SRC DST [WEIGHT [KIND [DIRECTION]]]` separated by spaces, tabs or commas
//!   (a first line whose first field is not a number is a header). Node ids are those the
//!   configuration builds: sensory `0..S` (pixel row-major), then the `n_dynamic` dynamic
//!   nodes, then the workspace cells, with the attributes the generator draws.
//! - GraphML: `<node>`s with a `kind` attribute (`sensory`, `dynamic`, `workspace`) and, for
//!   sensory and workspace nodes, a `binding` (each pixel and each cell exactly once);
//!   optional `energy`, `subtype`, `fertility`, `growth_class`, `gain_class`,
//!   `max_out_degree`. Node ids are assigned in document order. `<edge>`s take the same
//!   optional attributes as edge-list lines. The files `output.graph = "graphml"` writes
//!   load back with the same attributes (parents and birth steps are not kept: the loaded
//!   graph is the state before step 0).
//!
//! Attributes a file leaves out are drawn as the generator draws them: nodes from
//! `(0, BuildNode, node id, k)`, edges from `(0, BuildEdge, edge index, k)`.

use crate::config::Params;
use crate::model::build::{dynamic_node, initial_nodes, sensory_node, workspace_node, EdgeDraw};
use crate::model::rules::{kinds_forbidden, new_weight};
use crate::rng::{uniform, Rng, Stream};
use crate::store::{Direction, EdgeKind, EdgeRecord, Fertility, NodeId, NodeKind, NodeRecord, Store, Subtype};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Why an initial graph file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GraphFileError {
    /// The file could not be read.
    #[error("cannot read initial graph {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line breaks a rule.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The path.
        path: PathBuf,
        /// 1-based line number (0: the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Load the file named by `graph.initial_graph` into a store (topology fresh).
pub fn load(params: &Params) -> Result<Store, GraphFileError> {
    let path = Path::new(&params.graph.initial_graph);
    let text = std::fs::read_to_string(path).map_err(|source| GraphFileError::Read { path: path.into(), source })?;
    let graphml = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("graphml"));
    let parsed = if graphml { parse_graphml(&text, params) } else { parse_edge_list(&text, params) };
    let (nodes, edges) =
        parsed.map_err(|(line, message)| GraphFileError::Invalid { path: path.into(), line, message })?;
    let mut store = Store::new(params.graph.allow_duplicate_edges);
    store.add_nodes(&nodes);
    store.add_edges(&edges.iter().map(|(_, e)| *e).collect::<Vec<_>>()).map_err(|e| GraphFileError::Invalid {
        path: path.into(),
        line: 0,
        message: e.to_string(),
    })?;
    store.refresh_topology();
    Ok(store)
}

type Fail = (usize, String);
/// Nodes, and edges with their line numbers.
type Parsed = (Vec<NodeRecord>, Vec<(usize, EdgeRecord)>);

/// The optional attributes of one edge, as text.
#[derive(Default)]
struct EdgeText<'a> {
    weight: Option<&'a str>,
    kind: Option<&'a str>,
    direction: Option<&'a str>,
    gate: Option<&'a str>,
    plastic_lr: Option<&'a str>,
}

fn number<T: std::str::FromStr>(what: &str, s: &str, line: usize) -> Result<T, Fail> {
    s.trim().parse::<T>().map_err(|_| (line, format!("{what} {s:?} is not a valid number")))
}

fn finite(what: &str, s: &str, line: usize) -> Result<f32, Fail> {
    let v: f32 = number(what, s, line)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err((line, format!("{what} {s} is not finite")))
    }
}

/// The checks every edge passes, in file order, and its record.
struct EdgeChecker<'a> {
    params: &'a Params,
    draw: EdgeDraw<'a>,
    rng: Rng,
    nodes: &'a [NodeRecord],
    out_degree: Vec<u32>,
    to_workspace: Vec<bool>,
    to_sensory: Vec<bool>,
    pairs: HashSet<(u32, u32)>,
    edges: Vec<(usize, EdgeRecord)>,
}

impl<'a> EdgeChecker<'a> {
    fn new(params: &'a Params, nodes: &'a [NodeRecord]) -> Self {
        let rng = Rng::new(params.run.seed);
        Self {
            params,
            draw: EdgeDraw::new(params, rng),
            rng,
            nodes,
            out_degree: vec![0; nodes.len()],
            to_workspace: vec![false; nodes.len()],
            to_sensory: vec![false; nodes.len()],
            pairs: HashSet::new(),
            edges: Vec::new(),
        }
    }

    fn add(&mut self, line: usize, src: u32, dst: u32, t: &EdgeText<'_>) -> Result<(), Fail> {
        let (s, d) = (&self.nodes[src as usize], &self.nodes[dst as usize]);
        let fail = |m: String| Err((line, m));
        if src == dst {
            return fail(format!("edge {src} -> {dst} is a self-loop"));
        }
        if s.kind == NodeKind::Workspace {
            return fail(format!("edge {src} -> {dst} starts at a workspace node (workspace nodes have no out-edges)"));
        }
        if kinds_forbidden(s.kind, d.kind) {
            return fail(format!(
                "edge {src} -> {dst} is {} -> {}, which is not allowed",
                s.kind.name(),
                d.kind.name()
            ));
        }
        if !self.pairs.insert((src, dst)) && !self.params.graph.allow_duplicate_edges {
            return fail(format!(
                "edge {src} -> {dst} duplicates an earlier edge (graph.allow_duplicate_edges is false)"
            ));
        }
        let k = src as usize;
        self.out_degree[k] += 1;
        if self.out_degree[k] > u32::from(s.max_out_degree) {
            return fail(format!("node {src} has more out-edges than its max_out_degree {}", s.max_out_degree));
        }
        self.to_workspace[k] |= d.kind == NodeKind::Workspace;
        self.to_sensory[k] |= d.kind == NodeKind::Sensory;
        if s.kind == NodeKind::Dynamic && self.to_workspace[k] && self.to_sensory[k] {
            return fail(format!("dynamic node {src} has out-edges to both a workspace and a sensory node"));
        }
        if self.edges.len() as u64 >= self.params.graph.max_edges {
            return fail(format!("more edges than graph.max_edges = {}", self.params.graph.max_edges));
        }
        // The generator's draws for this edge (entity = edge index), then the file's values.
        let index = self.edges.len() as u64;
        let mut kcall = 1;
        let w = self.rng.words(0, Stream::BuildEdge, index, 0);
        let rng = self.rng;
        let mut rec = self.draw.record(src, dst, s.kind == NodeKind::Sensory, w, || {
            let w2 = rng.words(0, Stream::BuildEdge, index, kcall);
            kcall += 1;
            w2
        });
        if let Some(kind) = t.kind {
            rec.kind = EdgeKind::from_name(kind)
                .ok_or_else(|| (line, format!("edge kind {kind:?} is not one of {}", EdgeKind::NAMES.trim_end())))?;
            if t.weight.is_none() {
                let r = if s.kind == NodeKind::Sensory {
                    self.params.graph.sensory_weight_range
                } else {
                    self.params.graph.weight_range
                };
                rec.weight = new_weight(rec.kind, uniform(w[2]), r[0], r[1]);
            }
        }
        if let Some(dir) = t.direction {
            rec.direction = Direction::from_name(dir)
                .ok_or_else(|| (line, format!("direction {dir:?} is not one of {}", Direction::NAMES.trim_end())))?;
        }
        if let Some(wt) = t.weight {
            rec.weight = finite("weight", wt, line)?;
            if t.kind.is_none() {
                // A weight alone: its sign picks excitatory or inhibitory.
                rec.kind = if rec.weight < 0.0 { EdgeKind::Inhibitory } else { EdgeKind::Excitatory };
            }
        }
        let ok_sign = match rec.kind {
            EdgeKind::Excitatory | EdgeKind::Gated => rec.weight >= 0.0,
            EdgeKind::Inhibitory => rec.weight <= 0.0,
            EdgeKind::Plastic => true,
        };
        if !ok_sign {
            return fail(format!("a {} edge cannot have weight {}", rec.kind.name(), rec.weight));
        }
        rec.gate = match (rec.kind, t.gate) {
            (EdgeKind::Gated, Some(g)) => finite("gate", g, line)?,
            (EdgeKind::Gated, None) if t.kind.is_some() => {
                crate::rng::uniform_range(rng.words(0, Stream::BuildEdge, index, kcall)[0], 0.1, 1.0)
                    * self.params.graph.gate_scale
            }
            (EdgeKind::Gated, None) => rec.gate,
            _ => 0.0,
        };
        rec.plastic_lr = match (rec.kind, t.plastic_lr) {
            (EdgeKind::Plastic, Some(g)) => finite("plastic_lr", g, line)?,
            (EdgeKind::Plastic, None) if t.kind.is_some() => {
                let r = self.params.graph.plastic_lr_range;
                crate::rng::uniform_range(rng.words(0, Stream::BuildEdge, index, kcall)[1], r[0], r[1])
            }
            (EdgeKind::Plastic, None) => rec.plastic_lr,
            _ => 0.0,
        };
        if rec.gate < 0.0 || rec.plastic_lr < 0.0 {
            return fail("gate and plastic_lr must be >= 0".into());
        }
        rec.src = NodeId(u64::from(src));
        rec.dst = NodeId(u64::from(dst));
        self.edges.push((line, rec));
        Ok(())
    }
}

fn parse_edge_list(text: &str, params: &Params) -> Result<Parsed, Fail> {
    let rng = Rng::new(params.run.seed);
    let nodes = initial_nodes(params, &rng);
    let n = nodes.len() as u64;
    let mut checker = EdgeChecker::new(params, &nodes);
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> =
            content.split(|c: char| c == ',' || c.is_whitespace()).filter(|f| !f.is_empty()).collect();
        if std::mem::take(&mut first) && fields[0].parse::<u64>().is_err() {
            continue; // a header
        }
        if fields.len() < 2 || fields.len() > 5 {
            return Err((line, format!("expected SRC DST [WEIGHT [KIND [DIRECTION]]], found {} fields", fields.len())));
        }
        let node = |s: &str| -> Result<u32, Fail> {
            let id: u64 = number("node id", s, line)?;
            if id >= n {
                return Err((
                    line,
                    format!("node {id} does not exist (the configuration builds nodes 0 to {})", n - 1),
                ));
            }
            Ok(id as u32)
        };
        let (src, dst) = (node(fields[0])?, node(fields[1])?);
        let t = EdgeText {
            weight: fields.get(2).copied(),
            kind: fields.get(3).copied(),
            direction: fields.get(4).copied(),
            ..EdgeText::default()
        };
        checker.add(line, src, dst, &t)?;
    }
    let edges = checker.edges;
    Ok((nodes, edges))
}

/// Line numbers of byte offsets.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Self(text.match_indices('\n').map(|(i, _)| i).collect())
    }
    fn at(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

/// One GraphML element being read: its line, id, endpoints and data.
#[derive(Default)]
struct Element {
    line: usize,
    id: String,
    source: String,
    target: String,
    data: HashMap<String, String>,
}

fn parse_graphml(text: &str, params: &Params) -> Result<Parsed, Fail> {
    use quick_xml::events::Event;
    let lines = Lines::new(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut keys: HashMap<String, String> = HashMap::new(); // key id -> attr.name
    let (mut nodes, mut edges): (Vec<Element>, Vec<Element>) = (Vec::new(), Vec::new());
    let mut current: Option<(bool, Element)> = None; // (is node, element)
    let mut data_key: Option<String> = None;
    loop {
        let pos = reader.buffer_position() as usize;
        let line = lines.at(pos + 1);
        let ev = reader
            .read_event()
            .map_err(|e| (lines.at(reader.buffer_position() as usize), format!("not valid XML: {e}")))?;
        let attrs = |e: &quick_xml::events::BytesStart<'_>| -> Result<HashMap<String, String>, Fail> {
            let mut m = HashMap::new();
            for a in e.attributes() {
                let a = a.map_err(|err| (line, format!("bad attribute: {err}")))?;
                let v = a.unescape_value().map_err(|err| (line, format!("bad attribute value: {err}")))?;
                m.insert(String::from_utf8_lossy(a.key.as_ref()).into_owned(), v.into_owned());
            }
            Ok(m)
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let a = attrs(e)?;
                let get = |k: &str| a.get(k).cloned().unwrap_or_default();
                match e.name().as_ref() {
                    b"key" => {
                        keys.insert(get("id"), a.get("attr.name").cloned().unwrap_or_else(|| get("id")));
                    }
                    b"node" | b"edge" => {
                        let is_node = e.name().as_ref() == b"node";
                        let el = Element {
                            line,
                            id: get("id"),
                            source: get("source"),
                            target: get("target"),
                            ..Default::default()
                        };
                        if empty {
                            if is_node {
                                nodes.push(el)
                            } else {
                                edges.push(el)
                            }
                        } else {
                            current = Some((is_node, el));
                        }
                    }
                    b"data" if !empty => data_key = Some(get("key")),
                    b"graph" if get("edgedefault") == "undirected" => {
                        return Err((line, "the graph is undirected; neuroflux graphs are directed".into()));
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let (Some(k), Some((_, el))) = (&data_key, &mut current) {
                    let v = t.unescape().map_err(|err| (line, format!("bad text: {err}")))?;
                    let name = keys.get(k).cloned().unwrap_or_else(|| k.clone());
                    el.data.entry(name).or_default().push_str(v.trim());
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"data" => data_key = None,
                b"node" | b"edge" => {
                    if let Some((is_node, el)) = current.take() {
                        if is_node {
                            nodes.push(el)
                        } else {
                            edges.push(el)
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    graphml_records(&nodes, &edges, params)
}

fn graphml_records(nodes: &[Element], edges: &[Element], params: &Params) -> Result<Parsed, Fail> {
    let g = &params.graph;
    let e = &params.energy;
    let rng = Rng::new(params.run.seed);
    if nodes.len() as u64 > g.max_nodes {
        return Err((0, format!("{} nodes, more than graph.max_nodes = {}", nodes.len(), g.max_nodes)));
    }
    let (n_s, n_w) = (params.n_sensory(), params.n_workspace());
    let mut sensory_seen = vec![false; n_s];
    let mut workspace_seen = vec![false; n_w];
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut records = Vec::with_capacity(nodes.len());
    for (i, el) in nodes.iter().enumerate() {
        let line = el.line;
        let id = i as u64;
        if index.insert(el.id.as_str(), i as u32).is_some() {
            return Err((line, format!("node id {:?} appears twice", el.id)));
        }
        let kind_text = el.data.get("kind").ok_or((line, format!("node {:?} has no kind", el.id)))?;
        let kind = NodeKind::from_name(kind_text)
            .ok_or_else(|| (line, format!("node kind {kind_text:?} is not one of {}", NodeKind::NAMES.trim_end())))?;
        let mut rec = match kind {
            NodeKind::Dynamic => dynamic_node(params, &rng, id),
            NodeKind::Sensory => NodeRecord { id: NodeId(id), ..sensory_node(params, 0) },
            NodeKind::Workspace => workspace_node(params, &rng, id, 0),
        };
        let d = |k: &str| el.data.get(k).map(String::as_str).filter(|v| !v.is_empty());
        if kind != NodeKind::Dynamic {
            let b: u32 = number(
                "binding",
                d("binding").ok_or((line, format!("{} node {:?} has no binding", kind.name(), el.id)))?,
                line,
            )?;
            let seen = if kind == NodeKind::Sensory { &mut sensory_seen } else { &mut workspace_seen };
            match seen.get_mut(b as usize) {
                None => {
                    return Err((
                        line,
                        format!("{} binding {b} is outside the grid of {} cells", kind.name(), seen.len()),
                    ))
                }
                Some(true) => return Err((line, format!("{} binding {b} appears twice", kind.name()))),
                Some(s) => *s = true,
            }
            rec.binding = b;
        }
        if let Some(v) = d("energy") {
            rec.energy = finite("energy", v, line)?;
            if !(e.energy_floor..=e.energy_cap).contains(&rec.energy) {
                return Err((line, format!("energy {} is outside [{}, {}]", rec.energy, e.energy_floor, e.energy_cap)));
            }
        }
        if kind == NodeKind::Dynamic {
            if let Some(v) = d("subtype") {
                rec.subtype = Subtype::from_name(v)
                    .ok_or_else(|| (line, format!("subtype {v:?} is not one of {}", Subtype::NAMES.trim_end())))?
                    .code();
            }
            if let Some(v) = d("fertility") {
                rec.fertility = Fertility::from_name(v)
                    .ok_or_else(|| (line, format!("fertility {v:?} is not one of {}", Fertility::NAMES.trim_end())))?
                    .code();
            }
            let class = |what: &str, v: &str, n: usize| -> Result<u8, Fail> {
                let c: u8 = number(what, v, line)?;
                if usize::from(c) >= n {
                    return Err((line, format!("{what} {c} does not exist (the configuration has {n})")));
                }
                Ok(c)
            };
            if let Some(v) = d("growth_class") {
                rec.growth_class = class("growth_class", v, params.growth.classes.len())?;
            }
            if let Some(v) = d("gain_class") {
                rec.gain_class = class("gain_class", v, e.connection_gain_values.len())?;
            }
        }
        if let Some(v) = d("max_out_degree") {
            if kind != NodeKind::Workspace {
                rec.max_out_degree = number("max_out_degree", v, line)?;
            }
        }
        records.push(rec);
    }
    if let Some(b) = sensory_seen.iter().position(|s| !s) {
        return Err((
            0,
            format!("no sensory node is bound to pixel {b}: every pixel of the {n_s}-pixel grid needs one"),
        ));
    }
    if let Some(b) = workspace_seen.iter().position(|s| !s) {
        return Err((
            0,
            format!("no workspace node is bound to cell {b}: every cell of the {n_w}-cell grid needs one"),
        ));
    }
    let mut checker = EdgeChecker::new(params, &records);
    for el in edges {
        let endpoint = |s: &str| {
            index.get(s).copied().ok_or_else(|| (el.line, format!("edge endpoint {s:?} is not a node of the file")))
        };
        let (src, dst) = (endpoint(&el.source)?, endpoint(&el.target)?);
        let d = |k: &str| el.data.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let t = EdgeText {
            weight: d("weight"),
            kind: d("kind"),
            direction: d("direction"),
            gate: d("gate"),
            plastic_lr: d("plastic_lr"),
        };
        checker.add(el.line, src, dst, &t)?;
    }
    let out = checker.edges;
    Ok((records, out))
}
