//! `optidb ask`: a question about the workload, answered by the model from
//! the snapshot's numbered facts only, each claim citing them; the answer
//! says so when the facts do not answer the question.

use anyhow::bail;
use optidb_fingerprint::analyze_workload;
use optidb_report::AskReport;

use crate::cli::AskArgs;
use crate::commands::scan::load_config;
use crate::connection;
use crate::exit::ExitStatus;
use crate::llm::{self, Llm};
use crate::output::Output;

/// How many of the top statements (by total time) the facts describe.
const TOP_STATEMENTS: usize = 10;

pub async fn run(args: &AskArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    if args.question.trim().is_empty() {
        bail!("the question is empty: ask something, e.g. optidb ask \"why is checkout slow?\"");
    }
    let config = load_config(args.config.as_deref())?;
    let source = connection::source(&args.source, args.limit, output).await?;
    let snapshot = &source.snapshot;
    let llm = Llm::open(&args.llm, &args.source, snapshot);
    if let Some(reason) = llm.off_reason() {
        bail!("`optidb ask` needs an LLM, and {reason}");
    }
    let workload = analyze_workload(&snapshot.statements);
    let findings = optidb_rules::check(snapshot, &workload, &config);
    let recommendations = optidb_recommend::recommend(snapshot, &findings);
    let facts =
        optidb_llm::facts::workload_facts(snapshot, &findings, &recommendations, TOP_STATEMENTS);
    let spinner = output.spinner("Asking the model");
    let answer = llm.ask(&args.question, &facts).await;
    spinner.finish_and_clear();
    let answer = match answer {
        Ok(Some(answer)) => answer,
        Ok(None) => bail!(
            "the model's answers cited facts that do not exist or numbers they do not hold, twice, so none is shown: ask again, or rephrase"
        ),
        Err(error) => bail!("the model could not answer: {error}"),
    };
    let report = AskReport::new(
        &snapshot.server.database,
        &args.question,
        answer.answered,
        llm::entry(llm.model(), answer.from_cache, &answer.sentences, &facts),
    );
    output.document(&report)?;
    Ok(ExitStatus::Success)
}
