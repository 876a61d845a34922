//! The live edge rows incident to node rows a removal drops: found through the views where
//! they are fresh, else by a scan of the edge rows, 64 at a time, against the removed rows'
//! bits (in two ranges, one on each side of the removal's first join).

use super::Store;

impl Store {
    /// Whether both views are fresh, so that [`Store::incident_by_views`] can list a removal's
    /// incident edges.
    pub(super) fn views_list_incident(&self) -> bool {
        self.out_valid && self.in_valid
    }

    /// The live edge rows incident to the node rows `rows` (ascending, distinct) through the
    /// views, which must be fresh. Ascending, distinct.
    pub(super) fn incident_by_views(&self, rows: &[usize]) -> Vec<usize> {
        let mut dead_edges: Vec<usize> = Vec::new();
        for &r in rows {
            dead_edges.extend(self.topology.out.row(r).iter().map(|&e| e as usize));
            dead_edges.extend(self.topology.inc.row(r).iter().map(|&e| e as usize));
        }
        dead_edges.sort_unstable();
        dead_edges.dedup();
        dead_edges
    }

    /// The live edge rows in `edges` (a range of edge rows that starts at a multiple of 64)
    /// with an endpoint among the node rows whose bits `dead` holds (see [`dead_rows`]), by
    /// a scan. Ascending: the scans of consecutive ranges, one after the other, are the
    /// scan of both.
    pub(super) fn incident_in(&self, dead: &[u32], edges: std::ops::Range<usize>) -> Vec<usize> {
        debug_assert!(edges.start % 64 == 0 || edges.is_empty(), "a scan starts at a block of 64 rows");
        let mut dead_edges: Vec<usize> = Vec::new();
        let table = &self.edges;
        let (src, dst) = (table.src_rows(), table.dst_rows());
        let (src, dst) = (src.get(edges.clone()).unwrap_or_default(), dst.get(edges.clone()).unwrap_or_default());
        // Per block of 64 rows, a mask of those with a dead endpoint without a branch per
        // row (few have one), then the live rows among them.
        for (b, (s, d)) in src.chunks(64).zip(dst.chunks(64)).enumerate() {
            let mask = dead_endpoints_fast(dead, s, d);
            let first = edges.start + b * 64;
            dead_edges.extend(super::ones(mask).map(|k| first + k).filter(|&e| table.is_live(e)));
        }
        dead_edges
    }
}

/// One bit per node row of a table of `n` rows, set for `rows`: bit `r % 32` of word
/// `r / 32` (which the compiled forms of the scan gather; 2 KB for `default.toml`'s 17,000
/// rows, so they stay in the first-level cache).
pub(super) fn dead_rows(n: usize, rows: &[usize]) -> Vec<u32> {
    let mut dead = vec![0u32; n.div_ceil(32)];
    for &r in rows {
        if let Some(w) = dead.get_mut(r / 32) {
            *w |= 1 << (r % 32);
        }
    }
    dead
}

/// Where a removal's scan of `edges` edge rows splits between the calling thread (the rows
/// before) and the other one (the rows from), which first builds the dead ids' set and the
/// node rows' renumbering (7 us a step of `default.toml`, against the whole scan's 18-24):
/// three quarters of the rows on the calling thread, in whole blocks of 64 (with two thirds,
/// by the step timeline, the other thread's side took 17-19 us against the calling
/// thread's 10-11).
pub(super) fn scan_split(edges: usize) -> usize {
    (edges * 3 / 4) / 64 * 64
}

crate::rng::vector_forms!(dead_endpoints_fast, dead_endpoints, dead_endpoints_avx512, dead_endpoints_avx2,
    (dead: &[u32], src: &[u32], dst: &[u32]) -> u64);

/// Bit `k` set where edge `k` of up to 64 (source rows `src`, target rows `dst`) has an
/// endpoint whose bit is set in `dead` (bit `r % 32` of word `r / 32` for node row `r`; an
/// endpoint past `dead` counts as alive): a loop without branches, which the compiled forms
/// vectorise with gathers. By byte flags, which they do not gather, the death phase's scan
/// of `default.toml`'s edge rows took 24-34 us on one thread (18-30 so).
#[inline(always)]
fn dead_endpoints(dead: &[u32], src: &[u32], dst: &[u32]) -> u64 {
    let m = src.len().min(dst.len()).min(64);
    let bit = |r: u32| (dead.get((r / 32) as usize).copied().unwrap_or_default() >> (r % 32)) & 1;
    let mut hit = [0u8; 64];
    for k in 0..m {
        hit[k] = (bit(src[k]) | bit(dst[k])) as u8;
    }
    super::pack_bytes(&hit)
}

#[cfg(test)]
mod tests {
    use super::{dead_endpoints, dead_endpoints_avx2, dead_endpoints_avx512};

    /// The masks of edges with a dead endpoint agree with a test edge by edge, in the
    /// portable form and every compiled one, over words that are not full and endpoints
    /// past the bits.
    #[test]
    fn the_masks_of_edges_with_a_dead_endpoint_agree_in_every_form() {
        let mut next = crate::rng::test_words(11);
        let nodes = 1000u32;
        let dead_rows: Vec<u32> = (0..nodes).filter(|_| next() % 40 == 0).collect();
        let mut bits = vec![0u32; (nodes as usize).div_ceil(32)];
        for &r in &dead_rows {
            bits[(r / 32) as usize] |= 1 << (r % 32);
        }
        // Some endpoints past the last node row: alive.
        let src: Vec<u32> = (0..300).map(|_| (next() % u64::from(nodes + 40)) as u32).collect();
        let dst: Vec<u32> = (0..300).map(|_| (next() % u64::from(nodes + 40)) as u32).collect();
        let dead = |r: u32| dead_rows.contains(&r);
        for lo in (0..src.len()).step_by(64) {
            let hi = (lo + 64).min(src.len());
            let (s, d) = (&src[lo..hi], &dst[lo..hi]);
            let want = (0..hi - lo).fold(0u64, |m, k| m | u64::from(dead(s[k]) || dead(d[k])) << k);
            assert_eq!(dead_endpoints(&bits, s, d), want, "portable, rows {lo}..{hi}");
            for form in crate::rng::forms_found() {
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected.
                let got = unsafe {
                    if form == "avx2" {
                        dead_endpoints_avx2(&bits, s, d)
                    } else {
                        dead_endpoints_avx512(&bits, s, d)
                    }
                };
                assert_eq!(got, want, "{form}, rows {lo}..{hi}");
            }
        }
        assert!(src.iter().zip(&dst).any(|(&s, &d)| dead(s) || dead(d)), "some edges have a dead endpoint");
    }
}
