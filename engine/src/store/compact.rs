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
}
