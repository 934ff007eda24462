//! The HypoPG cost oracle: every evaluation creates the configuration's
//! hypothetical indexes, explains the statements (generic plans, each with
//! its own `statement_timeout`) and resets, whatever happened. With several
//! sessions, the statements are split among them and explained in
//! parallel, each session holding the same hypothetical indexes.

use futures_util::future::join_all;
use optidb_ingest::plans::{ExplainOptions, Plan, explain_statements};
use optidb_model::Statement;
use tokio_postgres::Client;

use super::evaluator::{CostOracle, Job};
use crate::Error;
use crate::whatif::{create_hypothetical, create_hypothetical_all, reset};

/// Hypothetical indexes created between two resets while sizing: HypoPG
/// runs out of OIDs at about 2,500 per session.
const SIZING_BATCH: usize = 500;

/// Costs statements with HypoPG on one or more sessions.
pub(crate) struct HypopgOracle<'a> {
    sessions: Vec<&'a Client>,
    server_version_num: u32,
    /// The workload's statements, by position.
    statements: &'a [Statement],
    /// Each candidate's `CREATE INDEX`, by id.
    ddl: Vec<String>,
    explain: ExplainOptions,
}

impl<'a> HypopgOracle<'a> {
    /// An oracle for `statements` and the candidates `ddl` on `sessions`
    /// (at least one), none in a transaction nor used by anything else
    /// meanwhile.
    pub(crate) fn new(
        sessions: &[&'a Client],
        server_version_num: u32,
        statements: &'a [Statement],
        ddl: Vec<String>,
        explain: ExplainOptions,
    ) -> Self {
        HypopgOracle {
            sessions: sessions.to_vec(),
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
        // Round-robin: statement i goes to session i mod n.
        let n = self.sessions.len().min(statements.len()).max(1);
        let shares = (0..n).map(|session| {
            let chosen: Vec<Statement> = statements
                .iter()
                .skip(session)
                .step_by(n)
                .map(|&s| self.statements[s].clone())
                .collect();
            self.cost_on(self.sessions[session], &ddl, chosen)
        });
        let results = join_all(shares).await;
        let mut per_session = Vec::with_capacity(n);
        for result in results {
            per_session.push(result?);
        }
        // Back in the order asked.
        Ok((0..statements.len())
            .map(|i| per_session[i % n].get(i / n).copied().flatten())
            .collect())
    }

    /// The jobs dealt to the sessions (each next job to the session with
    /// the fewest statements so far), each session costing its jobs one
    /// after the other, the sessions in parallel.
    async fn costs_of_jobs(&mut self, jobs: &[Job]) -> Result<Vec<Vec<Option<f64>>>, Error> {
        if self.sessions.len() < 2 || jobs.len() < 2 {
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                out.push(self.costs(&job.config, &job.statements).await?);
            }
            return Ok(out);
        }
        let mut dealt: Vec<Vec<usize>> = vec![Vec::new(); self.sessions.len()];
        let mut load = vec![0usize; self.sessions.len()];
        for (j, job) in jobs.iter().enumerate() {
            let lightest = (0..load.len()).min_by_key(|&s| load[s]).unwrap_or(0);
            dealt[lightest].push(j);
            load[lightest] += job.statements.len();
        }
        let this = &*self;
        let runs = dealt.iter().enumerate().map(|(session, mine)| async move {
            let mut out = Vec::with_capacity(mine.len());
            for &j in mine {
                let job = &jobs[j];
                let ddl: Vec<String> = job.config.iter().map(|&c| this.ddl[c].clone()).collect();
                let chosen: Vec<Statement> = job
                    .statements
                    .iter()
                    .map(|&s| this.statements[s].clone())
                    .collect();
                out.push((j, this.cost_on(this.sessions[session], &ddl, chosen).await?));
            }
            Ok::<_, Error>(out)
        });
        let mut out: Vec<Vec<Option<f64>>> = vec![Vec::new(); jobs.len()];
        for result in join_all(runs).await {
            for (j, costs) in result? {
                out[j] = costs;
            }
        }
        Ok(out)
    }
}

impl HypopgOracle<'_> {
    /// The plan costs of `chosen` on `client` under the hypothetical
    /// indexes `ddl`; resets whatever happened.
    async fn cost_on(
        &self,
        client: &Client,
        ddl: &[String],
        chosen: Vec<Statement>,
    ) -> Result<Vec<Option<f64>>, Error> {
        let options = ExplainOptions {
            limit: chosen.len(),
            ..self.explain.clone()
        };
        let outcome = async {
            create_hypothetical_all(client, ddl).await?;
            explain_statements(client, &chosen, self.server_version_num, &options)
                .await
                .map_err(Error::from)
        }
        .await;
        // Whatever happened, the next evaluation starts from no hypothetical index.
        let reset_result = reset(client).await;
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
