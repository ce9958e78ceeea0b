//! Tests of scheme names: presets, combinations, canonical names, overrides and rejections.

use super::*;
use crate::format::{IntFormat, SymScale};

fn parse(name: &str) -> Scheme {
    Scheme::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn err(name: &str) -> String {
    match Scheme::parse(name) {
        Ok(s) => panic!("'{name}' parsed as {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_preset_parses_to_its_own_name() {
    let all = list_presets();
    assert_eq!(all.len(), PRESET_NAMES.len());
    for (s, n) in all.iter().zip(PRESET_NAMES) {
        assert_eq!(s.name, n);
        assert_eq!(canonical_name(s).as_deref(), Some(n));
        assert!(s.describe().starts_with(&format!("{n}: ")));
    }
    assert!(parse("bf16").is_unquantized());
}

#[test]
fn every_combination_round_trips() {
    let mods = ["", "-g32", "-g64", "-g128", "-pc", "-sym", "-asym", "-g64-asym", "-pc-sym"];
    let kvs = ["", "-kv8", "-kv4", "-kv3", "-kv2"];
    let mut count = 0;
    for base in BASE_NAMES {
        for m in mods {
            if base == "bf16" && !m.is_empty() {
                continue;
            }
            for kv in kvs {
                let s = parse(&format!("{base}{m}{kv}"));
                assert_eq!(parse(&s.name), s, "{base}{m}{kv} -> {}", s.name);
                count += 1;
            }
        }
    }
    assert_eq!(count, 7 * 9 * 5 + 5);
}

#[test]
fn preset_formats_are_as_documented() {
    let w = parse("w4a16").weight.unwrap();
    assert_eq!((w.int(), w.granularity, w.symmetric()), (IntFormat::Int4, Granularity::Group(128), true));
    assert_eq!(w.spec.sym_scale, SymScale::HalfRange);
    let w = parse("w4a16-asym").weight.unwrap();
    assert_eq!((w.int(), w.granularity, w.symmetric()), (IntFormat::Int4, Granularity::Group(128), false));
    let w = parse("w3a16").weight.unwrap();
    assert_eq!((w.int(), w.granularity, w.symmetric()), (IntFormat::Int3, Granularity::Group(128), false));
    let w = parse("w2a16").weight.unwrap();
    assert_eq!((w.int(), w.granularity, w.symmetric()), (IntFormat::Int2, Granularity::Group(64), false));
    let s = parse("w8a8");
    let (w, a) = (s.weight.unwrap(), s.act.unwrap());
    assert_eq!((w.int(), w.granularity, w.symmetric()), (IntFormat::Int8, Granularity::PerChannel, true));
    assert_eq!(
        (a.spec.int, a.granularity, a.spec.symmetric, a.dynamic),
        (IntFormat::Int8, Granularity::PerToken, true, true)
    );
    assert_eq!(a.spec.sym_scale, SymScale::MaxCode);
    let a = parse("w4a4").act.unwrap();
    assert_eq!((a.spec.int, a.spec.symmetric, a.spec.clip_ratio), (IntFormat::Int4, false, 0.9));
    let s = parse("w4a16-kv4");
    let kv = s.kv.unwrap();
    assert_eq!(kv, KvFormat::kvquant(IntFormat::Int4));
    assert_eq!((kv.k.granularity, kv.k.spec.symmetric), (Granularity::PerChannel, false));
    assert_eq!((kv.v.granularity, kv.v.spec.symmetric), (Granularity::Group(128), false));
    let s = parse("kv3");
    assert!(s.weight.is_none() && s.act.is_none() && s.kv.unwrap().bits() == 3);
}

#[test]
fn names_are_normalized() {
    assert_eq!(parse("W4A16_ASYM").name, "w4a16-asym");
    assert_eq!(parse(" w8a8-KV8 ").name, "w8a8-kv8");
    assert_eq!(parse("bf16-kv4").name, "kv4");
    assert_eq!(parse("w4a16-asym-g64").name, "w4a16-g64-asym");
    assert_eq!(parse("w4a16-g128-sym").name, "w4a16");
    assert_eq!(parse("w8a16-g128").name, "w8a16-g128");
    assert_eq!(parse("w4a4-kv4").name, "w4a4-kv4");
}

#[test]
fn bad_names_are_rejected_clearly() {
    for n in ["", "w5a16", "fp8", "w4a16-foo", "w4a16--kv4"] {
        let e = err(n);
        assert!(e.contains("valid names are bf16, w8a16") && e.contains("-kv4"), "{n}: {e}");
    }
    for n in ["w4a16-g0", "w4a16-g12", "w4a16-g100"] {
        assert!(err(n).contains("positive multiple of 8"), "{n}");
    }
    assert!(err("w4a16-gx").contains("not a number"));
    assert!(err("w4a16-kv5").contains("kv8, kv4, kv3, kv2"));
    assert!(err("kv16").contains("kv8, kv4, kv3, kv2"));
    assert!(err("w4a16-kv4-kv8").contains("second time"));
    assert!(err("w4a16-asym-sym").contains("second time"));
    assert!(err("w4a16-g64-pc").contains("second time"));
    assert!(err("bf16-g64").contains("no group size"));
    assert!(err("kv4-asym").contains("no group size"));
    assert!(err("w4a16-g0").starts_with("quantization scheme 'w4a16-g0': "));
}

#[test]
fn overrides_apply_on_top() {
    let o = SchemeOverrides {
        granularity: Some(Granularity::Group(64)),
        symmetric: Some(false),
        kv: Some(IntFormat::Int8),
        ..Default::default()
    };
    let s = parse("w4a16").with_overrides(&o).unwrap();
    assert_eq!(s.name, "w4a16-g64-asym-kv8");
    assert_eq!(parse(&s.name), s);
    let bad = SchemeOverrides { granularity: Some(Granularity::Group(0)), ..Default::default() };
    assert!(parse("w4a16").with_overrides(&bad).unwrap_err().to_string().contains("multiple of 8"));
    let bad = SchemeOverrides { symmetric: Some(false), ..Default::default() };
    assert!(parse("bf16").with_overrides(&bad).is_err());
    let kv = SchemeOverrides { kv: Some(IntFormat::Int2), ..Default::default() };
    assert_eq!(parse("bf16").with_overrides(&kv).unwrap().name, "kv2");
    let mut custom = parse("w4a16");
    custom.kv = Some(KvFormat::quarot(IntFormat::Int4));
    assert_eq!(canonical_name(&custom).as_deref(), Some("w4a16-kvr4"));
    custom.kv = Some(KvFormat { v: KvFormat::kvquant(IntFormat::Int4).v, ..KvFormat::quarot(IntFormat::Int4) });
    assert_eq!(canonical_name(&custom), None);
}

#[test]
fn descriptions_state_the_formulas() {
    let d = parse("w4a16-kv4").describe();
    assert!(d.contains("groups of 128") && d.contains("max|w| / 7.5") && d.contains("codes -8..7 stored +8"), "{d}");
    assert!(d.contains("K int4 per channel") && d.contains("V int4 per token in groups of 128"), "{d}");
    assert!(
        d.contains("offset = 0 if min <= 0 <= max, else (min + max) / 2; over [min - offset, max - offset] asymmetric"),
        "{d}"
    );
    assert!(d.contains("k = offset + (code - zero) * scale") && !d.contains("k = (code - zero)"), "{d}");
    let d = parse("w8a8").describe();
    assert!(d.contains("max|x| / 127,") && d.contains("one scale per output channel"), "{d}");
    let d = parse("w3a16").describe();
    assert!(d.contains("(hi - lo) / 7, zero = round(-lo / scale)"), "{d}");
    let d = parse("w4a4").describe();
    assert!(d.contains("(both times the clip ratio 0.9)"), "{d}");
}

#[test]
fn quarot_kv_and_activation_clip_modifiers_round_trip() {
    // w4a4's activations already clip at 0.9 (the study's QuaRot setting).
    assert_eq!(parse("w4a4-aclip90-kvr4").name, "w4a4-kvr4");
    let s = parse("w4a4-aclip80-kvr4");
    assert_eq!(s.kv, Some(KvFormat::quarot(IntFormat::Int4)));
    assert_eq!(s.act.unwrap().spec.clip_ratio, 0.8);
    assert_eq!(s.name, "w4a4-aclip80-kvr4");
    assert_eq!(parse(&s.name), s);
    let kv = parse("kvr3");
    assert_eq!(kv.kv, Some(KvFormat::quarot(IntFormat::Int3)));
    assert_eq!(kv.name, "kvr3");
    assert_eq!(parse("w8a8-kv8").kv, Some(KvFormat::kvquant(IntFormat::Int8)));
    let err = |n: &str| Scheme::parse(n).unwrap_err().to_string();
    assert!(err("w4a16-aclip90").contains("no activation quantization"), "{}", err("w4a16-aclip90"));
    assert!(err("w4a4-aclip0").contains("whole percent"));
    assert!(err("w4a4-aclip90-aclip80").contains("second time"));
    assert!(err("w4a4-kvr5").contains("8, 4, 3 or 2"));
}
