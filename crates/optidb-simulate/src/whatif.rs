//! What-if: create hypothetical indexes with HypoPG in this session,
//! EXPLAIN the affected statements before and after, compare.
//!
//! Every run starts and ends with `hypopg_reset()`, also when a step fails,
//! so no hypothetical index outlives the run that made it (they are
//! session memory only, and vanish with the session in any case). Each
//! candidate is costed alone, with only its own hypothetical index present:
//! every hypothetical index on a table slows planning, and per-candidate
//! effects are what a recommendation needs.

use optidb_ingest::plans::{ExplainOptions, explain_statements};
use optidb_model::plan::StatementPlan;
use optidb_model::{Simulation, Statement};
use tokio_postgres::Client;

use crate::Error;
use crate::plan_diff::{reads_index, statement_effects};

/// How to simulate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatIfOptions {
    /// How each statement is explained (timeout, limit).
    pub explain: ExplainOptions,
}

/// The HypoPG installed in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hypopg {
    /// Its version, e.g. `1.3.1`.
    pub version: String,
    /// Whether `hypopg_hide_index` exists (1.4.0+), to simulate dropping an index.
    pub can_hide: bool,
}

/// The HypoPG of the database `client` is connected to.
pub async fn hypopg(client: &Client) -> Result<Hypopg, Error> {
    let row = client
        .query_opt(
            "/* optidb */ SELECT e.extversion,
                    EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'hypopg_hide_index'),
                    current_database()::text
               FROM pg_extension e WHERE e.extname = 'hypopg'",
            &[],
        )
        .await
        .map_err(|source| Error::Query {
            what: "looking for hypopg",
            source,
        })?;
    match row {
        Some(row) => Ok(Hypopg {
            version: row.get(0),
            can_hide: row.get(1),
        }),
        None => {
            let database: String = client
                .query_one("/* optidb */ SELECT current_database()::text", &[])
                .await
                .map_err(|source| Error::Query {
                    what: "reading the database name",
                    source,
                })?
                .get(0);
            Err(Error::HypopgMissing { database })
        }
    }
}

/// The result of a what-if run.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIf {
    /// One simulation per candidate, in the order given.
    pub simulations: Vec<Simulation>,
}

/// Costs `statements` without, then with each of `candidates` (`CREATE
/// INDEX` statements, as optidb or a user writes them), one candidate at a
/// time. `client` should be a read-only session used by nothing else
/// meanwhile; `server_version_num` picks the EXPLAIN method.
pub async fn what_if(
    client: &Client,
    server_version_num: u32,
    statements: &[Statement],
    candidates: &[String],
    options: &WhatIfOptions,
) -> Result<WhatIf, Error> {
    let hypopg = hypopg(client).await?;
    reset(client).await?;
    let before =
        explain_statements(client, statements, server_version_num, &options.explain).await?;
    let mut simulations = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let outcome = simulate_one(
            client,
            server_version_num,
            statements,
            candidate,
            &before,
            options,
        )
        .await;
        // Whatever happened, leave no hypothetical index behind.
        let reset_result = reset(client).await;
        let mut simulation = outcome?;
        reset_result?;
        simulation.method = format!("hypopg {}", hypopg.version);
        simulations.push(simulation);
    }
    Ok(WhatIf { simulations })
}

async fn simulate_one(
    client: &Client,
    server_version_num: u32,
    statements: &[Statement],
    candidate: &str,
    before: &[StatementPlan],
    options: &WhatIfOptions,
) -> Result<Simulation, Error> {
    let (index_name, index_bytes) = match create_hypothetical(client, candidate).await {
        Ok(created) => (created.name, created.bytes),
        Err(error) => {
            let reason = error
                .as_db_error()
                .map(|db| db.message().to_string())
                .unwrap_or_else(|| error.to_string());
            return Ok(Simulation {
                method: String::new(),
                index_bytes: None,
                statements: Vec::new(),
                skipped: Some(format!("HypoPG cannot simulate it: {reason}")),
            });
        }
    };
    let after =
        explain_statements(client, statements, server_version_num, &options.explain).await?;
    let effects = statement_effects(before, &after, |_, after| reads_index(after, &index_name));
    Ok(Simulation {
        method: String::new(),
        index_bytes,
        statements: effects,
        skipped: None,
    })
}

/// A hypothetical index HypoPG made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Created {
    /// The name HypoPG gave it (`<13543>btree_users_email`), as plans show it.
    pub(crate) name: String,
    /// Its estimated size (`hypopg_relation_size`).
    pub(crate) bytes: Option<i64>,
}

/// Creates `candidate` (a `CREATE INDEX` as optidb or a user writes it, see
/// [`hypothetical_ddl`]) as a hypothetical index of this session. The
/// driver's error when HypoPG refuses it (its message says why).
pub(crate) async fn create_hypothetical(
    client: &Client,
    candidate: &str,
) -> Result<Created, tokio_postgres::Error> {
    let hypothetical = hypothetical_ddl(candidate);
    let row = client
        .query_one(
            "/* optidb */ SELECT indexrelid::bigint, indexname, hypopg_relation_size(indexrelid)::bigint FROM hypopg_create_index($1)",
            &[&hypothetical],
        )
        .await?;
    Ok(Created {
        name: row.get(1),
        bytes: row.get(2),
    })
}

/// Creates every one of `candidates` as a hypothetical index, in one round
/// trip: for candidates already known to be accepted one by one.
pub(crate) async fn create_hypothetical_all(
    client: &Client,
    candidates: &[String],
) -> Result<(), Error> {
    if candidates.is_empty() {
        return Ok(());
    }
    let hypothetical: Vec<String> = candidates.iter().map(|c| hypothetical_ddl(c)).collect();
    client
        .query_one(
            "/* optidb */ SELECT count(*) FROM unnest($1::text[]) AS d(ddl), LATERAL hypopg_create_index(d.ddl)",
            &[&hypothetical],
        )
        .await
        .map_err(|source| Error::Query {
            what: "creating hypothetical indexes",
            source,
        })?;
    Ok(())
}

/// Drops every hypothetical index of this session.
pub(crate) async fn reset(client: &Client) -> Result<(), Error> {
    client
        .batch_execute("/* optidb */ SELECT hypopg_reset()")
        .await
        .map_err(|source| Error::Query {
            what: "hypopg_reset()",
            source,
        })
}

/// `candidate` as HypoPG takes it: the last `CREATE … INDEX` of the text,
/// without `CONCURRENTLY`, `IF NOT EXISTS` and the index name (HypoPG names
/// its own), e.g. `CREATE INDEX ON "public"."users" USING btree ("email")`.
pub(crate) fn hypothetical_ddl(candidate: &str) -> String {
    let statement = candidate
        .split(';')
        .map(str::trim)
        .rfind(|part| {
            let upper = part.to_ascii_uppercase();
            upper.starts_with("CREATE") && upper.contains(" INDEX")
        })
        .unwrap_or(candidate.trim());
    let upper = statement.to_ascii_uppercase();
    let unique = upper.starts_with("CREATE UNIQUE ");
    let Some(on) = find_on(&upper) else {
        return statement.to_string();
    };
    format!(
        "CREATE {}INDEX{}",
        if unique { "UNIQUE " } else { "" },
        &statement[on..]
    )
}

/// Where ` ON ` (the table clause) starts, outside quotes.
fn find_on(upper: &str) -> Option<usize> {
    let bytes = upper.as_bytes();
    let mut quoted = false;
    for (i, byte) in bytes.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b' ' if !quoted && upper[i..].starts_with(" ON ") => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_becomes_what_hypopg_takes() {
        assert_eq!(
            hypothetical_ddl(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_users_email_idx\" ON \"public\".\"users\" USING btree (\"email\");"
            ),
            "CREATE INDEX ON \"public\".\"users\" USING btree (\"email\")"
        );
        assert_eq!(
            hypothetical_ddl(
                "CREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"x on y\" ON t USING gin (d gin_trgm_ops);"
            ),
            "CREATE INDEX ON t USING gin (d gin_trgm_ops)"
        );
        assert_eq!(
            hypothetical_ddl("create unique index foo on t (a)"),
            "CREATE UNIQUE INDEX on t (a)"
        );
    }
}
