//! CPU-specific promise: for one instruction set, every matmul variant and every `m` gives the
//! same bits per output (the fixed per-output summation order of the tile microkernel), so a
//! prefill row equals the decode result for that row. (m = 37 takes v3's panel path, whose
//! threshold is 32, and leaves an edge tile of one row.)

use crate::matmul::{Dtype, Weight};
use crate::util::{seed, Rng};
use kernels::{Backend, CpuBackend, Isa, MatmulVariant};

fn same_bits(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x.to_bits() != y.to_bits())
}

#[test]
fn variants_and_m_agree_bit_for_bit() {
    for isa in [Isa::Avx2Fma, Isa::Portable] {
        if !isa.is_available() {
            eprintln!("SKIP {}: not on this CPU", isa.name());
            continue;
        }
        for (n, k) in [(131, 97), (389, 1003), (64, 576)] {
            let m = 37;
            let mut rng = Rng::new(seed(&[n, k]));
            let x = rng.vec(m * k, -1.0, 1.0);
            let w = Weight::random(Dtype::Bf16, n * k, &mut rng);
            let mut first: Option<Vec<f32>> = None;
            for variant in MatmulVariant::ALL {
                let be = CpuBackend::with(variant, isa).unwrap();
                let mut y = vec![0f32; m * n];
                be.matmul(&x, m, k, w.view(), n, &mut y).unwrap();
                // Each row alone (m = 1, the GEMV path) and rows 0..3 (an edge tile).
                for i in 0..m {
                    let mut yi = vec![0f32; n];
                    be.matmul(&x[i * k..(i + 1) * k], 1, k, w.view(), n, &mut yi).unwrap();
                    let d = same_bits(&yi, &y[i * n..(i + 1) * n]);
                    assert!(d.is_none(), "{isa:?} {variant:?} n={n} k={k} row {i}: {d:?}");
                }
                let mut y2 = vec![0f32; 2 * n];
                be.matmul(&x[..2 * k], 2, k, w.view(), n, &mut y2).unwrap();
                assert!(same_bits(&y2, &y[..2 * n]).is_none(), "{variant:?} m=2");
                match &first {
                    None => first = Some(y),
                    Some(f) => {
                        let d = same_bits(f, &y);
                        assert!(d.is_none(), "{isa:?} {variant:?} vs v1 n={n} k={k}: {d:?}");
                    }
                }
            }
        }
    }
}

/// The dequantize-in-the-loop kernels decode exactly the reference values and sweep them with
/// the dense tiles, so they equal the dense `f32` matmul of the dequantized weight bit for bit
/// (what lets a packed model reproduce its dequantized twin exactly), for every `m`.
#[test]
fn quantized_equal_dense_f32_of_dequantized_weight() {
    use crate::matmul_gguf::{random_blocks, TYPES};
    use crate::matmul_packed::rtn_weight;
    use kernels::DenseWeight;
    use quant::{Granularity, IntFormat, WeightFormat};
    for isa in [Isa::Avx2Fma, Isa::Portable] {
        if !isa.is_available() {
            eprintln!("SKIP {}: not on this CPU", isa.name());
            continue;
        }
        let be = CpuBackend::with(MatmulVariant::default(), isa).unwrap();
        for m in [1, 5, 40] {
            for ty in TYPES {
                let (n, k) = (37, 3 * 256);
                let mut rng = Rng::new(seed(&[m, ty.id() as usize]));
                let w = random_blocks(ty, n * k / ty.block_size(), &mut rng);
                let mut dense = vec![0f32; n * k];
                quant::gguf::dequant::dequantize(ty, &w, &mut dense).unwrap();
                let x = rng.vec(m * k, -1.0, 1.0);
                let (mut a, mut b) = (vec![0f32; m * n], vec![0f32; m * n]);
                be.matmul_gguf(&x, m, k, ty, &w, n, &mut a).unwrap();
                be.matmul(&x, m, k, DenseWeight::F32(&dense), n, &mut b).unwrap();
                assert!(same_bits(&a, &b).is_none(), "{isa:?} {ty} m={m}: {:?}", same_bits(&a, &b));
            }
            for int in IntFormat::ALL {
                let (n, k) = (41, 1003);
                let format = WeightFormat::new(int, Granularity::Group(32), false).unwrap();
                let mut rng = Rng::new(seed(&[m, int.bits() as usize]));
                let w = rtn_weight(&format, n, k, &mut rng);
                let dense = w.unpack().dequantize();
                let x = rng.vec(m * k, -1.0, 1.0);
                let (mut a, mut b) = (vec![0f32; m * n], vec![0f32; m * n]);
                be.matmul_packed(&x, m, &w, &mut a).unwrap();
                be.matmul(&x, m, k, DenseWeight::F32(&dense), n, &mut b).unwrap();
                assert!(same_bits(&a, &b).is_none(), "{isa:?} {} m={m}: {:?}", int.name(), same_bits(&a, &b));
            }
        }
    }
}
