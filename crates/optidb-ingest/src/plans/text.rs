//! Reading a normalized statement's text without a full parser: enough to
//! decide whether it can have a plan, to count its `$n` parameters and to
//! rewrite typed literals (`timestamptz $1`) into casts (`$1::timestamptz`)
//! that a `PREPARE` body accepts.
//!
//! The scanner knows PostgreSQL's lexical structure where it matters: string
//! literals (`'…'` with `''`, `E'…'` with backslash escapes), quoted
//! identifiers, `--` and nested `/* */` comments and dollar-quoted strings,
//! so that a `$1` or a `;` inside any of them is not mistaken for a
//! parameter or a statement end. It assumes `standard_conforming_strings =
//! on` (the default since PostgreSQL 9.1); `pg_stat_statements` replaces most
//! literals by `$n` anyway.

use std::fmt::Write as _;
use std::ops::Range;

/// The most parameters a statement can have (the protocol's limit).
const MAX_PARAMS: u64 = 65_535;

/// Statements that can have a plan, by their first keyword.
const PLANNABLE: &[&str] = &[
    "select", "insert", "update", "delete", "merge", "values", "with", "table",
];

/// One-word type names whose typed literals (`date $1`) are rewritten to casts.
const TYPE_NAMES: &[&str] = &[
    "bigint",
    "bit",
    "bool",
    "boolean",
    "box",
    "bpchar",
    "bytea",
    "char",
    "character",
    "cidr",
    "circle",
    "date",
    "decimal",
    "float",
    "float4",
    "float8",
    "inet",
    "int",
    "int2",
    "int4",
    "int8",
    "integer",
    "interval",
    "json",
    "jsonb",
    "line",
    "lseg",
    "macaddr",
    "macaddr8",
    "money",
    "name",
    "numeric",
    "oid",
    "path",
    "point",
    "polygon",
    "real",
    "regclass",
    "regtype",
    "smallint",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "timetz",
    "tsquery",
    "tsvector",
    "uuid",
    "varbit",
    "varchar",
    "xml",
];

/// A statement ready to be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explainable {
    /// The text to explain: one statement, trailing `;` removed, typed
    /// literals rewritten to casts.
    pub(crate) sql: String,
    /// The highest `$n` in it (0 without parameters).
    pub(crate) params: u32,
}

/// Decides whether `query` (a `pg_stat_statements` text) can be explained
/// and prepares it; `Err` is the reason it cannot, for people.
pub(crate) fn explainable(query: &str) -> Result<Explainable, String> {
    if query.trim().is_empty() {
        return Err("no statement text".into());
    }
    if query == "<insufficient privilege>" {
        return Err(
            "statement text not visible: optidb's role needs pg_read_all_stats (or pg_monitor)"
                .into(),
        );
    }
    if query.contains('\0') {
        return Err("the text holds a NUL character".into());
    }
    let tokens = tokenize(query).map_err(|Unterminated| {
        "unterminated quoted string, quoted identifier, comment or dollar quote: the text is cut short or not SQL".to_string()
    })?;
    let end = statement_end(&tokens).ok_or("holds more than one statement")?;
    let tokens = &tokens[..end];
    match tokens
        .iter()
        .find(|t| !matches!(t.kind, Kind::Space | Kind::Comment | Kind::Punct(b'(')))
    {
        None => return Err("no statement text".into()),
        Some(t) if t.kind != Kind::Word => {
            return Err(format!(
                "does not start with a SQL keyword (starts with {:?})",
                &query[t.span.clone()]
            ));
        }
        Some(t) => {
            let keyword = query[t.span.clone()].to_ascii_lowercase();
            if !PLANNABLE.contains(&keyword.as_str()) {
                return Err(format!(
                    "{} is a utility statement: it has no plan",
                    keyword.to_ascii_uppercase()
                ));
            }
        }
    }
    let highest = tokens
        .iter()
        .filter_map(|t| match t.kind {
            Kind::Param(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let params = u32::try_from(highest)
        .ok()
        .filter(|&n| u64::from(n) <= MAX_PARAMS)
        .ok_or_else(|| {
            format!("uses parameter ${highest}, beyond PostgreSQL's limit of {MAX_PARAMS}")
        })?;
    let body_end = tokens.last().map_or(0, |t| t.span.end);
    Ok(Explainable {
        sql: rewrite_typed_literals(&query[..body_end], tokens),
        params,
    })
}

/// When `sql` has, at character offset `offset` (0-based, as PostgreSQL's
/// error positions count after subtracting 1), a parameter that directly
/// follows a word: that `word $n` pair, which is a typed literal of a type
/// the rewrite does not know.
pub(crate) fn typed_literal_at(sql: &str, offset: usize) -> Option<String> {
    let byte = sql.char_indices().nth(offset).map(|(i, _)| i)?;
    let tokens = tokenize(sql).ok()?;
    let at = tokens.iter().position(|t| t.span.start == byte)?;
    if !matches!(tokens[at].kind, Kind::Param(_)) {
        return None;
    }
    let word = previous_significant(&tokens, at)?;
    (tokens[word].kind == Kind::Word)
        .then(|| sql[tokens[word].span.start..tokens[at].span.end].to_string())
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A keyword or unquoted identifier.
    Word,
    /// `$n`, with its number (saturating).
    Param(u64),
    /// `"…"`.
    QuotedIdent,
    /// A string literal of any kind, dollar-quoted ones included.
    Str,
    /// `--…` or `/*…*/`.
    Comment,
    /// Whitespace.
    Space,
    /// A number.
    Number,
    /// Any other single character (operators, punctuation, `;`, `.`).
    Punct(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: Kind,
    span: Range<usize>,
}

/// A string, identifier, comment or dollar quote that never ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unterminated;

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Splits `text` into tokens. Works on bytes: every byte that matters is
/// ASCII, and non-ASCII bytes only ever continue identifiers, strings or
/// comments, so token boundaries are always character boundaries.
fn tokenize(text: &str) -> Result<Vec<Token>, Unterminated> {
    let bytes = text.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(b) = at(i) {
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                while matches!(at(i), Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c)) {
                    i += 1;
                }
                Kind::Space
            }
            b'-' if at(i + 1) == Some(b'-') => {
                while at(i).is_some_and(|b| b != b'\n') {
                    i += 1;
                }
                Kind::Comment
            }
            b'/' if at(i + 1) == Some(b'*') => {
                let mut depth = 0usize;
                loop {
                    match (at(i), at(i + 1)) {
                        (Some(b'/'), Some(b'*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some(b'*'), Some(b'/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => return Err(Unterminated),
                    }
                }
                Kind::Comment
            }
            b'\'' => {
                i = quoted_end(bytes, i, b'\'', false)?;
                Kind::Str
            }
            b'"' => {
                i = quoted_end(bytes, i, b'"', false)?;
                Kind::QuotedIdent
            }
            b'$' if at(i + 1).is_some_and(|b| b.is_ascii_digit()) => {
                i += 1;
                let mut n: u64 = 0;
                while let Some(digit) = at(i).filter(u8::is_ascii_digit) {
                    n = n.saturating_mul(10).saturating_add(u64::from(digit - b'0'));
                    i += 1;
                }
                Kind::Param(n)
            }
            b'$' => match dollar_tag_end(bytes, i) {
                Some(tag_end) => {
                    let tag = &bytes[i..tag_end];
                    let close = bytes[tag_end..]
                        .windows(tag.len())
                        .position(|w| w == tag)
                        .ok_or(Unterminated)?;
                    i = tag_end + close + tag.len();
                    Kind::Str
                }
                None => {
                    i += 1;
                    Kind::Punct(b'$')
                }
            },
            b if is_ident_start(b) => {
                while at(i).is_some_and(is_ident_continue) {
                    i += 1;
                }
                // E'…': an escape string, where a backslash escapes the quote.
                if i - start == 1 && matches!(b, b'e' | b'E') && at(i) == Some(b'\'') {
                    i = quoted_end(bytes, i, b'\'', true)?;
                    Kind::Str
                } else {
                    Kind::Word
                }
            }
            b if b.is_ascii_digit() => {
                while at(i).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
                    i += 1;
                }
                Kind::Number
            }
            other => {
                i += 1;
                Kind::Punct(other)
            }
        };
        tokens.push(Token {
            kind,
            span: start..i,
        });
    }
    Ok(tokens)
}

/// The end (exclusive) of the quoted string or identifier opening at `open`,
/// where a doubled quote stands for one (and with `backslash`, `\` escapes
/// the next byte).
fn quoted_end(
    bytes: &[u8],
    open: usize,
    quote: u8,
    backslash: bool,
) -> Result<usize, Unterminated> {
    let mut i = open + 1;
    loop {
        match bytes.get(i) {
            None => return Err(Unterminated),
            Some(b'\\') if backslash => i += 2,
            Some(&b) if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            Some(_) => i += 1,
        }
    }
}

/// When a dollar-quote tag (`$$`, `$body$`) opens at `i`: the end of the tag.
fn dollar_tag_end(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if bytes.get(j).is_some_and(|&b| is_ident_start(b)) {
        while bytes
            .get(j)
            .is_some_and(|&b| is_ident_start(b) || b.is_ascii_digit())
        {
            j += 1;
        }
    }
    (bytes.get(j) == Some(&b'$')).then_some(j + 1)
}

/// How many leading tokens make up the statement: everything before the
/// first top-level `;`, when only blanks, comments and further `;` follow
/// it. `None` when another statement follows.
fn statement_end(tokens: &[Token]) -> Option<usize> {
    let Some(semicolon) = tokens.iter().position(|t| t.kind == Kind::Punct(b';')) else {
        return Some(tokens.len());
    };
    tokens[semicolon..]
        .iter()
        .all(|t| matches!(t.kind, Kind::Space | Kind::Comment | Kind::Punct(b';')))
        .then_some(semicolon)
}

/// The index of the nearest token before `index` that is not whitespace.
fn previous_significant(tokens: &[Token], index: usize) -> Option<usize> {
    tokens[..index].iter().rposition(|t| t.kind != Kind::Space)
}

/// The index of the token where a type name ending with the word at `last`
/// starts (`timestamp with time zone`, `double precision`, …), when it is
/// one the rewrite knows.
fn type_name_start(text: &str, tokens: &[Token], last: usize) -> Option<usize> {
    let word_at = |index: usize| {
        (tokens[index].kind == Kind::Word)
            .then(|| text[tokens[index].span.clone()].to_ascii_lowercase())
    };
    // The words before `index`, separated from it by whitespace only.
    let word_before = |index: usize| {
        let previous = previous_significant(tokens, index)?;
        Some((previous, word_at(previous)?))
    };
    let last_word = word_at(last)?;
    let start = match last_word.as_str() {
        "zone" => {
            let (time, word) = word_before(last)?;
            (word == "time").then_some(())?;
            let (with, word) = word_before(time)?;
            matches!(word.as_str(), "with" | "without").then_some(())?;
            let (base, word) = word_before(with)?;
            matches!(word.as_str(), "timestamp" | "time").then_some(base)?
        }
        "precision" => {
            let (double, word) = word_before(last)?;
            (word == "double").then_some(double)?
        }
        "varying" => {
            let (base, word) = word_before(last)?;
            matches!(word.as_str(), "character" | "char" | "bit").then_some(base)?
        }
        word if TYPE_NAMES.contains(&word) => last,
        _ => return None,
    };
    // `schema.date $1`: a qualified name, leave it to the server.
    match previous_significant(tokens, start) {
        Some(before) if tokens[before].kind == Kind::Punct(b'.') => None,
        _ => Some(start),
    }
}

/// Rewrites every typed literal of a known type (`timestamptz $1`,
/// `timestamp with time zone $2`, `interval $3 day`) into a cast of the
/// parameter (`$1::timestamptz`, …): a normalized typed literal is not valid
/// SQL, a cast means the same.
fn rewrite_typed_literals(text: &str, tokens: &[Token]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    for (index, token) in tokens.iter().enumerate() {
        if !matches!(token.kind, Kind::Param(_)) {
            continue;
        }
        let Some(last) = previous_significant(tokens, index) else {
            continue;
        };
        let Some(start) = type_name_start(text, tokens, last) else {
            continue;
        };
        let type_span = tokens[start].span.start..tokens[last].span.end;
        out.push_str(&text[copied..type_span.start]);
        let _ = write!(
            out,
            "{}::{}",
            &text[token.span.clone()],
            &text[type_span.clone()]
        );
        copied = token.span.end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> u32 {
        explainable(text).unwrap().params
    }

    fn rewritten(text: &str) -> String {
        explainable(text).unwrap().sql
    }

    fn reason(text: &str) -> String {
        explainable(text).unwrap_err()
    }

    #[test]
    fn counts_the_highest_parameter() {
        assert_eq!(params("SELECT 1"), 0);
        assert_eq!(params("SELECT * FROM t WHERE a = $1 AND b = $2"), 2);
        assert_eq!(params("SELECT $3, $1"), 3);
        assert_eq!(params("SELECT * FROM t WHERE a IN ($1,$2,$10)"), 10);
    }

    #[test]
    fn parameters_inside_literals_identifiers_and_comments_do_not_count() {
        assert_eq!(params("SELECT '$5', $1"), 1);
        assert_eq!(params("SELECT 'it''s $7', $1"), 1);
        assert_eq!(params(r"SELECT E'\'$9', $1"), 1);
        assert_eq!(params(r#"SELECT "col$4" FROM t WHERE x = $2"#), 2);
        assert_eq!(params("SELECT $1 -- and $8\n"), 1);
        assert_eq!(params("SELECT /* $6 /* nested $7 */ still */ $2"), 2);
        assert_eq!(params("SELECT $$ $5 $$, $body$ $4; $$ $body$, $1"), 1);
        // `$` inside an identifier is part of it.
        assert_eq!(params("SELECT a$1 FROM t"), 0);
    }

    #[test]
    fn a_trailing_semicolon_is_dropped_and_a_second_statement_refused() {
        assert_eq!(rewritten("SELECT $1;"), "SELECT $1");
        assert_eq!(rewritten("SELECT 1 ; -- done\n;"), "SELECT 1 ");
        assert_eq!(
            rewritten("SELECT ';', \";\" -- ;"),
            "SELECT ';', \";\" -- ;"
        );
        assert_eq!(
            reason("SELECT 1; DELETE FROM t"),
            "holds more than one statement"
        );
        assert_eq!(reason("SELECT 1; COMMIT"), "holds more than one statement");
    }

    #[test]
    fn only_statements_with_plans_are_explainable() {
        for text in [
            "select 1",
            "  (SELECT 1) UNION (SELECT 2)",
            "/* app */ INSERT INTO t VALUES ($1)",
            "UPDATE t SET a = $1",
            "DELETE FROM t",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "VALUES ($1)",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "TABLE t",
        ] {
            assert!(explainable(text).is_ok(), "{text}");
        }
        assert_eq!(
            reason("BEGIN"),
            "BEGIN is a utility statement: it has no plan"
        );
        assert_eq!(
            reason("set work_mem = $1"),
            "SET is a utility statement: it has no plan"
        );
        assert_eq!(
            reason("-- hi\nCREATE TABLE t (a int)"),
            "CREATE is a utility statement: it has no plan"
        );
        for utility in [
            "EXPLAIN SELECT 1",
            "VACUUM t",
            "DO $$ BEGIN END $$",
            "CALL p()",
            "COPY t TO STDOUT",
        ] {
            assert!(
                reason(utility).contains("is a utility statement"),
                "{utility}"
            );
        }
    }

    #[test]
    fn texts_that_are_not_sql_say_why() {
        assert_eq!(reason("   "), "no statement text");
        assert_eq!(reason("-- only a comment"), "no statement text");
        assert!(reason("<insufficient privilege>").contains("pg_read_all_stats"));
        assert!(reason("SELECT 'open").starts_with("unterminated"));
        assert!(reason("SELECT 1 /* open").starts_with("unterminated"));
        assert!(reason("SELECT $x$ open").starts_with("unterminated"));
        assert!(reason("SELECT \"open").starts_with("unterminated"));
        assert_eq!(
            reason("$1"),
            "does not start with a SQL keyword (starts with \"$1\")"
        );
        assert_eq!(
            reason("SELECT $70000"),
            "uses parameter $70000, beyond PostgreSQL's limit of 65535"
        );
        assert!(reason("SELECT $99999999999999999999999").contains("beyond"));
        assert!(reason("SELECT '\0'").contains("NUL"));
    }

    #[test]
    fn typed_literals_become_casts() {
        assert_eq!(
            rewritten("SELECT * FROM t WHERE at > timestamptz $1"),
            "SELECT * FROM t WHERE at > $1::timestamptz"
        );
        assert_eq!(
            rewritten("SELECT DATE $1, Interval\n$2"),
            "SELECT $1::DATE, $2::Interval"
        );
        assert_eq!(
            rewritten("SELECT now() - interval $1 day"),
            "SELECT now() - $1::interval day"
        );
        assert_eq!(
            rewritten("SELECT timestamp with time zone $1, time without time zone $2"),
            "SELECT $1::timestamp with time zone, $2::time without time zone"
        );
        assert_eq!(
            rewritten("SELECT double precision $1, character varying $2, int4 $3"),
            "SELECT $1::double precision, $2::character varying, $3::int4"
        );
    }

    #[test]
    fn parameters_after_other_words_are_left_alone() {
        for text in [
            "SELECT * FROM t LIMIT $1 OFFSET $2",
            "SELECT a AT TIME ZONE $1 FROM t",
            "SELECT CASE WHEN a THEN $1 ELSE $2 END FROM t",
            "SELECT 'date' $1",
            "SELECT pg_catalog.date $1",
            "SELECT mydate $1",
            "SELECT date /* c */ $1",
        ] {
            assert_eq!(rewritten(text), text);
        }
    }

    #[test]
    fn finds_the_typed_literal_an_error_points_at() {
        let sql = "SELECT ltree $1, é";
        // PostgreSQL counts characters: "$1" is the 14th.
        assert_eq!(typed_literal_at(sql, 13), Some("ltree $1".into()));
        assert_eq!(typed_literal_at(sql, 7), None);
        assert_eq!(typed_literal_at("SELECT ($1)", 8), None);
        assert_eq!(typed_literal_at(sql, 99), None);
    }
}
