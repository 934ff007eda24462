//! What dropping an index would cost, where HypoPG cannot hide it (before
//! 1.4): copy the tables involved, with their indexes, to the sandbox,
//! EXPLAIN the statements, drop the index on the copy, EXPLAIN again.
//!
//! Plan costs on a sampled copy are not the target's, but both sides are
//! costed on the same copy, so the change they show is the index's.

use optidb_ingest::plans::explain_statements;
use optidb_model::facts::WorkloadFacts;
use optidb_model::{Simulation, Snapshot, Statement, Table};
use tokio_postgres::Client;

use super::copy::{self, Created};
use super::sql::qualified;
use super::{RealOptions, resolve, sandbox};
use crate::Error;
use crate::plan_diff::{reads_index, statement_effects};

/// The generic-plan cost of `statements` with and without the index
/// `(schema, name)`, measured on copies in `sandbox_client` (never the target).
pub async fn cost_without_index(
    target: &Client,
    sandbox_client: &Client,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    statements: &[Statement],
    (schema, name): (&str, &str),
    options: &RealOptions,
) -> Result<Simulation, Error> {
    let database = sandbox::ensure_distinct(target, sandbox_client).await?;
    let Some(index) = snapshot
        .catalog
        .indexes
        .iter()
        .find(|index| index.schema == schema && index.name == name)
    else {
        return Ok(skipped(format!(
            "{schema}.{name} is not an index in the snapshot"
        )));
    };
    // The index's table, and every table the statements read.
    let mut tables: Vec<&Table> = snapshot
        .catalog
        .table(schema, &index.table)
        .into_iter()
        .collect();
    for statement in statements {
        let Some(facts) = workload.of(statement.queryid) else {
            continue;
        };
        for relation in facts.facts.tables() {
            if let Ok(table) = resolve(&snapshot.catalog, relation)
                && !tables.iter().any(|t| std::ptr::eq(*t, table))
            {
                tables.push(table);
            }
        }
    }
    let mut created = Created::default();
    let result = measure(
        target,
        sandbox_client,
        &database,
        snapshot,
        statements,
        &tables,
        (schema, name),
        options,
        &mut created,
    )
    .await;
    copy::cleanup(sandbox_client, &created, options.keep_copy).await;
    result
}

#[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
async fn measure(
    target: &Client,
    sandbox_client: &Client,
    database: &str,
    snapshot: &Snapshot,
    statements: &[Statement],
    tables: &[&Table],
    (schema, name): (&str, &str),
    options: &RealOptions,
    created: &mut Created,
) -> Result<Simulation, Error> {
    copy::ensure_absent(sandbox_client, database, tables).await?;
    let mut notes = Vec::new();
    copy::prepare_session(sandbox_client, snapshot, options, &mut notes).await?;
    let mut copied = Vec::new();
    for table in tables {
        if let Ok(table) = copy::copy_table(
            target,
            sandbox_client,
            snapshot,
            table,
            options,
            created,
            &mut notes,
        )
        .await?
        {
            copied.push(table.name);
        }
    }
    let index_table = copied
        .iter()
        .any(|copy| tables.first().is_some_and(|t| copy == &t.qualified_name()));
    if !index_table {
        return Ok(skipped(format!(
            "the table of {schema}.{name} could not be copied"
        )));
    }
    let quoted: Vec<String> = tables
        .iter()
        .map(|t| qualified(&t.schema, &t.name))
        .collect();
    copy::vacuum_analyze(sandbox_client, &quoted).await?;
    let version = sandbox_version(sandbox_client).await?;
    let explain = optidb_ingest::plans::ExplainOptions::default();
    let before = explain_statements(sandbox_client, statements, version, &explain).await?;
    sandbox_client
        .batch_execute(&format!(
            "/* optidb */ DROP INDEX {}",
            qualified(schema, name)
        ))
        .await
        .map_err(|source| Error::Query {
            what: "dropping the index on the copy",
            source,
        })?;
    let after = explain_statements(sandbox_client, statements, version, &explain).await?;
    // The index is gone after: whether the plans before used it.
    let effects = statement_effects(&before, &after, |before, _| reads_index(before, name));
    Ok(Simulation {
        method: "sandbox copy: EXPLAIN before and after DROP INDEX".into(),
        index_bytes: None,
        statements: effects,
        skipped: None,
    })
}

async fn sandbox_version(client: &Client) -> Result<u32, Error> {
    let version: i32 = client
        .query_one(
            "/* optidb */ SELECT current_setting('server_version_num')::int",
            &[],
        )
        .await
        .map_err(|source| Error::Query {
            what: "reading the sandbox's version",
            source,
        })?
        .get(0);
    Ok(u32::try_from(version).unwrap_or(0))
}

fn skipped(reason: String) -> Simulation {
    Simulation {
        method: "sandbox copy".into(),
        index_bytes: None,
        statements: Vec::new(),
        skipped: Some(reason),
    }
}
