//! `optidb simulate`: an index (given, or a scan's recommendation) costed
//! with HypoPG on the statements it touches, before and after.

use std::time::Duration;

use anyhow::{Context, bail};
use optidb_fingerprint::analyze_workload;
use optidb_model::ActionKind;
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_report::{
    ChosenIndex, CopiedTableEntry, MeasuredEntry, RealReport, ReasonedItem, SelectionReport,
    SimulateReport,
};
use optidb_sandbox::Cluster;
use optidb_simulate::real::{RealOptions, Sandbox, benchmark, cost_without_index};
use optidb_simulate::selection::{SelectionOptions, Sessions, select};
use optidb_simulate::{WhatIfOptions, what_if};
use tokio_postgres::Client;

use crate::cli::{SimulateArgs, SourceArgs};
use crate::commands::scan::numbered;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(args: &SimulateArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    if args.workload {
        return workload(args, output).await;
    }
    if args.real {
        return real(args, output).await;
    }
    if let Some(index) = &args.drop {
        return drop(args, index, output).await;
    }
    let source = connection::source(&source_args(args), args.limit, output).await?;
    let session = live_session(&source)?;
    let snapshot = &source.snapshot;
    let (candidates, simulations) = match args.recommendation {
        Some(rank) => {
            let (recommendation, _) =
                numbered(&source, args.config.as_deref(), rank, output).await?;
            let (ActionKind::CreateIndex, Some(ddl), Some(simulation)) = (
                recommendation.action,
                recommendation.ddl.clone(),
                recommendation.simulation.clone(),
            ) else {
                bail!(
                    "recommendation #{rank} ({}) builds no index for a measured statement, or the database has no hypopg: only those can be simulated",
                    recommendation.title
                );
            };
            (vec![ddl], vec![simulation])
        }
        None => {
            let spinner = output.spinner(&format!(
                "Costing {} statements with and without {} hypothetical index(es)",
                snapshot.statements.len(),
                args.index.len()
            ));
            let result = what_if(
                session,
                snapshot.server.version_num,
                &snapshot.statements,
                &args.index,
                &WhatIfOptions::default(),
            )
            .await
            .context("the what-if simulation failed")?;
            spinner.finish_and_clear();
            (args.index.clone(), result.simulations)
        }
    };
    let report = SimulateReport::new(snapshot, &candidates, &simulations);
    output.document(&report)?;
    Ok(ExitStatus::Success)
}

/// `--workload`: the best index set for the whole workload.
async fn workload(args: &SimulateArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let source = connection::source(&source_args(args), args.limit, output).await?;
    let session = live_session(&source)?;
    let snapshot = &source.snapshot;
    let workload = analyze_workload(&snapshot.statements);
    let options = SelectionOptions {
        budget_bytes: args.budget,
        max_indexes: args.max_indexes,
        write_penalty: !args.no_write_penalty,
        max_width: usize::from(args.max_width),
        time_budget: Some(Duration::from_secs(args.time_budget)),
        ..SelectionOptions::default()
    };
    // More read-only sessions on the same database, to explain in parallel.
    let target = ConnectionTarget::resolve(args.dsn.as_deref(), |name| std::env::var(name).ok())?;
    let mut more = Vec::new();
    for _ in 1..args.sessions {
        more.push(optidb_pg::connect(&target, &SessionSettings::read_only()).await?);
    }
    let bar = output.spinner("Choosing indexes for the workload (HypoPG what-if)");
    let sessions = Sessions::new(session, &more);
    let selection = select(sessions, snapshot, &workload, &options, |progress| {
        bar.set_message(format!(
            "Choosing indexes: {} configurations, {} EXPLAINs, relative cost {:.3}",
            progress.configurations, progress.evaluations, progress.best_relative_cost
        ));
    })
    .await
    .context("the workload selection failed")?;
    bar.finish_and_clear();
    let report = SelectionReport {
        schema_version: optidb_report::SCHEMA_VERSION,
        database: snapshot.server.database.clone(),
        cost_before: selection.cost_before,
        cost_after: selection.cost_after,
        relative_cost: selection.relative_cost,
        partial: selection.partial,
        elapsed_ms: selection.elapsed.as_secs_f64() * 1000.0,
        evaluations: selection.evaluations,
        cache_hits: selection.cache_hits,
        chosen: selection
            .chosen
            .iter()
            .map(|candidate| ChosenIndex {
                ddl: optidb_recommend::index_ddl(&candidate.spec),
                bytes: candidate.bytes,
            })
            .collect(),
        uncostable: selection
            .uncostable
            .iter()
            .map(|u| ReasonedItem {
                item: optidb_recommend::index_ddl(&u.spec),
                reason: u.reason.clone(),
            })
            .collect(),
        skipped: selection
            .skipped
            .iter()
            .map(|s| ReasonedItem {
                item: s.queryid.to_string(),
                reason: s.reason.clone(),
            })
            .collect(),
    };
    output.document(&report)?;
    Ok(ExitStatus::Success)
}

/// `--real`: build the index on a sampled copy and time the statements.
async fn real(args: &SimulateArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let source = connection::source(&source_args(args), args.limit, output).await?;
    let session = live_session(&source)?;
    let snapshot = &source.snapshot;
    let workload = analyze_workload(&snapshot.statements);
    let (ddl, statements): (String, Vec<i64>) = match (args.recommendation, args.index.first()) {
        (Some(rank), _) => {
            let (recommendation, _) =
                numbered(&source, args.config.as_deref(), rank, output).await?;
            let (ActionKind::CreateIndex, Some(ddl)) = (recommendation.action, recommendation.ddl)
            else {
                bail!(
                    "recommendation #{rank} ({}) builds no index",
                    recommendation.title
                );
            };
            (ddl, recommendation.statements)
        }
        (None, Some(ddl)) => (
            ddl.clone(),
            snapshot.statements.iter().map(|s| s.queryid).collect(),
        ),
        (None, None) => bail!("--real needs a recommendation number or --index"),
    };
    let options = RealOptions {
        sample_rows: args.sample_rows,
        ..RealOptions::default()
    };
    let spinner =
        output.spinner("Copying a sample of the tables to a sandbox and timing the statements");
    let mut cluster = None;
    let (sandbox, sandbox_name) =
        open_sandbox(args.sandbox_dsn.as_deref(), &mut cluster, "--real").await?;
    let real_report = benchmark(
        session,
        sandbox.client(),
        snapshot,
        &workload,
        &statements,
        &ddl,
        &options,
    )
    .await?;
    spinner.finish_and_clear();
    let query = |queryid: i64| {
        snapshot
            .statements
            .iter()
            .find(|s| s.queryid == queryid)
            .map(|s| s.query.clone())
            .unwrap_or_default()
    };
    let report = RealReport {
        schema_version: optidb_report::SCHEMA_VERSION,
        ddl,
        sandbox: sandbox_name,
        tables: real_report
            .tables
            .iter()
            .map(|t| CopiedTableEntry {
                name: t.name.clone(),
                rows_copied: t.rows_copied,
                sampled: t.sampled,
            })
            .collect(),
        statements: real_report
            .statements
            .iter()
            .map(|e| MeasuredEntry {
                queryid: e.queryid.to_string(),
                query: query(e.queryid),
                median_ms_before: e.median_ms_before,
                median_ms_after: e.median_ms_after,
                speedup: e.speedup,
                runs: e.runs,
                parameter_sets: e.parameter_sets,
                uses_index: e.uses_index,
            })
            .collect(),
        skipped: real_report
            .skipped
            .iter()
            .map(|s| ReasonedItem {
                item: s.queryid.to_string(),
                reason: s.reason.clone(),
            })
            .collect(),
        index_build_ms: real_report.index_build_ms,
        notes: real_report.notes.clone(),
    };
    output.document(&report)?;
    Ok(ExitStatus::Success)
}

/// `--drop`: the statements' plan cost with and without an existing index,
/// on a copy of its tables in a throwaway cluster (or --sandbox-dsn).
async fn drop(args: &SimulateArgs, index: &str, output: &Output) -> anyhow::Result<ExitStatus> {
    let source = connection::source(&source_args(args), args.limit, output).await?;
    let session = live_session(&source)?;
    let snapshot = &source.snapshot;
    let (schema, name) = index.split_once('.').unwrap_or(("public", index));
    let Some(found) = snapshot
        .catalog
        .indexes
        .iter()
        .find(|i| i.schema == schema && i.name == name)
    else {
        bail!("there is no index {schema}.{name} in the database (give it as schema.name)");
    };
    let ddl = format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}.{};",
        optidb_recommend::quote_ident(&found.schema),
        optidb_recommend::quote_ident(&found.name)
    );
    let workload = analyze_workload(&snapshot.statements);
    let options = RealOptions {
        sample_rows: args.sample_rows,
        ..RealOptions::default()
    };
    let spinner = output.spinner("Costing the statements on a copy, with and without the index");
    let mut cluster = None;
    let (sandbox, _) = open_sandbox(args.sandbox_dsn.as_deref(), &mut cluster, "--drop").await?;
    let simulation = cost_without_index(
        session,
        sandbox.client(),
        snapshot,
        &workload,
        &snapshot.statements,
        (schema, name),
        &options,
    )
    .await?;
    spinner.finish_and_clear();
    let report = SimulateReport::new(snapshot, &[ddl], &[simulation]);
    output.document(&report)?;
    Ok(ExitStatus::Success)
}

/// Where `--real` and `--drop` copy tables to: the `--sandbox-dsn` database,
/// else a fresh database in a throwaway cluster that `cluster` keeps alive
/// for as long as the sandbox is used. Also returns how to name it.
pub(crate) async fn open_sandbox<'c>(
    sandbox_dsn: Option<&str>,
    cluster: &'c mut Option<Cluster>,
    flag: &str,
) -> anyhow::Result<(Sandbox<'c>, String)> {
    if let Some(dsn) = sandbox_dsn {
        let target = ConnectionTarget::resolve(Some(dsn), |_| None)?;
        let sandbox = Sandbox::connect(&target).await?;
        return Ok((sandbox, format!("database {}", target.describe())));
    }
    let started = tokio::task::spawn_blocking(Cluster::start)
        .await
        .context("the sandbox start was interrupted")?
        .with_context(|| format!("cannot start a throwaway PostgreSQL cluster for {flag}"))?;
    let sandbox = Sandbox::in_cluster(cluster.insert(started)).await?;
    Ok((sandbox, "a throwaway local cluster".to_string()))
}

/// The session a snapshot was read through: simulation needs a live database.
fn live_session(source: &connection::Source) -> anyhow::Result<&Client> {
    source
        .session
        .as_ref()
        .context("simulation needs a live database, not a saved snapshot")
}

/// Where simulation reads its snapshot: always a live database.
fn source_args(args: &SimulateArgs) -> SourceArgs {
    SourceArgs {
        dsn: args.dsn.clone(),
        from: None,
        save: None,
    }
}
