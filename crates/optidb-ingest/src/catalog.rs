//! The catalogs: one round trip per kind of object, never one per table,
//! all kinds sent at once (tokio-postgres pipelines queries issued
//! concurrently on one connection).

mod extensions;
mod foreign_keys;
mod indexes;
mod locks;
mod settings;
mod tables;

use optidb_model::{Catalog, IngestWarning, ServerInfo};
use tokio_postgres::Client;

use crate::Error;

/// Schemas that never hold user tables.
pub(crate) const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// `expr` (a timestamptz) as RFC 3339 UTC text, or NULL.
pub(crate) fn rfc3339(expr: &str) -> String {
    format!("to_char({expr} AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

/// Reads every kind of catalog object.
pub(crate) async fn read(
    client: &Client,
    server: &ServerInfo,
    warnings: &mut Vec<IngestWarning>,
) -> Result<Catalog, Error> {
    let (tables, indexes, foreign_keys, settings, locks, extensions, clocks) = tokio::try_join!(
        tables::read(client),
        indexes::read(client),
        foreign_keys::read(client),
        settings::read(client),
        locks::read(client, server),
        extensions::read(client),
        read_clocks(client),
    )?;
    let (tables, table_warnings) = tables;
    warnings.extend(table_warnings);
    Ok(Catalog {
        tables,
        indexes,
        foreign_keys,
        settings,
        locks,
        extensions,
        stats_reset: clocks.0,
        postmaster_start: clocks.1,
    })
}

/// When the database's counters were reset, and when the server started.
async fn read_clocks(client: &Client) -> Result<(Option<String>, Option<String>), Error> {
    let row = client
        .query_one(
            &format!(
                "/* optidb */ SELECT {}, {}
                   FROM pg_stat_database WHERE datname = current_database()",
                rfc3339("stats_reset"),
                rfc3339("pg_postmaster_start_time()"),
            ),
            &[],
        )
        .await
        .map_err(Error::query("pg_stat_database"))?;
    Ok((row.get(0), row.get(1)))
}

/// A non-negative count from a nullable bigint column.
pub(crate) fn count(row: &tokio_postgres::Row, index: usize) -> u64 {
    row.get::<_, Option<i64>>(index)
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}
