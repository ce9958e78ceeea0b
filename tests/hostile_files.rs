//! Outputs and results files under hostile use (qtool issue 20): `convert --force` never deletes
//! what the user owns and swaps folders atomically, cleaning stale temporaries; two `qtool eval`
//! runs on one `--out` cannot both write; `report` and `grade` never count a result twice; a
//! corrupt last results line is reported as such.

use crate::crafted::{fails_with, qtool_in};
use std::path::Path;

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn convert_force_never_deletes_a_users_folder() {
    let gguf = s(&crate::common::smollm2_gguf());
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::write(home.join("notes.txt"), "mine").unwrap();
    for out in [s(&home.join("sub/..")), ".".into(), "..".into(), s(&home.join("."))] {
        let (ok, text) = qtool_in(Some(&home.join("sub")), &["convert", &gguf, "--out", &out, "--force"]);
        assert!(!ok, "convert --out {out} --force must fail: {text}");
        assert!(text.contains("--out"), "{text}");
        assert!(home.join("notes.txt").exists() && home.join("sub").exists(), "--out {out} deleted the user's files");
    }
    // A folder that is not a model folder is not replaced either.
    let (ok, text) = qtool_in(None, &["convert", &gguf, "--out", &s(&home), "--force"]);
    assert!(!ok && text.contains("config.json"), "{text}");
    assert!(home.join("notes.txt").exists());
}

#[test]
fn convert_force_swaps_atomically_and_cleans_stale_temporaries() {
    let gguf = s(&crate::common::smollm2_gguf());
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("smol");
    // Temporaries of killed runs (pids that cannot be alive), in the old and the current naming.
    let dead = u32::MAX - 7;
    for stale in [format!(".smol.tmp-{dead}"), format!(".smol.qtool-tmp-{dead}")] {
        std::fs::create_dir_all(d.path().join(&stale)).unwrap();
        std::fs::write(d.path().join(&stale).join("model.safetensors"), vec![0u8; 1024]).unwrap();
    }
    let (ok, text) = qtool_in(None, &["convert", &gguf, "--out", &s(&out), "--dtype", "f16"]);
    assert!(ok, "{text}");
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(names(d.path()), vec!["smol".to_string()], "stale temporaries are cleaned");
    let first = std::fs::metadata(out.join("model.safetensors")).unwrap().len();
    // --force replaces it; a failed --force run leaves the old folder whole.
    let bad = d.path().join("bad.gguf");
    std::fs::write(&bad, b"GGUF\x03\0\0\0").unwrap();
    fails_with(&["convert", &s(&bad), "--out", &s(&out), "--force"], &["bad.gguf"]);
    assert_eq!(std::fs::metadata(out.join("model.safetensors")).unwrap().len(), first);
    let (ok, text) = qtool_in(None, &["convert", &gguf, "--out", &s(&out), "--force", "--dtype", "f16"]);
    assert!(ok, "{text}");
    assert!(out.join("config.json").exists() && out.join("model.safetensors").exists());
    assert_eq!(names(d.path()), vec!["bad.gguf".to_string(), "smol".to_string()], "no temporaries left");
}

/// A results line of `qtool eval` (gsm8k item `id`, seed 42).
fn record(id: usize, correct: bool) -> String {
    serde_json::json!({
        "config": {"model": "m", "scheme": null, "backend": "cpu", "context": 8192,
                   "temperature": 0.6, "top_p": 0.95, "top_k": 0, "max_new_tokens": 100},
        "task": "gsm8k", "seed": 42, "id": format!("gsm8k/{id}"), "prompt_tokens": 50,
        "response": "so \\boxed{1}", "extracted": "1", "source": "boxed", "correct": correct,
        "gen_tokens": 10, "steps": 1, "finish": "eos", "secs": 1.0,
    })
    .to_string()
}

#[test]
fn eval_out_is_locked_and_duplicates_are_not_counted_twice() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    // Another process holds the run's lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(".qtool-eval.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let gguf = s(&crate::common::smollm2_gguf());
    let args = [
        "eval",
        "--model",
        &gguf,
        "--tasks",
        "gsm8k",
        "--limit",
        "1",
        "--greedy",
        "--max-new-tokens",
        "2",
        "--out",
        &s(&out),
    ];
    fails_with(&args, &["another", "lock", &s(&out)]);
    drop(lock);

    // A file with a duplicated record: report and grade count it once and say so.
    let results = out.join("results.jsonl");
    std::fs::write(&results, [record(0, true), record(1, false), record(0, true)].join("\n") + "\n").unwrap();
    let (ok, text) = qtool_in(None, &["grade", "--task", "gsm8k", &s(&results)]);
    assert!(ok, "{text}");
    assert!(text.contains("2 responses") && text.contains("duplicate"), "{text}");
    let md = d.path().join("r.md");
    let (ok, text) = qtool_in(None, &["report", &s(&results), "--out", &s(&md)]);
    assert!(ok && text.contains("duplicate"), "{text}");
    let report = std::fs::read_to_string(&md).unwrap();
    assert!(report.contains("duplicate"), "{report}");
    assert!(report.contains("50.0"), "one of two distinct answers is right: {report}");
}

#[test]
fn corrupt_last_results_line_is_named_as_the_last() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("results.jsonl"), format!("{}\n{{\"task\": \"gsm8k\", \"oo\n", record(0, true))).unwrap();
    let gguf = s(&crate::common::smollm2_gguf());
    let text = fails_with(
        &["eval", "--model", &gguf, "--tasks", "gsm8k", "--limit", "1", "--out", &s(&out)],
        &["line 2", "last line"],
    );
    assert!(!text.contains("in the middle"), "{text}");
}
