//! [`quantize_gptq`]: GPTQ on one Linear weight `W[n, k]`, given its Hessian `H[k, k]`.
//!
//! Steps (the reference `fasterquant`, in f64):
//! 1. dead inputs (`H[j, j] == 0`, never active in calibration): `H[j, j] = 1`, `W[:, j] = 0`;
//! 2. static groups: every (row, natural group) gets its parameters from this `W`;
//! 3. act-order: permute `W`'s columns and `H` by descending `diag(H)`;
//! 4. `U` = upper Cholesky factor of `(H + λI)⁻¹` ([`super::hinv`]);
//! 5. for each block `[i1, i2)`: every row sweeps the block ([`super::sweep`]), in parallel,
//!    recording its scaled errors `E[n, i2 - i1]`; then `W[:, i2..] -= E · U[i1..i2, i2..]`
//!    (one faer matrix product);
//! 6. codes back to natural column order; `g_idx` from the permutation (dynamic groups only).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::hessian::Hessian;
use super::hinv::inverse_cholesky_upper;
use super::options::{GptqOptions, GptqResult};
use super::order::{act_order_g_idx, act_order_perm, invert, permute_columns, permute_symmetric};
use super::sweep::{block_end, RowState, Sweep};
use crate::format::WeightFormat;
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::rtn::group_qparams;
use crate::QuantError;

/// Quantizes `w` (`[n, k]` row-major f32, out × in) to `format` with GPTQ, given the layer's
/// input Hessian. Groups run along k (the last one shorter when `g` does not divide `k`).
pub fn quantize_gptq(
    w: &[f32],
    n: usize,
    k: usize,
    hessian: &Hessian,
    format: &WeightFormat,
    opts: &GptqOptions,
) -> Result<GptqResult, QuantError> {
    format.validate()?;
    opts.validate()?;
    if n == 0 || k == 0 || w.len() != n * k {
        return Err(QuantError::BadInput { what: format!("{} weights for shape [{n}, {k}]", w.len()) });
    }
    if let Some(i) = w.iter().position(|x| !x.is_finite()) {
        return Err(QuantError::BadInput { what: format!("weight [{}, {}] is {}", i / k, i % k, w[i]) });
    }
    check_hessian(hessian, k, opts)?;
    let (g, ng) = (format.group_size(k), format.n_groups(k));

    // 1. Dead inputs.
    let mut h = hessian.matrix().to_vec();
    let mut wf: Vec<f64> = w.iter().map(|&x| x as f64).collect();
    let dead: Vec<usize> = (0..k).filter(|&j| h[j * k + j] == 0.0).collect();
    for &j in &dead {
        h[j * k + j] = 1.0;
        wf.iter_mut().skip(j).step_by(k).for_each(|x| *x = 0.0);
    }

    // 2. Static groups: [n, ng] parameters over natural column groups.
    let t_params = std::time::Instant::now();
    let mut scales = vec![0f32; n * ng];
    let mut zeros = vec![0u8; n * ng];
    if opts.static_groups {
        let search = opts.clip_search.as_ref();
        scales.par_chunks_mut(ng).zip(zeros.par_chunks_mut(ng)).zip(wf.par_chunks(k)).for_each(|((sc, ze), row)| {
            let mut buf = Vec::with_capacity(g);
            for gi in 0..ng {
                buf.clear();
                buf.extend(row[gi * g..((gi + 1) * g).min(k)].iter().map(|&x| x as f32));
                let qp = group_qparams(&buf, &format.spec, opts.scale_dtype, search);
                (sc[gi], ze[gi]) = (qp.scale, qp.zero);
            }
        });
    }

    let group_params_seconds = t_params.elapsed().as_secs_f64();

    // 3. Act-order.
    let perm: Option<Vec<usize>> =
        opts.act_order.then(|| act_order_perm(&(0..k).map(|j| h[j * k + j]).collect::<Vec<_>>()));
    if let Some(p) = &perm {
        wf = permute_columns(&wf, k, p);
        h = permute_symmetric(&h, k, p);
    }
    // Static groups: the natural group of the column at each sweep position.
    let static_groups: Option<Vec<usize>> =
        opts.static_groups.then(|| (0..k).map(|pos| perm.as_ref().map_or(pos, |p| p[pos]) / g).collect());

    // 4. Inverse Hessian factor.
    let t_chol = std::time::Instant::now();
    let (u, damp_used) = inverse_cholesky_upper(&h, k, hessian.nsamples(), opts)?;
    let cholesky_seconds = t_chol.elapsed().as_secs_f64();
    drop(h);

    // 5. Blocks.
    let sweep = Sweep {
        format,
        scale_dtype: opts.scale_dtype,
        clip_search: opts.clip_search.as_ref(),
        u: &u,
        k,
        g,
        static_groups: static_groups.as_deref(),
    };
    let t_sweep = std::time::Instant::now();
    let mut codes = vec![0u8; n * k];
    let mut row_loss = vec![0f64; n];
    let mut err = Vec::new();
    let mut i1 = 0;
    while i1 < k {
        let i2 = block_end(i1, opts.block_size, k, g, !opts.static_groups);
        let b = i2 - i1;
        err.clear();
        err.resize(n * b, 0.0);
        wf.par_chunks_mut(k)
            .zip(codes.par_chunks_mut(k))
            .zip(scales.par_chunks_mut(ng))
            .zip(zeros.par_chunks_mut(ng))
            .zip(err.par_chunks_mut(b))
            .zip(row_loss.par_iter_mut())
            .for_each(|(((((w, codes), scales), zeros), err), loss)| {
                *loss += sweep.row_block(i1, i2, RowState { w, codes, scales, zeros, err });
            });
        if i2 < k {
            // W[:, i2..] -= E[n, b] · U[i1..i2, i2..]
            let dst = MatMut::from_row_major_slice_mut(&mut wf, n, k).subcols_mut(i2, k - i2);
            let e = MatRef::from_row_major_slice(&err, n, b);
            let ub = MatRef::from_row_major_slice(&u, k, k).submatrix(i1, i2, b, k - i2);
            matmul(dst, Accum::Add, e, ub, -1.0, Par::rayon(0));
        }
        i1 = i2;
    }
    let sweep_seconds = t_sweep.elapsed().as_secs_f64();

    // 6. Natural order.
    let g_idx = match &perm {
        Some(p) => {
            let mut natural = vec![0u8; n * k];
            for (dst, src) in natural.chunks_mut(k).zip(codes.chunks(k)) {
                for (pos, &j) in p.iter().enumerate() {
                    dst[j] = src[pos];
                }
            }
            codes = natural;
            (!opts.static_groups).then(|| act_order_g_idx(&invert(p), g))
        }
        None => None,
    };
    let weight = QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: opts.scale_dtype,
        n,
        k,
        codes,
        scales,
        zeros: (!format.symmetric()).then_some(zeros),
        g_idx,
    })?;
    Ok(GptqResult {
        weight,
        loss: row_loss.iter().sum(),
        damp_used,
        cholesky_seconds,
        sweep_seconds,
        group_params_seconds,
    })
}

/// The Hessian fits `k`, has samples, and is finite.
fn check_hessian(hessian: &Hessian, k: usize, opts: &GptqOptions) -> Result<(), QuantError> {
    if hessian.k() != k {
        return Err(opts.error(format!("Hessian is {0}×{0} but the weight has k = {k} input features", hessian.k())));
    }
    if hessian.nsamples() == 0 {
        return Err(opts.error("Hessian has no samples: no calibration input reached this layer".into()));
    }
    if let Some(i) = hessian.matrix().iter().position(|v| !v.is_finite()) {
        return Err(opts.error(format!(
            "Hessian entry [{}, {}] is {}: the calibration activations overflowed or held NaN",
            i / k,
            i % k,
            hessian.matrix()[i]
        )));
    }
    Ok(())
}
