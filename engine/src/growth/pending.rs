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
                    o.culls.extend(p.culls);
                    o.culls.sort_unstable();
                    o.culls.dedup();
                    o.removes.extend(p.removes);
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
