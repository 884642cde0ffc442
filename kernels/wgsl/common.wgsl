// Shared by every kernel (prepended by the host after a generated header of `const`s: sizes N_IN, N_REC, N_OUT,
// N_PRE = N_IN + N_REC, N_RECP = N_REC rounded up to a multiple of 4 (the post dimension of internal buffers, so
// they can be read as vec4), NQ = N_RECP / 4, the chunk length TC (time steps per forward chunk), offsets W_REC_OFF / W_OUT_OFF / N_W into the flat weight vector w_in | w_rec | w_out,
// workgroup size WG, and the neuron constants ALPHA, OM_ALPHA = 1−α, RHO, OM_RHO = 1−ρ, KAPPA, V_TH, BETA and the
// surrogate SG_GAMMA, SG_SIGMA, SG_SCALE, SG_H, all rounded once from f64 as the CPU reference does). How many
// neurons are plain LIF and the readout window come at run time in `Dims` (n_lif, window): see beta_of below.
//
// ψ(u) = γ [ (1+h) N(u; 0, σ) − h N(u; σ, sσ) − h N(u; −σ, sσ) ],  N(u; μ, s) = exp(−(u−μ)²/(2s²)) / (√(2π) s).
// Dims: the per-call sizes; Chunk: which part of the sequence a chunked kernel works on. Counters: [0] = Adam steps done, [1] = minibatch index k (sample (k·N + b) mod B).

struct Dims {
    n_batch: u32,       // N: samples per minibatch (= workgroups of the per-sample kernels)
    t_steps: u32,       // T
    n_total: u32,       // B: samples in the input buffer
    record_spikes: u32, // 1: write spikes [N, T, N_REC]
    l2: f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    k0: u32,            // minibatch index of the first step of this call (losses[k − k0])
    n_lif: u32,         // the first n_lif neurons are plain LIF (β = 0)
    window: u32,        // readout window: the last `window` steps (0: all T)
}

struct Chunk {
    t0: u32,    // first global step of the chunk
    tc: u32,    // its length (≤ TC)
    index: u32, // chunk number
    stride: u32, // the chunk records' rows per sample (= TC): a run-time value, so that the unrolled kernels
                 // (alif_forward_sg, eprop_traces_sg) compile once for every chunk length
}

// Whether `c` is the sequence's last chunk (the readout runs after it; ε^a is not needed past it).
fn is_last_chunk(c: Chunk, n_t: u32) -> bool {
    return c.t0 + c.tc >= n_t;
}

// β of neuron j: 0 for the first n_lif neurons (plain LIF). The number of LIF neurons and the readout window are
// run-time values (dims.n_lif, dims.window), not generated constants, so that networks differing only in them share
// one compiled kernel.
fn beta_of(j: u32, n_lif: u32) -> f32 {
    return select(BETA, 0.0, j < n_lif);
}

// First step of the readout window (the last `window` steps; 0: all) of an n_t-step sequence (Σz̄, E and the direct
// readout gradient count from here).
fn window_start(n_t: u32, window: u32) -> u32 {
    return select(0u, n_t - window, window > 0u && window < n_t);
}

// The logits' divisor: steps in the readout window.
fn window_len(n_t: u32, window: u32) -> f32 {
    return f32(n_t - window_start(n_t, window));
}

const SQRT_2PI: f32 = 2.5066282746310002;

fn gauss(u: f32, mu: f32, s: f32) -> f32 {
    let d = u - mu;
    return exp(-(d * d) / (2.0 * s * s)) / (SQRT_2PI * s);
}

// z = H(u): the spike of a neuron whose u = v − A is above zero. Every kernel that computes or recomputes a spike
// calls this, so the forward's spikes and the ones the backward and trace kernels recompute from its u record are the
// same bits.
fn spike(u: f32) -> f32 {
    return select(0.0, 1.0, u > 0.0);
}

fn psi(u: f32) -> f32 {
    let wide = SG_SCALE * SG_SIGMA;
    return SG_GAMMA * ((1.0 + SG_H) * gauss(u, 0.0, SG_SIGMA) - SG_H * gauss(u, SG_SIGMA, wide) - SG_H * gauss(u, -SG_SIGMA, wide));
}

// Per-sample record written by the forward kernels, stride S_OUT = 2·N_REC + 2·N_OUT + 2:
// [0, N_REC) Σ_t z̄_j (over the readout window) | [N_REC, 2N_REC) L_j = Σ_k err_k W_out[j,k] / W | err_k | logits_k
// | CE | the sample's spike count Σ_t Σ_j z_j(t) (an integer in an f32, exact below 2^24; the split forward kernels
// write it, bptt_fused_sg does not)  (W = window_len(T), T by default).
const S_OUT: u32 = 2u * N_REC + 2u * N_OUT + 2u;
const O_SIG: u32 = N_REC;
const O_ERR: u32 = 2u * N_REC;
const O_LOGIT: u32 = 2u * N_REC + N_OUT;
const O_CE: u32 = 2u * N_REC + 2u * N_OUT;
const O_NZ: u32 = 2u * N_REC + 2u * N_OUT + 1u;

// The samples [x, y) of group g when a minibatch of n_batch is cut into n_groups contiguous groups of
// ⌈n_batch / n_groups⌉ (the last ones shorter or empty): bptt_weight_grads' partial sums, the subgroup kernels.
fn sample_group(g: u32, n_groups: u32, n_batch: u32) -> vec2<u32> {
    let per = (n_batch + n_groups - 1u) / n_groups;
    let lo = min(g * per, n_batch);
    return vec2<u32>(lo, min(lo + per, n_batch));
}
