//! Integration tests of the qtool package. This file declares modules only; each module tests
//! one area. Tests that need assets find them under $QTOOL_ASSETS (default: ./assets, filled by
//! `qtool assets fetch`).

mod bad_input;
mod calib;
mod common;
mod crafted;
mod eval_cli;
mod fake_quant_model;
mod fast_path;
mod generate;
mod gguf_dequant;
mod hf_loader;
mod hostile_files;
mod hostile_model;
mod interop_ct;
mod interop_llamacpp;
mod kld;
mod logits;
mod packed_gguf;
mod packed_linear;
mod quant_folders;
mod quantize;
mod report_cli;
mod serve;
mod serve_eval;
mod serve_robust;
mod study;
mod tiny_llama;
mod tokenizer;
