//! Measuring a statement on the sandbox: `PREPARE` it once, then `EXPLAIN
//! (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) EXECUTE` it with each
//! parameter set, every run in a transaction that is rolled back (EXPLAIN
//! ANALYZE executes the statement: an `UPDATE` really updates, until the
//! rollback), under its own `statement_timeout`.
//!
//! `TIMING OFF`: per-node timing costs a clock read per row and node, which
//! inflates a sequential scan's time far more than an index lookup's and so
//! the speedup. The statement's total execution time is still measured.

use std::sync::atomic::{AtomicU64, Ordering};

use optidb_model::plan::Plan;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::sql::{is_timeout, reason, refusal};
use crate::Error;

/// Source of unique prepared-statement names within this process.
static NEXT_NAME: AtomicU64 = AtomicU64::new(1);

/// A statement prepared on the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prepared {
    /// Its name (an identifier, unquoted).
    pub(super) name: String,
    /// Its parameters' types, as `format_type` writes them.
    pub(super) parameter_types: Vec<String>,
}

/// `query` (a `pg_stat_statements` text) ready for `PREPARE … AS`: one
/// statement, without a trailing `;`.
fn body(query: &str) -> &str {
    query.trim().trim_end_matches(';').trim_end()
}

/// Prepares `query` on the sandbox. The extended protocol carries it, so a
/// text holding two statements is refused rather than run.
pub(super) async fn prepare(
    sandbox: &Client,
    query: &str,
) -> Result<Result<Prepared, String>, Error> {
    let what = "preparing a statement on the sandbox";
    let name = format!(
        "optidb_real_{}_{}",
        std::process::id(),
        NEXT_NAME.fetch_add(1, Ordering::Relaxed)
    );
    let sql = format!("/* optidb */ PREPARE {name} AS {}", body(query));
    if let Err(error) = sandbox.execute(sql.as_str(), &[]).await {
        return Ok(Err(format!(
            "it does not prepare on the sandbox copy: {}",
            refusal(sandbox, error, what)?
        )));
    }
    let row = sandbox
        .query_one(
            "/* optidb */ SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(|source| Error::Query { what, source })?;
    Ok(Ok(Prepared {
        name,
        parameter_types: row.get(0),
    }))
}

/// One measured execution.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Measured {
    /// `Execution Time`, in milliseconds.
    pub(super) execution_ms: f64,
    /// The plan, with actual rows.
    pub(super) plan: Plan,
}

/// Runs `EXPLAIN ANALYZE EXECUTE name(args)` in a transaction that is
/// rolled back. `Ok(Err(reason))` when the server refused or timed out.
pub(super) async fn measure(
    sandbox: &Client,
    name: &str,
    args: &str,
    timeout_ms: u64,
) -> Result<Result<Measured, String>, Error> {
    let what = "measuring a statement on the sandbox";
    let explained = rolled_back(
        sandbox,
        &format!(
            "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) EXECUTE {}",
            call(name, args)
        ),
        timeout_ms,
        false,
        what,
    )
    .await?;
    let messages = match explained {
        Ok(messages) => messages,
        Err(error) if is_timeout(&error) => {
            return Ok(Err(format!(
                "it ran longer than the {timeout_ms} ms statement timeout on the sandbox copy ({})",
                reason(&error)
            )));
        }
        Err(error) => return Ok(Err(refusal(sandbox, error, what)?)),
    };
    let json = messages.iter().find_map(|message| match message {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    });
    let Some(json) = json else {
        return Ok(Err("EXPLAIN ANALYZE returned no plan".into()));
    };
    let plan = match Plan::from_json_str(json) {
        Ok(plan) => plan,
        Err(error) => return Ok(Err(format!("EXPLAIN ANALYZE output unreadable: {error}"))),
    };
    match plan.execution_time_ms {
        Some(execution_ms) => Ok(Ok(Measured { execution_ms, plan })),
        None => Ok(Err("EXPLAIN ANALYZE reported no execution time".into())),
    }
}

/// `EXECUTE`'s argument: `name` or `name(args)`.
pub(super) fn call(name: &str, args: &str) -> String {
    if args.is_empty() {
        name.to_string()
    } else {
        format!("{name}({args})")
    }
}

/// Runs `sql` in a transaction (`READ ONLY` when `read_only`) with its own
/// `statement_timeout`, then rolls back whatever it did, so the copy stays
/// as sampled. The inner result is the server's answer to `sql`; the outer
/// error a broken session.
pub(super) async fn rolled_back(
    sandbox: &Client,
    sql: &str,
    timeout_ms: u64,
    read_only: bool,
    what: &'static str,
) -> Result<Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>, Error> {
    let mode = if read_only { " READ ONLY" } else { "" };
    sandbox
        .batch_execute(&format!(
            "/* optidb */ BEGIN{mode}; /* optidb */ SET LOCAL statement_timeout = {timeout_ms}"
        ))
        .await
        .map_err(|source| Error::Query { what, source })?;
    let result = sandbox.simple_query(&format!("/* optidb */ {sql}")).await;
    sandbox
        .batch_execute("/* optidb */ ROLLBACK")
        .await
        .map_err(|source| Error::Query { what, source })?;
    Ok(result)
}

/// The median of `values` (the mean of the middle two for an even count);
/// `None` when empty.
pub(super) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn a_statement_loses_its_trailing_semicolon() {
        assert_eq!(body(" SELECT 1 ;\n"), "SELECT 1");
        assert_eq!(body("SELECT 1"), "SELECT 1");
    }
}
