//! The energy ledger of MODEL.md 5.7: every term is computed by the phase that causes it,
//! never derived from the change of stored values, and the check compares their sum with
//! the change of the total energy.

use serde::Serialize;

/// One step's ledger terms (energy units; `f64` sums of per-node `f32` terms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Ledger {
    /// Setting sensory nodes to this step's input (signed).
    pub input_set: f64,
    /// Holding sensory nodes at the input after transfer (signed).
    pub input_hold: f64,
    /// Paid by sources on excitatory-effect edges.
    pub paid: f64,
    /// Received by targets (after loss).
    pub received: f64,
    /// Burned by sources on edges into sensory nodes.
    pub burned: f64,
    /// Drained from targets by inhibitory-effect edges.
    pub inhibited: f64,
    /// Upkeep of dynamic nodes.
    pub upkeep: f64,
    /// Connection gain.
    pub gain: f64,
    /// Noise (signed).
    pub noise: f64,
    /// Workspace relaxation (signed).
    pub ws_relax: f64,
    /// Removed by the clamp at the cap.
    pub clamp_cap: f64,
    /// Added by the clamp at the floor.
    pub clamp_floor: f64,
    /// Summed energy of removed nodes (usually negative).
    pub dead: f64,
    /// Paid by parents for children.
    pub spawn_paid: f64,
    /// Energy children start with.
    pub spawn_created: f64,
}

/// The ledger check failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("energy ledger does not balance: total changed by {actual} but the terms sum to {predicted} (difference {diff}, tolerance {tolerance})")]
pub struct LedgerMismatch {
    /// `total(after) - total(before)`.
    pub actual: f64,
    /// The signed sum of the terms.
    pub predicted: f64,
    /// `|actual - predicted|`.
    pub diff: f64,
    /// The allowed difference.
    pub tolerance: f64,
}

impl Ledger {
    /// Term names, in the order of [`Ledger::values`] (also the metrics column names).
    pub const NAMES: [&'static str; 15] = [
        "input_set",
        "input_hold",
        "paid",
        "received",
        "burned",
        "inhibited",
        "upkeep",
        "gain",
        "noise",
        "ws_relax",
        "clamp_cap",
        "clamp_floor",
        "dead",
        "spawn_paid",
        "spawn_created",
    ];

    /// The terms in [`Ledger::NAMES`] order.
    pub fn values(&self) -> [f64; 15] {
        [
            self.input_set,
            self.input_hold,
            self.paid,
            self.received,
            self.burned,
            self.inhibited,
            self.upkeep,
            self.gain,
            self.noise,
            self.ws_relax,
            self.clamp_cap,
            self.clamp_floor,
            self.dead,
            self.spawn_paid,
            self.spawn_created,
        ]
    }

    /// `paid - received`: lost in transmission.
    pub fn dissipated(&self) -> f64 {
        self.paid - self.received
    }

    /// The change of the total that the terms predict (MODEL.md 5.7).
    pub fn predicted_change(&self) -> f64 {
        self.input_set + self.input_hold - self.paid + self.received - self.burned - self.inhibited - self.upkeep
            + self.gain
            + self.noise
            + self.ws_relax
            - self.clamp_cap
            + self.clamp_floor
            - self.dead
            - self.spawn_paid
            + self.spawn_created
    }

    /// Check the ledger against the totals before and after the step, within
    /// `1e-6 * max(1, |before|, |after|, sum of |terms|)`.
    pub fn check(&self, total_before: f64, total_after: f64) -> Result<(), LedgerMismatch> {
        let actual = total_after - total_before;
        let predicted = self.predicted_change();
        let sum_abs: f64 = self.values().iter().map(|v| v.abs()).sum();
        let tolerance = 1e-6 * 1f64.max(total_before.abs()).max(total_after.abs()).max(sum_abs);
        let diff = (actual - predicted).abs();
        if diff <= tolerance {
            Ok(())
        } else {
            Err(LedgerMismatch { actual, predicted, diff, tolerance })
        }
    }

    /// Add another ledger's terms (chunked reductions, run totals).
    pub fn add(&mut self, o: &Ledger) {
        self.input_set += o.input_set;
        self.input_hold += o.input_hold;
        self.paid += o.paid;
        self.received += o.received;
        self.burned += o.burned;
        self.inhibited += o.inhibited;
        self.upkeep += o.upkeep;
        self.gain += o.gain;
        self.noise += o.noise;
        self.ws_relax += o.ws_relax;
        self.clamp_cap += o.clamp_cap;
        self.clamp_floor += o.clamp_floor;
        self.dead += o.dead;
        self.spawn_paid += o.spawn_paid;
        self.spawn_created += o.spawn_created;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_ledger_passes_and_perturbed_fails() {
        let l = Ledger { input_set: 5.0, paid: 3.0, received: 2.7, upkeep: 1.0, ..Ledger::default() };
        let before = 100.0;
        let after = before + 5.0 - 3.0 + 2.7 - 1.0;
        assert!(l.check(before, after).is_ok());
        let mut bad = l;
        bad.received += 0.01;
        let e = bad.check(before, after).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("energy ledger does not balance"), "{e}");
    }
}
