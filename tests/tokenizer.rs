//! Tokenizer and chat template: GGUF-rebuilt tokenizers against the real `tokenizer.json` (Qwen)
//! and against transformers' GGUF conversion (SmolLM2 fixture), round trips on GSM8K and MMATH,
//! chat-template renders against transformers' `apply_chat_template`, streaming decode.

use std::path::{Path, PathBuf};
use std::time::Instant;

use model::tokenizer::{ChatMessage, GgufVocab, PreTokenizer, Tokenizer};
use quant::gguf::GgufFile;
use serde_json::Value;

use crate::common;

const MMATH_LANGS: [&str; 10] = ["en", "ar", "es", "fr", "ja", "ko", "pt", "th", "vi", "zh"];

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// GSM8K test lines as (question, answer).
fn gsm8k() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(common::gsm8k_test()).expect("GSM8K test set");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["question"].as_str().unwrap().to_owned(), v["answer"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn mmath_questions(lang: &str) -> Vec<String> {
    let text = std::fs::read_to_string(common::mmath(lang)).expect("MMATH file");
    let v: Vec<Value> = serde_json::from_str(&text).unwrap();
    v.iter().map(|q| q["question"].as_str().unwrap().to_owned()).collect()
}

/// The hand-written edge cases stored in the SmolLM2 fixture (name, text).
fn tricky_strings() -> Vec<(String, String)> {
    fixture("smollm2_ids.json")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["name"].as_str()?.to_owned(), c["text"].as_str()?.to_owned())))
        .collect()
}

fn smollm2() -> Tokenizer {
    let f = GgufFile::open(common::smollm2_gguf()).unwrap();
    Tokenizer::from_gguf(&f).unwrap()
}

fn qwen_real() -> Tokenizer {
    let dir = common::qwen_reference_tokenizer();
    Tokenizer::from_hf_dir(dir.parent().unwrap()).unwrap()
}

/// Compares two tokenizers on `texts`, both with and without special tokens; returns the
/// number of texts and panics listing the first mismatches.
fn assert_same_ids(label: &str, ours: &Tokenizer, real: &Tokenizer, texts: &[String]) -> usize {
    let mut bad = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        for special in [false, true] {
            let (a, b) = (ours.encode(t, special).unwrap(), real.encode(t, special).unwrap());
            if a != b {
                bad.push(format!(
                    "#{i} special={special}: ours {:?}.. real {:?}..",
                    &a[..a.len().min(12)],
                    &b[..b.len().min(12)]
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{label}: {} mismatches, first: {:#?}", bad.len(), &bad[..bad.len().min(5)]);
    texts.len()
}

#[test]
#[ignore = "needs the optional Qwen asset"]
fn qwen_gguf_matches_real_tokenizer_on_gsm8k_mmath_and_edge_cases() {
    let t0 = Instant::now();
    let f = GgufFile::open(common::qwen_gguf()).unwrap();
    let ours = Tokenizer::from_gguf(&f).unwrap();
    let built = t0.elapsed();
    let real = qwen_real();

    let t1 = Instant::now();
    let gsm = gsm8k();
    let questions: Vec<String> = gsm.iter().map(|(q, _)| q.clone()).collect();
    let answers: Vec<String> = gsm.iter().map(|(_, a)| a.clone()).collect();
    let nq = assert_same_ids("gsm8k questions", &ours, &real, &questions);
    let na = assert_same_ids("gsm8k answers", &ours, &real, &answers);
    assert_eq!(nq, 1319);
    let (mut per_lang, mut n_mmath) = (Vec::new(), 0);
    for lang in MMATH_LANGS {
        let n = assert_same_ids(&format!("mmath {lang}"), &ours, &real, &mmath_questions(lang));
        per_lang.push(format!("{lang}={n}"));
        n_mmath += n;
    }
    let mut tricky: Vec<String> = tricky_strings().into_iter().map(|(_, t)| t).collect();
    tricky.extend(
        [
            "<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\n1+1=?<|im_end|>\n<|im_start|>assistant\n",
            "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
            "<tool_call>{\"name\": \"calc\"}</tool_call>",
            "9999999999999999999999999999 0.000000001 1,234,567.891",
            "\n\n\n\n    \t\t  \r\n\r\n  x  \n",
        ]
        .map(str::to_owned),
    );
    let nt = assert_same_ids("edge cases", &ours, &real, &tricky);
    eprintln!(
        "qwen: GGUF tokenizer built in {built:.2?}; identical ids on {nq} GSM8K questions, {na} GSM8K answers, MMATH {} ({} total), {nt} edge cases; compared in {:.2?}",
        per_lang.join(" "),
        n_mmath,
        t1.elapsed()
    );

    // Special tokens, EOS set and decode agree too.
    for s in ["<|im_end|>", "<|endoftext|>", "<|im_start|>"] {
        assert_eq!(ours.token_to_id(s), real.token_to_id(s), "{s}");
    }
    assert!(ours.is_eos(151645) && ours.is_eos(151643), "{:?}", ours.eos_ids());
    assert!(!ours.add_bos());

    // The one known difference: llama.cpp's converter stores `<|...|>` added tokens as control
    // tokens, so the FIM/repo markers that Qwen's tokenizer.json calls non-special are special
    // here (they only matter for `decode(.., skip_special = true)`).
    let special = |t: &Tokenizer| -> Vec<(u32, String)> {
        let mut v: Vec<_> = t.added_tokens().into_iter().filter(|a| a.special).map(|a| (a.id, a.content)).collect();
        v.sort();
        v
    };
    let (ours_sp, real_sp) = (special(&ours), special(&real));
    let extra: Vec<&str> = ours_sp.iter().filter(|x| !real_sp.contains(x)).map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        extra,
        ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]
    );
    assert!(real_sp.iter().all(|x| ours_sp.contains(x)));
    for t in &tricky {
        let ids = real.encode(t, false).unwrap();
        assert_eq!(ours.decode(&ids, false).unwrap(), real.decode(&ids, false).unwrap());
        if !extra.iter().any(|e| t.contains(e)) {
            assert_eq!(ours.decode(&ids, true).unwrap(), real.decode(&ids, true).unwrap());
        }
    }
}

#[test]
fn smollm2_ids_match_transformers_gguf_fixture() {
    let tok = smollm2();
    let questions = gsm8k();
    let doc = fixture("smollm2_ids.json");
    let cases = doc["cases"].as_array().unwrap();
    let (mut n_gsm, mut n_text, mut n_unpatched_differs) = (0, 0, 0);
    for c in cases {
        let text = match c.get("gsm8k_index") {
            Some(i) => {
                n_gsm += 1;
                questions[i.as_u64().unwrap() as usize].0.clone()
            }
            None => {
                n_text += 1;
                c["text"].as_str().unwrap().to_owned()
            }
        };
        let want: Vec<u32> = serde_json::from_value(c["ids"].clone()).unwrap();
        assert_eq!(tok.encode(&text, false).unwrap(), want, "case {c}");
        n_unpatched_differs += c.get("ids_unpatched").is_some() as usize;
    }
    assert!(n_gsm >= 50 && n_text >= 15, "{n_gsm} {n_text}");
    eprintln!("smollm2: {n_gsm} GSM8K + {n_text} edge cases match ({n_unpatched_differs} differ from the conversion without the digit split)");
}

#[test]
fn smollm2_round_trips_gsm8k_and_mmath() {
    let tok = smollm2();
    let mut texts: Vec<String> = gsm8k().into_iter().flat_map(|(q, a)| [q, a]).collect();
    for lang in MMATH_LANGS {
        texts.extend(mmath_questions(lang));
    }
    texts.extend(tricky_strings().into_iter().map(|(_, t)| t));
    let t0 = Instant::now();
    let mut n_tokens = 0;
    for t in &texts {
        let ids = tok.encode(t, false).unwrap();
        n_tokens += ids.len();
        assert_eq!(&tok.decode(&ids, false).unwrap(), t);
    }
    eprintln!("smollm2: {} texts ({n_tokens} tokens) round-trip in {:.2?}", texts.len(), t0.elapsed());
}

#[test]
fn smollm2_special_tokens_eos_and_config() {
    let tok = smollm2();
    assert_eq!(tok.token_to_id("<|im_end|>"), Some(2));
    assert_eq!(tok.bos_id(), Some(1));
    assert!(!tok.add_bos(), "tokenizer.ggml.add_bos_token is false");
    assert_eq!(tok.eos_ids(), &[0, 2]);
    let ids = tok.encode("<|im_start|>user\nhi<|im_end|>", true).unwrap();
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
    assert_eq!(tok.decode(&ids, true).unwrap(), "user\nhi");

    let cfg: Value = serde_json::from_str(&tok.tokenizer_config_json().unwrap()).unwrap();
    assert_eq!(cfg["eos_token"], "<|im_end|>");
    assert_eq!(cfg["bos_token"], "<|im_start|>");
    assert_eq!(cfg["unk_token"], "<|endoftext|>");
    assert_eq!(cfg["model_max_length"], 8192);
    assert_eq!(cfg["added_tokens_decoder"].as_object().unwrap().len(), 17);
    assert_eq!(cfg["added_tokens_decoder"]["2"]["special"], true);
    assert!(cfg["chat_template"].as_str().unwrap().contains("<|im_start|>"));
}

/// The files `qtool convert` writes load back as an equivalent tokenizer.
#[test]
fn smollm2_written_files_reload_identically() {
    let tok = smollm2();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tokenizer.json", &tok.to_json().unwrap());
    write(dir.path(), "tokenizer_config.json", &tok.tokenizer_config_json().unwrap());
    let back = Tokenizer::from_hf_dir(dir.path()).unwrap();
    for (_, t) in tricky_strings() {
        assert_eq!(back.encode(&t, true).unwrap(), tok.encode(&t, true).unwrap(), "{t:?}");
    }
    assert_eq!(back.eos_ids(), tok.eos_ids());
    let msgs = [ChatMessage::user("hi")];
    let render = |t: &Tokenizer| t.chat_template().unwrap().render(&msgs, true).unwrap();
    assert_eq!(render(&back), render(&tok));
}

/// A model folder whose config asks for BOS gets it even though its tokenizer.json does not add
/// it (what transformers' Llama tokenizers do with `add_bos_token`).
#[test]
fn hf_dir_add_bos_token_prepends_bos() {
    let tok = smollm2();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tokenizer.json", &tok.to_json().unwrap());
    let mut cfg: Value = serde_json::from_str(&tok.tokenizer_config_json().unwrap()).unwrap();
    cfg["add_bos_token"] = Value::Bool(true);
    write(dir.path(), "tokenizer_config.json", &cfg.to_string());
    let back = Tokenizer::from_hf_dir(dir.path()).unwrap();
    assert!(back.add_bos());
    let plain = tok.encode("Hi there", false).unwrap();
    assert_eq!(back.encode("Hi there", true).unwrap(), [&[1][..], &plain].concat());
    assert_eq!(back.encode("Hi there", false).unwrap(), plain);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Every supported pre-tokenizer family compiles and tokenizes; Llama 3's adds BOS by default.
#[test]
fn every_pre_tokenizer_family_builds() {
    let f = GgufFile::open(common::smollm2_gguf()).unwrap();
    let base = GgufVocab::from_gguf(&f).unwrap();
    let text = "Hello  world 12345, it's 3.5\n\n½ 中文";
    for pre in
        [PreTokenizer::Gpt2, PreTokenizer::Default, PreTokenizer::Llama3, PreTokenizer::Qwen2, PreTokenizer::SmolLm]
    {
        let mut v = base.clone();
        v.pre = pre;
        v.add_bos = pre.default_add_bos();
        let tok = Tokenizer::from_gguf_vocab(&v).unwrap();
        let ids = tok.encode(text, true).unwrap();
        assert_eq!(tok.add_bos(), pre == PreTokenizer::Llama3, "{pre:?}");
        assert_eq!(ids[0] == 1, pre == PreTokenizer::Llama3, "{pre:?}");
        let plain = tok.encode(text, false).unwrap();
        assert_eq!(tok.decode(&plain, false).unwrap(), text, "{pre:?}");
    }
}

/// Renders every fixture conversation and compares byte for byte.
fn check_chat_fixture(tok: &Tokenizer, name: &str) -> usize {
    let doc = fixture(name);
    let tmpl = tok.chat_template().expect("a chat template");
    let cases = doc["cases"].as_array().unwrap();
    for c in cases {
        let msgs: Vec<ChatMessage> = serde_json::from_value(c["messages"].clone()).unwrap();
        let agp = c["add_generation_prompt"].as_bool().unwrap();
        let got = tmpl.render(&msgs, agp).unwrap();
        assert_eq!(got, c["rendered"].as_str().unwrap(), "{name} case {} agp={agp}", c["name"]);
    }
    cases.len()
}

#[test]
fn chat_template_matches_transformers_qwen3_config() {
    assert_eq!(check_chat_fixture(&qwen_real(), "chat_qwen3.json"), 10);
}

#[test]
fn chat_template_matches_transformers_smollm2_gguf() {
    let tok = smollm2();
    assert_eq!(check_chat_fixture(&tok, "chat_smollm2.json"), 10);
    let p = tok.chat_template().unwrap().prompt(Some("Be brief."), "2+2?").unwrap();
    assert_eq!(p, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
}

#[test]
#[ignore = "needs the optional Qwen asset"]
fn chat_template_matches_transformers_qwen25coder_gguf() {
    let tok = Tokenizer::from_gguf(&GgufFile::open(common::qwen_gguf()).unwrap()).unwrap();
    assert_eq!(check_chat_fixture(&tok, "chat_qwen25coder.json"), 10);
}

/// Streams ids one at a time and checks the chunks join to the full decode.
fn check_stream(tok: &Tokenizer, ids: &[u32], skip_special: bool) -> usize {
    let mut dec = tok.stream_decoder(skip_special);
    let mut out = String::new();
    let mut chunks = 0;
    for &id in ids {
        if let Some(s) = dec.push(id).unwrap() {
            out.push_str(&s);
            chunks += 1;
        }
    }
    out.push_str(&dec.finish().unwrap().unwrap_or_default());
    assert_eq!(out, tok.decode(ids, skip_special).unwrap());
    chunks
}

#[test]
fn stream_decoder_equals_full_decode_multilingual() {
    let real_qwen = qwen_real();
    for (label, tok) in [("smollm2", smollm2()), ("qwen3", real_qwen)] {
        let mut texts: Vec<String> = Vec::new();
        for lang in MMATH_LANGS {
            texts.extend(mmath_questions(lang).into_iter().take(20));
        }
        texts.extend(tricky_strings().into_iter().map(|(_, t)| t));
        let (mut n_ids, mut n_chunks) = (0, 0);
        for t in &texts {
            let ids = tok.encode(t, false).unwrap();
            n_ids += ids.len();
            n_chunks += check_stream(&tok, &ids, false);
            check_stream(&tok, &ids, true);
        }
        // Cut inside a multi-byte character: the held-back bytes come out at the end, as the
        // full decode shows them.
        let ids = tok.encode("ok 😀", false).unwrap();
        check_stream(&tok, &ids[..ids.len() - 1], false);
        assert!(n_chunks < n_ids, "{label}: partial characters must be held back");
        eprintln!("{label}: {} texts, {n_ids} ids streamed as {n_chunks} chunks", texts.len());
    }
}
