//! `kernels`: the Backend trait (TEMPORARY minimal version in main; replaced by the kernels
//! branch).
#![allow(missing_docs)]

pub enum DenseWeight<'a> {
    F32(&'a [f32]),
    BF16(&'a [half::bf16]),
    F16(&'a [half::f16]),
}

pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]);
}

pub struct Naive;
impl Backend for Naive {
    fn name(&self) -> &'static str {
        "naive"
    }
    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) {
        use rayon::prelude::*;
        let row = |j: usize| -> Vec<f32> {
            match &w {
                DenseWeight::F32(v) => v[j * k..(j + 1) * k].to_vec(),
                DenseWeight::BF16(v) => v[j * k..(j + 1) * k].iter().map(|x| x.to_f32()).collect(),
                DenseWeight::F16(v) => v[j * k..(j + 1) * k].iter().map(|x| x.to_f32()).collect(),
            }
        };
        let cols: Vec<Vec<f32>> = (0..n)
            .into_par_iter()
            .map(|j| {
                let wr = row(j);
                (0..m)
                    .map(|i| {
                        x[i * k..(i + 1) * k]
                            .iter()
                            .zip(&wr)
                            .map(|(a, b)| a * b)
                            .sum()
                    })
                    .collect()
            })
            .collect();
        for (j, c) in cols.iter().enumerate() {
            for i in 0..m {
                y[i * n + j] = c[i];
            }
        }
    }
}
pub fn cpu_backend() -> Box<dyn Backend> {
    Box::new(Naive)
}
