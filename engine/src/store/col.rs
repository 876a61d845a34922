//! One column of a table: a vector shared between the store and its snapshots until one of
//! them changes it (copy on write).
//!
//! Reading goes through `Deref`; writing through `DerefMut`, which copies the vector first
//! when a snapshot still shares it (`Arc::make_mut`). So a snapshot of a table is a set of
//! reference counts, and only the columns the stepper changes afterwards are ever copied.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A copy-on-write column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Col<T: Clone>(Arc<Vec<T>>);

impl<T: Clone> Col<T> {
    /// Whether this column's storage is the same as `other`'s (shared, not copied).
    pub fn shares(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    /// Bytes allocated for the column (its capacity).
    pub fn resident_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<T>()
    }
}

impl<T: Clone> From<Vec<T>> for Col<T> {
    fn from(v: Vec<T>) -> Self {
        Self(Arc::new(v))
    }
}

impl<T: Clone> Deref for Col<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: Clone> DerefMut for Col<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Col;

    #[test]
    fn a_clone_shares_until_written() {
        let mut a: Col<u32> = vec![1, 2, 3].into();
        let b = a.clone();
        assert!(a.shares(&b));
        a[0] = 9;
        assert!(!a.shares(&b), "writing copies");
        assert_eq!((&a[..], &b[..]), (&[9, 2, 3][..], &[1, 2, 3][..]));
    }
}
