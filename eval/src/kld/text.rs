//! The fixed text a KLD run scores: any UTF-8 file, or the GSM8K test set's reference
//! solutions (the `answer` field of each JSONL line, in file order, joined by blank lines).
//! The text's sha256 keys the base-logit cache.

use crate::error::{EvalError, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where the text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextSource {
    /// A UTF-8 text file, used as is.
    File(PathBuf),
    /// The reference solutions of a GSM8K JSONL file (`{question, answer}` per line).
    Gsm8kSolutions(PathBuf),
}

/// A loaded text with its description and hash.
#[derive(Debug, Clone)]
pub struct Text {
    /// The text.
    pub text: String,
    /// Where it came from, for reports (`file:PATH` or `gsm8k-solutions:PATH`).
    pub source: String,
    /// Lowercase hex sha256 of the text's UTF-8 bytes.
    pub sha256: String,
}

fn read(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|e| EvalError::Text {
        path: path.to_path_buf(),
        what: format!("not UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
    })
}

/// The `answer` fields of a GSM8K JSONL file, in order, joined by blank lines.
pub fn gsm8k_solutions(path: &Path) -> Result<String> {
    let mut answers = Vec::new();
    for (i, line) in read(path)?.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |what: String| EvalError::Text { path: path.to_path_buf(), what: format!("line {}: {what}", i + 1) };
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let a = v.get("answer").and_then(|a| a.as_str()).ok_or_else(|| bad("no string field 'answer'".into()))?;
        answers.push(a.to_owned());
    }
    if answers.is_empty() {
        return Err(EvalError::Text { path: path.to_path_buf(), what: "no GSM8K lines".into() });
    }
    Ok(answers.join("\n\n"))
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl TextSource {
    /// Reads the text.
    pub fn load(&self) -> Result<Text> {
        let (text, source) = match self {
            TextSource::File(p) => (read(p)?, format!("file:{}", p.display())),
            TextSource::Gsm8kSolutions(p) => (gsm8k_solutions(p)?, format!("gsm8k-solutions:{}", p.display())),
        };
        let sha256 = sha256_hex(text.as_bytes());
        Ok(Text { text, source, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm8k_answers_joined_by_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        std::fs::write(
            &p,
            "{\"question\":\"q1\",\"answer\":\"a\\n#### 1\"}\n\n{\"question\":\"q2\",\"answer\":\"b\"}\n",
        )
        .unwrap();
        let t = TextSource::Gsm8kSolutions(p.clone()).load().unwrap();
        assert_eq!(t.text, "a\n#### 1\n\nb");
        assert_eq!(t.sha256, sha256_hex(b"a\n#### 1\n\nb"));
        std::fs::write(&p, "{\"question\":\"q\"}\n").unwrap();
        let e = TextSource::Gsm8kSolutions(p).load().unwrap_err();
        assert!(e.to_string().contains("line 1: no string field 'answer'"), "{e}");
    }

    #[test]
    fn files_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, b"ok\xff").unwrap();
        let e = TextSource::File(p).load().unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
