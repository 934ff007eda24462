//! `optidb apply`, `history`, `rollback` and `doctor`: the only commands that
//! write to a database, each showing first what it will run.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::bail;
use optidb_apply::{ApplyOptions, Verdict, allowed};
use optidb_model::text::percent;
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_report::{
    AppliedReport, ChangeEntry, HistoryReport, RolledBackReport, VerifiedEntry, VerifyReport,
};
use tokio_postgres::Client;

use crate::cli::{ApplyArgs, DoctorArgs, HistoryArgs, RollbackArgs, SourceArgs, VerifyArgs};
use crate::commands::scan::numbered;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

/// What to run, and what it is expected to do.
struct Plan {
    ddl: String,
    codes: Vec<String>,
    statements: Vec<i64>,
    fingerprints: Vec<String>,
    effect: Option<String>,
    cost: Option<(f64, f64)>,
}

pub async fn apply(args: &ApplyArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let target = target(args.dsn.as_deref())?;
    let plan = match (&args.ddl, args.recommendation) {
        (Some(ddl), _) => Plan {
            ddl: ddl.clone(),
            codes: Vec::new(),
            statements: Vec::new(),
            fingerprints: Vec::new(),
            effect: None,
            cost: None,
        },
        (None, Some(rank)) => recommended(args, rank, output).await?,
        (None, None) => bail!("give a recommendation number or --ddl"),
    };
    // Refuse what may not run before asking anything.
    allowed::check(&plan.ddl, args.allow_any_ddl)?;
    if args.dry_run {
        output.result(&plan.ddl)?;
        return Ok(ExitStatus::Success);
    }
    output.notice(&format!(
        "On {} optidb will run:\n\n{}\n",
        target.describe(),
        plan.ddl.trim()
    ));
    if let Some(effect) = &plan.effect {
        output.notice(&format!("Simulated effect: {effect}\n"));
    }
    confirm(args.yes, "Apply it?")?;
    let client = writable(&target).await?;
    warn_about_invalid_indexes(&client, output).await;
    let options = ApplyOptions {
        lock_timeout: Duration::from_secs_f64(args.lock_timeout.max(0.001)),
        allow_any_ddl: args.allow_any_ddl,
        applied_by: os_user(),
        codes: plan.codes,
        fingerprints: plan.fingerprints,
        statements: plan.statements,
        cost_before: plan.cost.map(|(before, _)| before),
        cost_after: plan.cost.map(|(_, after)| after),
        ..ApplyOptions::default()
    };
    let applied = optidb_apply::apply(&client, &plan.ddl, &options).await?;
    output.document(&AppliedReport::new(
        applied.change_id,
        applied.duration.as_secs_f64() * 1000.0,
        applied.index,
    ))?;
    Ok(ExitStatus::Success)
}

/// The recommendation numbered `rank` as `optidb scan` numbers it.
async fn recommended(args: &ApplyArgs, rank: usize, output: &Output) -> anyhow::Result<Plan> {
    let source_args = SourceArgs {
        dsn: args.dsn.clone(),
        from: None,
        save: None,
    };
    let source = connection::source(&source_args, args.limit, output).await?;
    let snapshot = &source.snapshot;
    let (recommendation, workload) =
        numbered(&source, args.config.as_deref(), rank, output).await?;
    let Some(ddl) = recommendation.ddl.clone() else {
        bail!(
            "recommendation #{rank} ({}) has no SQL to run: it asks for a change in the application or an investigation",
            recommendation.title
        );
    };
    let calls = |queryid: i64| {
        snapshot
            .statements
            .iter()
            .find(|s| s.queryid == queryid)
            .map_or(1.0, |s| s.calls.max(1) as f64)
    };
    let (effect, cost) = match &recommendation.simulation {
        Some(simulation) if simulation.skipped.is_none() && !simulation.statements.is_empty() => {
            let before: f64 = simulation
                .statements
                .iter()
                .map(|e| calls(e.queryid) * e.cost_before)
                .sum();
            let after: f64 = simulation
                .statements
                .iter()
                .map(|e| calls(e.queryid) * e.cost_after)
                .sum();
            let best = simulation.best_improvement().unwrap_or(0.0);
            (
                Some(format!(
                    "simulated with {}: up to {} cheaper plans on {} statement(s)",
                    simulation.method,
                    percent(best),
                    simulation.statements.len()
                )),
                Some((before, after)),
            )
        }
        Some(simulation) => (simulation.skipped.clone(), None),
        None => (None, None),
    };
    let fingerprints = recommendation
        .statements
        .iter()
        .filter_map(|id| workload.of(*id).map(|s| s.fingerprint.clone()))
        .collect();
    Ok(Plan {
        ddl,
        codes: recommendation.codes,
        statements: recommendation.statements,
        fingerprints,
        effect,
        cost,
    })
}

pub async fn history(args: &HistoryArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let client = writable(&target(args.dsn.as_deref())?).await?;
    let changes = optidb_apply::history(&client, args.limit).await?;
    let report = HistoryReport {
        schema_version: optidb_report::SCHEMA_VERSION,
        changes: changes
            .iter()
            .map(|change| ChangeEntry {
                id: change.id,
                applied_at: optidb_model::time::rfc3339(
                    change
                        .applied_at
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
                ),
                applied_by: change.applied_by.clone(),
                db_user: change.db_user.clone(),
                status: change.status.as_str().to_string(),
                codes: change.codes.clone(),
                ddl: change.ddl.clone(),
                rollback_ddl: change.rollback_ddl.clone(),
                error: change.error.clone(),
                rolled_back_change: change.rolled_back_change,
            })
            .collect(),
    };
    output.document(&report)?;
    Ok(ExitStatus::Success)
}

pub async fn rollback(args: &RollbackArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let target = target(args.dsn.as_deref())?;
    let client = writable(&target).await?;
    let changes = optidb_apply::history(&client, i64::MAX).await?;
    let Some(change) = changes.iter().find(|c| c.id == args.change) else {
        bail!(
            "there is no change #{} in optidb.changes (see `optidb history`)",
            args.change
        );
    };
    let Some(undo) = &change.rollback_ddl else {
        bail!(
            "change #{} ({}) cannot be undone: it has no rollback",
            change.id,
            change.ddl.trim()
        );
    };
    output.notice(&format!(
        "On {} optidb will run:\n\n{}\n",
        target.describe(),
        undo.trim()
    ));
    confirm(args.yes, "Roll it back?")?;
    let options = ApplyOptions {
        applied_by: os_user(),
        ..ApplyOptions::default()
    };
    let done = optidb_apply::rollback(&client, args.change, &options).await?;
    output.document(&RolledBackReport {
        schema_version: optidb_report::SCHEMA_VERSION,
        rolled_back: args.change,
        change_id: done.change_id,
        duration_ms: done.duration.as_secs_f64() * 1000.0,
    })?;
    Ok(ExitStatus::Success)
}

pub async fn verify(args: &VerifyArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let client = writable(&target(args.dsn.as_deref())?).await?;
    let verification = optidb_apply::verify(&client, args.change).await?;
    let verdict = match verification.verdict {
        Verdict::PaidOff { ratio } => format!(
            "paid off: its statements take {} of their former mean time",
            percent(ratio)
        ),
        Verdict::NoGain { ratio } => format!(
            "did not pay off (yet): its statements take {} of their former mean time",
            percent(ratio)
        ),
        Verdict::NotEnoughData => {
            "not enough data: no statement of it has run since, or none was tracked before".into()
        }
    };
    output.document(&VerifyReport {
        schema_version: optidb_report::SCHEMA_VERSION,
        change_id: args.change,
        ddl: verification.change.ddl.clone(),
        verdict,
        statements: verification
            .statements
            .iter()
            .map(|s| VerifiedEntry {
                queryid: s.queryid.to_string(),
                mean_ms_before: s.mean_ms_before,
                mean_ms_since: s.mean_ms_since,
                calls_since: s.calls_since,
                counters_reset: s.counters_reset,
            })
            .collect(),
    })?;
    Ok(ExitStatus::Success)
}

pub async fn doctor(args: &DoctorArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let target = target(args.dsn.as_deref())?;
    let client = writable(&target).await?;
    let invalid: Vec<_> = optidb_apply::invalid_indexes(&client)
        .await?
        .into_iter()
        .filter(|index| !index.in_progress)
        .collect();
    if invalid.is_empty() {
        output.result("No INVALID index left by optidb.")?;
        return Ok(ExitStatus::Success);
    }
    for index in &invalid {
        output.notice(&format!(
            "{}.{} on {} is INVALID (a build that died{}): it slows writes and serves no read.",
            index.schema,
            index.name,
            index.table,
            index
                .change_id
                .map(|id| format!(", change #{id}"))
                .unwrap_or_default()
        ));
    }
    confirm(args.yes, "Drop them (DROP INDEX CONCURRENTLY)?")?;
    let options = ApplyOptions {
        applied_by: os_user(),
        ..ApplyOptions::default()
    };
    for index in &invalid {
        optidb_apply::drop_invalid(
            &client,
            &format!("{}.{}", index.schema, index.name),
            &options,
        )
        .await?;
        output.result(&format!("Dropped {}.{}", index.schema, index.name))?;
    }
    Ok(ExitStatus::Success)
}

fn target(dsn: Option<&str>) -> anyhow::Result<ConnectionTarget> {
    Ok(ConnectionTarget::resolve(dsn, |name| {
        std::env::var(name).ok()
    })?)
}

/// A session that may write: the guards of a read-only one, without the
/// read-only default (DDL runs with its own timeouts).
async fn writable(target: &ConnectionTarget) -> anyhow::Result<Client> {
    let settings = SessionSettings {
        read_only: false,
        ..SessionSettings::read_only()
    };
    Ok(optidb_pg::connect(target, &settings).await?)
}

/// Asks at a terminal; refuses to go on unasked elsewhere.
fn confirm(yes: bool, question: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "stdin is not a terminal, so nobody can confirm: pass --yes to go ahead, or --dry-run to see the SQL only"
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("not confirmed: nothing was changed")
    }
}

/// Tells about INVALID indexes an earlier optidb build left, before adding more.
async fn warn_about_invalid_indexes(client: &Client, output: &Output) {
    if let Ok(invalid) = optidb_apply::invalid_indexes(client).await {
        let left: Vec<String> = invalid
            .iter()
            .filter(|index| !index.in_progress)
            .map(|index| format!("{}.{}", index.schema, index.name))
            .collect();
        if !left.is_empty() {
            output.hint(&format!(
                "note: INVALID index(es) left by an earlier build: {}; `optidb doctor` drops them",
                left.join(", ")
            ));
        }
    }
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
