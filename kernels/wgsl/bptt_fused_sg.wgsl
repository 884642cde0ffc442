// bptt_fused_sg — BPTT's whole step for CPU adapters in one kernel: alif_forward_sg's forward (whole sequence) and
// bptt_backward_sg's backward for one group of samples in one subgroup, the forward's records (u = v − A, A and the
// lane's inputs x, per step) kept in private arrays indexed by t instead of storage buffers. On lavapipe a storage-buffer load
// at a per-lane address is a loop over the lanes with a store-forwarding stall per lane (reports/2026-12-02-lavapipe-
// memory-paths.md): in the split kernels these records cost ≈ 40 % of the step's samples (perf, Mesa 22.3.6); here the
// only storage accesses per step are the forward's input loads. The private arrays hold TC steps, so this kernel runs
// sequences of T ≤ TC (BpttTuning::fused decides; longer ones run the split kernels).
//
// The equations, the summation orders and so the results are those of the two kernels, bit for bit: the lines
// between `//#insert KERNEL:SECTION` markers are copied from the sections `//<SECTION>` … `//</SECTION>` of that
// kernel's template by the host (shaders.rs, `insert_sections`) before the slot expansion, so the step code exists
// once. What the sections read from their surroundings: the forward step x's row `s`, the step `t`, the window start
// `ws` and the state v, a, z̄, Σz̄, z(t−1) (`zp`); the readout `b`, `s`, `n_t`, Σz̄ and writes logits, the error, CE,
// Σz̄ and L_j / W (`sig{m} / nt`) to sample_out; the backward step t, has_next, has_prev, the learning signal `ls`,
// the records A(t+1) (`thn`), ψ(t) (`psv`), z(t−1) (`zl`), both of the latter computed from u as in bptt_backward_sg;
// the gradient sums the lane's inputs `xl`.
// Bindings: 0 dims | 1 wit [N_REC,N_INP] uniform | 2 wrt [N_REC,N_RECP] uniform | 3 wo [N_REC·N_OUT] uniform
//           4 wr [N_REC,N_RECP] uniform | 5 x [B,T,N_IN] | 6 y [B] u32 | 7 counters [2] u32
//           8 z_c [N,T,N_RECP] (spikes, only with dims.record_spikes) | 9 sample_out [N,S_OUT]
//           10 part [GRAD_SPLITS,N_PRE,N_RECP]
// Dispatch: (GRAD_SPLITS, 1, 1) workgroups of SG threads; workgroup g runs the g-th of G contiguous ranges of the
// minibatch.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> wit: array<vec4<f32>, WIT_QUADS>;
@group(0) @binding(2) var<uniform> wrt: array<vec4<f32>, WR_QUADS>;
@group(0) @binding(3) var<uniform> wo: array<vec4<f32>, WO_QUADS>;
@group(0) @binding(4) var<uniform> wr: array<vec4<f32>, WR_QUADS>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> y: array<u32>;
@group(0) @binding(7) var<storage, read> counters: array<u32>;
@group(0) @binding(8) var<storage, read_write> z_c: array<f32>;
@group(0) @binding(9) var<storage, read_write> sample_out: array<f32>;
@group(0) @binding(10) var<storage, read_write> part: array<f32>;

fn w_out(j: u32, o: u32) -> f32 {
    let e = j * N_OUT + o;
    return wo[e / 4u][e % 4u];
}

@compute @workgroup_size(SG)
fn bptt_fused_sg(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    // The host runs this kernel only for T ≤ TC (BpttTuning::resolved); the record arrays hold TC steps.
//#insert alif_forward_sg:setup
//#insert bptt_backward_sg:weights
//@m    var hu{m}: array<f32, TC>; var hthr{m}: array<f32, TC>;
//@p    var hx{p}: array<f32, TC>;
    for (var b = b_lo; b < b_hi; b++) {
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
//@m        var v{m} = 0.0; var a{m} = 0.0; var zbar{m} = 0.0; var zsum{m} = 0.0; var zp{m} = 0.0;
        for (var t = 0u; t < n_t; t++) {
//#insert alif_forward_sg:step
//@p            hx{p}[t] = xl{p};
//@m            hu{m}[t] = u{m}; hthr{m}[t] = thr{m};
//@m            if ok{m} && dims.record_spikes != 0u { z_c[(b * n_t + t) * N_RECP + j{m}] = z{m}; }
//@m            zp{m} = z{m};
        }
        {
//#insert alif_forward_sg:readout
//@m        let ls{m} = sig{m} / nt;
//@m        var dzbar{m} = 0.0; var dvn{m} = 0.0; var dan{m} = 0.0;
//@m        var uc{m} = hu{m}[max(n_t, 1u) - 1u];
//#insert bptt_backward_sg:grads_state
        for (var tt = 0u; tt < n_t; tt++) {
            let t = n_t - 1u - tt;
            let has_next = t + 1u < n_t;
            let has_prev = t > 0u;
//@m            let thn{m} = hthr{m}[min(t + 1u, n_t - 1u)];
//@m            let up{m} = hu{m}[select(0u, t - 1u, has_prev)];
//#insert bptt_backward_sg:u_record
//#insert bptt_backward_sg:step
//@p            let xl{p} = hx{p}[t];
//#insert bptt_backward_sg:grads
        }
        }
    }
    // part[wg.x, row, j] for every sum: g{m}_{i} is row i, gr{m}_{k} row N_IN + k (shaders.rs, writeback_rows).
//@writeback
}
