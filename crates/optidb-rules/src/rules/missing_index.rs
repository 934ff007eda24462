//! OPT001 missing-index: selective predicates on a large table served by
//! no index; suggests the composite index that serves them (equality
//! columns first, then a range, then the sort).

use optidb_model::facts::{ColumnExpr, InValues, Operand, RangeOp, RelationFacts, StatementKind};
use optidb_model::{
    Evidence, Finding, Fix, Index, IndexKeySpec, IndexSpec, Severity, Statement, Table,
};

use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT001",
    name: "missing-index",
    default_severity: Severity::Warning,
    summary: "Selective predicates on a large table that no index serves.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A statement filters a large table with predicates that keep few of its rows
(`email = $1`, `user_id = $1 AND status = $2`, `lower(email) = $1`,
`created_at >= $1 AND created_at < $2`), and no index serves them: the table
is read whole, or through an index that narrows it far less.

## Why it matters

A sequential scan reads every page of the table on every call; an index
lookup reads a handful. On a table of a million rows that is the difference
between tens of milliseconds and tens of microseconds, per call, times the
calls.

## How it is detected

For each statement taking at least `min_time_share` of the workload's time,
and each table it filters with at least `large_table_rows` rows:

- the equality and IN predicates comparing a column (or an expression such
  as `lower(email)`) to a parameter or constant, and the range predicates;
- their selectivity from `pg_stats` (one in `n_distinct` per equality,
  PostgreSQL's own defaults where statistics are missing): the rule fires
  only when the combination keeps at most `selective_fraction` of the rows;
- no valid btree index leads with those equality columns, and no existing
  index narrows the rows within ten times as well;
- the generic plan, when there is one, is the evidence: a sequential scan of
  the table raises the confidence.

The suggested index puts the equality columns first (most selective first),
then the most selective range column, then the `ORDER BY` columns of a
single-table query, so one index serves the filter and the sort.

## Example

```sql
SELECT id, status, total FROM orders WHERE user_id = $1 ORDER BY created_at DESC;
-- orders: 1,000,000 rows, 100,000 distinct user_id: keeps ~10 rows per call
```

Fix: `CREATE INDEX CONCURRENTLY ON orders (user_id, created_at);`

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) or
the table (`ignore_tables`) in `optidb.toml`, raise `large_table_rows` or
lower `selective_fraction`, or disable the rule (`disable = ["OPT001"]`).
"#;

/// PostgreSQL's default selectivity of one inequality (`DEFAULT_INEQ_SEL`).
const DEFAULT_INEQ_SEL: f64 = 1.0 / 3.0;
/// …and of a two-sided range or BETWEEN (`DEFAULT_RANGE_INEQ_SEL`).
const DEFAULT_RANGE_SEL: f64 = 0.005;
/// An existing index narrowing the rows within this factor of the ideal
/// index is good enough: another index would buy little.
const GOOD_ENOUGH_FACTOR: f64 = 10.0;

/// One column a predicate filters on, with how much it keeps.
struct Filter {
    column: ColumnExpr,
    selectivity: f64,
    describe: String,
}

fn check(context: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (statement, facts) in context.statements() {
        if !matches!(
            facts.facts.kind,
            StatementKind::Select | StatementKind::Update | StatementKind::Delete
        ) {
            continue;
        }
        let share = context.time_share(statement);
        if share < context.thresholds.min_time_share {
            continue;
        }
        let single_table = facts.facts.tables().count() == 1;
        for relation in facts.facts.tables() {
            if let Some(found) = check_relation(context, statement, relation, single_table, share) {
                findings.push(found);
            }
        }
    }
    findings
}

fn check_relation(
    context: &Context,
    statement: &Statement,
    relation: &RelationFacts,
    single_table: bool,
    share: f64,
) -> Option<Finding> {
    let table = context.table_of(relation)?;
    let rows = table.rows();
    if rows < context.thresholds.large_table_rows {
        return None;
    }
    let columns = &relation.columns;
    let mut equalities: Vec<Filter> = Vec::new();
    for equality in &columns.equality {
        if matches!(equality.value, Operand::Param | Operand::Constant) {
            push_unique(
                &mut equalities,
                equality_filter(context, table, &equality.column, 1.0, "="),
            );
        }
    }
    for in_list in columns.in_list.iter().filter(|in_list| !in_list.negated) {
        let values = match in_list.values {
            InValues::List(n) => f64::from(n.max(1)),
            InValues::Array => 10.0,
            InValues::Subquery => continue,
        };
        push_unique(
            &mut equalities,
            equality_filter(context, table, &in_list.column, values, "IN"),
        );
    }
    let mut ranges: Vec<Filter> = Vec::new();
    for range in columns
        .range
        .iter()
        .filter(|range| matches!(range.value, Operand::Param | Operand::Constant))
    {
        let bounded = range.op == RangeOp::Between
            || columns
                .range
                .iter()
                .filter(|r| r.column == range.column)
                .count()
                >= 2;
        let selectivity = if bounded {
            DEFAULT_RANGE_SEL
        } else {
            DEFAULT_INEQ_SEL
        };
        if !equalities
            .iter()
            .any(|filter| filter.column == range.column)
        {
            push_unique(
                &mut ranges,
                Filter {
                    column: range.column.clone(),
                    selectivity,
                    describe: format!("range on {}", display(&range.column)),
                },
            );
        }
    }
    if equalities.is_empty() && ranges.is_empty() {
        return None;
    }
    equalities.sort_by(|a, b| a.selectivity.total_cmp(&b.selectivity));
    ranges.sort_by(|a, b| a.selectivity.total_cmp(&b.selectivity));
    let range = ranges.first();
    let selectivity = equalities.iter().map(|f| f.selectivity).product::<f64>()
        * range.map_or(1.0, |range| range.selectivity);
    if selectivity > context.thresholds.selective_fraction {
        return None;
    }

    // Already served: an index leading with the equality columns (or, with
    // none, with the range column), or one that narrows nearly as well.
    let leading: Vec<ColumnExpr> = if equalities.is_empty() {
        range
            .map(|range| vec![range.column.clone()])
            .unwrap_or_default()
    } else {
        equalities
            .iter()
            .map(|filter| filter.column.clone())
            .collect()
    };
    if context.index_leading_with(table, &leading).is_some() {
        return None;
    }
    let (best_existing, weak_index) = best_existing_index(context, table, &equalities, range);
    if best_existing <= selectivity * GOOD_ENOUGH_FACTOR {
        return None;
    }

    let mut keys: Vec<IndexKeySpec> = equalities.iter().map(|f| key(&f.column, false)).collect();
    if let Some(range) = range {
        keys.push(key(&range.column, false));
    } else if single_table {
        for order in &columns.order_by {
            if order.column.expression.is_none()
                && !keys.iter().any(|k| k.column == order.column.column)
            {
                keys.push(key(&order.column, false));
            }
        }
    }
    let seq_scan = context.seq_scans(statement.queryid, table);
    let rows_per_call = (rows * selectivity).max(1.0);
    let described: Vec<&str> = equalities
        .iter()
        .chain(range)
        .map(|filter| filter.describe.as_str())
        .collect();
    let how = match seq_scan {
        Some(true) => "served by a sequential scan",
        Some(false) => "served by no index that narrows it",
        None => "served by no index",
    };
    let mut found = finding(
        &RULE,
        context.severity_for_share(share, Severity::Warning),
        format!(
            "{}: {} keeps ~{} of {} rows but is {how} ({} calls, {} of all time)",
            table.name,
            described.join(" and "),
            thousands(rows_per_call),
            thousands(rows),
            thousands(statement.calls as f64),
            percent(share),
        ),
        Fix::CreateIndex(IndexSpec {
            schema: table.schema.clone(),
            table: table.name.clone(),
            method: "btree".into(),
            keys,
            include: Vec::new(),
            predicate: None,
        }),
    );
    found.statements = vec![statement.queryid];
    found.tables = vec![table.qualified_name()];
    // An existing index that narrows the rows, but far too little.
    found.indexes = weak_index
        .map(|index| vec![format!("{}.{}", index.schema, index.name)])
        .unwrap_or_default();
    found.evidence = vec![
        Evidence::new("table_rows", rows, "rows"),
        Evidence::new("best_existing_index_selectivity", best_existing, "ratio"),
        Evidence::new("selectivity", selectivity, "ratio"),
        Evidence::new("rows_per_call", rows_per_call, "rows"),
        Evidence::new("calls", statement.calls as f64, "calls"),
        Evidence::new("total_exec_time_ms", statement.total_exec_time_ms, "ms"),
        Evidence::new("time_share", share, "ratio"),
        Evidence::new(
            "plan_seq_scan",
            match seq_scan {
                Some(true) => 1.0,
                Some(false) => 0.0,
                None => -1.0,
            },
            "flag",
        ),
        Evidence::new(
            "stats_known",
            if equalities
                .iter()
                .all(|f| has_stats(context, table, &f.column))
            {
                1.0
            } else {
                0.0
            },
            "flag",
        ),
    ];
    Some(found)
}

/// An equality (or IN with `values` values) on `column`.
fn equality_filter(
    context: &Context,
    table: &Table,
    column: &ColumnExpr,
    values: f64,
    operator: &str,
) -> Filter {
    // An expression (`lower(email)`) has no statistics of its own without
    // an index on it: take it to be as selective as its column.
    let selectivity = context.equality_selectivity(table, &column.column);
    Filter {
        column: column.clone(),
        selectivity: (selectivity * values).min(1.0),
        describe: format!("`{} {operator} $n`", display(column)),
    }
}

/// How far the best existing btree index narrows the rows (the product of
/// the selectivities of its leading keys that the statement filters on),
/// and that index when it narrows them at all.
fn best_existing_index<'a>(
    context: &Context<'a>,
    table: &'a Table,
    equalities: &[Filter],
    range: Option<&Filter>,
) -> (f64, Option<&'a Index>) {
    context
        .indexes_of(table)
        .filter(|index| index.method == "btree" && index.predicate.is_none())
        .map(|index| {
            let mut selectivity = 1.0;
            for key in &index.keys {
                if let Some(filter) = equalities
                    .iter()
                    .find(|filter| crate::context::key_matches(key, &filter.column))
                {
                    selectivity *= filter.selectivity;
                    continue;
                }
                if let Some(range) =
                    range.filter(|range| crate::context::key_matches(key, &range.column))
                {
                    selectivity *= range.selectivity;
                }
                break;
            }
            (selectivity, index)
        })
        .filter(|(selectivity, _)| *selectivity < 1.0)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or((1.0, None), |(selectivity, index)| {
            (selectivity, Some(index))
        })
}

fn has_stats(context: &Context, table: &Table, column: &ColumnExpr) -> bool {
    context.column_stats(table, &column.column).is_some()
}

fn push_unique(filters: &mut Vec<Filter>, filter: Filter) {
    if !filters
        .iter()
        .any(|existing| existing.column == filter.column)
    {
        filters.push(filter);
    }
}

fn key(column: &ColumnExpr, descending: bool) -> IndexKeySpec {
    IndexKeySpec {
        column: column.column.clone(),
        expression: column.expression.clone(),
        opclass: None,
        descending,
    }
}

fn display(column: &ColumnExpr) -> String {
    column
        .expression
        .clone()
        .unwrap_or_else(|| column.column.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    fn orders() -> Scenario {
        Scenario::new()
            .table(
                "orders",
                1_000_000,
                &[
                    ("id", -1.0),
                    ("user_id", 100_000.0),
                    ("status", 4.0),
                    ("created_at", -1.0),
                ],
            )
            .index("orders", "orders_pkey", &["id"], 100)
    }

    fn keys(finding: &Finding) -> Vec<String> {
        match &finding.fix {
            Fix::CreateIndex(spec) => spec.key_list(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_selective_equality_on_a_large_table_wants_an_index_with_the_sort() {
        let scenario = orders()
            .statement(
                1,
                "SELECT id, status FROM orders WHERE user_id = $1 ORDER BY created_at DESC",
                4_000,
                8_000.0,
            )
            .seq_scan_plan(1, "orders", "(user_id = $1)");
        let findings = scenario.check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(keys(&findings[0]), ["user_id", "created_at"]);
        assert_eq!(
            findings[0].severity,
            Severity::Critical,
            "all the time is here"
        );
        assert_eq!(findings[0].evidence("plan_seq_scan"), Some(1.0));
        insta::assert_json_snapshot!(findings[0]);
    }

    #[test]
    fn equality_columns_come_first_most_selective_first_then_the_range() {
        let scenario = orders().statement(
            1,
            "SELECT id FROM orders WHERE status = $1 AND created_at > $2 AND user_id = $3",
            100,
            500.0,
        );
        let findings = scenario.check(&RULE);
        assert_eq!(keys(&findings[0]), ["user_id", "status", "created_at"]);
    }

    #[test]
    fn a_function_on_the_column_wants_an_expression_index() {
        let scenario = Scenario::new()
            .table("users", 50_000, &[("id", -1.0), ("email", -1.0)])
            .statement(
                1,
                "SELECT id FROM users WHERE lower(email) = $1",
                100,
                100.0,
            );
        let findings = scenario.check(&RULE);
        assert_eq!(keys(&findings[0]), ["lower(email)"]);
    }

    #[test]
    fn an_existing_index_leading_with_the_columns_silences_it() {
        let covered = orders()
            .index("orders", "orders_user_id_idx", &["user_id"], 5)
            .statement(1, "SELECT id FROM orders WHERE user_id = $1", 100, 100.0);
        assert!(covered.check(&RULE).is_empty());
    }

    #[test]
    fn unselective_predicates_and_small_tables_are_left_alone() {
        let unselective =
            orders().statement(1, "SELECT id FROM orders WHERE status = $1", 100, 100.0);
        assert!(unselective.check(&RULE).is_empty(), "a quarter of the rows");
        let small = Scenario::new()
            .table("countries", 200, &[("code", -1.0)])
            .statement(1, "SELECT * FROM countries WHERE code = $1", 10_000, 100.0);
        assert!(small.check(&RULE).is_empty());
    }

    #[test]
    fn a_rarely_run_statement_is_not_worth_an_index() {
        let rare = orders()
            .statement(1, "SELECT id FROM orders WHERE user_id = $1", 2, 1.0)
            .other_time(10_000.0);
        assert!(rare.check(&RULE).is_empty());
    }

    #[test]
    fn a_weak_existing_index_does_not_stop_a_composite() {
        let scenario = Scenario::new()
            .table(
                "support_tickets",
                150_000,
                &[("id", -1.0), ("user_id", 25_000.0), ("status", 4.0)],
            )
            .index(
                "support_tickets",
                "support_tickets_status_idx",
                &["status"],
                120,
            )
            .statement(
                1,
                "SELECT id FROM support_tickets WHERE user_id = $1 AND status = $2",
                160,
                300.0,
            );
        let findings = scenario.check(&RULE);
        assert_eq!(keys(&findings[0]), ["user_id", "status"]);
        assert_eq!(
            findings[0].indexes,
            ["public.support_tickets_status_idx"],
            "the weak index is named"
        );
    }
}
