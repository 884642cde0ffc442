//! GPU energy per training sample by the MLPerf power rules, as far as one board's counter allows: a window of at
//! least 60 s of repeated training (or the whole run when longer), the board's total-energy counter sampled at
//! ≥ 1 Hz during it, idle power measured before and after with a cooldown, and both total and above-idle joules per
//! sample reported with the window, the idle watts and the GPU's name.
//!
//! NVML's total-energy counter (mJ since driver load, Volta and later) updates about every 100 ms, so a window's
//! energy is exact to ≈ 0.1 s of power at each end; the power reading that NVML gives on Hopper is a 1 s average,
//! which is why idle power is taken from the counter over several seconds, not from single power readings. The
//! measurement runs against any [`Counter`], so the arithmetic is tested without a GPU (`tests` below).

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

/// A board's energy counter.
pub trait Counter {
    /// Energy since an arbitrary origin, millijoules, monotone.
    fn energy_mj(&self) -> Result<u64>;
    /// The board's name.
    fn name(&self) -> String;
}

/// NVML device 0 (the library is loaded at run time; its absence is an error the caller turns into a note).
#[derive(Debug)]
pub struct Nvml {
    nvml: nvml_wrapper::Nvml,
}

impl Nvml {
    /// Opens NVML and checks that device 0 has the energy counter.
    pub fn open() -> Result<Self> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| anyhow::anyhow!("no NVIDIA driver (NVML: {e})"))?;
        let s = Self { nvml };
        s.energy_mj()?;
        Ok(s)
    }
}

impl Counter for Nvml {
    fn energy_mj(&self) -> Result<u64> {
        let d = self.nvml.device_by_index(0).map_err(|e| anyhow::anyhow!("NVML device 0: {e}"))?;
        d.total_energy_consumption().map_err(|e| anyhow::anyhow!("NVML energy counter: {e}"))
    }

    fn name(&self) -> String {
        self.nvml.device_by_index(0).and_then(|d| d.name()).unwrap_or_else(|_| "NVIDIA GPU (name unknown)".into())
    }
}

/// How long each part lasts.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Protocol {
    /// Shortest measured window of repeated training, s (MLPerf: 60).
    pub min_window_s: f64,
    /// Idle time before the idle measurement (before and after the window), s.
    pub cooldown_s: f64,
    /// Idle measurement, s (before and after).
    pub idle_s: f64,
    /// Counter sampling period, s (≤ 1 for ≥ 1 Hz).
    pub sample_period_s: f64,
}

impl Default for Protocol {
    fn default() -> Self {
        Self { min_window_s: 60.0, cooldown_s: 10.0, idle_s: 10.0, sample_period_s: 0.5 }
    }
}

/// One measurement.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// The GPU.
    pub gpu: String,
    /// Length of the training window, s.
    pub window_s: f64,
    /// Samples trained in it.
    pub samples: u64,
    /// Counter samples taken during the window (≥ 1 Hz).
    pub counter_samples: usize,
    /// Largest gap between two counter samples in the window, s.
    pub max_sample_gap_s: f64,
    /// Board energy over the window, J.
    pub total_j: f64,
    /// Idle power before the window (counter over `idle_s`), W.
    pub idle_w_before: f64,
    /// Idle power after the window, W.
    pub idle_w_after: f64,
    /// Board energy per sample, idle included, J.
    pub total_j_per_sample: f64,
    /// (total − mean idle × window) per sample, J.
    pub above_idle_j_per_sample: f64,
    /// The protocol used.
    pub protocol: Protocol,
    /// How the figures were made.
    pub method: String,
}

/// Average power over `secs` of idling, from the counter.
fn idle_power(c: &dyn Counter, p: &Protocol, sleep: &dyn Fn(f64)) -> Result<f64> {
    sleep(p.cooldown_s);
    let (e0, t0) = (c.energy_mj()?, Instant::now());
    sleep(p.idle_s);
    let (e1, dt) = (c.energy_mj()?, t0.elapsed().as_secs_f64());
    Ok(e1.saturating_sub(e0) as f64 / 1e3 / dt.max(1e-9))
}

/// Measures idle before, then repeats `train_once` (which trains and returns how many samples it trained, waiting
/// for the device) until the window is at least `p.min_window_s` long, sampling the counter between calls and at
/// least every `p.sample_period_s` (from a sampler thread), then idle after.
pub fn measure(
    c: &(dyn Counter + Sync),
    p: Protocol,
    sleep: &dyn Fn(f64),
    mut train_once: impl FnMut() -> Result<u64>,
) -> Result<Measurement> {
    let idle_before = idle_power(c, &p, sleep)?;
    let start = Instant::now();
    let e_start = c.energy_mj()?;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (samples, readings) = std::thread::scope(|s| -> Result<(u64, Vec<(f64, u64)>)> {
        let sampler = s.spawn(|| {
            let mut r = vec![(0.0, e_start)];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs_f64(p.sample_period_s.clamp(0.001, 1.0)));
                if let Ok(e) = c.energy_mj() {
                    r.push((start.elapsed().as_secs_f64(), e));
                }
            }
            r
        });
        let mut samples = 0u64;
        let trained = (|| {
            while start.elapsed().as_secs_f64() < p.min_window_s || samples == 0 {
                samples += train_once()?;
            }
            Ok::<(), anyhow::Error>(())
        })();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let readings = sampler.join().map_err(|_| anyhow::anyhow!("the energy sampler thread panicked"))?;
        trained?;
        Ok((samples, readings))
    })?;
    let window = start.elapsed().as_secs_f64();
    let e_end = c.energy_mj()?;
    let idle_after = idle_power(c, &p, sleep)?;
    let total = e_end.saturating_sub(e_start) as f64 / 1e3;
    let idle = 0.5 * (idle_before + idle_after);
    let max_gap = readings
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold((window - readings.last().map_or(0.0, |r| r.0)).max(0.0), f64::max);
    Ok(Measurement {
        gpu: c.name(),
        window_s: window,
        samples,
        counter_samples: readings.len(),
        max_sample_gap_s: max_gap,
        total_j: total,
        idle_w_before: idle_before,
        idle_w_after: idle_after,
        total_j_per_sample: total / samples as f64,
        above_idle_j_per_sample: (total - idle * window) / samples as f64,
        protocol: p,
        method: format!(
            "MLPerf-style: {window:.1} s of repeated training (≥ {} s), the board's total-energy counter (NVML, \
             updated ≈ every 100 ms; Hopper's power readings are 1 s averages, so idle comes from the counter too) \
             sampled every ≤ {} s, idle {:.1} W before and {:.1} W after ({} s each, after {} s cooldown); above-idle = \
             total − mean idle × window",
            p.min_window_s, p.sample_period_s, idle_before, idle_after, p.idle_s, p.cooldown_s
        ),
    })
}

/// Sleeps for real.
pub fn real_sleep(secs: f64) {
    std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A board whose power is `idle` W at rest and `idle + busy` W while `busy` is set, integrated on every read.
    struct Fake {
        state: Mutex<(Instant, f64, bool)>,
        idle: f64,
        busy_w: f64,
    }

    impl Fake {
        /// Integrates the energy up to now under the lock; then switches the state when asked.
        fn advance(&self, switch: Option<bool>) -> f64 {
            let mut s = self.state.lock().expect("lock");
            let now = Instant::now();
            let w = if s.2 { self.idle + self.busy_w } else { self.idle };
            s.1 += w * (now - s.0).as_secs_f64() * 1e3;
            s.0 = now;
            if let Some(on) = switch {
                s.2 = on;
            }
            s.1
        }
        fn set_busy(&self, on: bool) {
            self.advance(Some(on));
        }
    }

    impl Counter for Fake {
        fn energy_mj(&self) -> Result<u64> {
            Ok(self.advance(None) as u64)
        }
        fn name(&self) -> String {
            "fake board".into()
        }
    }

    #[test]
    fn idle_and_above_idle_energy_per_sample_come_out_of_the_counter() {
        let fake = Fake { state: Mutex::new((Instant::now(), 0.0, false)), idle: 50.0, busy_w: 200.0 };
        let p = Protocol { min_window_s: 0.6, cooldown_s: 0.05, idle_s: 0.3, sample_period_s: 0.05 };
        let m = measure(&fake, p, &real_sleep, || {
            fake.set_busy(true);
            std::thread::sleep(Duration::from_millis(100));
            fake.set_busy(false);
            Ok(10)
        })
        .expect("measure");
        assert!(m.window_s >= 0.6 && m.samples >= 60, "{m:?}");
        assert!((m.idle_w_before - 50.0).abs() < 1.0 && (m.idle_w_after - 50.0).abs() < 1.0, "{m:?}");
        // Busy the whole window at 250 W: 250 × 0.1 s per 10 samples = 2.5 J per sample, 2 above idle.
        assert!((m.total_j_per_sample - 2.5).abs() < 0.15, "{m:?}");
        assert!((m.above_idle_j_per_sample - 2.0).abs() < 0.15, "{m:?}");
        assert!(m.counter_samples >= 10 && m.max_sample_gap_s <= 0.2, "{m:?}");
        assert_eq!(m.gpu, "fake board");
    }
}
