//! The names a statement's text mentions, found by PostgreSQL's own
//! scanner: literals, comments and dollar-quoted bodies never count.
//!
//! The query facts say how a statement filters, joins and sorts, not every
//! column it reads. Index selection needs that too: a covering index only
//! pays when it holds every column the statement reads from its table, and
//! an index can only change the plan of a statement that mentions one of
//! its keys or reads nothing it lacks. The names a text mentions are a
//! superset of the columns it reads (a name shared by two tables only makes
//! the set larger), unless it selects `*`, which [`Mentions::star`] records.

use std::collections::BTreeSet;

use pg_query::protobuf::{KeywordKind, Token};

/// What a statement's text mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Every identifier and keyword: unquoted ones lowercased (as
    /// PostgreSQL folds them), quoted ones as written. Keywords count
    /// because many are valid column names (`name`, `type`, `position`).
    names: BTreeSet<String>,
    /// The text selects every column of some relation (`SELECT *`, `t.*`,
    /// `RETURNING *`), or could not be scanned: then any column may be read.
    pub star: bool,
}

impl Mentions {
    /// Whether the text mentions `name` (as the catalog spells it).
    pub fn mentions(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether the text may join without naming the columns (`NATURAL
    /// JOIN`): then a join column is read without being mentioned.
    pub fn natural_join(&self) -> bool {
        self.names.contains("natural")
    }
}

/// What `sql` mentions. A text the scanner rejects (an unterminated
/// string) mentions nothing and selects `*`: the conservative answer.
pub fn mentions(sql: &str) -> Mentions {
    // `scan`, not `scan_tokens`: the latter builds a slice from a null
    // pointer when a text has no token at all (empty, or only a comment).
    let Ok(scanned) = pg_query::scan(sql) else {
        return Mentions {
            names: BTreeSet::new(),
            star: true,
        };
    };
    let mut found = Mentions::default();
    let mut previous: Option<i32> = None;
    for token in &scanned.tokens {
        let text = usize::try_from(token.start)
            .ok()
            .zip(usize::try_from(token.end).ok())
            .and_then(|(start, end)| sql.get(start..end))
            .unwrap_or_default();
        if token.token == Token::Ident as i32 {
            found.names.insert(identifier(text));
        } else if token.keyword_kind != KeywordKind::NoKeyword as i32 {
            found.names.insert(text.to_lowercase());
        } else if token.token == Token::Ascii42 as i32
            && previous.is_some_and(|previous| STAR_AFTER.iter().any(|t| *t as i32 == previous))
        {
            found.star = true;
        }
        previous = Some(token.token);
    }
    found
}

/// The tokens after which `*` means "every column", not multiplication
/// or `count(*)`.
const STAR_AFTER: [Token; 6] = [
    Token::Select,
    Token::Distinct,
    Token::All,
    Token::Returning,
    Token::Ascii44,
    Token::Ascii46,
];

/// An identifier token as the catalog spells it: `"Mixed""Q"` is
/// `Mixed"Q`; unquoted names fold to lower case.
fn identifier(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => text.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        mentions(text).names.into_iter().collect()
    }

    #[test]
    fn identifiers_outside_literals_and_comments() {
        assert_eq!(
            names(
                "/* optidb /* nested */ */ SELECT \"Mixed\"\"Q\", L_Tax -- not_me\n FROM lineitem WHERE l_comment LIKE 'x_y%' AND x = E'it\\'s' AND y = $1 AND z = $q$ w $q$ AND n = 1.5e3 AND p.name = $2"
            ),
            [
                "Mixed\"Q",
                "and",
                "from",
                "l_comment",
                "l_tax",
                "like",
                "lineitem",
                "n",
                "name",
                "p",
                "select",
                "where",
                "x",
                "y",
                "z"
            ]
        );
    }

    #[test]
    fn select_star_is_told_from_multiplication_and_count() {
        assert!(mentions("SELECT * FROM t").star);
        assert!(mentions("SELECT a, t.* FROM t").star);
        assert!(mentions("INSERT INTO t VALUES ($1) RETURNING *").star);
        assert!(!mentions("SELECT count(*), sum(a * (1 - b)) FROM t").star);
        assert!(!mentions("SELECT 2 * a FROM t").star);
        assert!(mentions("SELECT a FROM t NATURAL JOIN u").natural_join());
    }

    #[test]
    fn texts_without_tokens_mention_nothing() {
        for text in ["", "  ", "/* only a comment */"] {
            assert_eq!(mentions(text), Mentions::default(), "{text:?}");
        }
    }

    #[test]
    fn an_unscannable_text_may_read_anything() {
        let unterminated = mentions("SELECT a FROM t WHERE b = 'oops");
        assert!(unterminated.star);
        assert!(!unterminated.mentions("a"));
    }
}
