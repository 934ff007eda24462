//! Tables with their counters, and their columns with planner statistics.

use std::collections::HashMap;

use optidb_model::{Column, ColumnStats, IngestWarning, Table, TableActivity, TableKind};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row};

use super::{USER_SCHEMAS, count, rfc3339};
use crate::Error;

/// How many most-common values to keep per column, and how much of each:
/// enough to pick realistic parameter values, not a copy of the data.
const MAX_COMMON_VALUES: usize = 100;
const MAX_VALUE_CHARS: usize = 100;

/// How table sizes are measured.
#[derive(Clone, Copy)]
enum Sizes {
    /// `pg_table_size`: exact, but waits for an AccessShareLock.
    Exact,
    /// `relpages × block_size`: as of the last VACUUM/ANALYZE, takes no lock.
    Estimated,
}

pub(crate) async fn read(client: &Client) -> Result<(Vec<Table>, Vec<IngestWarning>), Error> {
    let mut warnings = Vec::new();
    let (mut tables, columns) = tokio::try_join!(read_tables(client), read_columns(client))?;
    if tables.is_none() {
        // A table was locked exclusively (a migration?) for longer than
        // lock_timeout: fall back to sizes that need no lock.
        warnings.push(IngestWarning {
            code: "table-sizes-estimated".into(),
            message: "a table was locked exclusively while optidb measured sizes: sizes are estimated from pg_class.relpages".into(),
        });
        tables = Some(read_tables_sized(client, Sizes::Estimated).await?);
    }
    let mut tables = tables.unwrap_or_default();
    let mut by_table: HashMap<(String, String), Vec<Column>> = HashMap::new();
    for (schema, table, column) in columns {
        by_table.entry((schema, table)).or_default().push(column);
    }
    for table in &mut tables {
        if let Some(columns) = by_table.remove(&(table.schema.clone(), table.name.clone())) {
            table.columns = columns;
        }
    }
    let hidden: Vec<String> = tables
        .iter()
        .filter(|table| {
            let analyzed =
                table.activity.last_analyze.is_some() || table.activity.last_autoanalyze.is_some();
            analyzed && !table.columns.is_empty() && table.columns.iter().all(|c| c.stats.is_none())
        })
        .map(Table::qualified_name)
        .collect();
    if !hidden.is_empty() {
        warnings.push(IngestWarning {
            code: "column-stats-hidden".into(),
            message: format!(
                "planner statistics (pg_stats) of {} analyzed table(s) are not visible to optidb's role, e.g. {}: pg_stats shows only columns the role may SELECT; grant pg_read_all_data (PostgreSQL 14+) or SELECT on those tables",
                hidden.len(),
                hidden[0]
            ),
        });
    }
    Ok((tables, warnings))
}

/// Tables with exact sizes; `None` when a lock stopped the size functions.
async fn read_tables(client: &Client) -> Result<Option<Vec<Table>>, Error> {
    match read_tables_sized(client, Sizes::Exact).await {
        Ok(tables) => Ok(Some(tables)),
        Err(Error::Query { source, .. })
            if source.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) =>
        {
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

async fn read_tables_sized(client: &Client, sizes: Sizes) -> Result<Vec<Table>, Error> {
    let (table_bytes, index_bytes) = match sizes {
        Sizes::Exact => ("pg_table_size(c.oid)", "pg_indexes_size(c.oid)"),
        Sizes::Estimated => (
            "c.relpages::bigint * current_setting('block_size')::bigint",
            "(SELECT coalesce(sum(ic.relpages), 0)::bigint * current_setting('block_size')::bigint
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid)",
        ),
    };
    let sql = format!(
        "/* optidb */
SELECT n.nspname::text, c.relname::text, c.relkind::text,
       (SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
          FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = pc.relnamespace
         WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1),
       c.reltuples::float8, c.relpages::bigint, {table_bytes}, {index_bytes},
       coalesce(c.reloptions, '{{}}')::text[],
       s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch,
       s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_tup_hot_upd,
       s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, s.n_ins_since_vacuum,
       {}, {}, {}, {},
       s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
 WHERE c.relkind IN ('r', 'p', 'm') AND {USER_SCHEMAS}
 ORDER BY 1, 2",
        rfc3339("s.last_vacuum"),
        rfc3339("s.last_autovacuum"),
        rfc3339("s.last_analyze"),
        rfc3339("s.last_autoanalyze"),
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(Error::query("tables"))?;
    Ok(rows.iter().map(table).collect())
}

fn table(row: &Row) -> Table {
    Table {
        schema: row.get(0),
        name: row.get(1),
        kind: match row.get::<_, String>(2).as_str() {
            "p" => TableKind::Partitioned,
            "m" => TableKind::MaterializedView,
            _ => TableKind::Table,
        },
        partition_of: row.get(3),
        reltuples: row.get(4),
        relpages: row.get(5),
        table_bytes: row.get::<_, Option<i64>>(6).unwrap_or(0),
        index_bytes: row.get::<_, Option<i64>>(7).unwrap_or(0),
        options: row.get(8),
        columns: Vec::new(),
        activity: TableActivity {
            seq_scan: count(row, 9),
            seq_tup_read: count(row, 10),
            idx_scan: count(row, 11),
            idx_tup_fetch: count(row, 12),
            n_tup_ins: count(row, 13),
            n_tup_upd: count(row, 14),
            n_tup_del: count(row, 15),
            n_tup_hot_upd: count(row, 16),
            live_tuples: count(row, 17),
            dead_tuples: count(row, 18),
            n_mod_since_analyze: count(row, 19),
            n_ins_since_vacuum: count(row, 20),
            last_vacuum: row.get(21),
            last_autovacuum: row.get(22),
            last_analyze: row.get(23),
            last_autoanalyze: row.get(24),
            vacuum_count: count(row, 25),
            autovacuum_count: count(row, 26),
            analyze_count: count(row, 27),
            autoanalyze_count: count(row, 28),
        },
    }
}

/// Every column of every user table, with `pg_stats` where visible.
async fn read_columns(client: &Client) -> Result<Vec<(String, String, Column)>, Error> {
    // pg_stats keeps one row per column for a plain table and, for a
    // partitioned parent, one over all partitions (inherited = true).
    let sql = format!(
        "/* optidb */
SELECT n.nspname::text, c.relname::text, a.attname::text, a.attnum,
       format_type(a.atttypid, a.atttypmod), a.attnotnull,
       st.attname IS NOT NULL, st.null_frac::float8, st.avg_width, st.n_distinct::float8,
       st.correlation::float8,
       st.most_common_vals::text::text[], st.most_common_freqs::float8[],
       coalesce(array_length(st.histogram_bounds::text::text[], 1), 0)
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = c.relname
        AND st.attname = a.attname AND st.inherited = (c.relkind = 'p')
 WHERE c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND {USER_SCHEMAS}
 ORDER BY 1, 2, 4"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(Error::query("columns and pg_stats"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let has_stats: bool = row.get(6);
            let stats = has_stats.then(|| ColumnStats {
                null_frac: row.get::<_, Option<f64>>(7).unwrap_or(0.0),
                avg_width: row.get::<_, Option<i32>>(8).unwrap_or(0),
                n_distinct: row.get::<_, Option<f64>>(9).unwrap_or(0.0),
                correlation: row.get(10),
                most_common_values: row
                    .get::<_, Option<Vec<String>>>(11)
                    .unwrap_or_default()
                    .into_iter()
                    .take(MAX_COMMON_VALUES)
                    .map(|value| value.chars().take(MAX_VALUE_CHARS).collect())
                    .collect(),
                most_common_freqs: row
                    .get::<_, Option<Vec<f64>>>(12)
                    .unwrap_or_default()
                    .into_iter()
                    .take(MAX_COMMON_VALUES)
                    .collect(),
                histogram_bounds: usize::try_from(row.get::<_, i32>(13)).unwrap_or(0),
            });
            (
                row.get(0),
                row.get(1),
                Column {
                    name: row.get(2),
                    position: row.get(3),
                    data_type: row.get(4),
                    not_null: row.get(5),
                    stats,
                },
            )
        })
        .collect())
}
