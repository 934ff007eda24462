//! One module per subcommand.

mod bottlenecks;
mod demo;
mod not_built;
mod scan;
mod simulate;

use crate::cli::Command;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(command: Command, output: &Output) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Scan(args) => scan::run(&args, output).await,
        Command::Bottlenecks(args) => bottlenecks::run(&args, output).await,
        Command::Simulate(args) => simulate::run(&args, output).await,
        Command::Apply(_) => not_built::run("apply", "the apply issue", output),
        Command::Demo(args) => demo::run(&args, output).await,
    }
}
