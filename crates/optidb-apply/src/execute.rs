//! Running gated DDL on a live database: preflight checks, bounded lock
//! waits, a statement timeout sized from the table, validation, cleanup of
//! INVALID indexes, and an audit row for every attempt.

use std::time::{Duration, Instant};

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::Error;
use crate::allowed::{self, Kind, QualifiedName, Statement, quote_ident};
use crate::audit::{self, NewChange, Status};
use crate::error::server_message;

/// How long one attempt waits for a lock by default: short, because a
/// waiting `CREATE INDEX CONCURRENTLY` queues every later lock request on
/// the table behind it.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times a lock timeout is retried by default.
pub const DEFAULT_LOCK_RETRIES: u32 = 3;

/// How a change is run and recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOptions {
    /// `lock_timeout` for each attempt.
    pub lock_timeout: Duration,
    /// How many times to retry after a lock timeout (SQLSTATE 55P03), with
    /// backoff (250 ms, doubling, at most 10 s between attempts).
    pub lock_retries: u32,
    /// `statement_timeout` for the DDL; `None` sizes it from the table with
    /// [`statement_timeout_for`].
    pub statement_timeout: Option<Duration>,
    /// Run DDL the gate would refuse (see [`allowed::check`]). The
    /// read-only, privilege and duplicate checks still apply.
    pub allow_any_ddl: bool,
    /// Who asked: the operating-system user, recorded in the audit row.
    pub applied_by: String,
    /// The recommendation codes the change answers, for the audit row.
    pub codes: Vec<String>,
    /// The fingerprints of the statements it helps, for the audit row.
    pub fingerprints: Vec<String>,
    /// The statements (queryids) it helps; their mean times are recorded
    /// as a baseline.
    pub statements: Vec<i64>,
    /// The simulated workload cost before, for the audit row.
    pub cost_before: Option<f64>,
    /// The simulated workload cost after, for the audit row.
    pub cost_after: Option<f64>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lock_retries: DEFAULT_LOCK_RETRIES,
            statement_timeout: None,
            allow_any_ddl: false,
            applied_by: String::new(),
            codes: Vec::new(),
            fingerprints: Vec::new(),
            statements: Vec::new(),
            cost_before: None,
            cost_after: None,
        }
    }
}

/// A change that was applied and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its row in `optidb.changes`.
    pub change_id: i64,
    /// How long the DDL took (lock waits and retries included).
    pub duration: Duration,
    /// The index it created or dropped, as `schema.name`.
    pub index: Option<String>,
}

/// The `statement_timeout` for DDL on a table of `table_bytes`: 10 minutes
/// plus 1 minute per started GiB. An index build reads the whole table and
/// sorts it, at well over 100 MB/s on ordinary hardware, so this leaves a
/// wide margin while still stopping a build that is stuck.
pub fn statement_timeout_for(table_bytes: i64) -> Duration {
    const GIB: u64 = 1 << 30;
    let gib = u64::try_from(table_bytes).unwrap_or(0).div_ceil(GIB);
    Duration::from_secs(600 + 60 * gib)
}

/// The wait before retry `attempt` (0-based) after a lock timeout.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(6))).min(Duration::from_secs(10))
}

/// Runs `ddl` on `client`, a writable session the caller opened, and
/// records it in `optidb.changes`.
///
/// Refuses (before running anything, and without an audit row) DDL the
/// gate refuses, a read-only session or standby, an index that already
/// exists by name or definition, and a role that does not own the table.
/// Then it records a `started` row, runs each statement outside a
/// transaction with `lock_timeout` (retried on SQLSTATE 55P03) and a
/// `statement_timeout` sized from the table, checks that a new index is
/// valid, drops the INVALID index a failed build leaves, restores the
/// session's timeouts and marks the row `applied` or `failed`. If the
/// session dies mid-way, the row stays `started` and the INVALID index is
/// left for [`invalid_indexes`](crate::invalid_indexes).
pub async fn apply(client: &Client, ddl: &str, options: &ApplyOptions) -> Result<Applied, Error> {
    run(client, ddl, options, None).await
}

/// Undoes change `change_id` by running its recorded rollback DDL with the
/// same gate and safety rules as [`apply`], recording a row with status
/// `rolled_back` or `rollback_failed` and `rolled_back_change = change_id`.
/// Only `applied` changes that were not rolled back yet qualify.
pub async fn rollback(
    client: &Client,
    change_id: i64,
    options: &ApplyOptions,
) -> Result<Applied, Error> {
    let change = audit::get(client, change_id)
        .await?
        .ok_or(Error::NoSuchChange { id: change_id })?;
    let not_reversible = |reason: String| Error::NotReversible {
        id: change_id,
        reason,
    };
    if change.status != Status::Applied {
        return Err(not_reversible(format!(
            "its status is {}, and only applied changes are rolled back",
            change.status.as_str()
        )));
    }
    if let Some(by) = audit::rolled_back_by(client, change_id).await? {
        return Err(not_reversible(format!(
            "change {by} already rolled it back"
        )));
    }
    let ddl = change.rollback_ddl.clone().ok_or_else(|| {
        not_reversible(
            "it has no rollback DDL (ANALYZE, VACUUM and arbitrary DDL cannot be undone)".into(),
        )
    })?;
    let options = ApplyOptions {
        codes: change.codes,
        fingerprints: change.fingerprints,
        statements: change.statements,
        ..options.clone()
    };
    run(client, &ddl, &options, Some(change_id)).await
}

/// How a statement is undone.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reverse {
    /// Nothing to undo (e.g. `CREATE EXTENSION IF NOT EXISTS`, dropping a
    /// missing or INVALID index).
    Nothing,
    /// This SQL undoes it.
    Sql(String),
    /// It cannot be undone.
    Irreversible,
}

/// A statement checked against the database, ready to run.
struct Plan<'a> {
    statement: &'a Statement,
    /// The index a build creates, `(schema, name)`: validated afterwards,
    /// dropped when left INVALID.
    builds: Option<(String, String)>,
    statement_timeout: Duration,
    reverse: Reverse,
    /// The index created or dropped, as `schema.name`, for the audit row.
    index: Option<String>,
}

pub(crate) async fn run(
    client: &Client,
    ddl: &str,
    options: &ApplyOptions,
    rolling_back: Option<i64>,
) -> Result<Applied, Error> {
    let statements = allowed::check(ddl, options.allow_any_ddl)?;
    ensure_writable(client).await?;
    let mut plans = Vec::with_capacity(statements.len());
    for statement in &statements {
        plans.push(prepare(client, statement, options).await?);
    }
    let rollback_ddl = rollback_ddl(&plans);
    let index = plans.iter().find_map(|plan| plan.index.clone());

    let saved = save_timeouts(client).await?;
    audit::ensure(client).await?;
    let counters = audit::counters(client, &options.statements).await;
    let mean_ms_before: Vec<Option<f64>> = counters
        .iter()
        .map(|c| {
            c.filter(|(calls, _)| *calls > 0)
                .map(|(calls, total)| total / calls as f64)
        })
        .collect();
    let calls_before: Vec<Option<i64>> =
        counters.iter().map(|c| c.map(|(calls, _)| calls)).collect();
    let total_ms_before: Vec<Option<f64>> =
        counters.iter().map(|c| c.map(|(_, total)| total)).collect();
    let change_id = audit::start(
        client,
        &NewChange {
            applied_by: &options.applied_by,
            codes: &options.codes,
            fingerprints: &options.fingerprints,
            ddl: ddl.trim(),
            rollback_ddl: rollback_ddl.as_deref(),
            index: index.as_deref(),
            cost_before: options.cost_before,
            cost_after: options.cost_after,
            statements: &options.statements,
            mean_ms_before: &mean_ms_before,
            calls_before: &calls_before,
            total_ms_before: &total_ms_before,
            rolled_back_change: rolling_back,
        },
    )
    .await?;

    let started = Instant::now();
    let outcome = execute_all(client, &plans, options).await;
    let duration = started.elapsed();
    // Best effort: when the session died there is nothing to restore, and
    // a change that was applied must not be reported as failed over it.
    let _ = restore_timeouts(client, &saved).await;

    let (ok, failed) = match rolling_back {
        None => (Status::Applied, Status::Failed),
        Some(_) => (Status::RolledBack, Status::RollbackFailed),
    };
    match outcome {
        Ok(()) => {
            audit::finish(client, change_id, &ok, None).await?;
            Ok(Applied {
                change_id,
                duration,
                index,
            })
        }
        Err(error) => {
            // The error that stopped the change matters more than a failure
            // to record it (on a dead session the row stays `started`).
            let _ = audit::finish(client, change_id, &failed, Some(&error.to_string())).await;
            Err(error)
        }
    }
}

/// The rollback of the whole change: each statement's, in reverse order;
/// none when any statement cannot be undone.
fn rollback_ddl(plans: &[Plan<'_>]) -> Option<String> {
    let mut parts = Vec::new();
    for plan in plans.iter().rev() {
        match &plan.reverse {
            Reverse::Nothing => {}
            Reverse::Sql(sql) => parts.push(sql.clone()),
            Reverse::Irreversible => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join(";\n"))
}

/// Refuses a standby and a session whose transactions are read-only.
async fn ensure_writable(client: &Client) -> Result<(), Error> {
    let row = client
        .query_one(
            "/* optidb */ SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'), current_setting('transaction_read_only')",
            &[],
        )
        .await
        .map_err(Error::query("checking that the session can write"))?;
    let reason = if row.get::<_, bool>(0) {
        Some("the server is a standby in recovery (pg_is_in_recovery())")
    } else if row.get::<_, &str>(1) == "on" {
        Some("default_transaction_read_only is on")
    } else if row.get::<_, &str>(2) == "on" {
        Some("the current transaction is read-only")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::ReadOnly {
            reason: reason.into(),
        }),
        None => Ok(()),
    }
}

/// A relation looked up by the server, with what the checks need.
struct Relation {
    oid: u32,
    schema: String,
    name: String,
    kind: String,
    owner: String,
    may_change: bool,
    role: String,
    bytes: i64,
}

impl Relation {
    fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The role must own the relation or be a member of its owner, as
    /// PostgreSQL requires for CREATE INDEX, DROP INDEX, VACUUM and ANALYZE;
    /// checked first so the refusal names both roles.
    fn check_privilege(&self) -> Result<(), Error> {
        if self.may_change {
            Ok(())
        } else {
            Err(Error::NoPrivilege {
                table: self.qualified(),
                owner: self.owner.clone(),
                role: self.role.clone(),
            })
        }
    }
}

async fn relation(client: &Client, name: &QualifiedName) -> Result<Option<Relation>, Error> {
    let oid: Option<u32> = client
        .query_one("/* optidb */ SELECT to_regclass($1)::oid", &[&name.sql()])
        .await
        .map_err(Error::query("looking up the table"))?
        .get(0);
    match oid {
        Some(oid) => relation_by_oid(client, oid).await,
        None => Ok(None),
    }
}

async fn existing_table(client: &Client, name: &QualifiedName) -> Result<Relation, Error> {
    let table = relation(client, name)
        .await?
        .ok_or_else(|| Error::NoSuchRelation {
            relation: name.sql(),
        })?;
    table.check_privilege()?;
    Ok(table)
}

async fn prepare<'a>(
    client: &Client,
    statement: &'a Statement,
    options: &ApplyOptions,
) -> Result<Plan<'a>, Error> {
    let timeout = |bytes: i64| {
        options
            .statement_timeout
            .unwrap_or_else(|| statement_timeout_for(bytes))
    };
    let plan = |builds, bytes, reverse, index| Plan {
        statement,
        builds,
        statement_timeout: timeout(bytes),
        reverse,
        index,
    };
    match &statement.kind {
        Kind::CreateExtension { .. } => Ok(plan(None, 0, Reverse::Nothing, None)),
        Kind::CreateIndex {
            table,
            index,
            concurrent,
        } => {
            let table = existing_table(client, table).await?;
            if *concurrent && table.kind == "p" {
                return Err(Error::NotAllowed {
                    ddl: statement.sql.clone(),
                    reason: format!(
                        "{} is partitioned, and PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table: build the index concurrently on each partition, then create it ON ONLY the parent and ATTACH each one",
                        table.qualified()
                    ),
                });
            }
            if let Some(name) = index {
                check_name_free(client, &table.schema, name).await?;
            }
            check_no_identical_index(client, statement, &table).await?;
            let (builds, reverse, qualified) = match index {
                Some(name) => (
                    Some((table.schema.clone(), name.clone())),
                    Reverse::Sql(format!(
                        "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                        quote_ident(&table.schema),
                        quote_ident(name)
                    )),
                    Some(format!("{}.{name}", table.schema)),
                ),
                None => (None, Reverse::Irreversible, None),
            };
            Ok(plan(builds, table.bytes, reverse, qualified))
        }
        Kind::DropIndex { index, missing_ok } => {
            let row = client
                .query_opt(
                    "/* optidb */ SELECT pg_get_indexdef(i.indexrelid), i.indisvalid, i.indrelid
                     FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
                    &[&index.sql()],
                )
                .await
                .map_err(Error::query("looking up the index"))?;
            let Some(row) = row else {
                if *missing_ok {
                    return Ok(plan(None, 0, Reverse::Nothing, None));
                }
                return Err(Error::NoSuchRelation {
                    relation: index.sql(),
                });
            };
            let definition: String = row.get(0);
            let valid: bool = row.get(1);
            let table_oid: u32 = row.get(2);
            let table =
                relation_by_oid(client, table_oid)
                    .await?
                    .ok_or_else(|| Error::NoSuchRelation {
                        relation: index.sql(),
                    })?;
            table.check_privilege()?;
            let schema = match &index.schema {
                Some(schema) => schema.clone(),
                None => table.schema.clone(),
            };
            // Dropping an INVALID index loses nothing, so there is nothing
            // to rebuild; a valid one comes back the way it was defined.
            let reverse = if valid {
                Reverse::Sql(recreate_concurrently(&definition))
            } else {
                Reverse::Nothing
            };
            Ok(plan(
                None,
                table.bytes,
                reverse,
                Some(format!("{schema}.{}", index.name)),
            ))
        }
        Kind::Analyze { tables } | Kind::Vacuum { tables } => {
            let mut bytes = 0i64;
            if tables.is_empty() {
                bytes = client
                    .query_one(
                        "/* optidb */ SELECT pg_database_size(current_database())",
                        &[],
                    )
                    .await
                    .map_err(Error::query("sizing the database"))?
                    .get(0);
            }
            for name in tables {
                bytes = bytes.saturating_add(existing_table(client, name).await?.bytes);
            }
            Ok(plan(None, bytes, Reverse::Irreversible, None))
        }
        Kind::Other => Ok(plan(None, 0, Reverse::Irreversible, None)),
    }
}

async fn relation_by_oid(client: &Client, oid: u32) -> Result<Option<Relation>, Error> {
    let row = client
        .query_opt(
            "/* optidb */ SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
                    pg_get_userbyid(c.relowner)::text, pg_has_role(current_user, c.relowner, 'USAGE'),
                    current_user::text, pg_table_size(c.oid)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = $1",
            &[&oid],
        )
        .await
        .map_err(Error::query("looking up the table"))?;
    Ok(row.map(|row| Relation {
        oid: row.get(0),
        schema: row.get(1),
        name: row.get(2),
        kind: row.get(3),
        owner: row.get(4),
        may_change: row.get(5),
        role: row.get(6),
        bytes: row.get::<_, Option<i64>>(7).unwrap_or(0),
    }))
}

/// An index definition as `pg_get_indexdef` prints it, built concurrently:
/// how a dropped index is rebuilt. No `IF NOT EXISTS`: a name taken in the
/// meantime must be reported, not silently skipped.
fn recreate_concurrently(definition: &str) -> String {
    for (plain, concurrent) in [
        ("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX CONCURRENTLY "),
        ("CREATE INDEX ", "CREATE INDEX CONCURRENTLY "),
    ] {
        if let Some(rest) = definition.strip_prefix(plain) {
            return format!("{concurrent}{rest}");
        }
    }
    definition.to_string()
}

/// A relation already named like the new index would make
/// `CREATE INDEX … IF NOT EXISTS` a silent no-op (or fail without it).
async fn check_name_free(client: &Client, schema: &str, name: &str) -> Result<(), Error> {
    let row = client
        .query_opt(
            "/* optidb */ SELECT i.indisvalid
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_index i ON i.indexrelid = c.oid
             WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &name],
        )
        .await
        .map_err(Error::query("checking that the index name is free"))?;
    let index = format!("{schema}.{name}");
    match row.map(|row| row.get::<_, Option<bool>>(0)) {
        None => Ok(()),
        Some(Some(false)) => Err(Error::InvalidExists { index }),
        Some(_) => Err(Error::AlreadyExists { index }),
    }
}

/// Refuses a second index with the same definition as one the table has,
/// whatever its name: it would double the write cost for nothing.
async fn check_no_identical_index(
    client: &Client,
    statement: &Statement,
    table: &Relation,
) -> Result<(), Error> {
    let Some(wanted) = allowed::index_signature(&statement.sql, &table.schema, &table.name) else {
        return Ok(());
    };
    let rows = client
        .query(
            "/* optidb */ SELECT n.nspname::text, c.relname::text, pg_get_indexdef(c.oid), i.indisvalid
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE i.indrelid = $1",
            &[&table.oid],
        )
        .await
        .map_err(Error::query("listing the table's indexes"))?;
    for row in rows {
        let definition: String = row.get(2);
        if allowed::index_signature(&definition, &table.schema, &table.name).as_ref()
            == Some(&wanted)
        {
            let index = format!("{}.{}", row.get::<_, String>(0), row.get::<_, String>(1));
            return Err(if row.get::<_, bool>(3) {
                Error::AlreadyExists { index }
            } else {
                Error::InvalidExists { index }
            });
        }
    }
    Ok(())
}

/// The session's timeouts before optidb changed them.
struct Timeouts {
    lock: String,
    statement: String,
}

async fn save_timeouts(client: &Client) -> Result<Timeouts, Error> {
    let row = client
        .query_one(
            "/* optidb */ SELECT current_setting('lock_timeout'), current_setting('statement_timeout')",
            &[],
        )
        .await
        .map_err(Error::query("reading the session's timeouts"))?;
    Ok(Timeouts {
        lock: row.get(0),
        statement: row.get(1),
    })
}

async fn restore_timeouts(client: &Client, saved: &Timeouts) -> Result<(), Error> {
    set_timeouts(client, &saved.lock, &saved.statement).await
}

/// Session-level (not `SET LOCAL`): the DDL runs outside any transaction.
async fn set_timeouts(client: &Client, lock: &str, statement: &str) -> Result<(), Error> {
    client
        .query_one(
            "/* optidb */ SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
            &[&lock, &statement],
        )
        .await
        .map_err(Error::query("setting the session's timeouts"))?;
    Ok(())
}

fn millis(duration: Duration) -> String {
    // 0 would mean "no timeout": never send it by rounding down.
    format!("{}ms", duration.as_millis().max(1))
}

fn is_lock_timeout(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

async fn execute_all(
    client: &Client,
    plans: &[Plan<'_>],
    options: &ApplyOptions,
) -> Result<(), Error> {
    for plan in plans {
        set_timeouts(
            client,
            &millis(options.lock_timeout),
            &millis(plan.statement_timeout),
        )
        .await?;
        execute(client, plan, options).await?;
        if let Some((schema, name)) = &plan.builds {
            verify_valid(client, schema, name, options).await?;
        }
    }
    Ok(())
}

/// Runs one statement (simple protocol, so outside any transaction, as
/// `CONCURRENTLY` and `VACUUM` require), retrying lock timeouts.
async fn execute(client: &Client, plan: &Plan<'_>, options: &ApplyOptions) -> Result<(), Error> {
    let mut attempt = 0;
    loop {
        let Err(error) = client.batch_execute(&plan.statement.sql).await else {
            return Ok(());
        };
        // A concurrent build that fails after its first phase leaves an
        // INVALID index; it must go before a retry (which would otherwise
        // find the name taken) and before reporting.
        let cleanup = match &plan.builds {
            Some((schema, name)) => drop_leftover(client, schema, name, options).await,
            None => Cleanup::NothingLeft,
        };
        let can_retry = !matches!(cleanup, Cleanup::Left(_));
        if is_lock_timeout(&error) && can_retry {
            if attempt < options.lock_retries {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
            return Err(Error::LockTimeout {
                retries: options.lock_retries,
            });
        }
        let reason = server_message(&error);
        return Err(match (&plan.statement.kind, cleanup) {
            (Kind::CreateIndex { .. }, cleanup) => Error::BuildFailed {
                reason,
                invalid_dropped: cleanup == Cleanup::Dropped,
                invalid_left: match cleanup {
                    Cleanup::Left(index) => Some(index),
                    _ => None,
                },
            },
            _ => Error::Failed {
                statement: plan.statement.sql.clone(),
                reason,
            },
        });
    }
}

/// Checks that a build produced a valid index; drops it when it did not.
async fn verify_valid(
    client: &Client,
    schema: &str,
    name: &str,
    options: &ApplyOptions,
) -> Result<(), Error> {
    let valid = index_validity(client, schema, name)
        .await
        .map_err(Error::query("checking that the new index is valid"))?;
    match valid {
        Some(true) => Ok(()),
        Some(false) => {
            let cleanup = drop_leftover(client, schema, name, options).await;
            Err(Error::BuildFailed {
                reason: "the build finished but the index is INVALID".into(),
                invalid_dropped: cleanup == Cleanup::Dropped,
                invalid_left: match cleanup {
                    Cleanup::Left(index) => Some(index),
                    _ => None,
                },
            })
        }
        None => Err(Error::BuildFailed {
            reason: format!("the build reported success but there is no index {schema}.{name}"),
            invalid_dropped: false,
            invalid_left: None,
        }),
    }
}

/// `pg_index.indisvalid` of `schema.name`; `None` when it does not exist.
async fn index_validity(
    client: &Client,
    schema: &str,
    name: &str,
) -> Result<Option<bool>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "/* optidb */ SELECT i.indisvalid
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &name],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// What cleaning up after a failed build did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cleanup {
    /// The build left nothing (it failed before creating the index).
    NothingLeft,
    /// It left an INVALID index, now dropped.
    Dropped,
    /// An INVALID index (`schema.name`) is left: the session died or the
    /// drop failed.
    Left(String),
}

/// Drops the INVALID index a failed build left, with the same lock retries.
async fn drop_leftover(
    client: &Client,
    schema: &str,
    name: &str,
    options: &ApplyOptions,
) -> Cleanup {
    let qualified = format!("{schema}.{name}");
    match index_validity(client, schema, name).await {
        Ok(None) => return Cleanup::NothingLeft,
        // Someone else's valid index of that name (the checks before the
        // build make this a race): not ours to drop.
        Ok(Some(true)) => return Cleanup::NothingLeft,
        Ok(Some(false)) => {}
        Err(_) => return Cleanup::Left(qualified),
    }
    let sql = format!(
        "/* optidb */ DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
        quote_ident(schema),
        quote_ident(name)
    );
    for attempt in 0..=options.lock_retries {
        match client.batch_execute(&sql).await {
            Ok(()) => return Cleanup::Dropped,
            Err(error) if is_lock_timeout(&error) && attempt < options.lock_retries => {
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(_) => break,
        }
    }
    Cleanup::Left(qualified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeout_grows_a_minute_per_gib() {
        assert_eq!(statement_timeout_for(0), Duration::from_secs(600));
        assert_eq!(statement_timeout_for(1), Duration::from_secs(660));
        assert_eq!(statement_timeout_for(1 << 30), Duration::from_secs(660));
        assert_eq!(statement_timeout_for(10 << 30), Duration::from_secs(1200));
        assert_eq!(statement_timeout_for(-1), Duration::from_secs(600));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(30), Duration::from_secs(10));
    }

    #[test]
    fn dropped_indexes_are_rebuilt_concurrently() {
        assert_eq!(
            recreate_concurrently("CREATE UNIQUE INDEX a ON public.t USING btree (x)"),
            "CREATE UNIQUE INDEX CONCURRENTLY a ON public.t USING btree (x)"
        );
        assert_eq!(
            recreate_concurrently("CREATE INDEX a ON public.t USING btree (x)"),
            "CREATE INDEX CONCURRENTLY a ON public.t USING btree (x)"
        );
    }
}
