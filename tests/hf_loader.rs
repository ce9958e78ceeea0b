//! The Hugging Face folder loader: a sharded checkpoint (two safetensors files and
//! `model.safetensors.index.json`) loads to the same tensors and logits as the single-file
//! folder `qtool convert` writes, in bf16, f16 and f32.

use model::load::load_checkpoint;
use model::weights::DType;
use model::{LogitRows, Model, SeqChunk};
use safetensors::tensor::TensorView;
use std::path::Path;

fn convert(dir: &Path, dtype: DType) -> std::path::PathBuf {
    let out = dir.join(dtype.name());
    model::convert::convert_gguf(&crate::common::smollm2_gguf(), &out, dtype, false, &|_, _, _| Ok(())).unwrap();
    out
}

/// Rewrites `single/model.safetensors` as two shards plus an index in `sharded/`.
fn reshard(single: &Path, sharded: &Path) {
    std::fs::create_dir_all(sharded).unwrap();
    std::fs::copy(single.join("config.json"), sharded.join("config.json")).unwrap();
    let bytes = std::fs::read(single.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let (a, b) = names.split_at(names.len() / 2);
    let mut weight_map = serde_json::Map::new();
    for (i, part) in [a, b].iter().enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", i + 1);
        let views: Vec<(String, TensorView)> = part.iter().map(|n| (n.clone(), st.tensor(n).unwrap())).collect();
        safetensors::serialize_to_file(views, None, &sharded.join(&file)).unwrap();
        for n in part.iter() {
            weight_map.insert(n.clone(), file.clone().into());
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(sharded.join("model.safetensors.index.json"), index.to_string()).unwrap();
}

fn last_logits(path: &Path, dtype: Option<DType>) -> Vec<f32> {
    let m = Model::new(load_checkpoint(path, dtype).unwrap(), kernels::cpu_backend()).unwrap();
    let ids: Vec<u32> = (0..40).map(|i| 100 + 37 * i).collect();
    let mut cache = m.new_cache(1, ids.len());
    m.forward(&[SeqChunk { slot: 0, tokens: &ids }], &mut cache, LogitRows::Last).unwrap()
}

#[test]
fn sharded_folder_loads_like_single_file() {
    let tmp = tempfile::tempdir().unwrap();
    let single = convert(tmp.path(), DType::BF16);
    let sharded = tmp.path().join("sharded");
    reshard(&single, &sharded);
    let files: Vec<_> = std::fs::read_dir(&sharded).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 4, "config, index and two shards: {files:?}");
    let a = load_checkpoint(&single, None).unwrap();
    let b = load_checkpoint(&sharded, None).unwrap();
    assert_eq!(a.weights.len(), b.weights.len());
    for (name, t) in &a.weights {
        let u = &b.weights[name];
        assert_eq!(t.shape, u.shape, "{name}");
        assert_eq!(t.dtype(), DType::BF16, "{name} keeps the file's dtype");
        assert_eq!(t.to_le_bytes(), u.to_le_bytes(), "{name}");
    }
    assert_eq!(last_logits(&single, None), last_logits(&sharded, None));
}

#[test]
fn f16_f32_and_bf16_folders_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let f32_dir = convert(tmp.path(), DType::F32);
    let f16_dir = convert(tmp.path(), DType::F16);
    let reference = last_logits(&f32_dir, None);
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (dir, dtype, tol) in [(&f16_dir, None, 2e-2), (&f32_dir, Some(DType::BF16), 5e-2)] {
        let l = last_logits(dir, dtype);
        let err = l.iter().zip(&reference).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
        println!("{}: rel err vs f32 {err:.2e}", dir.display());
        assert!(err < tol, "{}: {err}", dir.display());
    }
}
