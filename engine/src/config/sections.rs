//! The raw configuration: one serde struct per TOML section, every field defaulting to
//! MODEL.md section 2. Unknown fields are errors. Units are "energy" for energy units.

use serde::{Deserialize, Serialize};

/// `[run]`: how long, with which seed, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSection {
    /// The step at which the run ends (steps are numbered from 0). Range 0..=4e9.
    pub steps: u64,
    /// The one seed of every random draw.
    pub seed: u64,
    /// Rayon threads for the CPU stepper; 0 means one per core. Range 0..=1024. Where there
    /// is one thread for each core the process may use and no connection worker thread,
    /// each is pinned to its own core.
    pub threads: u32,
    /// `cpu` (the only backend compiled in by default), `wgpu`, `hip` or `auto`.
    pub backend: String,
    /// Where the growth proposals of MODEL.md section 6 are computed: `inline` (on the
    /// stepper's threads, after each step) or `thread` (a connection worker thread, from a
    /// copy of the state); both give the same results.
    pub worker: String,
    /// Removed edges stay in the edge table as tombstones until they pass this fraction of
    /// its rows; then the table is compacted (every row after the first tombstone moves).
    /// Results never depend on it, only speed and memory: a larger fraction compacts less
    /// often and holds more dead rows meanwhile. 0 compacts at every removal, 1 only when
    /// nodes are removed. Range 0..=1.
    pub max_tombstone_fraction: f32,
}
impl Default for RunSection {
    fn default() -> Self {
        Self {
            steps: 1000,
            seed: 0,
            threads: 0,
            backend: "cpu".into(),
            worker: "inline".into(),
            max_tombstone_fraction: crate::store::DEFAULT_MAX_TOMBSTONE_FRACTION as f32,
        }
    }
}

/// `[graph]`: sizes, capacities, initial wiring and new-edge attributes (MODEL.md 1, 2, 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphSection {
    /// Sensory grid width (pixels).
    pub sensory_width: u32,
    /// Sensory grid height (pixels).
    pub sensory_height: u32,
    /// Initial dynamic nodes.
    pub n_dynamic: u32,
    /// Workspace grid width (cells).
    pub workspace_width: u32,
    /// Workspace grid height (cells).
    pub workspace_height: u32,
    /// Hard node capacity; an initial graph above it is rejected.
    pub max_nodes: u64,
    /// Hard edge capacity, including the initial graph.
    pub max_edges: u64,
    /// Initial out-edges per sensory node (to dynamic nodes).
    pub sensory_fanout: u32,
    /// Initial in-edges per workspace node (from dynamic nodes).
    pub workspace_in_degree: u32,
    /// Initial out-edges per dynamic node (to other dynamic nodes).
    pub dynamic_out_degree: u32,
    /// `max_out_degree` of initial dynamic nodes, inclusive range.
    pub max_out_degree_initial: [u32; 2],
    /// `max_out_degree` of children, inclusive range.
    pub max_out_degree_child: [u32; 2],
    /// `max_out_degree` of sensory nodes. Range 0..=65535.
    pub sensory_max_out_degree: u32,
    /// Allow more than one edge per ordered pair.
    pub allow_duplicate_edges: bool,
    /// Initial dynamic energy, uniform range (energy).
    pub initial_dynamic_energy: [f32; 2],
    /// Initial workspace energy, uniform range (energy).
    pub initial_workspace_energy: [f32; 2],
    /// Weight magnitude range of new edges other than sensory ones at build.
    pub weight_range: [f32; 2],
    /// Weight magnitude range of sensory-to-dynamic edges at build.
    pub sensory_weight_range: [f32; 2],
    /// Relative weights of the edge kinds drawn at build.
    pub build_kind_mix: KindMix,
    /// Relative weights of the directions drawn at build.
    pub build_direction_mix: DirectionMix,
    /// Gates are U(0.1, 1.0) times this (energy).
    pub gate_scale: f32,
    /// Learning-rate range of new Plastic edges.
    pub plastic_lr_range: [f32; 2],
    /// Load the initial graph from this edge list (`.txt`, `.edges`, `.csv`) or GraphML
    /// (`.graphml`) file instead of generating it (docs/CONFIG.md, "Initial graph files");
    /// relative to the configuration file, inside its directory tree (or given with
    /// `--initial-graph`). Default "" (generate).
    pub initial_graph: String,
}
impl Default for GraphSection {
    fn default() -> Self {
        Self {
            sensory_width: 64,
            sensory_height: 64,
            n_dynamic: 10_000,
            workspace_width: 16,
            workspace_height: 16,
            max_nodes: 1_000_000,
            max_edges: 100_000_000,
            sensory_fanout: 3,
            workspace_in_degree: 4,
            dynamic_out_degree: 1,
            max_out_degree_initial: [5, 25],
            max_out_degree_child: [1, 5],
            sensory_max_out_degree: 65_535,
            allow_duplicate_edges: false,
            initial_dynamic_energy: [12.2, 85.4],
            initial_workspace_energy: [24.4, 73.2],
            weight_range: [0.05, 0.20],
            sensory_weight_range: [0.10, 0.30],
            build_kind_mix: KindMix::default(),
            build_direction_mix: DirectionMix::default(),
            gate_scale: 1.0,
            plastic_lr_range: [0.001, 0.05],
            initial_graph: String::new(),
        }
    }
}

/// Relative weights of the four edge kinds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KindMix {
    /// Excitatory weight.
    pub excitatory: f32,
    /// Inhibitory weight.
    pub inhibitory: f32,
    /// Gated weight.
    pub gated: f32,
    /// Plastic weight.
    pub plastic: f32,
}
impl Default for KindMix {
    fn default() -> Self {
        Self { excitatory: 1.0, inhibitory: 1.0, gated: 1.0, plastic: 1.0 }
    }
}

/// Relative weights of the three directions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectionMix {
    /// OneWayOut weight.
    pub one_way_out: f32,
    /// OneWayIn weight.
    pub one_way_in: f32,
    /// FreeFlow weight.
    pub free_flow: f32,
}
impl Default for DirectionMix {
    fn default() -> Self {
        Self { one_way_out: 1.0, one_way_in: 1.0, free_flow: 1.0 }
    }
}

/// Per-subtype scale factors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtypeScale {
    /// Transmitter.
    pub transmitter: f32,
    /// Resonator.
    pub resonator: f32,
    /// Dampener.
    pub dampener: f32,
}
impl SubtypeScale {
    /// The scales in subtype code order.
    pub fn as_array(&self) -> [f32; 3] {
        [self.transmitter, self.resonator, self.dampener]
    }
}

/// `[energy]`: bounds, upkeep, gain, noise, workspace relaxation (MODEL.md 5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnergySection {
    /// Upper clamp (energy), > 0.
    pub energy_cap: f32,
    /// Lower clamp (energy), < min(0, energy_cap); a dynamic node at the floor dies.
    pub energy_floor: f32,
    /// Dynamic upkeep per out-edge per step (energy).
    pub maintenance_per_out_edge: f32,
    /// Dynamic upkeep per node per step (energy).
    pub maintenance_per_node: f32,
    /// Seed knob: gain per out-edge per step by gain class.
    pub connection_gain: bool,
    /// Gain per out-edge per step of each gain class (energy).
    pub connection_gain_values: Vec<f32>,
    /// Standard deviation of the per-step noise on dynamic nodes (energy).
    pub noise_sigma: f32,
    /// Workspace relaxation target (energy).
    pub workspace_target: f32,
    /// Workspace relaxation rate per step, in [0, 1].
    pub workspace_rate: f32,
    /// A workspace node at or below this (energy) does not relax.
    pub workspace_min_active: f32,
}
impl Default for EnergySection {
    fn default() -> Self {
        Self {
            energy_cap: 244.0,
            energy_floor: -10.0,
            maintenance_per_out_edge: 0.122,
            maintenance_per_node: 0.05,
            connection_gain: false,
            connection_gain_values: vec![1.0, 0.1, 0.01],
            noise_sigma: 0.01,
            workspace_target: 50.0,
            workspace_rate: 0.1,
            workspace_min_active: 0.1,
        }
    }
}

/// The direction rule of MODEL.md 5.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionRule {
    /// OneWayOut only from sensory sources, OneWayIn only into workspace targets.
    ByKind,
    /// OneWayOut only from the target's parent, OneWayIn only from others.
    ByLineage,
}

/// `[transfer]`: the transfer phase and plasticity (MODEL.md 5.2, 5.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferSection {
    /// Fraction of source energy an edge of weight 1 moves per step, >= 0.
    pub transfer_capacity: f32,
    /// Fraction of a payment that arrives, in [0, 1].
    pub transmission_loss: f32,
    /// Cap on a source's outgoing effects as a fraction of its energy, in [0, 1].
    pub max_outflow_fraction: f32,
    /// Source scale by subtype.
    pub subtype_src_scale: SubtypeScale,
    /// Target scale by subtype.
    pub subtype_dst_scale: SubtypeScale,
    /// Fraction of the raw amount a source loses per edge into a sensory node, >= 0.
    pub sensory_burn: f32,
    /// `by_kind` or `by_lineage`.
    pub direction_rule: DirectionRule,
    /// Hebbian update of Plastic edges.
    pub plasticity: bool,
    /// Clamp of plastic weights.
    pub plastic_weight_range: [f32; 2],
}
impl Default for TransferSection {
    fn default() -> Self {
        Self {
            transfer_capacity: 0.3,
            transmission_loss: 0.9,
            max_outflow_fraction: 1.0,
            subtype_src_scale: SubtypeScale { transmitter: 1.2, resonator: 1.0, dampener: 0.6 },
            subtype_dst_scale: SubtypeScale { transmitter: 1.0, resonator: 1.2, dampener: 0.5 },
            sensory_burn: 0.5,
            direction_rule: DirectionRule::ByKind,
            plasticity: true,
            plastic_weight_range: [-1.0, 1.0],
        }
    }
}

/// Which node kinds may spawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpawnFrom {
    /// Dynamic nodes only.
    Dynamic,
    /// Every kind (seed behaviour).
    Any,
}

/// `[spawn]`: births (MODEL.md 5.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpawnSection {
    /// Spawn only if energy > this (energy); >= spawn_cost.
    pub spawn_threshold: f32,
    /// Paid by the parent per child (energy), > 0.
    pub spawn_cost: f32,
    /// Spawn only while out-degree < max_out_degree.
    pub spawn_requires_free_slot: bool,
    /// Share of the spawn cost a child starts with, in [0, 1].
    pub child_energy_fraction: f32,
    /// A new child gets one edge from its parent.
    pub wire_children: bool,
    /// Births per step at most.
    pub max_births_per_step: u32,
    /// `dynamic` or `any`.
    pub spawn_from: SpawnFrom,
}
impl Default for SpawnSection {
    fn default() -> Self {
        Self {
            spawn_threshold: 20.0,
            spawn_cost: 19.52,
            spawn_requires_free_slot: true,
            child_energy_fraction: 0.5,
            wire_children: true,
            max_births_per_step: 80,
            spawn_from: SpawnFrom::Dynamic,
        }
    }
}

/// One growth class: proposal probability and period (steps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthClass {
    /// Probability of a proposal at a due step, in [0, 1].
    pub p: f32,
    /// Period in steps, >= 1.
    pub every: u32,
}

/// Target-kind mix of a dynamic node's growth proposal; sums to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetMix {
    /// Share of dynamic targets.
    pub dynamic: f32,
    /// Share of workspace targets.
    pub workspace: f32,
    /// Share of sensory targets.
    pub sensory: f32,
}

/// `[growth]`: the connection worker's rules (MODEL.md 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrowthSection {
    /// Growth classes (drawn uniformly for dynamic nodes).
    pub classes: Vec<GrowthClass>,
    /// Target kind of a dynamic node's proposal.
    pub target_mix: TargetMix,
    /// Probability a grown edge is FreeFlow, in [0, 1].
    pub freeflow_p: f32,
    /// Per step, per sensory node, chance to propose an edge to a dynamic node.
    pub sensory_growth_p: f32,
    /// Steps between cull rounds, >= 1.
    pub cull_every: u32,
    /// Additions applied per step at most.
    pub max_new_edges_per_step: u32,
    /// Culls proposed per round at most.
    pub max_culled_edges_per_step: u32,
    /// Culling runs only when the edge count reaches max(floor, per_dynamic x dynamic count).
    pub cull_min_edges_floor: u64,
    /// See `cull_min_edges_floor`; >= 0.
    pub cull_min_edges_per_dynamic: f32,
    /// Plastic edges with |w| below this are culled.
    pub min_abs_weight: f32,
    /// Proposals from the snapshot after step k apply at step k + 1 + lag.
    pub worker_lag_steps: u32,
}
impl Default for GrowthSection {
    fn default() -> Self {
        Self {
            classes: vec![
                GrowthClass { p: 0.01, every: 5 },
                GrowthClass { p: 0.02, every: 10 },
                GrowthClass { p: 0.03, every: 20 },
            ],
            target_mix: TargetMix { dynamic: 0.93, workspace: 0.03, sensory: 0.04 },
            freeflow_p: 0.8,
            sensory_growth_p: 0.001,
            cull_every: 3,
            max_new_edges_per_step: 500,
            max_culled_edges_per_step: 500,
            cull_min_edges_floor: 100,
            cull_min_edges_per_dynamic: 0.5,
            min_abs_weight: 0.01,
            worker_lag_steps: 1,
        }
    }
}

/// The synthetic input patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// A vertical bar `bar_width` pixels wide, value 1 on 0, starting at column 0 and moving
    /// one column right per step, wrapping.
    MovingBar,
    /// Every pixel at `value`.
    Constant,
    /// Squares `square` pixels wide, alternately 1 and 0 (the top-left square is 1); the
    /// pattern inverts every `flip_every` steps (0: never).
    Checkerboard,
    /// Every pixel an independent uniform value in [0, 1) each step, drawn from the run's
    /// generator (stream `InputNoise`, entity = pixel index), so it is reproducible.
    Noise,
    /// The image file at `path` (PNG or JPEG), or the images of the directory at `path`
    /// played in file-name order, each for `frame_steps` steps, looping. Colour is reduced
    /// to luminance; a frame whose size differs from the sensory grid is an error unless
    /// `resize` is set.
    Image,
}

/// `[input]`: the sensory input and its scaling (MODEL.md 5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputSection {
    /// The pattern: `moving_bar`, `constant`, `checkerboard`, `noise` or `image`.
    /// Default `moving_bar`.
    pub pattern: Pattern,
    /// Width of the moving bar (pixels). Default 8; 1 to 65,536.
    pub bar_width: u32,
    /// Value of the constant pattern (pixel value). Default 0.5; 0 to 1.
    pub value: f32,
    /// Side of a checkerboard square (pixels). Default 8; 1 to 65,536.
    pub square: u32,
    /// The checkerboard inverts every this many steps (steps; 0: never). Default 0.
    pub flip_every: u32,
    /// The image file or directory of images of the `image` pattern; relative to the
    /// configuration file, inside its directory tree (or given with `--input`). Default "".
    pub path: String,
    /// Steps each image of a directory is shown (steps). Default 1; 1 to 2^32 - 1.
    pub frame_steps: u32,
    /// Resize images to the sensory grid (bilinear) instead of refusing other sizes.
    /// Default false.
    pub resize: bool,
    /// Input gain (energy per unit pixel value).
    pub sensory_gain: f32,
    /// Input bias (energy).
    pub sensory_bias: f32,
    /// Steps of linear warm-up of the input, >= 1.
    pub warmup_steps: u32,
}
impl Default for InputSection {
    fn default() -> Self {
        Self {
            pattern: Pattern::MovingBar,
            bar_width: 8,
            value: 0.5,
            square: 8,
            flip_every: 0,
            path: String::new(),
            frame_steps: 1,
            resize: false,
            sensory_gain: 30.0,
            sensory_bias: 15.0,
            warmup_steps: 60,
        }
    }
}

/// Format of the metric plots a run draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlotFormat {
    /// No plots.
    #[default]
    None,
    /// PNG images.
    Png,
    /// SVG drawings.
    Svg,
}

/// Format of the final graph a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphFormat {
    /// No graph file.
    #[default]
    None,
    /// GraphML (networkx, Gephi, yEd).
    Graphml,
    /// Graphviz DOT.
    Dot,
}

/// `[output]`: what a run writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSection {
    /// One metrics row every this many steps, >= 1.
    pub metrics_every: u32,
    /// A checkpoint every this many steps (steps; 0: none), in `checkpoints/` of the run
    /// directory (docs/CHECKPOINTS.md).
    pub checkpoint_every: u64,
    /// Checkpoints kept per run: older ones are removed once a newer one is complete; 1 to
    /// 1,000,000.
    pub keep_last: u32,
    /// The run directory; relative to the configuration file, inside its directory tree.
    /// Default "": `runs/<configuration name>-<UTC timestamp>` in the working directory.
    /// `--out` overrides it.
    pub dir: String,
    /// An image of the workspace grid every this many steps (steps; 0: none), in
    /// `workspace/` of the run directory. Default 0.
    pub snapshot_every: u64,
    /// Plots of the main metrics over time when the run ends, in `plots/`: `none`, `png`
    /// or `svg`. Default `none`.
    pub plots: PlotFormat,
    /// The final graph as `graph.graphml` or `graph.dot`: `none`, `graphml` or `dot`.
    /// Default `none`.
    pub graph: GraphFormat,
    /// Write `graph-stats.json` (degree distributions by kind, strongly connected
    /// components, workspace reachability) for the final graph. Default false.
    pub graph_stats: bool,
}
impl Default for OutputSection {
    fn default() -> Self {
        Self {
            metrics_every: 1,
            checkpoint_every: 0,
            keep_last: 3,
            dir: String::new(),
            snapshot_every: 0,
            plots: PlotFormat::None,
            graph: GraphFormat::None,
            graph_stats: false,
        }
    }
}

/// `[worker]`: the connection worker thread's supervision (used with `run.worker = "thread"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSection {
    /// How long the stepper waits for one round of proposals before it counts the worker as
    /// hung and restarts it (milliseconds); 1 to 3,600,000.
    pub deadline_ms: u64,
    /// At most this many restarts within `restart_window_steps` steps; 0 to 1,000,000.
    pub max_restarts: u32,
    /// The window of the restart budget (steps, so that it does not depend on how loaded the
    /// machine is); >= 1.
    pub restart_window_steps: u64,
    /// Past the budget: `continue` (the run goes on without growth, reported in the metrics
    /// and the log) or `stop` (the run ends with an error; the summary is still written).
    pub when_exhausted: String,
    /// The first restart's delay (milliseconds); it doubles with each consecutive restart up
    /// to `backoff_max_ms`, with up to 50% random jitter added; 0 to 60,000.
    pub backoff_ms: u64,
    /// The longest restart delay (milliseconds); >= `backoff_ms`, at most 600,000.
    pub backoff_max_ms: u64,
}
impl Default for WorkerSection {
    fn default() -> Self {
        Self {
            deadline_ms: 30_000,
            max_restarts: 10,
            restart_window_steps: 1000,
            when_exhausted: "continue".into(),
            backoff_ms: 10,
            backoff_max_ms: 2000,
        }
    }
}

/// `[faults]`: a testing aid that makes the connection worker fail on purpose, to see the
/// supervisor at work. Each fault fires on the first attempt of a round only (a restarted
/// worker recomputes the round normally). Empty by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsSection {
    /// Panic in the rounds of steps that are positive multiples of this (0: never).
    pub panic_every: u64,
    /// Panic in the rounds of these steps.
    pub panic_at: Vec<u64>,
    /// Return an error in the rounds of these steps.
    pub error_at: Vec<u64>,
    /// Hang (sleep three deadlines) in the rounds of these steps.
    pub hang_at: Vec<u64>,
    /// End the worker thread without answering (as if it were killed) in the rounds of
    /// these steps.
    pub exit_at: Vec<u64>,
    /// Panic with this probability per round (a draw from the step and the seed); in [0, 1].
    pub panic_probability: f64,
}
