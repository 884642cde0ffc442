//! Compiling a trainer's unrolled kernels in parallel on CPU adapters.
//!
//! lavapipe turns a pipeline into machine code with LLVM when the pipeline is first dispatched, on the one thread
//! that runs its device's queue. A trainer's first step therefore compiled its large unrolled kernels one after the
//! other (the paper's network on one core of a 2-core VM: the forward ≈ 26 s, BPTT's or e-prop's backward ≈ 106 s,
//! the other core idle). Whole jobs call [`compile_ahead`] with every trainer they will build. Mesa keeps the machine code in its disk cache, keyed by the shader, and shares it between devices
//! and processes; so before a trainer is built, each of its unrolled kernels not yet compiled in this process is
//! dispatched once on its own device — this context's for one, extra devices on the same adapter for the others,
//! one thread each, at most as many as there are CPUs — and the trainer's first step then finds them in the cache.
//! The dispatches belong to a one-sample trainer of the same configuration whose inputs are never written
//! (`dims` is zero: no samples, no work), so nothing the real trainer holds is touched and its results cannot
//! change: the pipelines are the same objects (the context's cache) and the code the same bits.
//!
//! What is compiled is remembered twice: in this process (a set), and across processes by an empty file per kernel
//! beside Mesa's cache (`<cache>/eprop-workbench-jit/`, where `<cache>` is `MESA_SHADER_CACHE_DIR`, else
//! `XDG_CACHE_HOME`, else `~/.cache`, as Mesa chooses), so that a process whose kernels the cache already holds
//! does not open extra devices to load them (≈ 6 s for BPTT on the paper's network). A stale file (the cache
//! cleared) only means the first step compiles one kernel after the other again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{BpttTuning, GpuTrainer, TrainerConfig};
use crate::context::SourceId;
use crate::{GpuContext, KernelError};

/// `SNNBENCH_PARALLEL_JIT=0` turns compiling ahead off (the first step then compiles the kernels one by one).
pub const PARALLEL_JIT_ENV: &str = "SNNBENCH_PARALLEL_JIT";

/// Told how [`compile_ahead`] goes, for a progress display: `(kernels compiled, kernels to compile)`, first
/// `(0, n)` once the kernels left to compile are known (only when there are some to compile ahead), then after each.
pub type CompileReport<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// What one trainer's construction compiled ahead.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledAhead {
    /// The unrolled kernels dispatched (entry points), each once.
    pub kernels: Vec<&'static str>,
    /// Devices that compiled them at the same time (this context's and the extra ones).
    pub devices: usize,
    /// Wall-clock seconds, extra devices' start-up included.
    pub seconds: f64,
}

/// Unrolled kernels compiled in this process, by adapter and source hash: compiled once, they are in the driver's
/// memory (this context) or its disk cache (every other).
static COMPILED: Mutex<Option<HashSet<(String, u64)>>> = Mutex::new(None);

fn adapter_key(ctx: &GpuContext) -> String {
    format!("{} | {} | {}", ctx.info.name, ctx.info.driver, ctx.info.driver_info)
}

fn with_compiled<R>(f: impl FnOnce(&mut HashSet<(String, u64)>) -> R) -> R {
    let mut g = COMPILED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    f(g.get_or_insert_with(HashSet::new))
}

/// Whether Mesa's shader cache is switched off (then a kernel compiled on another device is compiled again here, and
/// compiling ahead would only add work).
fn mesa_cache_disabled() -> bool {
    ["MESA_SHADER_CACHE_DISABLE", "MESA_GLSL_CACHE_DISABLE"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| matches!(s.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "y")))
}

/// The folder of the files that say which kernels Mesa's disk cache holds (module docs).
fn marker_dir() -> Option<PathBuf> {
    let var = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty()).map(PathBuf::from);
    let base = var("MESA_SHADER_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME"))
        .or_else(|| var("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("eprop-workbench-jit"))
}

fn marker(dir: &Path, adapter: &str, id: u64) -> PathBuf {
    dir.join(format!("{:016x}-{id:016x}", crate::shaders::fnv1a(adapter.as_bytes())))
}

/// Compiles the unrolled kernels of a trainer about to be built (`GpuTrainer::with_tuning`), in parallel when that
/// can save time (module docs); `None` when it compiled nothing. Failures are not errors: a kernel not compiled ahead
/// is compiled by the first step, as before.
pub(super) fn compile_ahead_one(ctx: &GpuContext, config: &TrainerConfig, tuning: BpttTuning) -> Option<CompiledAhead> {
    compile_ahead_in(ctx, &[(config.clone(), tuning)], marker_dir().as_deref(), &|_, _| {})
}

/// Compiles the unrolled kernels of every trainer in `configs` (each with its adapter's default tuning, as
/// `GpuTrainer::new` builds it), spread over the CPUs, so that a job which will train several rules or shapes pays
/// for its compiles once and in parallel instead of one after another at each first step. Only CPU adapters compile
/// at first dispatch; elsewhere, and when nothing is left to compile, it does nothing and returns `None`. `report`
/// hears how far it is (on lavapipe minutes the first time: a command shows it as progress).
pub fn compile_ahead(ctx: &GpuContext, configs: &[TrainerConfig], report: CompileReport) -> Option<CompiledAhead> {
    let jobs: Vec<(TrainerConfig, BpttTuning)> = configs
        .iter()
        .filter_map(|c| {
            let t = super::plan::settle(ctx, c, BpttTuning::for_adapter(ctx.info.device_type, c.n_batch)).ok()?;
            Some((c.clone(), t))
        })
        .collect();
    compile_ahead_in(ctx, &jobs, marker_dir().as_deref(), report)
}

/// One kernel to compile: which job's trainer dispatches it, its entry point and its source.
#[derive(Clone, Copy, PartialEq)]
struct Work {
    job: usize,
    stem: &'static str,
    source: SourceId,
}

/// [`compile_ahead`] with the marker folder given (`None`: remember in this process only).
fn compile_ahead_in(
    ctx: &GpuContext,
    jobs: &[(TrainerConfig, BpttTuning)],
    markers: Option<&Path>,
    report: CompileReport,
) -> Option<CompiledAhead> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if ctx.info.device_type != wgpu::DeviceType::Cpu
        || std::env::var(PARALLEL_JIT_ENV).is_ok_and(|v| v == "0")
        || mesa_cache_disabled()
        || cpus < 2
    {
        return None;
    }
    let start = Instant::now();
    let one = |c: &TrainerConfig| TrainerConfig { n_total: 1, n_batch: 1, max_steps: 1, ..c.clone() };
    // One-sample trainers on this context: their pipelines are the real trainers' (the context's cache).
    let here: Vec<Option<GpuTrainer>> = jobs.iter().map(|(c, t)| GpuTrainer::build(ctx, &one(c), *t).ok()).collect();
    let adapter = adapter_key(ctx);
    let mut todo: Vec<Work> = Vec::new();
    for (job, tr) in here.iter().enumerate() {
        for d in tr.iter().flat_map(|tr| &tr.gradient) {
            if let Some(source) = d.jit
                && !todo.iter().any(|w| w.source == source)
                && !with_compiled(|c| c.contains(&(adapter.clone(), source.hash)))
                && !markers.is_some_and(|m| marker(m, &adapter, source.hash).exists())
            {
                todo.push(Work { job, stem: d.stem, source });
            }
        }
    }
    // One kernel compiles as fast on the first step; the parallelism is what this is for.
    if todo.len() < 2 {
        return None;
    }
    report(0, todo.len());
    // Longest source first, so that the long compiles do not end up last on one thread.
    todo.sort_by_key(|w| std::cmp::Reverse(w.source.len));
    let threads = todo.len().min(cpus);
    let next = AtomicUsize::new(0);
    let take = || todo.get(next.fetch_add(1, Ordering::Relaxed)).copied();
    let done: Mutex<Vec<Work>> = Mutex::new(Vec::new());
    let run_alone = |tr: &GpuTrainer, w: Work| match tr.dispatch_alone(w.stem) {
        Ok(()) => {
            let n = {
                let mut d = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                d.push(w);
                d.len()
            };
            report(n, todo.len());
        }
        Err(e) => tracing::debug!(kernel = w.stem, error = %e, "not compiled ahead; the first step compiles it"),
    };
    let devices = AtomicUsize::new(1);
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(|| {
                // An extra device on the same adapter, with one-sample trainers built as its work needs them; all
                // are dropped (and Mesa's cache writes flushed) before the scope ends.
                let helper = match GpuContext::new(Some(&ctx.info.name)) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "no extra device to compile on; the first step compiles");
                        return;
                    }
                };
                devices.fetch_add(1, Ordering::Relaxed);
                let mut trainers: Vec<Option<GpuTrainer>> = jobs.iter().map(|_| None).collect();
                while let Some(w) = take() {
                    if trainers[w.job].is_none() {
                        let (c, t) = &jobs[w.job];
                        trainers[w.job] = GpuTrainer::build(&helper, &one(c), *t).ok();
                    }
                    if let Some(tr) = &trainers[w.job] {
                        run_alone(tr, w);
                    }
                }
            });
        }
        while let Some(w) = take() {
            if let Some(tr) = &here[w.job] {
                run_alone(tr, w);
            }
        }
    });
    let done = done.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    if done.is_empty() {
        return None;
    }
    with_compiled(|c| c.extend(done.iter().map(|w| (adapter.clone(), w.source.hash))));
    if let Some(m) = markers
        && std::fs::create_dir_all(m).is_ok()
    {
        for w in &done {
            let _ = std::fs::write(marker(m, &adapter, w.source.hash), b"");
        }
    }
    let out = CompiledAhead {
        kernels: todo.iter().filter(|w| done.contains(w)).map(|w| w.stem).collect(),
        devices: devices.into_inner(),
        seconds: start.elapsed().as_secs_f64(),
    };
    tracing::info!(
        kernels = ?out.kernels,
        devices = out.devices,
        seconds = out.seconds,
        "compiled the unrolled kernels in parallel"
    );
    Some(out)
}

impl GpuTrainer {
    /// Runs the first recorded dispatch of kernel `stem` by itself and waits for it (on lavapipe: compiles it).
    fn dispatch_alone(&self, stem: &str) -> Result<(), KernelError> {
        let d = self
            .gradient
            .iter()
            .find(|d| d.stem == stem)
            .ok_or_else(|| KernelError::Input(format!("internal: no dispatch of `{stem}` in this trainer")))?;
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(stem) });
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(stem), timestamp_writes: None });
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
        }
        self.queue.submit([enc.finish()]);
        self.wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trainer::plan::settle;
    use models::{NetConfig, Rule, TraceVariant, bptt::BpttOptions};

    /// The unrolled kernels of a job's trainers are compiled once, each on one of as many devices as there are kernels
    /// and CPUs, and remembered in this process and in the marker folder; a kernel another process marked is left to
    /// the cache; a GPU compiles nothing ahead.
    #[test]
    fn a_cpu_adapter_compiles_each_unrolled_kernel_once_in_parallel() {
        let ctx = GpuContext::new(None).unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!("eprop-jit-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // A network no other test of this process builds (the set of compiled kernels is process-wide).
        let cfg = NetConfig { n_in: 6, n_rec: 11, n_out: 3, ..NetConfig::default() };
        let job = |rule| {
            let c = TrainerConfig::new(&cfg, rule, 3, 12);
            let t = settle(&ctx, &c, BpttTuning::for_adapter(ctx.info.device_type, 3)).expect("tuning");
            (c, t)
        };
        let bptt = job(Rule::Bptt(BpttOptions::default()));
        let eprop = job(Rule::Eprop(TraceVariant::Authors));
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let heard = Mutex::new(Vec::new());
        let report = |done: usize, total: usize| heard.lock().expect("lock").push((done, total));
        let first = compile_ahead_in(&ctx, &[bptt.clone(), eprop.clone()], Some(&dir), &report);
        let heard = heard.into_inner().expect("lock");
        if ctx.info.device_type != wgpu::DeviceType::Cpu || cpus < 2 || mesa_cache_disabled() {
            assert_eq!(first, None, "nothing to gain: {}, {cpus} CPUs", ctx.describe());
            assert!(heard.is_empty(), "nothing compiled, nothing reported: {heard:?}");
            return;
        }
        // BPTT's forward (with the threshold record) and backward, e-prop's forward and backward: four sources.
        let first = first.expect("both rules' kernels compiled ahead");
        let mut kernels = first.kernels.clone();
        kernels.sort_unstable();
        assert_eq!(kernels, ["alif_forward_sg", "alif_forward_sg", "bptt_backward_sg", "eprop_backward_sg"]);
        assert_eq!(first.devices, cpus.min(4), "this context and one extra device per further CPU");
        // The progress: (0, 4) before the first compile, then each count once (threads may report out of order).
        assert_eq!(heard.first(), Some(&(0, 4)), "{heard:?}");
        let mut counts = heard.clone();
        counts.sort_unstable();
        assert_eq!(counts, [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]);
        let files = std::fs::read_dir(&dir).expect("marker folder").count();
        assert_eq!(files, 4, "one marker per kernel in {}", dir.display());
        let silent = |_: usize, _: usize| panic!("nothing left to compile, nothing to report");
        assert_eq!(compile_ahead_in(&ctx, &[bptt], Some(&dir), &silent), None, "already compiled in this process");
        // BPTT without the reset's gradient: the forward is compiled, the new backward is marked by "another
        // process" (a marker file written here), so nothing is left to compile ahead.
        let (detach, td) = job(Rule::Bptt(BpttOptions { detach_reset: true, ..BpttOptions::default() }));
        let one = TrainerConfig { n_total: 1, n_batch: 1, ..detach.clone() };
        let probe = GpuTrainer::build(&ctx, &one, td).expect("one-sample trainer");
        let ids: Vec<u64> = probe.gradient.iter().filter_map(|d| d.jit.map(|j| j.hash)).collect();
        assert_eq!(ids.len(), 2, "forward and backward");
        std::fs::write(marker(&dir, &adapter_key(&ctx), ids[1]), b"").expect("marker");
        assert_eq!(
            compile_ahead_in(&ctx, &[(detach, td)], Some(&dir), &silent),
            None,
            "the marked kernel is left to the cache"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
