//! The study's configurations: `base` (the model as given) and sweep entries
//! `METHOD[/CALIB]:SCHEME` (parsed by [`crate::sweep::Entry::parse`]), from `--configs` and
//! `--matrix paper`, with their method family, the paper-table descriptor, and whether a
//! configuration applies to the model (QuaRot's Hadamard rotations need orders qtool can build).

use crate::calib::CalibSpec;
use crate::sweep::Entry;
use eval::study_report::paper::Descriptor;
use model::ModelConfig;
use quant::Granularity;

/// The name of the unquantized configuration.
pub const BASE: &str = "base";

/// One configuration of the study.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// As written (`base`, `gptq:w4a16-asym`, `rtn/text:kv4`).
    pub name: String,
    /// The parsed entry; `None` for `base`.
    pub entry: Option<Entry>,
}

/// `--matrix` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matrix {
    /// The study's configurations: base; RTN / GPTQ / AWQ at W8, W4, W3 g128 asymmetric;
    /// KVQuant-style KV8/KV4/KV3 (keys calibrated on the first --calib set); QuaRot-KV KV4/KV3;
    /// SmoothQuant W8A8KV8 (GPTQ weights); QuaRot W4A4KV4 and W8A8KV8 (GPTQ weights).
    Paper,
}

/// The entries of `--matrix paper`, with `calib` the name of the set that calibrates the
/// KVQuant-style keys (GPTQ, AWQ and SmoothQuant use the first set).
pub fn paper_entries(calib: &str) -> Vec<String> {
    let mut v = vec![BASE.to_string()];
    for scheme in ["w8a16-g128-asym", "w4a16-asym", "w3a16-asym"] {
        for method in ["rtn", "gptq", "awq"] {
            v.push(format!("{method}:{scheme}"));
        }
    }
    for bits in [8, 4, 3] {
        v.push(format!("rtn/{calib}:kv{bits}"));
    }
    for bits in [4, 3] {
        v.push(format!("quarot:kvr{bits}"));
    }
    v.extend(["smoothquant+gptq:w8a8-kv8", "quarot+gptq:w4a4-kvr4", "quarot+gptq:w8a8-kvr8"].map(String::from));
    v
}

impl Configuration {
    /// Parses `base` or a sweep entry against the calibration sets.
    pub fn parse(name: &str, calib: &[(String, CalibSpec)]) -> anyhow::Result<Configuration> {
        let name = name.trim();
        if name == BASE {
            return Ok(Configuration { name: name.into(), entry: None });
        }
        let entry = Entry::parse(name, calib).map_err(|e| {
            anyhow::anyhow!("{e:#}\nconfigurations are `base` or METHOD[/CALIB]:SCHEME, e.g. rtn:w8a16, gptq:w4a16-asym, rtn/text:kv4, quarot:kvr4 (qtool quantize --list-schemes lists the schemes)")
        })?;
        if entry.scheme.is_unquantized() && entry.method == "rtn" {
            anyhow::bail!("configuration {name}: quantizes nothing; write `base` for the model as given");
        }
        Ok(Configuration { name: name.into(), entry: Some(entry) })
    }

    /// The folder name under the study folder (`base`, `gptq_w4a16-asym`).
    pub fn dir_name(&self) -> String {
        self.entry.as_ref().map_or(BASE.into(), Entry::file_name)
    }

    /// The scheme's canonical name (`as given` for the base).
    pub fn scheme_name(&self) -> String {
        self.entry.as_ref().map_or("as given".into(), |e| e.scheme.name.clone())
    }

    /// The method family: the charts' colours.
    pub fn family(&self) -> String {
        let Some(e) = &self.entry else { return BASE.into() };
        let s = &e.scheme;
        let kv_only = s.weight.is_none() && s.act.is_none() && s.kv.is_some();
        let family = match e.method.as_str() {
            "quarot" | "quarot+gptq" if kv_only => "QuaRot-KV",
            "quarot" | "quarot+gptq" => "QuaRot",
            "smoothquant" | "smoothquant+gptq" => "SmoothQuant",
            "gptq" => "GPTQ",
            "awq" => "AWQ",
            _ if kv_only && e.calib.is_some() => "KVQuant-style KV",
            _ if kv_only => "KV, uncalibrated",
            _ => "RTN",
        };
        family.into()
    }

    /// What it quantizes, as the paper's table distinguishes it.
    pub fn descriptor(&self) -> Descriptor {
        let Some(e) = &self.entry else { return Descriptor { method: BASE.into(), ..Descriptor::default() } };
        let s = &e.scheme;
        Descriptor {
            method: e.method.clone(),
            weight_bits: s.weight.as_ref().map(|w| w.bits()),
            act_bits: s.act.as_ref().map(|a| a.spec.int.bits()),
            kv_bits: s.kv.as_ref().map(|k| k.bits()),
            kv_rotated: s.kv.as_ref().is_some_and(|k| k.k.granularity != Granularity::PerChannel),
            kv_calibrated: e.calib.is_some(),
        }
    }

    /// Why the configuration cannot run on a model of this architecture, if it cannot: QuaRot
    /// rotates the residual stream, the `down_proj` input and the heads, QuaRot-KV the heads,
    /// and each needs a Hadamard order qtool can build.
    pub fn does_not_apply(&self, c: &ModelConfig) -> Option<String> {
        let e = self.entry.as_ref()?;
        let rotated_kv = self.descriptor().kv_rotated && e.scheme.kv.is_some();
        let mut orders = Vec::new();
        if e.method.starts_with("quarot") {
            orders.extend([("hidden size", c.hidden_size), ("intermediate size", c.intermediate_size)]);
        }
        if e.method.starts_with("quarot") || rotated_kv {
            orders.push(("head dimension", c.head_dim));
        }
        orders
            .into_iter()
            .find(|(_, n)| kernels::Hadamard::new(*n).is_err())
            .map(|(what, n)| format!("{}: no Hadamard matrix of order {n} (the model's {what})", self.name))
    }
}

/// The configurations of a run: `--configs` then `--matrix` (without repeats), `base` first
/// when present; the second list holds the matrix entries left out because they do not apply
/// to the model, with the reason. An explicit configuration that does not apply is an error.
pub fn configurations(
    configs: &[String],
    matrix: Option<Matrix>,
    calib: &[(String, CalibSpec)],
    model: &ModelConfig,
) -> anyhow::Result<(Vec<Configuration>, Vec<String>)> {
    let mut out: Vec<Configuration> = Vec::new();
    let mut skipped = Vec::new();
    for name in configs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let c = Configuration::parse(name, calib)?;
        if let Some(why) = c.does_not_apply(model) {
            anyhow::bail!("configuration {why}");
        }
        if !out.iter().any(|o| o.name == c.name) {
            out.push(c);
        }
    }
    if matrix == Some(Matrix::Paper) {
        let Some((first, _)) = calib.first() else {
            anyhow::bail!(
                "--matrix paper needs a calibration set for GPTQ, AWQ, SmoothQuant and the KVQuant-style keys: \
                 give --calib NAME=SPEC, e.g. --calib text=fortunes or --calib traces=traces:FILE.jsonl"
            );
        };
        for name in paper_entries(first) {
            let c = Configuration::parse(&name, calib)?;
            match c.does_not_apply(model) {
                Some(why) => skipped.push(why),
                None if !out.iter().any(|o| o.name == c.name) => out.push(c),
                None => {}
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!("no configurations: give --configs base,rtn:w8a16,... and/or --matrix paper");
    }
    if let Some(i) = out.iter().position(|c| c.entry.is_none()) {
        let base = out.remove(i);
        out.insert(0, base);
    }
    let mut dirs: Vec<String> = out.iter().map(Configuration::dir_name).collect();
    dirs.sort();
    if let Some(w) = dirs.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("two configurations share the folder name {}; rename one", w[0]);
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::CalibSource;

    fn calib() -> Vec<(String, CalibSpec)> {
        let spec = CalibSpec { source: CalibSource::Text("t.txt".into()), n_samples: 4, seqlen: 64, seed: 0 };
        vec![("text".into(), spec)]
    }

    fn smollm2_like() -> ModelConfig {
        let v = serde_json::json!({
            "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536,
            "num_attention_heads": 9, "num_key_value_heads": 3, "num_hidden_layers": 2, "rms_norm_eps": 1e-5,
            "vocab_size": 49152, "max_position_embeddings": 2048
        });
        ModelConfig::from_hf_value(&v, std::path::Path::new("config.json")).unwrap()
    }

    #[test]
    fn paper_matrix_parses_and_base_comes_first() {
        let (cs, skipped) =
            configurations(&["rtn:w8a16".into()], Some(Matrix::Paper), &calib(), &smollm2_like()).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(cs[0].name, "base");
        assert_eq!(cs[1].name, "rtn:w8a16");
        assert_eq!(cs.len(), 1 + paper_entries("text").len());
        let family = |n: &str| cs.iter().find(|c| c.name == n).unwrap().family();
        assert_eq!(family("rtn/text:kv4"), "KVQuant-style KV");
        assert_eq!(family("quarot:kvr4"), "QuaRot-KV");
        assert_eq!(family("quarot+gptq:w4a4-kvr4"), "QuaRot");
        assert_eq!(family("smoothquant+gptq:w8a8-kv8"), "SmoothQuant");
        let d = cs.iter().find(|c| c.name == "quarot:kvr3").unwrap().descriptor();
        assert!(d.kv_rotated && d.kv_bits == Some(3) && d.weight_bits.is_none());
        let d = cs.iter().find(|c| c.name == "rtn/text:kv3").unwrap().descriptor();
        assert!(!d.kv_rotated && d.kv_calibrated);
        assert_eq!(eval::study_report::paper::finding(&d).unwrap().delta, -12.3);
    }

    #[test]
    fn bad_entries_and_missing_calibration_are_refused() {
        let m = smollm2_like();
        let e = configurations(&["gptq:w5a16".into()], None, &calib(), &m).unwrap_err().to_string();
        assert!(e.contains("w5a16") && e.contains("METHOD[/CALIB]:SCHEME"), "{e}");
        let e = configurations(&[], Some(Matrix::Paper), &[], &m).unwrap_err().to_string();
        assert!(e.contains("--matrix paper needs a calibration set"), "{e}");
        let e = configurations(&["rtn:bf16".into()], None, &[], &m).unwrap_err().to_string();
        assert!(e.contains("write `base`"), "{e}");
        let e = configurations(&[], None, &[], &m).unwrap_err().to_string();
        assert!(e.contains("no configurations"), "{e}");
    }

    #[test]
    fn rotations_that_cannot_be_built_are_left_out_of_the_matrix() {
        let mut m = smollm2_like();
        m.head_dim = 50; // no Hadamard matrix of order 50
        let (cs, skipped) = configurations(&[], Some(Matrix::Paper), &calib(), &m).unwrap();
        assert!(cs.iter().all(|c| !c.name.contains("quarot")));
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped[0].contains("order 50"), "{skipped:?}");
        let e = configurations(&["quarot:kvr4".into()], None, &calib(), &m).unwrap_err().to_string();
        assert!(e.contains("order 50"), "{e}");
    }
}
