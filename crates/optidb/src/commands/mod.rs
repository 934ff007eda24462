//! One module per subcommand.

mod apply;
mod ask;
mod bottlenecks;
mod demo;
mod explain;
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
        Command::Apply(args) => apply::apply(&args, output).await,
        Command::History(args) => apply::history(&args, output).await,
        Command::Rollback(args) => apply::rollback(&args, output).await,
        Command::Verify(args) => apply::verify(&args, output).await,
        Command::Doctor(args) => apply::doctor(&args, output).await,
        Command::Demo(args) => demo::run(&args, output).await,
        Command::Explain(args) => explain::run(&args, output).await,
        Command::Ask(args) => ask::run(&args, output).await,
    }
}
