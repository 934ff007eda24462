//! The HypoPG cost oracle: every evaluation creates the configuration's
//! hypothetical indexes, explains the statements (generic plans, each with
//! its own `statement_timeout`) and resets, whatever happened.

use optidb_ingest::plans::{ExplainOptions, Plan, explain_statements};
use optidb_model::Statement;
use tokio_postgres::Client;

use super::evaluator::CostOracle;
use crate::Error;
use crate::whatif::{create_hypothetical, create_hypothetical_all, reset};

/// Hypothetical indexes created between two resets while sizing: HypoPG
/// runs out of OIDs at about 2,500 per session.
const SIZING_BATCH: usize = 500;

/// Costs statements with HypoPG on `client`.
pub(crate) struct HypopgOracle<'a> {
    client: &'a Client,
    server_version_num: u32,
    /// The workload's statements, by position.
    statements: &'a [Statement],
    /// Each candidate's `CREATE INDEX`, by id.
    ddl: Vec<String>,
    explain: ExplainOptions,
}

impl<'a> HypopgOracle<'a> {
    /// An oracle for `statements` and the candidates `ddl`; `client` must
    /// not be in a transaction nor used by anything else meanwhile.
    pub(crate) fn new(
        client: &'a Client,
        server_version_num: u32,
        statements: &'a [Statement],
        ddl: Vec<String>,
        explain: ExplainOptions,
    ) -> Self {
        HypopgOracle {
            client,
            server_version_num,
            statements,
            ddl,
            explain,
        }
    }
}

impl CostOracle for HypopgOracle<'_> {
    async fn costs(
        &mut self,
        config: &[usize],
        statements: &[usize],
    ) -> Result<Vec<Option<f64>>, Error> {
        let ddl: Vec<String> = config.iter().map(|&c| self.ddl[c].clone()).collect();
        let chosen: Vec<Statement> = statements
            .iter()
            .map(|&s| self.statements[s].clone())
            .collect();
        let options = ExplainOptions {
            limit: chosen.len(),
            ..self.explain.clone()
        };
        let outcome = async {
            create_hypothetical_all(self.client, &ddl).await?;
            explain_statements(self.client, &chosen, self.server_version_num, &options)
                .await
                .map_err(Error::from)
        }
        .await;
        // Whatever happened, the next evaluation starts from no hypothetical index.
        let reset_result = reset(self.client).await;
        let plans = outcome?;
        reset_result?;
        Ok(plans
            .iter()
            .map(|plan| plan.plan().map(Plan::total_cost))
            .collect())
    }
}

/// Each of `ddl` created alone: its estimated size, or why HypoPG refused
/// it. Leaves no hypothetical index behind when it returns `Ok`; the caller
/// resets on `Err`.
pub(crate) async fn sizes(
    client: &Client,
    ddl: &[String],
    mut done: impl FnMut(usize),
) -> Result<Vec<Result<Option<i64>, String>>, Error> {
    let mut out = Vec::with_capacity(ddl.len());
    for (i, candidate) in ddl.iter().enumerate() {
        if i > 0 && i % SIZING_BATCH == 0 {
            reset(client).await?;
        }
        out.push(match create_hypothetical(client, candidate).await {
            Ok(created) => Ok(created.bytes),
            Err(error) => match error.as_db_error() {
                Some(db) => Err(db.message().to_string()),
                // Not a refusal: the session itself failed.
                None => {
                    return Err(Error::Query {
                        what: "creating a hypothetical index",
                        source: error,
                    });
                }
            },
        });
        done(i + 1);
    }
    reset(client).await?;
    Ok(out)
}
