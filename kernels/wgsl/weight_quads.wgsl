// weight_quads — shared snippet (appended by the host to kernels that bind the weights both as `w: array<f32>` and
// as `w4: array<vec4<f32>>`; not a kernel of its own): four consecutive weights of a row of length N_REC,
//   weight_quad(row_start, q) = w[row_start + 4q .. row_start + 4q + 4]   (zeros past the row's end)
// read as one aligned vec4 when N_REC % 4 == 0 (then every row start is a multiple of 4), else element by element.

fn weight_quad(row_start: u32, q: u32) -> vec4<f32> {
    let k = 4u * q;
    let base = row_start + k;
    if N_REC % 4u == 0u {
        return w4[base / 4u];
    }
    if k + 3u < N_REC {
        return vec4<f32>(w[base], w[base + 1u], w[base + 2u], w[base + 3u]);
    }
    var r = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) { if k + c < N_REC { r[c] = w[base + c]; } }
    return r;
}
