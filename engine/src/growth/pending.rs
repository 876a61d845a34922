//! The queue of proposals waiting for their due step.

use std::collections::VecDeque;

use super::Proposals;

/// Proposals keyed by the step at whose start they apply, in ascending due order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pending {
    entries: VecDeque<(u64, Proposals)>,
}

impl Pending {
    /// Queue `p` to apply at step `due`; dues must not decrease.
    pub fn push(&mut self, due: u64, p: Proposals) {
        debug_assert!(self.entries.back().is_none_or(|(d, _)| *d <= due), "pending dues must not decrease");
        self.entries.push_back((due, p));
    }
    /// Queue `p` to apply at step `due`, after every entry due at or before it (dues may
    /// be in any order).
    pub fn insert(&mut self, due: u64, p: Proposals) {
        let at = self.entries.partition_point(|(d, _)| *d <= due);
        self.entries.insert(at, (due, p));
    }
    /// Remove and merge every entry due at or before `step` (in due order).
    pub fn take_due(&mut self, step: u64) -> Option<Proposals> {
        let mut out: Option<Proposals> = None;
        while self.entries.front().is_some_and(|(d, _)| *d <= step) {
            let Some((_, p)) = self.entries.pop_front() else { break };
            match &mut out {
                None => out = Some(p),
                Some(o) => {
                    // The hints hold only where both had one per addition.
                    let hinted = o.row_hints().is_some() && p.row_hints().is_some();
                    o.culls.extend(p.culls);
                    o.culls.sort_unstable();
                    o.culls.dedup();
                    o.removes.extend(p.removes);
                    if hinted {
                        o.rows.0.extend(p.rows.0);
                    } else {
                        o.rows.0.clear();
                    }
                    o.adds.extend(p.adds);
                }
            }
        }
        out
    }
    /// The queued entries, in due order.
    pub fn entries(&self) -> impl Iterator<Item = &(u64, Proposals)> {
        self.entries.iter()
    }
    /// Number of queued entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Pending;
    use crate::growth::{EdgeProposal, Proposals, RowHints};
    use crate::store::{Direction, EdgeKind, NodeId};

    fn props(from_step: u64, adds: u64, hinted: bool) -> Proposals {
        let add = |i: u64| EdgeProposal {
            src: NodeId(i),
            dst: NodeId(i + 1),
            kind: EdgeKind::Excitatory,
            weight: 0.5,
            direction: Direction::FreeFlow,
            gate: 0.0,
            plastic_lr: 0.0,
        };
        let rows = if hinted { (0..adds as u32).map(|i| [i, i + 1]).collect() } else { Vec::new() };
        Proposals { from_step, adds: (0..adds).map(add).collect(), rows: RowHints(rows), ..Proposals::default() }
    }

    /// Entries due together merge their additions in due order, with their row hints where
    /// every entry had one per addition, else with none (never hints shifted against the
    /// additions).
    #[test]
    fn merged_entries_keep_row_hints_only_where_each_had_them() {
        for (hinted, want) in [([true, true, true], Some(9)), ([true, false, true], None), ([false, true, true], None)]
        {
            let mut q = Pending::default();
            for (k, &h) in hinted.iter().enumerate() {
                q.push(5, props(k as u64, 3, h));
            }
            let p = q.take_due(5).expect("due");
            assert_eq!(p.adds.len(), 9);
            assert_eq!(p.row_hints().map(<[_]>::len), want, "{hinted:?}");
            if let Some(h) = p.row_hints() {
                assert_eq!((h[3], h[8]), ([0, 1], [2, 3]), "in due order");
            }
        }
    }
}
