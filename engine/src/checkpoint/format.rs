//! The checkpoint file: a `safetensors` container (an 8-byte little-endian header length, a
//! JSON header, then raw little-endian arrays), readable from Python with `safetensors` and
//! numpy (docs/CHECKPOINTS.md).
//!
//! Tensors: one per column, named `node.<column>` and `edge.<column>` (see [`NODE_COLUMNS`]
//! and [`EDGE_COLUMNS`]), each of shape `[count]`. The header's `__metadata__` (strings)
//! holds `magic`, `format_version`, `config` (the resolved configuration as TOML), `step`,
//! `next_node_id`, `next_edge_id`, `allow_duplicate_edges`, `nodes`, `edges`, `pending`
//! (the queued proposals, JSON), `totals` (the run's totals, JSON) and `checksums`: a JSON
//! map from every section (each tensor, `config`, `pending`, `totals`, `counters`) to the
//! 64-bit FNV-1a of its bytes, as 16 hex digits.
//!
//! Reading validates before it allocates: the header length against the file length, every
//! tensor's dtype, shape and offsets against the counts and the file length, the counts
//! against the configured capacities; only then is the rest of the file read. Then every
//! checksum, the codes, the store's invariants (MODEL.md section 8) and the energy bounds.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::{Checkpoint, CheckpointError};
use crate::config::Config;
use crate::growth::{Pending, Proposals};
use crate::hash::Fnv64;
use crate::io::metrics::RunTotals;
use crate::store::{
    pack_kind_dir, param_of, Direction, EdgeKind, EdgeTable, NodeId, NodeKind, NodeRecord, NodeTable, Store, NO_PARENT,
};

/// The first metadata entry of every checkpoint.
pub const MAGIC: &str = "neuroflux-checkpoint";
/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest header this reader accepts (bytes).
const MAX_HEADER: u64 = 64 << 20;

/// Node columns, in file order: name and dtype.
pub const NODE_COLUMNS: [(&str, Dtype); 11] = [
    ("id", Dtype::U64),
    ("kind", Dtype::U8),
    ("energy", Dtype::F32),
    ("subtype", Dtype::U8),
    ("fertility", Dtype::U8),
    ("growth_class", Dtype::U8),
    ("gain_class", Dtype::U8),
    ("max_out_degree", Dtype::U16),
    ("parent", Dtype::U64),
    ("binding", Dtype::U32),
    ("born_step", Dtype::U64),
];

/// Edge columns, in file order: name and dtype.
pub const EDGE_COLUMNS: [(&str, Dtype); 9] = [
    ("id", Dtype::U64),
    ("src", Dtype::U64),
    ("dst", Dtype::U64),
    ("kind", Dtype::U8),
    ("weight", Dtype::F32),
    ("direction", Dtype::U8),
    ("gate", Dtype::F32),
    ("plastic_lr", Dtype::F32),
    ("born_step", Dtype::U64),
];

/// What the header of a checkpoint says, read without reading its columns.
#[derive(Debug, Clone)]
pub struct Header {
    /// The format version.
    pub format_version: u32,
    /// The resolved configuration (TOML).
    pub config: String,
    /// The step the checkpoint was taken at (steps run).
    pub step: u64,
    /// Next node id.
    pub next_node_id: u64,
    /// Next edge id.
    pub next_edge_id: u64,
    /// Whether duplicate edges are allowed.
    pub allow_duplicate_edges: bool,
    /// Node count.
    pub nodes: u64,
    /// Edge count.
    pub edges: u64,
    /// File length in bytes.
    pub file_bytes: u64,
    metadata: HashMap<String, String>,
}

fn fnv(bytes: &[u8]) -> String {
    let mut h = Fnv64::default();
    h.write(bytes);
    format!("{:016x}", h.finish())
}

/// The little-endian bytes of the values of an iterator that knows its length.
fn le_bytes<T, const N: usize>(v: impl ExactSizeIterator<Item = T>, f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * N);
    for x in v {
        out.extend_from_slice(&f(x));
    }
    out
}

/// The per-section text of the counters, checksummed as the `counters` section.
fn counters_text(step: u64, next_node_id: u64, next_edge_id: u64, dup: bool, nodes: u64, edges: u64) -> String {
    format!("{step},{next_node_id},{next_edge_id},{dup},{nodes},{edges}")
}

/// The queued proposals as JSON: `[[due, proposals], ...]` in due order.
fn pending_json(p: &Pending) -> Result<String, CheckpointError> {
    let entries: Vec<&(u64, Proposals)> = p.entries().collect();
    serde_json::to_string(&entries)
        .map_err(|e| CheckpointError::Invalid(format!("cannot encode the pending proposals: {e}")))
}

/// Encode `c` as the bytes of a checkpoint file.
pub fn encode(c: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
    // Tombstoned edge rows are not state: the file holds the live edges only.
    let store = c.store.compacted();
    let n = store.nodes();
    let e = store.edges();
    // Each column's little-endian bytes and checksum (a byte at a time: about 1 GB/s), the
    // columns on every thread.
    type Column<'a> = Box<dyn Fn() -> Vec<u8> + Send + Sync + 'a>;
    let node_columns: [Column<'_>; 11] = [
        Box::new(|| le_bytes(n.ids().iter().copied(), u64::to_le_bytes)),
        Box::new(|| n.kinds().to_vec()),
        Box::new(|| le_bytes(n.energy().iter().copied(), f32::to_le_bytes)),
        Box::new(|| n.subtypes().to_vec()),
        Box::new(|| n.fertility().to_vec()),
        Box::new(|| n.growth_classes().to_vec()),
        Box::new(|| n.gain_classes().to_vec()),
        Box::new(|| le_bytes(n.max_out_degree().iter().copied(), u16::to_le_bytes)),
        Box::new(|| le_bytes(n.parents().iter().copied(), u64::to_le_bytes)),
        Box::new(|| le_bytes(n.bindings().iter().copied(), u32::to_le_bytes)),
        Box::new(|| le_bytes(n.born_steps(), u64::to_le_bytes)),
    ];
    let edge_columns: [Column<'_>; 9] = [
        Box::new(|| le_bytes(e.ids(), u64::to_le_bytes)),
        Box::new(|| le_bytes(e.src_ids(n), u64::to_le_bytes)),
        Box::new(|| le_bytes(e.dst_ids(n), u64::to_le_bytes)),
        Box::new(|| e.kinds().collect()),
        Box::new(|| le_bytes(e.weights().iter().copied(), f32::to_le_bytes)),
        Box::new(|| e.directions().collect()),
        Box::new(|| le_bytes(e.gates(), f32::to_le_bytes)),
        Box::new(|| le_bytes(e.plastic_lrs(), f32::to_le_bytes)),
        Box::new(|| le_bytes(e.born_steps(), u64::to_le_bytes)),
    ];
    let encoded: Vec<(Vec<u8>, String)> = {
        use rayon::prelude::*;
        node_columns
            .par_iter()
            .chain(edge_columns.par_iter())
            .map(|column| {
                let bytes = column();
                let sum = fnv(&bytes);
                (bytes, sum)
            })
            .collect()
    };
    let (node_bytes, edge_bytes) = encoded.split_at(NODE_COLUMNS.len());
    let config = c
        .config
        .to_toml_string()
        .map_err(|e| CheckpointError::Invalid(format!("cannot encode the configuration: {e}")))?;
    let pending = pending_json(&c.pending)?;
    let totals = serde_json::to_string(&c.totals)
        .map_err(|e| CheckpointError::Invalid(format!("cannot encode the run totals: {e}")))?;
    let (nn, ne) = (n.len() as u64, e.rows() as u64);
    let dup = c.store.allow_duplicate_edges();
    let counters = counters_text(c.step, c.store.next_node_id(), c.store.next_edge_id(), dup, nn, ne);
    let mut sums = BTreeMap::new();
    let mut views = Vec::new();
    for ((name, dtype), (bytes, sum)) in NODE_COLUMNS.iter().zip(node_bytes) {
        let key = format!("node.{name}");
        sums.insert(key.clone(), sum.clone());
        views.push((key, safetensors::tensor::TensorView::new(*dtype, vec![n.len()], bytes)?));
    }
    for ((name, dtype), (bytes, sum)) in EDGE_COLUMNS.iter().zip(edge_bytes) {
        let key = format!("edge.{name}");
        sums.insert(key.clone(), sum.clone());
        views.push((key, safetensors::tensor::TensorView::new(*dtype, vec![e.rows()], bytes)?));
    }
    sums.insert("config".into(), fnv(config.as_bytes()));
    sums.insert("pending".into(), fnv(pending.as_bytes()));
    sums.insert("totals".into(), fnv(totals.as_bytes()));
    sums.insert("counters".into(), fnv(counters.as_bytes()));
    let mut meta = HashMap::new();
    meta.insert("magic".to_string(), MAGIC.to_string());
    meta.insert("format_version".into(), FORMAT_VERSION.to_string());
    meta.insert("config".into(), config);
    meta.insert("step".into(), c.step.to_string());
    meta.insert("next_node_id".into(), c.store.next_node_id().to_string());
    meta.insert("next_edge_id".into(), c.store.next_edge_id().to_string());
    meta.insert("allow_duplicate_edges".into(), dup.to_string());
    meta.insert("nodes".into(), nn.to_string());
    meta.insert("edges".into(), ne.to_string());
    meta.insert("pending".into(), pending);
    meta.insert("totals".into(), totals);
    meta.insert(
        "checksums".into(),
        serde_json::to_string(&sums).map_err(|e| CheckpointError::Invalid(format!("cannot encode checksums: {e}")))?,
    );
    Ok(safetensors::serialize(views, &Some(meta))?)
}

fn meta_u64(m: &HashMap<String, String>, key: &str) -> Result<u64, CheckpointError> {
    let v = m.get(key).ok_or_else(|| CheckpointError::Invalid(format!("the header has no `{key}`")))?;
    v.parse().map_err(|_| CheckpointError::Invalid(format!("the header's `{key}` is {v:?}, not a whole number")))
}

/// Read and check the header of the checkpoint at `path`: the length fields against the
/// file, the magic and the format version. Reads at most the header's bytes.
pub fn read_header(path: &Path) -> Result<Header, CheckpointError> {
    let io = |e: std::io::Error| CheckpointError::Io { path: path.to_path_buf(), source: e };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len < 8 {
        return Err(CheckpointError::NotACheckpoint(format!("{len} bytes, too short for a header")));
    }
    let mut n8 = [0u8; 8];
    f.read_exact(&mut n8).map_err(io)?;
    let n = u64::from_le_bytes(n8);
    if n > len - 8 || n > MAX_HEADER {
        return Err(CheckpointError::NotACheckpoint(format!(
            "its header length field says {n} bytes, but the file has {} bytes after it (and at most {MAX_HEADER} are accepted)",
            len - 8
        )));
    }
    let mut head = vec![0u8; n as usize];
    f.read_exact(&mut head).map_err(io)?;
    let json: serde_json::Value = serde_json::from_slice(&head)
        .map_err(|e| CheckpointError::NotACheckpoint(format!("its header is not JSON: {e}")))?;
    let metadata: HashMap<String, String> = json
        .get("__metadata__")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .ok_or_else(|| CheckpointError::NotACheckpoint("its header has no string metadata".into()))?;
    if metadata.get("magic").map(String::as_str) != Some(MAGIC) {
        return Err(CheckpointError::NotACheckpoint(format!("its header does not start with the magic `{MAGIC}`")));
    }
    let version = meta_u64(&metadata, "format_version")?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(CheckpointError::Version { found: version, supported: FORMAT_VERSION });
    }
    let h = Header {
        format_version: FORMAT_VERSION,
        config: metadata
            .get("config")
            .cloned()
            .ok_or_else(|| CheckpointError::Invalid("the header has no `config`".into()))?,
        step: meta_u64(&metadata, "step")?,
        next_node_id: meta_u64(&metadata, "next_node_id")?,
        next_edge_id: meta_u64(&metadata, "next_edge_id")?,
        allow_duplicate_edges: metadata.get("allow_duplicate_edges").map(String::as_str) == Some("true"),
        nodes: meta_u64(&metadata, "nodes")?,
        edges: meta_u64(&metadata, "edges")?,
        file_bytes: len,
        metadata,
    };
    // Every tensor's dtype, shape and extent, against the counts and the file, before any
    // column is read.
    let data_len = len - 8 - n;
    let mut end = 0u64;
    let groups = [("node", &NODE_COLUMNS[..], h.nodes), ("edge", &EDGE_COLUMNS[..], h.edges)];
    for (prefix, cols, count) in groups {
        for (name, dtype) in cols {
            let key = format!("{prefix}.{name}");
            let t = json.get(&key).ok_or_else(|| CheckpointError::Invalid(format!("the tensor `{key}` is missing")))?;
            let want_dtype = format!("{dtype:?}");
            if t.get("dtype").and_then(|d| d.as_str()) != Some(want_dtype.as_str()) {
                return Err(CheckpointError::Invalid(format!("the tensor `{key}` should have dtype {want_dtype}")));
            }
            let shape: Vec<u64> =
                t.get("shape").and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default();
            if shape != [count] {
                return Err(CheckpointError::Invalid(format!(
                    "the tensor `{key}` has shape {shape:?}, but the header counts {count} rows"
                )));
            }
            let off: Vec<u64> =
                t.get("data_offsets").and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default();
            let size = count.saturating_mul(dtype.size() as u64);
            if off.len() != 2 || off[1] < off[0] || off[1] - off[0] != size || off[1] > data_len {
                return Err(CheckpointError::Invalid(format!(
                    "the tensor `{key}` has offsets {off:?}: it should hold {size} bytes within the file's {data_len} bytes of data"
                )));
            }
            end = end.max(off[1]);
        }
    }
    if end != data_len {
        return Err(CheckpointError::Invalid(format!(
            "the file has {data_len} bytes of data, but its tensors end at {end}"
        )));
    }
    Ok(h)
}

fn check_sum(sums: &BTreeMap<String, String>, section: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
    match sums.get(section) {
        Some(want) if *want == fnv(bytes) => Ok(()),
        Some(want) => {
            Err(CheckpointError::Checksum { section: section.into(), stored: want.clone(), computed: fnv(bytes) })
        }
        None => Err(CheckpointError::Invalid(format!("the header has no checksum for `{section}`"))),
    }
}

fn column<T, const N: usize>(
    st: &SafeTensors<'_>,
    key: &str,
    f: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, CheckpointError> {
    let t = st.tensor(key)?;
    Ok(t.data().chunks_exact(N).map(|c| f(c.try_into().unwrap_or([0; N]))).collect())
}

/// Read, check and decode the checkpoint at `path`. `limits` caps the node and edge counts
/// (the configured capacities of the run that loads it), in addition to the capacities of
/// the checkpoint's own configuration.
pub fn read(path: &Path, limits: Option<(u64, u64)>) -> Result<Checkpoint, CheckpointError> {
    let h = read_header(path)?;
    let config = Config::from_toml_str(&h.config, "the checkpoint's configuration")?;
    let params = config.clone().validate()?;
    let (max_nodes, max_edges) = limits.unwrap_or((u64::MAX, u64::MAX));
    for (what, count, cap) in [
        ("nodes", h.nodes, params.graph.max_nodes.min(max_nodes)),
        ("edges", h.edges, params.graph.max_edges.min(max_edges)),
    ] {
        if count > cap {
            return Err(CheckpointError::Capacity { what, count, max: cap });
        }
    }
    // The sizes are checked against the file; now the file can be read whole.
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::Io { path: path.to_path_buf(), source: e })?;
    if bytes.len() as u64 != h.file_bytes {
        return Err(CheckpointError::Invalid("the file changed while it was read".into()));
    }
    let st = SafeTensors::deserialize(&bytes)?;
    let sums: BTreeMap<String, String> = h
        .metadata
        .get("checksums")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| CheckpointError::Invalid("the header has no readable `checksums`".into()))?;
    let text = |k: &str| h.metadata.get(k).cloned().unwrap_or_default();
    let (pending_text, totals_text) = (text("pending"), text("totals"));
    let counters = counters_text(h.step, h.next_node_id, h.next_edge_id, h.allow_duplicate_edges, h.nodes, h.edges);
    // The columns' checksums (a byte at a time: about 1 GB/s) on every thread, beside the
    // decoding; a checksum that fails is reported before anything the decoding finds, the
    // first section in file order where several fail.
    let columns: Vec<String> = NODE_COLUMNS
        .iter()
        .map(|(name, _)| format!("node.{name}"))
        .chain(EDGE_COLUMNS.iter().map(|(name, _)| format!("edge.{name}")))
        .collect();
    let check_columns = || -> Result<(), CheckpointError> {
        use rayon::prelude::*;
        let checked: Vec<Result<(), CheckpointError>> =
            columns.par_iter().map(|key| check_sum(&sums, key, st.tensor(key)?.data())).collect();
        checked.into_iter().collect()
    };
    let decode = || -> Result<(NodeTable, EdgeTable), CheckpointError> {
        let nodes = decode_nodes(&st, &params)?;
        let edges = decode_edges(&st, &nodes)?;
        Ok((nodes, edges))
    };
    let (checked, decoded) = rayon::join(check_columns, decode);
    checked?;
    check_sum(&sums, "config", h.config.as_bytes())?;
    check_sum(&sums, "pending", pending_text.as_bytes())?;
    check_sum(&sums, "totals", totals_text.as_bytes())?;
    check_sum(&sums, "counters", counters.as_bytes())?;
    let (nodes, edges) = decoded?;
    if nodes.ids().last().is_some_and(|&id| id >= h.next_node_id)
        || edges.last_id().is_some_and(|id| id >= h.next_edge_id)
    {
        return Err(CheckpointError::Invalid("an id is not below its next-id counter".into()));
    }
    let store = Store::from_parts(nodes, edges, h.next_node_id, h.next_edge_id, h.allow_duplicate_edges);
    store.check_invariants().map_err(|e| CheckpointError::Invalid(e.to_string()))?;

    let entries: Vec<(u64, Proposals)> = serde_json::from_str(&pending_text)
        .map_err(|e| CheckpointError::Invalid(format!("the pending proposals do not decode: {e}")))?;
    let mut pending = Pending::default();
    let mut last_due = 0;
    for (due, p) in entries {
        // Entries still queued are due at this step or later, in due order.
        if due < last_due || due < h.step {
            return Err(CheckpointError::Invalid(format!(
                "a pending entry is due at step {due}, out of order or past"
            )));
        }
        last_due = due;
        pending.push(due, p);
    }
    let totals: RunTotals = serde_json::from_str(&totals_text)
        .map_err(|e| CheckpointError::Invalid(format!("the run totals do not decode: {e}")))?;
    Ok(Checkpoint { config, step: h.step, store, pending, totals })
}

fn decode_nodes(st: &SafeTensors<'_>, params: &crate::Params) -> Result<NodeTable, CheckpointError> {
    let ids = column(st, "node.id", u64::from_le_bytes)?;
    let kinds = column(st, "node.kind", |b: [u8; 1]| b[0])?;
    let energy = column(st, "node.energy", f32::from_le_bytes)?;
    let subtype = column(st, "node.subtype", |b: [u8; 1]| b[0])?;
    let fertility = column(st, "node.fertility", |b: [u8; 1]| b[0])?;
    let growth = column(st, "node.growth_class", |b: [u8; 1]| b[0])?;
    let gain = column(st, "node.gain_class", |b: [u8; 1]| b[0])?;
    let max_out = column(st, "node.max_out_degree", u16::from_le_bytes)?;
    let parent = column(st, "node.parent", u64::from_le_bytes)?;
    let binding = column(st, "node.binding", u32::from_le_bytes)?;
    let born = column(st, "node.born_step", u64::from_le_bytes)?;
    let (floor, cap) = (params.energy.energy_floor, params.energy.energy_cap);
    let mut recs = Vec::with_capacity(ids.len());
    for r in 0..ids.len() {
        if r > 0 && ids[r] <= ids[r - 1] {
            return Err(CheckpointError::Invalid(format!("node ids do not ascend at row {r} ({})", ids[r])));
        }
        let kind = NodeKind::from_code(kinds[r])
            .ok_or_else(|| CheckpointError::Invalid(format!("node {} has the kind code {}", ids[r], kinds[r])))?;
        if !(energy[r] >= floor && energy[r] <= cap) {
            return Err(CheckpointError::Invalid(format!(
                "node {} has energy {}, outside [{floor}, {cap}]",
                ids[r], energy[r]
            )));
        }
        recs.push(NodeRecord {
            id: NodeId(ids[r]),
            kind,
            energy: energy[r],
            subtype: subtype[r],
            fertility: fertility[r],
            growth_class: growth[r],
            gain_class: gain[r],
            max_out_degree: max_out[r],
            parent: (parent[r] != NO_PARENT).then_some(NodeId(parent[r])),
            binding: binding[r],
            born_step: born[r],
        });
    }
    // Appended column by column (see `decode_edges`).
    let mut t = NodeTable::default();
    t.extend_records(&recs);
    Ok(t)
}

fn decode_edges(st: &SafeTensors<'_>, nodes: &NodeTable) -> Result<EdgeTable, CheckpointError> {
    let ids = column(st, "edge.id", u64::from_le_bytes)?;
    let src = column(st, "edge.src", u64::from_le_bytes)?;
    let dst = column(st, "edge.dst", u64::from_le_bytes)?;
    let kinds = column(st, "edge.kind", |b: [u8; 1]| b[0])?;
    let weight = column(st, "edge.weight", f32::from_le_bytes)?;
    let direction = column(st, "edge.direction", |b: [u8; 1]| b[0])?;
    let gate = column(st, "edge.gate", f32::from_le_bytes)?;
    let lr = column(st, "edge.plastic_lr", f32::from_le_bytes)?;
    let born = column(st, "edge.born_step", u64::from_le_bytes)?;
    // Built column by column (a push per row through the copy-on-write columns took a
    // quarter of the load of a 10 M-edge checkpoint), then moved into the table.
    let n = ids.len();
    let (mut src_row, mut dst_row) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut kind_dir, mut param) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for e in 0..n {
        if e > 0 && ids[e] <= ids[e - 1] {
            return Err(CheckpointError::Invalid(format!("edge ids do not ascend at row {e} ({})", ids[e])));
        }
        let bad = |what: &str| CheckpointError::Invalid(format!("edge {} has {what}", ids[e]));
        let kind = EdgeKind::from_code(kinds[e]).ok_or_else(|| bad("an invalid kind code"))?;
        let dir = Direction::from_code(direction[e]).ok_or_else(|| bad("an invalid direction code"))?;
        let s = nodes.row_of(NodeId(src[e])).ok_or_else(|| bad(&format!("source {}, which is not a node", src[e])))?;
        let d = nodes.row_of(NodeId(dst[e])).ok_or_else(|| bad(&format!("target {}, which is not a node", dst[e])))?;
        if !weight[e].is_finite() || !gate[e].is_finite() || !lr[e].is_finite() {
            return Err(bad("a weight, gate or learning rate that is not finite"));
        }
        src_row.push(s as u32);
        dst_row.push(d as u32);
        kind_dir.push(pack_kind_dir(kind, dir));
        param.push(param_of(kind, gate[e], lr[e]));
    }
    Ok(EdgeTable::from_columns(ids, (src_row, dst_row), kind_dir, (weight, param), &born))
}
