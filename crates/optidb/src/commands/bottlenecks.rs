//! `optidb bottlenecks`: the statements that take the most time, or one of
//! them in full (`--id`).

use anyhow::bail;
use optidb_ingest::Snapshot;
use optidb_report::{BottlenecksReport, StatementDetail};

use optidb_fingerprint::analyze_workload;

use crate::analysis::{FamilyLabels, resolve};
use crate::cli::BottlenecksArgs;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(args: &BottlenecksArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let snapshot = connection::snapshot(&args.source, args.limit.max(100), output).await?;
    match &args.id {
        Some(id) => print_detail(&snapshot, id, output)?,
        None => print_report(&snapshot, args.limit, output)?,
    }
    Ok(ExitStatus::Success)
}

/// Prints the top `limit` statements of `snapshot`.
pub fn print_report(snapshot: &Snapshot, limit: usize, output: &Output) -> anyhow::Result<()> {
    let workload = analyze_workload(&snapshot.statements);
    let families = FamilyLabels::of(snapshot, &workload);
    let mut report = BottlenecksReport::from_snapshot(snapshot).with_families(
        |queryid| families.label(queryid),
        |queryid| families.is_outlier(queryid),
    );
    report.statements.truncate(limit);
    output.document(&report)
}

fn print_detail(snapshot: &Snapshot, id: &str, output: &Output) -> anyhow::Result<()> {
    let workload = analyze_workload(&snapshot.statements);
    let families = FamilyLabels::of(snapshot, &workload);
    let Some(queryid) = resolve(snapshot, &workload, id) else {
        bail!(
            "no statement with queryid or fingerprint {id} among the {} statements read: check the id, or read more with -n",
            snapshot.statements.len()
        );
    };
    let detail = StatementDetail::from_snapshot(
        snapshot,
        queryid,
        workload.of(queryid).map(|s| s.fingerprint.clone()),
        families.label(queryid),
        families.is_outlier(queryid),
    );
    let Some(detail) = detail else {
        bail!("statement {queryid} vanished from the snapshot");
    };
    output.document(&detail)
}
