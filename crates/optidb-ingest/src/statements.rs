//! `pg_stat_statements`: the statements of the current database, the top
//! ones by total execution time, and totals over all of them.
//!
//! Its columns differ by extension version (13: 1.8, 14: 1.9 adds
//! `toplevel`, 15–16: 1.10 adds temporary-block timings and JIT, 17: 1.11
//! renames `blk_read_time` to `shared_blk_read_time`…), and a server may
//! run an older extension version than it ships after an upgrade. So the
//! query is built from the view's actual columns ([`select_list`]), each
//! model field mapped to the first of its candidate columns that exists.

use optidb_model::{ServerInfo, Statement, StatementStatsInfo, WorkloadTotals};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row};

use crate::Error;

/// How a field of [`Statement`] is read.
struct Field {
    /// The alias the query gives it.
    name: &'static str,
    /// Source columns, preferred first (newer names first).
    candidates: &'static [&'static str],
    /// SQL type of the value.
    cast: &'static str,
    /// The value when no candidate exists.
    missing: &'static str,
}

const fn field(
    name: &'static str,
    candidates: &'static [&'static str],
    cast: &'static str,
    missing: &'static str,
) -> Field {
    Field {
        name,
        candidates,
        cast,
        missing,
    }
}

/// Every field read, in the order of the select list.
const FIELDS: &[Field] = &[
    field("toplevel", &["toplevel"], "boolean", "true"),
    field("plans", &["plans"], "bigint", "NULL"),
    field("total_plan_time", &["total_plan_time"], "float8", "NULL"),
    field("calls", &["calls"], "bigint", "0"),
    field("rows", &["rows"], "bigint", "0"),
    field("total_exec_time", &["total_exec_time"], "float8", "0"),
    field("min_exec_time", &["min_exec_time"], "float8", "0"),
    field("max_exec_time", &["max_exec_time"], "float8", "0"),
    field("mean_exec_time", &["mean_exec_time"], "float8", "0"),
    field("stddev_exec_time", &["stddev_exec_time"], "float8", "0"),
    field("shared_blks_hit", &["shared_blks_hit"], "bigint", "0"),
    field("shared_blks_read", &["shared_blks_read"], "bigint", "0"),
    field(
        "shared_blks_dirtied",
        &["shared_blks_dirtied"],
        "bigint",
        "0",
    ),
    field(
        "shared_blks_written",
        &["shared_blks_written"],
        "bigint",
        "0",
    ),
    field("local_blks_hit", &["local_blks_hit"], "bigint", "0"),
    field("local_blks_read", &["local_blks_read"], "bigint", "0"),
    field("local_blks_dirtied", &["local_blks_dirtied"], "bigint", "0"),
    field("local_blks_written", &["local_blks_written"], "bigint", "0"),
    field("temp_blks_read", &["temp_blks_read"], "bigint", "0"),
    field("temp_blks_written", &["temp_blks_written"], "bigint", "0"),
    field(
        "blk_read_time",
        &["shared_blk_read_time", "blk_read_time"],
        "float8",
        "0",
    ),
    field(
        "blk_write_time",
        &["shared_blk_write_time", "blk_write_time"],
        "float8",
        "0",
    ),
    field(
        "temp_blk_read_time",
        &["temp_blk_read_time"],
        "float8",
        "NULL",
    ),
    field(
        "temp_blk_write_time",
        &["temp_blk_write_time"],
        "float8",
        "NULL",
    ),
    field("wal_records", &["wal_records"], "bigint", "0"),
    field("wal_fpi", &["wal_fpi"], "bigint", "0"),
    field("wal_bytes", &["wal_bytes"], "numeric", "0"),
];

/// The per-row select list for a view with `columns`.
fn select_list(columns: &[String]) -> String {
    FIELDS
        .iter()
        .map(|field| {
            let source = field
                .candidates
                .iter()
                .find(|candidate| columns.iter().any(|column| column == *candidate));
            match source {
                Some(column) => format!("s.{column}::{} AS {}", field.cast, field.name),
                None => format!("{}::{} AS {}", field.missing, field.cast, field.name),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole query: the view's rows of this database, summed per queryid
/// over roles (the same statement run by two roles is one statement to an
/// advisor), ranked by total time, with the totals over every statement in
/// each row (window sums run before LIMIT). Totals count top-level
/// statements only: a nested statement's time is already in its caller's.
/// optidb's own statements (tagged `/* optidb */`) are left out.
fn top_statements_sql(schema: &str, columns: &[String]) -> String {
    format!(
        "/* optidb */
WITH s AS (
  SELECT s.queryid, s.query, pg_get_userbyid(s.userid)::text AS role, {select}
    FROM {schema}.pg_stat_statements s
   WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND s.queryid IS NOT NULL
     AND s.query NOT LIKE '%/* optidb */%'
), q AS (
  SELECT queryid,
         min(query) AS query,
         array_agg(DISTINCT role ORDER BY role) AS roles,
         bool_or(toplevel) AS toplevel,
         sum(calls)::bigint AS calls,
         sum(rows)::bigint AS rows,
         sum(total_exec_time) AS total_exec_time,
         min(min_exec_time) AS min_exec_time,
         max(max_exec_time) AS max_exec_time,
         -- pooled standard deviation over the per-role rows
         sqrt(greatest(sum(calls * (stddev_exec_time ^ 2 + mean_exec_time ^ 2))
                       / nullif(sum(calls), 0)
                       - (sum(total_exec_time) / nullif(sum(calls), 0)) ^ 2, 0)) AS stddev_exec_time,
         sum(plans)::bigint AS plans,
         sum(total_plan_time) AS total_plan_time,
         sum(shared_blks_hit)::bigint AS shared_blks_hit,
         sum(shared_blks_read)::bigint AS shared_blks_read,
         sum(shared_blks_dirtied)::bigint AS shared_blks_dirtied,
         sum(shared_blks_written)::bigint AS shared_blks_written,
         sum(local_blks_hit)::bigint AS local_blks_hit,
         sum(local_blks_read)::bigint AS local_blks_read,
         sum(local_blks_dirtied)::bigint AS local_blks_dirtied,
         sum(local_blks_written)::bigint AS local_blks_written,
         sum(temp_blks_read)::bigint AS temp_blks_read,
         sum(temp_blks_written)::bigint AS temp_blks_written,
         sum(blk_read_time) AS blk_read_time,
         sum(blk_write_time) AS blk_write_time,
         sum(temp_blk_read_time) AS temp_blk_read_time,
         sum(temp_blk_write_time) AS temp_blk_write_time,
         sum(wal_records)::bigint AS wal_records,
         sum(wal_fpi)::bigint AS wal_fpi,
         sum(wal_bytes)::bigint AS wal_bytes,
         sum(total_exec_time) FILTER (WHERE toplevel) AS toplevel_exec_time,
         sum(calls) FILTER (WHERE toplevel) AS toplevel_calls
    FROM s
   GROUP BY queryid
)
SELECT q.*,
       count(*) OVER ()::bigint AS all_statements,
       (sum(toplevel_calls) OVER ())::bigint AS all_calls,
       coalesce(sum(toplevel_exec_time) OVER (), 0) AS all_exec_time
  FROM q
 ORDER BY total_exec_time DESC, queryid
 LIMIT $1",
        select = select_list(columns),
    )
}

/// What `read_top` found.
pub(crate) struct TopStatements {
    pub totals: WorkloadTotals,
    pub statements: Vec<Statement>,
    /// Statements whose text this role may not see.
    pub hidden_texts: u64,
    /// `pg_stat_statements_info`, PostgreSQL 14+.
    pub info: Option<StatementStatsInfo>,
}

/// Reads the `limit` statements with the most total execution time.
pub(crate) async fn read_top(
    client: &Client,
    server: &ServerInfo,
    limit: usize,
) -> Result<TopStatements, Error> {
    let schema: Option<String> = client
        .query_opt(
            "/* optidb */ SELECT quote_ident(n.nspname)
               FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
              WHERE e.extname = 'pg_stat_statements'",
            &[],
        )
        .await
        .map_err(Error::query("the installed extensions"))?
        .map(|row| row.get(0));
    let Some(schema) = schema else {
        return Err(Error::StatementsExtensionMissing {
            database: server.database.clone(),
        });
    };
    let columns: Vec<String> = client
        .query(
            &format!(
                "/* optidb */ SELECT attname::text FROM pg_attribute
                  WHERE attrelid = '{schema}.pg_stat_statements'::regclass
                    AND attnum > 0 AND NOT attisdropped"
            ),
            &[],
        )
        .await
        .map_err(Error::query("the columns of pg_stat_statements"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(&top_statements_sql(&schema, &columns), &[&limit])
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) {
                Error::StatementsNotPreloaded
            } else {
                Error::Query {
                    what: "pg_stat_statements",
                    source: e,
                }
            }
        })?;
    let (info, hidden_texts) = tokio::try_join!(
        read_info(client, &schema, server),
        count_hidden(client, &schema)
    )?;
    let first = rows.first();
    Ok(TopStatements {
        totals: first.map(totals).unwrap_or_default(),
        hidden_texts,
        statements: rows.iter().map(statement).collect(),
        info,
    })
}

/// Statements of this database whose text (and queryid) this role may not
/// see: they are left out of the top statements, so count them apart.
async fn count_hidden(client: &Client, schema: &str) -> Result<u64, Error> {
    let row = client
        .query_one(
            &format!(
                "/* optidb */ SELECT count(*) FROM {schema}.pg_stat_statements
                  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND query = '<insufficient privilege>'"
            ),
            &[],
        )
        .await
        .map_err(Error::query("pg_stat_statements"))?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// `pg_stat_statements_info` (PostgreSQL 14+): evictions and the last reset.
async fn read_info(
    client: &Client,
    schema: &str,
    server: &ServerInfo,
) -> Result<Option<StatementStatsInfo>, Error> {
    if server.major_version() < 14 {
        return Ok(None);
    }
    let row = client
        .query_opt(
            &format!(
                "/* optidb */ SELECT dealloc, to_char(stats_reset AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                   FROM {schema}.pg_stat_statements_info"
            ),
            &[],
        )
        .await
        .map_err(Error::query("pg_stat_statements_info"))?;
    Ok(row.map(|row| StatementStatsInfo {
        dealloc: row
            .get::<_, Option<i64>>(0)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        stats_reset: row.get(1),
    }))
}

fn count(row: &Row, column: &str) -> u64 {
    row.get::<_, Option<i64>>(column)
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}

fn time(row: &Row, column: &str) -> f64 {
    row.get::<_, Option<f64>>(column).unwrap_or(0.0)
}

fn totals(row: &Row) -> WorkloadTotals {
    WorkloadTotals {
        statements: count(row, "all_statements"),
        calls: count(row, "all_calls"),
        total_exec_time_ms: time(row, "all_exec_time"),
    }
}

fn statement(row: &Row) -> Statement {
    let calls = count(row, "calls");
    let plans = row
        .get::<_, Option<i64>>("plans")
        .and_then(|n| u64::try_from(n).ok())
        // Zero plans with calls: planning is not tracked.
        .filter(|plans| *plans > 0);
    Statement {
        queryid: row.get("queryid"),
        // `<insufficient privilege>` without pg_read_all_stats.
        query: row.get::<_, Option<String>>("query").unwrap_or_default(),
        roles: row
            .get::<_, Option<Vec<String>>>("roles")
            .unwrap_or_default(),
        toplevel: row.get::<_, Option<bool>>("toplevel").unwrap_or(true),
        calls,
        rows: count(row, "rows"),
        total_exec_time_ms: time(row, "total_exec_time"),
        mean_exec_time_ms: if calls > 0 {
            time(row, "total_exec_time") / calls as f64
        } else {
            0.0
        },
        min_exec_time_ms: time(row, "min_exec_time"),
        max_exec_time_ms: time(row, "max_exec_time"),
        stddev_exec_time_ms: time(row, "stddev_exec_time"),
        total_plan_time_ms: plans.map(|_| time(row, "total_plan_time")),
        plans,
        shared_blks_hit: count(row, "shared_blks_hit"),
        shared_blks_read: count(row, "shared_blks_read"),
        shared_blks_dirtied: count(row, "shared_blks_dirtied"),
        shared_blks_written: count(row, "shared_blks_written"),
        local_blks_hit: count(row, "local_blks_hit"),
        local_blks_read: count(row, "local_blks_read"),
        local_blks_dirtied: count(row, "local_blks_dirtied"),
        local_blks_written: count(row, "local_blks_written"),
        temp_blks_read: count(row, "temp_blks_read"),
        temp_blks_written: count(row, "temp_blks_written"),
        blk_read_time_ms: time(row, "blk_read_time"),
        blk_write_time_ms: time(row, "blk_write_time"),
        temp_blk_read_time_ms: row.get("temp_blk_read_time"),
        temp_blk_write_time_ms: row.get("temp_blk_write_time"),
        wal_records: count(row, "wal_records"),
        wal_fpi: count(row, "wal_fpi"),
        wal_bytes: count(row, "wal_bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view's columns in each major version (pg_stat_statements 1.8 to 1.11),
    /// from the PostgreSQL documentation of each release.
    fn columns(major: u32) -> Vec<String> {
        let mut columns: Vec<&str> = vec!["userid", "dbid"];
        if major >= 14 {
            columns.push("toplevel");
        }
        columns.extend([
            "queryid",
            "query",
            "plans",
            "total_plan_time",
            "min_plan_time",
            "max_plan_time",
            "mean_plan_time",
            "stddev_plan_time",
            "calls",
            "total_exec_time",
            "min_exec_time",
            "max_exec_time",
            "mean_exec_time",
            "stddev_exec_time",
            "rows",
            "shared_blks_hit",
            "shared_blks_read",
            "shared_blks_dirtied",
            "shared_blks_written",
            "local_blks_hit",
            "local_blks_read",
            "local_blks_dirtied",
            "local_blks_written",
            "temp_blks_read",
            "temp_blks_written",
        ]);
        if major >= 17 {
            columns.extend([
                "shared_blk_read_time",
                "shared_blk_write_time",
                "local_blk_read_time",
                "local_blk_write_time",
            ]);
        } else {
            columns.extend(["blk_read_time", "blk_write_time"]);
        }
        if major >= 15 {
            columns.extend(["temp_blk_read_time", "temp_blk_write_time"]);
        }
        columns.extend(["wal_records", "wal_fpi", "wal_bytes"]);
        if major >= 15 {
            columns.extend([
                "jit_functions",
                "jit_generation_time",
                "jit_inlining_count",
                "jit_inlining_time",
                "jit_optimization_count",
                "jit_optimization_time",
                "jit_emission_count",
                "jit_emission_time",
            ]);
        }
        if major >= 17 {
            columns.extend([
                "jit_deform_count",
                "jit_deform_time",
                "stats_since",
                "minmax_stats_since",
            ]);
        }
        columns.into_iter().map(String::from).collect()
    }

    fn expression(major: u32, field: &str) -> String {
        select_list(&columns(major))
            .split(", ")
            .find(|item| item.ends_with(&format!(" AS {field}")))
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn toplevel_exists_from_14() {
        assert_eq!(expression(13, "toplevel"), "true::boolean AS toplevel");
        for major in 14..=17 {
            assert_eq!(
                expression(major, "toplevel"),
                "s.toplevel::boolean AS toplevel"
            );
        }
    }

    #[test]
    fn block_read_time_follows_the_17_rename() {
        for major in 13..=16 {
            assert_eq!(
                expression(major, "blk_read_time"),
                "s.blk_read_time::float8 AS blk_read_time"
            );
        }
        assert_eq!(
            expression(17, "blk_read_time"),
            "s.shared_blk_read_time::float8 AS blk_read_time"
        );
        assert_eq!(
            expression(17, "blk_write_time"),
            "s.shared_blk_write_time::float8 AS blk_write_time"
        );
    }

    #[test]
    fn temp_block_timings_exist_from_15() {
        for major in 13..=14 {
            assert_eq!(
                expression(major, "temp_blk_read_time"),
                "NULL::float8 AS temp_blk_read_time"
            );
        }
        for major in 15..=17 {
            assert_eq!(
                expression(major, "temp_blk_read_time"),
                "s.temp_blk_read_time::float8 AS temp_blk_read_time"
            );
        }
    }

    #[test]
    fn every_field_has_a_source_column_on_17() {
        let list = select_list(&columns(17));
        for field in FIELDS {
            assert!(
                list.contains(&format!("::{} AS {}", field.cast, field.name)),
                "{}",
                field.name
            );
        }
        assert!(!list.contains("NULL::"), "{list}");
    }
}
