//! `qtool study --status DIR`: what is done, what remains, and an estimate of the time left from
//! the manifest: the answers left × the mean generated tokens per answer measured so far ÷ the
//! measured generation speed, plus the mean measured quantization and KLD time for each
//! configuration that still needs them.

use super::lock::StudyLock;
use super::manifest::{ConfigState, Manifest, Stage};
use super::plan::BASE;
use std::fmt::Write as _;
use std::path::Path;

/// The estimate of the time left.
#[derive(Debug, Clone, PartialEq)]
pub struct Eta {
    /// Seconds, when everything it needs was measured.
    pub seconds: Option<f64>,
    /// Seconds of the parts that were measured (a lower bound when `seconds` is `None`).
    pub at_least: f64,
    /// How it was computed, in words.
    pub how: String,
}

impl Eta {
    /// `4m 10s`, `at least 5s`, or `unknown`.
    pub fn text(&self) -> String {
        match self.seconds {
            Some(s) => duration(s),
            None if self.at_least > 0.0 => format!("at least {}", duration(self.at_least)),
            None => "unknown".into(),
        }
    }
}

/// `3h 02m`, `4m 10s`, `42s`.
pub fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The estimate for `m`; `max_new_tokens` stands in for the tokens per answer until some are
/// measured.
pub fn eta(m: &Manifest) -> Eta {
    let quantized = |c: &ConfigState| c.name != BASE;
    let left: usize = m.configs.iter().map(|c| c.answers_total.saturating_sub(c.answers_done)).sum();
    let (tokens, secs, timed) = m
        .configs
        .iter()
        .fold((0u64, 0f64, 0usize), |(t, s, n), c| (t + c.gen_tokens, s + c.eval_s, n + c.timed_answers));
    let mut parts = Vec::new();
    let mut total = Some(0.0);
    let mut at_least = 0.0;
    if left > 0 {
        let per_answer = if timed > 0 { tokens as f64 / timed as f64 } else { m.settings.max_new_tokens as f64 };
        let basis = if timed > 0 { "measured" } else { "--max-new-tokens, none measured yet" };
        match (tokens > 0 && secs > 0.0).then(|| tokens as f64 / secs) {
            Some(tps) => {
                let s = left as f64 * per_answer / tps;
                parts.push(format!(
                    "answers {}: {left} left × {per_answer:.0} tokens ({basis}) at {tps:.1} generated tok/s",
                    duration(s)
                ));
                total = total.map(|t| t + s);
                at_least += s;
            }
            None => {
                parts.push(format!("answers: {left} left, speed not measured yet"));
                total = None;
            }
        }
    }
    for (what, pending, measured) in [
        (
            "quantization",
            m.configs.iter().filter(|c| quantized(c) && c.stage == Stage::Pending).count(),
            mean(m.configs.iter().filter_map(|c| c.quantize_s)),
        ),
        (
            "KLD",
            m.configs.iter().filter(|c| quantized(c) && c.stage < Stage::KldDone).count(),
            mean(m.configs.iter().filter_map(|c| c.kld_s)),
        ),
    ] {
        if pending == 0 {
            continue;
        }
        match measured {
            Some(s) => {
                parts.push(format!(
                    "{what} {}: {pending} × {} measured mean",
                    duration(pending as f64 * s),
                    duration(s)
                ));
                total = total.map(|t| t + pending as f64 * s);
                at_least += pending as f64 * s;
            }
            None => {
                parts.push(format!("{what}: {pending} to do, time not measured yet"));
                total = None;
            }
        }
    }
    Eta { seconds: total, at_least, how: parts.join("; ") }
}

/// The status text of the study in `dir`.
pub fn render(dir: &Path) -> anyhow::Result<String> {
    let Some(m) = Manifest::load(dir)? else {
        anyhow::bail!(
            "{} holds no study (no study.json); start one with qtool study ... --out {}",
            dir.display(),
            dir.display()
        );
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "study {}: model {}, {} configurations, {} answers each",
        dir.display(),
        m.settings.model,
        m.configs.len(),
        m.settings.answers_per_config
    );
    let _ = match StudyLock::held(dir) {
        Some(pid) => writeln!(s, "running now ({})", pid.map_or("process unknown".into(), |p| format!("process {p}"))),
        None => writeln!(s, "not running"),
    };
    let _ = writeln!(s, "\n| configuration | stage | answers | quantize s | KLD s | eval s | tok/s |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
    let f = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.1}"));
    for c in &m.configs {
        let _ = writeln!(
            s,
            "| {} | {} | {}/{} | {} | {} | {:.1} | {} |",
            c.name,
            c.status(),
            c.answers_done,
            c.answers_total,
            f(c.quantize_s),
            f(c.kld_s),
            c.eval_s,
            f(c.tok_per_s())
        );
    }
    let done: Vec<&str> = m.configs.iter().filter(|c| c.stage == Stage::Done).map(|c| c.name.as_str()).collect();
    let left: Vec<String> =
        m.configs.iter().filter(|c| c.stage != Stage::Done).map(|c| format!("{} ({})", c.name, c.status())).collect();
    let _ = writeln!(s, "\ndone: {}", if done.is_empty() { "none".into() } else { done.join(", ") });
    if left.is_empty() {
        let _ = writeln!(s, "remaining: nothing; the study is complete (report: {})", dir.join("report.md").display());
    } else {
        let _ = writeln!(s, "remaining: {}", left.join(", "));
        let e = eta(&m);
        let _ = writeln!(s, "ETA: {} ({})", e.text(), e.how);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(configs: Vec<ConfigState>) -> Manifest {
        Manifest {
            commands: vec![],
            settings: crate::study::settings::tests::example(),
            batch: 8,
            skipped: vec![],
            files: vec![],
            configs,
        }
    }

    #[test]
    fn eta_from_measured_speed_tokens_and_stage_times() {
        let mut base = ConfigState::new("base", 10);
        base.stage = Stage::Done;
        base.answers_done = 10;
        (base.eval_s, base.gen_tokens, base.timed_answers) = (20.0, 200, 10);
        let mut half = ConfigState::new("rtn:w8a16", 10);
        half.stage = Stage::Evaluating;
        half.answers_done = 5;
        (half.quantize_s, half.kld_s) = (Some(6.0), Some(4.0));
        (half.eval_s, half.gen_tokens, half.timed_answers) = (10.0, 100, 5);
        let pending = ConfigState::new("rtn:w4a16", 10);
        let e = eta(&manifest(vec![base, half, pending]));
        // 15 answers × 20 tokens at 10 tok/s = 30 s; one quantization (6 s) and one KLD (4 s).
        assert_eq!((e.seconds, e.text()), (Some(40.0), "40s".to_string()));
        assert!(e.how.contains("15 left × 20 tokens (measured) at 10.0 generated tok/s"), "{}", e.how);
        assert!(e.how.contains("quantization 6s: 1 × 6s"), "{}", e.how);
        let fresh = eta(&manifest(vec![ConfigState::new("base", 3)]));
        assert_eq!((fresh.seconds, fresh.text()), (None, "unknown".to_string()));
        assert!(fresh.how.contains("not measured"), "{}", fresh.how);
        assert_eq!(
            (duration(42.4), duration(250.0), duration(7380.0)),
            ("42s".into(), "4m 10s".into(), "2h 03m".into())
        );
    }
}
