//! Outputs under hostile use (qtool issue 20): `convert --force` never deletes what the user
//! owns and swaps folders atomically, cleaning stale temporaries.

use crate::crafted::{fails_with, qtool_in};
use std::path::Path;

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn convert_force_never_deletes_a_users_folder() {
    let gguf = s(&crate::common::smollm2_gguf());
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::write(home.join("notes.txt"), "mine").unwrap();
    for out in [s(&home.join("sub/..")), ".".into(), "..".into(), s(&home.join("."))] {
        let (ok, text) = qtool_in(Some(&home.join("sub")), &["convert", &gguf, "--out", &out, "--force"]);
        assert!(!ok, "convert --out {out} --force must fail: {text}");
        assert!(text.contains("--out"), "{text}");
        assert!(home.join("notes.txt").exists() && home.join("sub").exists(), "--out {out} deleted the user's files");
    }
    // A folder that is not a model folder is not replaced either.
    let (ok, text) = qtool_in(None, &["convert", &gguf, "--out", &s(&home), "--force"]);
    assert!(!ok && text.contains("config.json"), "{text}");
    assert!(home.join("notes.txt").exists());
}

#[test]
fn convert_force_swaps_atomically_and_cleans_stale_temporaries() {
    let gguf = s(&crate::common::smollm2_gguf());
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("smol");
    // Temporaries of killed runs (pids that cannot be alive), in the old and the current naming.
    let dead = u32::MAX - 7;
    for stale in [format!(".smol.tmp-{dead}"), format!(".smol.qtool-tmp-{dead}")] {
        std::fs::create_dir_all(d.path().join(&stale)).unwrap();
        std::fs::write(d.path().join(&stale).join("model.safetensors"), vec![0u8; 1024]).unwrap();
    }
    let (ok, text) = qtool_in(None, &["convert", &gguf, "--out", &s(&out), "--dtype", "f16"]);
    assert!(ok, "{text}");
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(names(d.path()), vec!["smol".to_string()], "stale temporaries are cleaned");
    let first = std::fs::metadata(out.join("model.safetensors")).unwrap().len();
    // --force replaces it; a failed --force run leaves the old folder whole.
    let bad = d.path().join("bad.gguf");
    std::fs::write(&bad, b"GGUF\x03\0\0\0").unwrap();
    fails_with(&["convert", &s(&bad), "--out", &s(&out), "--force"], &["bad.gguf"]);
    assert_eq!(std::fs::metadata(out.join("model.safetensors")).unwrap().len(), first);
    let (ok, text) = qtool_in(None, &["convert", &gguf, "--out", &s(&out), "--force", "--dtype", "f16"]);
    assert!(ok, "{text}");
    assert!(out.join("config.json").exists() && out.join("model.safetensors").exists());
    assert_eq!(names(d.path()), vec!["bad.gguf".to_string(), "smol".to_string()], "no temporaries left");
}
