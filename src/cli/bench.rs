//! `qtool bench` (not yet implemented).

/// Flags of `qtool bench`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `qtool bench`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("qtool bench is not implemented yet")
}
