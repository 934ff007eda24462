//! `optidb bottlenecks`: the statements that take the most time.

use optidb_ingest::Snapshot;
use optidb_report::{BottlenecksReport, OutputFormat};

use crate::cli::BottlenecksArgs;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(args: &BottlenecksArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let snapshot = connection::snapshot(&args.source, args.limit.max(100), output).await?;
    print_report(&snapshot, args.limit, output)?;
    Ok(ExitStatus::Success)
}

/// Prints the top `limit` statements of `snapshot`.
pub fn print_report(snapshot: &Snapshot, limit: usize, output: &Output) -> anyhow::Result<()> {
    let mut report = BottlenecksReport::from_snapshot(snapshot);
    report.statements.truncate(limit);
    match output.format {
        OutputFormat::Table => output.result(&report.to_table(output.table_style())),
        OutputFormat::Json => output.result(&report.to_json()?),
    }
}
