//! The WGSL sources and how a pipeline is built from them: a generated header of `const`s (sizes, neuron constants,
//! variant flags) + `common.wgsl` + the kernel (+ `readout.wgsl` for the forward kernels), compiled inside a
//! validation error scope so that a shader or pipeline error comes back as [`KernelError::Shader`].

use models::NetConfig;

use crate::KernelError;

const COMMON: &str = include_str!("../wgsl/common.wgsl");
const READOUT: &str = include_str!("../wgsl/readout.wgsl");
const WEIGHT_QUADS: &str = include_str!("../wgsl/weight_quads.wgsl");

/// A compute kernel: its stem names the file `kernels/wgsl/<stem>.wgsl` and the entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Input currents of a chunk of steps for all samples (batched GEMM).
    InputProjection,
    /// The sequential ALIF forward pass over a chunk, one sample per workgroup.
    AlifForward,
    /// e-prop: a chunk's trace recursion turned into per-neuron coefficients and per-source values.
    EpropCoeffs,
    /// e-prop: every synapse's traces advanced by a chunk.
    EpropTraces,
    /// e-prop input/recurrent gradients and batch mean.
    EpropAssemble,
    /// BPTT backward pass through time.
    BpttBackward,
    /// BPTT backward pass for CPU adapters: W_rec rows in private values, dv by subgroup broadcast, the dense input
    /// gradient summed on the way (generated per network from a template).
    BpttBackwardSg,
    /// BPTT's forward and backward for CPU adapters in one kernel per sample group, the forward's records in private
    /// arrays (sequences of T ≤ [`FUSED_MAX_T`]; assembled from the sections of the two kernels above).
    BpttFusedSg,
    /// e-prop for CPU adapters when T fits one chunk: the per-neuron trace adjoint times the learning signal, the
    /// dense input gradient summed on the way (generated per network from a template).
    EpropBackwardSg,
    /// e-prop for CPU adapters over several chunks: a chunk's trace coefficients and the dense input rows' traces
    /// advanced by it (generated per network from a template); eprop_traces then does the recurrent rows.
    EpropTracesSg,
    /// The weights copied into the padded layouts that the subgroup kernels read as uniform buffers.
    PackWeights,
    /// BPTT forward pass for CPU adapters: input projection, ALIF steps and readout with the weight columns in
    /// private values (generated per network from a template).
    AlifForwardSg,
    /// BPTT input/recurrent gradient sums, one partial per group of samples.
    BpttWeightGrads,
    /// BPTT: the partial sums reduced in a fixed order, batch mean and L2.
    BpttGradReduce,
    /// Readout gradient (both rules).
    ReadoutGrads,
    /// Minibatch loss and step counters.
    LossReduce,
    /// Adam update.
    Adam,
    /// A training set copied from a pool of samples on the device in a given order (kernels::SamplePool).
    GatherSamples,
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 18] = [
        Kernel::InputProjection,
        Kernel::AlifForward,
        Kernel::EpropCoeffs,
        Kernel::EpropTraces,
        Kernel::EpropAssemble,
        Kernel::BpttBackward,
        Kernel::BpttBackwardSg,
        Kernel::BpttFusedSg,
        Kernel::EpropBackwardSg,
        Kernel::EpropTracesSg,
        Kernel::PackWeights,
        Kernel::AlifForwardSg,
        Kernel::BpttWeightGrads,
        Kernel::BpttGradReduce,
        Kernel::ReadoutGrads,
        Kernel::LossReduce,
        Kernel::Adam,
        Kernel::GatherSamples,
    ];

    /// File stem = entry point.
    pub fn stem(self) -> &'static str {
        match self {
            Kernel::InputProjection => "input_projection",
            Kernel::AlifForward => "alif_forward",
            Kernel::EpropCoeffs => "eprop_coeffs",
            Kernel::EpropTraces => "eprop_traces",
            Kernel::EpropAssemble => "eprop_assemble",
            Kernel::BpttBackward => "bptt_backward",
            Kernel::BpttBackwardSg => "bptt_backward_sg",
            Kernel::BpttFusedSg => "bptt_fused_sg",
            Kernel::EpropBackwardSg => "eprop_backward_sg",
            Kernel::EpropTracesSg => "eprop_traces_sg",
            Kernel::PackWeights => "pack_weights",
            Kernel::AlifForwardSg => "alif_forward_sg",
            Kernel::BpttWeightGrads => "bptt_weight_grads",
            Kernel::BpttGradReduce => "bptt_grad_reduce",
            Kernel::ReadoutGrads => "readout_grads",
            Kernel::LossReduce => "loss_reduce",
            Kernel::Adam => "adam",
            Kernel::GatherSamples => "gather_samples",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Kernel::InputProjection => include_str!("../wgsl/input_projection.wgsl"),
            Kernel::AlifForward => include_str!("../wgsl/alif_forward.wgsl"),
            Kernel::EpropCoeffs => include_str!("../wgsl/eprop_coeffs.wgsl"),
            Kernel::EpropTraces => include_str!("../wgsl/eprop_traces.wgsl"),
            Kernel::EpropAssemble => include_str!("../wgsl/eprop_assemble.wgsl"),
            Kernel::BpttBackward => include_str!("../wgsl/bptt_backward.wgsl"),
            Kernel::BpttBackwardSg => include_str!("../wgsl/bptt_backward_sg.wgsl"),
            Kernel::BpttFusedSg => include_str!("../wgsl/bptt_fused_sg.wgsl"),
            Kernel::EpropBackwardSg => include_str!("../wgsl/eprop_backward_sg.wgsl"),
            Kernel::EpropTracesSg => include_str!("../wgsl/eprop_traces_sg.wgsl"),
            Kernel::PackWeights => include_str!("../wgsl/pack_weights.wgsl"),
            Kernel::AlifForwardSg => include_str!("../wgsl/alif_forward_sg.wgsl"),
            Kernel::BpttWeightGrads => include_str!("../wgsl/bptt_weight_grads.wgsl"),
            Kernel::BpttGradReduce => include_str!("../wgsl/bptt_grad_reduce.wgsl"),
            Kernel::ReadoutGrads => include_str!("../wgsl/readout_grads.wgsl"),
            Kernel::LossReduce => include_str!("../wgsl/loss_reduce.wgsl"),
            Kernel::Adam => include_str!("../wgsl/adam.wgsl"),
            Kernel::GatherSamples => include_str!("../wgsl/gather_samples.wgsl"),
        }
    }

    /// Generated from a slot template (`//@` lines) for one network and subgroup size.
    pub fn is_unrolled(self) -> bool {
        matches!(
            self,
            Kernel::BpttBackwardSg
                | Kernel::BpttFusedSg
                | Kernel::AlifForwardSg
                | Kernel::EpropBackwardSg
                | Kernel::EpropTracesSg
        )
    }

    fn needs_readout(self) -> bool {
        matches!(self, Kernel::AlifForward)
    }

    fn needs_weight_quads(self) -> bool {
        matches!(self, Kernel::InputProjection | Kernel::BpttBackward)
    }
}

/// Compile-time choices baked into the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Variant {
    /// e-prop: time-aligned traces instead of the authors'.
    pub trace_aligned: bool,
    /// BPTT: stop the gradient through the reset term.
    pub detach_reset: bool,
    /// BPTT: stop the gradient through the recurrent input.
    pub stop_recurrent: bool,
    /// Steps per forward chunk (TC): T for BPTT (its history), a constant for e-prop (memory constant in T).
    pub chunk: usize,
    /// The forward pass stores the thresholds A(t) (BPTT needs them).
    pub store_thr: bool,
    /// BPTT: samples per workgroup of bptt_backward (`SPW`; 0 means 1).
    pub samples_per_workgroup: u32,
    /// Groups of samples whose weight-gradient sums bptt_weight_grads or the subgroup backward kernels compute in
    /// parallel (`GRAD_SPLITS`; 0 means 1); bptt_grad_reduce adds them in a fixed order.
    pub grad_splits: u32,
    /// Subgroup size the generated kernels (alif_forward_sg, bptt_backward_sg) are unrolled for (`SG`; 0 means 8, a value only
    /// used by shader validation when no subgroup kernel runs).
    pub subgroup_size: u32,
    /// e-prop over several chunks on the subgroup kernels: eprop_traces_sg sums the dense input rows and computes the
    /// coefficients, so eprop_coeffs lists only the sources and eprop_traces takes the recurrent rows.
    pub dense_in_backward: bool,
    /// e-prop on the subgroup kernels: bptt_grad_reduce reduces eprop_backward_sg's sums (scale 1, no autapse).
    pub eprop_grads: bool,
    /// e-prop over several chunks on the subgroup kernels (`CHUNKED`): alif_forward_sg runs one chunk per dispatch
    /// with its state carried, lists the chunk's spike events and advances ε^v.
    pub chunked_forward: bool,
}

/// Input rows per workgroup of eprop_traces_sg (its unrolled sums: 2·⌈N_REC/SG⌉·TRACE_ROWS per lane): one block for
/// the 80 inputs of the paper's network. Fewer blocks recompute the coefficients less often but compile longer
/// (measured in eprop_traces_sg.wgsl's header).
pub const TRACE_ROWS: usize = 80;

/// Rows of eprop_traces_sg's block that one iteration of its per-sample write-back stores (`//@v` lines; the others
/// move down by `//@shift`, as in [`writeback_rows`]): TRACE_ROWS / TRACE_WRITEBACK_ROWS = 16 loop iterations per
/// sample, inside the 64 per sample that the loop budget allows beyond its steps.
pub const TRACE_WRITEBACK_ROWS: usize = 5;
const _: () = assert!(TRACE_ROWS.is_multiple_of(TRACE_WRITEBACK_ROWS) && TRACE_ROWS / TRACE_WRITEBACK_ROWS <= 64);

/// Workgroup size of the per-sample kernels: N_REC rounded up to a multiple of 32.
pub fn per_sample_workgroup(n_rec: usize) -> u32 {
    (n_rec.div_ceil(32) * 32) as u32
}

/// Workgroup size of eprop_coeffs: max(N_PRE, N_REC) rounded up to a multiple of 32.
pub fn coeffs_workgroup(n_in: usize, n_rec: usize) -> u32 {
    ((n_in + n_rec).div_ceil(32) * 32) as u32
}

/// N_REC rounded up to a multiple of 4: the post dimension of internal buffers.
pub fn n_rec_padded(n_rec: usize) -> usize {
    n_rec.div_ceil(4) * 4
}

/// The full WGSL source of `kernel` for this network and variant.
pub fn source(kernel: Kernel, cfg: &NetConfig, v: Variant) -> String {
    // The unrolled kernels take T, their split and (chunked) the chunk length at run time (`Chunk.stride` is TC):
    // one source (one compile, which is slow for this large unrolled kernel, then one entry in the driver's shader
    // cache) per network and option. Each keeps only the flags it reads, so that e.g. both rules share one compiled
    // forward where they can, and e-prop's chunk lengths share one forward and one trace kernel.
    let v = match kernel {
        Kernel::AlifForwardSg => Variant {
            store_thr: v.store_thr,
            subgroup_size: v.subgroup_size,
            chunked_forward: v.chunked_forward,
            ..Variant::default()
        },
        Kernel::BpttBackwardSg => Variant {
            detach_reset: v.detach_reset,
            stop_recurrent: v.stop_recurrent,
            subgroup_size: v.subgroup_size,
            ..Variant::default()
        },
        Kernel::BpttFusedSg => Variant {
            detach_reset: v.detach_reset,
            stop_recurrent: v.stop_recurrent,
            subgroup_size: v.subgroup_size,
            chunk: FUSED_MAX_T,
            ..Variant::default()
        },
        Kernel::EpropBackwardSg => {
            Variant { trace_aligned: v.trace_aligned, subgroup_size: v.subgroup_size, ..Variant::default() }
        }
        Kernel::EpropTracesSg => {
            Variant { trace_aligned: v.trace_aligned, subgroup_size: v.subgroup_size, ..Variant::default() }
        }
        _ => v,
    };
    let c = cfg.consts::<f32>();
    let (n_in, n_rec, n_out) = (cfg.n_in, cfg.n_rec, cfg.n_out);
    let f = |x: f32| {
        let s = format!("{x:?}");
        if s.contains('.') || s.contains('e') { s } else { format!("{s}.0") }
    };
    let mut s = format!(
        "// generated header\n\
         const N_IN: u32 = {n_in}u;\nconst N_REC: u32 = {n_rec}u;\nconst N_OUT: u32 = {n_out}u;\n\
         const N_PRE: u32 = {}u;\nconst W_REC_OFF: u32 = {}u;\nconst W_OUT_OFF: u32 = {}u;\nconst N_W: u32 = {}u;\n\
         const WG: u32 = {}u;\nconst WGC: u32 = {}u;\nconst N_RECP: u32 = {}u;\nconst NQ: u32 = {}u;\nconst TC: u32 = {}u;\n\
         const ALPHA: f32 = {};\nconst OM_ALPHA: f32 = {};\nconst RHO: f32 = {};\nconst OM_RHO: f32 = {};\n\
         const KAPPA: f32 = {};\nconst V_TH: f32 = {};\nconst BETA: f32 = {};\n\
         const SG_GAMMA: f32 = {};\nconst SG_SIGMA: f32 = {};\nconst SG_SCALE: f32 = {};\nconst SG_H: f32 = {};\n\
         const TRACE_ALIGNED: bool = {};\nconst DETACH_RESET: bool = {};\nconst STOP_RECURRENT: bool = {};\n\
         const STORE_THR: bool = {};\nconst SPW: u32 = {}u;\nconst GRAD_SPLITS: u32 = {}u;\n\
         const SG: u32 = {}u;\nconst WR_QUADS: u32 = {}u;\nconst DENSE_IN_BACKWARD: bool = {};\n\
         const N_INP: u32 = {}u;\nconst NIQ: u32 = {}u;\nconst WIT_QUADS: u32 = {}u;\nconst WO_QUADS: u32 = {}u;\n\
         const EPROP_GRADS: bool = {};\n\
         const CHUNKED: bool = {};\nconst TRACE_ROWS: u32 = {}u;\nconst TRACE_WB: u32 = {}u;\n",
        n_in + n_rec,
        n_in * n_rec,
        n_in * n_rec + n_rec * n_rec,
        cfg.n_weights(),
        per_sample_workgroup(n_rec),
        coeffs_workgroup(n_in, n_rec),
        n_rec_padded(n_rec),
        n_rec_padded(n_rec) / 4,
        v.chunk.max(1),
        f(c.alpha),
        f(c.one_minus_alpha),
        f(c.rho),
        f(c.one_minus_rho),
        f(c.kappa),
        f(c.v_th),
        f(c.beta),
        f(cfg.surrogate.gamma as f32),
        f(cfg.surrogate.sigma as f32),
        f(cfg.surrogate.scale as f32),
        f(cfg.surrogate.height as f32),
        v.trace_aligned,
        v.detach_reset,
        v.stop_recurrent,
        v.store_thr,
        v.samples_per_workgroup.max(1),
        v.grad_splits.max(1),
        sg_size(v),
        n_rec * n_rec_padded(n_rec) / 4,
        v.dense_in_backward,
        n_rec_padded(n_in),
        n_rec_padded(n_in) / 4,
        n_rec * n_rec_padded(n_in) / 4,
        (n_rec * n_out).div_ceil(4),
        v.eprop_grads,
        v.chunked_forward,
        TRACE_ROWS,
        TRACE_WRITEBACK_ROWS,
    );
    s.push_str(COMMON);
    s.push('\n');
    if kernel.is_unrolled() {
        s.push_str(&expand_slots(&insert_sections(kernel.body()), sg_size(v) as usize, n_in, n_rec));
    } else {
        s.push_str(kernel.body());
    }
    if kernel.needs_readout() {
        s.push('\n');
        s.push_str(READOUT);
    }
    if kernel.needs_weight_quads() {
        s.push('\n');
        s.push_str(WEIGHT_QUADS);
    }
    s
}

fn sg_size(v: Variant) -> u32 {
    if v.subgroup_size == 0 { 8 } else { v.subgroup_size }
}

/// The longest sequence bptt_fused_sg runs: the length of its private record arrays (a compile-time constant, so one
/// compiled kernel serves every T up to it). 128 covers the paper's T = 100 with its per-lane records at
/// ⌈N_REC/SG⌉·3 + ⌈N_IN/SG⌉ arrays of 128 values (225 KiB of stack per subgroup for the paper's network).
pub const FUSED_MAX_T: usize = 128;

/// Replaces each `//#insert STEM:SECTION` line of a template by the lines between `//<SECTION>` and `//</SECTION>` in
/// the template of the kernel named STEM (the markers' own lines excluded; text after the marker on its line is a
/// comment), so that a kernel made of others' parts (bptt_fused_sg) runs the same code. Templates are part of the
/// program: a missing kernel or section is a bug and panics.
pub fn insert_sections(template: &str) -> String {
    insert_sections_from(template, |stem| Kernel::ALL.into_iter().find(|k| k.stem() == stem).map(Kernel::body))
}

/// [`insert_sections`] with the templates looked up by `template_of(stem)`.
fn insert_sections_from<'a>(template: &str, template_of: impl Fn(&str) -> Option<&'a str>) -> String {
    if !template.contains("//#insert ") {
        return template.to_string();
    }
    let mut out = String::with_capacity(template.len() * 4);
    for line in template.lines() {
        let Some(what) = line.trim_start().strip_prefix("//#insert ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (stem, section) = what.trim().split_once(':').expect("`//#insert STEM:SECTION` in a kernel template");
        let source = template_of(stem).unwrap_or_else(|| panic!("`//#insert {stem}:{section}`: no kernel {stem}"));
        let (open, close) = (format!("//<{section}>"), format!("//</{section}>"));
        let start = source
            .lines()
            .position(|l| l.starts_with(&open))
            .unwrap_or_else(|| panic!("`//#insert {stem}:{section}`: {stem} has no `{open}` line"));
        let len = source
            .lines()
            .skip(start + 1)
            .position(|l| l.starts_with(&close))
            .unwrap_or_else(|| panic!("`//#insert {stem}:{section}`: {stem} has no `{close}` line after `{open}`"));
        for l in source.lines().skip(start + 1).take(len) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Expands the `//@` lines of a slot template (bptt_backward_sg.wgsl explains the tags) for subgroup size `sg`:
/// lane l owns neurons l + sg·m, m < ⌈n_rec/sg⌉.
pub fn expand_slots(template: &str, sg: usize, n_in: usize, n_rec: usize) -> String {
    let n_slots = n_rec.div_ceil(sg);
    let n_pslots = n_in.div_ceil(sg);
    let mut out = String::with_capacity(template.len() * 64);
    for line in template.lines() {
        if line.trim() == "//@writeback" {
            out.push_str(&writeback_rows(n_slots, n_in, n_rec));
            continue;
        }
        // `//@shift P Q …`: every P{m}_{r} takes P{m}_{r + TRACE_WRITEBACK_ROWS} (rows r of a trace block), in
        // increasing r, so that the next iteration of a write-back loop finds its rows under the same names.
        if let Some(prefixes) = line.trim().strip_prefix("//@shift ") {
            for p in prefixes.split_whitespace() {
                for m in 0..n_slots {
                    let moves: Vec<String> = (0..TRACE_ROWS - TRACE_WRITEBACK_ROWS)
                        .map(|r| format!("{p}{m}_{r} = {p}{m}_{};", r + TRACE_WRITEBACK_ROWS))
                        .collect();
                    out.push_str(&format!("        {}\n", moves.join(" ")));
                }
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("//@") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (tag, code) = rest.split_at(rest.find(' ').unwrap_or(rest.len()));
        let names: Vec<char> = tag.chars().collect();
        let range = |name: char| match name {
            'm' => n_slots,
            'k' => n_rec,
            'i' => n_in,
            'p' => n_pslots,
            'r' => TRACE_ROWS,
            'u' => TRACE_ROWS.div_ceil(sg),
            'v' => TRACE_WRITEBACK_ROWS,
            other => panic!("unknown slot tag {other:?} in //@{tag} of a kernel template"),
        };
        // `<m>…</m>` inside a line is repeated for every slot m (after the line's own tags are substituted).
        let code = &expand_inner_slots(code, n_slots, sg);
        let ranges: Vec<usize> = names.iter().map(|&n| range(n)).collect();
        // Every combination of the tag's indices, the last one fastest.
        let mut idx = vec![0usize; names.len()];
        while ranges.iter().all(|&r| r > 0) {
            let mut c = code.to_string();
            for (&name, &v) in names.iter().zip(&idx) {
                for (suffix, value) in
                    [("", v), ("s", sg * v), ("p", v / sg), ("l", v % sg), ("q", v / 4), ("c", v % 4)]
                {
                    c = c.replace(&format!("{{{name}{suffix}}}"), &value.to_string());
                }
            }
            out.push_str(&c);
            out.push('\n');
            let Some(pos) = (0..idx.len()).rev().find(|&d| idx[d] + 1 < ranges[d]) else { break };
            idx[pos] += 1;
            idx[pos + 1..].iter_mut().for_each(|v| *v = 0);
        }
    }
    out
}

/// The most loop iterations the gradient write-back of [`writeback_rows`] runs: it stores ⌈N_PRE / this⌉ rows per
/// iteration. Counted in the loop budget of the kernels that run it (trainer/tuning.rs, `BpttTuning::resolved`).
pub const WRITEBACK_ITERATIONS: usize = 50;

/// The code that `//@writeback` stands for: it writes a lane's weight-gradient sums, `g{m}_{i}` (row i < N_IN) and
/// `gr{m}_{k}` (row N_IN + k), to `part[wg.x, row, j{m}]`. Written as one store per sum (3,000 for the paper's
/// network) the write-back made most of the kernel's code: llvmpipe expands each store at a per-lane address into
/// about 40 basic blocks (a branch per lane and its bounds check), and LLVM's coroutine split, which llvmpipe runs on
/// every compute shader, takes time quadratic in the number of blocks (bptt_backward_sg: 99,126 blocks, 471.5 s to
/// compile on Mesa 25.0.7 and 118.2 s on Mesa 22.3.6). Here a loop stores R = ⌈N_PRE / WRITEBACK_ITERATIONS⌉ rows per
/// iteration and then moves every sum R rows down (row q takes row q + R's value), so that the next iteration's
/// stores read the same names: R·M stores in the code, the moves plain register copies. A private array indexed by
/// the loop counter would do the same with fewer lines, but Mesa 22.3 lowers an indexed private array to a branch
/// per element and compiled it for more than 12 minutes. The values stored are the same sums, so results are
/// bit-identical to the unrolled stores.
fn writeback_rows(n_slots: usize, n_in: usize, n_rec: usize) -> String {
    let n_pre = n_in + n_rec;
    let per = n_pre.div_ceil(WRITEBACK_ITERATIONS).max(1);
    let name = |m: usize, q: usize| if q < n_in { format!("g{m}_{q}") } else { format!("gr{m}_{}", q - n_in) };
    let mut s = format!("    for (var r = 0u; r < N_PRE; r += {per}u) {{\n");
    for q in 0..per {
        let guard = if n_pre.is_multiple_of(per) { String::new() } else { format!("r + {q}u < N_PRE && ") };
        for m in 0..n_slots {
            s += &format!(
                "        if {guard}ok{m} {{ part[(wg.x * N_PRE + r + {q}u) * N_RECP + j{m}] = {}; }}\n",
                name(m, q)
            );
        }
    }
    for m in 0..n_slots {
        for q in 0..n_pre.saturating_sub(per) {
            s += &format!("        {} = {};\n", name(m, q), name(m, q + per));
        }
    }
    s += "    }\n";
    s
}

/// Repeats each `<m>…</m>` segment of a template line once per slot m < n_slots, substituting `{m}` and `{ms}`
/// (= sg·m) inside it; other tags stay for the line's own expansion.
fn expand_inner_slots(code: &str, n_slots: usize, sg: usize) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(start) = rest.find("<m>") {
        let end = rest[start..].find("</m>").map(|e| start + e).expect("a `<m>` without `</m>` in a kernel template");
        out.push_str(&rest[..start]);
        let body = &rest[start + 3..end];
        for m in 0..n_slots {
            out.push_str(&body.replace("{ms}", &(sg * m).to_string()).replace("{m}", &m.to_string()));
        }
        rest = &rest[end + 4..];
    }
    out.push_str(rest);
    out
}

/// Compiles `kernel` into a compute pipeline (automatic layout), returning shader/pipeline errors as values.
pub fn pipeline(
    device: &wgpu::Device,
    kernel: Kernel,
    cfg: &NetConfig,
    v: Variant,
) -> Result<wgpu::ComputePipeline, KernelError> {
    pipeline_from_source(device, kernel.stem(), source(kernel, cfg, v))
}

/// FNV-1a, 64 bits: a hash that stays the same across builds and toolchains (it names kernels in files that outlive a
/// process; `trainer::jit`).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Compiles WGSL source whose entry point is named `stem` (for [`pipeline`], and for timing an edited kernel).
pub fn pipeline_from_source(
    device: &wgpu::Device,
    stem: &'static str,
    src: String,
) -> Result<wgpu::ComputePipeline, KernelError> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(stem),
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(stem),
        layout: None,
        module: &module,
        entry_point: Some(stem),
        compilation_options: Default::default(),
        cache: None,
    });
    if let Some(err) = pollster::block_on(scope.pop()) {
        return Err(KernelError::Shader { stem, message: err.to_string() });
    }
    Ok(pipeline)
}

#[cfg(test)]
mod tests {
    use super::{Kernel, expand_slots, insert_sections, insert_sections_from};

    /// A section's lines replace the `//#insert` line, markers excluded; lines outside sections stay out.
    #[test]
    fn inserted_sections_are_the_lines_between_their_markers() {
        let a = "head\n//<step> comment\n  one\n//@m two{m}\n//</step>\ntail\n//<other>\nthree\n//</other>\n";
        let lookup = |stem: &str| (stem == "a").then_some(a);
        let out = insert_sections_from("x\n    //#insert a:step\ny\n//#insert a:other\n", lookup);
        assert_eq!(out, "x\n  one\n//@m two{m}\ny\nthree\n");
        assert_eq!(insert_sections_from("no inserts {m}", lookup), "no inserts {m}");
        let missing = std::panic::catch_unwind(|| insert_sections_from("//#insert a:none\n", lookup));
        assert!(missing.is_err(), "a missing section must not be left out silently");
    }

    /// bptt_backward_sg's gradient line for the dense input rows (four steps per update).
    const GRADS_LINE: &str = "//@im                g{m}_{i} = (((g{m}_{i} + xc0_{i} * dq0_{m}) + xc1_{i} * dq1_{m}) + xc2_{i} * dq2_{m}) + xb{i} * dd{m};";

    /// Every kernel's inserts resolve: bptt_fused_sg gets the forward's and the backward's step code, not a copy.
    #[test]
    fn the_fused_kernel_is_made_of_the_split_kernels_sections() {
        for k in Kernel::ALL {
            let body = insert_sections(k.body());
            assert!(!body.lines().any(|l| l.trim_start().starts_with("//#insert")), "{}", k.stem());
        }
        let fused = insert_sections(Kernel::BpttFusedSg.body());
        for line in [
            "//@im            cur{m} = cur{m} + xb{i} * wi{m}_{i};",
            "//@km                rec{m} = fma(w{m}_{k}, e{k}, rec{m});",
            GRADS_LINE,
            "        if l == 0u { sample_out[ob + O_CE] = log(sum) + mx - logits[label]; }",
        ] {
            assert_eq!(fused.matches(line).count(), 1, "{line}");
        }
        // e-prop's backward sums its dense input rows with BPTT's code (four steps at a time).
        assert_eq!(insert_sections(Kernel::EpropBackwardSg.body()).matches(GRADS_LINE).count(), 1);
        // The split kernels' storage records are not read or written by the fused one.
        for record in ["psi_c[", "thr_c[", "state["] {
            assert!(!fused.contains(record), "{record}");
        }
    }

    /// The unrolled kernels of e-prop's chunked path take the chunk length at run time (`Chunk.stride`): one
    /// source per network and variant whatever `--eprop-chunk` is (each distinct source is minutes of LLVM on
    /// lavapipe), and their bodies never read the generated `TC`, which for them is a placeholder.
    #[test]
    fn the_chunked_unrolled_kernels_compile_once_for_every_chunk_length() {
        let cfg = models::NetConfig::default();
        let v = |chunk| super::Variant {
            chunk,
            subgroup_size: 8,
            chunked_forward: true,
            dense_in_backward: true,
            ..super::Variant::default()
        };
        for k in [Kernel::AlifForwardSg, Kernel::EpropTracesSg] {
            assert_eq!(super::source(k, &cfg, v(37)), super::source(k, &cfg, v(100)), "{}", k.stem());
            let body = insert_sections(k.body());
            // The code without its comments (template lines start with `//@`).
            let code = body.lines().map(|l| match l.trim_start().starts_with("//@") {
                true => l,
                false => l.split("//").next().unwrap_or(""),
            });
            let reads_tc =
                code.into_iter().any(|l| l.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "TC"));
            assert!(!reads_tc, "{} reads the generated TC", k.stem());
        }
    }

    /// The write-back loop stores every gradient sum exactly once, at its own row and slot: the generated stores and
    /// moves, run as written (the loop over r, the stores, then the moves in order), for row counts that the rows per
    /// iteration divide and that they do not, and one row per iteration.
    #[test]
    fn the_writeback_loop_stores_each_sum_once_at_its_row() {
        for (n_slots, n_in, n_rec) in [(15, 80, 120), (16, 80, 121), (2, 3, 5), (1, 1, 1)] {
            let code = super::writeback_rows(n_slots, n_in, n_rec);
            let n_pre = n_in + n_rec;
            let per = n_pre.div_ceil(super::WRITEBACK_ITERATIONS);
            let name = |m: usize, q: usize| if q < n_in { format!("g{m}_{q}") } else { format!("gr{m}_{}", q - n_in) };
            let mut held: std::collections::HashMap<String, (usize, usize)> =
                (0..n_slots).flat_map(|m| (0..n_pre).map(move |q| (m, q))).map(|(m, q)| (name(m, q), (q, m))).collect();
            let (mut stores, mut moves) = (Vec::new(), Vec::new());
            for line in code.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("if ") {
                    // `if [r + q < N_PRE && ]ok{m} { part[(wg.x * N_PRE + r + {q}u) * N_RECP + j{m}] = NAME; }`
                    let number = |after: &str, end: char| -> Option<usize> {
                        rest.split(after).nth(1)?.split(end).next()?.parse().ok()
                    };
                    let (q, m) = number("+ r + ", 'u')
                        .zip(number(" j", ']'))
                        .unwrap_or_else(|| panic!("not a store line: {rest}"));
                    let value = rest.rsplit("= ").next().unwrap_or_default().trim_end_matches("; }").to_string();
                    stores.push((q, m, value));
                } else if let Some((to, from)) =
                    line.strip_prefix("g").and(line.trim_end_matches(';').split_once(" = "))
                {
                    moves.push((to.to_string(), from.to_string()));
                }
            }
            assert_eq!(stores.len(), per * n_slots, "{n_slots} slots, {n_pre} rows");
            let mut stored = std::collections::HashMap::new();
            for r in (0..n_pre).step_by(per) {
                for (q, m, value) in &stores {
                    if r + q < n_pre {
                        assert!(stored.insert((r + q, *m), held[value]).is_none(), "row {} slot {m} twice", r + q);
                    }
                }
                for (to, from) in &moves {
                    let v = held[from];
                    held.insert(to.clone(), v);
                }
            }
            assert_eq!(stored.len(), n_pre * n_slots);
            assert!(stored.iter().all(|(&(row, m), &(q, slot))| row == q && m == slot), "a sum stored at another row");
            assert!(n_pre.div_ceil(per) <= super::WRITEBACK_ITERATIONS);
        }
    }

    /// The tag's letters are the loop nest, the last fastest; each placeholder names its index's lane, slot and quad.
    #[test]
    fn slot_lines_expand_in_the_tags_order_with_their_placeholders() {
        // 2 lanes, 3 inputs, 3 neurons: slots m < 2 (neurons 0, 2 / 1), input slots p < 2.
        let lines = |tpl: &str| expand_slots(tpl, 2, 3, 3).lines().map(|l| l.trim().to_string()).collect::<Vec<_>>();
        assert_eq!(lines("//@mi a{m}_{i}"), ["a0_0", "a0_1", "a0_2", "a1_0", "a1_1", "a1_2"]);
        assert_eq!(lines("//@im a{m}_{i}"), ["a0_0", "a1_0", "a0_1", "a1_1", "a0_2", "a1_2"]);
        assert_eq!(lines("//@k {k}:{kp}:{kl}:{kq}:{kc}:{ks}"), ["0:0:0:0:0:0", "1:0:1:0:1:2", "2:1:0:0:2:4"]);
        assert_eq!(lines("//@p x{p} = x[l + {ps}u];"), ["x0 = x[l + 0u];", "x1 = x[l + 2u];"]);
        assert_eq!(
            lines("//@k if z{k} {<m> c{m} += w{m}_{k};</m> }"),
            [
                "if z0 { c0 += w0_0; c1 += w1_0; }",
                "if z1 { c0 += w0_1; c1 += w1_1; }",
                "if z2 { c0 += w0_2; c1 += w1_2; }"
            ]
        );
        assert_eq!(lines("plain line {m}"), ["plain line {m}"]);
    }
}
