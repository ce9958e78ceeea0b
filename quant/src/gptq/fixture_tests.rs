//! qtool's GPTQ against an independent float64 numpy transcription of the algorithm
//! (`scripts/fixtures/gptq_reference.py`, which documents its conventions and wrote
//! `tests/fixtures/gptq/`): same weight and calibration inputs, eleven formats/option sets
//! (int4 g64/g128 sym/asym with and without act-order, static groups, int3, int8 per-channel).
//! Rows whose reference sweep met no rounding tie must match exactly (codes and zero points
//! equal, scales up to f32 rounding); over all rows at least 99% of codes must be equal (a tie
//! rounded the other way in f32 than in f64 flips a code and the rest of that row drifts);
//! `g_idx` exactly; the GPTQ loss and layer error `||XWᵀ - XQᵀ||²` within 1% of the reference's.

use std::path::PathBuf;

use super::tests::{layer_error, Layer};
use super::*;
use crate::format::{Granularity, IntFormat, ScaleDtype, WeightFormat};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/gptq")
}

fn read(name: &str) -> Vec<u8> {
    let p = dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn i32s(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn frac<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).filter(|(x, y)| same(x, y)).count() as f64 / a.len() as f64
}

#[test]
fn gptq_matches_numpy_reference_fixture() {
    let m: serde_json::Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let get = |key: &str| m[key].as_u64().unwrap() as usize;
    let (n, k, rows) = (get("n"), get("k"), get("rows"));
    let layer = Layer { n, k, rows, w: f32s(&read("weight.f32")), x: f32s(&read("x.f32")) };
    assert_eq!((layer.w.len(), layer.x.len()), (n * k, rows * k));
    let mut h = Hessian::new(k);
    for batch in layer.x.chunks(128 * k) {
        h.add_batch(batch).unwrap();
    }
    let configs = m["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 11);
    for c in configs {
        let name = c["name"].as_str().unwrap();
        let bits = c["bits"].as_u64().unwrap() as u32;
        let group = c["group_size"].as_u64().unwrap() as u32;
        let sym = c["sym"].as_bool().unwrap();
        let granularity = if group == 0 { Granularity::PerChannel } else { Granularity::Group(group) };
        let format = WeightFormat::new(IntFormat::from_bits(bits).unwrap(), granularity, sym).unwrap();
        let opts = GptqOptions {
            act_order: c["act_order"].as_bool().unwrap(),
            static_groups: c["static_groups"].as_bool().unwrap(),
            damp_percent: m["damp_percent"].as_f64().unwrap(),
            block_size: get("block_size"),
            scale_dtype: ScaleDtype::F32,
            layer: name.into(),
            ..GptqOptions::default()
        };
        let r = quantize_gptq(&layer.w, n, k, &h, &format, &opts).unwrap();
        let q = &r.weight;

        let ng = q.n_groups();
        let ref_codes = read(&format!("{name}.codes.u8"));
        let ref_scales = f64s(&read(&format!("{name}.scales.f64")));
        let ref_zeros = read(&format!("{name}.zeros.u8"));
        let first_tie = i32s(&read(&format!("{name}.first_tie.i32")));
        let codes = frac(q.codes(), &ref_codes, |a, b| a == b);
        // Rows whose reference sweep met no rounding tie: identical codes and zero points, scales
        // equal up to their f32 rounding.
        let tie_free: Vec<usize> = (0..n).filter(|&r| first_tie[r] < 0).collect();
        for &r in &tie_free {
            assert_eq!(&q.codes()[r * k..(r + 1) * k], &ref_codes[r * k..(r + 1) * k], "{name}: codes of row {r}");
            for gi in 0..ng {
                let (a, b) = (q.scales()[r * ng + gi] as f64, ref_scales[r * ng + gi]);
                assert!((a - b).abs() <= 1e-6 * b, "{name}: scale [{r}, {gi}] {a} vs {b}");
                assert_eq!(q.zero(r, gi), ref_zeros[r * ng + gi], "{name}: zero [{r}, {gi}]");
            }
        }
        let g_idx: Vec<u32> = (0..k).map(|j| q.group_of(j) as u32).collect();
        assert_eq!(g_idx, u32s(&read(&format!("{name}.g_idx.u32"))), "{name}: g_idx");

        let (ref_loss, ref_err) = (c["loss"].as_f64().unwrap(), c["layer_error"].as_f64().unwrap());
        let err = layer_error(&layer, &q.dequantize());
        println!(
            "{name:<26} codes {:6.2}% equal ({} of {n} rows tie-free, those identical)  loss {:.5e} (ref {ref_loss:.5e}, {:+.3}%)  \
             layer error {err:.5e} (ref {ref_err:.5e}, {:+.3}%)",
            100.0 * codes,
            tie_free.len(),
            r.loss,
            100.0 * (r.loss / ref_loss - 1.0),
            100.0 * (err / ref_err - 1.0)
        );
        assert!(codes >= 0.99, "{name}: {:.3}% of codes equal", 100.0 * codes);
        assert!((r.loss - ref_loss).abs() <= 0.01 * ref_loss, "{name}: loss {} vs {ref_loss}", r.loss);
        assert!((err - ref_err).abs() <= 0.01 * ref_err, "{name}: layer error {err} vs {ref_err}");
    }
}
