// alif_forward_sg — the forward pass for CPU adapters (why: bptt_backward_sg.wgsl), for BPTT and for e-prop:
// input projection, ALIF steps and readout of a group of samples in one subgroup of SG lanes. Lane l owns
// neurons j = l + SG·m (m < M) and keeps their columns of W_in and W_rec in private values (read once from `wit`
// and `wrt`, which pack_weights writes); x(t) and z(t−1) of the other lanes come by subgroupBroadcast:
//   cur = Σ_i x_i(t) W_in[i,j] + Σ_k z_k(t−1) W_rec[k,j]     (increasing i, then increasing k)
//   a = ρa + (1−ρ)z(t−1);  A = v_th + βa;  v = αv + (1−α)cur − z(t−1)A;  z = H(v − A);  ψ = ψ(v − A)
//   z̄ = κz̄ + z;  Σz̄ += z̄ (inside the readout window);  β = beta_of(j)
// The recurrent sum runs over every k with z_k(t−1) ∈ {0, 1}: adding 0·W = 0 leaves the sum unchanged and 1·W = W
// exactly, so skipping the k with z_k(t−1) = 0 (a branch on a broadcast value, uniform over the lanes) gives bit for bit
// the sparse sum over spiking neurons that input_projection + alif_forward compute (same order, same roundings: the
// expressions are theirs). Writes u = v − A for every step (and A for BPTT, STORE_THR; z only as the spike record,
// dims.record_spikes) and the readout record after the last step (readout.wgsl's equations, logits summed over j in
// increasing order as there; every lane computes them, lane 0 writes them), and the sample's spike count (O_NZ; the
// evaluation reads it) after each chunk.
// Two modes. Whole sequence (CHUNKED = false; BPTT, and e-prop when T fits one chunk): one dispatch runs all T steps,
// the records are [N,T,N_RECP] (the backward kernels compute z(t−1) for the recurrent weight gradient as H(u(t−1))
// from psi_c; z_c is the spike record).
// Chunked (CHUNKED, e-prop at any T): one dispatch per chunk of `chunk.tc` ≤ TC steps, v, a, z̄, Σz̄
// and z(t−1) carried in `state` and z(t0−1) written to `z_start` as alif_forward does, records [N,TC,N_RECP], no spike
// lists (eprop_coeffs lists the chunk's sources from H(u), eprop_traces_sg reads ψ(u)); with dims.record_spikes the
// spikes go to `spikes` [N,T,N_REC] u32 as alif_forward's do.
// Lines that start with `//@` are expanded by the host (bptt_backward_sg.wgsl explains the tags).
// Bindings: 0 dims | 1 wit [N_REC,N_INP] uniform | 2 wrt [N_REC,N_RECP] uniform | 3 wo [N_REC·N_OUT] uniform
//           4 x [B,T,N_IN] | 5 y [B] u32 | 6 counters [2] u32 | 7 z_c | 8 thr_c | 9 psi_c (u) [N,T or TC,N_RECP]
//           10 sample_out [N,S_OUT] | 11 chunk | 12 state [N,5,N_RECP] | 13 z_start [N,N_RECP]
//           14 spikes [N,T,N_REC] u32
// Dispatch: (G, 1, 1) workgroups of SG threads; workgroup g runs the g-th of G contiguous ranges of the minibatch.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> wit: array<vec4<f32>, WIT_QUADS>;
@group(0) @binding(2) var<uniform> wrt: array<vec4<f32>, WR_QUADS>;
@group(0) @binding(3) var<uniform> wo: array<vec4<f32>, WO_QUADS>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> y: array<u32>;
@group(0) @binding(6) var<storage, read> counters: array<u32>;
@group(0) @binding(7) var<storage, read_write> z_c: array<f32>;
@group(0) @binding(8) var<storage, read_write> thr_c: array<f32>;
@group(0) @binding(9) var<storage, read_write> psi_c: array<f32>;
@group(0) @binding(10) var<storage, read_write> sample_out: array<f32>;
@group(0) @binding(11) var<uniform> chunk: Chunk;
@group(0) @binding(12) var<storage, read_write> state: array<f32>;
@group(0) @binding(13) var<storage, read_write> z_start: array<f32>;
@group(0) @binding(14) var<storage, read_write> spikes: array<u32>;

fn w_out(j: u32, o: u32) -> f32 {
    let e = j * N_OUT + o;
    return wo[e / 4u][e % 4u];
}

@compute @workgroup_size(SG)
fn alif_forward_sg(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_invocation_id) l: u32,
) {
//<setup> (bptt_fused_sg inlines the lines up to </setup>)
    let n_t = dims.t_steps;
    let ws = window_start(n_t, dims.window);
    let range = sample_group(wg.x, groups.x, dims.n_batch);
    let b_lo = range.x;
    let b_hi = range.y;
//@m    let j{m} = l + {ms}u;
//@m    let ok{m} = j{m} < N_REC;
//@m    let jc{m} = min(j{m}, N_REC - 1u);
//@m    let bf{m} = beta_of(j{m}, dims.n_lif);
//@mi    let wi{m}_{i} = wit[jc{m} * NIQ + {iq}u][{ic}];
//@mk    let wr{m}_{k} = wrt[jc{m} * NQ + {kq}u][{kc}];
//</setup>
    for (var b = b_lo; b < b_hi; b++) {
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
//@m        var v{m} = 0.0; var a{m} = 0.0; var zbar{m} = 0.0; var zsum{m} = 0.0; var zp{m} = 0.0;
//@m        var nz{m} = 0.0;
        let st = b * 5u * N_RECP;
        if CHUNKED && chunk.index > 0u {
//@m            v{m} = state[st + jc{m}]; a{m} = state[st + N_RECP + jc{m}]; zbar{m} = state[st + 2u * N_RECP + jc{m}]; zsum{m} = state[st + 3u * N_RECP + jc{m}]; zp{m} = state[st + 4u * N_RECP + jc{m}];
        }
        // z(t0−1), the chunk's first recurrent source, for eprop_coeffs.
//@m        if CHUNKED && ok{m} { z_start[b * N_RECP + j{m}] = zp{m}; }
        for (var t = chunk.t0; t < chunk.t0 + chunk.tc; t++) {
            let k = t - chunk.t0;
            let hb = select((b * n_t + t) * N_RECP, (b * chunk.stride + k) * N_RECP, CHUNKED);
//<step> (bptt_fused_sg inlines the lines up to </step>)
            let xr = (s * n_t + t) * N_IN;
//@p            let xl{p} = x[xr + min(l + {ps}u, N_IN - 1u)];
//@i            let xb{i} = subgroupBroadcast(xl{ip}, {il}u);
//@k            let zb{k} = subgroupBroadcast(zp{kp}, {kl}u);
//@m            var cur{m} = 0.0;
            // Input outer, slot inner (`im`): each broadcast x_i is used as soon as it is made instead of all 80 staying
            // live across the slots; every cur{m} still adds its inputs in increasing i, so the sums are the same bit for bit.
//@im            cur{m} = cur{m} + xb{i} * wi{m}_{i};
//@k            if zb{k} != 0.0 {<m> cur{m} = cur{m} + wr{m}_{k};</m> }
//@m            a{m} = RHO * a{m} + OM_RHO * zp{m};
//@m            let thr{m} = V_TH + bf{m} * a{m};
//@m            v{m} = ALPHA * v{m} + OM_ALPHA * cur{m} - zp{m} * thr{m};
//@m            let u{m} = v{m} - thr{m};
//@m            let z{m} = spike(u{m});
//@m            zbar{m} = KAPPA * zbar{m} + z{m};
//@m            if t >= ws { zsum{m} = zsum{m} + zbar{m}; }
//</step>
            // The record is u = v − A (in psi_c), and A for BPTT (STORE_THR); z only as the spike record (the whole
            // sequence; chunked, the spikes go to `spikes` below): the kernels that read it compute ψ(t) = ψ(u(t)) and
            // z(t−1) = H(u(t−1)) from u with common.wgsl's psi and spike, the same values bit for bit, from one record
            // instead of two.
//@m            if ok{m} { psi_c[hb + j{m}] = u{m}; if STORE_THR { thr_c[hb + j{m}] = thr{m}; } if !CHUNKED && dims.record_spikes != 0u { z_c[hb + j{m}] = z{m}; } }
//@m            if CHUNKED && ok{m} && dims.record_spikes != 0u { spikes[(b * n_t + t) * N_REC + j{m}] = u32(z{m}); }
//@m            if ok{m} { nz{m} = nz{m} + z{m}; }
//@m            zp{m} = z{m};
        }
        // The sample's spike count (O_NZ): this chunk's, over the lanes, added to the earlier chunks' (integers below
        // 2^24, so exact in any order).
        var nzl = 0.0;
//@m        nzl = nzl + nz{m};
        let nzs = subgroupAdd(nzl);
        if l == 0u {
            var before = 0.0;
            if CHUNKED && chunk.index > 0u { before = sample_out[b * S_OUT + O_NZ]; }
            sample_out[b * S_OUT + O_NZ] = before + nzs;
        }
        if CHUNKED {
//@m            if ok{m} { state[st + j{m}] = v{m}; state[st + N_RECP + j{m}] = a{m}; state[st + 2u * N_RECP + j{m}] = zbar{m}; state[st + 3u * N_RECP + j{m}] = zsum{m}; state[st + 4u * N_RECP + j{m}] = zp{m}; }
        }
        // The readout after the sequence's last step.
        if is_last_chunk(chunk, n_t) {
        // Readout (readout.wgsl): logits_o = Σ_j W_out[j,o] Σz̄_j / W over j in increasing order, skipping Σz̄_j = 0.
//<readout> (bptt_fused_sg inlines the lines up to </readout>)
//@k        let zs{k} = subgroupBroadcast(zsum{kp}, {kl}u);
        let nt = window_len(n_t, dims.window);
        var logits: array<f32, N_OUT>;
        var mx = -3.4e38;
        for (var o = 0u; o < N_OUT; o++) {
            var acc = 0.0;
//@k            if zs{k} != 0.0 { acc = acc + w_out({k}u, o) * zs{k}; }
            logits[o] = acc / nt;
            mx = max(mx, logits[o]);
        }
        var sum = 0.0;
        for (var o = 0u; o < N_OUT; o++) { sum = sum + exp(logits[o] - mx); }
        let label = y[s];
        let ob = b * S_OUT;
        var err: array<f32, N_OUT>;
        for (var o = 0u; o < N_OUT; o++) {
            var e = exp(logits[o] - mx) / sum;
            if o == label { e = e - 1.0; }
            err[o] = e;
            if l == 0u {
                sample_out[ob + O_ERR + o] = e;
                sample_out[ob + O_LOGIT + o] = logits[o];
            }
        }
        if l == 0u { sample_out[ob + O_CE] = log(sum) + mx - logits[label]; }
//@m        var sig{m} = 0.0;
        for (var o = 0u; o < N_OUT; o++) {
//@m            sig{m} = sig{m} + err[o] * w_out(jc{m}, o);
        }
//@m        if ok{m} { sample_out[ob + j{m}] = zsum{m}; sample_out[ob + O_SIG + j{m}] = sig{m} / nt; }
//</readout>
        }
    }
}
