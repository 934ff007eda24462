//! `pg_stat_statements`: the statements of the current database, the top
//! ones by total execution time, and totals over all of them.

use optidb_model::{ServerInfo, Statement, WorkloadTotals};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row};

use crate::Error;

/// One round trip: the top statements, each row also carrying the totals
/// over every statement of the database (window sums run before LIMIT).
/// optidb's own statements (tagged `/* optidb */`) are left out of both.
const TOP_STATEMENTS: &str = "/* optidb */
SELECT queryid, query, calls::bigint, rows::bigint,
       total_exec_time, mean_exec_time, min_exec_time, max_exec_time, stddev_exec_time,
       shared_blks_hit::bigint, shared_blks_read::bigint, temp_blks_written::bigint,
       count(*) OVER ()::bigint AS all_statements,
       (sum(calls) OVER ())::bigint AS all_calls,
       sum(total_exec_time) OVER () AS all_exec_time
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND query NOT LIKE '%/* optidb */%'
 ORDER BY total_exec_time DESC
 LIMIT $1";

/// Reads the `limit` statements with the most total execution time.
pub(crate) async fn read_top(
    client: &Client,
    server: &ServerInfo,
    limit: usize,
) -> Result<(WorkloadTotals, Vec<Statement>), Error> {
    let installed = client
        .query_opt(
            "/* optidb */ SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'",
            &[],
        )
        .await
        .map_err(Error::query("the installed extensions"))?;
    if installed.is_none() {
        return Err(Error::StatementsExtensionMissing {
            database: server.database.clone(),
        });
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client.query(TOP_STATEMENTS, &[&limit]).await.map_err(|e| {
        if e.code() == Some(&SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) {
            Error::StatementsNotPreloaded
        } else {
            Error::Query {
                what: "pg_stat_statements",
                source: e,
            }
        }
    })?;
    let totals = rows.first().map(totals).unwrap_or_default();
    Ok((totals, rows.iter().map(statement).collect()))
}

fn count(row: &Row, column: &str) -> u64 {
    row.get::<_, Option<i64>>(column)
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}

fn totals(row: &Row) -> WorkloadTotals {
    WorkloadTotals {
        statements: count(row, "all_statements"),
        calls: count(row, "all_calls"),
        total_exec_time_ms: row.get::<_, Option<f64>>("all_exec_time").unwrap_or(0.0),
    }
}

fn statement(row: &Row) -> Statement {
    let time = |column: &str| row.get::<_, Option<f64>>(column).unwrap_or(0.0);
    Statement {
        // NULL when compute_query_id is off for the statement's session.
        queryid: row.get::<_, Option<i64>>("queryid").unwrap_or(0),
        // NULL or `<insufficient privilege>` without pg_read_all_stats.
        query: row.get::<_, Option<String>>("query").unwrap_or_default(),
        calls: count(row, "calls"),
        rows: count(row, "rows"),
        total_exec_time_ms: time("total_exec_time"),
        mean_exec_time_ms: time("mean_exec_time"),
        min_exec_time_ms: time("min_exec_time"),
        max_exec_time_ms: time("max_exec_time"),
        stddev_exec_time_ms: time("stddev_exec_time"),
        shared_blks_hit: count(row, "shared_blks_hit"),
        shared_blks_read: count(row, "shared_blks_read"),
        temp_blks_written: count(row, "temp_blks_written"),
    }
}
