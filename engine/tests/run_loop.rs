//! Contract: `Simulation::run_until` stops its helper thread however the loop ends: at the
//! end step, when the callback returns an error, and when the callback panics. A helper
//! left spinning would hang the run; each case runs under a watchdog.

use std::sync::mpsc;
use std::time::Duration;

use neuroflux::{Config, Simulation};

fn small() -> Simulation {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim-configs/small.toml");
    let params = Config::load(std::path::Path::new(path)).expect("loads").validate().expect("valid");
    Simulation::new(params, Some(2), &|_| {}).expect("builds")
}

/// Runs `f` on its own thread; fails if it has not finished within 60 s.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("run_until should return (a helper left spinning hangs it)")
}

/// The callback's error type.
#[derive(Debug)]
#[allow(dead_code)]
enum Stop {
    At(u64),
    Sim(neuroflux::SimError),
}

impl From<neuroflux::SimError> for Stop {
    fn from(e: neuroflux::SimError) -> Self {
        Stop::Sim(e)
    }
}

#[test]
fn run_until_returns_at_the_end_step_on_an_error_and_on_a_panic() {
    let steps = within_a_minute(|| {
        let mut s = small();
        s.run_until(40, &mut |_, _| Ok::<(), neuroflux::SimError>(())).expect("runs");
        s.current_step()
    });
    assert_eq!(steps, 40);

    let (result, steps) = within_a_minute(|| {
        let mut s = small();
        let r = s.run_until(40, &mut |_, m| if m.step == 9 { Err(Stop::At(m.step)) } else { Ok(()) });
        (r.map_err(|e| format!("{e:?}")), s.current_step())
    });
    assert_eq!(result, Err("At(9)".to_string()));
    assert_eq!(steps, 10);

    let panicked = within_a_minute(|| {
        let mut s = small();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = s.run_until(40, &mut |_, m| {
                assert!(m.step < 5, "deliberate panic at step {}", m.step);
                Ok::<(), neuroflux::SimError>(())
            });
        }))
        .is_err()
    });
    assert!(panicked, "the panic should reach the caller");
}
