//! Identities and the small enumerations stored as `u8` codes in the columns.
//!
//! `NodeId` and `EdgeId` are assigned in increasing order and never reused; rows of the
//! tables keep ascending id order, so id-to-row is a binary search.

use serde::{Deserialize, Serialize};

/// Stable identity of a node (MODEL.md 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u64);

/// Stable identity of an edge (MODEL.md 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EdgeId(pub u64);

/// The `parent` column's code for "no parent".
pub const NO_PARENT: u64 = u64::MAX;
/// The class columns' code for "none" (non-dynamic nodes).
pub const NO_CLASS: u8 = u8::MAX;

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $c:expr => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[repr(u8)]
        pub enum $name { $($(#[$vm])* $v = $c),+ }
        impl $name {
            /// Every variant, in code order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The variant of a stored code, if it is one.
            pub fn from_code(c: u8) -> Option<Self> {
                match c { $($c => Some($name::$v),)+ _ => None }
            }
            /// The stored code.
            pub fn code(self) -> u8 { self as u8 }
            /// The name used in files (snake case).
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
            /// The variant named `s` (as [`Self::name`] writes it), if any.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
            /// Every name, for error messages.
            pub const NAMES: &'static str = concat!($($s, " "),+);
        }
    };
}

code_enum!(
    /// What a node is (MODEL.md 1.1).
    NodeKind {
        /// Input transducer bound to a pixel.
        Sensory = 0 => "sensory",
        /// Processing node; the only kind that dies.
        Dynamic = 1 => "dynamic",
        /// Output node bound to a workspace cell.
        Workspace = 2 => "workspace" }
);
code_enum!(
    /// How an edge acts (MODEL.md 1.2).
    EdgeKind {
        /// Positive weight: moves energy from source to target.
        Excitatory = 0 => "excitatory",
        /// Negative weight: drains the target.
        Inhibitory = 1 => "inhibitory",
        /// Positive weight, conducts only when the source's energy reaches the gate.
        Gated = 2 => "gated",
        /// Either sign, learns (MODEL.md 5.3).
        Plastic = 3 => "plastic" }
);
code_enum!(
    /// Which way an edge may conduct (MODEL.md 5.2).
    Direction {
        /// Conducts only under the direction rule's "out" condition.
        OneWayOut = 0 => "one_way_out",
        /// Conducts only under the direction rule's "in" condition.
        OneWayIn = 1 => "one_way_in",
        /// Always allowed.
        FreeFlow = 2 => "free_flow" }
);
code_enum!(
    /// Scales a dynamic node's transfer (MODEL.md 5.2); non-dynamic nodes store `NO_CLASS`.
    Subtype {
        /// Source scale 1.2, target scale 1.0 by default.
        Transmitter = 0 => "transmitter",
        /// Source scale 1.0, target scale 1.2 by default.
        Resonator = 1 => "resonator",
        /// Source scale 0.6, target scale 0.5 by default.
        Dampener = 2 => "dampener" }
);
code_enum!(
    /// Children per step a dynamic node may have (MODEL.md 5.6).
    Fertility {
        /// Up to two children per step.
        Fertile = 0 => "fertile",
        /// Up to one child per step.
        Normal = 1 => "normal",
        /// Never spawns.
        Sterile = 2 => "sterile" }
);
