//! The `cpu-q8` path ([`CpuBackend::with_int8_activations`]): int4 packed weights with x
//! quantized to int8 per block of 32 columns and the products summed in integers.
//!
//! - With AVX2 the kernel equals [`matmul_packed_q8_ref`] bit for bit (the integer block sums
//!   are exact and the f32 accumulation order is the reference's), for sym/asym, groups of 32,
//!   64, 128 and per-channel, ragged `n`, `k` a multiple of 32 but not of the group, `m` in
//!   {1, 2, 3, 17}, and an all-zero x block; without AVX2 the backend runs the reference.
//! - [`matmul_packed_q8_ref`] is within [`Q8_NMSE`] of the f32 [`matmul_packed_ref`]. The
//!   bound: x uniform on [-1, 1] has `E[x²] = 1/3`; a block's scale is `d = max|x| / 127 ≤
//!   1/127` and the rounding error of each value is about uniform on `±d/2`, variance `d²/12`,
//!   independent of W, so each output's error variance is `Σ w² · d²/12` against a signal
//!   `Σ w² / 3`: NMSE ≈ `d²/4 ≤ 1/(4·127²) = 1.55e-5` (the f32 rounding, ~1e-14, is
//!   negligible). The signal energy is taken as `Σ_outputs Σ_k (x·w)²`, its expectation, so
//!   that the chance cancellations of a few short dot products (k = 32) do not inflate the
//!   ratio. The sweep's aggregate NMSE (all cases) must stay under twice the estimate,
//!   [`Q8_NMSE`]; each single case, whose error over few outputs fluctuates, under
//!   [`Q8_NMSE_CASE`] (20×). A wrong nibble order, group, zero or scale gives NMSE of order
//!   1e-2 or more.
//! - Weights the integer path does not serve (act-order groups that are no permutation of
//!   contiguous groups, groups or `k` not multiples of 32) give exactly the default `cpu`
//!   backend's bits. The other code widths and act-order: `matmul_packed_q8_bits`.
//!
//! The backend is not in `backend_tests!` (main.rs): its int4 `matmul_packed` is an
//! approximation by design, so the 1e-10 packed bound does not apply; every other op is the
//! `cpu` backend's code. [`sweep_with_own_bound`] runs the packed conformance sweep for it.

use crate::matmul::MS;
use crate::matmul_packed::{act_order_weight, rtn_weight, BOUND, GRANULARITIES, NKS};
use crate::util::{check, seed, Rng};
use kernels::ops::{matmul_packed_q8_ref, matmul_packed_ref, q8_supported};
use kernels::{Backend, CpuBackend, Isa, MatmulVariant, WeightView};
use quant::pack::PackedWeight;
use quant::{quantize_rtn, Granularity, IntFormat, RtnOptions, ScaleDtype, WeightFormat};

/// Aggregate NMSE bound of the int8-activation reference against f32 (see the module doc).
const Q8_NMSE: f64 = 2.0 / (4.0 * 127.0 * 127.0);
/// Per-case NMSE bound.
const Q8_NMSE_CASE: f64 = 20.0 / (4.0 * 127.0 * 127.0);

/// (n, k), `k` a multiple of 32: ragged `n`; 96, 160, 416 are not multiples of 64 or 128.
const Q8_NKS: [(usize, usize); 7] = [(1, 32), (13, 96), (97, 160), (131, 416), (8, 64), (67, 1024), (300, 1536)];
const Q8_GRANS: [Granularity; 4] =
    [Granularity::Group(32), Granularity::Group(64), Granularity::Group(128), Granularity::PerChannel];
const Q8_MS: [usize; 4] = [1, 2, 3, 17];

fn q8_backend(isa: Isa) -> Option<CpuBackend> {
    if !isa.is_available() {
        eprintln!("SKIP cpu-q8 {}: not on this CPU", isa.name());
        return None;
    }
    Some(CpuBackend::with(MatmulVariant::default(), isa).unwrap().with_int8_activations(true))
}

fn same_bits(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits())
}

/// Every (weight, x, m) case of the int8 sweep; x row 0 starts with an all-zero block. Scales
/// are f32, and (for the prepared tiles, which keep 16-bit scales as such) f16 and bf16 on
/// the symmetric and asymmetric group-128 weights.
fn for_each_case(mut f: impl FnMut(&str, &PackedWeight, &[f32], usize)) {
    for symmetric in [true, false] {
        for gran in Q8_GRANS {
            let format = WeightFormat::new(IntFormat::Int4, gran, symmetric).unwrap();
            let dtypes: &[ScaleDtype] = if gran == Granularity::Group(128) {
                &[ScaleDtype::F32, ScaleDtype::F16, ScaleDtype::Bf16]
            } else {
                &[ScaleDtype::F32]
            };
            for &scale_dtype in dtypes {
                for &(n, k) in &Q8_NKS {
                    let mut rng = Rng::new(seed(&[41, symmetric as usize, format.group_size(k), n, k]));
                    let w = rng.vec(n * k, -1.0, 1.0);
                    let opts = RtnOptions { scale_dtype, ..RtnOptions::default() };
                    let w = PackedWeight::pack(&quantize_rtn(&w, n, k, &format, &opts).unwrap());
                    assert!(q8_supported(&w), "{} n={n} k={k}", format.label());
                    for m in Q8_MS {
                        let mut x = rng.vec(m * k, -1.0, 1.0);
                        x[..32].fill(0.0);
                        f(&format!("{} {} m={m} n={n} k={k}", format.label(), scale_dtype.name()), &w, &x, m);
                    }
                }
            }
        }
    }
}

#[test]
fn kernel_equals_q8_ref_bit_for_bit() {
    for isa in [Isa::Avx2Fma, Isa::Portable] {
        let Some(be) = q8_backend(isa) else { continue };
        assert_eq!(be.name(), "cpu-q8");
        let mut cases = 0;
        for_each_case(|case, w, x, m| {
            let mut want = vec![0f32; m * w.n()];
            matmul_packed_q8_ref(x, m, w, &mut want);
            let mut got = vec![f32::NAN; m * w.n()];
            be.matmul_packed(x, m, w, &mut got).unwrap();
            let d = same_bits(&got, &want);
            assert!(
                d.is_none(),
                "{} {case}: first differing output {d:?}: got {} want {}",
                isa.name(),
                got[d.unwrap()],
                want[d.unwrap()]
            );
            cases += 1;
        });
        eprintln!("cpu-q8 {}: {cases} cases bit-identical to matmul_packed_q8_ref", isa.name());
    }
}

/// On a CPU with AVX-512 VNNI, `cpu-q8` prepares every int4 weight its integer path serves
/// (16-row interleaved tiles, `vpdpbusd`), and `matmul_prepared` equals
/// [`matmul_packed_q8_ref`] bit for bit over the whole sweep (ragged `n`: tiles of 16 padded);
/// without VNNI it prepares nothing, and with the portable ISA never.
#[test]
fn prepared_vnni_equals_q8_ref_bit_for_bit() {
    #[cfg(target_arch = "x86_64")]
    let vnni = std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni");
    #[cfg(not(target_arch = "x86_64"))]
    let vnni = false;
    for isa in [Isa::Avx2Fma, Isa::Portable] {
        let Some(be) = q8_backend(isa) else { continue };
        let (mut cases, mut prepared) = (0, 0);
        for_each_case(|case, w, x, m| {
            cases += 1;
            let Some(p) = be.prepare(WeightView::Packed(w)).unwrap() else { return };
            prepared += 1;
            assert_eq!(p.shape(), [w.n(), w.k()]);
            let mut want = vec![0f32; m * w.n()];
            matmul_packed_q8_ref(x, m, w, &mut want);
            let mut got = vec![f32::NAN; m * w.n()];
            be.matmul_prepared(x, m, p.as_ref(), &mut got).unwrap();
            let d = same_bits(&got, &want);
            assert!(d.is_none(), "prepared {case}: first differing output {d:?}: got {got:?} want {want:?}");
            // Wrong lengths are errors.
            assert!(be.matmul_prepared(&x[1..], m, p.as_ref(), &mut got).is_err());
        });
        let expect = if vnni && isa == Isa::Avx2Fma { cases } else { 0 };
        assert_eq!(prepared, expect, "cpu-q8 {}: prepared {prepared} of {cases} weights", isa.name());
        eprintln!("cpu-q8 {} (VNNI {vnni}): {prepared} of {cases} prepared cases bit-identical", isa.name());
    }
}

/// `Σ_outputs Σ_k (x[i, k] · w[j, k])²`: the energy of the products, the expected output
/// energy for independent x without the chance cancellations of a few short dot products.
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
fn q8_ref_within_int8_rounding_of_f32() {
    let (mut err_all, mut energy_all, mut worst) = (0f64, 0f64, 0f64);
    for_each_case(|case, w, x, m| {
        let mut want = vec![0f32; m * w.n()];
        matmul_packed_ref(x, m, w, &mut want);
        let mut got = vec![0f32; m * w.n()];
        matmul_packed_q8_ref(x, m, w, &mut got);
        assert!(got.iter().all(|v| v.is_finite()), "{case}: non-finite output");
        let err: f64 = got.iter().zip(&want).map(|(&g, &r)| (f64::from(g) - f64::from(r)).powi(2)).sum();
        let energy = product_energy(x, m, w);
        // x all zero (k = 32, m = 1): both are exactly 0.
        let e = if energy == 0.0 { err } else { err / energy };
        assert!(e <= Q8_NMSE_CASE, "matmul_packed_q8_ref {case}: nmse {e:.3e} > {Q8_NMSE_CASE:.3e}");
        worst = worst.max(e);
        err_all += err;
        energy_all += energy;
    });
    let agg = err_all / energy_all;
    eprintln!("matmul_packed_q8_ref vs f32: aggregate nmse {agg:.3e} (bound {Q8_NMSE:.3e}), worst case {worst:.3e}");
    assert!(agg <= Q8_NMSE, "aggregate nmse {agg:.3e} > {Q8_NMSE:.3e}");
    // The approximation is real (x is rounded), not the f32 path by accident.
    assert!(agg > 1e-7, "aggregate nmse {agg:.3e}: int8 rounding should show");
}

/// Weights outside the integer path: exactly the default `cpu` backend.
#[test]
fn unsupported_weights_fall_back_to_f32_path() {
    for isa in [Isa::Avx2Fma, Isa::Portable] {
        let Some(be) = q8_backend(isa) else { continue };
        let plain = CpuBackend::with(MatmulVariant::default(), isa).unwrap();
        let mut rng = Rng::new(seed(&[43]));
        let fmt = |int, gran, sym| WeightFormat::new(int, gran, sym).unwrap();
        let weights = [
            act_order_weight(&fmt(IntFormat::Int4, Granularity::Group(32), true), 37, 128, &mut rng),
            rtn_weight(&fmt(IntFormat::Int3, Granularity::Group(40), false), 37, 160, &mut rng),
            rtn_weight(&fmt(IntFormat::Int8, Granularity::PerChannel, true), 37, 100, &mut rng),
            rtn_weight(&fmt(IntFormat::Int4, Granularity::Group(40), true), 37, 160, &mut rng),
            rtn_weight(&fmt(IntFormat::Int4, Granularity::Group(32), false), 37, 100, &mut rng),
        ];
        for w in &weights {
            assert!(!q8_supported(w));
            for m in [1, 3, 17] {
                let x = rng.vec(m * w.k(), -1.0, 1.0);
                let (mut a, mut b) = (vec![0f32; m * w.n()], vec![0f32; m * w.n()]);
                be.matmul_packed(&x, m, w, &mut a).unwrap();
                plain.matmul_packed(&x, m, w, &mut b).unwrap();
                assert!(same_bits(&a, &b).is_none(), "{} {} m={m} k={}", isa.name(), w.format().label(), w.k());
            }
        }
    }
}

/// The packed conformance sweep (every int format, sym/asym, groups 32/40/per-channel, the
/// packed `NKS`, every `m`) on `cpu-q8`: weights the integer path serves within
/// [`Q8_NMSE_CASE`] of the f32 reference, the rest within the usual packed [`BOUND`].
#[test]
fn sweep_with_own_bound() {
    let be = kernels::backend_by_name("cpu-q8").unwrap();
    assert_eq!(be.name(), "cpu-q8");
    for int in IntFormat::ALL {
        for symmetric in [true, false] {
            for gran in GRANULARITIES {
                let format = WeightFormat::new(int, gran, symmetric).unwrap();
                for &(n, k) in NKS.iter().chain(&[(40, 320), (9, 64)]) {
                    let mut rng = Rng::new(seed(&[47, int.bits() as usize, symmetric as usize, n, k]));
                    let w = rtn_weight(&format, n, k, &mut rng);
                    let bound = if q8_supported(&w) { Q8_NMSE_CASE } else { BOUND };
                    for &m in &MS {
                        let x = rng.vec(m * k, -1.0, 1.0);
                        let mut want = vec![0f32; m * n];
                        matmul_packed_ref(&x, m, &w, &mut want);
                        let mut got = vec![f32::NAN; m * n];
                        be.matmul_packed(&x, m, &w, &mut got).unwrap();
                        check(&format!("cpu-q8 {} m={m} n={n} k={k}", format.label()), &got, &want, bound);
                    }
                }
            }
        }
    }
}
