//! `qtool report` on two hand-made results files: the tables, the SVG charts, the flip counts
//! against the baseline, the commands and the relative links.

use serde_json::json;
use std::path::Path;
use std::process::Command;

/// A results line: config `model`/`scheme`, the item's id, seed, correctness and tokens; item 3's
/// answer was found without a box (the fallback extractor).
fn line(model: &str, scheme: Option<&str>, seed: u64, id: usize, correct: bool, tokens: usize) -> String {
    json!({
        "config": {"model": model, "scheme": scheme, "backend": "cpu", "context": 8192,
                   "temperature": 0.6, "top_p": 0.95, "top_k": 0, "max_new_tokens": 100},
        "task": "gsm8k", "seed": seed, "id": format!("gsm8k/{id}"), "prompt_tokens": 50,
        "response": "a\n\nb\n\nc", "extracted": "1", "source": if id == 3 { "fallback" } else { "boxed" }, "correct": correct,
        "gen_tokens": tokens, "steps": 3, "finish": if tokens >= 100 { "length" } else { "eos" }, "secs": 1.0,
        "command": format!("qtool eval --model {model} --tasks gsm8k"),
    })
    .to_string()
}

fn write(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn report_cli_tables_charts_and_flips() {
    let dir = tempfile::tempdir().unwrap();
    // Baseline (bf16): seed 42 right on items 0,1,2; seed 43 right on 0,1.
    // w4: seed 42 right on 0,3 (2 right->wrong: 1,2; 1 wrong->right: 3); seed 43 right on 0,1,2 (1 wrong->right: 2).
    let base_right = [[true, true, true, false], [true, true, false, false]];
    let w4_right = [[true, false, false, true], [true, true, true, false]];
    let mk = |model: &str, scheme: Option<&str>, right: &[[bool; 4]; 2], tokens: usize| -> Vec<String> {
        let mut v = Vec::new();
        for (s, seed) in [42u64, 43].iter().enumerate() {
            for (i, &c) in right[s].iter().enumerate() {
                v.push(line(model, scheme, *seed, i, c, tokens + 10 * i));
            }
        }
        v
    };
    let base = dir.path().join("runs/bf16/results.jsonl");
    let w4 = dir.path().join("runs/w4/results.jsonl");
    write(&base, &mk("smol-bf16", None, &base_right, 20));
    write(&w4, &mk("smol-w4", Some("compressed-tensors pack-quantized int4 g128 asym"), &w4_right, 70));
    // Two logged runs for w4 (the second a resume), none for bf16.
    let run = |new: usize, wall: f64, tokens: u64| {
        format!(
            r#"{{"answers":8,"new_answers":{new},"wall_s":{wall},"gen_tokens":{tokens},"in_flight":8,"backend":"cpu","threads":2,"command":"qtool eval","load_avg":"0.50 0.40 0.30"}}"#
        )
    };
    write(&dir.path().join("runs/w4/runs.jsonl"), &[run(5, 3.0, 400), run(3, 1.0, 200)]);
    let out = dir.path().join("reports/test.md");
    let o = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(["report", w4.to_str().unwrap(), base.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(&out).unwrap();
    println!("{md}");
    // Accuracy: bf16 75% and 50% -> 62.5 ± 17.7; w4 50% and 75% -> the same mean.
    assert!(md.contains("| bf16 | 16 | gsm8k | 62.5% ± 17.7 | 42, 43 | 4 |"), "{md}");
    assert!(md.contains("| w4 | 4 | gsm8k | 62.5% ± 17.7 | 42, 43 | 4 |"), "{md}");
    // No box: item 3 in both seeds; right only for w4 at seed 42.
    assert!(md.contains("| 42, 43 | 4 | 2 (0) |") && md.contains("| 42, 43 | 4 | 2 (1) |"), "{md}");
    // Length: tokens 20,30,40,50 per seed -> mean 35, median 35; w4 70..100 with one truncated per seed.
    assert!(md.contains("| bf16 | 16 | gsm8k | 35.0 | 35.0 | 3.0 | 0.0% |"), "{md}");
    assert!(md.contains("| w4 | 4 | gsm8k | 85.0 | 85.0 | 3.0 | 25.0% |"), "{md}");
    // Flips against the highest-bit configuration (bf16), though w4 was given first.
    assert!(md.contains("## Flips against `bf16`"), "{md}");
    assert!(md.contains("| w4 | gsm8k | 8 | 2 | 2 | +0 | 3 |"), "{md}");
    assert!(md.contains("qtool eval --model smol-w4 --tasks gsm8k"), "{md}");
    assert!(md.contains("(../runs/w4/results.jsonl)"), "relative links: {md}");
    // Throughput summed over the logged runs: 600 tokens in 4 s.
    assert!(md.contains("| w4 | 2 | 8 | 600 | 4.0 | 150.0 | 8, 8 | cpu (2 threads), cpu (2 threads) |"), "{md}");
    assert!(!md.contains("| bf16 | 1 |"), "no run log, no throughput row: {md}");
    for chart in ["test-accuracy.svg", "test-length.svg"] {
        assert!(md.contains(&format!("]({chart})")), "{md}");
        let svg = std::fs::read_to_string(dir.path().join("reports").join(chart)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("gsm8k") && svg.contains("bits per weight"), "{chart}");
    }

    // An explicit baseline, and a clear error for an unknown one.
    let o = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args([
            "report",
            base.to_str().unwrap(),
            w4.to_str().unwrap(),
            "--baseline",
            "w4",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains("| bf16 | gsm8k | 8 | 2 | 2 | +0 | 3 |"), "{md}");
    let o = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(["report", base.to_str().unwrap(), "--baseline", "w9", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("w9") && e.contains("bf16"), "{e}");
}
