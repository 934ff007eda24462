//! OPT009 leading-wildcard-like: `LIKE '%…'` / `ILIKE` on a large table
//! that no trigram index serves, so every call reads the whole table.

use optidb_model::facts::ColumnExpr;
use optidb_model::{Evidence, Finding, IndexKeySpec, Severity, Table};

use super::column_uses::{ColumnUse, gin_index_finding, record};
use crate::context::key_matches;
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT009",
    name: "leading-wildcard-like",
    default_severity: Severity::Warning,
    summary: "LIKE/ILIKE with a leading wildcard on a large table that no trigram index serves.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

`column LIKE '%…'` or `column ILIKE …` on a large table where the pattern
starts with a wildcard (or is a parameter, which may), and no trigram index
(`pg_trgm`) serves the column: every call reads the whole table.

## Why it matters

A btree index serves only patterns with a fixed prefix (`'abc%'`, and for
`ILIKE` not even those). A leading `%` leaves the planner a sequential scan
that compares every row's text, on every call; the time grows with the
table. A GIN index with the `gin_trgm_ops` operator class indexes the
trigrams of the text and finds the rows containing a substring, case
sensitive or not, in a few pages.

## How it is detected

For each statement taking at least `min_time_share` of the workload's time
(together with the other statements searching the same column), each
non-negated `LIKE`/`ILIKE` on a table of at least `large_table_rows` rows:

- the pattern starts with `%` or `_` when it is written in the statement; a
  pattern that is a parameter, which is all `pg_stat_statements` shows, may
  or may not: the finding then says so and carries `pattern_known = 0` (a
  known pattern with a fixed prefix is a btree matter, for other rules);
- no valid GIN or GiST index has the column (or the expression, such as
  `lower(name)`) as a key with the `gin_trgm_ops` or `gist_trgm_ops`
  operator class;
- the statement's plan, when there is one, reads the table with a
  sequential scan (a statement that reaches the table through another
  index is left alone).

Statements searching the same column make one finding, critical when their
time share together reaches `critical_time_share`.

The fix is a GIN trigram index. `pg_trgm` must be installed in the database
first: the recommendation adds `CREATE EXTENSION pg_trgm` when the
snapshot's extensions lack it. HypoPG cannot cost GIN indexes, so the
recommendation is proven on a sandbox copy, not with a hypothetical index.

## Example

```sql
SELECT id, name, price FROM products WHERE description ILIKE $1;  -- '%navy wool%'
```

Fix:

```sql
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX CONCURRENTLY ON products USING gin (description gin_trgm_ops);
```

(Or full text search, `to_tsvector(…) @@ plainto_tsquery(…)` with its own
GIN index, when the search is for words rather than substrings.)

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) or
the table (`ignore_tables`) in `optidb.toml`, raise `large_table_rows`, or
disable the rule (`disable = ["OPT009"]`).
"#;

/// What OPT009 remembers of the statements searching one column.
#[derive(Default)]
struct Search {
    /// Some statement's pattern is known to start with a wildcard.
    pattern_known: bool,
    case_sensitive: bool,
    case_insensitive: bool,
}

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let mut searches: Vec<ColumnUse<'_, Search>> = Vec::new();
    for (statement, facts) in context.statements() {
        for relation in facts.facts.tables() {
            let Some(table) = context.table_of(relation) else {
                continue;
            };
            if table.rows() < thresholds.large_table_rows {
                continue;
            }
            for like in &relation.columns.like {
                // `NOT LIKE` keeps most rows, which no index serves; a fixed
                // prefix is a btree's job.
                if like.negated || like.leading_wildcard == Some(false) {
                    continue;
                }
                // An expression optidb could not render is no index key.
                if like
                    .column
                    .expression
                    .as_deref()
                    .is_some_and(|e| e.contains('…'))
                {
                    continue;
                }
                if has_trigram_index(context, table, &like.column) {
                    continue;
                }
                let seq_scan = context.seq_scans(statement.queryid, table);
                if seq_scan == Some(false) {
                    continue;
                }
                let search =
                    &mut record(&mut searches, table, &like.column, statement, seq_scan).detail;
                search.pattern_known |= like.leading_wildcard == Some(true);
                search.case_insensitive |= like.case_insensitive;
                search.case_sensitive |= !like.case_insensitive;
            }
        }
    }
    searches
        .iter()
        .filter(|search| search.share(context) >= thresholds.min_time_share)
        .map(|search| report(context, search))
        .collect()
}

/// Whether a valid GIN or GiST trigram index has `column` as a key.
fn has_trigram_index(context: &Context, table: &Table, column: &ColumnExpr) -> bool {
    context.indexes_of(table).any(|index| {
        matches!(index.method.as_str(), "gin" | "gist")
            && index.keys.iter().any(|key| {
                key_matches(key, column)
                    && matches!(
                        key.opclass.as_deref(),
                        Some("gin_trgm_ops" | "gist_trgm_ops")
                    )
            })
    })
}

fn report(context: &Context, search: &ColumnUse<'_, Search>) -> Finding {
    let detail = &search.detail;
    let operator = match (detail.case_sensitive, detail.case_insensitive) {
        (true, true) => "LIKE/ILIKE",
        (false, true) => "ILIKE",
        _ => "LIKE",
    };
    let pattern = if detail.pattern_known {
        format!("{operator} with a leading wildcard")
    } else {
        // pg_stat_statements shows `$1`: the pattern may or may not start
        // with a wildcard, and the title must not claim more.
        format!("{operator} $n (pattern not visible, may start with %)")
    };
    let key = IndexKeySpec {
        column: search.column.column.clone(),
        expression: search.column.expression.clone(),
        opclass: Some("gin_trgm_ops".into()),
        descending: false,
    };
    let known = Evidence::new(
        "pattern_known",
        if detail.pattern_known { 1.0 } else { 0.0 },
        "flag",
    );
    gin_index_finding(
        &RULE,
        context,
        search,
        &pattern,
        "trigram index",
        key,
        vec![known],
    )
}

#[cfg(test)]
mod tests {
    use optidb_model::Fix;

    use super::*;
    use crate::testing::Scenario;

    const SEARCH: &str = "SELECT id, name, price\nFROM products\nWHERE description ILIKE $1";

    fn shop() -> Scenario {
        Scenario::new()
            .table(
                "products",
                12_500,
                &[("id", -1.0), ("name", -1.0), ("description", -0.9)],
            )
            .index("products", "products_pkey", &["id"], 100)
    }

    fn trigram(scenario: Scenario, method: &str, opclass: &str) -> Scenario {
        scenario
            .index("products", "products_description_trgm", &["description"], 0)
            .index_with("products_description_trgm", |index| {
                index.method = method.into();
                index.keys[0].opclass = Some(opclass.into());
            })
    }

    #[test]
    fn fires_on_a_parameter_pattern_with_lower_confidence() {
        let findings = shop()
            .statement(1, SEARCH, 20, 257.0)
            .other_time(2_500.0)
            .seq_scan_plan(1, "products", "(description ~~* $1)")
            .check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.evidence("pattern_known"), Some(0.0));
        assert_eq!(finding.evidence("plan_seq_scan"), Some(1.0));
        let Fix::CreateIndex(spec) = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert_eq!(spec.method, "gin");
        assert_eq!(spec.keys[0].opclass.as_deref(), Some("gin_trgm_ops"));
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn a_written_leading_wildcard_is_known() {
        let findings = shop()
            .statement(
                1,
                "SELECT id FROM products WHERE name LIKE '%' || $1",
                20,
                257.0,
            )
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].evidence("pattern_known"), Some(1.0));
        assert!(
            findings[0]
                .title
                .starts_with("products.name LIKE with a leading wildcard"),
            "{}",
            findings[0].title
        );
        assert_eq!(findings[0].severity, Severity::Critical);
    }

    #[test]
    fn a_trigram_index_serves_it() {
        let gin = trigram(shop(), "gin", "gin_trgm_ops").statement(1, SEARCH, 20, 257.0);
        assert!(gin.check(&RULE).is_empty());
        let gist = trigram(shop(), "gist", "gist_trgm_ops").statement(1, SEARCH, 20, 257.0);
        assert!(gist.check(&RULE).is_empty());
        // A btree on the column serves no leading wildcard.
        let btree = shop()
            .index("products", "products_description", &["description"], 0)
            .statement(1, SEARCH, 20, 257.0);
        assert_eq!(btree.check(&RULE).len(), 1);
    }

    #[test]
    fn prefixes_negations_small_tables_and_other_access_paths_are_left_alone() {
        let prefix = shop().statement(
            1,
            "SELECT id FROM products WHERE name LIKE 'navy%'",
            20,
            257.0,
        );
        assert!(prefix.check(&RULE).is_empty());
        let negated = shop().statement(
            1,
            "SELECT id FROM products WHERE name NOT LIKE $1",
            20,
            257.0,
        );
        assert!(negated.check(&RULE).is_empty());
        let small = Scenario::new()
            .table("products", 2_000, &[("description", -1.0)])
            .statement(1, SEARCH, 20, 257.0);
        assert!(small.check(&RULE).is_empty());
        let by_id = r#"[{"Plan": {"Node Type": "Index Scan", "Relation Name": "products", "Alias": "products",
            "Index Name": "products_pkey", "Startup Cost": 0.29, "Total Cost": 8.3, "Plan Rows": 1,
            "Plan Width": 8, "Index Cond": "(id = $1)", "Filter": "(description ~~* $2)"}}]"#;
        let indexed = shop()
            .statement(
                1,
                "SELECT id FROM products WHERE id = $1 AND description ILIKE $2",
                20,
                257.0,
            )
            .plan(1, by_id);
        assert!(indexed.check(&RULE).is_empty());
        let rare = shop().statement(1, SEARCH, 20, 1.0).other_time(10_000.0);
        assert!(rare.check(&RULE).is_empty());
    }

    #[test]
    fn statements_searching_one_column_make_one_finding() {
        let findings = shop()
            .statement(1, SEARCH, 20, 257.0)
            .statement(
                2,
                "SELECT count(*) FROM products WHERE description LIKE $1",
                10,
                100.0,
            )
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].statements, [1, 2]);
        assert!(
            findings[0].title.contains("LIKE/ILIKE"),
            "{}",
            findings[0].title
        );
    }
}
