// readout — the end of a sample, shared by the forward kernels (appended by the host; not a kernel of its own):
//   logits_k = Σ_j W_out[j,k] Σz̄_j / W;  err = softmax(logits) − onehot(y);  CE = logsumexp − logit_y;
//   L_j = Σ_k err_k W_out[j,k] / W (W = window_len(T)).  Written to sample_out[b] (layout in common.wgsl).

fn finish_sample(b: u32, s: u32, lid: u32, zsum: f32) {
    let n_t = window_len(dims.t_steps, dims.window);
    if lid < N_REC { zsum_s[lid] = zsum; }
    workgroupBarrier();
    let o = b * S_OUT;
    if lid == 0u {
        var logits: array<f32, N_OUT>;
        var mx = -3.4e38;
        for (var k = 0u; k < N_OUT; k++) {
            var acc = 0.0;
            for (var jj = 0u; jj < N_REC; jj++) {
                let zs = zsum_s[jj];
                if zs != 0.0 { acc = acc + w[W_OUT_OFF + jj * N_OUT + k] * zs; }
            }
            logits[k] = acc / n_t;
            mx = max(mx, logits[k]);
        }
        var sum = 0.0;
        for (var k = 0u; k < N_OUT; k++) { sum = sum + exp(logits[k] - mx); }
        let label = y[s];
        for (var k = 0u; k < N_OUT; k++) {
            var e = exp(logits[k] - mx) / sum;
            if k == label { e = e - 1.0; }
            err_s[k] = e;
            sample_out[o + O_ERR + k] = e;
            sample_out[o + O_LOGIT + k] = logits[k];
        }
        sample_out[o + O_CE] = log(sum) + mx - logits[label];
    }
    workgroupBarrier();
    if lid < N_REC {
        var sig = 0.0;
        for (var k = 0u; k < N_OUT; k++) { sig = sig + err_s[k] * w[W_OUT_OFF + lid * N_OUT + k]; }
        sample_out[o + lid] = zsum;
        sample_out[o + O_SIG + lid] = sig / n_t;
    }
}
