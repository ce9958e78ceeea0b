//! The paper's finding for a configuration ("Quantization Hurts Reasoning?", Liu et al. 2025,
//! Table 1, R1-Distill-Qwen-1.5B column: average accuracy change against BF16 over five
//! benchmarks, mean of three seeds; shared/STUDY.md) and whether a measured difference agrees
//! with it in direction and rough size.
//!
//! Sizes are compared in bands of accuracy points: *gain* (above +3), *near-lossless* (within
//! ±3), *moderate drop* (-3 to -15) and *large drop* (below -15). A measurement agrees when its
//! point estimate lies in the paper's band, disagrees when its whole 95% interval lies outside
//! that band, and is inconclusive otherwise (the interval is too wide at this n to tell). When
//! the base's own accuracy is below the size of the paper's drop, the drop cannot show in full:
//! then only the direction is judged (a drop whose interval excludes 0 agrees in direction).

/// What a configuration quantizes, as the paper's table distinguishes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Descriptor {
    /// The quantization method (`rtn`, `gptq`, `awq`, `smoothquant`, `smoothquant+gptq`,
    /// `quarot`, `quarot+gptq`), or `base` for the unquantized model.
    pub method: String,
    /// Weight bits, if the weights are quantized.
    pub weight_bits: Option<u32>,
    /// Activation bits, if the activations are quantized.
    pub act_bits: Option<u32>,
    /// KV-cache bits, if the cache is quantized.
    pub kv_bits: Option<u32>,
    /// Whether the KV cache is QuaRot-KV (rotated per head, per-token groups) rather than
    /// KVQuant-style (per-channel keys).
    pub kv_rotated: bool,
    /// Whether a KVQuant-style cache has calibrated per-channel key ranges (without them qtool
    /// falls back to per-token keys, which is not the paper's method).
    pub kv_calibrated: bool,
}

/// One cell of the paper's table.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperFinding {
    /// The table row and method, e.g. `W3 g128 AWQ`.
    pub label: &'static str,
    /// Average accuracy change against BF16, in points.
    pub delta: f64,
}

/// The paper's R1-Distill-Qwen-1.5B number for `d`, if its Table 1 has one.
pub fn finding(d: &Descriptor) -> Option<PaperFinding> {
    let f = |label, delta| Some(PaperFinding { label, delta });
    let m = d.method.as_str();
    match (d.weight_bits, d.act_bits, d.kv_bits) {
        (Some(w), None, None) => match (m, w) {
            ("awq", 4) => f("W4 g128 AWQ", -2.1),
            ("gptq", 4) => f("W4 g128 GPTQ", -2.4),
            ("awq", 3) => f("W3 g128 AWQ", -18.6),
            ("gptq", 3) => f("W3 g128 GPTQ", -7.6),
            _ => None,
        },
        (None, None, Some(kv)) => match (d.kv_rotated, kv) {
            (false, 4) if d.kv_calibrated => f("KV4 KVQuant*", -1.4),
            (false, 3) if d.kv_calibrated => f("KV3 KVQuant*", -12.3),
            (true, 4) if m.starts_with("quarot") => f("KV4 QuaRot-KV", -46.6),
            (true, 3) if m.starts_with("quarot") => f("KV3 QuaRot-KV", -44.4),
            _ => None,
        },
        (Some(8), Some(8), Some(8)) => match m {
            "smoothquant" | "smoothquant+gptq" => f("W8A8KV8 SmoothQuant", -3.9),
            "quarot" | "quarot+gptq" => f("W8A8KV8 QuaRot", -0.1),
            _ => None,
        },
        (Some(4), Some(4), Some(4)) if m.starts_with("quarot") => f("W4A4KV4 QuaRot", -46.2),
        _ => None,
    }
}

/// A band of accuracy change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// Above +3 points.
    Gain,
    /// Within ±3 points.
    NearLossless,
    /// From -3 to -15 points.
    ModerateDrop,
    /// Below -15 points.
    LargeDrop,
}

impl Band {
    /// The band of a change in points.
    pub fn of(points: f64) -> Band {
        if points > 3.0 {
            Band::Gain
        } else if points >= -3.0 {
            Band::NearLossless
        } else if points >= -15.0 {
            Band::ModerateDrop
        } else {
            Band::LargeDrop
        }
    }

    /// The band's range in points.
    fn range(self) -> (f64, f64) {
        match self {
            Band::Gain => (3.0, f64::INFINITY),
            Band::NearLossless => (-3.0, 3.0),
            Band::ModerateDrop => (-15.0, -3.0),
            Band::LargeDrop => (f64::NEG_INFINITY, -15.0),
        }
    }

    /// The band's name.
    pub fn name(self) -> &'static str {
        match self {
            Band::Gain => "gain",
            Band::NearLossless => "near-lossless",
            Band::ModerateDrop => "moderate drop",
            Band::LargeDrop => "large drop",
        }
    }
}

/// How a measurement compares with the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// The point estimate is in the paper's band.
    Agrees,
    /// The whole interval is outside the paper's band.
    Disagrees,
    /// The point estimate is elsewhere but the interval reaches the paper's band.
    Inconclusive,
    /// The base's accuracy is below the paper's drop; `true` when this run drops anyway (its
    /// interval below 0).
    Capped(bool),
}

impl Agreement {
    /// A short word for the table.
    pub fn word(self) -> &'static str {
        match self {
            Agreement::Agrees => "agrees",
            Agreement::Disagrees => "**disagrees**",
            Agreement::Inconclusive => "inconclusive at this n",
            Agreement::Capped(true) => "agrees in direction (the base's low accuracy caps the size)",
            Agreement::Capped(false) => "cannot tell (the base's low accuracy leaves no room for this drop)",
        }
    }
}

/// Compares a measured change (points, with its 95% interval when known) with the paper's, given
/// the base's accuracy in points.
pub fn compare(paper: f64, measured: f64, interval: Option<(f64, f64)>, base: f64) -> Agreement {
    let band = Band::of(paper);
    if paper < -3.0 && base < -paper {
        return Agreement::Capped(interval.is_some_and(|(_, hi)| hi < 0.0));
    }
    if Band::of(measured) == band {
        return Agreement::Agrees;
    }
    let (lo, hi) = band.range();
    match interval {
        Some((a, b)) if b >= lo && a <= hi => Agreement::Inconclusive,
        _ => Agreement::Disagrees,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(method: &str, w: Option<u32>, a: Option<u32>, kv: Option<u32>) -> Descriptor {
        Descriptor { method: method.into(), weight_bits: w, act_bits: a, kv_bits: kv, ..Descriptor::default() }
    }

    #[test]
    fn table_cells_by_method_and_bits() {
        assert_eq!(finding(&d("awq", Some(3), None, None)).unwrap().delta, -18.6);
        assert_eq!(finding(&d("gptq", Some(4), None, None)).unwrap().label, "W4 g128 GPTQ");
        assert!(finding(&d("rtn", Some(4), None, None)).is_none(), "RTN has no Table 1 row");
        assert!(finding(&d("base", None, None, None)).is_none());
        let kv = Descriptor { kv_calibrated: true, ..d("rtn", None, None, Some(4)) };
        assert_eq!(finding(&kv).unwrap().delta, -1.4);
        assert!(
            finding(&d("rtn", None, None, Some(4))).is_none(),
            "the uncalibrated per-token fallback is not KVQuant"
        );
        let kvr = Descriptor { kv_rotated: true, ..d("quarot", None, None, Some(3)) };
        assert_eq!(finding(&kvr).unwrap().delta, -44.4);
        assert_eq!(finding(&d("smoothquant+gptq", Some(8), Some(8), Some(8))).unwrap().delta, -3.9);
        let w4a4 = Descriptor { kv_rotated: true, ..d("quarot+gptq", Some(4), Some(4), Some(4)) };
        assert_eq!(finding(&w4a4).unwrap().label, "W4A4KV4 QuaRot");
    }

    #[test]
    fn agreement_by_band_and_interval() {
        assert_eq!(Band::of(-2.1), Band::NearLossless);
        assert_eq!(Band::of(-3.5), Band::ModerateDrop);
        assert_eq!(Band::of(-18.6), Band::LargeDrop);
        assert_eq!(Band::of(4.0), Band::Gain);
        assert_eq!(compare(-2.1, -1.0, Some((-4.0, 2.0)), 40.0), Agreement::Agrees);
        assert_eq!(compare(-18.6, -5.0, Some((-9.0, -1.0)), 40.0), Agreement::Disagrees);
        assert_eq!(compare(-18.6, -5.0, Some((-20.0, 3.0)), 40.0), Agreement::Inconclusive);
        assert_eq!(compare(-2.1, -33.3, None, 40.0), Agreement::Disagrees);
        // A base at 10% cannot lose 46.6 points: only the direction is judged.
        assert_eq!(compare(-46.6, -8.0, Some((-10.0, -2.0)), 10.0), Agreement::Capped(true));
        assert_eq!(compare(-46.6, 0.0, Some((0.0, 0.0)), 0.0), Agreement::Capped(false));
    }
}
