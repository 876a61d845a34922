//! What the harness measures of the machine itself, in the same run as the workloads:
//! memory bandwidth (a STREAM-style triad), peak resident memory, and plain disk I/O.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;

/// Best-of-`reps` triad bandwidth `a = b + s * c` over all cores, in bytes per second
/// (24 bytes per element, as STREAM counts it: two reads and one write), over three `f64`
/// arrays of `mib` MiB in all (the default, 768 MiB, is far larger than any last-level cache).
pub fn triad_bandwidth(mib: usize, reps: usize) -> Result<f64> {
    let len = (mib << 20) / 24;
    let pool = rayon::ThreadPoolBuilder::new().build().context("cannot start the bandwidth threads")?;
    pool.install(|| {
        let chunk = 1 << 16;
        let mut a = vec![0.0f64; len];
        let b = vec![1.0f64; len];
        let mut c = vec![0.0f64; len];
        // Touch every page on the threads that will use it.
        c.par_chunks_mut(chunk).for_each(|x| x.fill(2.0));
        a.par_chunks_mut(chunk).for_each(|x| x.fill(0.0));
        let s = std::hint::black_box(3.0f64);
        let mut best = f64::INFINITY;
        for _ in 0..reps.max(2) {
            let t = Instant::now();
            a.par_chunks_mut(chunk).zip(b.par_chunks(chunk)).zip(c.par_chunks(chunk)).for_each(|((a, b), c)| {
                for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
                    *a = b + s * c;
                }
            });
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(&a);
        }
        Ok((24 * len) as f64 / best)
    })
}

/// Reset the kernel's peak-resident-memory mark of this process (Linux: `clear_refs` 5), so
/// that [`peak_rss`] reports the peak since now. Returns whether it could.
///
/// The allocator first hands the memory it keeps free back to the system, so that the mark
/// starts from what is in use: without it, a workload measured after a larger one reported
/// the pages the allocator still held from that one (`scale-10000` after `full-1m`: 348 MiB,
/// against 15 MiB alone).
pub fn reset_peak_rss() -> bool {
    release_free_memory();
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Hand the memory the C allocator keeps free (in every arena) back to the system (glibc's
/// `malloc_trim`); nothing elsewhere.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        #[allow(unsafe_code)]
        // SAFETY: `malloc_trim` (glibc, declared above with its C signature) only returns
        // free pages of the allocator's arenas to the system; it takes no pointer and leaves
        // every allocation in use where it is.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

fn status_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Seconds to write `bytes` bytes sequentially to a new file in `dir` and fsync it, and
/// seconds to read them back (the comparison for checkpoint save and load).
pub fn disk_write_read(dir: &Path, bytes: u64) -> Result<(f64, f64)> {
    let path = dir.join("disk-probe.bin");
    let block = vec![0x5au8; 8 << 20];
    let t = Instant::now();
    {
        let mut f = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut left = bytes;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            f.write_all(&block[..n]).with_context(|| format!("cannot write {}", path.display()))?;
            left -= n as u64;
        }
        f.sync_all().with_context(|| format!("cannot fsync {}", path.display()))?;
    }
    let write_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut f = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = vec![0u8; 8 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let read_s = t.elapsed().as_secs_f64();
    std::hint::black_box(total);
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok((write_s, read_s))
}

/// The CPU model, from `/proc/cpuinfo` where there is one.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss().is_some_and(|b| b > 0));
        }
    }
}
