//! The rough per-epoch GPU energy column of the training CSVs (`gpu_energy_j`): the board's total-energy counter
//! over each epoch's training, minus an idle power × the epoch's length. It reads the same counter as the
//! MLPerf-style window of [`crate::power`] (NVML, loaded at run time, so its absence is a note — "not measured: …" —
//! never a failure), but with none of its protocol: idle is measured once, over half a second, when the meter opens,
//! and an epoch is whatever length it is. `gpu_energy.csv` (the power window) is the figure to quote; this column
//! shows how energy is spread over epochs.

use std::time::Instant;

use crate::power::SharedCounter;

/// Shortest window the counter is trusted for (NVML's counter updates about every 100 ms).
const MIN_WINDOW_S: f64 = 0.2;

/// Idle measured when the meter opens, s.
const IDLE_S: f64 = 0.5;

/// An open energy counter with its idle power, or why there is none.
pub struct Meter {
    counter: Result<(SharedCounter, f64), String>,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.counter {
            Ok((c, idle)) => write!(f, "Meter({}, idle {idle:.1} W)", c.name()),
            Err(e) => write!(f, "Meter(not measured: {e})"),
        }
    }
}

/// A started window: the counter's reading in mJ.
#[derive(Clone, Copy, Debug)]
pub struct Window(Option<u64>);

impl Meter {
    /// Opens GPU 0 through NVML and measures its idle power over half a second.
    pub fn open() -> Self {
        match crate::power::Nvml::open() {
            Ok(n) => Self::with_counter(std::sync::Arc::new(n), IDLE_S, &crate::power::real_sleep),
            Err(e) => Self::none(&format!("{e:#}")),
        }
    }

    /// A meter on any counter: idle power is the counter's energy over `idle_s` of `sleep`, divided by the time that
    /// really passed.
    pub fn with_counter(counter: SharedCounter, idle_s: f64, sleep: &dyn Fn(f64)) -> Self {
        match crate::power::power_over(counter.as_ref(), idle_s, sleep) {
            Ok(w) => {
                tracing::info!("{}: per-epoch GPU energy will be measured (idle power {w:.1} W)", counter.name());
                Self { counter: Ok((counter, w)) }
            }
            Err(e) => Self::none(&format!("{e:#}")),
        }
    }

    /// A meter that never measures (tests, CPU backends).
    pub fn none(why: &str) -> Self {
        Self { counter: Err(why.to_string()) }
    }

    /// Idle power subtracted from every window, W.
    pub fn idle_w(&self) -> Option<f64> {
        self.counter.as_ref().ok().map(|(_, w)| *w)
    }

    /// Starts a window.
    pub fn start(&self) -> Window {
        Window(self.counter.as_ref().ok().and_then(|(c, _)| c.energy_mj().ok()))
    }

    /// Ends a window of `secs` seconds: (energy above idle in J, note).
    pub fn finish(&self, w: Window, secs: f64) -> (Option<f64>, String) {
        let (c, idle) = match &self.counter {
            Ok(v) => v,
            Err(e) => return (None, format!("not measured: {e}")),
        };
        let (Some(start), Ok(end)) = (w.0, c.energy_mj()) else {
            return (None, "not measured: the energy counter could not be read".into());
        };
        if secs < MIN_WINDOW_S {
            return (
                None,
                format!("not measured: window {secs:.3} s is below the counter's resolution ({MIN_WINDOW_S} s)"),
            );
        }
        let total = end.saturating_sub(start) as f64 / 1e3;
        let name = c.name();
        (
            Some(total - idle * secs),
            format!("{name} energy counter: {total:.2} J total − idle {idle:.1} W × {secs:.3} s"),
        )
    }
}

/// Seconds since `t`.
pub fn since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::power::Counter;

    /// Returns the given readings in turn, then the last one forever.
    struct Readings(Mutex<Vec<u64>>);

    impl Counter for Readings {
        fn energy_mj(&self) -> anyhow::Result<u64> {
            let mut r = self.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            Ok(if r.len() > 1 { r.remove(0) } else { r[0] })
        }
        fn name(&self) -> String {
            "fake board".into()
        }
    }

    #[test]
    fn an_epoch_window_is_the_counter_minus_idle_power_times_its_length() {
        // Idle: 2 J over a real 0.1 s ≈ 20 W (a little less: the sleep overruns). Epoch: 20 J over 0.5 s.
        let c: SharedCounter = Arc::new(Readings(Mutex::new(vec![0, 2_000, 10_000, 30_000])));
        let m = Meter::with_counter(c, 0.1, &crate::power::real_sleep);
        let idle = m.idle_w().expect("the fake counter reads");
        assert!((15.0..=20.0).contains(&idle), "idle {idle} W");
        let w = m.start();
        let (j, note) = m.finish(w, 0.5);
        let j = j.expect("a 0.5 s window is measured");
        assert!((j - (20.0 - idle * 0.5)).abs() < 1e-9, "{j} J, {note}");
        assert!(note.contains("20.00 J total"), "{note}");
        // Too short a window, and no counter, are notes.
        assert!(m.finish(m.start(), 0.05).1.starts_with("not measured: window"));
        let none = Meter::none("no NVIDIA driver");
        assert_eq!(none.finish(none.start(), 1.0), (None, "not measured: no NVIDIA driver".into()));
    }
}
