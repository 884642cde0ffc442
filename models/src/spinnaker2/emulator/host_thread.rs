//! The helper thread that runs half the PEs' end-of-sample work: it spins between samples for a short while, then
//! parks (a thread start per sample cost ≈ 0.3 ms on a 2-vCPU VM, waking a parked one ≈ 0.13 ms, measured).

use std::{
    ops::Range,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::end::{EndInputs, pe_end};
use super::{Pe, lock};
use crate::spinnaker2::workload::PhaseCounts;

/// How long the helper thread spins for the next job before it parks: longer than the sequential part of a sample
/// (the dynamics, ≈ 0.2–0.3 ms here), short enough that an idle emulator costs nothing noticeable.
pub(super) const HELPER_SPIN: Duration = Duration::from_millis(2);

/// The helper thread and its mailbox.
pub(super) struct Helper {
    pub(super) shared: Arc<HelperShared>,
    pub(super) thread: std::thread::JoinHandle<()>,
}

pub(super) type Job = (Arc<EndInputs>, Range<usize>);

pub(super) struct HelperShared {
    pub(super) pes: Arc<[Mutex<Pe>]>,
    /// Job k posted: 2k + 1; job k done: 2k + 2. Only the main thread makes it odd, only the helper even.
    pub(super) state: AtomicU64,
    pub(super) parked: AtomicBool,
    pub(super) shutdown: AtomicBool,
    pub(super) job: Mutex<Option<Job>>,
    pub(super) results: Mutex<Vec<(usize, (f32, PhaseCounts))>>,
}

impl Helper {
    pub(super) fn start(pes: Arc<[Mutex<Pe>]>) -> Self {
        let shared = Arc::new(HelperShared {
            pes,
            state: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            job: Mutex::new(None),
            results: Mutex::new(Vec::new()),
        });
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("spinnaker2-emulator".into())
            .spawn(move || helper_loop(&sh))
            .expect("cannot start the emulator's helper thread");
        Self { shared, thread }
    }

    /// Posts a job; returns its odd state.
    pub(super) fn post(&self, inputs: Arc<EndInputs>, pes: Range<usize>) -> u64 {
        *self.shared.job.lock().expect("helper mailbox") = Some((inputs, pes));
        let posted = self.shared.state.load(Ordering::SeqCst) + 1;
        self.shared.state.store(posted, Ordering::SeqCst);
        if self.shared.parked.load(Ordering::SeqCst) {
            self.thread.thread().unpark();
        }
        posted
    }

    /// Waits (spinning) until the job `posted` is done and returns its results.
    pub(super) fn wait(&self, posted: u64) -> Vec<(usize, (f32, PhaseCounts))> {
        let mut spins = 0u32;
        while self.shared.state.load(Ordering::Acquire) != posted + 1 {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(4096) && self.thread.is_finished() {
                panic!("the SpiNNaker 2 emulator's helper thread stopped (it panicked; see above)");
            }
        }
        std::mem::take(&mut *self.shared.results.lock().expect("helper results"))
    }

    pub(super) fn stop(self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

pub(super) fn helper_loop(sh: &HelperShared) {
    let mut done = 0u64;
    loop {
        let mut since = Instant::now();
        let mut spins = 0u32;
        loop {
            if sh.shutdown.load(Ordering::SeqCst) {
                return;
            }
            if sh.state.load(Ordering::Acquire) == done + 1 {
                break;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && since.elapsed() > HELPER_SPIN {
                sh.parked.store(true, Ordering::SeqCst);
                if sh.state.load(Ordering::SeqCst) != done + 1 && !sh.shutdown.load(Ordering::SeqCst) {
                    std::thread::park();
                }
                sh.parked.store(false, Ordering::SeqCst);
                since = Instant::now();
            } else {
                std::hint::spin_loop();
            }
        }
        let (inputs, range) = sh.job.lock().expect("helper mailbox").take().expect("a posted job");
        let out: Vec<_> = range.map(|p| (p, pe_end(p, &mut lock(&sh.pes[p]), &inputs))).collect();
        *sh.results.lock().expect("helper results") = out;
        done += 2;
        sh.state.store(done, Ordering::Release);
    }
}
