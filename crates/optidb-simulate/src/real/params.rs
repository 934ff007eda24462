//! Realistic values for a statement's `$n` parameters.
//!
//! The query facts say which column each parameter is compared with
//! (`param` on equality, range, `IN` and `LIKE` predicates). Values are
//! drawn from the sandbox copy's rows of that column: a parameter set takes
//! one row per relation, so parameters on the same table get values that
//! occur together (`user_id = $1 AND status = $2` finds that user's tickets
//! in a status they have), and every value exists, as in an application's
//! traffic. Rows are picked by a hash of their position in the copy, so the
//! same copy gives the same values.
//!
//! - `column = $n`, a one-sided range: the row's value.
//! - `column >= $1 AND column < $2` (or `BETWEEN $1 AND $2`): from the row's
//!   value to the value 1% of the copy's rows further in the column's order,
//!   a narrow window like "one day of orders".
//! - `IN ($1, $2)`: the values of consecutive picked rows; `= ANY($1)`: an
//!   array of [`ARRAY_VALUES`] of them.
//! - `LIKE $n`: a pattern cut from the row's value: its first half as a
//!   prefix (`abc%`, what a B-tree serves), or, when the index to benchmark
//!   is a trigram one, a piece of its middle (`%bc%`).
//!
//! Parameters the facts do not map (a `LIMIT $3`, `SET column = $2`,
//! `VALUES ($1)`) get a default by their type ([`default_for`]).

use std::collections::{BTreeMap, HashMap};

use optidb_model::facts::{ColumnExpr, InValues, QueryFacts, RangeOp};
use tokio_postgres::Client;

use super::sql::{literal, refusal};
use crate::Error;

/// How many values an array parameter (`= ANY($1)`) gets.
pub(super) const ARRAY_VALUES: usize = 5;

/// What a parameter stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A value of the column: `=`, a one-sided range.
    Value,
    /// The lower bound of a range that a parameter also bounds above.
    Lower,
    /// The upper bound of such a range.
    Upper,
    /// Item `j` of an `IN` list.
    ListItem(usize),
    /// An array of values (`= ANY($1)`).
    Array,
    /// A `LIKE` / `ILIKE` pattern.
    Like,
}

/// Where a parameter's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Source {
    /// The relation's id in the statement's facts.
    pub(super) relation: u32,
    /// The column (quoted) or the expression over it, as SQL.
    pub(super) expression: String,
    /// What the parameter stands for.
    pub(super) role: Role,
}

/// The column or expression as SQL that can be evaluated on the copy, or
/// `None` when it holds a parameter or a part optidb could not render.
fn evaluable(column: &ColumnExpr) -> Option<String> {
    match &column.expression {
        None => Some(super::sql::quote_ident(&column.column)),
        Some(expression) if expression.contains('$') || expression.contains('…') => None,
        Some(expression) => Some(format!("({expression})")),
    }
}

/// Which column (or expression) of which table each `$n` is compared with,
/// by the statement's facts. A parameter used twice keeps its first use.
pub(super) fn sources(facts: &QueryFacts) -> BTreeMap<u32, Source> {
    let mut found: BTreeMap<u32, Source> = BTreeMap::new();
    for relation in facts.tables() {
        let columns = &relation.columns;
        let mut add = |param: Option<u32>, column: &ColumnExpr, role: Role| {
            if let (Some(param), Some(expression)) = (param, evaluable(column)) {
                found.entry(param).or_insert(Source {
                    relation: relation.id,
                    expression,
                    role,
                });
            }
        };
        for equality in &columns.equality {
            add(equality.param, &equality.column, Role::Value);
        }
        for range in &columns.range {
            let same = |other: &&optidb_model::facts::Range| other.column == range.column;
            let bounded_below = columns.range.iter().filter(same).any(|r| {
                r.param.is_some() && matches!(r.op, RangeOp::Gt | RangeOp::Ge | RangeOp::Between)
            });
            let bounded_above = columns.range.iter().filter(same).any(|r| {
                (r.param.is_some() && matches!(r.op, RangeOp::Lt | RangeOp::Le))
                    || r.upper_param.is_some()
            });
            let window = bounded_below && bounded_above;
            match range.op {
                RangeOp::Gt | RangeOp::Ge => {
                    let role = if window { Role::Lower } else { Role::Value };
                    add(range.param, &range.column, role);
                }
                RangeOp::Lt | RangeOp::Le => {
                    let role = if window { Role::Upper } else { Role::Value };
                    add(range.param, &range.column, role);
                }
                RangeOp::Between => {
                    let lower = if window { Role::Lower } else { Role::Value };
                    let upper = if window { Role::Upper } else { Role::Value };
                    add(range.param, &range.column, lower);
                    add(range.upper_param, &range.column, upper);
                }
            }
        }
        for in_list in columns.in_list.iter().filter(|i| !i.negated) {
            match in_list.values {
                InValues::Array => {
                    for &param in &in_list.params {
                        add(Some(param), &in_list.column, Role::Array);
                    }
                }
                InValues::List(_) => {
                    for (item, &param) in in_list.params.iter().enumerate() {
                        add(Some(param), &in_list.column, Role::ListItem(item));
                    }
                }
                InValues::Subquery => {}
            }
        }
        for like in columns.like.iter().filter(|l| !l.negated) {
            add(like.param, &like.column, Role::Like);
        }
    }
    found
}

/// A relation whose rows values are drawn from: its copy's quoted name and
/// row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Copy {
    /// Quoted `schema.name` on the sandbox.
    pub(super) name: String,
    /// Rows in the copy.
    pub(super) rows: u64,
}

/// Draws `sets` parameter sets: for each, the SQL literal of every
/// parameter in `sources` whose relation is in `copies`. A relation whose
/// draw fails leaves its parameters out (they get defaults) and a note.
pub(super) async fn draw(
    sandbox: &Client,
    sources: &BTreeMap<u32, Source>,
    copies: &HashMap<u32, Copy>,
    sets: usize,
    infix_like: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<BTreeMap<u32, String>>, Error> {
    let mut drawn: Vec<BTreeMap<u32, String>> = vec![BTreeMap::new(); sets.max(1)];
    let mut relations: Vec<u32> = sources.values().map(|s| s.relation).collect();
    relations.sort_unstable();
    relations.dedup();
    for relation in relations {
        let Some(copy) = copies.get(&relation) else {
            continue;
        };
        let params: Vec<(u32, &Source)> = sources
            .iter()
            .filter(|(_, source)| source.relation == relation)
            .map(|(&param, source)| (param, source))
            .collect();
        let mut values: Vec<&str> = Vec::new();
        let mut uppers: Vec<&str> = Vec::new();
        for (_, source) in &params {
            let list = if source.role == Role::Upper {
                &mut uppers
            } else {
                &mut values
            };
            if !list.contains(&source.expression.as_str()) {
                list.push(&source.expression);
            }
        }
        let width = params
            .iter()
            .map(|(_, source)| match source.role {
                Role::ListItem(item) => item + 1,
                Role::Array => ARRAY_VALUES,
                _ => 1,
            })
            .max()
            .unwrap_or(1);
        let window = (copy.rows / 100).max(1);
        let sql = draw_sql(&copy.name, &values, &uppers, window, sets.max(1) * width);
        let rows = match sandbox.query(&sql, &[]).await {
            Ok(rows) => rows,
            Err(error) => {
                let reason = refusal(sandbox, error, "drawing parameter values on the sandbox")?;
                notes.push(format!(
                    "no values could be drawn from {} ({reason}): defaults used instead",
                    copy.name
                ));
                continue;
            }
        };
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| (0..row.len()).map(|i| row.get(i)).collect())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let cell = |row: usize, column: usize| rows[row % rows.len()][column].as_str();
        for (set, values_of_set) in drawn.iter_mut().enumerate() {
            let base = set * width;
            for (param, source) in &params {
                let column = |list: &[&str]| {
                    list.iter()
                        .position(|e| *e == source.expression)
                        .unwrap_or(0)
                };
                let value = match source.role {
                    Role::Value | Role::Lower => literal(cell(base, column(&values))),
                    Role::Upper => literal(cell(base, values.len() + column(&uppers))),
                    Role::ListItem(item) => literal(cell(base + item, column(&values))),
                    Role::Array => {
                        let items: Vec<&str> = (0..ARRAY_VALUES)
                            .map(|item| cell(base + item, column(&values)))
                            .collect();
                        literal(&array_literal(&items))
                    }
                    Role::Like => literal(&like_pattern(cell(base, column(&values)), infix_like)),
                };
                values_of_set.insert(*param, value);
            }
        }
    }
    Ok(drawn)
}

/// The query drawing `limit` rows of `values` (and, for each of `uppers`,
/// the value `window` rows further in that expression's order) from
/// `table`, all as text, none NULL, picked by a hash of the row's position.
fn draw_sql(table: &str, values: &[&str], uppers: &[&str], window: u64, limit: usize) -> String {
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    let mut not_null = Vec::new();
    for (i, expression) in values.iter().enumerate() {
        inner.push(format!("{expression} AS v{i}"));
        outer.push(format!("v{i}::text"));
        not_null.push(format!("v{i} IS NOT NULL"));
    }
    for (i, expression) in uppers.iter().enumerate() {
        inner.push(format!(
            "lead({expression}, {window}) OVER (ORDER BY {expression}) AS u{i}"
        ));
        outer.push(format!("u{i}::text"));
        not_null.push(format!("u{i} IS NOT NULL"));
    }
    inner.push("hashtext(ctid::text) AS pick".into());
    format!(
        "/* optidb */ SELECT {} FROM (SELECT {} FROM {table}) AS s WHERE {} ORDER BY pick LIMIT {limit}",
        outer.join(", "),
        inner.join(", "),
        if not_null.is_empty() {
            "true".to_string()
        } else {
            not_null.join(" AND ")
        }
    )
}

/// `items` as an array literal (`{"a","b"}`), every element quoted.
fn array_literal(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// A `LIKE` pattern that `value` matches: its first half (at most 16
/// characters) as a prefix, or with `infix` a piece of its middle (3 to 16
/// characters) between `%`s. Wildcards in the value are escaped.
pub(super) fn like_pattern(value: &str, infix: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let escape = |part: &[char]| -> String {
        part.iter()
            .flat_map(|&c| match c {
                '\\' | '%' | '_' => vec!['\\', c],
                c => vec![c],
            })
            .collect()
    };
    if infix {
        let length = (chars.len() / 3).clamp(3.min(chars.len()), 16);
        let start = (chars.len() - length) / 2;
        format!("%{}%", escape(&chars[start..start + length]))
    } else {
        let length = chars.len().div_ceil(2).min(16);
        format!("{}%", escape(&chars[..length]))
    }
}

/// A harmless value (SQL) for a parameter of type `type_name` (as
/// `format_type` writes it) that the facts do not map, or `None` when
/// optidb has none for the type.
pub(super) fn default_for(type_name: &str) -> Option<&'static str> {
    if type_name.ends_with("[]") {
        return Some("'{}'");
    }
    let base = type_name.split('(').next().unwrap_or(type_name).trim();
    Some(match base {
        // Also what a `LIMIT $n` gets: a page's worth.
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" | "oid"
        | "money" => "'10'",
        "text" | "character varying" | "character" | "name" | "citext" | "unknown" => "'optidb'",
        "boolean" => "'true'",
        "date" => "current_date",
        "timestamp with time zone" | "timestamp without time zone" => "now()",
        "time with time zone" | "time without time zone" => "'12:00'",
        "interval" => "'1 day'",
        "uuid" => "'00000000-0000-0000-0000-000000000000'",
        "json" | "jsonb" => "'{}'",
        "bytea" => "'\\x'",
        "inet" | "cidr" => "'127.0.0.1'",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources_of(sql: &str) -> Vec<(u32, String, Role)> {
        let facts = optidb_fingerprint::facts(sql).unwrap();
        sources(&facts)
            .into_iter()
            .map(|(param, source)| (param, source.expression, source.role))
            .collect()
    }

    #[test]
    fn parameters_map_to_the_columns_they_are_compared_with() {
        let found = sources_of(
            "SELECT * FROM orders WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 \
             AND total > $4 AND status IN ($5, $6) AND id = ANY($7) AND note LIKE $8 \
             AND lower(email) = $9 AND created_at + $10 > now() LIMIT $11",
        );
        let column = |c: &str| format!("\"{c}\"");
        assert_eq!(
            found,
            vec![
                (1, column("user_id"), Role::Value),
                (2, column("created_at"), Role::Lower),
                (3, column("created_at"), Role::Upper),
                (4, column("total"), Role::Value),
                (5, column("status"), Role::ListItem(0)),
                (6, column("status"), Role::ListItem(1)),
                (7, column("id"), Role::Array),
                (8, column("note"), Role::Like),
                (9, "(lower(email))".to_string(), Role::Value),
            ]
        );
    }

    #[test]
    fn between_two_parameters_is_a_window() {
        let found = sources_of("SELECT * FROM t WHERE d BETWEEN $1 AND $2");
        let roles: Vec<Role> = found.iter().map(|(_, _, role)| *role).collect();
        assert_eq!(roles, [Role::Lower, Role::Upper]);
    }

    #[test]
    fn like_patterns_match_the_value_they_come_from() {
        assert_eq!(like_pattern("user42@example.com", false), "user42@ex%");
        assert_eq!(like_pattern("navy wool blanket", true), "%ool b%");
        assert_eq!(like_pattern("50%_off", false), "50\\%\\_%");
        assert_eq!(like_pattern("ab", true), "%ab%");
        assert_eq!(like_pattern("", false), "%");
    }

    #[test]
    fn arrays_quote_every_element() {
        assert_eq!(
            array_literal(&["a", "b\"c", "d\\e"]),
            "{\"a\",\"b\\\"c\",\"d\\\\e\"}"
        );
    }

    #[test]
    fn unmapped_parameters_get_defaults_by_type() {
        assert_eq!(default_for("bigint"), Some("'10'"));
        assert_eq!(default_for("character varying(20)"), Some("'optidb'"));
        assert_eq!(default_for("numeric(10,2)"), Some("'10'"));
        assert_eq!(default_for("timestamp with time zone"), Some("now()"));
        assert_eq!(default_for("integer[]"), Some("'{}'"));
        assert_eq!(default_for("mood"), None);
    }

    #[test]
    fn the_draw_picks_rows_by_hash_and_windows_from_the_column_order() {
        assert_eq!(
            draw_sql(
                "\"public\".\"orders\"",
                &["\"created_at\""],
                &["\"created_at\""],
                7,
                5
            ),
            "/* optidb */ SELECT v0::text, u0::text FROM (SELECT \"created_at\" AS v0, lead(\"created_at\", 7) OVER (ORDER BY \"created_at\") AS u0, hashtext(ctid::text) AS pick FROM \"public\".\"orders\") AS s WHERE v0 IS NOT NULL AND u0 IS NOT NULL ORDER BY pick LIMIT 5"
        );
    }
}
