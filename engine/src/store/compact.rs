//! Removing listed rows from a column, keeping the order of the rest (the edge and node
//! tables' compactions, and the columns held as runs).

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

/// [`compact`] of a column of node rows, each kept entry replaced by its new row
/// (`new_row`; a row past its end by `u32::MAX`), into a new vector of `v`'s capacity: one
/// pass that reads each entry once and writes it once, where compacting in place and then
/// renumbering moves every entry twice. `rows`: ascending, distinct, below `v.len()`. For
/// small columns (the death phase of a graph whose nodes die every step; a new vector of a
/// large one would be fresh pages to fault in).
pub(crate) fn compact_renumbered(v: &[u32], capacity: usize, rows: &[usize], new_row: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(capacity.max(v.len()));
    let mut from = 0;
    for &r in rows.iter().chain(std::iter::once(&v.len())) {
        if let Some(run) = v.get(from..r) {
            renumbered_fast(run, new_row, &mut out);
        }
        from = r + 1;
    }
    out
}

crate::rng::vector_forms!(renumbered_fast, renumbered, renumbered_avx512, renumbered_avx2,
    (run: &[u32], new_row: &[u32], out: &mut Vec<u32>) -> ());

/// Append each entry of `run`, replaced by its new row, to `out`: a loop without branches,
/// which the compiled forms vectorise with gathers.
#[inline(always)]
fn renumbered(run: &[u32], new_row: &[u32], out: &mut Vec<u32>) {
    out.extend(run.iter().map(|&r| new_row_of(new_row, r)));
}

/// Row `r`'s new row in the row map `new_row` (`u32::MAX` for a row past its end): what
/// every renumbering of a column of rows writes.
#[inline(always)]
pub(crate) fn new_row_of(new_row: &[u32], r: u32) -> u32 {
    new_row.get(r as usize).copied().unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
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

    /// A column compacted into a new vector and renumbered in one pass: the same entries as
    /// a compaction in place and a renumbering after it, in the portable form and every
    /// compiled one, with runs of every length (none, one, past a vector's width) and rows
    /// past the map.
    #[test]
    fn compacting_into_a_new_vector_renumbers_the_kept_rows() {
        let mut next = crate::rng::test_words(5);
        let new_row: Vec<u32> = (0..500u32).map(|r| if r % 9 == 4 { u32::MAX } else { r - r / 9 }).collect();
        let v: Vec<u32> = (0..1000).map(|_| (next() % 520) as u32).collect();
        let mut rows: Vec<usize> = (0..1000).filter(|_| next() % 7 == 0).collect();
        rows.extend([0, 1, 2, 999]);
        rows.sort_unstable();
        rows.dedup();
        let mut want = v.clone();
        compact(&mut want, &rows);
        for x in &mut want {
            *x = new_row.get(*x as usize).copied().unwrap_or(u32::MAX);
        }
        let got = super::compact_renumbered(&v, 2000, &rows, &new_row);
        assert_eq!(got, want);
        assert!(got.capacity() >= 2000, "the capacity asked for");
        assert_eq!(super::compact_renumbered(&v, 0, &[], &new_row).len(), v.len());
        for form in crate::rng::forms_found() {
            let mut out = Vec::new();
            let mut from = 0;
            for &r in rows.iter().chain(std::iter::once(&v.len())) {
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected.
                unsafe {
                    if form == "avx2" {
                        super::renumbered_avx2(&v[from..r], &new_row, &mut out);
                    } else {
                        super::renumbered_avx512(&v[from..r], &new_row, &mut out);
                    }
                }
                from = r + 1;
            }
            assert_eq!(out, want, "{form}");
        }
    }
}
