//! Calibration must be disjoint from evaluation: before anything runs, every document of every
//! calibration set the study's configurations use is checked against the items this study
//! evaluates (their questions, GSM8K's reference solutions, HumanEval's stubs), and any overlap
//! is refused naming the set, the document and the item. (The calibration code also drops
//! documents holding any GSM8K test item, silently; this check covers every task and refuses
//! instead, so a traces file answered on evaluated prompts cannot slip in.)

use crate::calib::guard::{normalize, EvalGuard};
use crate::calib::CalibSpec;
use eval::tasks::{Body, Task};
use std::collections::HashMap;

/// Shortest item text checked (a shorter one would match ordinary prose by chance).
const MIN_CHARS: usize = 20;

/// Words in an item's reference solution before it is checked too (bare answers like `18` are
/// not).
const MIN_SOLUTION_WORDS: usize = 8;

/// The texts of an item that calibration must not contain.
fn item_texts(body: &Body) -> Vec<&str> {
    match body {
        Body::Answer { question, gold } => {
            let mut v = vec![question.as_str()];
            if gold.split_whitespace().count() >= MIN_SOLUTION_WORDS {
                v.push(gold.as_str());
            }
            v
        }
        Body::Choice { question, .. } => vec![question.as_str()],
        Body::Code(p) => vec![p.prompt.as_str()],
    }
}

/// The start of a text for a message (GPQA's questions are never printed: its authors ask that
/// they not be republished).
fn excerpt(id: &str, text: &str) -> String {
    if id.starts_with("gpqa/") {
        return String::new();
    }
    let short: String = text.chars().take(60).collect();
    format!(" (\"{short}{}\")", if text.chars().count() > 60 { "..." } else { "" })
}

/// Refuses calibration sets (name, spec) whose documents contain an evaluated item of `tasks`
/// (already cut to the evaluated items).
pub fn check_disjoint(calib: &[(String, CalibSpec)], tasks: &[Task]) -> anyhow::Result<()> {
    if calib.is_empty() {
        return Ok(());
    }
    let mut owner: HashMap<String, &str> = HashMap::new();
    let mut texts = Vec::new();
    for item in tasks.iter().flat_map(|t| &t.items) {
        for text in item_texts(&item.body).into_iter().filter(|t| t.trim().len() >= MIN_CHARS) {
            owner.entry(normalize(text)).or_insert(&item.id);
            texts.push(text.to_string());
        }
    }
    let guard = EvalGuard::new(texts, None);
    for (name, spec) in calib {
        let docs = spec.source.documents()?;
        let hits: Vec<(usize, &str, &str)> = docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| guard.find(d).map(|t| (i, owner.get(t).copied().unwrap_or("?"), t)))
            .collect();
        if let Some(&(doc, id, text)) = hits.first() {
            anyhow::bail!(
                "calibration set `{name}` ({}) overlaps the evaluation: {} of its {} documents contain evaluated \
                 items; the first, document {}, contains {id}{}. Calibration must be disjoint from every evaluated \
                 item: remove those documents (e.g. make traces on held-out prompts such as --tasks mmath-en) or \
                 evaluate other items",
                spec.source.label(),
                hits.len(),
                docs.len(),
                doc + 1,
                excerpt(id, text),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::CalibSource;
    use eval::tasks::{Grader, Item};

    fn task() -> Task {
        let item = |i: usize, q: &str| Item {
            id: format!("gsm8k/{i}"),
            body: Body::Answer { question: q.into(), gold: "18".into() },
        };
        Task {
            name: "gsm8k".into(),
            grader: Grader::Answer(eval::grade::TaskKind::Gsm8k),
            items: vec![
                item(0, "Janet has 16 ducks that lay eggs every single day of the week."),
                item(1, "A robe takes 2 bolts of blue fiber and half that much white fiber."),
            ],
        }
    }

    fn calib(dir: &std::path::Path, text: &str) -> Vec<(String, CalibSpec)> {
        let p = dir.join("c.txt");
        std::fs::write(&p, text).unwrap();
        vec![("c".into(), CalibSpec { source: CalibSource::Text(p), n_samples: 1, seqlen: 8, seed: 0 })]
    }

    #[test]
    fn overlap_with_an_evaluated_item_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ok = calib(dir.path(), "Some prose about ducks.\n\nAnother paragraph, 18 of them.");
        check_disjoint(&ok, &[task()]).unwrap();
        let bad = calib(
            dir.path(),
            "Harmless text.\n\nQuestion: A robe takes 2 bolts of blue   fiber\nand half that much white fiber. Answer: 3",
        );
        let e = check_disjoint(&bad, &[task()]).unwrap_err().to_string();
        assert!(e.contains("calibration set `c`") && e.contains("document 2") && e.contains("gsm8k/1"), "{e}");
        assert!(e.contains("1 of its 2 documents") && e.contains("A robe takes"), "{e}");
        // Items not evaluated do not count.
        let mut only_first = task();
        only_first.items.truncate(1);
        check_disjoint(&bad, &[only_first]).unwrap();
        check_disjoint(&[], &[task()]).unwrap();
    }
}
