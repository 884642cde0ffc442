//! The host-speed loops of the emulator: the input currents of every step as one blocked product, and each
//! neuron's per-synapse traces over a whole sample in register tiles (AVX-512 through pulp's safe runtime dispatch
//! where the CPU has it). Both keep the chip's operation order per synapse, so every tile width gives the same bits
//! (tested below).

/// `x [T, n_in] · w [n_in, n_rec]`, each neuron's sum over the inputs in increasing order — the order of the
/// chip's per-PE loop (a zero input adds an exact zero, so skipping it, as the chip's loop may, changes nothing).
/// Blocked over 4 steps × 16 neurons held in registers.
pub(super) fn input_currents(x: &[f32], w: &[f32], n_in: usize, n_rec: usize) -> Vec<f32> {
    let t_steps = x.len() / n_in;
    let mut out = vec![0.0f32; t_steps * n_rec];
    // AVX-512 when the CPU has it (as for the traces); the same operations either way.
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        pulp::Simd::vectorize(v4, Currents { x, w, n_in, n_rec, out: &mut out });
        return out;
    }
    currents_tiled::<16>(x, w, n_in, n_rec, &mut out);
    out
}

/// [`input_currents`] for pulp's AVX-512 dispatch.
#[cfg(target_arch = "x86_64")]
pub(super) struct Currents<'a> {
    pub(super) x: &'a [f32],
    pub(super) w: &'a [f32],
    pub(super) n_in: usize,
    pub(super) n_rec: usize,
    pub(super) out: &'a mut [f32],
}

#[cfg(target_arch = "x86_64")]
impl pulp::WithSimd for Currents<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        currents_tiled::<32>(self.x, self.w, self.n_in, self.n_rec, self.out);
    }
}

/// Blocks of 4 steps × `JB` neurons (then narrower blocks for the rest), the accumulators in registers.
#[inline(always)]
pub(super) fn currents_tiled<const JB: usize>(x: &[f32], w: &[f32], n_in: usize, n_rec: usize, out: &mut [f32]) {
    let t_steps = x.len() / n_in;
    let mut t0 = 0;
    while t0 < t_steps {
        let tb = if t0 + 4 <= t_steps { 4 } else { 1 };
        let mut j0 = 0;
        while j0 < n_rec {
            let left = n_rec - j0;
            let jb = if left >= JB {
                JB
            } else if left >= 16 {
                16
            } else if left >= 8 {
                8
            } else {
                1
            };
            match (tb, jb) {
                (4, j) if j == JB => current_tile::<4, JB>(x, w, n_in, n_rec, t0, j0, out),
                (4, 16) => current_tile::<4, 16>(x, w, n_in, n_rec, t0, j0, out),
                (4, 8) => current_tile::<4, 8>(x, w, n_in, n_rec, t0, j0, out),
                (4, _) => current_tile::<4, 1>(x, w, n_in, n_rec, t0, j0, out),
                (_, j) if j == JB => current_tile::<1, JB>(x, w, n_in, n_rec, t0, j0, out),
                (_, 16) => current_tile::<1, 16>(x, w, n_in, n_rec, t0, j0, out),
                (_, 8) => current_tile::<1, 8>(x, w, n_in, n_rec, t0, j0, out),
                _ => current_tile::<1, 1>(x, w, n_in, n_rec, t0, j0, out),
            }
            j0 += jb;
        }
        t0 += tb;
    }
}

#[inline(always)]
pub(super) fn current_tile<const TB: usize, const JB: usize>(
    x: &[f32],
    w: &[f32],
    n_in: usize,
    n_rec: usize,
    t0: usize,
    j0: usize,
    out: &mut [f32],
) {
    let mut acc = [[0.0f32; JB]; TB];
    for i in 0..n_in {
        let w_row: &[f32; JB] = w[i * n_rec + j0..i * n_rec + j0 + JB].try_into().expect("tile");
        for (tb, acc_t) in acc.iter_mut().enumerate() {
            let xi = x[(t0 + tb) * n_in + i];
            for (a, &wv) in acc_t.iter_mut().zip(w_row) {
                *a += wv * xi;
            }
        }
    }
    for (tb, acc_t) in acc.iter().enumerate() {
        out[(t0 + tb) * n_rec + j0..(t0 + tb) * n_rec + j0 + JB].copy_from_slice(acc_t);
    }
}

/// One neuron's trace rows over its presynaptic sources: ε^a, ē and E = Σ_t ē.
pub(super) struct TraceRows<'a> {
    pub(super) ea: &'a mut [f32],
    pub(super) eb: &'a mut [f32],
    pub(super) es: &'a mut [f32],
}

/// What the trace loop reads: ε^v and (1−α)·ε^v of every source per step ([t][pre]), the neuron's [ψ, decay, gain]
/// per step, and the constants β and κ.
pub(super) struct TraceInputs<'a> {
    pub(super) ev_hist: &'a [f32],
    pub(super) oev_hist: &'a [f32],
    pub(super) coef: &'a [[f32; 3]],
    pub(super) beta: f32,
    pub(super) kappa: f32,
    /// First step of the readout window: E sums ē from here on (0: every step).
    pub(super) window_start: usize,
}

/// One neuron's per-synapse traces over a whole sample: for every step t (with `coef[t]` = [ψ, decay, gain] of the
/// neuron and `ev_hist` row t = ε^v of every presynaptic source), every synapse i updates
/// ε^a ← decay·ε^a + gain·ε^v_i, e = ψ·((1−α)·ε^v_i − β·ε^a), ē ← κ·ē + e, E ← E + ē (E inside the readout
/// window only) — the chip's step-by-step
/// recursion, in its operation order. Synapses are independent, so the loop runs over tiles of synapses with their
/// three traces held in registers for all T steps (only ε^v is loaded per step); the arithmetic per synapse is
/// exactly that of a step-by-step loop.
pub(super) fn neuron_traces(mut rows: TraceRows<'_>, inp: &TraceInputs<'_>) {
    // On a CPU with AVX-512 the same loop runs compiled for it (pulp's runtime dispatch), 64 synapses per tile:
    // 3 traces × 64 floats fill 12 of its 32 registers. Otherwise (AVX2, 16 registers) 16 synapses per tile keep
    // the two FP ports busy without spilling. The IEEE operations are the same either way, so are the results.
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        pulp::Simd::vectorize(v4, Tiles64 { rows, inp });
        return;
    }
    neuron_traces_tiled::<16>(&mut rows, inp);
}

/// The AVX-512 instance of the trace loop, for pulp's dispatch (the trait method is inlined into a function
/// compiled with AVX-512 enabled).
#[cfg(target_arch = "x86_64")]
pub(super) struct Tiles64<'a, 'b> {
    pub(super) rows: TraceRows<'a>,
    pub(super) inp: &'b TraceInputs<'b>,
}

#[cfg(target_arch = "x86_64")]
impl pulp::WithSimd for Tiles64<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(mut self, _simd: S) {
        neuron_traces_tiled::<64>(&mut self.rows, self.inp);
    }
}

/// Tiles of `W` synapses, then of 8, then single synapses for what is left.
#[inline(always)]
pub(super) fn neuron_traces_tiled<const W: usize>(rows: &mut TraceRows<'_>, inp: &TraceInputs<'_>) {
    let start = tiles::<W>(rows, inp, 0);
    let start = tiles::<8>(rows, inp, start);
    tiles::<1>(rows, inp, start);
}

/// Tiles of `W` synapses from `start` while whole tiles fit; returns where it stopped.
#[inline(always)]
pub(super) fn tiles<const W: usize>(rows: &mut TraceRows<'_>, inp: &TraceInputs<'_>, mut start: usize) -> usize {
    let n_pre = rows.ea.len();
    let (beta, kappa) = (inp.beta, inp.kappa);
    while start + W <= n_pre {
        let r = start..start + W;
        let mut a: [f32; W] = rows.ea[r.clone()].try_into().expect("tile");
        let mut b: [f32; W] = rows.eb[r.clone()].try_into().expect("tile");
        let mut s: [f32; W] = rows.es[r.clone()].try_into().expect("tile");
        for (t, &[psi, decay, gain]) in inp.coef.iter().enumerate() {
            let row = t * n_pre + start..t * n_pre + start + W;
            let ev: &[f32; W] = inp.ev_hist[row.clone()].try_into().expect("tile");
            let oev: &[f32; W] = inp.oev_hist[row].try_into().expect("tile");
            if t >= inp.window_start {
                for l in 0..W {
                    let an = decay * a[l] + gain * ev[l];
                    a[l] = an;
                    let e = psi * (oev[l] - beta * an);
                    let bn = kappa * b[l] + e;
                    b[l] = bn;
                    s[l] += bn;
                }
            } else {
                for l in 0..W {
                    let an = decay * a[l] + gain * ev[l];
                    a[l] = an;
                    let e = psi * (oev[l] - beta * an);
                    b[l] = kappa * b[l] + e;
                }
            }
        }
        rows.ea[r.clone()].copy_from_slice(&a);
        rows.eb[r.clone()].copy_from_slice(&b);
        rows.es[r].copy_from_slice(&s);
        start += W;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) - 0.5
            })
            .collect()
    }

    /// Every tile width (the AVX2 path's 16, AVX-512's 64, and a one-synapse loop) gives the same bits, also for a
    /// row length that leaves remainders of every kind.
    #[test]
    fn trace_tiles_agree_bit_for_bit() {
        for n_pre in [200, 93, 7] {
            let t_steps = 13;
            let ev = noise(t_steps * n_pre, 1);
            let oev: Vec<f32> = ev.iter().map(|e| 0.05 * e).collect();
            let coef: Vec<[f32; 3]> =
                noise(t_steps * 3, 2).chunks(3).map(|c| [c[0].abs(), 0.99 - 0.01 * c[1].abs(), c[2]]).collect();
            let inp =
                TraceInputs { ev_hist: &ev, oev_hist: &oev, coef: &coef, beta: 1.8, kappa: 0.95, window_start: 0 };
            let run = |width: usize| {
                let (mut a, mut b, mut s) = (noise(n_pre, 3), noise(n_pre, 4), noise(n_pre, 5));
                let mut rows = TraceRows { ea: &mut a, eb: &mut b, es: &mut s };
                match width {
                    1 => neuron_traces_tiled::<1>(&mut rows, &inp),
                    16 => neuron_traces_tiled::<16>(&mut rows, &inp),
                    64 => neuron_traces_tiled::<64>(&mut rows, &inp),
                    _ => neuron_traces(rows, &inp),
                }
                [a, b, s].map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            };
            let one = run(1);
            assert_eq!(run(16), one, "16-wide, n_pre {n_pre}");
            assert_eq!(run(64), one, "64-wide, n_pre {n_pre}");
            assert_eq!(run(0), one, "dispatched, n_pre {n_pre}");
        }
    }

    /// The blocked input currents equal the plain per-neuron sums in increasing input order, bit for bit, for every
    /// block width and sizes that leave remainders.
    #[test]
    fn input_current_blocks_agree_bit_for_bit() {
        for (t_steps, n_in, n_rec) in [(100, 80, 120), (7, 5, 37), (3, 1, 1)] {
            let x = noise(t_steps * n_in, 6);
            let w = noise(n_in * n_rec, 7);
            let mut plain = vec![0.0f32; t_steps * n_rec];
            for t in 0..t_steps {
                for j in 0..n_rec {
                    let mut c = 0.0f32;
                    for i in 0..n_in {
                        c += w[i * n_rec + j] * x[t * n_in + i];
                    }
                    plain[t * n_rec + j] = c;
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            for (name, got) in [
                ("16", {
                    let mut o = vec![0.0; t_steps * n_rec];
                    currents_tiled::<16>(&x, &w, n_in, n_rec, &mut o);
                    o
                }),
                ("32", {
                    let mut o = vec![0.0; t_steps * n_rec];
                    currents_tiled::<32>(&x, &w, n_in, n_rec, &mut o);
                    o
                }),
                ("dispatched", input_currents(&x, &w, n_in, n_rec)),
            ] {
                assert_eq!(bits(&got), bits(&plain), "{name}-wide blocks, {t_steps}×{n_in}→{n_rec}");
            }
        }
    }
}
