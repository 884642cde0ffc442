// bptt_backward_sg — BPTT's backward pass for adapters whose memory loads are slow and whose subgroups are cheap,
// i.e. CPU adapters such as lavapipe (there an SSBO or workgroup-memory load is a loop over the lanes, while a
// subgroup broadcast is one register shuffle). Same equations as bptt_backward.wgsl:
//   dz̄(t) = L_j + κ dz̄(t+1)
//   dz(t) = dz̄(t) + (1−α) Σ_k W_rec[j,k] dv_k(t+1) − A_j(t+1) dv_j(t+1) + (1−ρ) da_j(t+1)
//   du = dz ψ(t);  dv(t) = du + α dv(t+1);  dA = −du − z_j(t−1) dv(t);  da(t) = β dA + ρ da(t+1)
// One workgroup is one subgroup of SG lanes and works through one group of samples (as many contiguous ranges of the
// minibatch as workgroups). Lane l owns neurons j = l + SG·m (m < M) and keeps their rows of W_rec in
// private values for the whole dispatch (read once from `wr`, a copy of W_rec with rows padded to N_RECP that
// pack_weights writes), so the recurrent sum needs no memory loads: the other neurons' dv(t+1) come by
// subgroupBroadcast. dv(t) never leaves the lane: the lane sums both weight-gradient blocks of its neurons,
//   part[s, i, j] = Σ_{b in group s} Σ_t x_bi(t) dv_bj(t)                      (i < N_IN: dense, in private values)
//   part[s, N_IN + k, j] = Σ_{b in group s} Σ_{t: z_bk(t−1) = 1} dv_bj(t)      (recurrent rows: spike events)
// For the recurrent rows each step broadcasts z(t−1) and, for every neuron k that spiked, adds dv(t) to the lane's
// accumulators of row k (a branch uniform over the lanes, as alif_forward_sg's recurrent sum). On lavapipe a
// storage-buffer load at a computed address is a loop over the lanes (reports/2026-12-02-lavapipe-memory-paths.md):
// keeping dv in the lane replaced bptt_weight_grads' dv gather per spike event, the largest single cost of a step
// there. The per-step code has no inner loop: llvmpipe stops all of an invocation's loops once they have run 65,535
// iterations together, which a loop per step would reach in long sequences. bptt_grad_reduce adds the groups in a
// fixed order. Sums run over samples in increasing order and over t backwards (bptt_weight_grads, on GPUs,
// forwards): the results agree to rounding, within the parity tolerances, as does the recurrent sum here, which runs
// over k in increasing order with one accumulator (bptt_backward keeps four per quad).
// Lines that start with `//@` are expanded by the host (shaders.rs, `expand_slots`): the letters after `//@` name
// the indices the line is repeated for — m: slot (< M = ⌈N_REC/SG⌉), k: neuron (< N_REC), i: input (< N_IN),
// p: input slot (< ⌈N_IN/SG⌉), r: row of a block (< TRACE_ROWS), u: row slot (< ⌈TRACE_ROWS/SG⌉); several letters: every combination. For an index X the line's {X} is its value,
// {Xs} = SG·X, {Xp} = X / SG, {Xl} = X % SG (which lane's slot holds neuron or input X), {Xq} = X / 4, {Xc} = X % 4.
// The forward's records are A(t) (thr_c) and u(t) = v(t) − A(t) (psi_c): the step needs ψ(t) = ψ(u(t)) and
// z(t−1) = H(u(t−1)), computed here from u by the functions alif_forward_sg calls (common.wgsl's psi and spike:
// the same bits it would have stored), so each step loads two records, A(t+1) and u(t−1), and carries u(t−1) to the
// next step as its u(t).
// Bindings: 0 dims | 1 wr [N_REC, N_RECP] uniform | 2 thr_c | 3 psi_c (u) [N,T,N_RECP] | 4 sample_out [N,S_OUT]
//           5 x [B,T,N_IN] | 6 counters [2] u32 | 7 part [GRAD_SPLITS,N_PRE,N_RECP]
// Dispatch: (GRAD_SPLITS, 1, 1) workgroups of SG threads (the count is read back as num_workgroups).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> wr: array<vec4<f32>, WR_QUADS>;
@group(0) @binding(2) var<storage, read> thr_c: array<f32>;
@group(0) @binding(3) var<storage, read> psi_c: array<f32>;
@group(0) @binding(4) var<storage, read> sample_out: array<f32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> counters: array<u32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(SG)
fn bptt_backward_sg(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    // T and the number of sample groups come at run time (history rows are T long: TC = T for BPTT), so one
    // compiled kernel serves every T and split.
    let n_t = dims.t_steps;
    let ws = window_start(n_t, dims.window);
    let range = sample_group(wg.x, groups.x, dims.n_batch);
    let b_lo = range.x;
    let b_hi = range.y;
//@m    let j{m} = l + {ms}u;
//@m    let ok{m} = j{m} < N_REC;
//@m    let jc{m} = min(j{m}, N_REC - 1u);
//<weights> (bptt_fused_sg inlines the lines up to </weights>)
//@m    let bb{m} = beta_of(j{m}, dims.n_lif);
//@m    let r{m} = jc{m} * NQ;
//@mk    let w{m}_{k} = wr[r{m} + {kq}u][{kc}];
//@mi    var g{m}_{i} = 0.0;
//@mk    var gr{m}_{k} = 0.0;
//</weights>
    for (var b = b_lo; b < b_hi; b++) {
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
//@m        let ls{m} = sample_out[b * S_OUT + O_SIG + jc{m}];
//@m        var dzbar{m} = 0.0; var dvn{m} = 0.0; var dan{m} = 0.0;
        // u(T−1), the last step's record (n_t ≥ 1 whenever a sample runs).
//@m        var uc{m} = psi_c[(b * n_t + max(n_t, 1u) - 1u) * N_RECP + jc{m}];
//<grads_state> (bptt_fused_sg and eprop_backward_sg inline the lines up to </grads_state>)
        // dv and the lane's inputs of the first three steps of a group of four (the gradient section below).
//@m        var dq0_{m} = 0.0; var dq1_{m} = 0.0; var dq2_{m} = 0.0;
//@p        var xq0_{p} = 0.0; var xq1_{p} = 0.0; var xq2_{p} = 0.0;
//</grads_state>
        for (var tt = 0u; tt < n_t; tt++) {
            let t = n_t - 1u - tt;
            let has_next = t + 1u < n_t;
            let has_prev = t > 0u;
            let hn = (b * n_t + min(t + 1u, n_t - 1u)) * N_RECP;
            let hp = (b * n_t + select(0u, t - 1u, has_prev)) * N_RECP;
            // The forward's records this step reads: A(t+1) and u(t−1); u(t) came with the step before (bptt_fused_sg
            // keeps them in private arrays).
//@m            let thn{m} = thr_c[hn + jc{m}];
//@m            let up{m} = psi_c[hp + jc{m}];
//<u_record> (bptt_fused_sg inlines the lines up to </u_record>)
//@m            let psv{m} = psi(uc{m});
//@m            let zl{m} = spike(up{m});
//@m            uc{m} = up{m};
//</u_record>
//<step> (bptt_fused_sg inlines the lines up to </step>)
//@m            var rec{m} = 0.0;
            if !STOP_RECURRENT {
//@k                let e{k} = subgroupBroadcast(dvn{kp}, {kl}u);
                // Neuron outer, slot inner (`km`, as `im` below and in alif_forward_sg): a broadcast is used at once; each
                // accumulator's order (increasing k) is unchanged, so the results are bit-identical to slot-outer.
//@km                rec{m} = fma(w{m}_{k}, e{k}, rec{m});
            }
//@m            dzbar{m} = select(0.0, ls{m}, t >= ws) + KAPPA * dzbar{m};
//@m            var dz{m} = dzbar{m} + OM_ALPHA * rec{m} + OM_RHO * dan{m};
//@m            if !DETACH_RESET { dz{m} = select(dz{m}, dz{m} - thn{m} * dvn{m}, has_next); }
//@m            let du{m} = dz{m} * psv{m};
//@m            let d{m} = du{m} + ALPHA * dvn{m};
//@m            var dthr{m} = -du{m};
//@m            let zp{m} = select(0.0, zl{m}, has_prev);
//@m            if !DETACH_RESET { dthr{m} = dthr{m} - zp{m} * d{m}; }
//@m            dan{m} = bb{m} * dthr{m} + RHO * dan{m};
//@m            dvn{m} = d{m};
            // The recurrent rows: dv(t) into the rows of the neurons that spiked at t−1.
//@k            let zs{k} = subgroupBroadcast(zp{kp}, {kl}u);
//@k            if zs{k} != 0.0 {<m> gr{m}_{k} = gr{m}_{k} + d{m};</m> }
//</step>
            let xr = (s * n_t + t) * N_IN;
//@p            let xl{p} = x[xr + min(l + {ps}u, N_IN - 1u)];
//<grads> (bptt_fused_sg and eprop_backward_sg inline the lines up to </grads>)
            // The dense input rows four steps at a time: steps tt ≡ 0, 1, 2 (mod 4) keep dv and the lane's inputs, the
            // fourth adds all four terms to each sum, so a sum is loaded and stored once per four steps instead of
            // every step (they live in memory: a lane holds thousands). The additions are the same and in the same
            // order (decreasing t) as one per step, so the sums are bit for bit those of adding every step. A
            // sequence whose length is not a multiple of 4 ends with a partial group: its missing terms are x·0 = ±0,
            // and g + ±0 = g exactly, because a sum that starts at +0 can never be −0 (in round-to-nearest x + y is
            // −0 only when both are −0).
            let q = tt & 3u;
            if q == 0u {
//@m                dq0_{m} = d{m};
//@p                xq0_{p} = xl{p};
            }
            if q == 1u {
//@m                dq1_{m} = d{m};
//@p                xq1_{p} = xl{p};
            }
            if q == 2u {
//@m                dq2_{m} = d{m};
//@p                xq2_{p} = xl{p};
            }
            if q == 3u || tt + 1u == n_t {
//@m                dq1_{m} = select(0.0, dq1_{m}, q >= 1u); dq2_{m} = select(0.0, dq2_{m}, q >= 2u);
//@m                let dd{m} = select(0.0, d{m}, q == 3u);
//@i                let xb{i} = subgroupBroadcast(xl{ip}, {il}u);
//@i                let xc0_{i} = subgroupBroadcast(xq0_{ip}, {il}u);
//@i                let xc1_{i} = subgroupBroadcast(xq1_{ip}, {il}u);
//@i                let xc2_{i} = subgroupBroadcast(xq2_{ip}, {il}u);
//@im                g{m}_{i} = (((g{m}_{i} + xc0_{i} * dq0_{m}) + xc1_{i} * dq1_{m}) + xc2_{i} * dq2_{m}) + xb{i} * dd{m};
            }
//</grads>
        }
    }
    // part[wg.x, row, j] for every sum: g{m}_{i} is row i, gr{m}_{k} row N_IN + k (shaders.rs, writeback_rows).
//@writeback
}
