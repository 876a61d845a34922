//! A hint to the cache that an element will be read soon: for scans whose addresses depend
//! on earlier reads (an id, then its row's bounds, then the group), issued some items ahead
//! so that the misses of several items overlap instead of following one another.

/// Ask for the cache line holding `s[i]` (nothing where `i` is out of range, or on targets
/// without the instruction). Never reads the element, so it cannot fault.
#[inline(always)]
pub fn prefetch<T>(s: &[T], i: usize) {
    if i < s.len() {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `prefetch` is a hint that neither reads nor writes memory, and the
        // pointer is in bounds of `s` (checked above); SSE is part of every x86_64 target.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(s.as_ptr().add(i).cast::<i8>());
        }
    }
}
