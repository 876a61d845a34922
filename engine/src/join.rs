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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

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

/// `f` applied to each of `items` (with its index), on every thread of the pool: each
/// thread takes the next item from a shared counter until none is left, and the calling
/// thread waits for the others' last items by spinning (see [`join_busy`]), so it never
/// sleeps at the end of the pass, where rayon's splitting of a parallel iterator would put
/// a thread that waits for another's last piece to sleep (about 50 us to wake it again on
/// the two-core reference machine). For passes of a few to some hundred items of even work,
/// each item long enough (microseconds) that taking one costs little beside it. The results
/// come in item order, whichever thread computed them.
pub fn busy_map<I: Send, R: Send>(items: Vec<I>, f: impl Fn(usize, I) -> R + Sync) -> Vec<R> {
    let n = items.len();
    let threads = rayon::current_num_threads().min(n);
    if threads <= 1 {
        return items.into_iter().enumerate().map(|(i, x)| f(i, x)).collect();
    }
    let cells: Vec<Mutex<Option<I>>> = items.into_iter().map(|x| Mutex::new(Some(x))).collect();
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(cell) = cells.get(i) else { break };
        // Each index is taken once, so its locks are never contended (nor poisoned: a panic
        // in `f` reaches the caller through the join before anything reads the cells).
        let item = cell.lock().map(|mut x| x.take()).unwrap_or_default();
        if let (Some(item), Some(out)) = (item, results.get(i)) {
            let r = f(i, item);
            if let Ok(mut out) = out.lock() {
                *out = Some(r);
            }
        }
    };
    on_threads(threads, &work);
    // Every item ran (a panic would have reached the caller above).
    let out: Vec<R> = results.into_iter().filter_map(|r| r.into_inner().ok().flatten()).collect();
    debug_assert_eq!(out.len(), n, "every item's result");
    out
}

/// `f` applied to each chunk of a pass over `rows` rows in fixed chunks of `chunk` rows
/// (`items`, one per chunk, in order), the results in chunk order: on a pool of two threads
/// a pass of a few chunks in two runs of chunks, one per thread ([`two_runs`]), any other
/// with [`busy_map`]. Either way the caller never sleeps while it waits.
pub fn chunk_map<I: Send, R: Send>(items: Vec<I>, rows: (usize, usize), f: impl Fn(usize, I) -> R + Sync) -> Vec<R> {
    chunk_map_share(items, rows, (1, 2), f)
}

/// [`chunk_map`], the caller's run of chunks the nearest to the share `num / den` of the
/// rows instead of half: for a pass whose inputs the caller wrote, which it then reads from
/// its own cache, faster than the other thread.
pub fn chunk_map_share<I: Send, R: Send>(
    mut items: Vec<I>,
    (rows, chunk): (usize, usize),
    share: (usize, usize),
    f: impl Fn(usize, I) -> R + Sync,
) -> Vec<R> {
    match two_runs(rows, chunk, share) {
        Some(mid) if mid < items.len() => {
            let second = items.split_off(mid);
            let run = |first: usize, run: Vec<I>| {
                run.into_iter().enumerate().map(|(i, x)| f(first + i, x)).collect::<Vec<R>>()
            };
            let (mut parts, rest) = join_busy(|| run(0, items), || run(mid, second));
            parts.extend(rest);
            parts
        }
        _ => busy_map(items, f),
    }
}

/// `0..n` cut into as many ranges of about equal length as fit with at least `min` each
/// (one range where `n < 2 * min`; none where `n` is 0): the pieces for [`busy_map`] of a
/// pass whose items are too short to take one at a time.
pub fn pieces(n: usize, min: usize) -> Vec<std::ops::Range<usize>> {
    let k = (n / min.max(1)).max(usize::from(n > 0));
    (0..k).map(|i| i * n / k..(i + 1) * n / k).collect()
}

/// Run `work` on `threads` threads of the pool at once where they are free (the calling
/// thread one of them), each call returning when no work is left; returns when all have.
fn on_threads(threads: usize, work: &(impl Fn() + Sync)) {
    if threads <= 1 {
        work();
    } else {
        join_busy(work, || on_threads(threads - 1, work));
    }
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
fn two_runs(n: usize, chunk: usize, (num, den): (usize, usize)) -> Option<usize> {
    let chunks = n.div_ceil(chunk.max(1));
    (rayon::current_num_threads() == 2 && (2..=MAX_CHUNKS_IN_TWO_RUNS).contains(&chunks))
        .then(|| ((n * num / den.max(1) + chunk / 2) / chunk).clamp(1, chunks - 1))
}

/// Chunks at most that [`two_runs`] cuts in two (more, and rayon's splitting is even enough).
const MAX_CHUNKS_IN_TWO_RUNS: usize = 16;

#[cfg(test)]
mod tests {
    use super::{busy_map, chunk_map, join_busy, pieces, two_runs};

    #[test]
    fn two_runs_cut_nearest_half_the_rows_on_two_threads() {
        let pool = |t| rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("pool");
        let cut = |t, n| pool(t).install(|| two_runs(n, 4096, (1, 2)));
        assert_eq!(cut(2, 17_347), Some(2));
        assert_eq!(cut(2, 4096 * 3), Some(2));
        assert_eq!(cut(2, 5000), Some(1));
        assert_eq!((cut(2, 4096), cut(2, 4096 * 17), cut(1, 17_347), cut(4, 17_347)), (None, None, None, None));
    }

    #[test]
    fn chunk_map_gives_each_chunk_once_in_order_on_any_pool() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            // Two runs (5 chunks on two threads) and a counter (20 chunks), each with a part chunk.
            for rows in [4096 * 4 + 963, 4096 * 19 + 5] {
                let mut v: Vec<u32> = (0..rows as u32).collect();
                let got = pool.install(|| {
                    chunk_map(v.chunks_mut(4096).collect(), (rows, 4096), |i, c| {
                        c.iter_mut().for_each(|x| *x += 1);
                        (i, c.len())
                    })
                });
                let want: Vec<(usize, usize)> =
                    (0..rows.div_ceil(4096)).map(|i| (i, 4096.min(rows - i * 4096))).collect();
                assert_eq!(got, want, "{threads} threads, {rows} rows");
                assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32 + 1), "each row once");
            }
        }
    }

    #[test]
    fn busy_map_gives_each_item_once_in_order_on_any_pool() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            for n in [0usize, 1, 2, 5, 64] {
                let items: Vec<Vec<u64>> = (0..n as u64).map(|i| vec![i; 1 + (i as usize * 7919) % 50]).collect();
                let calls = std::sync::atomic::AtomicUsize::new(0);
                let got = pool.install(|| {
                    busy_map(items, |i, v| {
                        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // Uneven work, so that the threads finish their items at different times.
                        std::thread::sleep(std::time::Duration::from_micros(v.len() as u64 * 20));
                        (i, v.iter().sum::<u64>())
                    })
                });
                let want: Vec<(usize, u64)> = (0..n).map(|i| (i, i as u64 * (1 + (i * 7919) % 50) as u64)).collect();
                assert_eq!(got, want, "{threads} threads, {n} items");
                assert_eq!(calls.into_inner(), n, "{threads} threads, {n} items: each item once");
            }
        }
    }

    /// Whether `f`, run on a pool of two threads, panics: under a watchdog, so a caller left
    /// spinning fails the test by timeout instead of hanging it.
    fn panics_on_two_threads<R>(f: impl FnOnce() -> R + Send + 'static) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.install(|| drop(f()))));
            let _ = tx.send(r.is_err());
        });
        rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the caller should return, not spin")
    }

    #[test]
    fn a_panic_in_busy_map_reaches_the_caller_instead_of_hanging_it() {
        let panicked = panics_on_two_threads(|| {
            busy_map((0..8).collect(), |i, x: u32| {
                std::thread::sleep(std::time::Duration::from_millis(2));
                assert!(i != 5, "item 5 fails");
                x
            })
        });
        assert!(panicked, "the panic should reach the caller");
    }

    #[test]
    fn pieces_cover_the_rows_each_at_least_the_minimum() {
        assert!(pieces(0, 256).is_empty());
        assert_eq!(pieces(5, 256), vec![0..5]);
        assert_eq!(pieces(511, 256), vec![0..511]);
        assert_eq!(pieces(512, 256), vec![0..256, 256..512]);
        let p = pieces(10_000, 256);
        assert_eq!(p.len(), 39);
        assert_eq!((p[0].start, p[38].end), (0, 10_000));
        assert!(p.windows(2).all(|w| w[0].end == w[1].start));
        assert!(p.iter().all(|r| r.len() >= 256), "{p:?}");
    }

    #[test]
    fn a_panic_in_the_other_half_reaches_the_caller_instead_of_hanging_it() {
        let panicked = panics_on_two_threads(|| {
            join_busy(
                || std::thread::sleep(std::time::Duration::from_millis(5)),
                || -> () { panic!("the other half fails") },
            )
        });
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
