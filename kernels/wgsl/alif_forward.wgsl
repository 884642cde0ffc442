// alif_forward — the sequential part of the forward pass, one sample per workgroup, one chunk of steps per
// dispatch (the state v, a, z̄, Σz̄, z carries over in `state`); thread j owns neuron j:
//   a = ρa + (1−ρ)z(t−1);  A = v_th + βa;  v = αv + (1−α)(cur_in(t) + Σ_{i: z_i(t−1)=1} W_rec[i,j]) − z(t−1)A
//   z = H(v − A) (strict);  ψ = ψ(v − A);  z̄ = κz̄ + z;  Σz̄ += z̄ (inside the readout window); β = beta_of(j)
// The recurrent input adds the rows of the neurons that spiked, in increasing order (the reference's order; ≈ 1 %
// of neurons spike, so this replaces a 120-long loop by one or two additions). Spikes are exchanged as a bit mask
// in workgroup memory, set with atomicOr (order-free) and read lowest bit first; three masks rotate (read step k,
// write k+1, clear k+2) so one barrier per step suffices. Writes z, ψ (and A when
// STORE_THR) for each step of the chunk, z(t0−1) to z_start, the sample's spike count so far (O_NZ), and after the
// last chunk the readout (readout.wgsl).
// For BPTT (STORE_THR, one chunk = the whole sequence) each neuron also lists its spike times (`spike_t`, in
// increasing t, count in `n_spikes`) so that bptt_weight_grads visits only the spikes.
// Bindings: 0 dims | 1 chunk | 2 y [B] u32 | 3 w [N_W] | 4 cur_in [N,TC,N_RECP] | 5 z_c | 6 thr_c | 7 psi_c
//           [N,TC,N_RECP] | 8 state [N,5,N_RECP] | 9 z_start [N,N_RECP] | 10 sample_out [N,S_OUT]
//           11 spikes [N,T,N_REC] u32 | 12 counters [2] u32 | 13 spike_t [N,N_REC,T] u32 | 14 n_spikes [N,N_REC] u32
// Dispatch: (N, 1, 1) workgroups of WG ≥ N_REC threads.

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> chunk: Chunk;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> cur_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> z_c: array<f32>;
@group(0) @binding(6) var<storage, read_write> thr_c: array<f32>;
@group(0) @binding(7) var<storage, read_write> psi_c: array<f32>;
@group(0) @binding(8) var<storage, read_write> state: array<f32>;
@group(0) @binding(9) var<storage, read_write> z_start: array<f32>;
@group(0) @binding(10) var<storage, read_write> sample_out: array<f32>;
@group(0) @binding(11) var<storage, read_write> spikes: array<u32>;
@group(0) @binding(12) var<storage, read> counters: array<u32>;
@group(0) @binding(13) var<storage, read_write> spike_t: array<u32>;
@group(0) @binding(14) var<storage, read_write> n_spikes: array<u32>;

const NW: u32 = (N_REC + 31u) / 32u;
var<workgroup> masks: array<atomic<u32>, 3u * NW>;
var<workgroup> zsum_s: array<f32, N_REC>;
var<workgroup> err_s: array<f32, N_OUT>;
var<workgroup> nz_s: atomic<u32>;

@compute @workgroup_size(WG)
fn alif_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wg.x;
    let s = (counters[1] * dims.n_batch + b) % dims.n_total;
    let j = lid;
    let owns = j < N_REC;
    let st = b * 5u * N_RECP + j;
    var v = 0.0;
    var a = 0.0;
    var zbar = 0.0;
    var zsum = 0.0;
    var zp = 0.0;
    if owns {
        if chunk.index > 0u {
            v = state[st];
            a = state[st + N_RECP];
            zbar = state[st + 2u * N_RECP];
            zsum = state[st + 3u * N_RECP];
            zp = state[st + 4u * N_RECP];
        }
        z_start[b * N_RECP + j] = zp;
    }
    for (var i = lid; i < 3u * NW; i += WG) { atomicStore(&masks[i], 0u); }
    if lid == 0u { atomicStore(&nz_s, 0u); }
    workgroupBarrier();
    if owns && zp != 0.0 { atomicOr(&masks[j / 32u], 1u << (j % 32u)); }
    workgroupBarrier();
    var n_sp = 0u;
    var nz = 0u;
    let ws = window_start(dims.t_steps, dims.window);
    let beta = beta_of(j, dims.n_lif);
    for (var k = 0u; k < chunk.tc; k++) {
        let h = (b * TC + k) * N_RECP + j;
        let rd = (k % 3u) * NW;
        let wr = ((k + 1u) % 3u) * NW;
        let clr = ((k + 2u) % 3u) * NW;
        var z = 0.0;
        if owns {
            var cur = cur_in[h];
            for (var wd = 0u; wd < NW; wd++) {
                var bits = atomicLoad(&masks[rd + wd]);
                while bits != 0u {
                    let i = wd * 32u + countTrailingZeros(bits);
                    bits = bits & (bits - 1u);
                    cur = cur + w[W_REC_OFF + i * N_REC + j];
                }
            }
            a = RHO * a + OM_RHO * zp;
            let thr = V_TH + beta * a;
            v = ALPHA * v + OM_ALPHA * cur - zp * thr;
            let u = v - thr;
            z = spike(u);
            zbar = KAPPA * zbar + z;
            if chunk.t0 + k >= ws { zsum = zsum + zbar; }
            z_c[h] = z;
            psi_c[h] = psi(u);
            if STORE_THR {
                thr_c[h] = thr;
                if z != 0.0 {
                    spike_t[(b * N_REC + j) * dims.t_steps + n_sp] = chunk.t0 + k;
                    n_sp = n_sp + 1u;
                }
            }
            if dims.record_spikes != 0u { spikes[(b * dims.t_steps + chunk.t0 + k) * N_REC + j] = u32(z); }
            if z != 0.0 { atomicOr(&masks[wr + j / 32u], 1u << (j % 32u)); nz = nz + 1u; }
            zp = z;
        }
        // Mask k+2 was last read in step k−1, before the previous barrier; it is next written in step k+1.
        if lid < NW { atomicStore(&masks[clr + lid], 0u); }
        workgroupBarrier();
    }
    if owns {
        state[st] = v;
        state[st + N_RECP] = a;
        state[st + 2u * N_RECP] = zbar;
        state[st + 3u * N_RECP] = zsum;
        state[st + 4u * N_RECP] = zp;
        if STORE_THR { n_spikes[b * N_REC + j] = n_sp; }
    }
    // The sample's spike count (O_NZ): this chunk's, added to the earlier chunks' (exact below 2^24).
    if owns { atomicAdd(&nz_s, nz); }
    workgroupBarrier();
    if lid == 0u {
        var before = 0.0;
        if chunk.index > 0u { before = sample_out[b * S_OUT + O_NZ]; }
        sample_out[b * S_OUT + O_NZ] = before + f32(atomicLoad(&nz_s));
    }
    if is_last_chunk(chunk, dims.t_steps) { finish_sample(b, s, lid, zsum); }
}
