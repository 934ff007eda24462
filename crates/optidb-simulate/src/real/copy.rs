//! Copying tables from the target to the sandbox: the schema from the
//! snapshot's catalog (plus column defaults read from the target), a sample
//! of the rows streamed from `COPY … TO STDOUT` on the target into `COPY …
//! FROM STDIN` on the sandbox, the existing indexes and the primary key
//! re-created so that plans keep their shape, then `VACUUM (ANALYZE)`.
//!
//! On the target only reads run: `COPY (SELECT …) TO STDOUT` and catalog
//! queries, inside `READ ONLY` transactions that are rolled back.

use std::pin::pin;

use futures_util::{SinkExt, StreamExt};
use optidb_model::{Setting, Snapshot, Table, TableKind};
use tokio_postgres::Client;

use super::sql::{literal, qualified, quote_ident, refusal, timeout_ms};
use super::{CopiedTable, RealOptions};
use crate::Error;

/// Extensions that are server infrastructure, not schema: never created on
/// the sandbox (some need `shared_preload_libraries`).
const SKIPPED_EXTENSIONS: &[&str] = &["plpgsql", "pg_stat_statements", "hypopg"];

/// Planner settings mirrored from the target onto the sandbox session, so
/// the copy is planned (and analyzed) the way the target would.
const MIRRORED_SETTINGS: &[&str] = &[
    "default_statistics_target",
    "effective_cache_size",
    "effective_io_concurrency",
    "enable_bitmapscan",
    "enable_hashjoin",
    "enable_indexscan",
    "enable_mergejoin",
    "enable_nestloop",
    "enable_seqscan",
    "enable_sort",
    "hash_mem_multiplier",
    "maintenance_work_mem",
    "max_parallel_workers_per_gather",
    "plan_cache_mode",
    "random_page_cost",
    "seq_page_cost",
    "work_mem",
];

/// A sampled copy asks for this much more than `sample_rows`: block
/// sampling returns a varying number of rows, and the copy should have at
/// least `sample_rows`.
const SAMPLE_MARGIN: f64 = 1.2;

/// `REPEATABLE` seed of the sample: the same target gives the same copy.
const SAMPLE_SEED: u32 = 42;

/// What real mode created on the sandbox, to undo it afterwards.
#[derive(Debug, Default)]
pub(super) struct Created {
    /// Tables, as quoted `schema.name`.
    pub(super) tables: Vec<String>,
    /// Schemas that did not exist before.
    pub(super) schemas: Vec<String>,
    /// Extensions that were not installed before.
    pub(super) extensions: Vec<String>,
    /// Prepared statement names.
    pub(super) prepared: Vec<String>,
}

/// Sets up the sandbox session: no JIT (it would add compile time to the
/// measured execution times), strings as real mode quotes them, the
/// setup timeout, and the target's planner settings.
pub(super) async fn prepare_session(
    sandbox: &Client,
    snapshot: &Snapshot,
    options: &RealOptions,
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    sandbox
        .batch_execute(&format!(
            "/* optidb */ SET jit = off; SET standard_conforming_strings = on; SET application_name = 'optidb'; SET statement_timeout = {}",
            timeout_ms(options.setup_timeout)
        ))
        .await
        .map_err(|source| Error::Query {
            what: "setting up the sandbox session",
            source,
        })?;
    for setting in &snapshot.catalog.settings {
        if !MIRRORED_SETTINGS.contains(&setting.name.as_str()) {
            continue;
        }
        let Some(value) = setting_value(setting) else {
            continue;
        };
        if let Err(error) = sandbox
            .execute(
                "/* optidb */ SELECT set_config($1, $2, false)",
                &[&setting.name, &value],
            )
            .await
        {
            let reason = refusal(sandbox, error, "mirroring the target's settings")?;
            notes.push(format!(
                "the target's {} = {value} could not be set on the sandbox: {reason}",
                setting.name
            ));
        }
    }
    Ok(())
}

/// A setting's value as `SET` takes it: `pg_settings` gives `524288` in
/// units of `8kB` for `effective_cache_size`, which is `4194304kB`.
fn setting_value(setting: &Setting) -> Option<String> {
    match setting.unit.as_deref() {
        None => Some(setting.value.clone()),
        Some(unit @ ("kB" | "MB" | "GB" | "ms" | "s" | "min")) => {
            Some(format!("{}{unit}", setting.value))
        }
        Some(unit) => {
            // `8kB`, `16MB`: a multiple of a unit.
            let digits = unit.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let base = &unit[digits.len()..];
            let factor: u64 = digits.parse().ok()?;
            let value: u64 = setting.value.parse().ok()?;
            matches!(base, "kB" | "MB").then(|| format!("{}{base}", value * factor))
        }
    }
}

/// Refuses a sandbox that already has one of `tables`: real mode never
/// replaces or drops what it did not create.
pub(super) async fn ensure_absent(
    sandbox: &Client,
    database: &str,
    tables: &[&Table],
) -> Result<(), Error> {
    for table in tables {
        let exists: bool = sandbox
            .query_one(
                "/* optidb */ SELECT to_regclass($1) IS NOT NULL",
                &[&qualified(&table.schema, &table.name)],
            )
            .await
            .map_err(|source| Error::Query {
                what: "looking for the tables on the sandbox",
                source,
            })?
            .get(0);
        if exists {
            return Err(Error::SandboxNotEmpty {
                database: database.to_string(),
                table: table.qualified_name(),
            });
        }
    }
    Ok(())
}

/// The names of the extensions installed in the sandbox.
async fn extensions(sandbox: &Client) -> Result<Vec<String>, Error> {
    Ok(sandbox
        .query("/* optidb */ SELECT extname::text FROM pg_extension", &[])
        .await
        .map_err(|source| Error::Query {
            what: "listing the sandbox's extensions",
            source,
        })?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

/// Installs the target's extensions (their types and operator classes may
/// be needed by the tables and indexes) and the candidate's, recording the
/// ones that were not there before. One that cannot be installed is left
/// out: a table or index that needs it then fails with a clear reason.
pub(super) async fn install_extensions(
    sandbox: &Client,
    snapshot: &Snapshot,
    candidate_extensions: &[String],
    created: &mut Created,
) -> Result<(), Error> {
    let before = extensions(sandbox).await?;
    for extension in &snapshot.catalog.extensions {
        if SKIPPED_EXTENSIONS.contains(&extension.name.as_str()) || before.contains(&extension.name)
        {
            continue;
        }
        let sql = format!(
            "/* optidb */ CREATE EXTENSION IF NOT EXISTS {}",
            quote_ident(&extension.name)
        );
        if let Err(error) = sandbox.execute(&sql, &[]).await {
            refusal(sandbox, error, "installing extensions on the sandbox")?;
        }
    }
    for statement in candidate_extensions {
        if let Err(error) = sandbox.execute(statement.as_str(), &[]).await {
            refusal(sandbox, error, "installing extensions on the sandbox")?;
        }
    }
    let after = extensions(sandbox).await?;
    created
        .extensions
        .extend(after.into_iter().filter(|name| !before.contains(name)));
    Ok(())
}

/// A column's definition on the target beyond the catalog's: identity,
/// default, generated expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ColumnExtras {
    name: String,
    identity: bool,
    default: Option<String>,
    generated: bool,
}

/// Reads what the snapshot's catalog lacks: which columns are identities
/// (or serials), their defaults, which are generated. Needed for `INSERT`s
/// to run on the copy as they do on the target.
async fn column_extras(
    target: &Client,
    table: &Table,
) -> Result<Vec<ColumnExtras>, tokio_postgres::Error> {
    let rows = target
        .query(
            "/* optidb */ SELECT a.attname::text, a.attidentity <> '', pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> ''
               FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&qualified(&table.schema, &table.name)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| ColumnExtras {
            name: row.get(0),
            identity: row.get(1),
            default: row.get(2),
            generated: row.get(3),
        })
        .collect())
}

/// `CREATE TABLE` for the copy; `extras` adds identities, defaults and
/// generated columns. Autovacuum is off: it would change statistics and
/// steal time while real mode measures.
fn create_table_sql(table: &Table, extras: &[ColumnExtras]) -> String {
    let mut columns: Vec<_> = table.columns.iter().collect();
    columns.sort_by_key(|column| column.position);
    let definitions: Vec<String> = columns
        .iter()
        .map(|column| {
            let mut definition = format!("{} {}", quote_ident(&column.name), column.data_type);
            let extra = extras.iter().find(|extra| extra.name == column.name);
            match extra {
                Some(extra) if extra.generated => {
                    if let Some(expression) = &extra.default {
                        definition.push_str(&format!(" GENERATED ALWAYS AS ({expression}) STORED"));
                    }
                }
                Some(extra)
                    if extra.identity
                        || extra
                            .default
                            .as_deref()
                            .is_some_and(|d| d.starts_with("nextval(")) =>
                {
                    // A serial's sequence does not exist on the sandbox: an
                    // identity numbers new rows the same way.
                    definition.push_str(" GENERATED BY DEFAULT AS IDENTITY");
                }
                Some(ColumnExtras {
                    default: Some(expression),
                    ..
                }) => definition.push_str(&format!(" DEFAULT {expression}")),
                _ => {}
            }
            if column.not_null {
                definition.push_str(" NOT NULL");
            }
            definition
        })
        .collect();
    format!(
        "/* optidb */ CREATE TABLE {} ({}) WITH (autovacuum_enabled = false)",
        qualified(&table.schema, &table.name),
        definitions.join(", ")
    )
}

/// Creates the schema on the sandbox if it is missing.
async fn ensure_schema(sandbox: &Client, schema: &str, created: &mut Created) -> Result<(), Error> {
    let exists: bool = sandbox
        .query_one(
            "/* optidb */ SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .await
        .map_err(|source| Error::Query {
            what: "looking for a schema on the sandbox",
            source,
        })?
        .get(0);
    if !exists {
        sandbox
            .execute(
                &format!("/* optidb */ CREATE SCHEMA {}", quote_ident(schema)),
                &[],
            )
            .await
            .map_err(|source| Error::Query {
                what: "creating a schema on the sandbox",
                source,
            })?;
        created.schemas.push(quote_ident(schema));
    }
    Ok(())
}

/// How many rows the target's table has now, by the planner's estimate
/// (summed over partitions), or `None` when it cannot tell.
async fn estimated_rows(target: &Client, table: &Table) -> Option<f64> {
    let row = target
        .query_one(
            "/* optidb */ SELECT greatest(
                    (SELECT sum(greatest(c.reltuples, 0)) FROM pg_partition_tree(r) t
                       JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf),
                    (SELECT greatest(c.reltuples, 0) FROM pg_class c WHERE c.oid = r))::float8
               FROM to_regclass($1) AS r",
            &[&qualified(&table.schema, &table.name)],
        )
        .await
        .ok()?;
    row.get::<_, Option<f64>>(0)
}

/// Copies one table: `Ok(Ok(copy))`, or `Ok(Err(reason))` when the server
/// refused a step (the statements on the table are then skipped); `Err`
/// when a session broke.
pub(super) async fn copy_table(
    target: &Client,
    sandbox: &Client,
    snapshot: &Snapshot,
    table: &Table,
    options: &RealOptions,
    created: &mut Created,
    notes: &mut Vec<String>,
) -> Result<Result<CopiedTable, String>, Error> {
    let name = qualified(&table.schema, &table.name);
    let extras = match column_extras(target, table).await {
        Ok(extras) => extras,
        Err(error) => {
            let reason = refusal(target, error, "reading column defaults on the target")?;
            notes.push(format!(
                "column defaults of {} could not be read: {reason}",
                table.qualified_name()
            ));
            Vec::new()
        }
    };
    ensure_schema(sandbox, &table.schema, created).await?;
    if let Err(error) = sandbox
        .execute(&create_table_sql(table, &extras), &[])
        .await
    {
        let first = refusal(sandbox, error, "creating a table on the sandbox")?;
        // Defaults may call functions the sandbox lacks: plain columns
        // still let every read run.
        if let Err(error) = sandbox.execute(&create_table_sql(table, &[]), &[]).await {
            let reason = refusal(sandbox, error, "creating a table on the sandbox")?;
            return Ok(Err(format!(
                "{} could not be created on the sandbox: {reason}",
                table.qualified_name()
            )));
        }
        notes.push(format!(
            "{} was created without its column defaults: {first}",
            table.qualified_name()
        ));
    }
    created.tables.push(name.clone());

    // Generated columns are computed by the copy itself.
    let mut columns: Vec<_> = table
        .columns
        .iter()
        .filter(|column| {
            !extras
                .iter()
                .any(|extra| extra.name == column.name && extra.generated)
        })
        .collect();
    columns.sort_by_key(|column| column.position);
    let column_list = columns
        .iter()
        .map(|column| quote_ident(&column.name))
        .collect::<Vec<_>>()
        .join(", ");

    let estimate = estimated_rows(target, table)
        .await
        .unwrap_or(0.0)
        .max(snapshot_rows(snapshot, table));
    let wanted = options.sample_rows.max(1) as f64 * SAMPLE_MARGIN;
    let percent = 100.0 * wanted / estimate.max(1.0);
    let (source, cap) = if percent < 100.0 {
        (
            format!("{name} TABLESAMPLE SYSTEM ({percent:.6}) REPEATABLE ({SAMPLE_SEED})"),
            None,
        )
    } else {
        // Small enough to copy whole, by the estimate; the cap guards
        // against a stale one.
        (
            name.clone(),
            Some(options.sample_rows.max(1).saturating_mul(2)),
        )
    };
    let limit = cap.map(|cap| format!(" LIMIT {cap}")).unwrap_or_default();
    let copy_out =
        format!("/* optidb */ COPY (SELECT {column_list} FROM {source}{limit}) TO STDOUT");
    let copy_in = format!("/* optidb */ COPY {name} ({column_list}) FROM STDIN");

    let rows = match stream_rows(target, sandbox, &copy_out, &copy_in, options).await? {
        Ok(rows) => rows,
        Err(reason) => {
            return Ok(Err(format!(
                "{} could not be copied: {reason}",
                table.qualified_name()
            )));
        }
    };

    // Identities continue after the copied rows, so INSERTs do not collide.
    for extra in &extras {
        let serial = extra.identity
            || extra
                .default
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval("));
        if !serial || extra.generated {
            continue;
        }
        let sql = format!(
            "/* optidb */ SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false) FROM {name}",
            literal(&name),
            literal(&extra.name),
            quote_ident(&extra.name),
        );
        if let Err(error) = sandbox.execute(&sql, &[]).await {
            let reason = refusal(sandbox, error, "moving an identity on the sandbox")?;
            notes.push(format!(
                "the identity of {}.{} was not moved past the copied rows: {reason}",
                table.qualified_name(),
                extra.name
            ));
        }
    }

    recreate_indexes(sandbox, snapshot, table, notes).await?;

    let sampled = cap.is_none_or(|cap| rows >= cap);
    Ok(Ok(CopiedTable {
        name: table.qualified_name(),
        rows_copied: rows,
        sampled,
    }))
}

/// The snapshot's row count of `table`, partitions summed for a
/// partitioned one.
fn snapshot_rows(snapshot: &Snapshot, table: &Table) -> f64 {
    if table.kind == TableKind::Partitioned {
        let parent = table.qualified_name();
        snapshot
            .catalog
            .tables
            .iter()
            .filter(|t| t.partition_of.as_deref() == Some(parent.as_str()))
            .map(|t| snapshot_rows(snapshot, t))
            .sum()
    } else {
        table.rows()
    }
}

/// Streams the target's `COPY … TO STDOUT` into the sandbox's `COPY … FROM
/// STDIN`, inside a `READ ONLY` transaction on the target that is rolled
/// back. Returns the rows copied, or why the server refused.
async fn stream_rows(
    target: &Client,
    sandbox: &Client,
    copy_out: &str,
    copy_in: &str,
    options: &RealOptions,
) -> Result<Result<u64, String>, Error> {
    let what = "copying rows from the target";
    target
        .batch_execute(&format!(
            "/* optidb */ BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = {}",
            timeout_ms(options.setup_timeout)
        ))
        .await
        .map_err(|source| Error::Query { what, source })?;
    let result = stream_in_transaction(target, sandbox, copy_out, copy_in).await;
    target
        .batch_execute("/* optidb */ ROLLBACK")
        .await
        .map_err(|source| Error::Query { what, source })?;
    result
}

async fn stream_in_transaction(
    target: &Client,
    sandbox: &Client,
    copy_out: &str,
    copy_in: &str,
) -> Result<Result<u64, String>, Error> {
    let out = match target.copy_out(copy_out).await {
        Ok(out) => out,
        Err(error) => return Ok(Err(refusal(target, error, "reading rows on the target")?)),
    };
    let mut out = pin!(out);
    let sink = match sandbox.copy_in(copy_in).await {
        Ok(sink) => sink,
        Err(error) => return Ok(Err(refusal(sandbox, error, "writing rows on the sandbox")?)),
    };
    // Dropping the sink before `finish` aborts the sandbox's COPY: a
    // half-copied table is never taken for a whole one.
    let mut sink = pin!(sink);
    while let Some(chunk) = out.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => return Ok(Err(refusal(target, error, "reading rows on the target")?)),
        };
        if let Err(error) = sink.feed(chunk).await {
            return Ok(Err(refusal(sandbox, error, "writing rows on the sandbox")?));
        }
    }
    match sink.as_mut().finish().await {
        Ok(rows) => Ok(Ok(rows)),
        Err(error) => Ok(Err(refusal(sandbox, error, "writing rows on the sandbox")?)),
    }
}

/// Re-creates the table's valid indexes as the target defines them, and
/// its primary key (so plans keep their shape: unique indexes prove
/// uniqueness, the key makes `GROUP BY id` legal). A failure is a note.
async fn recreate_indexes(
    sandbox: &Client,
    snapshot: &Snapshot,
    table: &Table,
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    let what = "re-creating an index on the sandbox";
    for index in snapshot.catalog.indexes_of(&table.schema, &table.name) {
        if !index.valid {
            continue;
        }
        // A partitioned table's index reads `ON ONLY`; the copy is a plain table.
        let definition = index.definition.replacen(" ON ONLY ", " ON ", 1);
        if let Err(error) = sandbox.execute(definition.as_str(), &[]).await {
            let reason = refusal(sandbox, error, what)?;
            notes.push(format!(
                "index {} on {} could not be re-created: {reason}",
                index.name,
                table.qualified_name()
            ));
            continue;
        }
        if index.primary {
            let constraint = index.constraint.as_deref().unwrap_or(&index.name);
            let sql = format!(
                "/* optidb */ ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}",
                qualified(&table.schema, &table.name),
                quote_ident(constraint),
                quote_ident(&index.name)
            );
            if let Err(error) = sandbox.execute(&sql, &[]).await {
                let reason = refusal(sandbox, error, what)?;
                notes.push(format!(
                    "the primary key of {} could not be re-created: {reason}",
                    table.qualified_name()
                ));
            }
        }
    }
    Ok(())
}

/// `VACUUM (ANALYZE)` of the copies: statistics for the planner, and hint
/// bits and the visibility map set, as on a long-lived table (otherwise the
/// first measured runs would pay for setting hint bits).
pub(super) async fn vacuum_analyze(sandbox: &Client, tables: &[String]) -> Result<(), Error> {
    if tables.is_empty() {
        return Ok(());
    }
    sandbox
        .batch_execute(&format!(
            "/* optidb */ VACUUM (ANALYZE) {}",
            tables.join(", ")
        ))
        .await
        .map_err(|source| Error::Query {
            what: "VACUUM (ANALYZE) of the copies",
            source,
        })
}

/// Undoes what real mode created (unless `keep`): prepared statements
/// always; tables, then extensions and schemas that were not there before.
/// Best effort: a failure here must not hide the benchmark's result.
pub(super) async fn cleanup(sandbox: &Client, created: &Created, keep: bool) {
    for name in &created.prepared {
        let _ = sandbox
            .batch_execute(&format!("/* optidb */ DEALLOCATE {name}"))
            .await;
    }
    if keep {
        return;
    }
    for table in &created.tables {
        let _ = sandbox
            .batch_execute(&format!("/* optidb */ DROP TABLE IF EXISTS {table}"))
            .await;
    }
    for extension in &created.extensions {
        let _ = sandbox
            .batch_execute(&format!(
                "/* optidb */ DROP EXTENSION IF EXISTS {}",
                quote_ident(extension)
            ))
            .await;
    }
    for schema in &created.schemas {
        let _ = sandbox
            .batch_execute(&format!("/* optidb */ DROP SCHEMA IF EXISTS {schema}"))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use optidb_model::Column;

    fn setting(value: &str, unit: Option<&str>) -> Setting {
        Setting {
            name: "x".into(),
            value: value.into(),
            unit: unit.map(str::to_string),
            source: "default".into(),
        }
    }

    #[test]
    fn settings_are_given_in_the_units_set_takes() {
        assert_eq!(
            setting_value(&setting("524288", Some("8kB"))).as_deref(),
            Some("4194304kB")
        );
        assert_eq!(
            setting_value(&setting("4096", Some("kB"))).as_deref(),
            Some("4096kB")
        );
        assert_eq!(setting_value(&setting("1.1", None)).as_deref(), Some("1.1"));
        assert_eq!(setting_value(&setting("1", Some("weird"))), None);
    }

    #[test]
    fn the_copy_has_the_columns_types_and_not_nulls_and_numbers_like_the_target() {
        let table = Table {
            schema: "public".into(),
            name: "users".into(),
            columns: vec![
                Column {
                    name: "email".into(),
                    position: 2,
                    data_type: "text".into(),
                    not_null: true,
                    stats: None,
                },
                Column {
                    name: "id".into(),
                    position: 1,
                    data_type: "bigint".into(),
                    not_null: true,
                    stats: None,
                },
                Column {
                    name: "seen".into(),
                    position: 3,
                    data_type: "timestamp with time zone".into(),
                    not_null: false,
                    stats: None,
                },
            ],
            ..Table::default()
        };
        let extras = vec![
            ColumnExtras {
                name: "id".into(),
                default: Some("nextval('users_id_seq'::regclass)".into()),
                ..ColumnExtras::default()
            },
            ColumnExtras {
                name: "seen".into(),
                default: Some("now()".into()),
                ..ColumnExtras::default()
            },
        ];
        assert_eq!(
            create_table_sql(&table, &extras),
            "/* optidb */ CREATE TABLE \"public\".\"users\" (\"id\" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, \"email\" text NOT NULL, \"seen\" timestamp with time zone DEFAULT now()) WITH (autovacuum_enabled = false)"
        );
        assert_eq!(
            create_table_sql(&table, &[]),
            "/* optidb */ CREATE TABLE \"public\".\"users\" (\"id\" bigint NOT NULL, \"email\" text NOT NULL, \"seen\" timestamp with time zone) WITH (autovacuum_enabled = false)"
        );
    }
}
