//! (b) A `Linear` holding a qtool `PackedWeight` (from `quantize_rtn`) gives what a dense
//! `Linear` holding the dequantized weights gives, for every integer format, symmetric and
//! asymmetric, groups and per-channel, with a bias and with activation quantization, at
//! decode and prefill sizes.

use model::linear::Linear;
use model::linear_weight::LinearWeight;
use model::weights::Tensor;
use quant::pack::PackedWeight;
use quant::{quantize_rtn, Granularity, IntFormat, RtnOptions, Scheme, WeightFormat};

use crate::tiny_llama::{rel_err, Rng};

#[test]
fn packed_linear_equals_dense_linear_of_dequantized_weights() {
    let be = kernels::cpu_backend();
    let (n, k) = (37, 200);
    let mut rng = Rng::new(11);
    let w = rng.vec(n * k, 0.1);
    let bias = rng.vec(n, 0.5);
    let act = Scheme::parse("w8a8").unwrap().act;
    for int in IntFormat::ALL {
        for symmetric in [true, false] {
            for gran in [Granularity::Group(32), Granularity::Group(64), Granularity::PerChannel] {
                let format = WeightFormat::new(int, gran, symmetric).unwrap();
                let q = quantize_rtn(&w, n, k, &format, &RtnOptions::default()).unwrap();
                for act in [None, act] {
                    let mut packed = Linear::new(LinearWeight::Packed(PackedWeight::pack(&q)), Some(bias.clone()));
                    let mut dense = Linear::new(
                        LinearWeight::Dense(Tensor::from_f32(vec![n, k], q.dequantize())),
                        Some(bias.clone()),
                    );
                    (packed.act, dense.act) = (act, act);
                    for m in [1, 3, 9] {
                        let x = rng.vec(m * k, 1.0);
                        let (mut yp, mut yd) = (vec![0f32; m * n], vec![0f32; m * n]);
                        packed.forward(&*be, &x, m, &mut yp).unwrap();
                        dense.forward(&*be, &x, m, &mut yd).unwrap();
                        let e = rel_err(&yp, &yd);
                        assert!(e <= 1e-6, "{} act {:?} m={m}: rel err {e}", format.label(), act.is_some());
                    }
                }
            }
        }
    }
}
