//! A fork-join whose calling thread waits for the other half by spinning.
//!
//! `rayon::join` runs its first closure on the calling thread and offers the second to the
//! pool. If another thread took the second and is still running it when the first is done,
//! the caller waits in rayon's idle loop, which after 32 rounds of `yield_now` puts the
//! thread to sleep; the thread that finishes then wakes it, and on the two-core reference
//! machine that wake-up took about 50 us (measured on the growth phase of `default.toml`:
//! both halves done after 28 us, the join returned after 80). [`join_busy`] is for the
//! sections of the step where the caller may finish first: it waits for a half taken by
//! another thread by spinning (and taking waiting pool work) instead, so the step never
//! sleeps there.

use std::sync::atomic::{AtomicBool, Ordering};

/// [`rayon::join`], the caller spinning while the other thread runs `b` (see the module
/// docs). If no other thread took `b`, the caller runs it after `a`, as `rayon::join` does.
pub fn join_busy<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let (started, done) = (AtomicBool::new(false), AtomicBool::new(false));
    rayon::join(
        || {
            let r = a();
            // Taken by another thread: wait for it here, meanwhile taking pool work that is
            // waiting (the other half's own parallel pieces) as rayon's wait does, without
            // ever sleeping. (If it is taken only after this test, the join waits as rayon's.)
            if started.load(Ordering::Acquire) {
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            }
            r
        },
        || {
            started.store(true, Ordering::Release);
            // Set also while unwinding: a panic in `b` must not leave the caller spinning.
            let _done = SetOnDrop(&done);
            b()
        },
    )
}

/// Sets the flag when dropped: at the end of its scope, or while a panic unwinds it.
pub struct SetOnDrop<'a>(pub &'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Where a pass over `n` rows in fixed chunks of `chunk` rows is better cut in two runs of
/// chunks, one per thread, with [`join_busy`] (each run's chunks in order on its thread): on
/// a pool of two threads, a pass of a few chunks, which rayon's splitting leaves uneven
/// (of 5 chunks, 2 against 3) so that the caller sleeps while it waits. The first chunk of
/// the second run, the cut nearest half the rows; `None` where rayon should split.
pub fn two_runs(n: usize, chunk: usize) -> Option<usize> {
    let chunks = n.div_ceil(chunk.max(1));
    (rayon::current_num_threads() == 2 && (2..=MAX_CHUNKS_IN_TWO_RUNS).contains(&chunks))
        .then(|| ((n / 2 + chunk / 2) / chunk).clamp(1, chunks - 1))
}

/// Chunks at most that [`two_runs`] cuts in two (more, and rayon's splitting is even enough).
const MAX_CHUNKS_IN_TWO_RUNS: usize = 16;

#[cfg(test)]
mod tests {
    use super::{join_busy, two_runs};

    #[test]
    fn two_runs_cut_nearest_half_the_rows_on_two_threads() {
        let pool = |t| rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("pool");
        let cut = |t, n| pool(t).install(|| two_runs(n, 4096));
        assert_eq!(cut(2, 17_347), Some(2));
        assert_eq!(cut(2, 4096 * 3), Some(2));
        assert_eq!(cut(2, 5000), Some(1));
        assert_eq!((cut(2, 4096), cut(2, 4096 * 17), cut(1, 17_347), cut(4, 17_347)), (None, None, None, None));
    }

    #[test]
    fn a_panic_in_the_other_half_reaches_the_caller_instead_of_hanging_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| {
                    join_busy(
                        || std::thread::sleep(std::time::Duration::from_millis(5)),
                        || -> () { panic!("the other half fails") },
                    )
                })
            }));
            let _ = tx.send(r.is_err());
        });
        let panicked = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("join_busy should return, not spin");
        assert!(panicked, "the panic should reach the caller");
    }

    #[test]
    fn both_halves_run_once_on_any_pool() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let (a, b) = pool.install(|| join_busy(|| (0..1000u64).sum::<u64>(), || (0..100u64).product::<u64>()));
            assert_eq!((a, b), (499_500, 0), "{threads} threads");
            // The second half much longer than the first.
            let (x, y) = pool.install(|| {
                join_busy(
                    || 1,
                    || {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        2
                    },
                )
            });
            assert_eq!((x, y), (1, 2));
        }
    }
}
