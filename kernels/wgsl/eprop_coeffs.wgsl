// eprop_coeffs — turns one chunk of e-prop's per-step trace recursion into coefficients, so that eprop_traces can
// update every synapse once per chunk with a small matrix product instead of once per step. Exact in real
// arithmetic. One sample per workgroup.
//
// Within a chunk (k = 0..tc−1, global t = t0 + k), per synapse i→j with sources pre_i(k) (x_i(t) or z_i(t−1)):
//   ε^v(k) = α ε^v(k−1) + pre(k);  ε^a(k) = d_j(k) ε^a(k−1) + g_j(k) ε^v(k),  d = ρ − (1−ρ)βψ, g = (1−ρ)(1−α)ψ
//   E += Σ_k c(t) ψ_j(k) [(1−α) ε^v(k) − β ε^a(k)]   (aligned: ε^a(k−1)),  c(t) = (κ^{max(t_w−t, 0)} − κ^{T−t})/(1 − κ)
// (E = Σ_{t ≥ t_w} ē(t) over the readout window from t_w = window_start(T); t_w = 0 gives (1 − κ^{T−t})/(1 − κ)),
// β = beta_of(j)
// E's increment and ε^a at the chunk's end are linear in ε^a(−1), ε^v(−1) and pre(0..tc−1); thread j computes
// their coefficients by the adjoint (backward) recursion:
//   Λa(k) = −βcψ(k) + d(k+1)Λa(k+1)   [aligned: −βcψ(k+1) + d(k+1)Λa(k+1)],   Γa(k) = d(k+1)Γa(k+1), Γa(tc−1) = 1
//   Λv(k) = (1−α)cψ(k) + g(k)Λa(k) + αΛv(k+1),   Γv(k) = g(k)Γa(k) + αΓv(k+1)
//   lam[q] = Λv(q−1) for q ≥ 1, lam[0] = αΛv(0) (coefficient of ε^v(−1)); gam likewise with Γv;
//   scal = (coefficient of ε^a(−1) in E: d(0)Λa(0) [aligned: −βcψ(0) + d(0)Λa(0)],  P = d(0)Γa(0)).
// Threads i < N_PRE advance ε^v to the chunk's end (into the other half of the ping-pong carry buffer, read by the
// next chunk; eprop_traces reads this chunk's start from the current half) and list each recurrent source's spikes
// as events (q = k + 1 of each spike, increasing) so that eprop_traces touches only those.
// Bindings: 0 dims | 1 chunk | 2 x [B,T,N_IN] | 3 z_c | 4 psi_c [N,TC,N_RECP] | 5 z_start [N,N_RECP]
//           6 ev_carry [2,N,N_PRE] | 7 coef [N,2,TC+1,N_RECP] | 8 scal [N,2,N_RECP]
//           9 counters [2] u32 | 10 events [N,N_REC,TC] u32 | 11 n_events [N,N_REC] u32
// With DENSE_IN_BACKWARD only the sources (ε^v carry, events): eprop_traces_sg computes the coefficients, and psi_c
// holds alif_forward_sg's u = v − A, from which z(t−1) = H(u(t−1)) (z_c is then a placeholder).
// Dispatch: (N, 1, 1) workgroups of WGC ≥ max(N_PRE, N_REC) threads.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> chunk: Chunk;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> z_c: array<f32>;
@group(0) @binding(4) var<storage, read> psi_c: array<f32>;
@group(0) @binding(5) var<storage, read> z_start: array<f32>;
@group(0) @binding(6) var<storage, read_write> ev_carry: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<f32>;
@group(0) @binding(8) var<storage, read_write> scal: array<f32>;
@group(0) @binding(9) var<storage, read> counters: array<u32>;
@group(0) @binding(10) var<storage, read_write> events: array<u32>;
@group(0) @binding(11) var<storage, read_write> n_events: array<u32>;

@compute @workgroup_size(WGC)
fn eprop_coeffs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wg.x;
    let tc = chunk.tc;
    if lid < N_PRE {
        let i = lid;
        let s = (counters[1] * dims.n_batch + b) % dims.n_total;
        let cur = (chunk.index % 2u) * dims.n_batch * N_PRE + b * N_PRE + i;
        let nxt = ((chunk.index + 1u) % 2u) * dims.n_batch * N_PRE + b * N_PRE + i;
        var ev = 0.0;
        if chunk.index > 0u { ev = ev_carry[cur]; }
        var n_ev = 0u;
        for (var k = 0u; k < tc; k++) {
            var pre: f32;
            if i < N_IN {
                pre = x[(s * dims.t_steps + chunk.t0 + k) * N_IN + i];
            } else if k == 0u {
                pre = z_start[b * N_RECP + i - N_IN];
            } else {
                // z(t−1): alif_forward's record, or (DENSE_IN_BACKWARD) H(u(t−1)) from alif_forward_sg's u record.
                let r = (b * TC + k - 1u) * N_RECP + i - N_IN;
                if DENSE_IN_BACKWARD { pre = spike(psi_c[r]); } else { pre = z_c[r]; }
            }
            if i >= N_IN && pre != 0.0 {
                events[(b * N_REC + i - N_IN) * TC + n_ev] = k + 1u;
                n_ev = n_ev + 1u;
            }
            ev = ALPHA * ev + pre;
        }
        if i >= N_IN { n_events[b * N_REC + i - N_IN] = n_ev; }
        ev_carry[nxt] = ev;
    }
    // DENSE_IN_BACKWARD (e-prop over several chunks on CPU adapters): eprop_traces_sg computes the coefficients.
    if lid < N_REC && !DENSE_IN_BACKWARD {
        let j = lid;
        let n_t = dims.t_steps;
        let ws = window_start(n_t, dims.window);
        let beta = beta_of(j, dims.n_lif);
        let cb = b * 2u * (TC + 1u) * N_RECP;
        var lam_a = 0.0;
        var gam_a = 1.0;
        var lam_v = 0.0;
        var gam_v = 0.0;
        var d_next = 0.0;
        var cpsi_next = 0.0;
        for (var kk = 0u; kk < tc; kk++) {
            let k = tc - 1u - kk;
            let p = psi_c[(b * TC + k) * N_RECP + j];
            let t = chunk.t0 + k;
            let c_lo = select(1.0, pow(KAPPA, f32(ws - t)), t < ws);
            let cpsi = p * (c_lo - pow(KAPPA, f32(n_t - t))) / (1.0 - KAPPA);
            let d = RHO - OM_RHO * beta * p;
            let g = OM_RHO * OM_ALPHA * p;
            if TRACE_ALIGNED {
                if kk == 0u { lam_a = 0.0; } else { lam_a = -beta * cpsi_next + d_next * lam_a; }
            } else {
                if kk == 0u { lam_a = -beta * cpsi; } else { lam_a = -beta * cpsi + d_next * lam_a; }
            }
            if kk > 0u { gam_a = d_next * gam_a; }
            lam_v = OM_ALPHA * cpsi + g * lam_a + ALPHA * lam_v;
            gam_v = g * gam_a + ALPHA * gam_v;
            coef[cb + (k + 1u) * N_RECP + j] = lam_v;
            coef[cb + (TC + 1u + k + 1u) * N_RECP + j] = gam_v;
            d_next = d;
            cpsi_next = cpsi;
        }
        coef[cb + j] = ALPHA * lam_v;
        coef[cb + (TC + 1u) * N_RECP + j] = ALPHA * gam_v;
        var ca = d_next * lam_a;
        if TRACE_ALIGNED { ca = -beta * cpsi_next + d_next * lam_a; }
        scal[b * 2u * N_RECP + j] = ca;
        scal[b * 2u * N_RECP + N_RECP + j] = d_next * gam_a;
    }
}
