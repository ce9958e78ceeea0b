//! `qtool eval --endpoint` against `qtool serve` (started on a free loopback port) answers 3
//! GSM8K items greedily with the same responses, token counts and verdicts as `qtool eval
//! --model` in process, and resumes like it.

use std::path::Path;
use std::process::Command;

fn eval(engine: &[&str], out: &Path) -> String {
    let mut args: Vec<&str> = vec!["eval"];
    args.extend_from_slice(engine);
    args.extend([
        "--tasks",
        "gsm8k",
        "--limit",
        "3",
        "--greedy",
        "--max-new-tokens",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    let o = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(&args)
        .env("QTOOL_ASSETS", crate::common::assets_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "qtool {args:?} failed:\n{stderr}");
    String::from_utf8(o.stdout).unwrap()
}

/// (id, response, correct, gen_tokens, prompt_tokens, finish) sorted by id.
fn answers(dir: &Path) -> Vec<(String, String, bool, u64, u64, String)> {
    let text = std::fs::read_to_string(dir.join("results.jsonl")).unwrap();
    let mut v: Vec<_> = text
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(r["command"].as_str().unwrap().starts_with("qtool eval"), "the command is recorded: {r}");
            (
                r["id"].as_str().unwrap().to_string(),
                r["response"].as_str().unwrap().to_string(),
                r["correct"].as_bool().unwrap(),
                r["gen_tokens"].as_u64().unwrap(),
                r["prompt_tokens"].as_u64().unwrap(),
                r["finish"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn serve_eval_endpoint_matches_in_process() {
    let server = crate::serve::start_server(3);
    let dir = tempfile::tempdir().unwrap();
    let (http, local) = (dir.path().join("http"), dir.path().join("local"));
    let gguf = crate::common::smollm2_gguf();
    let out = eval(&["--endpoint", &server.base, "--concurrency", "3"], &http);
    println!("endpoint:\n{out}");
    let out_local = eval(&["--model", gguf.to_str().unwrap(), "--batch", "3"], &local);
    println!("in process:\n{out_local}");
    let (a, b) = (answers(&http), answers(&local));
    assert_eq!(a.len(), 3);
    assert_eq!(a, b, "the same responses, verdicts, token counts and finish reasons");
    let again = eval(&["--endpoint", &server.base, "--served-model", "SmolLM2-135M-Instruct.Q4_1"], &http);
    assert!(again.contains("3 answers (0 new)"), "resumes: {again}");
}
