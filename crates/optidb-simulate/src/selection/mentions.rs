//! The names a statement's text mentions: pure, deterministic.
//!
//! The query facts say how a statement filters, joins and sorts, not which
//! columns it reads. The selection needs the latter twice: a covering
//! candidate (`INCLUDE`) only pays when it holds every column the
//! statement reads from its table, and an index can only change the plan
//! of a statement that mentions one of its keys or reads nothing it lacks.
//! A lexical scan answers both conservatively: the columns of a table
//! whose names appear in the text are a superset of the columns the
//! statement reads from it (a name shared with another table only makes
//! the set larger), unless the text selects `*`, which [`Mentions::star`]
//! records.

use std::collections::BTreeSet;

/// What a statement's text mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mentions {
    /// Every identifier outside literals and comments: unquoted ones
    /// lowercased (as PostgreSQL folds them), quoted ones as written.
    /// Keywords are included; they are never mistaken for a column unless
    /// a column has that name, and then the column may well be read.
    identifiers: BTreeSet<String>,
    /// The text selects every column of some relation: `SELECT *`, `t.*`,
    /// `RETURNING *`.
    pub(crate) star: bool,
}

impl Mentions {
    /// Whether the text mentions `name` (a column or relation name as the
    /// catalog spells it).
    pub(crate) fn mentions(&self, name: &str) -> bool {
        self.identifiers.contains(name)
    }

    /// Whether the text may join without naming the columns (`NATURAL
    /// JOIN`): then a join column is read without being mentioned.
    pub(crate) fn natural_join(&self) -> bool {
        self.identifiers.contains("natural")
    }
}

/// Scans `text` (a statement as `pg_stat_statements` normalizes it, or as
/// written).
pub(crate) fn mentions(text: &str) -> Mentions {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Mentions::default();
    // The last token that matters for telling `SELECT *` from `a * b`.
    let mut previous = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                // Block comments nest in PostgreSQL.
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            '\'' => {
                i = skip_string(&chars, i + 1, false);
                previous = "'".into();
            }
            '"' => {
                let mut name = String::new();
                i += 1;
                while i < chars.len() {
                    if chars[i] == '"' {
                        if chars.get(i + 1) == Some(&'"') {
                            name.push('"');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                out.identifiers.insert(name.clone());
                previous = name;
            }
            '$' if next.is_some_and(|n| n.is_ascii_digit()) => {
                // A parameter, `$1`.
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                previous = "$".into();
            }
            '$' => {
                // A dollar-quoted string: `$$…$$` or `$tag$…$tag$`.
                let start = i;
                let mut end = i + 1;
                while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                    end += 1;
                }
                if chars.get(end) == Some(&'$') {
                    let tag: String = chars[start..=end].iter().collect();
                    let rest: String = chars[end + 1..].iter().collect();
                    i = match rest.find(&tag) {
                        Some(at) => end + 1 + rest[..at].chars().count() + tag.chars().count(),
                        None => chars.len(),
                    };
                    previous = "'".into();
                } else {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
                if chars.get(i) == Some(&'\'') && matches!(word.as_str(), "e" | "b" | "x" | "n") {
                    // A string with a prefix: `E'…'` (backslash escapes),
                    // `B'…'`, `X'…'`, `N'…'`.
                    i = skip_string(&chars, i + 1, word == "e");
                    previous = "'".into();
                    continue;
                }
                out.identifiers.insert(word.clone());
                previous = word;
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                previous = "0".into();
            }
            '*' => {
                if matches!(
                    previous.as_str(),
                    "select" | "distinct" | "all" | "returning" | "," | "."
                ) {
                    out.star = true;
                }
                previous = "*".into();
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            c => {
                previous = c.to_string();
                i += 1;
            }
        }
    }
    out
}

/// The position after the string literal whose body starts at `i`.
fn skip_string(chars: &[char], mut i: usize, backslash_escapes: bool) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' if backslash_escapes => i += 2,
            '\'' if chars.get(i + 1) == Some(&'\'') => i += 2,
            '\'' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        mentions(text).identifiers.into_iter().collect()
    }

    #[test]
    fn identifiers_outside_literals_and_comments() {
        assert_eq!(
            names(
                "/* optidb /* nested */ */ SELECT \"Mixed\"\"Q\", l_tax -- not_me\n FROM lineitem WHERE l_comment LIKE 'x_y%' AND x = E'it\\'s' AND y = $1 AND z = $q$ w $q$ AND n = 1.5e3"
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
}
