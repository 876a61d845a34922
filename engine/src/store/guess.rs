//! Searches of an ascending column that start from a guess of the answer.
//!
//! A search from a good guess reads a few entries near it, where a binary search reads one
//! per halving, each on its own cache line in a long column. The guesses: the ids' runs and
//! plain columns interpolate between known entries (`super::runs`); a group of edge rows
//! (a node's in-edges) takes a row's share of the whole table, as its rows come from all
//! over it about evenly ([`share`]).

/// The last `k` in `from..n` where `le(k)` holds, given that `le` holds at `from` and on a
/// prefix of `0..n`: steps of doubling length from `from`, then a binary search in the last.
pub(crate) fn gallop(from: usize, n: usize, le: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut step) = (from, 1usize);
    while lo + step < n && le(lo + step) {
        lo += step;
        step *= 2;
    }
    bisect(lo, (lo + step).min(n), le)
}

/// The last `k` in `lo..hi` where `le(k)` holds, given that it holds at `lo`, fails at `hi`
/// (or `hi` is the end) and holds on a prefix: a binary search.
fn bisect(mut lo: usize, mut hi: usize, le: impl Fn(usize) -> bool) -> usize {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if le(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// [`gallop`] from a guess `at` of the answer (any value; taken into `from..n`): doubling
/// steps forward from it where `le` holds there, else backward towards `from`; then a
/// binary search in the last step. A good guess costs a few nearby reads however far the
/// answer lies from `from`.
pub(crate) fn gallop_from(from: usize, at: usize, n: usize, le: impl Fn(usize) -> bool) -> usize {
    let at = at.clamp(from, n.max(from + 1) - 1);
    if le(at) {
        return gallop(at, n, le);
    }
    // `le` fails at `hi` and holds at `from`.
    let (mut hi, mut step) = (at, 1usize);
    while hi - from > step && !le(hi - step) {
        hi -= step;
        step *= 2;
    }
    let lo = if hi - from > step { hi - step } else { from };
    bisect(lo, hi, le)
}

/// Where `x` would lie among `len` ascending rows spread evenly over `0..span`.
#[inline]
pub(crate) fn share(len: usize, x: u32, span: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let g = (len as u64 * u64::from(x)) / span.max(1) as u64;
    (g as usize).min(len - 1)
}

/// The index of `x` in `sorted` (ascending, distinct), as `sorted.binary_search(&x).ok()`
/// gives it, searched from [`share`]`(sorted.len(), x, span)`.
#[inline]
pub(crate) fn find_from_share(sorted: &[u32], x: u32, span: usize) -> Option<usize> {
    match sorted.first() {
        Some(&first) if first <= x => {
            let k = gallop_from(0, share(sorted.len(), x, span), sorted.len(), |j| sorted[j] <= x);
            (sorted[k] == x).then_some(k)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallop_from_any_guess_finds_the_last_index_where_the_test_holds() {
        // Every prefix length, start and guess on a short range, against the plain answer.
        for n in 1..40usize {
            for holds in 1..=n {
                let le = |j: usize| j < holds;
                for from in 0..holds {
                    for at in 0..n + 3 {
                        assert_eq!(gallop_from(from, at, n, le), holds - 1, "n {n} holds {holds} from {from} at {at}");
                    }
                    assert_eq!(gallop(from, n, le), holds - 1);
                }
            }
        }
    }

    #[test]
    fn finds_what_a_binary_search_finds() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..500 {
            let span = 1 + (next() % 5000) as usize;
            let len = (next() % 200) as usize;
            let mut rows: Vec<u32> = (0..len).map(|_| (next() % span as u64) as u32).collect();
            // Some groups bunched at one end, as after many appends (the guess is poor).
            if round % 3 == 0 {
                rows.iter_mut().for_each(|r| *r = (span as u32 - 1) - *r / 8);
            }
            rows.sort_unstable();
            rows.dedup();
            for probe in 0..(span as u32 + 2) {
                let s = span.saturating_sub(round % 2);
                assert_eq!(
                    find_from_share(&rows, probe, s),
                    rows.binary_search(&probe).ok(),
                    "round {round}: {probe} in {rows:?}"
                );
            }
        }
    }
}
