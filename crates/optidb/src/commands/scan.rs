//! `optidb scan`: ingest → fingerprint → rules → recommend, then the ranked
//! recommendations; exits 1 when a finding reaches `--fail-on`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::future::join_all;
use optidb_fingerprint::analyze_workload;
use optidb_model::facts::WorkloadFacts;
use optidb_model::{Recommendation, Severity, Snapshot};
use optidb_report::{ScanReport, SimulationSummary};
use optidb_rules::Config;

use crate::cli::{FailOn, ScanArgs};
use crate::connection::{self, Source};
use crate::exit::ExitStatus;
use crate::llm::Llm;
use crate::output::Output;

/// Where `optidb.toml` is looked for when --config is not given.
const DEFAULT_CONFIG: &str = "optidb.toml";

pub async fn run(args: &ScanArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let config = load_config(args.config.as_deref())?;
    let started = Instant::now();
    let source = connection::source(&args.source, args.limit, output).await?;
    let snapshot = &source.snapshot;
    let workload = analyze_workload(&snapshot.statements);
    let findings = optidb_rules::check(snapshot, &workload, &config);
    let mut recommendations = optidb_recommend::recommend(snapshot, &findings);
    let simulation = prove(&source, args.no_simulate, &mut recommendations, output).await?;
    let mut report = ScanReport::new(snapshot, &findings, &recommendations, 0.0, simulation);
    if args.explain {
        explain(args, snapshot, &recommendations, &mut report, output).await;
    }
    report.summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    output.document(&report)?;
    let threshold = match args.fail_on {
        FailOn::Info => Some(Severity::Info),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Critical => Some(Severity::Critical),
        FailOn::Never => None,
    };
    let failing =
        threshold.is_some_and(|threshold| findings.iter().any(|f| f.severity >= threshold));
    Ok(if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// Adds the model's explanations to the top `--explain-top` recommendations;
/// a model that is off or fails leaves the template rationale, says so once
/// and adds a warning, and never fails the scan.
async fn explain(
    args: &ScanArgs,
    snapshot: &Snapshot,
    recommendations: &[Recommendation],
    report: &mut ScanReport,
    output: &Output,
) {
    let llm = Llm::open(&args.llm, &args.source, snapshot);
    let top: Vec<&Recommendation> = recommendations.iter().take(args.explain_top).collect();
    let spinner = output.spinner(&format!(
        "Explaining the top {} recommendation(s)",
        top.len()
    ));
    let explanations = join_all(top.iter().map(|recommendation| {
        let facts = optidb_llm::facts::recommendation_facts(recommendation, snapshot);
        let llm = &llm;
        async move { llm.explain(&facts, output).await }
    }))
    .await;
    spinner.finish_and_clear();
    for (entry, explanation) in report.recommendations.iter_mut().zip(explanations) {
        entry.explanation = explanation;
    }
    if let Some(note) = llm.fallback_note() {
        report.warnings.push(note);
    }
}

/// The recommendation numbered `rank` exactly as `optidb scan` numbers it
/// (after proving), with the facts of the workload it came from: what
/// `simulate`, `apply` take a number from.
pub async fn numbered(
    source: &Source,
    config: Option<&Path>,
    rank: usize,
    output: &Output,
) -> anyhow::Result<(Recommendation, WorkloadFacts)> {
    let config = load_config(config)?;
    let snapshot = &source.snapshot;
    let workload = analyze_workload(&snapshot.statements);
    let findings = optidb_rules::check(snapshot, &workload, &config);
    let mut recommendations = optidb_recommend::recommend(snapshot, &findings);
    prove(source, false, &mut recommendations, output).await?;
    match recommendations.into_iter().find(|r| r.rank == rank) {
        Some(recommendation) => Ok((recommendation, workload)),
        None => bail!("there is no recommendation #{rank}: see `optidb scan` for their numbers"),
    }
}

/// Proves the index recommendations with HypoPG when the snapshot was read
/// live and the database has it; says why not otherwise.
async fn prove(
    source: &Source,
    disabled: bool,
    recommendations: &mut Vec<optidb_model::Recommendation>,
    output: &Output,
) -> anyhow::Result<SimulationSummary> {
    let skipped = |why: &str| SimulationSummary {
        method: format!("skipped: {why}"),
        dropped: 0,
    };
    if disabled {
        return Ok(skipped("--no-simulate"));
    }
    let Some(session) = &source.session else {
        return Ok(skipped("a saved snapshot has no database to simulate on"));
    };
    let hypopg = match optidb_simulate::hypopg(session).await {
        Ok(hypopg) => hypopg,
        Err(error @ optidb_simulate::Error::HypopgMissing { .. }) => {
            output.hint(&format!("note: {error}"));
            return Ok(skipped("hypopg is not installed"));
        }
        Err(error) => return Err(error.into()),
    };
    let spinner = output.spinner("Proving the index recommendations with HypoPG");
    let proven = optidb_simulate::prove(
        session,
        &source.snapshot,
        recommendations,
        &optidb_simulate::WhatIfOptions::default(),
    )
    .await?;
    spinner.finish_and_clear();
    Ok(SimulationSummary {
        method: format!(
            "hypopg {} ({} indexes simulated)",
            hypopg.version, proven.simulated
        ),
        dropped: proven.dropped.len(),
    })
}

/// The rules' configuration: `path`, else `./optidb.toml` if it exists,
/// else the defaults.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = match path {
        Some(path) => (path, true),
        None => (Path::new(DEFAULT_CONFIG), false),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if !required && error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Config::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    Config::from_toml(&text).with_context(|| format!("in {}", path.display()))
}
