//! Experiment configuration: the raw TOML form ([`Config`]) and the validated form
//! ([`Params`]), which only [`Config::validate`] creates, so the model never sees an
//! unchecked value. Validation reports every problem at once, each naming the field, the
//! value, the allowed range and the unit.

mod paths;
mod sections;
mod validate;

pub use paths::absolute;
pub use sections::*;

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The configuration format this engine reads.
pub const FORMAT_VERSION: u32 = 1;

/// One problem found by validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// Dotted path of the field, for example `energy.energy_cap`.
    pub field: String,
    /// The value given.
    pub value: String,
    /// The rule it breaks (an allowed range or a relation).
    pub allowed: String,
    /// The unit of the field ("energy", "steps", "" for pure numbers).
    pub unit: &'static str,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}: must be {}", self.field, self.value, self.allowed)?;
        if !self.unit.is_empty() {
            write!(f, " ({})", self.unit)?;
        }
        Ok(())
    }
}

/// Errors of loading and validating a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is malformed or names an unknown field.
    #[error("cannot parse configuration {path}: {message}")]
    Parse {
        /// The path (or `<string>`).
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The configuration cannot be written as TOML (an integer above TOML's largest,
    /// `i64::MAX`, set from code rather than read from a file).
    #[error("cannot write the configuration as TOML: {0}")]
    Write(String),
    /// One or more values are out of range.
    #[error("invalid configuration ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" },
        .0.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
}

/// The raw experiment configuration, as written in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `[run]`.
    pub run: RunSection,
    /// `[graph]`.
    pub graph: GraphSection,
    /// `[energy]`.
    pub energy: EnergySection,
    /// `[transfer]`.
    pub transfer: TransferSection,
    /// `[spawn]`.
    pub spawn: SpawnSection,
    /// `[growth]`.
    pub growth: GrowthSection,
    /// `[input]`.
    pub input: InputSection,
    /// `[output]`.
    pub output: OutputSection,
    /// `[worker]`.
    pub worker: WorkerSection,
    /// `[faults]` (a testing aid).
    pub faults: FaultsSection,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            format_version: FORMAT_VERSION,
            run: RunSection::default(),
            graph: GraphSection::default(),
            energy: EnergySection::default(),
            transfer: TransferSection::default(),
            spawn: SpawnSection::default(),
            growth: GrowthSection::default(),
            input: InputSection::default(),
            output: OutputSection::default(),
            worker: WorkerSection::default(),
            faults: FaultsSection::default(),
        }
    }
}

/// Every real of `v` that is exactly an `f32` written as the shortest decimal that reads
/// back as that `f32`. The configuration's reals are `f32` (but `panic_probability`, left
/// as it is), which the TOML writer widens to `f64`: `0.05` would be written
/// `0.05000000074505806`. Reading either gives the same `f32`, so a run from the written
/// configuration is the same run.
fn shortest_reals(v: &mut toml::Value) {
    match v {
        toml::Value::Float(x) => {
            let f = *x as f32;
            if f64::from(f) == *x {
                if let Ok(short) = f.to_string().parse::<f64>() {
                    *x = short;
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(shortest_reals),
        toml::Value::Table(t) => {
            t.iter_mut().filter(|(k, _)| k.as_str() != "panic_probability").for_each(|(_, v)| shortest_reals(v))
        }
        _ => {}
    }
}

impl Config {
    /// Parse TOML text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.into(), message: e.to_string() })
    }
    /// Read and parse a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }
    /// The configuration as TOML text, every real written as its shortest decimal (see
    /// `shortest_reals`), in the order of the sections' fields. Fails only for a value TOML
    /// cannot hold: an integer above `i64::MAX` (which no file can set).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        let write = |e: toml::ser::Error| ConfigError::Write(e.to_string());
        let mut v = toml::Value::try_from(self).map_err(write)?;
        shortest_reals(&mut v);
        toml::to_string(&v).map_err(write)
    }
    /// Every rule validation checks, as (field, allowed, unit), in check order; relations
    /// name this configuration's values (docs/CONFIG.md lists them for the defaults).
    pub fn rules(&self) -> Vec<(String, String, &'static str)> {
        validate::rules(self)
    }
    /// Check every rule; the validated parameters, or every problem found.
    pub fn validate(self) -> Result<Params, ConfigError> {
        self.validate_with(Vec::new())
    }
    /// As [`Config::validate`], reporting `earlier` problems (for example those of
    /// [`Config::resolve_paths`]) first, with the others.
    pub fn validate_with(self, earlier: Vec<ConfigIssue>) -> Result<Params, ConfigError> {
        let mut issues = earlier;
        issues.extend(validate::issues(&self));
        if issues.is_empty() {
            Ok(Params(self))
        } else {
            Err(ConfigError::Invalid(issues))
        }
    }
}

/// A configuration that passed validation; the only form the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Params(Config);

impl std::ops::Deref for Params {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0
    }
}

impl Params {
    /// The configuration behind these parameters.
    pub fn config(&self) -> &Config {
        &self.0
    }
    /// Number of sensory nodes.
    pub fn n_sensory(&self) -> usize {
        self.graph.sensory_width as usize * self.graph.sensory_height as usize
    }
    /// Number of workspace nodes.
    pub fn n_workspace(&self) -> usize {
        self.graph.workspace_width as usize * self.graph.workspace_height as usize
    }
    /// Edge-kind weights normalised to sum 1, in kind code order.
    pub fn build_kind_weights(&self) -> [f32; 4] {
        let m = self.graph.build_kind_mix;
        normalise([m.excitatory, m.inhibitory, m.gated, m.plastic])
    }
    /// Direction weights normalised to sum 1, in direction code order.
    pub fn build_direction_weights(&self) -> [f32; 3] {
        let m = self.graph.build_direction_mix;
        normalise([m.one_way_out, m.one_way_in, m.free_flow])
    }
    /// The growth target mix in the order dynamic, workspace, sensory.
    pub fn target_mix(&self) -> [f32; 3] {
        let m = self.growth.target_mix;
        [m.dynamic, m.workspace, m.sensory]
    }
}

fn normalise<const N: usize>(w: [f32; N]) -> [f32; N] {
    let s: f32 = w.iter().sum();
    w.map(|x| x / s)
}
