//! `qtool eval` and `qtool grade` through the binary on SmolLM2 and a few GSM8K items: a run
//! killed with SIGKILL and restarted ends with each answer once and the summary of an
//! uninterrupted run; `qtool grade` reproduces the recorded correctness; bad input fails with
//! clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const ITEMS: usize = 6;
const SEEDS: &str = "42,43";

fn eval_args(out: &Path) -> Vec<String> {
    let gguf = crate::common::smollm2_gguf();
    [
        "eval",
        "--model",
        gguf.to_str().unwrap(),
        "--tasks",
        "gsm8k",
        "--limit",
        &ITEMS.to_string(),
        "--seeds",
        SEEDS,
        "--max-new-tokens",
        "24",
        "--batch",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn qtool(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(args)
        .env("QTOOL_ASSETS", crate::common::assets_dir())
        .output()
        .expect("qtool runs")
}

fn ok(args: &[String]) -> String {
    let out = qtool(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "qtool {args:?} failed:\n{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[String]) -> String {
    let out = qtool(args);
    assert!(!out.status.success(), "qtool {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The summary table's rows without the timing column.
fn table_without_speed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| gsm8k"))
        .map(|l| l.trim_end_matches('|').rsplit_once('|').unwrap().0.to_string())
        .collect()
}

/// The records' content that must not depend on interruption, keyed and sorted.
fn records(path: &Path) -> Vec<(String, u64, String, bool, u64, String)> {
    let mut v: Vec<_> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                r["id"].as_str().unwrap().to_string(),
                r["seed"].as_u64().unwrap(),
                r["response"].as_str().unwrap().to_string(),
                r["correct"].as_bool().unwrap(),
                r["gen_tokens"].as_u64().unwrap(),
                r["finish"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn eval_cli_killed_run_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, cut) = (dir.path().join("whole"), dir.path().join("cut"));
    let total = ITEMS * 2;

    let t0 = Instant::now();
    let whole_out = ok(&eval_args(&whole));
    println!("uninterrupted run: {:.1} s\n{whole_out}", t0.elapsed().as_secs_f64());

    // Start the same run, SIGKILL it as soon as the first answers are on disk.
    let results = cut.join("results.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qtool"))
        .args(eval_args(&cut))
        .env("QTOOL_ASSETS", crate::common::assets_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let appeared = loop {
        if std::fs::read_to_string(&results).is_ok_and(|t| t.lines().count() >= 1) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(appeared, "no results within 120 s");
    let lines_at_kill = std::fs::read_to_string(&results).unwrap().lines().count();
    println!("killed with {lines_at_kill} of {total} answers written");
    assert!(lines_at_kill < total, "the kill came after the run had finished; the test proves nothing");
    // A kill can also cut a line in half: simulate one.
    let mut f = std::fs::OpenOptions::new().append(true).open(&results).unwrap();
    std::io::Write::write_all(&mut f, b"{\"config\":{\"model\":\"half a li").unwrap();
    drop(f);

    let resumed = qtool(&eval_args(&cut));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "resume failed:\n{stderr}");
    let resumed_out = String::from_utf8(resumed.stdout).unwrap();
    println!("resumed run:\n{stderr}{resumed_out}");
    assert!(stderr.contains("partial last line"), "the cut line is reported: {stderr}");
    assert!(stderr.contains(&format!("resuming: {lines_at_kill} of {total}")), "{stderr}");

    let (a, b) = (records(&whole.join("results.jsonl")), records(&results));
    assert_eq!(b.len(), total, "each (seed, item) once");
    let mut keys: Vec<_> = b.iter().map(|r| (r.0.clone(), r.1)).collect();
    keys.dedup();
    assert_eq!(keys.len(), total, "no duplicates");
    assert_eq!(a, b, "the same answers as the uninterrupted run");
    assert_eq!(table_without_speed(&whole_out), table_without_speed(&resumed_out), "the same summary");
    assert_eq!(table_without_speed(&whole_out).len(), 2, "one row per seed");

    // Running it again does nothing new.
    let again = ok(&eval_args(&cut));
    assert!(again.contains(&format!("{total} answers (0 new)")), "{again}");
    assert_eq!(std::fs::read_to_string(&results).unwrap().lines().count(), total);
    // Each finished run logged its throughput (the killed one did not finish): resume + again.
    let runs: Vec<serde_json::Value> = std::fs::read_to_string(cut.join("runs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!((runs[0]["answers"].as_u64(), runs[1]["new_answers"].as_u64()), (Some(total as u64), Some(0)));
    let resumed_new = runs[0]["new_answers"].as_u64().unwrap() as usize;
    assert!(resumed_new >= total - lines_at_kill && resumed_new <= total, "{resumed_new} new of {total}");

    // `qtool grade` on the runner's file reproduces its verdicts.
    let graded = ok(&["grade".into(), "--task".into(), "gsm8k".into(), results.to_str().unwrap().into()]);
    println!("{graded}");
    let correct = b.iter().filter(|r| r.3).count();
    assert!(graded.contains(&format!("({correct}/{total})")), "{graded}");
    assert!(graded.contains(&format!("recorded correctness: {total} agree, 0 differ")), "{graded}");
    assert!(!dir.path().join("cut/graded.jsonl").exists());
}

#[test]
fn eval_cli_bad_input_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let with = |flag: &str, value: &str| {
        let mut a = eval_args(&out);
        let i = a.iter().position(|x| x == flag).unwrap();
        a[i + 1] = value.into();
        a
    };
    let e = fails(&with("--tasks", "gsm8k,gsm9k"));
    assert!(e.contains("unknown task \"gsm9k\"") && e.contains("math500"), "{e}");
    let e = fails(&with("--limit", "0"));
    assert!(e.contains("--limit 0"), "{e}");
    let e = fails(&with("--batch", "0"));
    assert!(e.contains("--batch"), "{e}");

    let mut a = eval_args(&out);
    a.extend(["--assets".into(), dir.path().join("nothing").to_str().unwrap().into()]);
    let e = fails(&a);
    assert!(e.contains("gsm8k/test.jsonl") && e.contains("missing") && e.contains("assets fetch"), "{e}");

    std::fs::create_dir_all(&out).unwrap();
    let good = "{\"config\":{\"model\":\"m\",\"scheme\":null,\"backend\":\"cpu\",\"context\":1,\"temperature\":0.6,\"top_p\":0.95,\"top_k\":0,\"max_new_tokens\":24},\"task\":\"gsm8k\",\"seed\":42,\"id\":\"gsm8k/0\",\"prompt_tokens\":1,\"response\":\"x\",\"extracted\":null,\"source\":null,\"correct\":false,\"gen_tokens\":1,\"steps\":1,\"finish\":\"eos\",\"secs\":0.1}";
    std::fs::write(out.join("results.jsonl"), format!("{good}\n{{\"task\": \"gsm8k\", \"oops\n{good}\n")).unwrap();
    let e = fails(&eval_args(&out));
    assert!(e.contains("results.jsonl") && e.contains("line 2") && e.contains("corrupt"), "{e}");

    // A file from another configuration is refused, not mixed in.
    std::fs::write(out.join("results.jsonl"), format!("{good}\n")).unwrap();
    let e = fails(&eval_args(&out));
    assert!(e.contains("another configuration") && e.contains("model"), "{e}");

    let e =
        fails(&["grade".into(), "--task".into(), "gsm8k".into(), dir.path().join("no.jsonl").to_str().unwrap().into()]);
    assert!(e.contains("no.jsonl"), "{e}");
}

#[test]
fn eval_cli_grade_scores_gold_lines_and_writes_only_with_out() {
    let dir = tempfile::tempdir().unwrap();
    let input: PathBuf = dir.path().join("responses.jsonl");
    std::fs::write(
        &input,
        "{\"response\": \"so \\\\boxed{\\\\frac{1}{2}}\", \"gold\": \"0.5\"}\n\
         {\"response\": \"the answer is \\\\boxed{3}\", \"gold\": \"4\"}\n\
         {\"id\": \"gsm8k/0\", \"response\": \"She earns \\\\boxed{18} dollars.\"}\n",
    )
    .unwrap();
    let out = ok(&["grade".into(), "--task".into(), "gsm8k".into(), input.to_str().unwrap().into()]);
    assert!(out.contains("3 responses, accuracy 66.7% (2/3)"), "{out}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written without --out");
    let verdicts = dir.path().join("v.jsonl");
    ok(&[
        "grade".into(),
        "--task".into(),
        "gsm8k".into(),
        input.to_str().unwrap().into(),
        "--out".into(),
        verdicts.to_str().unwrap().into(),
    ]);
    assert_eq!(std::fs::read_to_string(verdicts).unwrap().lines().count(), 3);
}
