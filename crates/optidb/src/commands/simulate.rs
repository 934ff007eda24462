//! `optidb simulate`: an index (given, or a scan's recommendation) costed
//! with HypoPG on the statements it touches, before and after.

use anyhow::{Context, bail};
use optidb_fingerprint::analyze_workload;
use optidb_model::ActionKind;
use optidb_report::{OutputFormat, SimulateReport};
use optidb_simulate::{WhatIfOptions, what_if};

use crate::cli::{SimulateArgs, SourceArgs};
use crate::commands::scan::load_config;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(args: &SimulateArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let source_args = SourceArgs {
        dsn: args.dsn.clone(),
        from: None,
        save: None,
    };
    let source = connection::source(&source_args, args.limit, output).await?;
    let Some(session) = &source.session else {
        bail!("simulation needs a live database");
    };
    let snapshot = &source.snapshot;
    let (candidates, simulations) = match args.recommendation {
        Some(rank) => {
            // Numbered exactly as `optidb scan` numbers them: after proving.
            let config = load_config(args.config.as_deref())?;
            let workload = analyze_workload(&snapshot.statements);
            let findings = optidb_rules::check(snapshot, &workload, &config);
            let mut recommendations = optidb_recommend::recommend(snapshot, &findings);
            let spinner = output.spinner("Proving the index recommendations with HypoPG");
            optidb_simulate::prove(
                session,
                snapshot,
                &mut recommendations,
                &WhatIfOptions::default(),
            )
            .await
            .context("the what-if simulation failed")?;
            spinner.finish_and_clear();
            let Some(recommendation) = recommendations.into_iter().find(|r| r.rank == rank) else {
                bail!("there is no recommendation #{rank}: see `optidb scan` for their numbers");
            };
            let (ActionKind::CreateIndex, Some(ddl), Some(simulation)) = (
                recommendation.action,
                recommendation.ddl.clone(),
                recommendation.simulation.clone(),
            ) else {
                bail!(
                    "recommendation #{rank} ({}) builds no index for a measured statement: only those can be simulated",
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
    match output.format {
        OutputFormat::Table => output.result(&report.to_table(output.table_style()))?,
        OutputFormat::Json => output.result(&report.to_json()?)?,
    }
    Ok(ExitStatus::Success)
}
