//! `qtool study` through the binary on SmolLM2 (base and RTN w8a16, three GSM8K items, greedy,
//! 16 tokens, a tiny KLD): an uninterrupted study, and the same study killed with SIGKILL in
//! the middle of an evaluation, during a quantization and in the middle of the second
//! configuration's evaluation, then rerun to completion, end with the same answers and the same
//! report (timings aside). A second study on a running folder, a changed setting, a bad entry,
//! a missing model and calibration that overlaps the evaluated items are refused clearly, and
//! no finished work is lost.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The study's arguments, with `--out study` relative to the working folder, so two folders
/// run the very same command line.
fn study_args() -> Vec<String> {
    let gguf = crate::common::smollm2_gguf();
    let args = [
        "study",
        "--model",
        gguf.to_str().unwrap(),
        "--configs",
        "base,rtn:w8a16",
        "--tasks",
        "gsm8k",
        "--limit",
        "3",
        "--greedy",
        "--max-new-tokens",
        "16",
        "--kld-ctx",
        "64",
        "--kld-chunks",
        "2",
        "--batch",
        "1",
        "--out",
        "study",
    ];
    args.iter().map(|s| s.to_string()).collect()
}

fn command(cwd: &Path, args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qtool"));
    c.args(args).current_dir(cwd).env("QTOOL_ASSETS", crate::common::assets_dir());
    c
}

fn run(cwd: &Path, args: &[String]) -> Output {
    let out = command(cwd, args).output().expect("qtool runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "qtool panicked on {args:?}:\n{stderr}");
    out
}

fn ok(cwd: &Path, args: &[String]) -> String {
    let out = run(cwd, args);
    assert!(out.status.success(), "qtool {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(cwd: &Path, args: &[String]) -> String {
    let out = run(cwd, args);
    assert!(!out.status.success(), "qtool {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn with(args: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut a = args.to_vec();
    let i = a.iter().position(|x| x == flag).unwrap();
    a[i + 1] = value.into();
    a
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Starts the study in `cwd`, waits until `ready` holds, then SIGKILLs it; returns whether
/// `ready` held before the study ended by itself.
fn kill_when(cwd: &Path, mut ready: impl FnMut() -> bool) -> bool {
    let mut child: Child =
        command(cwd, &study_args()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("qtool starts");
    let deadline = Instant::now() + Duration::from_secs(180);
    let hit = loop {
        if ready() {
            break true;
        }
        if Instant::now() >= deadline || child.try_wait().ok().flatten().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    hit
}

/// Every record of a results file without its timing field, sorted by key.
fn records(path: &Path) -> Vec<serde_json::Value> {
    let mut v: Vec<serde_json::Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            r.as_object_mut().unwrap().remove("secs");
            r
        })
        .collect();
    v.sort_by_key(|r| (r["task"].to_string(), r["seed"].as_u64(), r["id"].to_string()));
    v
}

/// The report without its timings section.
fn report_body(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("report.md")).unwrap();
    text.split("## Timings").next().unwrap().to_string()
}

fn files_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    for name in ["base/results.jsonl", "rtn_w8a16/results.jsonl", "base/kld.json", "rtn_w8a16/kld.json"] {
        v.push((dir.join(name), std::fs::read(dir.join(name)).unwrap()));
    }
    v
}

#[test]
fn study_killed_anywhere_resumes_to_the_uninterrupted_result() {
    let root = tempfile::tempdir().unwrap();
    let (whole, cut) = (root.path().join("whole"), root.path().join("cut"));
    std::fs::create_dir_all(&whole).unwrap();
    std::fs::create_dir_all(&cut).unwrap();
    let args = study_args();

    let t0 = Instant::now();
    let printed = ok(&whole, &args);
    println!("uninterrupted study: {:.1} s\n{printed}", t0.elapsed().as_secs_f64());
    assert!(printed.contains("| base | gsm8k |") && printed.contains("| rtn:w8a16 | gsm8k |"), "{printed}");
    let (w, c) = (whole.join("study"), cut.join("study"));
    assert!(!w.join("ckpt/rtn_w8a16").exists(), "a finished configuration's checkpoint is deleted");

    // 1. Killed in the middle of the base's evaluation; a second study on the running folder is
    //    refused meanwhile.
    let base_results = c.join("base/results.jsonl");
    let mut second = None;
    let hit = kill_when(&cut, || {
        if second.is_none() && c.join("study.json").exists() {
            second = Some(run(&cut, &args));
        }
        lines(&base_results) >= 1
    });
    assert!(hit && lines(&base_results) < 3, "kill 1 missed the evaluation ({} lines)", lines(&base_results));
    let second = second.expect("the second study ran while the first held the folder");
    let e = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && e.contains("another qtool study") && e.contains("is running"), "{e}");
    println!("kill 1 after {} of 3 base answers; the concurrent study said: {}", lines(&base_results), e.trim());
    let status = ok(root.path(), &["study".into(), "--status".into(), c.display().to_string()]);
    println!("{status}");
    assert!(
        status.contains("not running") && status.contains("remaining: base (eval") && status.contains("ETA"),
        "{status}"
    );

    // 2. Killed while quantizing: the partial checkpoint never has the final name.
    let ckpt = c.join("ckpt");
    let quantizing = || {
        std::fs::read_dir(&ckpt)
            .is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with(".rtn_w8a16.qtool-tmp-")))
    };
    assert!(kill_when(&cut, quantizing), "kill 2 missed the quantization");
    assert_eq!(lines(&base_results), 3, "the base finished before the quantization started");
    assert!(!ckpt.join("rtn_w8a16").exists(), "a partial checkpoint under the final name");
    println!("kill 2 during the quantization");

    // 3. Killed in the middle of the second configuration's evaluation.
    let rtn_results = c.join("rtn_w8a16/results.jsonl");
    assert!(kill_when(&cut, || lines(&rtn_results) >= 1), "kill 3 missed the evaluation");
    assert!(lines(&rtn_results) < 3, "kill 3 came after the evaluation");
    println!("kill 3 after {} of 3 rtn:w8a16 answers", lines(&rtn_results));

    let resumed = ok(&cut, &args);
    println!("resumed:\n{resumed}");
    assert_eq!(resumed, printed, "the same end-of-run table");
    for name in ["base/results.jsonl", "rtn_w8a16/results.jsonl"] {
        let (a, b) = (records(&w.join(name)), records(&c.join(name)));
        assert_eq!(a.len(), 3, "{name}");
        assert_eq!(a, b, "{name}: the same answers as the uninterrupted study");
    }
    assert_eq!(report_body(&w), report_body(&c), "the same report apart from timings");
    for chart in ["report-gsm8k-accuracy.svg", "report-gsm8k-length.svg", "report-gsm8k-drop-vs-kld.svg"] {
        assert_eq!(std::fs::read(w.join(chart)).unwrap(), std::fs::read(c.join(chart)).unwrap(), "{chart}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.join("study.json")).unwrap()).unwrap();
    for state in manifest["configs"].as_array().unwrap() {
        assert_eq!(state["stage"], "done", "{state}");
    }
    assert!(manifest["configs"][1]["quantize_s"].as_f64().unwrap() > 0.0);

    // `--report` rewrites the same report; `--status` says it is complete.
    let before = report_body(&c);
    ok(root.path(), &["study".into(), "--report".into(), c.display().to_string()]);
    assert_eq!(report_body(&c), before);
    let status = ok(root.path(), &["study".into(), "--status".into(), c.display().to_string()]);
    assert!(status.contains("the study is complete"), "{status}");

    // Refusals on a finished study lose nothing.
    let kept = files_of(&w);
    let e = fails(&whole, &with(&args, "--max-new-tokens", "17"));
    assert!(e.contains("other settings") && e.contains("max_new_tokens: 16 recorded, 17 now"), "{e}");
    let e = fails(&whole, &with(&args, "--configs", "base,gptq:w5a16"));
    assert!(e.contains("w5a16") && e.contains("METHOD[/CALIB]:SCHEME"), "{e}");
    let e = fails(&whole, &with(&args, "--model", "/nonexistent/model.gguf"));
    assert!(e.contains("--model /nonexistent/model.gguf: no such file or folder"), "{e}");
    for (path, bytes) in kept {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{} changed", path.display());
    }
    // The same command again does nothing new.
    let again = ok(&whole, &args);
    assert_eq!(again, printed);
    assert_eq!(lines(&w.join("base/results.jsonl")), 3);
}

#[test]
fn study_refuses_calibration_that_overlaps_evaluated_items() {
    let root = tempfile::tempdir().unwrap();
    // The second GSM8K test question (gsm8k/1) inside a paragraph of the calibration text.
    let test = std::fs::read_to_string(crate::common::gsm8k_test()).unwrap();
    let second: serde_json::Value = serde_json::from_str(test.lines().nth(1).unwrap()).unwrap();
    let question = second["question"].as_str().unwrap();
    let calib = root.path().join("calib.txt");
    std::fs::write(&calib, format!("Some prose.\n\nCopied from a forum: {question} Thanks!\n\nMore prose.\n")).unwrap();
    let mut args = with(&study_args(), "--configs", "base,rtn/c:kv4");
    args.extend(["--calib".into(), format!("c=text:{}", calib.display())]);
    let e = fails(root.path(), &args);
    assert!(e.contains("calibration set `c`") && e.contains("overlaps the evaluation"), "{e}");
    assert!(e.contains("document 2") && e.contains("gsm8k/1"), "{e}");
    assert!(!root.path().join("study").exists(), "refused before the study folder was made");
}

/// `--serve TEMPLATE`: every configuration is answered through an external server started on
/// its checkpoint (here `qtool serve`, the OpenAI-compatible surface llama-server and vLLM
/// share; the real llama-server is tested in serve_eval.rs) and stopped after it; the answers
/// equal the in-process study's, KLD is measured in process all the same, and the engine is
/// part of the recorded settings.
#[test]
fn study_through_an_external_server_answers_as_in_process() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = with(&study_args(), "--limit", "2");
    ok(a.path(), &args);
    let template = format!("'{}' serve --model {{model}} --port {{port}} --batch 2", env!("CARGO_BIN_EXE_qtool"));
    let mut served = args.clone();
    served.extend(["--serve".to_string(), template, "--concurrency".into(), "2".into()]);
    ok(b.path(), &served);
    for cfg in ["base", "rtn_w8a16"] {
        let strip = |v: Vec<serde_json::Value>| -> Vec<(String, String, bool)> {
            v.iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap().into(),
                        r["response"].as_str().unwrap().into(),
                        r["correct"].as_bool().unwrap(),
                    )
                })
                .collect()
        };
        let x = strip(records(&a.path().join("study").join(cfg).join("results.jsonl")));
        let y = strip(records(&b.path().join("study").join(cfg).join("results.jsonl")));
        assert_eq!(x.len(), 2, "{cfg}");
        assert_eq!(x, y, "{cfg}: the same answers through the server");
        let kld = std::fs::read_to_string(b.path().join("study").join(cfg).join("kld.json")).unwrap();
        assert!(kld.contains("mean"), "{cfg}: KLD measured in process: {kld}");
    }
    let manifest = std::fs::read_to_string(b.path().join("study/study.json")).unwrap();
    assert!(manifest.contains("serve: "), "the engine is recorded");
    let log = std::fs::read_to_string(b.path().join("study/server.log")).unwrap();
    assert_eq!(log.matches("listening on").count(), 2, "one server per configuration:\n{log}");
    // An HF-folder template on a GGUF base is refused before anything runs.
    let c = tempfile::tempdir().unwrap();
    let mut bad = args.clone();
    bad.extend(["--serve".to_string(), "vllm serve {hf} --port {port}".into()]);
    let err = fails(c.path(), &bad);
    assert!(err.contains("{hf}") && err.contains("is a file"), "{err}");
    assert!(!c.path().join("study").exists(), "nothing written");
}
