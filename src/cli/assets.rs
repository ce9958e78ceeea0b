//! `qtool assets` (not yet implemented).

/// Flags of `qtool assets`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `qtool assets`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("qtool assets is not implemented yet")
}
