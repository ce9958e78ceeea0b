//! The `cpu-q8` path on every packed code width: int2, int3, int4 and int8 weights (and
//! act-order ones whose groups are a permutation of contiguous groups) with x quantized to
//! int8 per block of 32 columns and the products summed in integers
//! ([`matmul_packed_q8_ref`]). [`matmul_packed_q8`](crate::matmul_packed_q8) holds the int4
//! sweep with 16-bit scales; this module sweeps the widths.
//!
//! Cases: each width, sym and asym, groups of 32, 64, 128 and per-channel, `n` odd and not a
//! multiple of the 8- or 16-row tiles, `k / 32` odd (a lone last block) and even, `k` not a
//! multiple of the group, `m` in {1, 2, 3, 4, 5, 8, 16, 17, 64}; W from RTN of uniform values
//! (with f32 scales, and with f16 and bf16 ones for groups of 128) and W of uniformly random
//! codes and zero points (every code and zero, 0 and 255 included);
//! act-order weights with GPTQ's `g_idx` (a random permutation cut into groups), groups of 32,
//! 64 and 128. x uniform on [-1, 1], row 0 starting with an all-zero block.
//!
//! - The backend equals the reference bit for bit, with AVX2 and portable, plain and
//!   prepared (VNNI tiles where the CPU has AVX-512 VNNI, and with VNNI refused the act-order
//!   weights' AVX2 form), whatever the rayon thread count; one flipped code changes its row's
//!   bits.
//! - The reference against an independent f64 computation of the dequantized operands
//!   (`x̂ = xq · dx` from this file's own quantizer and column order, `ŵ = (code − z) · ws`
//!   from `quant`'s unpacked weight): per output `|y − y64| ≤ γ_{nb+1} · Σ_b |t_b|` where `t_b`
//!   is block `b`'s exact term and `γ_n = n·u / (1 − n·u)`, `u = 2⁻²⁴`: the reference rounds
//!   `dx · ws` and the product (two roundings per term) and adds `nb` terms in order
//!   (`γ_{nb−1}` of recursive summation), and `γ₂ + γ_{nb−1}(1 + γ₂) ≤ γ_{nb+1}`. The f64
//!   side's own error (`≤ k · 2⁻⁵³ · Σ|x̂ ŵ|`) is added.
//! - The reference against the exact f32 path [`matmul_packed_ref`] within the normalised MSE
//!   derived in [`matmul_packed_q8`](crate::matmul_packed_q8) (`1/(4·127²)` from x's rounding
//!   alone, whatever W is): aggregate under twice that, each case under 20×.
//! - Act-order weights whose groups are not such a permutation give the `cpu` backend's bits.

use crate::matmul_packed::act_order_weight;
use crate::util::{seed, Rng};
use kernels::ops::{act_order_perm, matmul_packed_q8_ref, matmul_packed_ref, q8_supported};
use kernels::{Backend, CpuBackend, Isa, MatmulVariant, WeightView};
use quant::pack::PackedWeight;
use quant::{
    quantize_rtn, Granularity, IntFormat, QuantizedParts, QuantizedWeight, RtnOptions, ScaleDtype, WeightFormat,
};

/// (n, k): `n` odd (one row, and none a multiple of 8 or 16), `k / 32` = 1, 3, 5, 8, 13, 32.
const NKS: [(usize, usize); 6] = [(1, 32), (13, 96), (37, 160), (19, 256), (67, 416), (29, 1024)];
const GRANS: [Granularity; 4] =
    [Granularity::Group(32), Granularity::Group(64), Granularity::Group(128), Granularity::PerChannel];
const MS: [usize; 9] = [1, 2, 3, 4, 5, 8, 16, 17, 64];
const INTS: [IntFormat; 4] = [IntFormat::Int2, IntFormat::Int3, IntFormat::Int4, IntFormat::Int8];
/// Aggregate and per-case NMSE bounds against the exact path (see the module doc).
const Q8_NMSE: f64 = 2.0 / (4.0 * 127.0 * 127.0);
const Q8_NMSE_CASE: f64 = 20.0 / (4.0 * 127.0 * 127.0);

fn q8_backend(isa: Isa) -> Option<CpuBackend> {
    if !isa.is_available() {
        eprintln!("SKIP cpu-q8 {}: not on this CPU", isa.name());
        return None;
    }
    Some(CpuBackend::with(MatmulVariant::default(), isa).unwrap().with_int8_activations(true))
}

fn first_diff(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits())
}

/// Random codes, zeros and f32 scales; `g_idx` from `perm` (GPTQ: column `perm[c]` is in group
/// `c / group_size`) when given.
fn random_weight(format: &WeightFormat, n: usize, k: usize, act_order: bool, rng: &mut Rng) -> PackedWeight {
    let (ng, gs) = (format.n_groups(k), format.group_size(k));
    let max = format.int().code_max() as usize + 1;
    let g_idx = act_order.then(|| {
        let mut perm: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        let mut g = vec![0u32; k];
        for (c, &col) in perm.iter().enumerate() {
            g[col] = (c / gs) as u32;
        }
        g
    });
    let q = QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: ScaleDtype::F32,
        n,
        k,
        codes: (0..n * k).map(|_| rng.below(max) as u8).collect(),
        scales: (0..n * ng).map(|_| rng.uniform(0.01, 0.1)).collect(),
        zeros: (!format.symmetric()).then(|| (0..n * ng).map(|_| rng.below(max) as u8).collect()),
        g_idx,
    })
    .unwrap();
    PackedWeight::pack(&q)
}

/// Every (weight, x, m) case (module doc): `f(case, w, x, m)`.
fn for_each_case(mut f: impl FnMut(&str, &PackedWeight, &[f32], usize)) {
    for int in INTS {
        for symmetric in [true, false] {
            for gran in GRANS {
                let format = WeightFormat::new(int, gran, symmetric).unwrap();
                for &(n, k) in &NKS {
                    let mut rng =
                        Rng::new(seed(&[83, int.bits() as usize, symmetric as usize, format.group_size(k), n, k]));
                    let rtn = rng.vec(n * k, -1.0, 1.0);
                    let rtn = PackedWeight::pack(&quantize_rtn(&rtn, n, k, &format, &RtnOptions::default()).unwrap());
                    let mut weights = vec![("rtn", rtn), ("codes", random_weight(&format, n, k, false, &mut rng))];
                    // 16-bit scales (kept as such in the VNNI tiles) on the group-128 weights.
                    if gran == Granularity::Group(128) {
                        for (kind, scale_dtype) in [("rtn-f16", ScaleDtype::F16), ("rtn-bf16", ScaleDtype::Bf16)] {
                            let opts = RtnOptions { scale_dtype, ..RtnOptions::default() };
                            let w = rng.vec(n * k, -1.0, 1.0);
                            weights.push((kind, PackedWeight::pack(&quantize_rtn(&w, n, k, &format, &opts).unwrap())));
                        }
                    }
                    // Per-channel act-order is one group: no g_idx.
                    if gran != Granularity::PerChannel && k > format.group_size(k) {
                        weights.push(("act-order", random_weight(&format, n, k, true, &mut rng)));
                    }
                    for (kind, w) in &weights {
                        assert!(q8_supported(w), "{} {kind} n={n} k={k}", format.label());
                        assert_eq!(w.g_idx().is_some(), *kind == "act-order");
                        for m in MS {
                            let mut x = rng.vec(m * k, -1.0, 1.0);
                            x[..32].fill(0.0);
                            f(&format!("{} {kind} m={m} n={n} k={k}", format.label()), w, &x, m);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn kernels_equal_q8_ref_bit_for_bit() {
    for (isa, vnni) in [(Isa::Avx2Fma, true), (Isa::Avx2Fma, false), (Isa::Portable, true)] {
        let Some(be) = q8_backend(isa) else { continue };
        let be = be.with_vnni(vnni);
        let (mut cases, mut prepared) = (0, 0);
        for_each_case(|case, w, x, m| {
            let mut want = vec![0f32; m * w.n()];
            matmul_packed_q8_ref(x, m, w, &mut want);
            let mut got = vec![f32::NAN; m * w.n()];
            be.matmul_packed(x, m, w, &mut got).unwrap();
            let d = first_diff(&got, &want);
            assert!(
                d.is_none(),
                "{} {case}: output {d:?}: got {} want {}",
                isa.name(),
                got[d.unwrap()],
                want[d.unwrap()]
            );
            cases += 1;
            if let Some(p) = be.prepare(WeightView::Packed(w)).unwrap() {
                got.fill(f32::NAN);
                be.matmul_prepared(x, m, p.as_ref(), &mut got).unwrap();
                let d = first_diff(&got, &want);
                assert!(d.is_none(), "{} prepared {case}: output {d:?}", isa.name());
                prepared += 1;
            }
        });
        eprintln!(
            "cpu-q8 {} (VNNI allowed: {vnni}) int2/3/4/8: {cases} cases bit-identical to matmul_packed_q8_ref, plain and {prepared} prepared",
            isa.name()
        );
    }
}

/// 1 and 3 rayon threads give the same bits.
#[test]
fn same_bits_for_any_thread_count() {
    let Some(be) = q8_backend(Isa::detect()) else { return };
    for int in INTS {
        let format = WeightFormat::new(int, Granularity::Group(128), false).unwrap();
        let (n, k) = (389, 512);
        let mut rng = Rng::new(seed(&[89, int.bits() as usize]));
        for w in [random_weight(&format, n, k, false, &mut rng), random_weight(&format, n, k, true, &mut rng)] {
            for m in [1, 5, 40] {
                let x = rng.vec(m * k, -1.0, 1.0);
                let run = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    let mut y = vec![0f32; m * n];
                    pool.install(|| be.matmul_packed(&x, m, &w, &mut y).unwrap());
                    y
                };
                assert!(first_diff(&run(1), &run(3)).is_none(), "{} m={m}: 1 vs 3 threads differ", format.label());
            }
        }
    }
}

/// Flipping one code (bit 0 of row 5's code at column 37, through `quant`'s unpacked form)
/// changes the bits of row 5's outputs and only those, on the plain and the prepared path:
/// the bit-for-bit comparison catches a kernel that reads one code wrong.
#[test]
fn flipped_code_changes_the_bits() {
    let Some(be) = q8_backend(Isa::detect()) else { return };
    for int in INTS {
        for act_order in [false, true] {
            let format = WeightFormat::new(int, Granularity::Group(64), true).unwrap();
            let (m, n, k) = (3, 13, 256);
            let mut rng = Rng::new(seed(&[97, int.bits() as usize, act_order as usize]));
            let w = random_weight(&format, n, k, act_order, &mut rng);
            let x = rng.vec(m * k, -1.0, 1.0);
            let mut want = vec![0f32; m * n];
            matmul_packed_q8_ref(&x, m, &w, &mut want);
            let mut parts = w.unpack().into_parts();
            parts.codes[5 * k + 37] ^= 1;
            let flipped = PackedWeight::pack(&QuantizedWeight::new(parts).unwrap());
            let mut got = vec![0f32; m * n];
            be.matmul_packed(&x, m, &flipped, &mut got).unwrap();
            let mut outs = vec![got.clone()];
            if let Some(p) = be.prepare(WeightView::Packed(&flipped)).unwrap() {
                be.matmul_prepared(&x, m, p.as_ref(), &mut got).unwrap();
                outs.push(got.clone());
            }
            for got in &outs {
                let changed: Vec<usize> = (0..m * n).filter(|&o| got[o].to_bits() != want[o].to_bits()).collect();
                let case = format!("{} act-order {act_order}", format.label());
                assert!(!changed.is_empty(), "{case}: a flipped code left every output's bits unchanged");
                assert!(changed.iter().all(|o| o % n == 5), "{case}: outputs outside row 5 changed: {changed:?}");
            }
        }
    }
    eprintln!("cpu-q8 packed: one flipped code changes its row's bits at int2/3/4/8, with and without act-order");
}

/// The column order of the integer path, computed here: columns sorted by group, stable.
fn own_perm(q: &QuantizedWeight) -> Vec<usize> {
    let mut cols: Vec<usize> = (0..q.k()).collect();
    cols.sort_by_key(|&c| q.group_of(c));
    cols
}

/// `(y64, bound)` per output (module doc).
fn f64_of_dequantized(x: &[f32], m: usize, w: &PackedWeight) -> (Vec<f64>, Vec<f64>) {
    let q = w.unpack();
    let (n, k, ng) = (q.n(), q.k(), q.n_groups());
    let nb = k / 32;
    let perm = own_perm(&q);
    // x̂ in the path's column order: blocks of 32 positions, d = max|x| / 127, q = round(x / d).
    let mut xh = vec![0f64; m * k];
    for i in 0..m {
        for b in 0..nb {
            let xs: Vec<f32> = (0..32).map(|t| x[i * k + perm[b * 32 + t]]).collect();
            let amax = xs.iter().fold(0f32, |a, v| a.max(v.abs()));
            let d = if amax > 0.0 { amax / 127.0 } else { 1.0 };
            for (t, v) in xs.iter().enumerate() {
                xh[i * k + b * 32 + t] = f64::from((v / d).round().clamp(-127.0, 127.0)) * f64::from(d);
            }
        }
    }
    let u = f64::powi(2.0, -24);
    let gamma = |c: f64| c * u / (1.0 - c * u);
    let (mut y, mut bound) = (vec![0f64; m * n], vec![0f64; m * n]);
    for j in 0..n {
        let wh: Vec<f64> = perm
            .iter()
            .map(|&c| {
                let g = q.group_of(c);
                let code = i32::from(q.codes()[j * k + c]) - i32::from(q.zero(j, g));
                f64::from(code) * f64::from(q.scales()[j * ng + g])
            })
            .collect();
        for i in 0..m {
            let (mut sum, mut abs_blocks, mut abs_terms) = (0f64, 0f64, 0f64);
            for b in 0..nb {
                let terms = (b * 32..(b + 1) * 32).map(|c| xh[i * k + c] * wh[c]);
                let t: f64 = terms.clone().sum();
                abs_terms += terms.map(f64::abs).sum::<f64>();
                sum += t;
                abs_blocks += t.abs();
            }
            y[i * n + j] = sum;
            bound[i * n + j] = gamma((nb + 1) as f64) * abs_blocks + k as f64 * f64::powi(2.0, -52) * abs_terms;
        }
    }
    (y, bound)
}

#[test]
fn q8_ref_equals_f64_of_dequantized_operands() {
    let (mut cases, mut worst) = (0, 0f64);
    for_each_case(|case, w, x, m| {
        let mut got = vec![0f32; m * w.n()];
        matmul_packed_q8_ref(x, m, w, &mut got);
        let (y64, bound) = f64_of_dequantized(x, m, w);
        for (o, ((&g, &y), &b)) in got.iter().zip(&y64).zip(&bound).enumerate() {
            let e = (f64::from(g) - y).abs();
            assert!(e <= b, "{case}: output {o}: ref {g} vs f64 {y}: |diff| {e:.3e} > bound {b:.3e}");
            if b > 0.0 {
                worst = worst.max(e / b);
            }
        }
        cases += 1;
    });
    eprintln!("matmul_packed_q8_ref vs f64 of the dequantized operands: {cases} cases within γ_(nb+1)·Σ|t_b| (worst {worst:.3} of the bound)");
}

/// `Σ_outputs Σ_k (x · w)²`: the expected output energy (see `matmul_packed_q8`).
fn product_energy(x: &[f32], m: usize, w: &PackedWeight) -> f64 {
    let k = w.k();
    let mut row = vec![0f32; k];
    let mut e = 0f64;
    for j in 0..w.n() {
        w.dequantize_row_ref(j, &mut row);
        for i in 0..m {
            e += x[i * k..(i + 1) * k]
                .iter()
                .zip(&row)
                .map(|(&a, &b)| (f64::from(a) * f64::from(b)).powi(2))
                .sum::<f64>();
        }
    }
    e
}

#[test]
fn q8_ref_within_int8_rounding_of_exact_path() {
    let (mut err_all, mut energy_all, mut worst, mut cases) = (0f64, 0f64, 0f64, 0);
    for_each_case(|case, w, x, m| {
        let mut want = vec![0f32; m * w.n()];
        matmul_packed_ref(x, m, w, &mut want);
        let mut got = vec![0f32; m * w.n()];
        matmul_packed_q8_ref(x, m, w, &mut got);
        let err: f64 = got.iter().zip(&want).map(|(&g, &r)| (f64::from(g) - f64::from(r)).powi(2)).sum();
        let energy = product_energy(x, m, w);
        let e = if energy == 0.0 { err } else { err / energy };
        assert!(e <= Q8_NMSE_CASE, "{case}: nmse {e:.3e} > {Q8_NMSE_CASE:.3e}");
        worst = worst.max(e);
        err_all += err;
        energy_all += energy;
        cases += 1;
    });
    let agg = err_all / energy_all;
    eprintln!("matmul_packed_q8_ref int2/3/4/8 vs exact: {cases} cases, aggregate nmse {agg:.3e} (bound {Q8_NMSE:.3e}), worst case {worst:.3e} (bound {Q8_NMSE_CASE:.3e})");
    assert!(agg <= Q8_NMSE, "aggregate nmse {agg:.3e} > {Q8_NMSE:.3e}");
    assert!(agg > 1e-7, "aggregate nmse {agg:.3e}: int8 rounding should show");
}

/// Act-order weights whose groups are not a permutation of contiguous groups (random `g_idx`)
/// are not served: exactly the `cpu` backend's bits.
#[test]
fn scattered_act_order_falls_back_to_f32_path() {
    for isa in [Isa::Avx2Fma, Isa::Portable] {
        let Some(be) = q8_backend(isa) else { continue };
        let plain = CpuBackend::with(MatmulVariant::default(), isa).unwrap();
        for int in INTS {
            let format = WeightFormat::new(int, Granularity::Group(32), false).unwrap();
            let mut rng = Rng::new(seed(&[101, int.bits() as usize]));
            let w = act_order_weight(&format, 37, 256, &mut rng);
            assert!(act_order_perm(&w).is_none() && !q8_supported(&w), "{}", format.label());
            for m in [1, 3, 17] {
                let x = rng.vec(m * w.k(), -1.0, 1.0);
                let (mut a, mut b) = (vec![0f32; m * w.n()], vec![0f32; m * w.n()]);
                be.matmul_packed(&x, m, &w, &mut a).unwrap();
                plain.matmul_packed(&x, m, &w, &mut b).unwrap();
                assert!(first_diff(&a, &b).is_none(), "{} {} m={m}", isa.name(), format.label());
            }
        }
    }
}
