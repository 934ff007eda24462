//! OPT002 unindexed-join: a join whose large inner side has no index on the
//! join column, so each lookup from a few outer rows reads the whole table.

use optidb_model::facts::{Operand, RelationFacts, RelationKind, StatementFacts};
use optidb_model::{Evidence, Finding, Fix, IndexKeySpec, IndexSpec, Severity};

use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT002",
    name: "unindexed-join",
    default_severity: Severity::Warning,
    summary: "A join reaches a large table through a column no index leads with.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A statement joins a few rows (its other side is filtered by an equality on a
parameter) to a large table on a column that no index leads with, and the
plan reads that table whole.

## Why it matters

With an index on the join column the planner can fetch just the matching
rows for each outer row (a nested loop with an index scan). Without one it
must hash or scan the entire table on every call, however few rows the
other side contributes.

## How it is detected

For each join column pair of a statement taking at least `min_time_share` of
the workload's time: one side is a table of at least `large_table_rows` rows
whose join column leads no valid btree index; the other side of the join is
filtered by an equality or IN on a parameter or constant (so it brings few
rows); and the generic plan scans the large table sequentially.

## Example

```sql
SELECT o.id, i.product_id
  FROM orders o JOIN order_items i ON i.order_id = o.id
 WHERE o.user_id = $1;
-- order_items has no index leading with order_id: each call reads all of it
```

Fix: `CREATE INDEX CONCURRENTLY ON order_items (order_id);`

## How to silence

Ignore the statement or the table in `optidb.toml`, or disable the rule
(`disable = ["OPT002"]`).
"#;

fn check(context: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (statement, facts) in context.statements() {
        let share = context.time_share(statement);
        if share < context.thresholds.min_time_share {
            continue;
        }
        for pair in &facts.facts.joins {
            for (inner, outer) in [(&pair.left, &pair.right), (&pair.right, &pair.left)] {
                let (Some(inner_relation), Some(outer_relation)) = (
                    relation(facts, inner.relation),
                    relation(facts, outer.relation),
                ) else {
                    continue;
                };
                if inner.column.expression.is_some() || !filtered_to_few_rows(outer_relation) {
                    continue;
                }
                let Some(table) = context.table_of(inner_relation) else {
                    continue;
                };
                let rows = table.rows();
                if rows < context.thresholds.large_table_rows
                    || context
                        .index_leading_with(table, std::slice::from_ref(&inner.column))
                        .is_some()
                    || context.seq_scans(statement.queryid, table) != Some(true)
                {
                    continue;
                }
                let column = &inner.column.column;
                let mut found = finding(
                    &RULE,
                    context.severity_for_share(share, Severity::Warning),
                    format!(
                        "{} is joined on {column}, which no index leads with: each call reads its {} rows ({} calls, {} of all time)",
                        table.name,
                        thousands(rows),
                        thousands(statement.calls as f64),
                        percent(share)
                    ),
                    Fix::CreateIndex(IndexSpec {
                        schema: table.schema.clone(),
                        table: table.name.clone(),
                        method: "btree".into(),
                        keys: vec![IndexKeySpec::column(column)],
                        include: Vec::new(),
                        predicate: None,
                    }),
                );
                found.statements = vec![statement.queryid];
                found.tables = vec![table.qualified_name()];
                found.evidence = vec![
                    Evidence::new("table_rows", rows, "rows"),
                    Evidence::new("calls", statement.calls as f64, "calls"),
                    Evidence::new("total_exec_time_ms", statement.total_exec_time_ms, "ms"),
                    Evidence::new("time_share", share, "ratio"),
                    Evidence::new("plan_seq_scan", 1.0, "flag"),
                ];
                if !findings
                    .iter()
                    .any(|f: &Finding| f.fix == found.fix && f.statements == found.statements)
                {
                    findings.push(found);
                }
            }
        }
    }
    findings
}

fn relation(facts: &StatementFacts, id: Option<u32>) -> Option<&RelationFacts> {
    facts
        .facts
        .relations
        .get(usize::try_from(id?).ok()?)
        .filter(|relation| relation.kind == RelationKind::Table)
}

/// Whether a relation is narrowed by an equality or IN on a value, so the
/// join starts from few rows.
fn filtered_to_few_rows(relation: &RelationFacts) -> bool {
    relation
        .columns
        .equality
        .iter()
        .any(|equality| matches!(equality.value, Operand::Param | Operand::Constant))
        || !relation.columns.in_list.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    const JOIN: &str = "SELECT o.id, i.product_id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.user_id = $1";

    fn shop() -> Scenario {
        Scenario::new()
            .table("orders", 100_000, &[("id", -1.0), ("user_id", 10_000.0)])
            .table("order_items", 300_000, &[("id", -1.0), ("order_id", 100_000.0)])
            .index("orders", "orders_user_id_idx", &["user_id"], 50)
            .statement(1, JOIN, 500, 9_000.0)
            .plan(
                1,
                r#"[{"Plan": {"Node Type": "Hash Join", "Startup Cost": 10, "Total Cost": 9000, "Plan Rows": 30, "Plan Width": 16,
                    "Plans": [
                      {"Node Type": "Seq Scan", "Relation Name": "order_items", "Alias": "i", "Startup Cost": 0, "Total Cost": 5000, "Plan Rows": 300000, "Plan Width": 16},
                      {"Node Type": "Hash", "Startup Cost": 5, "Total Cost": 5, "Plan Rows": 10, "Plan Width": 8,
                       "Plans": [{"Node Type": "Index Scan", "Relation Name": "orders", "Alias": "o", "Index Name": "orders_user_id_idx",
                                  "Startup Cost": 0.3, "Total Cost": 5, "Plan Rows": 10, "Plan Width": 8, "Index Cond": "(user_id = $1)"}]}]}}]"#,
            )
    }

    #[test]
    fn a_filtered_join_into_a_scanned_table_wants_an_index_on_the_join_column() {
        let findings = shop().check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let Fix::CreateIndex(spec) = &findings[0].fix else {
            panic!()
        };
        assert_eq!(
            (spec.table.as_str(), spec.key_list()),
            ("order_items", vec!["order_id".to_string()])
        );
        insta::assert_snapshot!(findings[0].title);
    }

    #[test]
    fn an_index_on_the_join_column_or_an_unfiltered_join_is_fine() {
        assert!(
            shop()
                .index("order_items", "oi_order", &["order_id"], 10)
                .check(&RULE)
                .is_empty()
        );
        let report = Scenario::new()
            .table("orders", 100_000, &[("id", -1.0)])
            .table("order_items", 300_000, &[("order_id", 100_000.0)])
            .statement(
                1,
                "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id",
                10,
                900.0,
            )
            .seq_scan_plan(1, "order_items", "");
        assert!(
            report.check(&RULE).is_empty(),
            "a whole-table join is a hash join's job"
        );
    }
}
