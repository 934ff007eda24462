//! OPT010 jsonb-without-gin: JSONB containment or existence operators on a
//! large table's column that no GIN index serves.

use std::collections::BTreeSet;

use optidb_model::facts::{ColumnExpr, JsonbOp};
use optidb_model::{Finding, Index, IndexKeySpec, Severity, Table};

use super::column_uses::{ColumnUse, gin_index_finding, record};
use crate::context::key_matches;
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT010",
    name: "jsonb-without-gin",
    default_severity: Severity::Warning,
    summary: "JSONB containment or key-existence operators on a large table without a GIN index.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A statement filters a large table with a JSONB operator a GIN index serves,
`@>` (contains), `?`, `?|`, `?&` (key exists), `@?` or `@@` (JSON path), on a
`jsonb` column that no GIN index covers for that operator.

## Why it matters

No btree serves these operators: without a GIN index the planner reads every
row and evaluates the JSON document of each, on every call. A GIN index on
the column finds the matching rows from the keys and values they contain.

Field comparisons (`payload ->> 'type' = $1`) are not this rule's: they need
a btree on the expression, which the missing-index rule suggests.

## How it is detected

For each statement taking at least `min_time_share` of the workload's time
(together with the other statements filtering the same column), each of
those operators on a column of a table with at least `large_table_rows`
rows:

- the column's type is `jsonb` in the catalog (`@>` and `@@` also apply to
  arrays, ranges and full text search, which the text cannot tell apart);
- no valid GIN index has the column as a key with an operator class that
  supports every operator used: the default `jsonb_ops` supports them all,
  `jsonb_path_ops` only `@>`, `@?` and `@@`;
- the statement's plan, when there is one, reads the table with a
  sequential scan.

The suggested index uses `jsonb_path_ops` when only `@>`, `@?` and `@@` are
used on the column (a smaller, faster index), and the default `jsonb_ops`
when a key-existence operator is. HypoPG cannot cost GIN indexes: the
recommendation is proven on a sandbox copy instead.

## Example

```sql
SELECT count(*) FROM events WHERE payload @> $1;  -- '{"type": "purchase"}'
```

Fix: `CREATE INDEX CONCURRENTLY ON events USING gin (payload jsonb_path_ops);`

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) or
the table (`ignore_tables`) in `optidb.toml`, raise `large_table_rows`, or
disable the rule (`disable = ["OPT010"]`).
"#;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    // Per column: the operators used on it.
    let mut filters: Vec<ColumnUse<'_, BTreeSet<JsonbOp>>> = Vec::new();
    for (statement, facts) in context.statements() {
        for relation in facts.facts.tables() {
            let Some(table) = context.table_of(relation) else {
                continue;
            };
            if table.rows() < thresholds.large_table_rows {
                continue;
            }
            // The operators this statement applies to each column.
            let mut by_column: Vec<(&ColumnExpr, BTreeSet<JsonbOp>)> = Vec::new();
            for predicate in &relation.columns.jsonb {
                if !gin_operator(predicate.op)
                    || !indexable(&predicate.column)
                    || !is_jsonb(table, &predicate.column)
                {
                    continue;
                }
                match by_column
                    .iter_mut()
                    .find(|(column, _)| **column == predicate.column)
                {
                    Some((_, ops)) => {
                        ops.insert(predicate.op);
                    }
                    None => by_column.push((&predicate.column, BTreeSet::from([predicate.op]))),
                }
            }
            for (column, ops) in by_column {
                if context
                    .indexes_of(table)
                    .any(|index| serves(index, column, &ops))
                {
                    continue;
                }
                let seq_scan = context.seq_scans(statement.queryid, table);
                if seq_scan == Some(false) {
                    continue;
                }
                let filter = record(&mut filters, table, column, statement, seq_scan);
                filter.detail.extend(ops);
            }
        }
    }
    filters
        .iter()
        .filter(|filter| filter.share(context) >= thresholds.min_time_share)
        .map(|filter| report(context, filter))
        .collect()
}

/// The operators a GIN index on a `jsonb` column serves (`<@` it does not;
/// `->>` comparisons want a btree on the expression).
fn gin_operator(op: JsonbOp) -> bool {
    matches!(
        op,
        JsonbOp::Contains
            | JsonbOp::KeyExists
            | JsonbOp::AnyKeyExists
            | JsonbOp::AllKeysExist
            | JsonbOp::PathExists
            | JsonbOp::PathMatch
    )
}

/// The operators `jsonb_path_ops` supports.
fn path_ops_serve(op: JsonbOp) -> bool {
    matches!(
        op,
        JsonbOp::Contains | JsonbOp::PathExists | JsonbOp::PathMatch
    )
}

/// Whether the column side can be an index key: a bare column, or an
/// expression without parameters (`payload -> $2` changes with every call)
/// and with nothing optidb could not render.
fn indexable(column: &ColumnExpr) -> bool {
    column
        .expression
        .as_deref()
        .is_none_or(|expression| !expression.contains('$') && !expression.contains('…'))
}

/// Whether the column is `jsonb`. An expression over it (`payload -> 'a'`)
/// counts when the column is. A table the catalog lists without columns
/// cannot tell, and counts; a column the table does not have means the
/// text's relation was not this table.
fn is_jsonb(table: &Table, column: &ColumnExpr) -> bool {
    if table.columns.is_empty() {
        return true;
    }
    table
        .column(&column.column)
        .is_some_and(|c| c.data_type == "jsonb")
}

/// Whether `index` is a valid GIN index with `column` as a key whose
/// operator class supports every one of `ops`. A partial index may not
/// cover the statement; the plan check decides for those.
fn serves(index: &Index, column: &ColumnExpr, ops: &BTreeSet<JsonbOp>) -> bool {
    index.method == "gin"
        && index.predicate.is_none()
        && index.keys.iter().any(|key| {
            key_matches(key, column)
                && match key.opclass.as_deref() {
                    None | Some("jsonb_ops") => true,
                    Some("jsonb_path_ops") => ops.iter().all(|op| path_ops_serve(*op)),
                    Some(_) => false,
                }
        })
}

fn op_text(op: JsonbOp) -> &'static str {
    match op {
        JsonbOp::Contains => "@>",
        JsonbOp::ContainedBy => "<@",
        JsonbOp::KeyExists => "?",
        JsonbOp::AnyKeyExists => "?|",
        JsonbOp::AllKeysExist => "?&",
        JsonbOp::PathExists => "@?",
        JsonbOp::PathMatch => "@@",
        JsonbOp::Field => "->>",
    }
}

fn report(context: &Context, filter: &ColumnUse<'_, BTreeSet<JsonbOp>>) -> Finding {
    let ops: Vec<&str> = filter.detail.iter().map(|op| op_text(*op)).collect();
    let path_ops = filter.detail.iter().all(|op| path_ops_serve(*op));
    let key = IndexKeySpec {
        column: filter.column.column.clone(),
        expression: filter.column.expression.clone(),
        // The default jsonb_ops is left implicit, as the catalog shows it.
        opclass: path_ops.then(|| "jsonb_path_ops".to_string()),
        descending: false,
    };
    gin_index_finding(
        &RULE,
        context,
        filter,
        &ops.join(", "),
        "GIN index",
        key,
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use optidb_model::Fix;

    use super::*;
    use crate::testing::Scenario;

    const BY_PAYLOAD: &str = "SELECT count(*)\nFROM events\nWHERE payload @> $1";

    fn events() -> Scenario {
        Scenario::new()
            .table(
                "events",
                75_000,
                &[("id", -1.0), ("user_id", 20_000.0), ("payload", -0.5)],
            )
            .table_with("events", |table| {
                if let Some(column) = table.columns.iter_mut().find(|c| c.name == "payload") {
                    column.data_type = "jsonb".into();
                }
            })
            .index("events", "events_pkey", &["id"], 0)
    }

    fn gin(scenario: Scenario, opclass: Option<&str>) -> Scenario {
        scenario
            .index("events", "events_payload_gin", &["payload"], 0)
            .index_with("events_payload_gin", |index| {
                index.method = "gin".into();
                index.keys[0].opclass = opclass.map(str::to_string);
            })
    }

    #[test]
    fn fires_on_containment_without_a_gin_index() {
        let findings = events()
            .statement(1, BY_PAYLOAD, 20, 314.0)
            .other_time(2_500.0)
            .seq_scan_plan(1, "events", "(payload @> $1)")
            .check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.events"]);
        let Fix::CreateIndex(spec) = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert_eq!(spec.method, "gin");
        assert_eq!(spec.keys[0].opclass.as_deref(), Some("jsonb_path_ops"));
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn key_existence_wants_the_default_operator_class() {
        let findings = events()
            .statement(1, BY_PAYLOAD, 20, 314.0)
            .statement(2, "SELECT id FROM events WHERE payload ? $1", 20, 100.0)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].statements, [1, 2]);
        let Fix::CreateIndex(spec) = &findings[0].fix else {
            panic!()
        };
        assert_eq!(spec.keys[0].opclass, None);
        assert!(findings[0].title.contains("@>, ?"), "{}", findings[0].title);
    }

    #[test]
    fn a_gin_index_with_a_fitting_operator_class_serves_it() {
        assert!(
            gin(events(), None)
                .statement(1, BY_PAYLOAD, 20, 314.0)
                .check(&RULE)
                .is_empty()
        );
        let path_ops = gin(events(), Some("jsonb_path_ops"));
        assert!(
            path_ops
                .statement(1, BY_PAYLOAD, 20, 314.0)
                .check(&RULE)
                .is_empty()
        );
        // jsonb_path_ops has no key-existence operators.
        let exists = gin(events(), Some("jsonb_path_ops")).statement(
            1,
            "SELECT id FROM events WHERE payload ?| $1",
            20,
            314.0,
        );
        assert_eq!(exists.check(&RULE).len(), 1);
    }

    #[test]
    fn other_types_field_comparisons_and_small_tables_are_left_alone() {
        let array = events()
            .table_with("events", |table| {
                if let Some(column) = table.columns.iter_mut().find(|c| c.name == "payload") {
                    column.data_type = "text[]".into();
                }
            })
            .statement(1, BY_PAYLOAD, 20, 314.0);
        assert!(array.check(&RULE).is_empty());
        let field = events().statement(
            1,
            "SELECT id FROM events WHERE payload ->> 'type' = $1",
            20,
            314.0,
        );
        assert!(field.check(&RULE).is_empty());
        let small = events()
            .table_with("events", |table| {
                table.reltuples = 500.0;
                table.activity.live_tuples = 500;
            })
            .statement(1, BY_PAYLOAD, 20, 314.0);
        assert!(small.check(&RULE).is_empty());
        let by_user = r#"[{"Plan": {"Node Type": "Index Scan", "Relation Name": "events", "Alias": "events",
            "Index Name": "events_user_id", "Startup Cost": 0.29, "Total Cost": 8.3, "Plan Rows": 1,
            "Plan Width": 8, "Index Cond": "(user_id = $1)", "Filter": "(payload @> $2)"}}]"#;
        let indexed = events()
            .statement(
                1,
                "SELECT id FROM events WHERE user_id = $1 AND payload @> $2",
                20,
                314.0,
            )
            .plan(1, by_user);
        assert!(indexed.check(&RULE).is_empty());
    }
}
