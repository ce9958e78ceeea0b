//! qtool: quantize, run, evaluate and report on quantized reasoning LLMs.
//! The binary is a thin layer: each subcommand parses its flags (src/cli/) and calls one library
//! function.

mod assets;
mod atomic;
mod bench;
mod calib;
mod cli;
mod external;
mod quantize;
mod serve;
mod study;
mod sweep;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
