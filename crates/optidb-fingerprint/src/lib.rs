//! Parses statements with `pg_query` (the PostgreSQL parser itself, as a
//! library): fingerprints that group statements differing only in their
//! constants, normalized text with constants replaced by `$n`, query facts
//! (tables, predicates, joins, subqueries… see [`mod@facts`]), statement
//! families and the outliers among their members, and how a statement's
//! result rows are ordered ([`result_order`]), and the names its text
//! mentions ([`mentions()`]).
//!
//! Owns: everything optidb learns from a statement's text alone.
//!
//! Must not: do I/O. Parsing is pure and deterministic.

use optidb_model::Statement;
use optidb_model::facts::{QueryFacts, StatementFacts, WorkloadFacts};

pub mod facts;
mod families;
mod mentions;
mod outliers;
mod result_order;

pub use families::{FamilyInput, PREDICATE_SIMILARITY, families};
pub use mentions::{Mentions, mentions};
pub use outliers::{MIN_FAMILY_SIZE, OUTLIER_SCORE, outliers};
pub use result_order::{ResultOrder, result_order};

/// Why a statement could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// PostgreSQL's parser rejected the text (a truncated statement,
    /// `<insufficient privilege>`, …); `reason` is the parser's message.
    #[error("cannot parse the statement: {reason}")]
    Syntax {
        /// The parser's message.
        reason: String,
    },
    /// The parse tree nests deeper than `pg_query` decodes (its protobuf
    /// decoder stops at 100 levels: a few hundred nested function calls or
    /// a dozen nested subqueries).
    #[error("the statement nests too deeply to analyse (more than 100 parse tree levels)")]
    TooDeep,
    /// Facts need exactly one statement; the text held another number.
    #[error("expected one statement, found {count}: analyse statements one at a time")]
    NotOneStatement {
        /// How many statements the text held.
        count: usize,
    },
}

impl From<pg_query::Error> for ParseError {
    fn from(error: pg_query::Error) -> Self {
        let reason = match error {
            pg_query::Error::Parse(message) => message,
            pg_query::Error::Decode(decode)
                if decode.to_string().ends_with("recursion limit reached") =>
            {
                return ParseError::TooDeep;
            }
            other => other.to_string(),
        };
        ParseError::Syntax { reason }
    }
}

/// What [`analyze`] learns from one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The statement's fingerprint (see [`fingerprint()`]).
    pub fingerprint: String,
    /// The statement's facts (see [`facts()`]).
    pub facts: QueryFacts,
}

/// The fingerprint of `sql`: equal for statements that differ only in their
/// constants, parameter numbers, whitespace or comments. 16 hex digits.
///
/// Follows PostgreSQL 18's query identifiers: schema names are ignored and
/// a table alias replaces the table's name, so `FROM users u` and `FROM
/// accounts u` can share a fingerprint ([`families()`] tells them apart).
pub fn fingerprint(sql: &str) -> Result<String, ParseError> {
    Ok(pg_query::fingerprint(sql, 0, 0)?.hex)
}

/// `sql` with every constant replaced by `$n`, as `pg_stat_statements` shows it.
pub fn normalize(sql: &str) -> Result<String, ParseError> {
    Ok(pg_query::normalize(sql)?)
}

/// The facts of the single statement in `sql`. What is recorded, and the
/// heuristics used, are described in the [`facts` module](mod@facts).
pub fn facts(sql: &str) -> Result<QueryFacts, ParseError> {
    let parsed = pg_query::parse(sql, 0)?;
    match parsed.protobuf.stmts.as_slice() {
        [only] => match only.stmt.as_deref().and_then(|stmt| stmt.node.as_ref()) {
            Some(statement) => Ok(facts::extract(statement)),
            None => Err(ParseError::NotOneStatement { count: 0 }),
        },
        statements => Err(ParseError::NotOneStatement {
            count: statements.len(),
        }),
    }
}

/// Fingerprints, facts and families of every statement of a snapshot (the
/// fingerprint stage's whole output). Statements whose text does not parse
/// are listed with the reason, never dropped silently.
pub fn analyze_workload(statements: &[Statement]) -> WorkloadFacts {
    let mut analysed = Vec::with_capacity(statements.len());
    let mut unparsed = Vec::new();
    let mut means = Vec::with_capacity(statements.len());
    for statement in statements {
        match analyze(&statement.query) {
            Ok(analysis) => {
                analysed.push(StatementFacts {
                    queryid: statement.queryid,
                    fingerprint: analysis.fingerprint,
                    facts: analysis.facts,
                });
                means.push(statement.mean_exec_time_ms);
            }
            Err(error) => unparsed.push((statement.queryid, error.to_string())),
        }
    }
    let inputs: Vec<FamilyInput<'_>> = analysed
        .iter()
        .zip(&means)
        .map(|(statement, mean)| FamilyInput {
            id: statement.queryid,
            fingerprint: &statement.fingerprint,
            facts: &statement.facts,
            mean_time_ms: *mean,
        })
        .collect();
    let families = families(&inputs);
    WorkloadFacts {
        statements: analysed,
        families,
        unparsed,
    }
}

/// The fingerprint and the facts of the single statement in `sql`. The
/// text is parsed twice (once by `pg_query`'s fingerprinting); normalize
/// separately with [`normalize`] if needed: `pg_stat_statements` text is
/// normalized already.
pub fn analyze(sql: &str) -> Result<Analysis, ParseError> {
    let facts = facts(sql)?;
    let fingerprint = fingerprint(sql)?;
    Ok(Analysis { fingerprint, facts })
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
