//! `qtool inspect` (not yet implemented).

/// Flags of `qtool inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `qtool inspect`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("qtool inspect is not implemented yet")
}
