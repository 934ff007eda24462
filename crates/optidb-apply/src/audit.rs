//! The audit trail: one row in `optidb.changes` per apply, failure and
//! rollback, in the database that was changed, so it travels with the
//! database and any client can read it.

use std::time::SystemTime;

use tokio_postgres::{Client, Row};

use crate::Error;

/// Creates the schema and table on first use. `IF NOT EXISTS` keeps it
/// idempotent; the `status` check keeps other writers honest.
const CREATE: &str = "/* optidb */
CREATE SCHEMA IF NOT EXISTS optidb;
CREATE TABLE IF NOT EXISTS optidb.changes (
    id bigserial PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL,
    db_user text NOT NULL DEFAULT current_user,
    code text,
    fingerprint text,
    ddl text NOT NULL,
    rollback_ddl text,
    index_name text,
    status text NOT NULL CHECK (status IN ('started', 'applied', 'failed', 'rolled_back', 'rollback_failed')),
    error text,
    cost_before double precision,
    cost_after double precision,
    statements bigint[],
    mean_ms_before double precision[],
    rolled_back_change bigint REFERENCES optidb.changes (id)
);
COMMENT ON TABLE optidb.changes IS 'Changes optidb applied to this database, one row per apply, failure and rollback';" ;

/// Columns added after the table's first version: the counters `verify`
/// needs to tell the mean time since a change from the mean before it.
const UPGRADE: &str = "/* optidb */
ALTER TABLE optidb.changes ADD COLUMN IF NOT EXISTS calls_before bigint[];
ALTER TABLE optidb.changes ADD COLUMN IF NOT EXISTS total_ms_before double precision[];";

const COLUMNS: &str = "id, applied_at, applied_by, db_user, code, fingerprint, ddl, rollback_ddl, index_name, status, error, cost_before, cost_after, statements, mean_ms_before, rolled_back_change, calls_before, total_ms_before";

/// Where a change stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Running, or its session died before the outcome was recorded (a
    /// terminated backend, a lost connection): check
    /// [`invalid_indexes`](crate::invalid_indexes).
    Started,
    /// Applied and verified.
    Applied,
    /// Failed; nothing of it is left (or the error says what is).
    Failed,
    /// A rollback that succeeded; `rolled_back_change` names what it undid.
    RolledBack,
    /// A rollback that failed.
    RollbackFailed,
    /// A value optidb does not write (the table was edited by hand).
    Other(String),
}

impl Status {
    /// The value stored in `optidb.changes.status`.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Started => "started",
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::RolledBack => "rolled_back",
            Status::RollbackFailed => "rollback_failed",
            Status::Other(other) => other,
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "started" => Status::Started,
            "applied" => Status::Applied,
            "failed" => Status::Failed,
            "rolled_back" => Status::RolledBack,
            "rollback_failed" => Status::RollbackFailed,
            other => Status::Other(other.to_string()),
        }
    }
}

/// One row of `optidb.changes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its id; what [`rollback`](crate::rollback) takes.
    pub id: i64,
    /// When it started.
    pub applied_at: SystemTime,
    /// Who asked for it: the operating-system user the caller passed.
    pub applied_by: String,
    /// The database role that ran it (`current_user`).
    pub db_user: String,
    /// The recommendation codes it answers (stored comma-separated).
    pub codes: Vec<String>,
    /// The fingerprints of the statements it helps (stored comma-separated).
    pub fingerprints: Vec<String>,
    /// The DDL that ran.
    pub ddl: String,
    /// The DDL that undoes it, when there is one.
    pub rollback_ddl: Option<String>,
    /// The index it creates or drops, as `schema.name`.
    pub index: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// Why it failed.
    pub error: Option<String>,
    /// The workload's estimated cost before, when the caller simulated it.
    pub cost_before: Option<f64>,
    /// The workload's estimated cost after.
    pub cost_after: Option<f64>,
    /// The statements (queryids) it is meant to speed up.
    pub statements: Vec<i64>,
    /// Each statement's mean execution time in ms when it was applied (in
    /// the order of `statements`; `None` when `pg_stat_statements` did not
    /// know it), to verify the gain later.
    pub mean_ms_before: Vec<Option<f64>>,
    /// For a rollback: the change it undid.
    pub rolled_back_change: Option<i64>,
    /// Each statement's `calls` in pg_stat_statements when it was applied.
    pub calls_before: Vec<Option<i64>>,
    /// Each statement's `total_exec_time` (ms) when it was applied.
    pub total_ms_before: Vec<Option<f64>>,
}

impl Change {
    fn from_row(row: &Row) -> Change {
        let list = |text: Option<String>| -> Vec<String> {
            text.map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
        };
        Change {
            id: row.get("id"),
            applied_at: row.get("applied_at"),
            applied_by: row.get("applied_by"),
            db_user: row.get("db_user"),
            codes: list(row.get("code")),
            fingerprints: list(row.get("fingerprint")),
            ddl: row.get("ddl"),
            rollback_ddl: row.get("rollback_ddl"),
            index: row.get("index_name"),
            status: Status::parse(row.get::<_, &str>("status")),
            error: row.get("error"),
            cost_before: row.get("cost_before"),
            cost_after: row.get("cost_after"),
            statements: row
                .get::<_, Option<Vec<i64>>>("statements")
                .unwrap_or_default(),
            mean_ms_before: row
                .get::<_, Option<Vec<Option<f64>>>>("mean_ms_before")
                .unwrap_or_default(),
            rolled_back_change: row.get("rolled_back_change"),
            calls_before: row
                .get::<_, Option<Vec<Option<i64>>>>("calls_before")
                .unwrap_or_default(),
            total_ms_before: row
                .get::<_, Option<Vec<Option<f64>>>>("total_ms_before")
                .unwrap_or_default(),
        }
    }
}

/// What a new row records.
pub(crate) struct NewChange<'a> {
    pub applied_by: &'a str,
    pub codes: &'a [String],
    pub fingerprints: &'a [String],
    pub ddl: &'a str,
    pub rollback_ddl: Option<&'a str>,
    pub index: Option<&'a str>,
    pub cost_before: Option<f64>,
    pub cost_after: Option<f64>,
    pub statements: &'a [i64],
    pub mean_ms_before: &'a [Option<f64>],
    pub calls_before: &'a [Option<i64>],
    pub total_ms_before: &'a [Option<f64>],
    pub rolled_back_change: Option<i64>,
}

/// Creates `optidb.changes` unless it exists, and brings an older one up
/// to date.
pub(crate) async fn ensure(client: &Client) -> Result<(), Error> {
    if !exists(client).await? {
        client
            .batch_execute(CREATE)
            .await
            .map_err(Error::query("creating the audit table optidb.changes"))?;
    }
    let current: bool = client
        .query_one(
            "/* optidb */ SELECT EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'optidb.changes'::regclass AND attname = 'total_ms_before')",
            &[],
        )
        .await
        .map_err(Error::query("reading the audit table's columns"))?
        .get(0);
    if !current {
        client.batch_execute(UPGRADE).await.map_err(Error::query(
            "adding columns to the audit table optidb.changes",
        ))?;
    }
    Ok(())
}

/// Whether `optidb.changes` exists.
pub(crate) async fn exists(client: &Client) -> Result<bool, Error> {
    Ok(client
        .query_one(
            "/* optidb */ SELECT to_regclass('optidb.changes') IS NOT NULL",
            &[],
        )
        .await
        .map_err(Error::query("looking for the audit table optidb.changes"))?
        .get(0))
}

/// Records a change as `started` before anything runs, so that a session
/// that dies mid-build still leaves a trace (and a claim on the index).
pub(crate) async fn start(client: &Client, change: &NewChange<'_>) -> Result<i64, Error> {
    let join = |items: &[String]| (!items.is_empty()).then(|| items.join(","));
    let row = client
        .query_one(
            "/* optidb */ INSERT INTO optidb.changes (applied_by, code, fingerprint, ddl, rollback_ddl, index_name, status, cost_before, cost_after, statements, mean_ms_before, rolled_back_change, calls_before, total_ms_before)
             VALUES ($1, $2, $3, $4, $5, $6, 'started', $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            &[
                &change.applied_by,
                &join(change.codes),
                &join(change.fingerprints),
                &change.ddl,
                &change.rollback_ddl,
                &change.index,
                &change.cost_before,
                &change.cost_after,
                &change.statements,
                &change.mean_ms_before,
                &change.rolled_back_change,
                &change.calls_before,
                &change.total_ms_before,
            ],
        )
        .await
        .map_err(Error::query("recording the change in optidb.changes"))?;
    Ok(row.get(0))
}

/// Records how a started change ended.
pub(crate) async fn finish(
    client: &Client,
    id: i64,
    status: &Status,
    error: Option<&str>,
) -> Result<(), Error> {
    client
        .execute(
            "/* optidb */ UPDATE optidb.changes SET status = $2, error = $3 WHERE id = $1",
            &[&id, &status.as_str(), &error],
        )
        .await
        .map_err(Error::query("recording the outcome in optidb.changes"))?;
    Ok(())
}

/// One change by id.
pub(crate) async fn get(client: &Client, id: i64) -> Result<Option<Change>, Error> {
    if !exists(client).await? {
        return Ok(None);
    }
    let row = client
        .query_opt(
            &format!("/* optidb */ SELECT {COLUMNS} FROM optidb.changes WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(Error::query("reading optidb.changes"))?;
    Ok(row.as_ref().map(Change::from_row))
}

/// The rollback that undid `id`, if one succeeded.
pub(crate) async fn rolled_back_by(client: &Client, id: i64) -> Result<Option<i64>, Error> {
    let row = client
        .query_opt(
            "/* optidb */ SELECT id FROM optidb.changes WHERE rolled_back_change = $1 AND status = 'rolled_back' ORDER BY id LIMIT 1",
            &[&id],
        )
        .await
        .map_err(Error::query("reading optidb.changes"))?;
    Ok(row.map(|row| row.get(0)))
}

/// The latest `limit` changes, newest first; empty when optidb never
/// changed this database.
pub async fn history(client: &Client, limit: i64) -> Result<Vec<Change>, Error> {
    if !exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!("/* optidb */ SELECT {COLUMNS} FROM optidb.changes ORDER BY id DESC LIMIT $1"),
            &[&limit],
        )
        .await
        .map_err(Error::query("reading optidb.changes"))?;
    Ok(rows.iter().map(Change::from_row).collect())
}

/// Each statement's `calls` and `total_exec_time` (ms) in pg_stat_statements
/// for this database, summed over roles (`None` when it is not tracked or
/// pg_stat_statements is not there: counters must not stop an apply).
pub(crate) async fn counters(client: &Client, statements: &[i64]) -> Vec<Option<(i64, f64)>> {
    let unknown = vec![None; statements.len()];
    if statements.is_empty() {
        return unknown;
    }
    let result = client
        .query(
            "/* optidb */ SELECT c.calls, c.total
               FROM unnest($1::bigint[]) WITH ORDINALITY AS q(id, n)
               LEFT JOIN LATERAL (
                 SELECT sum(p.calls)::bigint AS calls, sum(p.total_exec_time)::float8 AS total
                   FROM pg_stat_statements p
                  WHERE p.queryid = q.id
                    AND p.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               ) c ON true
              ORDER BY q.n",
            &[&statements],
        )
        .await;
    match result {
        Ok(rows) if rows.len() == statements.len() => rows
            .iter()
            .map(|row| {
                let calls: Option<i64> = row.get(0);
                let total: Option<f64> = row.get(1);
                calls.zip(total)
            })
            .collect(),
        _ => unknown,
    }
}
