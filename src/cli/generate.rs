//! `qtool generate` (not yet implemented).

/// Flags of `qtool generate`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `qtool generate`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("qtool generate is not implemented yet")
}
