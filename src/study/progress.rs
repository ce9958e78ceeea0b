//! The study's progress: an overall bar (answers of every configuration) and one bar for the
//! configuration at work (its stage, then its answers), drawn on stderr only when stdout is a
//! terminal, so logs and pipes stay quiet. While quantization or KLD runs (they print their
//! own progress) the bars step aside.
//!
//! [`EvalObserver`] is the evaluation's observer: it moves the bars and records each answer's
//! tokens and time in the manifest, written at once.

use super::manifest::{Manifest, Stage};
use eval::runner::{Progress, Record};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// The two bars.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    config: ProgressBar,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ")
}

impl Bars {
    /// Bars for `total` answers over the study, `done` of them already in.
    pub fn new(total: u64, done: u64) -> Bars {
        let target =
            if std::io::stdout().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(style("study  [{bar:30}] {pos}/{len} answers {msg} [{elapsed} eta {eta}]"));
        overall.set_position(done);
        let config = multi.add(ProgressBar::new(0));
        config.set_style(style("{prefix:>6} [{bar:30}] {pos}/{len} {msg}"));
        Bars { multi, overall, config }
    }

    /// A configuration starts (the `k`-th of `n`).
    pub fn config(&self, k: usize, n: usize, name: &str) {
        self.overall.set_message(format!("config {k}/{n}: {name}"));
        self.config.set_prefix(format!("{k}/{n}"));
        self.config.set_length(0);
        self.config.set_position(0);
    }

    /// What the configuration is doing now.
    pub fn stage(&self, msg: &str) {
        self.config.set_message(msg.to_string());
    }

    /// Runs `f` with the bars hidden (for stages that print their own progress).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// A line for the user, above the bars.
    pub fn note(&self, msg: &str) {
        self.multi.suspend(|| eprintln!("{msg}"));
    }

    /// Removes the bars.
    pub fn finish(&self) {
        self.config.finish_and_clear();
        self.overall.finish_and_clear();
    }
}

/// Observes one configuration's evaluation: bars, and the manifest written per answer.
pub struct EvalObserver<'a> {
    /// The bars.
    pub bars: &'a Bars,
    /// The manifest.
    pub manifest: &'a mut Manifest,
    /// The study folder.
    pub dir: &'a Path,
    /// The configuration.
    pub name: String,
    /// When the last answer (or the start) was seen.
    pub last: Instant,
    /// The first error writing the manifest (reported after the run).
    pub error: Option<anyhow::Error>,
}

impl Progress for EvalObserver<'_> {
    fn start(&mut self, total: usize, done: usize) {
        self.bars.config.set_length(total as u64);
        self.bars.config.set_position(done as u64);
        self.bars.stage("answers");
        self.last = Instant::now();
    }

    fn finished(&mut self, r: &Record) {
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.bars.config.inc(1);
        self.bars.overall.inc(1);
        if let Some(c) = self.manifest.config_mut(&self.name) {
            c.answers_done = (c.answers_done + 1).min(c.answers_total);
            c.stage = if c.answers_done == c.answers_total { Stage::Done } else { Stage::Evaluating };
            c.eval_s += secs;
            c.gen_tokens += r.gen_tokens as u64;
            c.timed_answers += 1;
            if let Some(tps) = c.tok_per_s() {
                self.bars.stage(&format!("answers, {tps:.1} tok/s"));
            }
        }
        if let Err(e) = self.manifest.save(self.dir) {
            self.error.get_or_insert(e);
        }
    }

    fn note(&mut self, msg: &str) {
        self.bars.note(&format!("note: {msg}"));
    }
}
