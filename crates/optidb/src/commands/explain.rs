//! `optidb explain`: one statement, its plan and findings, explained by the
//! model from numbered facts; the model's rewrite shown only once verified
//! on a sandbox copy, its index only with a what-if simulation.

use anyhow::{Context, bail};
use optidb_fingerprint::analyze_workload;
use optidb_model::facts::{StatementKind, WorkloadFacts};
use optidb_model::{Snapshot, Statement};
use optidb_report::{
    ExplainReport, ProposedIndexEntry, RewriteEntry, SCHEMA_VERSION, StatementDetail,
    finding_entry, simulation_entry,
};
use optidb_simulate::real::{
    RealOptions, RewriteCheck, Verdict, compare_statically, verify_rewrite,
};
use optidb_simulate::{MIN_IMPROVEMENT, WhatIfOptions, what_if};
use tokio_postgres::Client;

use crate::analysis::{FamilyLabels, resolve};
use crate::cli::ExplainArgs;
use crate::commands::scan::load_config;
use crate::commands::simulate::open_sandbox;
use crate::connection::{self, Source};
use crate::exit::ExitStatus;
use crate::llm::{self, Llm};
use crate::output::Output;

pub async fn run(args: &ExplainArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let config = load_config(args.config.as_deref())?;
    let source = connection::source(&args.source, args.limit, output).await?;
    let snapshot = &source.snapshot;
    let workload = analyze_workload(&snapshot.statements);
    let Some(queryid) = resolve(snapshot, &workload, &args.id) else {
        bail!(
            "no statement with queryid or fingerprint {} among the {} statements read: see `optidb bottlenecks`, or read more with -n",
            args.id,
            snapshot.statements.len()
        );
    };
    let Some(statement) = snapshot.statements.iter().find(|s| s.queryid == queryid) else {
        bail!("statement {queryid} vanished from the snapshot");
    };
    let families = FamilyLabels::of(snapshot, &workload);
    let Some(detail) = StatementDetail::from_snapshot(
        snapshot,
        queryid,
        workload.of(queryid).map(|s| s.fingerprint.clone()),
        families.label(queryid),
        families.is_outlier(queryid),
    ) else {
        bail!("statement {queryid} vanished from the snapshot");
    };
    let findings = optidb_rules::check(snapshot, &workload, &config);
    let named = findings
        .iter()
        .filter(|finding| finding.statements.contains(&queryid));
    let mut report = ExplainReport {
        schema_version: SCHEMA_VERSION,
        detail,
        findings: named.map(finding_entry).collect(),
        explanation: None,
        rewrite: None,
        index: None,
        notes: Vec::new(),
    };

    let llm = Llm::open(&args.llm, &args.source, snapshot);
    let facts = optidb_llm::facts::statement_facts(statement, snapshot, &findings);
    let spinner = output.spinner("Asking the model about the statement");
    let proposal = llm.propose(&facts, output).await;
    spinner.finish_and_clear();
    if let Some(proposal) = proposal {
        report.explanation = Some(llm::entry(
            llm.model(),
            proposal.from_cache,
            &proposal.sentences,
            &facts,
        ));
        if let Some(sql) = &proposal.rewrite {
            match verify(args, &source, &workload, statement, sql, output).await? {
                Ok(check) => {
                    report.rewrite = Some(RewriteEntry {
                        sql: sql.clone(),
                        evidence: check.evidence(),
                        parameter_sets: check.parameter_sets,
                        rows_compared: check.rows_compared,
                        cost_before: check.cost_before,
                        cost_after: check.cost_after,
                        median_ms_before: check.median_ms_before,
                        median_ms_after: check.median_ms_after,
                    });
                }
                Err(why) => report
                    .notes
                    .push(format!("the model proposed a rewrite; not shown: {why}")),
            }
        }
        if let Some(ddl) = &proposal.index {
            match simulate_index(&source, statement, ddl, output).await? {
                Ok(entry) => report.index = Some(entry),
                Err(why) => report
                    .notes
                    .push(format!("the model proposed an index; not shown: {why}")),
            }
        }
    }
    if let Some(note) = llm.fallback_note() {
        report.notes.push(note);
    }
    output.document(&report)?;
    Ok(ExitStatus::Success)
}

/// Verifies the model's rewrite on a sandbox copy: `Ok(Ok(check))` when it
/// may be shown, `Ok(Err(why))` when not.
async fn verify(
    args: &ExplainArgs,
    source: &Source,
    workload: &WorkloadFacts,
    statement: &Statement,
    sql: &str,
    output: &Output,
) -> anyhow::Result<Result<RewriteCheck, String>> {
    if let Err(why) = compare_statically(&statement.query, sql) {
        return Ok(Err(why));
    }
    let Some(session) = &source.session else {
        return Ok(Err(
            "it could not be verified: a saved snapshot has no database to copy the tables from"
                .into(),
        ));
    };
    let spinner = output.spinner("Verifying the model's rewrite on a sandbox copy");
    let mut cluster = None;
    let (sandbox, _) = open_sandbox(args.sandbox_dsn.as_deref(), &mut cluster, "explain").await?;
    let options = RealOptions {
        sample_rows: args.sample_rows,
        ..RealOptions::default()
    };
    let check = verify_rewrite(
        session,
        sandbox.client(),
        &source.snapshot,
        workload,
        statement.queryid,
        sql,
        &options,
    )
    .await
    .context("verifying the model's rewrite failed")?;
    spinner.finish_and_clear();
    Ok(match &check.verdict {
        Verdict::Verified => Ok(check),
        Verdict::Refused(why) | Verdict::Unverified(why) => Err(why.clone()),
        Verdict::DifferentResults { set, detail } => Err(format!(
            "it returned different results on the sandbox copy (parameter set {set}: {detail})"
        )),
        Verdict::NotCheaper => Err(format!(
            "it returns the same results but is not cheaper ({})",
            check.evidence()
        )),
    })
}

/// Costs the model's index with HypoPG on the statement.
async fn simulate_index(
    source: &Source,
    statement: &Statement,
    ddl: &str,
    output: &Output,
) -> anyhow::Result<Result<ProposedIndexEntry, String>> {
    let is_index = optidb_fingerprint::facts(ddl).is_ok_and(
        |facts| matches!(&facts.kind, StatementKind::Utility(tag) if tag == "CREATE INDEX"),
    );
    if !is_index {
        return Ok(Err("it is not one CREATE INDEX statement".into()));
    }
    let Some(session) = &source.session else {
        return Ok(Err(
            "it could not be simulated: a saved snapshot has no database for HypoPG".into(),
        ));
    };
    let spinner = output.spinner("Costing the model's index with HypoPG");
    let result = what_if_one(session, &source.snapshot, statement, ddl).await;
    spinner.finish_and_clear();
    match result {
        // Like every candidate, an index must make the statement at least
        // MIN_IMPROVEMENT cheaper to be shown.
        Ok(Some(simulation))
            if simulation
                .best_improvement()
                .is_some_and(|best| best >= MIN_IMPROVEMENT) =>
        {
            Ok(Ok(ProposedIndexEntry {
                ddl: ddl.to_string(),
                simulation: simulation_entry(&simulation),
            }))
        }
        Ok(Some(simulation)) => Ok(Err(match simulation.skipped {
            Some(why) => format!("it could not be simulated: {why}"),
            None => format!(
                "the what-if simulation shows it making the statement less than {:.0}% cheaper",
                MIN_IMPROVEMENT * 100.0
            ),
        })),
        Ok(None) => Ok(Err("the simulation returned nothing".into())),
        Err(optidb_simulate::Error::HypopgMissing { .. }) => Ok(Err(
            "it could not be simulated: the database has no hypopg extension".into(),
        )),
        Err(error) => Err(error).context("simulating the model's index failed"),
    }
}

async fn what_if_one(
    session: &Client,
    snapshot: &Snapshot,
    statement: &Statement,
    ddl: &str,
) -> Result<Option<optidb_model::Simulation>, optidb_simulate::Error> {
    let result = what_if(
        session,
        snapshot.server.version_num,
        std::slice::from_ref(statement),
        &[ddl.to_string()],
        &WhatIfOptions::default(),
    )
    .await?;
    Ok(result.simulations.into_iter().next())
}
