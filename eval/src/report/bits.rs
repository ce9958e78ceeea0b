//! Bits per weight of a configuration, read from the scheme its results record (the
//! checkpoint's quantization description, e.g. `compressed-tensors pack-quantized int4 g128
//! asym`, `GGUF blocks (Q4_1, Q6_K)`); no scheme means an unquantized checkpoint, 16 bits
//! (bf16). These are nominal weight bits (group scales not counted); a mixed GGUF counts its
//! lowest type. A description that names no width gives `None` (the report says "?").

/// Nominal bits per weight of `scheme` (`None` or empty: 16).
pub fn bits_per_weight(scheme: Option<&str>) -> Option<f64> {
    let s = match scheme.map(str::trim) {
        None | Some("") => return Some(16.0),
        Some(s) => s.to_ascii_lowercase(),
    };
    let mut found: Vec<f64> = Vec::new();
    let bytes = s.as_bytes();
    let digits_at = |i: usize| -> Option<(f64, usize)> {
        let end = (i..bytes.len()).find(|&j| !bytes[j].is_ascii_digit()).unwrap_or(bytes.len());
        (end > i).then(|| (s[i..end].parse::<f64>().unwrap_or(0.0), end))
    };
    let word_start = |i: usize| i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &s[i..];
        let prefix = ["uint", "int", "iq", "w", "q"].into_iter().find(|p| rest.starts_with(p) && word_start(i));
        if let Some(p) = prefix {
            if let Some((b, end)) = digits_at(i + p.len()) {
                // `w4a16`, `int4`, `q4_1`, `q4_k`, `iq3_s`: the width right after the prefix.
                let tail_ok = end == bytes.len() || matches!(bytes[end], b'a' | b'_' | b' ' | b',' | b')' | b'-');
                if tail_ok && (1.0..=16.0).contains(&b) {
                    found.push(b);
                }
                i = end;
                continue;
            }
        }
        for (name, b) in [("nvfp4", 4.0), ("mxfp4", 4.0), ("fp8", 8.0), ("e4m3", 8.0), ("bf16", 16.0), ("f16", 16.0)] {
            if rest.starts_with(name) && word_start(i) {
                found.push(b);
            }
        }
        i += 1;
    }
    if found.is_empty() && (s.contains("dense") || s.contains("f32")) {
        return Some(16.0);
    }
    found.into_iter().reduce(f64::min)
}

#[cfg(test)]
mod tests {
    use super::bits_per_weight as b;

    #[test]
    fn report_bits_from_scheme_descriptions() {
        assert_eq!(b(None), Some(16.0));
        assert_eq!(b(Some("compressed-tensors pack-quantized int4 g128 asym")), Some(4.0));
        assert_eq!(
            b(Some("compressed-tensors int-quantized int8 per-channel sym, activations int8 per-token")),
            Some(8.0)
        );
        assert_eq!(b(Some("GGUF blocks (Q4_1, Q6_K)")), Some(4.0));
        assert_eq!(b(Some("GGUF blocks (Q8_0)")), Some(8.0));
        assert_eq!(b(Some("w3a16 g128")), Some(3.0));
        assert_eq!(b(Some("GGUF, dense")), Some(16.0));
        assert_eq!(b(Some("something else")), None);
    }
}
