//! The report of a `qtool study`: per configuration and task, accuracy with 95% intervals and
//! its difference to the base (paired bootstrap interval, exact McNemar p-value), output length
//! against the base, KLD and top-1 agreement, bits per weight, the paper's finding beside each
//! row with whether this run agrees, and charts (accuracy and length against bits per weight,
//! accuracy drop against KLD).
//!
//! The caller (the `qtool study` pipeline) gathers each configuration's records and
//! measurements into [`ConfigInput`]s; [`build`] renders the markdown and the SVG files. Every
//! number in the body depends only on the records and measurements, so a study that was killed
//! and resumed renders the same report as an uninterrupted one; the caller's timings go in a
//! last section of their own.
//!
//! Modules: `stats` (intervals and tests), `analysis` (numbers per configuration and task),
//! `paper` (the paper's table and the agreement rule), `charts` (labelled scatter SVGs),
//! `render` (the markdown).

pub mod analysis;
pub mod charts;
pub mod paper;
pub mod render;
pub mod stats;

use crate::runner::Record;

/// One configuration of the study.
#[derive(Debug, Clone)]
pub struct ConfigInput {
    /// Its name (`base`, `gptq:w4a16-asym`, ...).
    pub name: String,
    /// Its method family (`base`, `RTN`, `GPTQ`, `AWQ`, `KVQuant-style KV`, `QuaRot-KV`,
    /// `SmoothQuant`, `QuaRot`): the charts' colours.
    pub family: String,
    /// What it quantizes (the paper lookup).
    pub descriptor: paper::Descriptor,
    /// The scheme's canonical name.
    pub scheme: String,
    /// Bits per weight the scheme costs on the decoder Linears.
    pub scheme_bpw: f64,
    /// Bits per weight of the Linears as the checkpoint stores them, when known.
    pub stored_bpw: Option<f64>,
    /// Mean KL divergence against the base on the fixed text, when measured.
    pub kld_mean: Option<f64>,
    /// Top-1 agreement with the base on the fixed text (0..1), when measured.
    pub top1: Option<f64>,
    /// Its progress (`done`, `eval 3 of 9`, `pending`, ...).
    pub status: String,
    /// Its results so far.
    pub records: Vec<Record>,
    /// The results file, relative to the report.
    pub results_link: String,
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct StudyInput {
    /// The report's title.
    pub title: String,
    /// Lines of the settings section (markdown list items without the dash).
    pub settings: Vec<String>,
    /// The configurations, in study order.
    pub configs: Vec<ConfigInput>,
    /// The index of the base configuration, if the study has one.
    pub base: Option<usize>,
    /// Tasks in study order.
    pub tasks: Vec<String>,
    /// Prefix of the chart files (`report` gives `report-gsm8k-accuracy.svg`).
    pub chart_prefix: String,
    /// Markdown appended as the last section (timings: the only part that differs between
    /// an interrupted and an uninterrupted run).
    pub timings: String,
}

pub use render::build;
