//! Compressed rows of edge rows grouped by one endpoint's node row.
//!
//! Within a node's group the edge rows ascend, which is ascending `EdgeId` order: the
//! summation order of MODEL.md section 5 comes for free.

/// One compressed-row view: `items[offsets[n]..offsets[n + 1]]` are the edge rows of node row `n`.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Csr {
    /// Group `0..key.len()` edge rows by `key[e]` (a node row below `n_nodes`), stable.
    pub fn build(n_nodes: usize, key: &[u32]) -> Self {
        Self::build_live(n_nodes, key, &[])
    }

    /// [`Csr::build`] leaving out the rows set in the bit words `dead` (bit `e % 64` of word
    /// `e / 64`; rows past its end are kept): the edge table's tombstones.
    pub fn build_live(n_nodes: usize, key: &[u32], dead: &[u64]) -> Self {
        let mut c = Self::default();
        c.rebuild_live(n_nodes, key, dead);
        c
    }

    /// [`Csr::build`] into the existing buffers (a counting sort; no allocation once the
    /// buffers are large enough).
    pub fn rebuild(&mut self, n_nodes: usize, key: &[u32]) {
        self.rebuild_live(n_nodes, key, &[]);
    }

    /// [`Csr::build_live`] into the existing buffers.
    pub fn rebuild_live(&mut self, n_nodes: usize, key: &[u32], dead: &[u64]) {
        let any_dead = dead.iter().any(|&w| w != 0);
        let live = |e: usize| !any_dead || !super::tombs::bit(dead, e);
        let offsets = &mut self.offsets;
        offsets.clear();
        offsets.resize(n_nodes + 1, 0);
        let mut n_live = 0usize;
        for (e, &k) in key.iter().enumerate() {
            if live(e) {
                offsets[k as usize + 1] += 1;
                n_live += 1;
            }
        }
        for i in 0..n_nodes {
            offsets[i + 1] += offsets[i];
        }
        self.items.clear();
        self.items.resize(n_live, 0);
        // The offsets double as cursors, shifted back by one row afterwards.
        for (e, &k) in key.iter().enumerate() {
            if live(e) {
                let c = &mut offsets[k as usize];
                self.items[*c as usize] = e as u32;
                *c += 1;
            }
        }
        for i in (0..n_nodes).rev() {
            offsets[i + 1] = offsets[i];
        }
        offsets[0] = 0;
    }
    /// Bytes allocated for the view (by capacity).
    pub fn resident_bytes(&self) -> usize {
        (self.offsets.capacity() + self.items.capacity()) * std::mem::size_of::<u32>()
    }
    /// Bring the view up to date after nodes and edges were only appended since it was
    /// built: the node rows grow to `n_nodes` (new rows have no edges yet, unless `key` says
    /// so) and the edge rows `first..key.len()` join their groups (`first`: the edge rows
    /// when it was built). Appended edges have the largest rows, so each goes at the end of
    /// its group: the same result as [`Csr::rebuild`], moving each run of unchanged groups once.
    /// Rows set in the bit words `dead` are left out.
    pub fn append(&mut self, n_nodes: usize, key: &[u32], first: usize, dead: &[u64]) {
        let old_edges = self.items.len();
        let old_nodes = self.n_nodes();
        debug_assert!(n_nodes >= old_nodes && key.len() >= first, "append only grows the view");
        let total = old_edges as u32;
        self.offsets.resize(n_nodes + 1, total);
        // The appended edges by group (a stable sort keeps edge row order within a group).
        let mut adds: Vec<(u32, u32)> =
            (first..key.len()).filter(|&e| !super::tombs::bit(dead, e)).map(|e| (key[e], e as u32)).collect();
        adds.sort_by_key(|&(k, _)| k);
        self.items.resize(old_edges + adds.len(), 0);
        // From the last insertion to the first: the items after group `k`'s end move up by
        // the number of appended edges in groups up to `k`.
        let mut end = old_edges;
        for (j, &(k, e)) in adds.iter().enumerate().rev() {
            let pos = self.offsets[k as usize + 1] as usize;
            self.items.copy_within(pos..end, pos + j + 1);
            self.items[pos + j] = e;
            end = pos;
        }
        // Offsets: group `n` starts after the appended edges of the groups before it.
        let mut j = 0;
        for (n, o) in self.offsets.iter_mut().enumerate() {
            while j < adds.len() && (adds[j].0 as usize) < n {
                j += 1;
            }
            *o += j as u32;
        }
    }

    /// Drop the edge rows set in the bit words `dead` from their groups, keeping the order
    /// of the rest: one forward pass over the items (the same result as a rebuild that leaves
    /// them out, without the counting sort's scattered writes).
    pub fn remove_marked(&mut self, dead: &[u64]) {
        let mut w = 0usize;
        let mut start = 0usize;
        for g in 0..self.n_nodes() {
            let end = self.offsets[g + 1] as usize;
            for i in start..end {
                let e = self.items[i];
                self.items[w] = e;
                w += usize::from(!super::tombs::bit(dead, e as usize));
            }
            start = end;
            self.offsets[g + 1] = w as u32;
        }
        self.items.truncate(w);
    }

    /// The edge rows of node row `n`.
    #[inline]
    pub fn row(&self, n: usize) -> &[u32] {
        &self.items[self.offsets[n] as usize..self.offsets[n + 1] as usize]
    }
    /// Number of edges of node row `n`.
    #[inline]
    pub fn degree(&self, n: usize) -> u32 {
        self.offsets[n + 1] - self.offsets[n]
    }
    /// The offsets (`n_nodes + 1` entries).
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }
    /// Edge rows, grouped.
    pub fn items(&self) -> &[u32] {
        &self.items
    }
    /// Number of node rows.
    pub fn n_nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// Both views of the current topology.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// By source node row: out-edges.
    pub out: Csr,
    /// By target node row: in-edges.
    pub inc: Csr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_matches_a_rebuild() {
        // Pseudo-random keys; append in several batches, with new node rows on the way.
        let mut x = 12345u32;
        let mut next = |m: u32| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 8) % m
        };
        let mut key: Vec<u32> = (0..200).map(|_| next(50)).collect();
        let mut c = Csr::build(50, &key);
        let mut n = 50;
        for batch in [0usize, 1, 7, 30] {
            n += batch / 3;
            for _ in 0..batch {
                key.push(next(n as u32));
            }
            c.append(n, &key, c.items().len(), &[]);
            let want = Csr::build(n, &key);
            assert_eq!(c.offsets(), want.offsets(), "offsets after a batch of {batch}");
            assert_eq!(c.items(), want.items(), "items after a batch of {batch}");
        }
        // Rows marked dead, then more rows appended (one of them marked too): the same as a
        // rebuild that leaves the marked rows out.
        let first = key.len();
        for _ in 0..40 {
            key.push(next(n as u32));
        }
        let mut dead = vec![0u64; key.len().div_ceil(64)];
        for e in (0..key.len()).filter(|e| e % 7 == 3 || *e == first + 5) {
            dead[e / 64] |= 1 << (e % 64);
        }
        c.remove_marked(&dead);
        c.append(n, &key, first, &dead);
        let want = Csr::build_live(n, &key, &dead);
        assert_eq!(c.offsets(), want.offsets(), "offsets after removals and appends");
        assert_eq!(c.items(), want.items(), "items after removals and appends");
    }

    #[test]
    fn groups_are_stable_and_complete() {
        let key = [2, 0, 2, 1, 0];
        let c = Csr::build(4, &key);
        assert_eq!(c.row(0), &[1, 4]);
        assert_eq!(c.row(1), &[3]);
        assert_eq!(c.row(2), &[0, 2]);
        assert_eq!(c.row(3), &[] as &[u32]);
        assert_eq!(c.degree(2), 2);
    }
}

/// Remove the entries at `rows` (ascending, distinct) from `v`, keeping the order of the rest.
pub(crate) fn compact<T: Copy>(v: &mut Vec<T>, rows: &[usize]) {
    if rows.is_empty() {
        return;
    }
    let mut w = rows[0];
    for (i, &r) in rows.iter().enumerate() {
        let end = rows.get(i + 1).copied().unwrap_or(v.len());
        v.copy_within(r + 1..end, w);
        w += end - r - 1;
    }
    v.truncate(w);
}

#[cfg(test)]
mod compact_tests {
    use super::compact;

    #[test]
    fn removes_listed_rows_in_order() {
        let mut v: Vec<u32> = (0..10).collect();
        compact(&mut v, &[0, 3, 4, 9]);
        assert_eq!(v, vec![1, 2, 5, 6, 7, 8]);
        let mut e: Vec<u32> = vec![1, 2];
        compact(&mut e, &[]);
        assert_eq!(e, vec![1, 2]);
        compact(&mut e, &[0, 1]);
        assert!(e.is_empty());
    }
}
