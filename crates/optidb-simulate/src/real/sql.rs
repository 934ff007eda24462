//! SQL text helpers: quoting, and telling a statement's failure from a
//! broken session.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::Error;

pub(super) use optidb_model::sql::{qualified, quote_ident};

/// `value` as a SQL string literal. The sandbox session runs with
/// `standard_conforming_strings = on` (set by real mode), so doubling the
/// quotes is all the escaping there is.
pub(super) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A statement timeout in whole milliseconds, at least 1 (0 would mean none).
pub(super) fn timeout_ms(timeout: std::time::Duration) -> u64 {
    u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i32::MAX as u64)
}

/// What a statement's failure becomes: `Ok(reason)` for a server's refusal
/// (the caller records it and goes on), `Err` when the session is gone.
pub(super) fn refusal(
    client: &Client,
    error: tokio_postgres::Error,
    what: &'static str,
) -> Result<String, Error> {
    if optidb_pg::is_connection_failure(client, &error) {
        return Err(Error::Query {
            what,
            source: error,
        });
    }
    Ok(reason(&error))
}

/// A short reason for a server error, with its SQLSTATE.
pub(super) fn reason(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// Whether `error` is a statement timeout.
pub(super) fn is_timeout(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| *db.code() == SqlState::QUERY_CANCELED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("users"), "\"users\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(qualified("public", "t"), "\"public\".\"t\"");
        assert_eq!(literal("o'brien"), "'o''brien'");
        assert_eq!(literal("back\\slash"), "'back\\slash'");
    }

    #[test]
    fn timeouts_are_whole_milliseconds_never_zero() {
        assert_eq!(timeout_ms(std::time::Duration::from_secs(2)), 2000);
        assert_eq!(timeout_ms(std::time::Duration::ZERO), 1);
    }
}
