// eprop_backward_sg — e-prop's input and recurrent gradient sums of a sequence that fits one chunk (T ≤ TC), for
// CPU adapters (lavapipe), in the layout of BPTT's subgroup kernels (why: bptt_backward_sg.wgsl).
// e-prop's E of one chunk is linear in the sources pre_i(k) (x_i(t) or z_i(t−1)): E[i,j] = Σ_k pre_i(k) Λv_j(k) with
// the per-neuron coefficients of eprop_coeffs.wgsl (the adjoint of the trace recursion; every symbol as there):
//   Λa(k) = −βcψ(k) + d(k+1)Λa(k+1)   [TRACE_ALIGNED: −βcψ(k+1) + d(k+1)Λa(k+1)]
//   Λv(k) = (1−α)cψ(k) + g(k)Λa(k) + αΛv(k+1),   d = ρ − (1−ρ)βψ, g = (1−ρ)(1−α)ψ
// with c(t) = Σ_{t' ≥ max(t, t_w)} κ^{t'−t} summed backwards here as c(t) = [t ≥ t_w] + κ c(t+1) (eprop_coeffs
// uses the closed form; equal in real arithmetic). After the forward pass the learning signal L_j is known, so
// instead of E per sample this kernel forms dv_j(k) = L_j Λv_j(k) and the gradient is a sum over samples and steps,
//   part[s, i, j] = Σ_{b in group s} Σ_k x_bi(k) dv_bj(k)                 (i < N_IN, in private values)
//   part[s, N_IN + n, j] = Σ_{b in group s} Σ_{k: z_bn(k−1) = 1} dv_bj(k)  (recurrent rows: spike events)
// summed in the lane as bptt_backward_sg sums BPTT's (its header says how and why), then bptt_grad_reduce takes the
// batch mean (EPROP_GRADS: scale 1, no autapse term). Memory: the forward's one record, u = v − A [N, T, N_RECP]
// (ψ(k) = ψ(u(k)) and z(k−1) = H(u(k−1)) come from it by the functions alif_forward_sg calls, common.wgsl's psi and
// spike, so they are the bits it computed; each step loads u(k−1) and carries it to the next as its u(k)).
// Lane l owns neurons j = l + SG·m (m < M); x(t) of the other lanes comes by subgroupBroadcast; the tags of the `//@`
// lines are bptt_backward_sg.wgsl's.
// Bindings: 0 dims | 1 psi_c (u) [N,T,N_RECP] | 2 sample_out [N,S_OUT] | 3 x [B,T,N_IN] | 4 counters [2] u32
//           5 part [GRAD_SPLITS,N_PRE,N_RECP]
// Dispatch: (G, 1, 1) workgroups of SG threads; workgroup g runs the g-th of G contiguous ranges of the minibatch.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> psi_c: array<f32>;
@group(0) @binding(2) var<storage, read> sample_out: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> counters: array<u32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(SG)
fn eprop_backward_sg(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let n_t = dims.t_steps;
    let ws = window_start(n_t, dims.window);
    let range = sample_group(wg.x, groups.x, dims.n_batch);
    let b_lo = range.x;
    let b_hi = range.y;
//@m    let j{m} = l + {ms}u;
//@m    let ok{m} = j{m} < N_REC;
//@m    let jc{m} = min(j{m}, N_REC - 1u);
//@m    let beta{m} = beta_of(jc{m}, dims.n_lif);
//@mi    var g{m}_{i} = 0.0;
//@mk    var gr{m}_{k} = 0.0;
    for (var b = b_lo; b < b_hi; b++) {
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
//@m        let sig{m} = sample_out[b * S_OUT + O_SIG + jc{m}];
//@m        var la{m} = 0.0; var lv{m} = 0.0; var dn{m} = 0.0; var cpn{m} = 0.0;
        var c = 0.0;
        // u(T−1), the last step's record (n_t ≥ 1 whenever a sample runs).
//@m        var uc{m} = psi_c[(b * n_t + max(n_t, 1u) - 1u) * N_RECP + jc{m}];
//#insert bptt_backward_sg:grads_state
        for (var tt = 0u; tt < n_t; tt++) {
            let t = n_t - 1u - tt;
            c = select(0.0, 1.0, t >= ws) + KAPPA * c;
//@m            let p{m} = psi(uc{m});
//@m            let cp{m} = c * p{m};
//@m            if TRACE_ALIGNED { la{m} = -beta{m} * cpn{m} + dn{m} * la{m}; } else { la{m} = -beta{m} * cp{m} + dn{m} * la{m}; }
//@m            lv{m} = OM_ALPHA * cp{m} + OM_RHO * OM_ALPHA * p{m} * la{m} + ALPHA * lv{m};
//@m            dn{m} = RHO - OM_RHO * beta{m} * p{m};
//@m            cpn{m} = cp{m};
//@m            let d{m} = sig{m} * lv{m};
            // The recurrent rows: dv(k) into the rows of the neurons that spiked at k−1 (as in bptt_backward_sg).
            let hp = (b * n_t + select(0u, t - 1u, t > 0u)) * N_RECP;
//@m            let up{m} = psi_c[hp + jc{m}];
//@m            let zp{m} = select(0.0, spike(up{m}), t > 0u);
//@m            uc{m} = up{m};
//@k            let zs{k} = subgroupBroadcast(zp{kp}, {kl}u);
//@k            if zs{k} != 0.0 {<m> gr{m}_{k} = gr{m}_{k} + d{m};</m> }
            let xr = (s * n_t + t) * N_IN;
//@p            let xl{p} = x[xr + min(l + {ps}u, N_IN - 1u)];
//#insert bptt_backward_sg:grads
        }
    }
    // part[wg.x, row, j] for every sum: g{m}_{i} is row i, gr{m}_{k} row N_IN + k (shaders.rs, writeback_rows).
//@writeback
}
