//! The `cpu-q8` GGML path ([`CpuBackend::with_int8_activations`] on `matmul_gguf`): x quantized
//! to int8 per block of 32 columns, each weight block's products summed in integers
//! ([`matmul_gguf_q8_ref`]'s module doc defines the sums and the f32 order).
//!
//! - With AVX2 the kernel equals [`matmul_gguf_q8_ref`] bit for bit for every type, `m` in
//!   {1, 2, 3, 4, 5, 8, 16, 17, 64, 67}, odd `n` (not multiples of the 8-row tile), `k` of one
//!   to four 256-column blocks (and odd multiples of 32 for the 32-column types), an all-zero x
//!   block, random scales including negative ones, and a case whose f16 fields take the
//!   edge values of the exact widening (±0, subnormals, the smallest and largest normals); also
//!   under 1 and 3 rayon threads. Both kernels run where the CPU has AVX-512 VNNI: `vpdpbusd`
//!   (the default) and plain AVX2 (`with_vnni(false)`). Without
//!   AVX2 the backend runs the reference. A code flipped in W changes the kernel's bits (the
//!   test would see a wrong code).
//! - [`matmul_gguf_q8_ref`] against an independent computation: `quant`'s exact decoder for W
//!   and `xq · dx` for x, multiplied and summed in f64. Only f32 rounding separates them: per
//!   output, at most a few roundings of each block's terms plus one per block added, so
//!   `|y_ref − y_64| ≤ (nb + 8) · 2⁻²⁴ · S` with `S = Σ_t |x̂_t| · max_{block of t} |w|`
//!   (the largest weight of a block bounds its terms, also the minimum's).
//! - The approximation against the exact f32 [`matmul_gguf_ref`]: each x value is rounded to a
//!   multiple of its block's `dx = max|x| / 127`, an error about uniform on `±dx/2` (variance
//!   `dx²/12`, `1/(2·127·√3)` of the block's largest value in RMS), independent of W, so
//!   `E‖y_q8 − y_f32‖² = Σ_ij Σ_t w_jt² dx²/12`, which the test computes from the data as the
//!   prediction. On activation-like data (unit Gaussian, three outlier columns 20σ, in three
//!   different blocks) the measured `‖y_q8 − y_f32‖ / ‖y_f32‖` must be within [0.5, 1.5] of
//!   the predicted one, and below the a-priori cap [`REL_CAP`]: per output the error energy is
//!   `Σ_b dx_b² · 32 E[w²] / 12`, with `dx² = E[max²] / 127² ≈ 4.8 / 127²` for a plain block of
//!   32 and `≈ 400 / 127²` for an outlier's, against a signal `Σ_t x_t² E[w²]`; at k = 1536 (48
//!   blocks) that is `(45 · 4.8 + 3 · 400) · 32 / 12 / 127² / (1533 + 3 · 400)`, relative
//!   error 9.3e-3 (Gaussian alone 5.0e-3), and less at k = 2048; the cap is 1.5× that.

use crate::matmul_gguf::{f16_fields, random_blocks, TYPES};
use crate::util::{seed, Rng};
use kernels::ops::{matmul_gguf_q8_ref, matmul_gguf_ref, quantize_rows_q8_ref};
use kernels::{Backend, CpuBackend, Isa, MatmulVariant};
use quant::gguf::dequant::dequantize_row;
use quant::gguf::GgmlType;

/// x rows of the sweep: decode batches, a chunk edge (64) and past it.
const MS: [usize; 10] = [1, 2, 3, 4, 5, 8, 16, 17, 64, 67];
/// Odd W row counts, none a multiple of 8 (a wide 131 closes each type: several rayon tasks).
const NS: [usize; 3] = [1, 13, 37];
/// Cap on the aggregate relative error of the approximation (module doc).
const REL_CAP: f64 = 1.4e-2;

fn q8_backend(isa: Isa) -> Option<CpuBackend> {
    if !isa.is_available() {
        eprintln!("SKIP cpu-q8 {}: not on this CPU", isa.name());
        return None;
    }
    Some(CpuBackend::with(MatmulVariant::default(), isa).unwrap().with_int8_activations(true))
}

/// Whether this CPU runs the `vpdpbusd` kernels (AVX-512 F, BW, VL, VNNI).
fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn first_diff(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits())
}

/// The `k` of the sweep for `ty`: one to four 256-column blocks, and for 32-column types
/// also 32, 96 and 160.
fn ks(ty: GgmlType) -> Vec<usize> {
    let mut ks = vec![256, 512, 768, 1024];
    if ty.block_size() == 32 {
        ks.extend([32, 96, 160]);
    }
    ks
}

/// Every (type, W, x, m, n, k) case of the bit-for-bit sweep; x row 0 starts with an all-zero
/// block, and a wide case (n = 131, several tasks) closes each type.
fn for_each_case(mut f: impl FnMut(&str, GgmlType, &[u8], &[f32], usize, usize, usize)) {
    for ty in TYPES {
        let mut shapes: Vec<(usize, usize, &[usize])> =
            NS.iter().flat_map(|&n| ks(ty).into_iter().map(move |k| (n, k, &MS[..]))).collect();
        shapes.push((131, 512, &[1, 4, 17]));
        // Edge-value f16 fields: n = 29 rows, marked by k = 768.
        shapes.push((29, 768, &[1, 5]));
        for (n, k, ms) in shapes {
            let mut rng = Rng::new(seed(&[61, ty.id() as usize, n, k]));
            let mut w = random_blocks(ty, n * k / ty.block_size(), &mut rng);
            if (n, k) == (29, 768) {
                edge_scales(ty, &mut w, &mut rng);
            }
            for &m in ms {
                let mut x = rng.vec(m * k, -1.0, 1.0);
                x[..32].fill(0.0);
                f(&format!("{ty} m={m} n={n} k={k}"), ty, &w, &x, m, n, k);
            }
        }
    }
}

/// Sets every f16 field of `w` to one of the edge values of f16 → f32 widening.
fn edge_scales(ty: GgmlType, w: &mut [u8], rng: &mut Rng) {
    const EDGES: [u16; 10] = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x8400, 0x7bff, 0xfbff];
    for blk in w.chunks_exact_mut(ty.type_size()) {
        for &o in f16_fields(ty) {
            blk[o..o + 2].copy_from_slice(&EDGES[rng.below(EDGES.len())].to_le_bytes());
        }
    }
}

#[test]
fn gguf_q8_kernel_equals_ref_bit_for_bit() {
    for (isa, vnni) in [(Isa::Avx2Fma, true), (Isa::Avx2Fma, false), (Isa::Portable, false)] {
        let Some(be) = q8_backend(isa) else { continue };
        let be = be.with_vnni(vnni);
        let kernel = match (isa, vnni && has_vnni()) {
            (Isa::Avx2Fma, true) => "avx2+vnni",
            _ => isa.name(),
        };
        let mut cases = 0;
        for_each_case(|case, ty, w, x, m, n, k| {
            let mut want = vec![0f32; m * n];
            matmul_gguf_q8_ref(x, m, k, ty, w, n, &mut want);
            let mut got = vec![f32::NAN; m * n];
            be.matmul_gguf(x, m, k, ty, w, n, &mut got).unwrap();
            if let Some(d) = first_diff(&got, &want) {
                panic!("{kernel} {case}: first differing output {d}: got {} want {}", got[d], want[d]);
            }
            cases += 1;
        });
        eprintln!(
            "cpu-q8 {kernel} matmul_gguf: {cases} cases over {} types bit-identical to matmul_gguf_q8_ref",
            TYPES.len()
        );
    }
}

/// 1 and 3 rayon threads give the same bits (rows split differently).
#[test]
fn gguf_q8_same_bits_for_any_thread_count() {
    let Some(be) = q8_backend(Isa::detect()) else { return };
    for ty in TYPES {
        let (n, k) = (389, 512);
        let mut rng = Rng::new(seed(&[67, ty.id() as usize]));
        let w = random_blocks(ty, n * k / ty.block_size(), &mut rng);
        for m in [1, 5, 40] {
            let x = rng.vec(m * k, -1.0, 1.0);
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut y = vec![0f32; m * n];
                pool.install(|| be.matmul_gguf(&x, m, k, ty, &w, n, &mut y).unwrap());
                y
            };
            assert!(first_diff(&run(1), &run(3)).is_none(), "{ty} m={m}: 1 vs 3 threads differ");
        }
    }
}

/// Flipping one code of W changes the kernel's output: the bit-for-bit sweep would catch a
/// kernel that read a code wrong. The flipped bit is bit 0 of the block's last byte (a code
/// byte of every type but Q6_K, whose last bytes are `d`: there the first, a low-nibble byte).
#[test]
fn gguf_q8_flipped_code_changes_the_bits() {
    let Some(be) = q8_backend(Isa::detect()) else { return };
    for ty in TYPES {
        let (m, n, k) = (3, 13, 512);
        let mut rng = Rng::new(seed(&[71, ty.id() as usize]));
        let w = random_blocks(ty, n * k / ty.block_size(), &mut rng);
        let x = rng.vec(m * k, -1.0, 1.0);
        let mut want = vec![0f32; m * n];
        matmul_gguf_q8_ref(&x, m, k, ty, &w, n, &mut want);
        // Row 5, its second block.
        let row_bytes = k / ty.block_size() * ty.type_size();
        let blk = 5 * row_bytes + ty.type_size();
        let at = if ty == GgmlType::Q6K { blk } else { blk + ty.type_size() - 1 };
        let mut flipped = w.clone();
        flipped[at] ^= 1;
        let mut got = vec![0f32; m * n];
        be.matmul_gguf(&x, m, k, ty, &flipped, n, &mut got).unwrap();
        let changed: Vec<usize> = (0..m * n).filter(|&o| got[o].to_bits() != want[o].to_bits()).collect();
        assert!(!changed.is_empty(), "{ty}: a flipped code left every output's bits unchanged");
        assert!(changed.iter().all(|o| o % n == 5), "{ty}: outputs outside row 5 changed: {changed:?}");
        let mut want_flipped = vec![0f32; m * n];
        matmul_gguf_q8_ref(&x, m, k, ty, &flipped, n, &mut want_flipped);
        assert!(first_diff(&got, &want_flipped).is_none(), "{ty}: kernel and reference disagree on the flipped W");
    }
    eprintln!("cpu-q8 matmul_gguf: one flipped code changes the bits of its row for all {} types", TYPES.len());
}

/// `y64[i, j] = Σ_t f64(xq·dx) · f64(w)` with `quant`'s decoder, and the scale `S[i, j]`.
fn f64_of_dequantized(x: &[f32], m: usize, k: usize, ty: GgmlType, w: &[u8], n: usize) -> (Vec<f64>, Vec<f64>) {
    let (xq, dx) = quantize_rows_q8_ref(x, m, k);
    let xh: Vec<f64> = xq.iter().enumerate().map(|(c, &q)| f64::from(q) * f64::from(dx[c / 32])).collect();
    let row_bytes = w.len() / n;
    let mut row = vec![0f32; k];
    let (mut y, mut s) = (vec![0f64; m * n], vec![0f64; m * n]);
    for j in 0..n {
        dequantize_row(ty, &w[j * row_bytes..(j + 1) * row_bytes], &mut row).unwrap();
        let bmax: Vec<f64> =
            row.chunks_exact(32).map(|b| b.iter().fold(0f64, |a, &v| a.max(f64::from(v).abs()))).collect();
        for i in 0..m {
            let xi = &xh[i * k..(i + 1) * k];
            y[i * n + j] = xi.iter().zip(&row).map(|(&a, &b)| a * f64::from(b)).sum();
            s[i * n + j] = xi.iter().enumerate().map(|(c, &a)| a.abs() * bmax[c / 32]).sum();
        }
    }
    (y, s)
}

#[test]
fn gguf_q8_ref_equals_f64_of_dequantized() {
    let eps = f64::from(f32::EPSILON) / 2.0;
    for ty in TYPES {
        let (mut worst, mut worst_eps) = (0f64, 0f64);
        for &(n, k) in &[(13, 256), (37, 1024), (5, 2560)] {
            let mut rng = Rng::new(seed(&[73, ty.id() as usize, n, k]));
            let w = random_blocks(ty, n * k / ty.block_size(), &mut rng);
            for m in [1, 3] {
                let x = rng.vec(m * k, -1.0, 1.0);
                let mut got = vec![0f32; m * n];
                matmul_gguf_q8_ref(&x, m, k, ty, &w, n, &mut got);
                let (want, scale) = f64_of_dequantized(&x, m, k, ty, &w, n);
                let nb = (k / 32) as f64;
                for o in 0..m * n {
                    let ratio = (f64::from(got[o]) - want[o]).abs() / (eps * scale[o]);
                    assert!(
                        ratio <= nb + 8.0,
                        "{ty} m={m} n={n} k={k} output {o}: |{} - {}| = {ratio:.1} ε·S > ({nb} + 8) ε·S",
                        got[o],
                        want[o]
                    );
                    worst = worst.max(ratio / (nb + 8.0));
                    worst_eps = worst_eps.max(ratio);
                }
            }
        }
        eprintln!(
            "matmul_gguf_q8_ref {ty} vs f64 of the dequantized operands: worst |Δy| = {worst_eps:.2} ε·S, {worst:.3} of the bound (nb + 8)·ε·S"
        );
    }
}

/// Activation-like x: Gaussian (sum of four uniforms), three outlier columns 20x.
fn activations(rng: &mut Rng, m: usize, k: usize) -> Vec<f32> {
    (0..m * k)
        .map(|c| {
            let g: f32 = (0..4).map(|_| rng.uniform(-1.0, 1.0)).sum::<f32>() * 0.866;
            if [7, k / 3, k - 5].contains(&(c % k)) {
                20.0 * g
            } else {
                g
            }
        })
        .collect()
}

#[test]
fn gguf_q8_ref_within_int8_rounding_of_f32() {
    for ty in TYPES {
        let (mut err, mut energy, mut pred) = (0f64, 0f64, 0f64);
        for &(n, k) in &[(64, 1536), (33, 2048)] {
            let m = 4;
            let mut rng = Rng::new(seed(&[79, ty.id() as usize, n, k]));
            let w = random_blocks(ty, n * k / ty.block_size(), &mut rng);
            let x = activations(&mut rng, m, k);
            let (mut want, mut got) = (vec![0f32; m * n], vec![0f32; m * n]);
            matmul_gguf_ref(&x, m, k, ty, &w, n, &mut want);
            matmul_gguf_q8_ref(&x, m, k, ty, &w, n, &mut got);
            err += got.iter().zip(&want).map(|(&g, &r)| (f64::from(g) - f64::from(r)).powi(2)).sum::<f64>();
            energy += want.iter().map(|&r| f64::from(r).powi(2)).sum::<f64>();
            // Σ_ij Σ_t w_jt² · dx_it² / 12, dx = max|x| / 127 of x's block.
            let dx2: Vec<f64> = x
                .chunks_exact(32)
                .map(|b| (b.iter().fold(0f64, |a, &v| a.max(f64::from(v).abs())) / 127.0).powi(2))
                .collect();
            let row_bytes = w.len() / n;
            let mut row = vec![0f32; k];
            for j in 0..n {
                dequantize_row(ty, &w[j * row_bytes..(j + 1) * row_bytes], &mut row).unwrap();
                for i in 0..m {
                    pred += row
                        .iter()
                        .enumerate()
                        .map(|(c, &v)| f64::from(v).powi(2) * dx2[(i * k + c) / 32] / 12.0)
                        .sum::<f64>();
                }
            }
        }
        let (rel, rel_pred) = ((err / energy).sqrt(), (pred / energy).sqrt());
        eprintln!("matmul_gguf_q8_ref {ty} vs f32: ‖Δy‖/‖y‖ = {rel:.3e}, predicted {rel_pred:.3e} (ratio {:.2}), cap {REL_CAP:.1e}", rel / rel_pred);
        assert!((0.5..=1.5).contains(&(rel / rel_pred)), "{ty}: relative error {rel:.3e} vs predicted {rel_pred:.3e}");
        assert!(rel <= REL_CAP, "{ty}: relative error {rel:.3e} > {REL_CAP:.1e}");
    }
}
