//! Parses statements with `pg_query` (the PostgreSQL parser itself, as a
//! library): fingerprints that group statements differing only in their
//! constants, and normalized text with constants replaced by `$n`.
//!
//! Owns: everything optidb learns from a statement's text alone. Query facts
//! (tables, predicates, joins…) and families arrive with the ingest issue.
//!
//! Must not: do I/O. Parsing is pure and deterministic.

/// Why a statement could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("cannot parse the statement: {reason}")]
pub struct ParseError {
    reason: String,
}

impl From<pg_query::Error> for ParseError {
    fn from(error: pg_query::Error) -> Self {
        ParseError {
            reason: error.to_string(),
        }
    }
}

/// The fingerprint of `sql`: equal for statements that differ only in their
/// constants, parameter numbers, whitespace or comments. 16 hex digits.
pub fn fingerprint(sql: &str) -> Result<String, ParseError> {
    Ok(pg_query::fingerprint(sql, 0, 0)?.hex)
}

/// `sql` with every constant replaced by `$n`, as `pg_stat_statements` shows it.
pub fn normalize(sql: &str) -> Result<String, ParseError> {
    Ok(pg_query::normalize(sql)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_differing_in_constants_share_a_fingerprint() {
        let a = fingerprint("SELECT * FROM users WHERE email = 'a@example.com'").unwrap();
        let b = fingerprint("select *  from users where email = $1 /* app */").unwrap();
        let c = fingerprint("SELECT * FROM users WHERE id = 1").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn normalize_replaces_constants() {
        assert_eq!(
            normalize("SELECT * FROM orders WHERE user_id = 42 AND status = 'paid'").unwrap(),
            "SELECT * FROM orders WHERE user_id = $1 AND status = $2"
        );
    }

    #[test]
    fn unparsable_sql_is_an_error() {
        let err = fingerprint("SELEC * FROM").unwrap_err();
        assert!(err.to_string().contains("syntax error"), "{err}");
    }
}
