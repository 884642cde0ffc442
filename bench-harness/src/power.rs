//! GPU energy per training sample by the MLPerf power rules, as far as one board's counter allows: a window of at
//! least 60 s of repeated training (or the whole run when longer), the board's total-energy counter sampled at
//! ≥ 1 Hz during it, idle power measured before and after with a cooldown, and both total and above-idle joules per
//! sample reported with the window, the idle watts and the GPU's name.
//!
//! NVML's total-energy counter (mJ since driver load, Volta and later) updates about every 100 ms, so a window's
//! energy is exact to ≈ 0.1 s of power at each end; the power reading that NVML gives on Hopper is a 1 s average,
//! which is why idle power is taken from the counter over several seconds, not from single power readings. The
//! measurement runs against any [`Counter`], so the arithmetic is tested without a GPU (`tests` below).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

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

/// Average power over the protocol's idle time after its cooldown, from the counter.
fn idle_power(c: &dyn Counter, p: &Protocol, sleep: &dyn Fn(f64)) -> Result<f64> {
    sleep(p.cooldown_s);
    power_over(c, p.idle_s, sleep)
}

/// Average power over `secs` of `sleep`, from the counter: its energy divided by the time that really passed.
pub(crate) fn power_over(c: &dyn Counter, secs: f64, sleep: &dyn Fn(f64)) -> Result<f64> {
    let (e0, t0) = (c.energy_mj()?, Instant::now());
    sleep(secs);
    let (e1, dt) = (c.energy_mj()?, t0.elapsed().as_secs_f64());
    Ok(e1.saturating_sub(e0) as f64 / 1e3 / dt.max(1e-9))
}

/// A shared counter (the sampler thread reads it while the caller trains).
pub type SharedCounter = Arc<dyn Counter + Send + Sync>;

/// An open measurement window: idle was measured before it, a sampler thread reads the counter at least every
/// `sample_period_s`, and the caller counts the samples it trains ([`Window::count`]) until [`Window::needs_more`]
/// is false — a whole training run, topped up with repeated training when the run is shorter than the window.
pub struct Window {
    counter: SharedCounter,
    protocol: Protocol,
    idle_before: f64,
    start: Instant,
    e_start: u64,
    samples: u64,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<Vec<(f64, u64)>>>,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Window({} samples, {:.1} s, idle {:.1} W)", self.samples, self.elapsed_s(), self.idle_before)
    }
}

impl Window {
    /// Cools down, measures idle power, then starts the window and its sampler.
    pub fn open(counter: SharedCounter, protocol: Protocol, sleep: &dyn Fn(f64)) -> Result<Self> {
        let idle_before = idle_power(counter.as_ref(), &protocol, sleep)?;
        let start = Instant::now();
        let e_start = counter.energy_mj()?;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (c, stop) = (counter.clone(), stop.clone());
            let period = Duration::from_secs_f64(protocol.sample_period_s.clamp(0.001, 1.0));
            std::thread::spawn(move || {
                let mut r = vec![(0.0, e_start)];
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    if let Ok(e) = c.energy_mj() {
                        r.push((start.elapsed().as_secs_f64(), e));
                    }
                }
                r
            })
        };
        Ok(Self { counter, protocol, idle_before, start, e_start, samples: 0, stop, sampler: Some(sampler) })
    }

    /// Adds samples trained inside the window.
    pub fn count(&mut self, samples: u64) {
        self.samples += samples;
    }

    /// Samples counted so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Seconds since the window opened.
    pub fn elapsed_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Whether the window is still shorter than the protocol's minimum (or holds no sample yet).
    pub fn needs_more(&self) -> bool {
        self.elapsed_s() < self.protocol.min_window_s || self.samples == 0
    }

    /// Ends the window, measures idle power after it (with its cooldown) and returns the measurement.
    pub fn close(mut self, sleep: &dyn Fn(f64)) -> Result<Measurement> {
        self.stop.store(true, Ordering::Relaxed);
        let readings = match self.sampler.take() {
            Some(h) => h.join().map_err(|_| anyhow::anyhow!("the energy sampler thread panicked"))?,
            None => vec![],
        };
        let window = self.elapsed_s();
        let e_end = self.counter.energy_mj()?;
        if self.samples == 0 {
            anyhow::bail!("the energy window holds no trained sample");
        }
        let p = self.protocol;
        let idle_before = self.idle_before;
        let idle_after = idle_power(self.counter.as_ref(), &p, sleep)?;
        let total = e_end.saturating_sub(self.e_start) as f64 / 1e3;
        let idle = 0.5 * (idle_before + idle_after);
        let max_gap = readings
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .fold((window - readings.last().map_or(0.0, |r| r.0)).max(0.0), f64::max);
        let samples = self.samples;
        Ok(Measurement {
            gpu: self.counter.name(),
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
                "MLPerf-style: {window:.1} s of repeated training (≥ {} s{}), the board's total-energy counter (NVML, \
                 updated ≈ every 100 ms; Hopper's power readings are 1 s averages, so idle comes from the counter too) \
                 sampled every ≤ {} s, idle {:.1} W before and {:.1} W after ({} s each, after {} s cooldown); above-idle = \
                 total − mean idle × window",
                p.min_window_s,
                if p.min_window_s < MLPERF_MIN_WINDOW_S { ", below MLPerf's 60 s" } else { "" },
                p.sample_period_s,
                idle_before,
                idle_after,
                p.idle_s,
                p.cooldown_s
            ),
        })
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // A window dropped on an error path stops its sampler too.
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Measures idle before, then repeats `train_once` (which trains and returns how many samples it trained, waiting
/// for the device) until the window is at least `p.min_window_s` long, with the counter sampled by a thread at
/// least every `p.sample_period_s`, then idle after ([`Window`]).
pub fn measure(
    c: SharedCounter,
    p: Protocol,
    sleep: &dyn Fn(f64),
    mut train_once: impl FnMut() -> Result<u64>,
) -> Result<Measurement> {
    let mut w = Window::open(c, p, sleep)?;
    while w.needs_more() {
        let n = train_once()?;
        w.count(n);
    }
    w.close(sleep)
}

/// MLPerf's shortest power-measurement window, s.
pub const MLPERF_MIN_WINDOW_S: f64 = 60.0;

/// `[energy]` of a `reproduce` or `train` config (`--energy-window` on `bench`): the protocol of the GPU energy
/// measurement. It changes no result; `window_s = 0` turns the measurement off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnergyConfig {
    /// Shortest window of repeated training, s (MLPerf: 60; 0: off).
    pub window_s: f64,
    /// Cooldown before each idle measurement, s.
    pub cooldown_s: f64,
    /// Idle measurement before and after the window, s.
    pub idle_s: f64,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        let p = Protocol::default();
        Self { window_s: p.min_window_s, cooldown_s: p.cooldown_s, idle_s: p.idle_s }
    }
}

impl EnergyConfig {
    /// The quick runs' protocol: a 5 s window (below MLPerf's 60 s, which the rows say), 2 s cooldown, 3 s idle.
    pub fn quick() -> Self {
        Self { window_s: 5.0, cooldown_s: 2.0, idle_s: 3.0 }
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        Protocol {
            min_window_s: self.window_s,
            cooldown_s: self.cooldown_s,
            idle_s: self.idle_s,
            ..Protocol::default()
        }
    }

    /// The counter to measure with, or why there is none (off, or no NVIDIA driver).
    pub fn counter(&self) -> std::result::Result<SharedCounter, String> {
        // A window that is not a positive number of seconds (0, or a config's negative or NaN) is off.
        if !(self.window_s > 0.0 && self.window_s.is_finite()) {
            return Err(format!("off (energy window {} s)", self.window_s));
        }
        Nvml::open().map(|n| Arc::new(n) as SharedCounter).map_err(|e| format!("{e:#}"))
    }
}

/// A row of `gpu_energy.csv`: one GPU training's energy by [`measure`] or a [`Window`], or why it was not measured.
/// The first eleven columns are those of the runs before the MLPerf-style protocol (cost_stage reads them).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnergyRow {
    pub experiment: String,
    pub adapter: String,
    pub batch: usize,
    /// Samples trained in the window.
    pub samples: u64,
    /// The window, s.
    pub seconds: f64,
    /// Board energy over the window, J.
    pub energy_j_total: Option<f64>,
    /// Mean of the idle power before and after, W.
    pub idle_w: Option<f64>,
    /// Total − mean idle × window, J.
    pub energy_j_above_idle: Option<f64>,
    /// Above idle per sample, J.
    pub j_per_sample: Option<f64>,
    pub source: String,
    pub note: String,
    /// The board NVML names.
    pub gpu: Option<String>,
    /// The protocol's shortest window, s.
    pub min_window_s: Option<f64>,
    pub idle_w_before: Option<f64>,
    pub idle_w_after: Option<f64>,
    /// Total per sample, idle included, J.
    pub total_j_per_sample: Option<f64>,
    /// Counter readings in the window and the largest gap between two, s.
    pub counter_samples: Option<u64>,
    pub max_sample_gap_s: Option<f64>,
}

impl EnergyRow {
    /// A measured row; `what` says what the window held.
    pub fn measured(experiment: &str, adapter: &str, batch: usize, m: &Measurement, what: &str) -> Self {
        let idle = 0.5 * (m.idle_w_before + m.idle_w_after);
        Self {
            experiment: experiment.into(),
            adapter: adapter.into(),
            batch,
            samples: m.samples,
            seconds: m.window_s,
            energy_j_total: Some(m.total_j),
            idle_w: Some(idle),
            energy_j_above_idle: Some(m.total_j - idle * m.window_s),
            j_per_sample: Some(m.above_idle_j_per_sample),
            source: "measured (NVML total-energy counter, MLPerf-style window; idle from the counter before and after)"
                .into(),
            note: format!("{what}; {}", m.method),
            gpu: Some(m.gpu.clone()),
            min_window_s: Some(m.protocol.min_window_s),
            idle_w_before: Some(m.idle_w_before),
            idle_w_after: Some(m.idle_w_after),
            total_j_per_sample: Some(m.total_j_per_sample),
            counter_samples: Some(m.counter_samples as u64),
            max_sample_gap_s: Some(m.max_sample_gap_s),
        }
    }

    /// A row that says why nothing was measured.
    pub fn not_measured(experiment: &str, adapter: &str, batch: usize, why: &str) -> Self {
        Self {
            experiment: experiment.into(),
            adapter: adapter.into(),
            batch,
            samples: 0,
            seconds: f64::NAN,
            energy_j_total: None,
            idle_w: None,
            energy_j_above_idle: None,
            j_per_sample: None,
            source: "not measured".into(),
            note: format!("not measured: {why}"),
            gpu: None,
            min_window_s: None,
            idle_w_before: None,
            idle_w_after: None,
            total_j_per_sample: None,
            counter_samples: None,
            max_sample_gap_s: None,
        }
    }
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
        let fake = Arc::new(Fake { state: Mutex::new((Instant::now(), 0.0, false)), idle: 50.0, busy_w: 200.0 });
        let p = Protocol { min_window_s: 0.6, cooldown_s: 0.05, idle_s: 0.3, sample_period_s: 0.05 };
        let m = measure(fake.clone(), p, &real_sleep, || {
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

    /// A whole run longer than the window is measured as it is (no top-up); one shorter needs more; an empty window
    /// is an error, and the off switch and a missing driver are reasons.
    #[test]
    fn a_window_takes_a_whole_run_and_asks_for_more_only_when_it_is_short() {
        let fake = Arc::new(Fake { state: Mutex::new((Instant::now(), 0.0, false)), idle: 20.0, busy_w: 80.0 });
        let p = Protocol { min_window_s: 0.2, cooldown_s: 0.01, idle_s: 0.1, sample_period_s: 0.02 };
        let mut w = Window::open(fake.clone(), p, &real_sleep).expect("open");
        assert!(w.needs_more(), "no sample yet");
        fake.set_busy(true);
        std::thread::sleep(Duration::from_millis(300));
        fake.set_busy(false);
        w.count(30);
        assert!(!w.needs_more(), "a run of 0.3 s fills a 0.2 s window");
        let m = w.close(&real_sleep).expect("close");
        // 100 W over ≈ 0.3 s for 30 samples: ≈ 1 J per sample in total, 0.8 above the 20 W idle.
        assert_eq!(m.samples, 30);
        assert!((m.total_j_per_sample - 1.0).abs() < 0.1, "{m:?}");
        assert!((m.above_idle_j_per_sample - 0.8).abs() < 0.1, "{m:?}");
        let empty = Window::open(fake.clone(), p, &real_sleep).expect("open");
        assert!(empty.close(&real_sleep).is_err(), "a window with no sample");
        let off = EnergyConfig { window_s: 0.0, ..EnergyConfig::default() };
        assert!(off.counter().err().is_some_and(|e| e.starts_with("off")));
        let row = EnergyRow::measured("gpu_bptt", "adapter", 100, &m, "the run");
        assert_eq!(row.j_per_sample, Some(m.above_idle_j_per_sample));
        assert!(row.note.starts_with("the run; MLPerf-style: ") && row.note.contains("below MLPerf's 60 s"));
    }
}
