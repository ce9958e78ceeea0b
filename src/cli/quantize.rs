//! `qtool quantize --model PATH --scheme NAME [...] --out DIR` and `qtool quantize
//! --list-schemes`: flags to a `QuantizeOptions`, then the `quantize` pipeline.

use crate::calib::{CalibSource, CalibSpec};
use crate::quantize::{self, GptqSettings, QuantizeOptions};
use anyhow::{bail, Context};
use quant::gguf::GgmlType;
use quant::writer::{CheckpointFormat, FormatOptions};
use quant::{ClipSearch, Granularity, IntFormat, ScaleDtype, Scheme, SchemeOverrides};
use std::path::PathBuf;

/// Flags of `qtool quantize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Source checkpoint: a Hugging Face folder or a GGUF file.
    #[arg(long, required_unless_present = "list_schemes")]
    pub model: Option<PathBuf>,
    /// Scheme name (see --list-schemes), e.g. w4a16, w8a8, w4a16-g64-asym, w4a4-kv4.
    #[arg(long, required_unless_present = "list_schemes")]
    pub scheme: Option<String>,
    /// Weight group size along the input dimension (a multiple of 8), or `pc` for per-channel.
    #[arg(long)]
    pub group_size: Option<String>,
    /// Symmetric weights (zero point fixed at 2^(b-1)).
    #[arg(long, conflicts_with = "asym")]
    pub sym: bool,
    /// Asymmetric weights (a zero point per group).
    #[arg(long)]
    pub asym: bool,
    /// Quantize the KV cache KVQuant-style with this many bits: 8, 4, 3 or 2 (`kv4` also works).
    #[arg(long)]
    pub kv: Option<String>,
    /// Algorithm: rtn; gptq, awq, smoothquant, smoothquant+gptq (need --calib); quarot or
    /// quarot+gptq (Hadamard rotation, written as --format qtool; +gptq needs --calib).
    #[arg(long, default_value = "rtn", value_parser = crate::calib::recipe::METHODS)]
    pub method: String,
    /// SmoothQuant's migration strength alpha in [0, 1].
    #[arg(long, default_value_t = quant::smooth::DEFAULT_ALPHA)]
    pub smooth_alpha: f32,
    /// Calibration data: text:FILE (blank-line or %-separated documents), fortunes[:DIR] (Debian's
    /// `fortunes`), gsm8k:FILE (GSM8K-format JSONL, e.g. the train split) or traces:FILE.jsonl
    /// ({"text"}, {"prompt","response"} or {"response"} per line: a `qtool eval` results.jsonl
    /// is a traces file). Items that contain a GSM8K test question or solution are dropped. With
    /// --method rtn it runs RTN layer by layer (identical weights; a check of the pipeline), and
    /// a KVQuant-style KV scheme (kvN) gets its keys' ranges calibrated before RoPE.
    #[arg(long)]
    pub calib: Option<String>,
    /// Calibration samples.
    #[arg(long, default_value_t = 128)]
    pub calib_samples: usize,
    /// Tokens per calibration sample [default: 512 for text and gsm8k, 2048 for traces].
    #[arg(long)]
    pub calib_seqlen: Option<usize>,
    /// GPTQ: also draw this many held-out samples from the calibration source (windows the
    /// calibration draw did not pick) and print, per Linear type, the output error of GPTQ, RTN
    /// and RTN with the clip search on the calibration and on the held-out samples (an
    /// overfitting check; the held-out samples cost forwards but change no weight).
    #[arg(long, default_value_t = 0)]
    pub calib_holdout: usize,
    /// Seed of the calibration sample draw (and of QuaRot's random signs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// GPTQ: quantize columns by descending Hessian diagonal (desc_act). Formats other than gptq
    /// cannot store the permuted g_idx and get static groups.
    #[arg(long)]
    pub act_order: bool,
    /// GPTQ: group parameters from the weights up front (natural-order groups).
    #[arg(long)]
    pub static_groups: bool,
    /// GPTQ: dampening as a fraction of the mean Hessian diagonal.
    #[arg(long, default_value_t = 0.01)]
    pub damp: f64,
    /// Search a clip ratio per weight group (AutoGPTQ's MSE grid: 100 steps, shrink to 0.2, norm 2.4).
    #[arg(long)]
    pub clip_search: bool,
    /// Output format; default: compressed-tensors when it can express the scheme, else qtool.
    #[arg(long, value_parser = ["compressed-tensors", "gptq", "gguf", "qtool"])]
    pub format: Option<String>,
    /// GGUF type of the Linears: q8_0 (int8 sym), q4_0 (int4 sym), q4_1 or q4_k (int4 asym; default q4_k).
    #[arg(long, value_parser = ["q8_0", "q4_0", "q4_1", "q4_k"], ignore_case = true)]
    pub gguf_type: Option<String>,
    /// Element type of dense tensors and scales: bf16 (default; f16 for gptq) or f16 / f32.
    #[arg(long, value_parser = ["bf16", "f16", "f32"])]
    pub dtype: Option<String>,
    /// Quantize lm_head too (untied from the embeddings when they are tied); default: ignored.
    #[arg(long)]
    pub quantize_lm_head: bool,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    /// Output folder (a .gguf file for --format gguf); written atomically.
    #[arg(long, required_unless_present = "list_schemes")]
    pub out: Option<PathBuf>,
    /// Print every preset scheme with its exact formats and exit.
    #[arg(long)]
    pub list_schemes: bool,
}

fn kv_bits(s: &str) -> anyhow::Result<IntFormat> {
    let t = s.to_ascii_lowercase();
    let digits = t.trim_start_matches("kv").trim_start_matches("int");
    digits
        .parse::<u32>()
        .ok()
        .filter(|b| quant::scheme::KV_BITS.contains(b))
        .and_then(IntFormat::from_bits)
        .with_context(|| format!("--kv {s}: expected 8, 4, 3 or 2 (or kv8, kv4, kv3, kv2)"))
}

fn granularity(s: &str) -> anyhow::Result<Granularity> {
    if s.eq_ignore_ascii_case("pc") || s.eq_ignore_ascii_case("channel") || s == "-1" {
        return Ok(Granularity::PerChannel);
    }
    match s.parse::<u32>() {
        Ok(g) => Ok(Granularity::Group(g)),
        Err(_) => bail!("--group-size {s}: expected a positive multiple of 8 or `pc`"),
    }
}

/// Whether the scheme's canonical name sets the group size itself (`-g64`, `-pc`).
fn names_group(name: &str) -> bool {
    name.split('-')
        .skip(1)
        .any(|t| t == "pc" || (t.len() > 1 && t.starts_with('g') && t[1..].bytes().all(|b| b.is_ascii_digit())))
}

fn options(a: &Args) -> anyhow::Result<QuantizeOptions> {
    let name = a.scheme.as_deref().expect("clap requires --scheme");
    let mut o = SchemeOverrides::default();
    if let Some(g) = &a.group_size {
        o.granularity = Some(granularity(g)?);
    }
    if a.sym || a.asym {
        o.symmetric = Some(a.sym);
    }
    if let Some(kv) = &a.kv {
        o.kv = Some(kv_bits(kv)?);
    }
    let scheme = Scheme::parse(name)?.with_overrides(&o)?;
    let calib = a
        .calib
        .as_deref()
        .map(|c| -> anyhow::Result<CalibSpec> {
            let source = CalibSource::parse(c)?;
            let seqlen = a.calib_seqlen.unwrap_or_else(|| source.default_seqlen());
            Ok(CalibSpec { source, n_samples: a.calib_samples, seqlen, seed: a.seed })
        })
        .transpose()?;
    let recipe = crate::calib::Recipe::parse(&a.method)?;
    if recipe.needs_calibration() && calib.is_none() {
        bail!("--method {} needs calibration data: --calib text:FILE, gsm8k:FILE or traces:FILE", a.method);
    }
    if !recipe.gptq && (a.act_order || a.static_groups) {
        bail!(
            "--act-order and --static-groups are GPTQ settings; add --method gptq (or smoothquant+gptq, quarot+gptq)"
        );
    }
    if a.calib_holdout > 0 && !(recipe.gptq && calib.is_some()) {
        bail!("--calib-holdout {} checks GPTQ against held-out text: add --method gptq and --calib", a.calib_holdout);
    }
    if !(0.0..=1.0).contains(&a.smooth_alpha) {
        bail!("--smooth-alpha {}: expected a value in [0, 1]", a.smooth_alpha);
    }
    if !(a.damp.is_finite() && a.damp > 0.0) {
        bail!("--damp {}: expected a positive fraction of the mean Hessian diagonal, e.g. 0.01", a.damp);
    }
    let gguf_type = a.gguf_type.as_deref().map(|t| GgmlType::from_name(t).expect("clap restricts the values"));
    Ok(QuantizeOptions {
        model: a.model.clone().expect("clap requires --model"),
        out: a.out.clone().expect("clap requires --out"),
        format_options: FormatOptions {
            gguf_type,
            group_explicit: a.group_size.is_some() || names_group(&scheme.name),
        },
        scheme,
        format: a.format.as_deref().map(|f| CheckpointFormat::parse(f).expect("clap restricts the values")),
        method: a.method.clone(),
        smooth_alpha: a.smooth_alpha,
        seed: a.seed,
        calib,
        calib_holdout: a.calib_holdout,
        gptq: GptqSettings { act_order: a.act_order, static_groups: a.static_groups, damp: a.damp },
        clip_search: a.clip_search.then(ClipSearch::default),
        quantize_lm_head: a.quantize_lm_head,
        force: a.force,
        dtype: a.dtype.as_deref().map(|d| match d {
            "f32" => ScaleDtype::F32,
            "f16" => ScaleDtype::F16,
            _ => ScaleDtype::Bf16,
        }),
    })
}

/// Runs `qtool quantize`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.list_schemes {
        let mut text: String = quant::list_presets().iter().map(|s| s.describe() + "\n").collect();
        text.push_str(&quant::scheme::parse::grammar_help());
        text.push('\n');
        // A closed pipe (`| head`) is not an error worth a panic.
        match std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => return Ok(()),
        }
    }
    let o = options(&args)?;
    let summary = quantize::run(&o).with_context(|| format!("quantizing {}", o.model.display()))?;
    println!("{summary}");
    Ok(())
}
