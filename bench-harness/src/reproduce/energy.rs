//! GPU energy from NVML when an NVIDIA driver is present: the library is loaded at run time (`libnvidia-ml.so.1`),
//! so nothing is needed at build time and its absence is a note ("not measured: …"), never a failure. Energy is the
//! board's total-energy counter (mJ, Volta and later) over the measured window, minus the idle power (sampled before
//! the first window) × the window's length.

use std::time::{Duration, Instant};

use nvml_wrapper::Nvml;

/// Shortest window the counter is trusted for (its update period is tens of ms).
const MIN_WINDOW_S: f64 = 0.2;

/// An open NVML device, or why there is none.
pub struct Meter {
    nvml: Result<(Nvml, f64), String>,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.nvml {
            Ok((_, idle)) => write!(f, "Meter(NVML, idle {idle:.1} W)"),
            Err(e) => write!(f, "Meter(not measured: {e})"),
        }
    }
}

/// A started window: the counter's reading in mJ.
#[derive(Clone, Copy, Debug)]
pub struct Window(Option<u64>);

impl Meter {
    /// Opens GPU 0 through NVML and samples its idle power for half a second.
    pub fn open() -> Self {
        let nvml = Nvml::init().map_err(|e| format!("no NVIDIA driver (NVML: {e})")).and_then(|n| {
            let idle = {
                let d = n.device_by_index(0).map_err(|e| format!("NVML device 0: {e}"))?;
                d.total_energy_consumption().map_err(|e| format!("NVML energy counter: {e}"))?;
                let mut w = Vec::new();
                for _ in 0..10 {
                    w.push(d.power_usage().map_err(|e| format!("NVML power: {e}"))? as f64 / 1e3);
                    std::thread::sleep(Duration::from_millis(50));
                }
                w.sort_by(f64::total_cmp);
                w[w.len() / 2]
            };
            Ok((n, idle))
        });
        if let Ok((_, idle)) = &nvml {
            tracing::info!("NVML: GPU energy will be measured (idle power {idle:.1} W)");
        }
        Self { nvml }
    }

    /// A meter that never measures (tests, CPU backends).
    pub fn none(why: &str) -> Self {
        Self { nvml: Err(why.to_string()) }
    }

    /// Idle power subtracted from every window, W.
    pub fn idle_w(&self) -> Option<f64> {
        self.nvml.as_ref().ok().map(|(_, w)| *w)
    }

    /// Starts a window.
    pub fn start(&self) -> Window {
        Window(self.nvml.as_ref().ok().and_then(|(n, _)| n.device_by_index(0).ok()?.total_energy_consumption().ok()))
    }

    /// Ends a window of `secs` seconds: (energy above idle in J, note).
    pub fn finish(&self, w: Window, secs: f64) -> (Option<f64>, String) {
        let (n, idle) = match &self.nvml {
            Ok(v) => v,
            Err(e) => return (None, format!("not measured: {e}")),
        };
        let Some(start) = w.0 else { return (None, "not measured: the energy counter could not be read".into()) };
        let Some(end) = n.device_by_index(0).ok().and_then(|d| d.total_energy_consumption().ok()) else {
            return (None, "not measured: the energy counter could not be read".into());
        };
        if secs < MIN_WINDOW_S {
            return (
                None,
                format!("not measured: window {secs:.3} s is below the counter's resolution ({MIN_WINDOW_S} s)"),
            );
        }
        let total = end.saturating_sub(start) as f64 / 1e3;
        (Some(total - idle * secs), format!("NVML energy counter: {total:.2} J total − idle {idle:.1} W × {secs:.3} s"))
    }
}

/// Seconds since `t`.
pub fn since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
