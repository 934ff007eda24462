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
use super::{Copier, RealOptions, resolve, sandbox};
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
    let copier = Copier {
        target,
        sandbox: sandbox_client,
        database: &database,
        snapshot,
        options,
    };
    let mut created = Created::default();
    let result = measure(&copier, statements, &tables, (schema, name), &mut created).await;
    copy::cleanup(sandbox_client, &created, options.keep_copy).await;
    result
}

/// Copies `tables` (the index's first), and explains `statements` on the
/// copies before and after dropping the index there.
async fn measure(
    copier: &Copier<'_>,
    statements: &[Statement],
    tables: &[&Table],
    (schema, name): (&str, &str),
    created: &mut Created,
) -> Result<Simulation, Error> {
    let (mut copied, mut notes) = (Vec::new(), Vec::new());
    let copies = copier
        .copy(tables, &[], created, &mut copied, &mut notes)
        .await?;
    if copies.first().is_none_or(Result::is_err) {
        return Ok(skipped(format!(
            "the table of {schema}.{name} could not be copied"
        )));
    }
    let sandbox_client = copier.sandbox;
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
