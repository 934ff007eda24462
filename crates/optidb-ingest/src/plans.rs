//! Generic EXPLAIN plans of the top statements.
//!
//! `pg_stat_statements` keeps statements normalized, with `$n` where the
//! constants were, so a plan can only be the *generic* one: the plan
//! PostgreSQL would cache for the statement whatever its arguments.
//!
//! - PostgreSQL 16+ has `EXPLAIN (GENERIC_PLAN)`, which plans `$n` as
//!   unknown values directly.
//! - Before 16, the statement is `PREPARE`d under a unique name, planned
//!   with `plan_cache_mode = force_generic_plan` by `EXPLAIN EXECUTE name(NULL,
//!   …)` (the NULLs are never looked at by a generic plan), and that one
//!   name is deallocated afterwards; the caller's own prepared statements are
//!   never touched.
//!
//! Statements without parameters are explained as they are, on every version.
//!
//! Every statement runs in its own `BEGIN READ ONLY … ROLLBACK` transaction
//! with its own `SET LOCAL statement_timeout`, so a statement that fails
//! (a syntax error, a dropped table, a permission, a timeout) is recorded
//! with the reason and leaves nothing behind for the next one. EXPLAIN
//! without ANALYZE never executes anything: `INSERT`, `UPDATE`, `DELETE` and
//! `MERGE` plan fine in a read-only transaction.
//!
//! Speed: every message for up to 100 statements is sent before any
//! answer is read (the protocol lets a client pipeline simple queries, and
//! each one stands alone: an error ends only its own), so a batch costs one
//! round trip plus the server's planning time, and one more round trip to
//! deallocate what was prepared.

mod text;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use optidb_model::Statement;
pub use optidb_model::plan::{Plan, PlanOutcome, StatementPlan};
use tokio_postgres::error::{DbError, ErrorPosition, SqlState};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::Error;

/// What to explain, and how long each plan may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainOptions {
    /// The longest the server may spend on one statement (`SET LOCAL
    /// statement_timeout`); a statement that takes longer is skipped.
    pub statement_timeout: Duration,
    /// How many statements to explain: the first ones of the list given.
    pub limit: usize,
}

impl Default for ExplainOptions {
    /// 2 seconds per statement, the top 100 statements.
    fn default() -> Self {
        ExplainOptions {
            statement_timeout: Duration::from_secs(2),
            limit: 100,
        }
    }
}

/// `server_version_num` from which `EXPLAIN (GENERIC_PLAN)` exists.
const GENERIC_PLAN_OPTION_SINCE: u32 = 160_000;

/// Statements whose messages are pipelined together: bounds what is in
/// flight, and how many of optidb's prepared statements exist at once.
const BATCH: usize = 100;

/// Source of unique prepared-statement names within this process.
static NEXT_NAME: AtomicU64 = AtomicU64::new(1);

/// What [`Error::Query`] says was being read when the session failed.
const WHAT: &str = "the generic plans of the top statements";

/// Explains the first `options.limit` of `statements` (callers pass them
/// ranked, as [`take_snapshot`](crate::take_snapshot) does) and returns one
/// [`StatementPlan`] per statement, in the same order.
///
/// `server_version_num` picks the method: `EXPLAIN (GENERIC_PLAN)` on
/// PostgreSQL 16+, `PREPARE` + `EXPLAIN EXECUTE` before.
///
/// A statement that cannot be explained is [`PlanOutcome::Skipped`] with the
/// reason; `Err` only when the connection itself fails. `client` must not be
/// inside a transaction (each statement runs in a transaction of its own,
/// rolled back) and must not be used by anything else meanwhile.
pub async fn explain_statements(
    client: &Client,
    statements: &[Statement],
    server_version_num: u32,
    options: &ExplainOptions,
) -> Result<Vec<StatementPlan>, Error> {
    let statements = &statements[..statements.len().min(options.limit)];
    let method = if server_version_num >= GENERIC_PLAN_OPTION_SINCE {
        Method::GenericPlanOption
    } else {
        Method::PrepareExecute
    };
    let timeout_ms = timeout_ms(options.statement_timeout);

    // One script per distinct text; statements sharing a text share its outcome.
    let mut scripts: Vec<Script> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let prepared: Vec<Result<usize, String>> = statements
        .iter()
        .map(|statement| {
            let explainable = text::explainable(&statement.query)?;
            Ok(*by_text.entry(explainable.sql.clone()).or_insert_with(|| {
                scripts.push(Script::new(explainable, method, timeout_ms));
                scripts.len() - 1
            }))
        })
        .collect();

    let mut outcomes: Vec<PlanOutcome> = Vec::with_capacity(scripts.len());
    for batch in scripts.chunks(BATCH) {
        outcomes.extend(run_batch(client, batch, timeout_ms).await?);
    }

    Ok(statements
        .iter()
        .zip(prepared)
        .map(|(statement, prepared)| StatementPlan {
            queryid: statement.queryid,
            outcome: match prepared {
                Ok(script) => outcomes[script].clone(),
                Err(reason) => PlanOutcome::Skipped {
                    reason,
                    sqlstate: None,
                },
            },
        })
        .collect())
}

/// How a statement with parameters gets its generic plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// PostgreSQL 16+: `EXPLAIN (GENERIC_PLAN)`. Not testable here (the
    /// sandbox is PostgreSQL 15): kept to the one obvious statement.
    GenericPlanOption,
    /// Before 16: `PREPARE`, then `EXPLAIN EXECUTE` forcing the generic plan.
    PrepareExecute,
}

/// The messages explaining one statement, each sent as a simple query of
/// its own: the statement's text never shares a message with optidb's SQL,
/// so nothing in it (a trailing `--` comment, say) can reach optidb's.
#[derive(Debug, Clone)]
struct Script {
    /// The statement text as explained.
    sql: String,
    /// `BEGIN READ ONLY` and the `SET LOCAL`s.
    begin: String,
    /// `PREPARE name AS …`, and the name, on the `PREPARE` path.
    prepare: Option<(String, String)>,
    /// The EXPLAIN.
    explain: String,
    /// Characters before the statement's text in the message that holds it
    /// (to map the server's error positions back onto the text).
    text_offset: usize,
}

impl Script {
    fn new(explainable: text::Explainable, method: Method, timeout_ms: u64) -> Script {
        let text::Explainable { sql, params } = explainable;
        let begin = format!(
            "/* optidb */ BEGIN READ ONLY; /* optidb */ SET LOCAL statement_timeout = {timeout_ms}"
        );
        if params == 0 {
            let prefix = "/* optidb */ EXPLAIN (FORMAT JSON) ";
            return Script {
                explain: format!("{prefix}{sql}"),
                text_offset: prefix.chars().count(),
                sql,
                begin,
                prepare: None,
            };
        }
        match method {
            Method::GenericPlanOption => {
                let prefix = "/* optidb */ EXPLAIN (GENERIC_PLAN, FORMAT JSON) ";
                Script {
                    explain: format!("{prefix}{sql}"),
                    text_offset: prefix.chars().count(),
                    sql,
                    begin,
                    prepare: None,
                }
            }
            Method::PrepareExecute => {
                let name = format!(
                    "optidb_explain_{}",
                    NEXT_NAME.fetch_add(1, Ordering::Relaxed)
                );
                let prefix = format!("/* optidb */ PREPARE {name} AS ");
                let nulls = vec!["NULL"; params as usize].join(", ");
                Script {
                    begin: format!(
                        "{begin}; /* optidb */ SET LOCAL plan_cache_mode = force_generic_plan"
                    ),
                    explain: format!("/* optidb */ EXPLAIN (FORMAT JSON) EXECUTE {name}({nulls})"),
                    text_offset: prefix.chars().count(),
                    prepare: Some((format!("{prefix}{sql}"), name)),
                    sql,
                }
            }
        }
    }
}

const ROLLBACK: &str = "/* optidb */ ROLLBACK";

type QueryResult = Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>;

/// Explains a batch of scripts: one pipelined round trip for all of them,
/// one more to deallocate what was prepared.
async fn run_batch(
    client: &Client,
    scripts: &[Script],
    timeout_ms: u64,
) -> Result<Vec<PlanOutcome>, Error> {
    let mut runs: Vec<Run<'_>> = scripts.iter().map(|s| Run::new(client, s)).collect();
    send_all(runs.iter_mut().flat_map(Run::slots)).await;
    let mut outcomes = Vec::with_capacity(scripts.len());
    let mut deallocate = Vec::new();
    for (script, run) in scripts.iter().zip(runs) {
        let begin = run.begin.result().await;
        let prepare = match run.prepare {
            Some(slot) => Some(slot.result().await),
            None => None,
        };
        let explain = run.explain.result().await;
        if let Err(source) = run.rollback.result().await {
            // A ROLLBACK only fails when the session is gone or broken.
            return Err(Error::Query { what: WHAT, source });
        }
        if let (Some(Ok(_)), Some((_, name))) = (&prepare, &script.prepare) {
            deallocate.push(format!("/* optidb */ DEALLOCATE {name}"));
        }
        let outcome = match (begin, prepare, explain) {
            (Err(e), _, _) => skipped(client, e, None, timeout_ms)?,
            (_, Some(Err(e)), _) => skipped(client, e, Some(script), timeout_ms)?,
            (_, prepare, Err(e)) => {
                // With a PREPARE, errors in the text itself came from it.
                let holds_text = prepare.is_none().then_some(script);
                skipped(client, e, holds_text, timeout_ms)?
            }
            (Ok(_), _, Ok(rows)) => planned(&rows),
        };
        outcomes.push(outcome);
    }
    let mut slots: Vec<Slot<'_>> = deallocate
        .iter()
        .map(|message| Slot::new(client, message))
        .collect();
    send_all(slots.iter_mut()).await;
    for slot in slots {
        match slot.result().await {
            Err(e) if optidb_pg::is_connection_failure(client, &e) => {
                return Err(Error::Query {
                    what: WHAT,
                    source: e,
                });
            }
            // Nothing else can fail: the name was prepared a moment ago.
            _ => {}
        }
    }
    Ok(outcomes)
}

/// The messages of one script, sent or answered.
struct Run<'a> {
    begin: Slot<'a>,
    prepare: Option<Slot<'a>>,
    explain: Slot<'a>,
    rollback: Slot<'a>,
}

impl<'a> Run<'a> {
    fn new(client: &'a Client, script: &'a Script) -> Self {
        Run {
            begin: Slot::new(client, &script.begin),
            prepare: script
                .prepare
                .as_ref()
                .map(|(prepare, _)| Slot::new(client, prepare)),
            explain: Slot::new(client, &script.explain),
            rollback: Slot::new(client, ROLLBACK),
        }
    }

    /// The slots in the order their messages must reach the server.
    fn slots(&mut self) -> impl Iterator<Item = &mut Slot<'a>> {
        [
            Some(&mut self.begin),
            self.prepare.as_mut(),
            Some(&mut self.explain),
            Some(&mut self.rollback),
        ]
        .into_iter()
        .flatten()
    }
}

/// One simple query: its future until it is answered, then its result.
enum Slot<'a> {
    Running(Pin<Box<dyn Future<Output = QueryResult> + Send + 'a>>),
    Done(QueryResult),
}

impl<'a> Slot<'a> {
    fn new(client: &'a Client, message: &'a str) -> Self {
        Slot::Running(Box::pin(client.simple_query(message)))
    }

    /// Polls the query once: the first poll sends its message.
    fn poll_once(&mut self, cx: &mut Context<'_>) {
        if let Slot::Running(future) = self
            && let Poll::Ready(result) = future.as_mut().poll(cx)
        {
            *self = Slot::Done(result);
        }
    }

    /// The query's result.
    async fn result(self) -> QueryResult {
        match self {
            Slot::Running(future) => future.await,
            Slot::Done(result) => result,
        }
    }
}

/// Sends every message, in order, before any answer is awaited. Each is a
/// simple query of its own: an error in one does not stop the others
/// (inside a failed transaction they fail fast until its ROLLBACK).
async fn send_all<'s, 'a: 's>(slots: impl Iterator<Item = &'s mut Slot<'a>>) {
    let mut slots: Vec<&'s mut Slot<'a>> = slots.collect();
    std::future::poll_fn(|cx| {
        for slot in &mut slots {
            slot.poll_once(cx);
        }
        Poll::Ready(())
    })
    .await;
}

/// The plan in an EXPLAIN's answer.
fn planned(messages: &[SimpleQueryMessage]) -> PlanOutcome {
    let json = messages.iter().find_map(|message| match message {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    });
    let Some(json) = json else {
        return PlanOutcome::Skipped {
            reason: "EXPLAIN returned no plan".into(),
            sqlstate: None,
        };
    };
    match Plan::from_json_str(json) {
        Ok(plan) => PlanOutcome::Planned {
            plan: Box::new(plan),
        },
        Err(e) => PlanOutcome::Skipped {
            reason: format!("EXPLAIN output could not be read: {e}"),
            sqlstate: None,
        },
    }
}

/// The skip a statement's error becomes; `Err` for a connection failure.
/// `holds_text` is the script when the failed message held the statement's
/// text (so that the error position can be mapped back onto it).
fn skipped(
    client: &Client,
    error: tokio_postgres::Error,
    holds_text: Option<&Script>,
    timeout_ms: u64,
) -> Result<PlanOutcome, Error> {
    let db = match error.as_db_error() {
        Some(db) if !optidb_pg::is_connection_failure(client, &error) => db,
        _ => {
            return Err(Error::Query {
                what: WHAT,
                source: error,
            });
        }
    };
    Ok(PlanOutcome::Skipped {
        reason: reason(db, holds_text, timeout_ms),
        sqlstate: Some(db.code().code().to_string()),
    })
}

/// A short, human reason for a server error, ending with its SQLSTATE.
fn reason(db: &DbError, holds_text: Option<&Script>, timeout_ms: u64) -> String {
    let code = db.code();
    if *code == SqlState::QUERY_CANCELED && db.message().contains("statement timeout") {
        return format!(
            "planning took longer than the {timeout_ms} ms statement timeout (SQLSTATE {})",
            code.code()
        );
    }
    if *code == SqlState::SYNTAX_ERROR
        && let (Some(script), Some(ErrorPosition::Original(position))) = (holds_text, db.position())
        && let Some(offset) = (*position as usize).checked_sub(1 + script.text_offset)
        && let Some(literal) = text::typed_literal_at(&script.sql, offset)
    {
        return format!(
            "`{literal}` is a typed literal of a type optidb does not rewrite to a cast: {} (SQLSTATE {})",
            db.message(),
            code.code()
        );
    }
    format!("{} (SQLSTATE {})", db.message(), code.code())
}

/// `statement_timeout` in milliseconds: at least 1 (0 would mean none), at
/// most what the setting holds.
fn timeout_ms(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i32::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(query: &str, method: Method) -> Script {
        Script::new(text::explainable(query).unwrap(), method, 2000)
    }

    #[test]
    fn postgres_16_explains_parameters_with_the_generic_plan_option() {
        let script = script(
            "SELECT * FROM t WHERE at > timestamptz $1",
            Method::GenericPlanOption,
        );
        assert_eq!(
            script.begin,
            "/* optidb */ BEGIN READ ONLY; /* optidb */ SET LOCAL statement_timeout = 2000"
        );
        assert_eq!(script.prepare, None);
        assert_eq!(
            script.explain,
            "/* optidb */ EXPLAIN (GENERIC_PLAN, FORMAT JSON) SELECT * FROM t WHERE at > $1::timestamptz"
        );
        assert_eq!(&script.explain[script.text_offset..], script.sql);
    }

    #[test]
    fn older_servers_prepare_under_a_unique_name_and_execute_with_nulls() {
        let first = script("UPDATE t SET v = $2 WHERE id = $1;", Method::PrepareExecute);
        let second = script("SELECT $1", Method::PrepareExecute);
        let (prepare, name) = first.prepare.clone().unwrap();
        assert!(name.starts_with("optidb_explain_"), "{name}");
        assert_ne!(Some(&name), second.prepare.as_ref().map(|(_, name)| name));
        assert_eq!(
            prepare,
            format!("/* optidb */ PREPARE {name} AS UPDATE t SET v = $2 WHERE id = $1")
        );
        assert_eq!(&prepare[first.text_offset..], first.sql);
        assert_eq!(
            first.explain,
            format!("/* optidb */ EXPLAIN (FORMAT JSON) EXECUTE {name}(NULL, NULL)")
        );
        assert!(
            first
                .begin
                .ends_with("SET LOCAL plan_cache_mode = force_generic_plan")
        );
    }

    #[test]
    fn statements_without_parameters_are_explained_directly_on_every_version() {
        for method in [Method::GenericPlanOption, Method::PrepareExecute] {
            let script = script("SELECT 1", method);
            assert_eq!(script.prepare, None);
            assert_eq!(
                script.explain,
                "/* optidb */ EXPLAIN (FORMAT JSON) SELECT 1"
            );
        }
    }

    #[test]
    fn timeouts_are_whole_milliseconds_never_zero() {
        assert_eq!(timeout_ms(Duration::from_secs(2)), 2000);
        assert_eq!(timeout_ms(Duration::ZERO), 1);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), i32::MAX as u64);
    }
}
