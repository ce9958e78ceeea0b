//! One configuration's pass through the stages: its checkpoint, its KLD, its answers (through
//! [`super::evaluate::evaluate`] with the engine's generator), then the report; the manifest is
//! written after each stage and each answer.

use super::evaluate::{self, Engine};
use super::layout::Layout;
use super::manifest::{ConfigState, Manifest, Stage};
use super::plan::Configuration;
use super::progress::{Bars, EvalObserver};
use super::{checkpoint, kld_stage, report, StudyOptions};
use eval::runner::EvalSettings;
use eval::tasks::Task;
use std::time::Instant;

/// One configuration's pass through the stages.
pub struct ConfigRun<'a> {
    /// The study's options.
    pub o: &'a StudyOptions,
    /// The study folder.
    pub layout: &'a Layout,
    /// The progress bars.
    pub bars: &'a Bars,
    /// What generates the answers.
    pub engine: &'a Engine,
    /// The tasks, cut to the evaluated items.
    pub tasks: &'a [Task],
    /// Seeds, sampling and budget.
    pub eval: &'a EvalSettings,
    /// Every configuration (for the report).
    pub configs: &'a [Configuration],
}

impl ConfigRun<'_> {
    fn update(&self, m: &mut Manifest, name: &str, f: impl FnOnce(&mut ConfigState)) -> anyhow::Result<()> {
        if let Some(c) = m.config_mut(name) {
            f(c);
        }
        m.save(&self.o.out)
    }

    /// Runs the stages `c` still needs.
    pub fn run(&self, c: &Configuration, m: &mut Manifest) -> anyhow::Result<()> {
        let (layout, o) = (self.layout, self.o);
        if m.configs.iter().any(|s| s.name == c.name && s.stage == Stage::Done) {
            return Ok(());
        }
        self.bars.stage("quantizing");
        let (info, made) = self.bars.suspend(|| checkpoint::ensure(layout, c, &o.model))?;
        self.update(m, &c.name, |s| {
            if made {
                s.quantize_s = Some(info.seconds);
            }
            s.stage = s.stage.max(Stage::Quantized);
        })?;
        let path = checkpoint::model_path(layout, c, &o.model);
        self.bars.stage("KLD");
        let (kld, measured) =
            self.bars.suspend(|| kld_stage::ensure(layout, c, &o.model, &path, &o.kld, &mut QuietKld))?;
        self.update(m, &c.name, |s| {
            if measured {
                s.kld_s = Some(kld.seconds);
            }
            s.stage = s.stage.max(Stage::KldDone);
        })?;
        let remaining = m.configs.iter().find(|s| s.name == c.name).is_some_and(|s| s.answers_done < s.answers_total);
        if remaining {
            self.bars.stage("loading the model");
            let label =
                if c.entry.is_some() { format!("ckpt/{}", c.dir_name()) } else { o.model.display().to_string() };
            let mut generator = self.engine.open(&path, &label)?;
            let mut obs = EvalObserver {
                bars: self.bars,
                manifest: m,
                dir: &o.out,
                name: c.name.clone(),
                last: Instant::now(),
                error: None,
            };
            evaluate::evaluate(generator.as_mut(), self.tasks, self.eval, &layout.results(c), &mut obs)?;
            if let Some(e) = obs.error {
                return Err(e);
            }
        }
        self.update(m, &c.name, |s| {
            s.answers_done = s.answers_total;
            s.stage = Stage::Done;
        })?;
        report::write(layout, m, self.configs, &o.model)?;
        Ok(())
    }
}

/// KLD notes go to stderr; its stage bars are not drawn (the study's bars show the stage).
struct QuietKld;

impl eval::kld::Observer for QuietKld {
    fn note(&mut self, msg: &str) {
        eprintln!("note: {msg}");
    }
}
