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

/// [`compact`], with every kept entry replaced by `f` of it in the same pass (a column whose
/// values change with the removal, e.g. node rows that shift down).
pub(crate) fn compact_map<T: Copy>(v: &mut Vec<T>, rows: &[usize], f: impl Fn(T) -> T) {
    let (mut w, mut from) = (0, 0);
    for &end in rows.iter().chain(std::iter::once(&v.len())) {
        // The kept run `from..end` moves down to `w` (never past its own place: `w <= from`).
        for i in from..end {
            v[w] = f(v[i]);
            w += 1;
        }
        from = end + 1;
    }
    v.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::{compact, compact_map};

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

    #[test]
    fn maps_what_it_keeps() {
        for rows in [&[][..], &[0], &[9], &[0, 3, 4, 9], &[2, 5, 6, 7], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] {
            let mut want: Vec<u32> = (0..10).collect();
            compact(&mut want, rows);
            want.iter_mut().for_each(|x| *x = *x * 10 + 1);
            let mut got: Vec<u32> = (0..10).collect();
            compact_map(&mut got, rows, |x| x * 10 + 1);
            assert_eq!(got, want, "rows {rows:?}");
        }
    }
}
