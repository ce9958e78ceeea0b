//! `qtool convert` (not yet implemented).

/// Flags of `qtool convert`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `qtool convert`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("qtool convert is not implemented yet")
}
