//! `optidb bottlenecks`: the statements that take the most time.

use anyhow::Context;
use optidb_ingest::{IngestOptions, take_snapshot};
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_report::{BottlenecksReport, OutputFormat};

use crate::cli::BottlenecksArgs;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(args: &BottlenecksArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let target = connection::target(&args.connection)?;
    let report = read_report(&target, args.limit, output).await?;
    print_report(&report, output)?;
    Ok(ExitStatus::Success)
}

/// Reads the top `limit` statements of `target` through a read-only session.
pub async fn read_report(
    target: &ConnectionTarget,
    limit: usize,
    output: &Output,
) -> anyhow::Result<BottlenecksReport> {
    let spinner = output.spinner(&format!(
        "Reading pg_stat_statements of {}",
        target.describe()
    ));
    let client = optidb_pg::connect(target, &SessionSettings::read_only()).await?;
    let snapshot = take_snapshot(
        &client,
        &IngestOptions {
            top_statements: limit,
        },
    )
    .await
    .with_context(|| format!("cannot read the statements of {}", target.describe()))?;
    spinner.finish_and_clear();
    Ok(BottlenecksReport::from_snapshot(&snapshot))
}

pub fn print_report(report: &BottlenecksReport, output: &Output) -> anyhow::Result<()> {
    match output.format {
        OutputFormat::Table => output.result(&report.to_table(output.table_style())),
        OutputFormat::Json => output.result(&report.to_json()?),
    }
}
