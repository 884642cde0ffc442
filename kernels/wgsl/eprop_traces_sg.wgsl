// eprop_traces_sg — e-prop over several chunks (T > TC) on CPU adapters (why: bptt_backward_sg.wgsl): one chunk's
// trace coefficients, as eprop_coeffs computes them (same expressions, so the same bits), and the dense input rows'
// per-synapse state advanced by the chunk, as eprop_traces does for them, in the layout of the subgroup kernels:
//   E[i,j]   += scal_E[j]·ε^a[i,j] + ε^v_i(t0−1)·lam[0,j] + Σ_k x_i(t0+k)·Λv_j(k)
//   ε^a[i,j]  = P[j]·ε^a[i,j]      + ε^v_i(t0−1)·gam[0,j] + Σ_k x_i(t0+k)·Γv_j(k)    (not after the last chunk)
// for i < N_IN (the symbols are eprop_coeffs'). Lane l owns neurons j = l + SG·m and runs their adjoint recursion
// backwards through the chunk, keeping the sums of one block of TRACE_ROWS input rows (workgroup y) for each of its
// neurons in private values; x(t) of the other lanes comes by subgroupBroadcast. Every block computes the same
// coefficients and the first (y = 0) writes them: the others' stores would be the same bits, and skipping them took
// this kernel from 1,009 to 893 ms per step at T = 1,000 on lavapipe. Blocks keep the unrolled body small (the
// driver's compile time grows faster than linearly with it), and each block recomputes the coefficients, so fewer
// blocks run faster. Measured on one 2-core VM (lavapipe, Mesa 22.3.6, batch 100, T = 1,000, ms per step of this
// kernel; compile time with the shader cache missing): 16 rows (5 blocks for 80 inputs) 552–583 ms; 27 rows (3)
// 469–475 ms, ≈ 35 s; 40 rows (2) 401–406 ms, ≈ 1 min; 80 rows (1) 330 ms but 5 min 23 s to compile. That made it
// 40 rows, until the write-back loop at the end of a sample (below) cut the compile: 40 rows 5.9 s, 80 rows 11.9 s
// (Mesa 22.3.6; 56.2 s on Mesa 25.0.7), and at 80 rows this kernel took 376–573 ms per step against 629–731 ms at
// 40 in interleaved runs of a slower phase of the same VM (docs/bench.md, "How long the kernels take to compile").
// 80 it is: one block for the paper's 80 inputs.
// The sum over k runs from the chunk's end (eprop_traces sums from its start): the two agree to rounding, within
// the parity tolerances. The recurrent rows (sparse sources: the spike events that eprop_coeffs lists) are then
// eprop_traces' (DENSE_IN_BACKWARD: from row N_IN), which reads the coefficients and scal written here. ε^v at the
// chunk's start is eprop_coeffs' (ev_carry, the current half; with DENSE_IN_BACKWARD eprop_coeffs computes only the
// sources).
// A lane whose slot is past N_REC (when SG does not divide N_REC) computes neuron N_REC − 1 again from the same
// values, so it writes the same bits to the same places as that neuron's lane: no branch is needed.
// Lines that start with `//@` are expanded by the host (bptt_backward_sg.wgsl explains the tags).
// ψ(t) = ψ(u(t)) from alif_forward_sg's record of u = v − A, by common.wgsl's psi as there (the same bits).
// Bindings: 0 dims | 1 chunk | 2 psi_c (u) [N,TC,N_RECP] | 3 x [B,T,N_IN] | 4 counters [2] u32 | 5 ev_carry [2,N,N_PRE]
//           6 coef [N,2,TC+1,N_RECP] | 7 scal [N,2,N_RECP] | 8 eps_a [N,N_PRE,N_RECP] | 9 e_sum [N,N_PRE,N_RECP]
// Dispatch: (G, ⌈N_IN / TRACE_ROWS⌉, 1) workgroups of SG threads; workgroup (g, r) runs the g-th of G contiguous
// ranges of the minibatch and input rows [r·TRACE_ROWS, (r+1)·TRACE_ROWS).

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> chunk: Chunk;
@group(0) @binding(2) var<storage, read> psi_c: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> counters: array<u32>;
@group(0) @binding(5) var<storage, read> ev_carry: array<f32>;
@group(0) @binding(6) var<storage, read_write> coef: array<f32>;
@group(0) @binding(7) var<storage, read_write> scal: array<f32>;
@group(0) @binding(8) var<storage, read_write> eps_a: array<f32>;
@group(0) @binding(9) var<storage, read_write> e_sum: array<f32>;

@compute @workgroup_size(SG)
fn eprop_traces_sg(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
    let n_t = dims.t_steps;
    let ws = window_start(n_t, dims.window);
    let range = sample_group(wg.x, groups.x, dims.n_batch);
    let tc = chunk.tc;
    let tcs = chunk.stride; // the records' rows per sample (TC)
    let first = chunk.index == 0u;
    // This workgroup's block of input rows.
    let i0 = wg.y * TRACE_ROWS;
    // Every block computes the coefficients (it needs them); only the first writes them for eprop_traces.
    let writes_coef = wg.y == 0u;
//@m    let j{m} = l + {ms}u;
//@m    let jc{m} = min(j{m}, N_REC - 1u);
//@m    let beta{m} = beta_of(jc{m}, dims.n_lif);
    for (var b = range.x; b < range.y; b++) {
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
        let cb = b * 2u * (tcs + 1u) * N_RECP;
//@m        var la{m} = 0.0; var ga{m} = 1.0; var lv{m} = 0.0; var gv{m} = 0.0; var dn{m} = 0.0; var cpn{m} = 0.0;
//@mr        var e{m}_{r} = 0.0;
//@mr        var f{m}_{r} = 0.0;
        for (var kk = 0u; kk < tc; kk++) {
            let k = tc - 1u - kk;
            let t = chunk.t0 + k;
            let c_lo = select(1.0, pow(KAPPA, f32(ws - t)), t < ws);
            let c_num = c_lo - pow(KAPPA, f32(n_t - t));
            let hb = (b * tcs + k) * N_RECP;
            let at_end = kk == 0u;
            // Branch-free (selects) so that the unrolled body stays one block; at kk = 0 dn = la = cpn = 0.
//@m            let p{m} = psi(psi_c[hb + jc{m}]);
//@m            let cpsi{m} = p{m} * c_num / (1.0 - KAPPA);
//@m            let d{m} = RHO - OM_RHO * beta{m} * p{m};
//@m            let g{m} = OM_RHO * OM_ALPHA * p{m};
//@m            if TRACE_ALIGNED { la{m} = select(-beta{m} * cpn{m} + dn{m} * la{m}, 0.0, at_end); } else { la{m} = select(-beta{m} * cpsi{m} + dn{m} * la{m}, -beta{m} * cpsi{m}, at_end); }
//@m            ga{m} = select(dn{m} * ga{m}, 1.0, at_end);
//@m            lv{m} = OM_ALPHA * cpsi{m} + g{m} * la{m} + ALPHA * lv{m};
//@m            gv{m} = g{m} * ga{m} + ALPHA * gv{m};
//@m            if writes_coef { coef[cb + (k + 1u) * N_RECP + jc{m}] = lv{m}; coef[cb + (tcs + 2u + k) * N_RECP + jc{m}] = gv{m}; }
//@m            dn{m} = d{m}; cpn{m} = cpsi{m};
            let xr = (s * n_t + t) * N_IN;
//@u            let xl{u} = x[xr + min(i0 + l + {us}u, N_IN - 1u)];
//@r            let xb{r} = subgroupBroadcast(xl{rp}, {rl}u);
//@mr            e{m}_{r} = e{m}_{r} + xb{r} * lv{m};
//@mr            f{m}_{r} = f{m}_{r} + xb{r} * gv{m};
        }
        // The coefficients of the chunk's starting state (eprop_coeffs' lam[0], gam[0], scal_E, P).
//@m        let lam0{m} = ALPHA * lv{m}; let gam0{m} = ALPHA * gv{m}; let pp{m} = dn{m} * ga{m};
//@m        var ca{m} = dn{m} * la{m}; if TRACE_ALIGNED { ca{m} = -beta{m} * cpn{m} + dn{m} * la{m}; }
//@m        if writes_coef { coef[cb + jc{m}] = lam0{m}; coef[cb + (tcs + 1u) * N_RECP + jc{m}] = gam0{m}; scal[b * 2u * N_RECP + jc{m}] = ca{m}; scal[b * 2u * N_RECP + N_RECP + jc{m}] = pp{m}; }
        // The chunk's starting state (zero before the first chunk: `select`, never a product with what the buffers
        // held from an earlier sequence). After the last chunk ε^a is written but never read again.
        let ev0 = (chunk.index % 2u) * dims.n_batch * N_PRE + b * N_PRE;
        let row = b * N_PRE * N_RECP;
        // Rows rb + v of the block, TRACE_WRITEBACK_ROWS per iteration, the others' sums moved down after it
        // (`//@shift`): one store per row and slot in the code, not one per sum — stores at per-lane addresses are
        // dozens of basic blocks each in llvmpipe, whose compile time grows with their square (shaders.rs,
        // writeback_rows). The same sums, so the same bits.
        for (var rb = 0u; rb < TRACE_ROWS; rb += TRACE_WB) {
//@v            let sv{v} = select(ev_carry[ev0 + min(i0 + rb + {v}u, N_IN - 1u)], 0.0, first);
//@v            if i0 + rb + {v}u < N_IN { let rr = row + (i0 + rb + {v}u) * N_RECP;<m> { let ix = rr + jc{m}; let ea = select(eps_a[ix], 0.0, first); e_sum[ix] = select(e_sum[ix], 0.0, first) + ca{m} * ea + sv{v} * lam0{m} + e{m}_{v}; eps_a[ix] = pp{m} * ea + sv{v} * gam0{m} + f{m}_{v}; }</m> }
//@shift e f
        }
    }
}
