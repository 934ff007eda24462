//! OPT016 planner-misestimate: an executed plan whose row estimate was far
//! from the rows the node actually produced.

use optidb_model::plan::{Plan, RowEstimate};
use optidb_model::{Evidence, Finding, Fix, Severity, Statement, Table};

use super::{finding, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT016",
    name: "planner-misestimate",
    default_severity: Severity::Warning,
    summary: "The planner's row estimate of a plan node was far from the rows it produced.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A statement's executed plan (`EXPLAIN ANALYZE` data) in which a node
returned far more or far fewer rows than the planner expected: the plan was
chosen for a different amount of data than it got.

## Why it matters

Every choice the planner makes (index or sequential scan, nested loop or
hash join, the join order, the memory a hash gets) follows from its row
estimates. Expecting 10 rows and getting 100,000 picks a nested loop that
runs 100,000 times, or a hash that spills; expecting too many passes over a
good index. Fixing the estimate fixes the plan without touching the query.

## How it is detected

Only for plans with actual row counts: an `EXPLAIN ANALYZE` of the statement.
Generic plans, which is what `optidb` reads from a live database by
default, carry no actual rows, so this rule is silent on them.

For each statement taking at least `min_time_share` of the workload's time,
the node whose estimate is furthest off, by a factor of at least
`misestimate_factor` either way (both sides counted from one row), among
nodes that handle at least `misestimate_min_rows` rows over all their
loops. On a tie the deeper node is reported: the estimate of a join is off
because its inputs' were.

- A node that reads a table (a scan, or an index scan named by its index)
  gets `ANALYZE` of that table: its statistics may be stale (see
  `rows_changed_since_analyze`) or too coarse. If a fresh ANALYZE does not
  fix the estimate, raise the column's statistics target (`ALTER TABLE …
  ALTER COLUMN … SET STATISTICS 1000`) for skewed data, or create extended
  statistics (`CREATE STATISTICS … (dependencies, ndistinct, mcv) ON a, b
  FROM t`) when the filter combines correlated columns, whose selectivities
  the planner otherwise multiplies as if independent.
- Any other node (a join, an aggregate) gets advice to investigate: the
  planner misjudged how its inputs combine.

## Example

```
Seq Scan on orders  (rows=12) (actual rows=48000 loops=1)
  Filter: ((status = 'open') AND (region = 'eu'))
```

Fix: `ANALYZE orders;` then, if the estimate stays off, `CREATE STATISTICS
orders_status_region (dependencies, mcv) ON status, region FROM orders;
ANALYZE orders;`

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) or
the table (`ignore_tables`) in `optidb.toml`, raise `misestimate_factor` or
`misestimate_min_rows`, or disable the rule (`disable = ["OPT016"]`).
"#;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    context
        .snapshot
        .statements
        .iter()
        .filter(|statement| context.time_share(statement) >= thresholds.min_time_share)
        .filter_map(|statement| {
            let plan = context
                .plan(statement.queryid)
                .filter(|plan| plan.is_analyzed())?;
            let worst = worst_estimate(context, plan)?;
            Some(report(context, statement, plan, &worst))
        })
        .collect()
}

/// The estimate furthest off among the nodes big enough to matter; the
/// deepest of equally bad ones (depth-first order puts it later).
fn worst_estimate<'p>(context: &Context, plan: &'p Plan) -> Option<RowEstimate<'p>> {
    let thresholds = context.thresholds;
    plan.row_estimates()
        .into_iter()
        .filter(|estimate| estimate.factor >= thresholds.misestimate_factor)
        .filter(|estimate| {
            let loops = estimate.node.actual_loops.unwrap_or(1).max(1) as f64;
            estimate.estimated.max(estimate.actual) * loops >= thresholds.misestimate_min_rows
        })
        .reduce(|worst, next| {
            if next.factor >= worst.factor {
                next
            } else {
                worst
            }
        })
}

/// The table a node reads: its relation, or the table of the index it scans.
fn table_read<'a>(context: &Context<'a>, estimate: &RowEstimate<'_>) -> Option<&'a Table> {
    let node = estimate.node;
    if let Some(name) = &node.relation_name {
        return context.table(node.schema.as_deref(), name);
    }
    let index_name = node.index_name.as_deref()?;
    let mut indexes = context
        .snapshot
        .catalog
        .indexes
        .iter()
        .filter(|index| index.name == index_name)
        .filter(|index| {
            node.schema
                .as_deref()
                .is_none_or(|schema| schema == index.schema)
        });
    // An index name is unique within a schema only: two schemas' namesakes
    // cannot be told apart without VERBOSE.
    let index = match (indexes.next(), indexes.next()) {
        (Some(only), None) => only,
        _ => return None,
    };
    context.table(Some(&index.schema), &index.table)
}

fn report(
    context: &Context,
    statement: &Statement,
    plan: &Plan,
    estimate: &RowEstimate<'_>,
) -> Finding {
    let node = estimate.node;
    let share = context.time_share(statement);
    let loops = node.actual_loops.unwrap_or(1);
    let direction = if estimate.is_underestimate() {
        "underestimate"
    } else {
        "overestimate"
    };
    let table = table_read(context, estimate);
    let per_loop = if loops > 1 {
        format!(" per loop ({} loops)", thousands(loops as f64))
    } else {
        String::new()
    };
    let subject = match table {
        Some(table) => format!("{}: {}", table.name, node.node_type),
        None => node.node_type.clone(),
    };
    let cause = if table.is_some() {
        "the table's statistics may be stale or too coarse"
    } else {
        "the planner misjudged how its inputs combine"
    };
    let title = format!(
        "{subject} expected {} rows, found {}{per_loop} ({}× {direction}): {cause}",
        thousands(estimate.estimated),
        thousands(estimate.actual),
        thousands(estimate.factor),
    );
    let fix = match table {
        Some(table) => Fix::Analyze {
            schema: table.schema.clone(),
            table: table.name.clone(),
        },
        None => Fix::Investigate {
            advice: format!(
                "The {} node's row estimate is {}× off although it reads no table itself: compare the estimates \
                 of its inputs. Columns that depend on each other make the planner multiply their selectivities \
                 as if independent: CREATE STATISTICS (dependencies, ndistinct, mcv) on them, then ANALYZE. \
                 Conditions it cannot see into (functions, expressions over several columns) need extended \
                 statistics or an index on the expression.",
                node.node_type,
                thousands(estimate.factor),
            ),
        },
    };
    let mut finding = finding(&RULE, Severity::Warning, title, fix);
    finding.statements = vec![statement.queryid];
    finding.tables = match table {
        Some(table) => vec![table.qualified_name()],
        // A join or an aggregate: every table of the plan is involved.
        None => plan
            .tables()
            .iter()
            .filter_map(|t| context.table(t.schema, t.name))
            .map(Table::qualified_name)
            .collect(),
    };
    finding.evidence = vec![
        Evidence::new("estimated_rows", estimate.estimated, "rows"),
        Evidence::new("actual_rows", estimate.actual, "rows"),
        Evidence::new("loops", loops as f64, "count"),
        Evidence::new("misestimate_factor", estimate.factor, "ratio"),
        Evidence::new("calls", statement.calls as f64, "calls"),
        Evidence::new("time_share", share, "ratio"),
    ];
    if let Some(table) = table {
        finding
            .evidence
            .push(Evidence::new("table_rows", table.rows(), "rows"));
        finding.evidence.push(Evidence::new(
            "rows_changed_since_analyze",
            table.activity.n_mod_since_analyze as f64,
            "rows",
        ));
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    const OPEN_EU: &str = "SELECT id FROM orders WHERE status = $1 AND region = $2";

    fn shop() -> Scenario {
        Scenario::new()
            .table(
                "orders",
                1_000_000,
                &[("id", -1.0), ("status", 4.0), ("region", 5.0)],
            )
            .table("customers", 50_000, &[("id", -1.0)])
            .index("orders", "orders_status_idx", &["status"], 10)
            .statement(1, OPEN_EU, 100, 5_000.0)
    }

    fn scan(estimated: u64, actual: u64) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Seq Scan", "Relation Name": "orders", "Alias": "orders",
                "Startup Cost": 0, "Total Cost": 20000, "Plan Rows": {estimated}, "Plan Width": 8,
                "Actual Rows": {actual}, "Actual Loops": 1,
                "Filter": "((status = 'open') AND (region = 'eu'))"}}, "Execution Time": 50.0}}]"#
        )
    }

    #[test]
    fn fires_on_a_scan_far_off_its_estimate() {
        let findings = shop().plan(1, &scan(12, 48_000)).check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(
            finding.fix,
            Fix::Analyze {
                schema: "public".into(),
                table: "orders".into()
            }
        );
        assert_eq!(finding.evidence("misestimate_factor"), Some(4_000.0));
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn generic_plans_close_estimates_and_small_counts_are_left_alone() {
        let generic = shop().seq_scan_plan(1, "orders", "(status = $1)");
        assert!(generic.check(&RULE).is_empty());
        let close = shop().plan(1, &scan(40_000, 48_000));
        assert!(close.check(&RULE).is_empty());
        let tiny = shop().plan(1, &scan(1, 50));
        assert!(tiny.check(&RULE).is_empty());
    }

    #[test]
    fn a_join_off_because_of_its_input_blames_the_input() {
        let plan = r#"[{"Plan": {"Node Type": "Hash Join", "Join Type": "Inner", "Startup Cost": 1,
            "Total Cost": 30000, "Plan Rows": 10, "Plan Width": 8, "Actual Rows": 48000, "Actual Loops": 1,
            "Plans": [
              {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "orders",
               "Alias": "o", "Startup Cost": 0, "Total Cost": 20000, "Plan Rows": 10, "Plan Width": 8,
               "Actual Rows": 48000, "Actual Loops": 1},
              {"Node Type": "Hash", "Parent Relationship": "Inner", "Startup Cost": 1, "Total Cost": 2,
               "Plan Rows": 50000, "Plan Width": 8, "Actual Rows": 50000, "Actual Loops": 1}]}}]"#;
        let findings = shop().plan(1, plan).check(&RULE);
        assert_eq!(findings[0].tables, ["public.orders"]);
        assert!(
            matches!(findings[0].fix, Fix::Analyze { .. }),
            "{:?}",
            findings[0].fix
        );
    }

    #[test]
    fn a_join_alone_off_is_to_investigate() {
        let plan = r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Inner", "Startup Cost": 1,
            "Total Cost": 30000, "Plan Rows": 5, "Plan Width": 8, "Actual Rows": 90000, "Actual Loops": 1,
            "Plans": [
              {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "orders",
               "Alias": "o", "Startup Cost": 0, "Total Cost": 20000, "Plan Rows": 300, "Plan Width": 8,
               "Actual Rows": 300, "Actual Loops": 1},
              {"Node Type": "Index Scan", "Parent Relationship": "Inner", "Index Name": "customers_pkey",
               "Relation Name": "customers", "Alias": "c", "Startup Cost": 0, "Total Cost": 8,
               "Plan Rows": 1, "Plan Width": 8, "Actual Rows": 300, "Actual Loops": 300}]}}]"#;
        let findings = shop().plan(1, plan).check(&RULE);
        assert_eq!(findings.len(), 1);
        // The index scan is 300× off per loop, the join 18,000×: the join is worse.
        assert!(
            matches!(findings[0].fix, Fix::Investigate { .. }),
            "{:?}",
            findings[0].fix
        );
        assert_eq!(findings[0].tables, ["public.customers", "public.orders"]);
    }
}
