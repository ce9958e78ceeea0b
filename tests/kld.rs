//! `qtool kld` and the `eval::kld` pipeline on SmolLM2: a model against itself scores exactly
//! 0, bf16 against f32 a small positive KLD, the top-64 + tail estimate stays close to the
//! exact full-vocabulary KL on a real chunk, the base-logit cache is reused, refused when its
//! key differs and recomputed, and bad flags give clear errors.

use eval::kld::dist::{score, BaseRecord};
use eval::kld::{CacheUse, KldReport, KldSpec, Silent, TextSource};
use model::weights::DType;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The first `n` GSM8K reference solutions as a text file in `dir`.
fn small_text(dir: &Path, n: usize) -> PathBuf {
    let all = eval::kld::text::gsm8k_solutions(&crate::common::gsm8k_test()).expect("GSM8K test set");
    let text: Vec<&str> = all.split("\n\n").take(n).collect();
    let p = dir.join(format!("gsm8k-{n}.txt"));
    std::fs::write(&p, text.join("\n\n")).unwrap();
    p
}

fn spec(text: PathBuf, cache: PathBuf, model_dtype: Option<DType>, ctx: usize, chunks: usize) -> KldSpec {
    let gguf = crate::common::smollm2_gguf();
    KldSpec {
        base: gguf.clone(),
        base_dtype: None,
        model: gguf,
        model_dtype,
        backend: "cpu".into(),
        text: TextSource::File(text),
        ctx,
        chunks: Some(chunks),
        top_k: eval::kld::DEFAULT_TOP_K,
        batch: None,
        cache: Some(cache),
    }
}

fn run(s: &KldSpec) -> KldReport {
    let r = eval::kld::run(s, &mut Silent).expect("kld run");
    println!("{}\n", r.table());
    r
}

#[test]
fn a_model_against_itself_scores_exactly_zero_and_the_cache_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(small_text(dir.path(), 30), dir.path().join("base.qkld"), None, 128, 2);
    let r = run(&s);
    let m = &r.summary;
    assert_eq!((r.chunks, m.tokens), (2, 2 * 63));
    assert_eq!((m.kld.mean.mean, m.kld.max, m.kld.min), (0.0, 0.0, 0.0));
    assert_eq!(m.same_top.mean, 1.0);
    assert_eq!(m.ppl_base, m.ppl_model);
    assert_eq!(m.ln_ppl_ratio.mean, 0.0);
    assert!(m.ppl_base.mean > 1.0 && m.ppl_base.mean < 100.0, "PPL {}", m.ppl_base.mean);
    assert_eq!(r.cache, CacheUse::Computed);
    // A second run reads the base's records from the cache and gets the same numbers.
    let again = run(&s);
    assert_eq!(again.cache, CacheUse::Reused);
    assert_eq!(again.summary, r.summary);
    assert_eq!(again.timings.base_s, 0.0);
}

#[test]
fn bf16_against_f32_is_a_small_positive_kld() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(small_text(dir.path(), 30), dir.path().join("base.qkld"), Some(DType::BF16), 128, 2);
    let m = run(&s).summary;
    println!(
        "bf16 vs f32, 2 x 128: KLD {:.3e} ± {:.1e} (p99 {:.3e}, max {:.3e}), same top {:.2}%, PPL {:.4} vs {:.4}",
        m.kld.mean.mean,
        m.kld.mean.se,
        m.kld.p99,
        m.kld.max,
        100.0 * m.same_top.mean,
        m.ppl_model.mean,
        m.ppl_base.mean
    );
    assert!(m.kld.mean.mean > 0.0 && m.kld.mean.mean < 1e-3, "KLD {}", m.kld.mean.mean);
    assert!(m.same_top.mean > 0.95, "top-1 agreement {}", m.same_top.mean);
    assert!((m.ln_ppl_ratio.mean).abs() < 0.01, "ln PPL ratio {}", m.ln_ppl_ratio.mean);
}

/// One real chunk through f32 (base) and bf16 (model) SmolLM2: the top-K + tail KL of every
/// scored position against the exact KL (K = vocabulary, same code path), for several K.
#[test]
fn top_k_estimate_is_close_to_the_exact_kl_on_a_real_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = crate::common::smollm2_gguf();
    let load = |d| model::load::load_model(&gguf, d, kernels::backend_by_name("cpu").unwrap()).unwrap();
    let (base, test) = (load(None), load(Some(DType::BF16)));
    let text = std::fs::read_to_string(small_text(dir.path(), 30)).unwrap();
    let toks = base.tokenizer.encode(&text, true).unwrap();
    let ctx = 128;
    let chunk = &toks[..ctx];
    let logits = |m: &model::Model| {
        let mut cache = m.new_cache(1, ctx);
        m.forward(&[model::SeqChunk { slot: 0, tokens: chunk }], &mut cache, model::LogitRows::All).unwrap()
    };
    let (lp, lq) = (logits(&base.model), logits(&test.model));
    let v = base.model.config.vocab_size;
    let ks = [16, 64, 256, 1024];
    let (mut sums, mut tails, mut exact) = ([0.0f64; 4], [0.0f64; 4], 0.0);
    let rows = ctx / 2..ctx - 1;
    for j in rows.clone() {
        let (p, q, target) = (&lp[j * v..(j + 1) * v], &lq[j * v..(j + 1) * v], chunk[j + 1]);
        let e = score(q, target, BaseRecord::from_logits(p, target, v).view()).kld;
        for (i, &k) in ks.iter().enumerate() {
            let r = BaseRecord::from_logits(p, target, k);
            let kl = score(q, target, r.view()).kld;
            assert!(kl <= e + 1e-7, "row {j}, K={k}: {kl} > exact {e}");
            sums[i] += kl;
            tails[i] += f64::from(r.log_tail).exp();
        }
        exact += e;
    }
    let n = rows.len() as f64;
    println!("SmolLM2 bf16 vs f32, one chunk of {ctx} ({} positions): mean exact KL {:.4e}", rows.len(), exact / n);
    for (i, k) in ks.iter().enumerate() {
        let gap = (exact - sums[i]) / exact;
        println!(
            "  K={k:5}: mean KL {:.4e}, relative gap {gap:.3}, mean base tail mass {:.4}",
            sums[i] / n,
            tails[i] / n
        );
    }
    let gap64 = (exact - sums[1]) / exact;
    assert!(exact > 0.0 && gap64 < 0.25, "K=64 relative gap {gap64}");
    assert!(sums.windows(2).all(|w| w[0] <= w[1] + 1e-9), "KL grows with K: {sums:?}");
}

#[test]
fn a_mismatched_cache_is_refused_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("base.qkld");
    let text = small_text(dir.path(), 10);
    let first = run(&spec(text.clone(), cache.clone(), None, 32, 1));
    assert_eq!(first.cache, CacheUse::Computed);
    let key = |ctx| {
        let sha = eval::kld::text::sha256_hex(std::fs::read(&text).unwrap().as_slice());
        eval::kld::key::CacheKey::new(
            &crate::common::smollm2_gguf(),
            "native",
            &sha,
            ctx,
            Some(1),
            eval::kld::DEFAULT_TOP_K,
        )
        .unwrap()
    };
    assert!(eval::kld::cache::load(&cache, &key(32)).unwrap().is_some());
    let e = eval::kld::cache::load(&cache, &key(48)).unwrap_err().to_string();
    assert!(e.contains("does not match this run") && e.contains("--ctx 32, this run uses --ctx 48"), "{e}");
    // The pipeline refuses it too, says why, recomputes and replaces it.
    let second = run(&spec(text.clone(), cache.clone(), None, 48, 1));
    match &second.cache {
        CacheUse::Recomputed(why) => assert!(why.contains("--ctx 32, this run uses --ctx 48"), "{why}"),
        other => panic!("expected a recomputed cache, got {other:?}"),
    }
    assert!(eval::kld::cache::load(&cache, &key(48)).unwrap().is_some());
    // Another text is refused as well.
    let other_text = small_text(dir.path(), 11);
    match run(&spec(other_text, cache.clone(), None, 48, 1)).cache {
        CacheUse::Recomputed(why) => assert!(why.contains("another text"), "{why}"),
        other => panic!("expected a recomputed cache, got {other:?}"),
    }
}

fn qtool(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qtool")).arg("kld").args(args).output().expect("qtool runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn expect_error(args: &[&str], needle: &str) {
    let (ok, _, err) = qtool(args);
    assert!(!ok, "qtool kld {args:?} should fail");
    assert!(err.contains(needle), "qtool kld {args:?}: expected '{needle}' in:\n{err}");
}

#[test]
fn bad_flags_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = crate::common::smollm2_gguf();
    let g = gguf.to_str().unwrap();
    let text = small_text(dir.path(), 10);
    let t = text.to_str().unwrap();
    let base = ["--base", g, "--model", g];
    expect_error(&[&base[..], &["--text", t, "--ctx", "4"]].concat(), "--ctx 4 is too small: at least 8");
    expect_error(&[&base[..], &["--text", t, "--chunks", "0"]].concat(), "--chunks 0");
    expect_error(&[&base[..], &["--text", t, "--top-k", "0"]].concat(), "--top-k 0");
    expect_error(&base, "--text <TEXT>|--task <TASK>");
    expect_error(&[&base[..], &["--text", t, "--task", "gsm8k-solutions"]].concat(), "cannot be used with");
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "Just a few words.").unwrap();
    let cache = dir.path().join("c.qkld");
    let c = cache.to_str().unwrap();
    expect_error(
        &[&base[..], &["--text", short.to_str().unwrap(), "--base-logits", c]].concat(),
        "fewer than one chunk",
    );
    expect_error(&[&base[..], &["--text", "/nonexistent/text.txt"]].concat(), "/nonexistent/text.txt");
}

#[test]
fn cli_prints_the_table_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let g = crate::common::smollm2_gguf();
    let g = g.to_str().unwrap();
    let text = small_text(dir.path(), 10);
    let (cache, json) = (dir.path().join("c.qkld"), dir.path().join("r.json"));
    let args = [
        "--base",
        g,
        "--model",
        g,
        "--text",
        text.to_str().unwrap(),
        "--ctx",
        "32",
        "--chunks",
        "2",
        "--base-logits",
        cache.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    let (ok, out, err) = qtool(&args);
    assert!(ok, "{err}");
    println!("{out}");
    for needle in ["KLD mean", "0.000000 ± 0.000000", "same top token", "100.000 ± 0.000 %", "PPL(base)", "[computed]"]
    {
        assert!(out.contains(needle), "'{needle}' missing from:\n{out}");
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["summary"]["tokens"], 2 * 15);
    assert_eq!(v["summary"]["kld"]["mean"]["mean"], 0.0);
    assert_eq!(v["cache"], "computed");
}

/// SmolLM2 (49152 tokens) against Qwen2.5 (151936): refused from metadata, before any weights
/// load. Needs the optional Qwen asset.
#[test]
#[ignore]
fn a_model_with_another_vocabulary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (s, q) = (crate::common::smollm2_gguf(), crate::common::qwen_gguf());
    let text = small_text(dir.path(), 10);
    let start = std::time::Instant::now();
    expect_error(
        &["--base", s.to_str().unwrap(), "--model", q.to_str().unwrap(), "--text", text.to_str().unwrap()],
        "different vocabularies: the base has 49152 tokens, the model 151936",
    );
    assert!(start.elapsed().as_secs() < 10, "refused before loading weights");
}
