//! `snnbench bench`: the performance suite — samples/s and bytes for every rule × backend × batch × T (one warm-up
//! step, then the median of timed runs) — and, when `python3 -c "import torch"` works, the PyTorch peer
//! (`bench-harness/peers/torch_bptt.py`) on the same device, side by side in one CSV. A missing peer is a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use models::{Rule, TraceVariant, bptt::BpttOptions};

use crate::bench_train::{BenchCaseSpec, BenchCell};
use crate::contender::{EpropChunk, Kind};
use serde::{Deserialize, Serialize};

use crate::results::table::Table;

/// A row of `bench.csv`: one contender × rule × batch × T, measured or saying why not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    pub rule: String,
    pub backend: String,
    pub adapter: String,
    pub batch: usize,
    pub t_steps: usize,
    pub samples: usize,
    pub reps: usize,
    pub samples_per_s: f64,
    pub time_per_sample_ms: f64,
    pub wall_time_s: f64,
    pub gpu_time_s: Option<f64>,
    pub bytes_total: Option<u64>,
    pub bytes_history: Option<u64>,
    pub bytes_input: Option<u64>,
    pub git_rev: String,
    pub source: String,
    pub note: String,
    /// The formulation's unskippable multiply-adds per sample, as FLOP (crate::floor).
    pub flop_per_sample: Option<f64>,
    /// The adapter's peak, when known.
    pub adapter_peak_gflops: Option<f64>,
    /// The bytes per sample that must come from the adapter's memory (crate::floor; empty in runs before it).
    #[serde(default)]
    pub bytes_per_sample: Option<f64>,
    /// The adapter's memory bandwidth, when known (empty in runs before it).
    #[serde(default)]
    pub adapter_peak_gbs: Option<f64>,
    /// The larger of the times the work takes at the peak and the bytes at the bandwidth (before the bytes were
    /// counted: the work's alone).
    pub floor_ms_per_sample: Option<f64>,
    pub floor_source: Option<String>,
    /// GPU energy by the MLPerf-style protocol (`--energy-window`): the board, the window, mean idle power, and
    /// joules per sample in total and above idle; or why not (`gpu_energy_note`).
    pub gpu_name: Option<String>,
    pub gpu_energy_window_s: Option<f64>,
    pub gpu_idle_w: Option<f64>,
    pub gpu_j_per_sample_total: Option<f64>,
    pub gpu_j_per_sample_above_idle: Option<f64>,
    pub gpu_energy_note: Option<String>,
    /// WGSL e-prop: steps per forward chunk (`all`: the whole sequence); empty for other rows and in runs before
    /// the option existed (they ran 100).
    #[serde(default)]
    pub eprop_chunk: Option<String>,
    /// The machine the row ran on (crate::results::run::host_description: CPU model, CPUs, vector unit, clock, OS);
    /// empty in runs before the column existed.
    #[serde(default)]
    pub host: Option<String>,
}

impl BenchRow {
    /// A row of `rule_name` on `backend` with its floor columns (crate::floor) and no measurement yet.
    fn with_floor(rule_name: &str, backend: &str, adapter: String, batch: usize, steps: usize, rev: &str) -> Self {
        let cfg = models::NetConfig::default();
        let flop = crate::floor::flop_per_sample(&cfg, rule_of(rule_name), steps);
        let bytes = crate::floor::bytes_per_sample(&cfg, steps);
        let (peak, source) = crate::floor::peak_gflops(backend, &adapter);
        let (bw, bw_source) = crate::floor::peak_bandwidth_gbs(backend, &adapter);
        let (floor, bound) = crate::floor::roofline_ms(flop, peak, bytes, bw);
        Self {
            flop_per_sample: Some(flop),
            adapter_peak_gflops: peak,
            bytes_per_sample: Some(bytes),
            adapter_peak_gbs: bw,
            floor_ms_per_sample: floor,
            floor_source: Some(format!(
                "modelled: the larger of work at the peak and bytes at the bandwidth (here {bound}; each a lower \
                 bound: the formulation's unskippable multiply-adds, the sample's input read once); peak: {source}; \
                 bandwidth: {bw_source}"
            )),
            ..Self::empty(rule_name, backend, adapter, batch, steps, rev)
        }
    }

    /// A row of `rule_name` on `backend` with every measurement and floor column empty.
    fn empty(rule_name: &str, backend: &str, adapter: String, batch: usize, steps: usize, rev: &str) -> Self {
        Self {
            rule: rule_name.into(),
            backend: backend.into(),
            adapter,
            batch,
            t_steps: steps,
            samples: 0,
            reps: 0,
            samples_per_s: f64::NAN,
            time_per_sample_ms: f64::NAN,
            wall_time_s: f64::NAN,
            gpu_time_s: None,
            bytes_total: None,
            bytes_history: None,
            bytes_input: None,
            git_rev: rev.into(),
            source: String::new(),
            note: String::new(),
            flop_per_sample: None,
            adapter_peak_gflops: None,
            bytes_per_sample: None,
            adapter_peak_gbs: None,
            floor_ms_per_sample: None,
            floor_source: None,
            gpu_name: None,
            gpu_energy_window_s: None,
            gpu_idle_w: None,
            gpu_j_per_sample_total: None,
            gpu_j_per_sample_above_idle: None,
            gpu_energy_note: None,
            eprop_chunk: None,
            host: Some(crate::results::run::host_description()),
        }
    }

    /// " (N× its floor)" when the floor is known.
    fn times_floor(&self) -> String {
        match self.floor_ms_per_sample {
            Some(f) if f.is_finite() && f > 0.0 => format!(" ({:.0}× its floor)", self.time_per_sample_ms / f),
            _ => String::new(),
        }
    }
}

fn rule_of(name: &str) -> Rule {
    if name == "bptt" { Rule::Bptt(BpttOptions::default()) } else { Rule::Eprop(TraceVariant::Authors) }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// Rules.
    pub rules: Vec<&'static str>,
    /// Backends: `cpu`, `wgpu`, `burn-wgpu`, `burn-cpu` (the burn ones for BPTT only).
    pub backends: Vec<String>,
    /// Minibatch sizes.
    pub batches: Vec<usize>,
    /// Steps per sample.
    pub t_steps: Vec<usize>,
    /// Samples per timed run.
    pub samples: usize,
    /// Timed runs.
    pub reps: usize,
    /// WGSL e-prop's chunk lengths (a row each; lengths that come to the same steps at a T run once).
    pub eprop_chunks: Vec<EpropChunk>,
    /// Adapter filter.
    pub adapter: Option<String>,
    /// Run the PyTorch peer when torch imports.
    pub peers: bool,
    /// With the peer, also its `torch.compile` row (a compile of 15 s to 2 min per batch and T, outside the timing).
    pub compile_peer: bool,
    /// GPU energy of the wgpu rows (window 0: off).
    pub energy: crate::power::EnergyConfig,
    /// Seconds of untimed steps of a contender before each of its timed runs (the PyTorch peer's too).
    pub warmup_s: f64,
}

fn peer_script() -> Option<PathBuf> {
    [
        PathBuf::from("bench-harness/peers/torch_bptt.py"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/torch_bptt.py"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

fn torch_device() -> Option<String> {
    let o = Command::new("python3")
        .args(["-c", "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')"])
        .output()
        .ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Runs the suite into `<out>/bench.csv` and returns a text summary.
pub fn run(plan: &BenchPlan, out: &Path, quiet: bool) -> Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let rev = crate::results::run::git_revision();
    let mut t = Table::of::<BenchRow>()?;
    // The host's bandwidth for the CPU rows' floor, measured now rather than between two contenders' timed runs.
    crate::floor::host_copy_bandwidth_gbs();
    let ctx = if plan.backends.iter().any(|b| b == "wgpu") {
        Some(
            kernels::GpuContext::new(plan.adapter.as_deref())
                .context("--backends wgpu needs an adapter (scripts/setup.sh)")?,
        )
    } else {
        None
    };
    let counter = plan.energy.counter();
    let mut total = plan.rules.len() * plan.backends.len() * plan.batches.len() * plan.t_steps.len();
    let eprop = rule_of("eprop");
    if let (true, Some(ctx)) = (plan.rules.contains(&"eprop"), &ctx) {
        for &t in &plan.t_steps {
            for &batch in &plan.batches {
                let shape = kernels::TrainerConfig::new(&models::NetConfig::default(), eprop, batch, t);
                total += distinct_chunks(&plan.eprop_chunks, ctx, &shape).len().saturating_sub(1);
            }
        }
    }
    if let (true, Some(ctx)) = (plan.backends.iter().any(|b| b == "wgpu"), &ctx) {
        compile_ahead(plan, ctx, quiet);
    }
    let bar = crate::results::run::progress(quiet, total as u64, "bench");
    let mut lines = vec![];
    let net = models::NetConfig::default();
    for &steps in &plan.t_steps {
        for &batch in &plan.batches {
            // Every contender of this batch and T is opened and warmed up first, then timed round by round (one run
            // of each, the PyTorch peer's eager process included, per round), so that all of them see the same
            // phases of a machine whose speed drifts; energy windows come after the rounds.
            let mut cells: Vec<Cell<'_>> = vec![];
            for &rule_name in &plan.rules {
                let rule = rule_of(rule_name);
                for backend in &plan.backends {
                    let kind = Kind::parse(backend, 12);
                    // burn trains BPTT only, the chip e-prop only: no row. A burn contender this build lacks gets a
                    // row that says so (a build with burn resuming `reproduce` measures it).
                    let other_rule = match kind {
                        Some(Kind::BurnWgpu | Kind::BurnCpu) => !matches!(rule, Rule::Bptt(_)),
                        Some(Kind::Chip { .. }) => !matches!(rule, Rule::Eprop(_)),
                        _ => false,
                    };
                    if other_rule {
                        bar.inc(1);
                        continue;
                    }
                    // WGSL e-prop: one row per chunk length; lengths that come to the same at this T run once (every
                    // length ≥ T is one chunk: the first listed runs).
                    let mut chunks: Vec<Option<EpropChunk>> = vec![None];
                    let shape = kernels::TrainerConfig::new(&net, rule, batch, steps);
                    if let (true, Some(ctx)) = (backend == "wgpu" && matches!(rule, Rule::Eprop(_)), &ctx) {
                        chunks = distinct_chunks(&plan.eprop_chunks, ctx, &shape).into_iter().map(Some).collect();
                    }
                    for chunk in chunks {
                        let gpu = if backend == "wgpu" { ctx.as_ref() } else { None };
                        let case = BenchCaseSpec {
                            net: &net,
                            batch,
                            t_steps: steps,
                            samples: plan.samples.max(batch),
                            reps: plan.reps,
                            profile: true,
                            eprop_chunk: chunk.unwrap_or_default(),
                            warmup_s: plan.warmup_s,
                        };
                        let state = match kind {
                            Some(kind) => BenchCell::open(kind, rule, gpu, &case),
                            None => Err(anyhow::anyhow!(
                                "unknown backend {backend}: choose cpu, wgpu, burn-wgpu, burn-cpu or chip"
                            )),
                        };
                        let chunk_label = match (chunk, &ctx) {
                            (Some(c), Some(ctx)) => Some(c.label(ctx, &shape)),
                            _ => None,
                        };
                        let what = match &chunk_label {
                            Some(c) => format!("{rule_name:5} {backend:4} N={batch:4} T={steps:5} chunk {c}"),
                            None => format!("{rule_name:5} {backend:4} N={batch:4} T={steps:5}"),
                        };
                        cells.push(Cell { rule_name, backend: backend.clone(), kind, chunk_label, what, state });
                    }
                }
            }
            let mut peer =
                (plan.peers && plan.rules.contains(&"bptt")).then(|| Peer::new(batch, steps, plan, ctx.as_ref()));
            for _ in 0..plan.reps.max(1) {
                for cell in &mut cells {
                    let failed = match &mut cell.state {
                        Ok(c) => c.time_one().err(),
                        Err(_) => None,
                    };
                    if let Some(e) = failed {
                        cell.state = Err(e);
                    }
                }
                if let Some(p) = &mut peer {
                    p.run_eager_once()?;
                }
            }
            for cell in cells {
                bar.inc(1);
                let Cell { rule_name, backend, kind, chunk_label, what, state } = cell;
                let r = state.and_then(|c| {
                    c.finish(match (&counter, kind) {
                        (Ok(c), Some(Kind::Wgpu)) => Some((c.clone(), plan.energy.protocol())),
                        _ => None,
                    })
                });
                match r {
                    Ok(r) => {
                        let energy_note = match (&r.gpu_energy, &counter) {
                            (Some(m), _) => Some(m.method.clone()),
                            (None, Err(why)) if plan.energy.window_s > 0.0 && backend == "wgpu" => {
                                Some(format!("GPU energy not measured: {why}"))
                            }
                            _ => None,
                        };
                        let e = r.gpu_energy.as_ref();
                        let row = BenchRow {
                            gpu_name: e.map(|m| m.gpu.clone()),
                            gpu_energy_window_s: e.map(|m| m.window_s),
                            gpu_idle_w: e.map(|m| 0.5 * (m.idle_w_before + m.idle_w_after)),
                            gpu_j_per_sample_total: e.map(|m| m.total_j_per_sample),
                            gpu_j_per_sample_above_idle: e.map(|m| m.above_idle_j_per_sample),
                            gpu_energy_note: energy_note,
                            samples: r.samples,
                            reps: r.reps,
                            samples_per_s: r.samples_per_s,
                            time_per_sample_ms: r.time_per_sample_ms,
                            wall_time_s: r.wall_time_s,
                            gpu_time_s: r.gpu_time_s,
                            bytes_total: r.bytes_total,
                            bytes_history: r.bytes_history,
                            bytes_input: r.bytes_input,
                            source: interleaved_source(plan.warmup_s),
                            eprop_chunk: chunk_label.clone(),
                            ..BenchRow::with_floor(rule_name, &backend, r.adapter.clone(), batch, steps, &rev)
                        };
                        lines.push(format!(
                            "{what}: {:10.1} samples/s, {:.3} ms/sample{}",
                            r.samples_per_s,
                            r.time_per_sample_ms,
                            row.times_floor()
                        ));
                        t.push_row(&row)?;
                    }
                    Err(e) => {
                        lines.push(format!("{what}: not run ({e})"));
                        t.push_row(&BenchRow {
                            source: "not measured".into(),
                            note: format!("{e}"),
                            eprop_chunk: chunk_label.clone(),
                            ..BenchRow::empty(rule_name, &backend, String::new(), batch, steps, &rev)
                        })?;
                    }
                }
            }
            if let Some(p) = peer {
                p.finish(&mut t, &mut lines, plan, &rev)?;
            }
            t.write_csv(&out.join("bench.csv"))?;
        }
    }
    bar.finish_and_clear();
    t.write_csv(&out.join("bench.csv"))?;
    let md = out.join("bench.md");
    std::fs::write(md.with_extension("md.tmp"), markdown(&t)?)
        .and_then(|_| std::fs::rename(md.with_extension("md.tmp"), &md))
        .with_context(|| format!("{}: cannot write", md.display()))?;
    if let Some(note) = ctx.as_ref().and_then(|c| crate::floor::old_lavapipe_note(&c.describe())) {
        lines.push(format!("note: {note}"));
    }
    lines.push(format!("wrote {} and bench.md", out.join("bench.csv").display()));
    Ok(lines.join("\n"))
}

/// Every WGSL row's kernels compiled at once, spread over the CPUs (a CPU adapter compiles each kernel at its first
/// dispatch: without this, one after another at each row's warm-up step).
fn compile_ahead(plan: &BenchPlan, ctx: &kernels::GpuContext, quiet: bool) {
    let mut configs = Vec::new();
    for &t in &plan.t_steps {
        for &batch in &plan.batches {
            for &rule_name in &plan.rules {
                let rule = rule_of(rule_name);
                let shape = kernels::TrainerConfig::new(&models::NetConfig::default(), rule, batch, t);
                let chunks = match rule {
                    Rule::Eprop(_) => distinct_chunks(&plan.eprop_chunks, ctx, &shape),
                    Rule::Bptt(_) => vec![EpropChunk::default()],
                };
                for c in chunks {
                    configs.push(shape.clone().with_eprop_chunk(c.kernel_steps(ctx, &shape)));
                }
            }
        }
    }
    crate::results::run::with_kernel_compile_progress(quiet, |report| kernels::compile_ahead(ctx, &configs, report));
}

/// The chunk lengths of `listed` (the default when empty) that run different kernels or buffers for `shape`, in
/// order: a length whose first chunk comes to the same steps as an earlier one's is left out.
fn distinct_chunks(
    listed: &[EpropChunk],
    ctx: &kernels::GpuContext,
    shape: &kernels::TrainerConfig,
) -> Vec<EpropChunk> {
    let mut out: Vec<EpropChunk> = vec![];
    for &c in listed.iter().chain(listed.is_empty().then_some(&EpropChunk::Auto)) {
        if !out.iter().any(|o| o.first_chunk(ctx, shape) == c.first_chunk(ctx, shape)) {
            out.push(c);
        }
    }
    out
}

/// bench.md: the run as a Markdown table (the README's performance table is this file of a committed run, pasted
/// by scripts/readme-perf.sh, never typed).
pub fn markdown(t: &Table) -> Result<String> {
    let rows: Vec<BenchRow> = t.typed().context("bench.csv")?;
    let num = |v: f64, digits: usize| if v.is_finite() { format!("{v:.digits$}") } else { "–".to_string() };
    let mut adapters: Vec<&String> = rows.iter().map(|r| &r.adapter).filter(|a| !a.is_empty()).collect();
    adapters.sort();
    adapters.dedup();
    let mut md = format!(
        "Measured by `snnbench bench` at {}; medians of timed runs after a warm-up (each row's `source` says which), each batch and T in interleaved rounds. Floor: the larger of the \
         formulation's unskippable multiply-adds at the adapter's peak FLOP/s and the sample's input bytes at its memory \
         bandwidth (bench.csv's `floor_source`; a lower bound; `(memory)` where the bytes decide). GPU MiB: the \
         trainer's device buffers without the input set. WGSL e-prop runs its forward in chunks of the steps named \
         (`all`: the whole sequence in one chunk).\n\n\
         | rule | backend | batch | T | ms/sample | samples/s | GPU MiB | floor ms/sample | × floor |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        rows.first().map_or("?", |r| r.git_rev.as_str())
    );
    for r in &rows {
        let floor = r.floor_ms_per_sample.unwrap_or(f64::NAN);
        let memory_bound = match (r.flop_per_sample, r.bytes_per_sample) {
            (Some(f), Some(b)) => {
                crate::floor::roofline_ms(f, r.adapter_peak_gflops, b, r.adapter_peak_gbs).1.starts_with("memory")
            }
            _ => false,
        };
        let times = if r.time_per_sample_ms.is_finite() && floor > 0.0 {
            format!("{:.0}", r.time_per_sample_ms / floor)
        } else {
            "–".into()
        };
        let what = if r.time_per_sample_ms.is_finite() { String::new() } else { format!(" ({})", r.note) };
        let rule = match &r.eprop_chunk {
            Some(c) => format!("{} (chunk {c})", r.rule),
            None => r.rule.clone(),
        };
        let mib = r.bytes_total.map_or(f64::NAN, |b| b as f64 / 1048576.0);
        md.push_str(&format!(
            "| {rule} | {}{what} | {} | {} | {} | {} | {} | {} | {times} |\n",
            r.backend,
            r.batch,
            r.t_steps,
            num(r.time_per_sample_ms, 3),
            num(r.samples_per_s, 0),
            num(mib, 1),
            num(floor, 4) + if memory_bound { " (memory)" } else { "" },
        ));
    }
    md.push_str("\nAdapters: ");
    md.push_str(&adapters.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "));
    md.push('\n');
    let mut hosts: Vec<&String> = rows.iter().filter_map(|r| r.host.as_ref()).filter(|h| !h.is_empty()).collect();
    hosts.sort();
    hosts.dedup();
    if !hosts.is_empty() {
        md.push_str("\nHost: ");
        md.push_str(&hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "));
        md.push('\n');
    }
    for note in adapters.iter().filter_map(|a| crate::floor::old_lavapipe_note(a)) {
        md.push_str(&format!("\nNote: {note}.\n"));
    }
    Ok(md)
}

/// A row that says why a contender was not measured: every measurement column empty.
fn not_measured(
    t: &mut Table,
    rule: &str,
    backend: &str,
    batch: usize,
    steps: usize,
    rev: &str,
    note: String,
) -> Result<()> {
    t.push_row(&BenchRow {
        source: "not measured".into(),
        note,
        ..BenchRow::empty(rule, backend, String::new(), batch, steps, rev)
    })
}

/// How a row measured in `bench`'s rounds with `warmup_s` seconds of untimed steps before each run was made (its
/// `source`).
pub fn interleaved_source(warmup_s: f64) -> String {
    let warm = if warmup_s > 0.0 {
        format!("each after {warmup_s} s of untimed steps of the same contender")
    } else {
        "after one warm-up step".to_string()
    };
    format!(
        "measured (median of timed runs, {warm}; the runs of every contender at this batch and T interleaved, round by \
         round)"
    )
}

/// One contender of a batch and T in `bench`: warmed up, then timed once per round.
struct Cell<'a> {
    rule_name: &'static str,
    backend: String,
    kind: Option<Kind>,
    chunk_label: Option<String>,
    what: String,
    state: Result<BenchCell<'a>>,
}

/// The PyTorch peer at one batch and T: one eager process per round (each after its own warm-up step), then the same
/// network through `torch.compile` in one process (one compile, outside the timing, then `reps` timed runs).
struct Peer {
    batch: usize,
    steps: usize,
    /// The script's arguments and device, or why the peer does not run.
    setup: std::result::Result<(Vec<String>, String), String>,
    runs: Vec<serde_json::Value>,
    failed: Option<String>,
}

impl Peer {
    fn new(batch: usize, steps: usize, plan: &BenchPlan, ctx: Option<&kernels::GpuContext>) -> Self {
        let setup = (|| {
            let script = peer_script().ok_or("peer script bench-harness/peers/torch_bptt.py not found")?;
            let mut device =
                torch_device().ok_or("PyTorch peer skipped: `python3 -c \"import torch\"` failed".to_string())?;
            // The peer runs on the same kind of device as the WGSL rows: CUDA only when our adapter is a real GPU.
            if ctx.is_none_or(|c| c.info.device_type == wgpu::DeviceType::Cpu) {
                device = "cpu".into();
            }
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).to_string();
            let args = vec![
                script.display().to_string(),
                "--batch".into(),
                batch.to_string(),
                "--steps-t".into(),
                steps.to_string(),
                "--samples".into(),
                plan.samples.max(batch).to_string(),
                "--device".into(),
                device.clone(),
                "--threads".into(),
                threads,
                "--warmup-s".into(),
                plan.warmup_s.to_string(),
            ];
            Ok::<_, String>((args, device))
        })();
        Self { batch, steps, setup, runs: vec![], failed: None }
    }

    /// One eager run (one process), unless the peer cannot run or failed before.
    fn run_eager_once(&mut self) -> Result<()> {
        let Ok((args, _)) = &self.setup else { return Ok(()) };
        if self.failed.is_some() {
            return Ok(());
        }
        match run_peer(args)? {
            Ok(v) => self.runs.push(v),
            Err(why) => self.failed = Some(why),
        }
        Ok(())
    }

    /// The eager row (or why not), then the compiled one (or why not).
    fn finish(self, t: &mut Table, lines: &mut Vec<String>, plan: &BenchPlan, rev: &str) -> Result<()> {
        let (batch, steps) = (self.batch, self.steps);
        let (args, device) = match self.setup {
            Ok(s) => s,
            Err(why) => return not_measured(t, "bptt", "torch", batch, steps, rev, why),
        };
        match self.failed {
            Some(why) => not_measured(t, "bptt", "torch", batch, steps, rev, why)?,
            None => push_peer_row(t, lines, &device, batch, steps, rev, &self.runs, None)?,
        }
        if !plan.compile_peer {
            return Ok(());
        }
        let mut compiled = args;
        compiled.extend(["--compile".into(), "default".into(), "--reps".into(), plan.reps.max(1).to_string()]);
        match run_peer(&compiled)? {
            Ok(v) => push_peer_row(t, lines, &device, batch, steps, rev, &[v], Some("default")),
            Err(why) => not_measured(t, "bptt", &format!("torch-{device}-compile"), batch, steps, rev, why),
        }
    }
}

/// One run of the peer script: its JSON, or why there is none.
fn run_peer(args: &[String]) -> Result<std::result::Result<serde_json::Value, String>> {
    let o = Command::new("python3").args(args).output()?;
    if !o.status.success() {
        let why = String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").to_string();
        return Ok(Err(format!("PyTorch peer failed: {why}")));
    }
    Ok(Ok(serde_json::from_slice(&o.stdout).context("PyTorch peer printed no JSON")?))
}

/// The peer's row: the median wall time of `runs` (each one process; a compiled run's JSON already holds the median
/// of its own timed runs and how many), with the floor of the device it ran on.
#[allow(clippy::too_many_arguments)]
fn push_peer_row(
    t: &mut Table,
    lines: &mut Vec<String>,
    device: &str,
    batch: usize,
    steps: usize,
    rev: &str,
    runs: &[serde_json::Value],
    compile: Option<&str>,
) -> Result<()> {
    let v = runs.last().context("no peer run")?;
    let walls: Vec<f64> = runs.iter().map(|v| v["wall_time_s"].as_f64().unwrap_or(f64::NAN)).collect();
    let n_runs = walls.len();
    let wall = crate::bench_train::median(walls);
    let n = v["samples"].as_u64().unwrap_or(0) as f64;
    let reps = if compile.is_some() { v["reps"].as_u64().unwrap_or(1) as usize } else { n_runs };
    let adapter = v["adapter"].as_str().unwrap_or("").to_string();
    let floor_backend = if device == "cpu" { "cpu" } else { "torch-cuda" };
    // The peer's own untimed seconds before each timed run, as it reports them.
    let warm = match v["warmup_s"].as_f64() {
        Some(w) if w > 0.0 => format!(" and {w} s of untimed steps"),
        _ => String::new(),
    };
    let (backend, source) = match compile {
        None => (
            format!("torch-{device}"),
            format!(
                "measured (PyTorch eager autograd peer, one process per round interleaved with the other contenders' \
                 runs, median of runs, each after its process's warm-up step{warm})"
            ),
        ),
        Some(mode) => (
            format!("torch-{device}-compile"),
            format!(
                "measured (PyTorch peer through torch.compile mode={mode}, median of runs after {:.1} s of compile and \
                 warm-up{warm})",
                v["compile_s"].as_f64().unwrap_or(f64::NAN)
            ),
        ),
    };
    let row = BenchRow {
        backend: backend.clone(),
        samples: n as usize,
        reps,
        samples_per_s: n / wall,
        time_per_sample_ms: 1e3 * wall / n,
        wall_time_s: wall,
        source,
        ..BenchRow::with_floor("bptt", floor_backend, adapter.clone(), batch, steps, rev)
    };
    lines.push(format!(
        "bptt  {backend} N={batch:4} T={steps:5}: {:10.1} samples/s, {:.3} ms/sample{} ({adapter})",
        n / wall,
        1e3 * wall / n,
        row.times_floor()
    ));
    t.push_row(&row)
}
