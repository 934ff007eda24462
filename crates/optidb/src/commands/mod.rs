//! One module per subcommand.

mod bottlenecks;
mod demo;
mod not_built;

use crate::cli::Command;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(command: Command, output: &Output) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Scan(_) => not_built::run("scan", "the rules and recommendations issue", output),
        Command::Bottlenecks(args) => bottlenecks::run(&args, output).await,
        Command::Simulate(_) => not_built::run("simulate", "the simulation issue", output),
        Command::Apply(_) => not_built::run("apply", "the apply issue", output),
        Command::Demo(args) => demo::run(&args, output).await,
    }
}
