//! Contract (issue [worker]): the connection worker thread gives the inline run's bits,
//! also when it panics, returns errors or hangs and is restarted; past its restart budget
//! the configuration decides between going on without growth and stopping with an error.

use std::path::Path;

use neuroflux::{Config, Simulation};

fn default_config() -> Config {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/default.toml");
    Config::load(Path::new(path)).expect("loads")
}

/// Runs `steps` through the run loop; the state hash and the worker's restarts.
fn run(c: Config, steps: u64) -> Result<(String, u64, neuroflux::io::metrics::Summary), neuroflux::SimError> {
    let mut sim = Simulation::new(c.validate().expect("valid"), Some(2), &|_| {}).expect("builds");
    sim.run_until(steps, &mut |_, _| Ok::<(), neuroflux::SimError>(()))?;
    let s = sim.summary(0.0, 0);
    Ok((sim.state_hash(), s.worker.restarts, s))
}

/// A named change to the configuration.
type Case<'a> = (&'a str, &'a dyn Fn(&mut Config));

#[test]
fn faults_and_restarts_change_no_result() {
    let steps = 2000;
    let (inline, _, _) = run(default_config(), steps).expect("inline runs");
    let threaded = |f: &dyn Fn(&mut Config)| {
        let mut c = default_config();
        c.run.worker = "thread".into();
        c.worker.deadline_ms = 200;
        c.worker.backoff_ms = 1;
        c.worker.backoff_max_ms = 20;
        c.worker.max_restarts = 1000;
        f(&mut c);
        run(c, steps).expect("threaded runs")
    };
    let cases: [Case<'_>; 5] = [
        ("no faults", &|_| {}),
        ("a panic every 50 steps", &|c| c.faults.panic_every = 50),
        ("a hang past the deadline at 10 steps", &|c| c.faults.hang_at = (1..=10).map(|i| i * 97).collect()),
        ("random panics, p = 0.05 per round", &|c| c.faults.panic_probability = 0.05),
        ("errors at 5 steps", &|c| c.faults.error_at = vec![3, 400, 401, 1200, 1999]),
    ];
    println!("default.toml, {steps} steps, inline: {inline}");
    for (name, f) in cases {
        let (hash, restarts, _) = threaded(f);
        println!("worker thread, {name}: {hash}, {restarts} restarts");
        assert_eq!(hash, inline, "{name}");
        if name != "no faults" {
            assert!(restarts > 0, "{name}: the supervisor should have restarted the worker");
        }
    }
}

fn exhausting(when: &str) -> Config {
    let mut c = default_config();
    c.run.worker = "thread".into();
    c.worker.max_restarts = 2;
    c.worker.restart_window_steps = 100;
    c.worker.when_exhausted = when.into();
    c.worker.backoff_ms = 0;
    c.faults.panic_every = 10;
    c
}

#[test]
fn past_the_budget_the_run_goes_on_without_growth_or_stops() {
    let (_, restarts, s) = run(exhausting("continue"), 200).expect("continue: the run completes");
    assert_eq!(restarts, 2);
    assert!(s.worker.growth_stopped, "the summary says growth stopped");
    assert!(s.worker.last_error.contains("injected fault: panic"), "{}", s.worker.last_error);
    assert_eq!(s.step, 200);

    let err = run(exhausting("stop"), 200).expect_err("stop: the run ends with an error");
    let msg = err.to_string();
    assert!(
        msg.contains("failed 2 times within 100 steps") && msg.contains("injected fault: panic"),
        "the error names the cause: {msg}"
    );
}

#[test]
fn readers_of_published_snapshots_see_only_whole_states_in_step_order() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let mut c = default_config();
    c.run.worker = "thread".into();
    let mut sim = Simulation::new(c.validate().expect("valid"), Some(2), &|_| {}).expect("builds");
    let published = sim.snapshots();
    let done = Arc::new(AtomicBool::new(false));
    let loads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (published, done, loads) = (published.clone(), done.clone(), loads.clone());
            std::thread::spawn(move || {
                let mut last = 0;
                let mut checked = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let snap = published.load_full();
                    assert!(snap.step >= last, "reader {r}: step went back from {last} to {}", snap.step);
                    last = snap.step;
                    // Column lengths equal the counts, endpoints exist, every invariant holds.
                    if let Err(e) = snap.store.check_invariants() {
                        panic!("reader {r}: snapshot of step {} is broken: {e}", snap.step);
                    }
                    if let Some(m) = &snap.metrics {
                        assert_eq!(m.step + 1, snap.step, "reader {r}: metrics belong to the step");
                        assert_eq!(m.edges, snap.store.edges().count() as u64, "reader {r}: edge count");
                    }
                    checked += 1;
                }
                loads.fetch_add(checked, Ordering::Relaxed);
                last
            })
        })
        .collect();
    sim.run_until(1000, &mut |_, _| Ok::<(), neuroflux::SimError>(())).expect("runs");
    done.store(true, Ordering::Relaxed);
    let lasts: Vec<u64> = readers.into_iter().map(|h| h.join().expect("no reader failed")).collect();
    let n = loads.load(Ordering::Relaxed);
    println!("3 readers checked {n} snapshots while 1,000 steps ran; last steps seen {lasts:?}");
    assert!(n >= 30, "the readers should have seen many snapshots ({n})");
    assert_eq!(published.load().step, 1000);
}

#[test]
fn no_deadlock_under_random_kills_panics_and_hangs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/small.toml");
    let small = Config::load(Path::new(path)).expect("loads");
    let steps = 10_000;
    let (inline, _, _) = run(small.clone(), steps).expect("inline runs");
    // Fault steps from a fixed pseudo-random sequence.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut draw = |n: usize| -> Vec<u64> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % steps
            })
            .collect()
    };
    let mut c = small;
    c.run.worker = "thread".into();
    c.worker.deadline_ms = 100;
    c.worker.backoff_ms = 1;
    c.worker.backoff_max_ms = 10;
    c.worker.max_restarts = 100_000;
    c.faults.exit_at = draw(20);
    c.faults.hang_at = draw(8);
    c.faults.error_at = draw(20);
    c.faults.panic_probability = 0.01;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run(c, steps).map(|(h, r, _)| (h, r)).map_err(|e| e.to_string()));
    });
    let (hash, restarts) = rx
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("the run finishes within 5 minutes (no deadlock)")
        .expect("the run succeeds");
    println!("small.toml, {steps} steps: inline {inline}; worker thread with faults {hash}, {restarts} restarts");
    assert_eq!(hash, inline);
    assert!(restarts >= 40, "faults were injected and survived ({restarts} restarts)");
}
