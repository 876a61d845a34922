//! Each node's children, for a node removal (MODEL.md 5.5: children whose parent died get
//! `parent = None`): the removal visits the removed nodes' children instead of testing every
//! row's parent.

use std::collections::HashMap;

use super::NO_PARENT;

/// Each parent's children by id: exactly the rows whose parent column holds that parent,
/// among the rows of ids below `upto` (rows added since are taken in by the next removal,
/// so that adding a row costs nothing here). Built from the columns when a removal first
/// needs it; not copied with the table (a copy that never removes a node, as a published
/// snapshot, never builds it), and forgotten where ids or parents are rewritten in place.
#[derive(Debug, Default)]
pub(super) struct Children(Option<Index>);

/// The built index.
#[derive(Debug, Default)]
struct Index {
    kids: HashMap<u64, Vec<u64>>,
    /// Rows of ids from here on are not in `kids` yet.
    upto: u64,
}

impl Clone for Children {
    fn clone(&self) -> Self {
        Self(None)
    }
}

impl Children {
    /// Forget the index (ids or parents were rewritten in place); a removal builds it again.
    pub fn forget(&mut self) {
        self.0 = None;
    }

    /// The removal of the rows `rows` (ascending, distinct) of a table with these `ids`
    /// (ascending) and `parents` (before the removal): each removed row leaves its parent's
    /// children, and the children of the removed rows that are not removed too are returned
    /// (their ids, in no particular order): the rows whose parent the removal clears.
    pub fn remove(&mut self, rows: &[usize], ids: &[u64], parents: &[u64]) -> Vec<u64> {
        let index = self.0.get_or_insert_with(Index::default);
        index.catch_up(ids, parents);
        let kids = &mut index.kids;
        for &r in rows {
            let (id, p) = (ids[r], parents[r]);
            if let Some(list) = kids.get_mut(&p) {
                if let Some(k) = list.iter().position(|&c| c == id) {
                    list.swap_remove(k);
                }
                if list.is_empty() {
                    kids.remove(&p);
                }
            }
        }
        let mut orphans = Vec::new();
        for &r in rows {
            if let Some(list) = kids.remove(&ids[r]) {
                orphans.extend(list);
            }
        }
        orphans
    }

    /// Whether the index, where built, holds exactly the children the columns give for the
    /// rows it has taken in.
    pub fn matches(&self, ids: &[u64], parents: &[u64]) -> bool {
        let Some(index) = &self.0 else { return true };
        let mut want = Index::default();
        let upto = ids.partition_point(|&x| x < index.upto);
        want.catch_up(&ids[..upto], &parents[..upto]);
        pairs(&index.kids) == pairs(&want.kids)
    }

    /// Bytes held (about: the map's entries and the children's lists).
    pub fn resident_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |index| {
            let m = &index.kids;
            m.capacity() * (std::mem::size_of::<(u64, Vec<u64>)>() + 1)
                + m.values().map(|v| v.capacity() * 8).sum::<usize>()
        })
    }
}

impl Index {
    /// Take in the rows of ids from `upto` on (the last rows: ids ascend).
    fn catch_up(&mut self, ids: &[u64], parents: &[u64]) {
        let from = ids.partition_point(|&x| x < self.upto);
        for (&id, &p) in ids[from..].iter().zip(&parents[from..]) {
            if p != NO_PARENT {
                self.kids.entry(p).or_default().push(id);
            }
        }
        if let Some(&last) = ids.last() {
            self.upto = self.upto.max(last.saturating_add(1));
        }
    }
}

/// Every (parent, child) pair of an index, sorted.
fn pairs(kids: &HashMap<u64, Vec<u64>>) -> Vec<(u64, u64)> {
    let mut pairs: Vec<(u64, u64)> = kids.iter().flat_map(|(&p, list)| list.iter().map(move |&c| (p, c))).collect();
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use crate::store::{NodeId, NodeRecord, Store, NO_PARENT};
    use std::collections::HashSet;

    /// Rounds of births (parents drawn among the living) and removals: after each removal every row's parent is the one it was born
    /// with unless that node was removed, and the index matches the columns; a table copied
    /// between removals (whose copy has no index) gives the same parents.
    #[test]
    fn a_removal_clears_exactly_the_parents_that_died() {
        let mut s = Store::new(false);
        let mut next = crate::rng::test_words(17);
        let (mut born_with, mut gone) = (Vec::new(), HashSet::new());
        for round in 0..40u64 {
            let n = s.nodes().len() as u64;
            let births: Vec<NodeRecord> = (0..60)
                .map(|_| {
                    // A living node, or none (the store's invariant: a parent is alive).
                    let ids = s.nodes().ids();
                    let p = (next() % 3 != 0 && !ids.is_empty()).then(|| ids[(next() % ids.len() as u64) as usize]);
                    NodeRecord { parent: p.map(NodeId), ..NodeRecord::dynamic_for_tests() }
                })
                .collect();
            born_with.extend(births.iter().map(|r| r.parent.map_or(NO_PARENT, |p| p.0)));
            s.add_nodes(&births);
            if round % 7 == 3 {
                s = s.clone();
            }
            let dead: Vec<usize> = (0..(n / 8).max(1)).map(|_| (next() % (n + 60)) as usize).collect();
            let mut rows = dead.clone();
            rows.sort_unstable();
            rows.dedup();
            gone.extend(rows.iter().map(|&r| s.nodes().ids()[r]));
            s.remove_node_rows(&dead);
            let nodes = s.nodes();
            for (&id, &p) in nodes.ids().iter().zip(nodes.parents()) {
                let want = born_with[id as usize];
                let want = if gone.contains(&want) { NO_PARENT } else { want };
                assert_eq!(p, want, "round {round}, node {id}");
            }
            assert!(nodes.children.matches(nodes.ids(), nodes.parents()), "round {round}");
        }
        assert!(gone.len() > 500 && born_with.iter().filter(|&&p| p != NO_PARENT).count() > 1000);
    }
}
