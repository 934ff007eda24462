//! OPT008 n-plus-one: a tiny single-row lookup executed thousands of times,
//! once per row of a previous result.

use optidb_model::facts::{
    ColumnExpr, ColumnFacts, Operand, QueryFacts, RelationKind, StatementKind,
};
use optidb_model::{Evidence, Finding, Fix, Severity, Statement};

use super::{finding, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT008",
    name: "n-plus-one",
    default_severity: Severity::Warning,
    summary: "A tiny lookup by one column run thousands of times: one round trip per row (N+1).",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A `SELECT` that fetches about one row by an equality on one column with a
parameter (`WHERE id = $1`), executed thousands of times, each call so fast
that its cost is the round trip: the application runs it once per row of a
previous result (the "N+1 queries" an ORM produces when it loads a relation
lazily in a loop).

## Why it matters

Every call pays a network round trip and a parse/bind/execute cycle in the
driver and the server, which cost more than the few microseconds of the
lookup itself; a page that shows 50 order lines makes 51 round trips where 2
would do. Its share of the database's execution time is small, so it hides
from "slowest statements" lists, but the application waits for every one of
them in sequence. No index helps: the lookup is already an index scan.

## How it is detected

A statement is a per-row lookup when all of these hold:

- it is a top-level `SELECT` (statements run inside functions or triggers,
  such as PostgreSQL's own foreign-key checks, cost no round trip);
- it reads tables only (no subquery, no set-returning function), and its
  only comparison with a parameter is an equality on one column (`IN` and
  `= ANY($1)` lists mean the rows are already fetched in a batch);
- it ran at least `n_plus_one_min_calls` times, returned at most
  `n_plus_one_max_rows_per_call` rows per call and took at most
  `n_plus_one_max_mean_ms` per call on average.

Lookups of the same statement family (the same query written with other
columns in the select list, say) are reported together; the evidence gives
the family's size and the round trips all its members made.

## Example

```sql
-- 3,000 calls, 1 row each, 0.004 ms each
SELECT name, price FROM products WHERE id = $1;
```

Fix: fetch the rows in one statement, `SELECT id, name, price FROM products
WHERE id = ANY($1)` with the array of ids, or join `products` into the
statement that produced the ids (`… FROM order_items i JOIN products p ON
p.id = i.product_id`). With an ORM, ask for eager loading (`includes`,
`select_related`, `JOIN FETCH`).

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) in
`optidb.toml`, raise `n_plus_one_min_calls`, or disable the rule
(`disable = ["OPT008"]`).
"#;

/// A statement that looks up about one row by one column.
struct Lookup<'a> {
    statement: &'a Statement,
    /// `schema.table` when the catalog knows the table, else as written.
    table: String,
    column: ColumnExpr,
}

fn check(context: &Context) -> Vec<Finding> {
    // Lookups grouped by family, in ranking order of their first member, so
    // that variants of one query (other select lists) make one finding.
    let mut groups: Vec<(Option<String>, Vec<Lookup<'_>>)> = Vec::new();
    for (statement, facts) in context.statements() {
        let Some(lookup) = lookup(context, statement, &facts.facts) else {
            continue;
        };
        let family = context
            .workload
            .family_of(statement.queryid)
            .map(|f| f.id.clone());
        match groups
            .iter_mut()
            .find(|(id, _)| family.is_some() && *id == family)
        {
            Some((_, members)) => members.push(lookup),
            None => groups.push((family, vec![lookup])),
        }
    }
    groups
        .into_iter()
        .map(|(_, mut lookups)| {
            // The busiest lookup names the finding.
            lookups.sort_by_key(|lookup| std::cmp::Reverse(lookup.statement.calls));
            report(context, &lookups)
        })
        .collect()
}

/// The lookup `statement` makes, if it is a tiny one-column lookup run often.
fn lookup<'a>(
    context: &Context<'a>,
    statement: &'a Statement,
    facts: &QueryFacts,
) -> Option<Lookup<'a>> {
    let thresholds = context.thresholds;
    let qualifies = statement.toplevel
        && facts.kind == StatementKind::Select
        && statement.calls >= thresholds.n_plus_one_min_calls
        && statement.rows_per_call() <= thresholds.n_plus_one_max_rows_per_call
        && statement.mean_exec_time_ms <= thresholds.n_plus_one_max_mean_ms
        && facts.subqueries.is_empty()
        && facts.set_operations.is_empty()
        && !facts.relations.is_empty()
        && facts
            .relations
            .iter()
            .all(|r| r.kind == RelationKind::Table);
    if !qualifies
        || has_batch_or_range(&facts.unresolved)
        || !param_equalities(&facts.unresolved).is_empty()
    {
        return None;
    }
    let mut found: Option<(usize, ColumnExpr)> = None;
    for (index, relation) in facts.relations.iter().enumerate() {
        if has_batch_or_range(&relation.columns) {
            return None;
        }
        let mut columns = param_equalities(&relation.columns);
        columns.dedup();
        for column in columns {
            if found.is_some() {
                // A second column compared with a parameter: not the
                // one-key lookup this rule is about.
                return None;
            }
            found = Some((index, column.clone()));
        }
    }
    let (index, column) = found?;
    let relation = &facts.relations[index];
    let table = match context.table_of(relation) {
        Some(table) => table.qualified_name(),
        None => relation.qualified_name(),
    };
    Some(Lookup {
        statement,
        table,
        column,
    })
}

/// The columns compared with a parameter by `=`, sorted.
fn param_equalities(columns: &ColumnFacts) -> Vec<&ColumnExpr> {
    let mut found: Vec<&ColumnExpr> = columns
        .equality
        .iter()
        .filter(|equality| equality.value == Operand::Param)
        .map(|equality| &equality.column)
        .collect();
    found.sort();
    found
}

/// Whether the statement already fetches a batch (`IN`, `= ANY`) or filters
/// with a range, a pattern or a JSON operator: then it is no per-row lookup.
fn has_batch_or_range(columns: &ColumnFacts) -> bool {
    !columns.in_list.is_empty()
        || columns
            .range
            .iter()
            .any(|range| range.value == Operand::Param)
        || !columns.like.is_empty()
        || !columns.jsonb.is_empty()
}

fn report(context: &Context, lookups: &[Lookup<'_>]) -> Finding {
    // Every group starts with one lookup.
    let lead = &lookups[0];
    let statement = lead.statement;
    let column = display(&lead.column);
    let table_name = lead.table.rsplit('.').next().unwrap_or(&lead.table);
    let calls: u64 = lookups.iter().map(|l| l.statement.calls).sum();
    let total_ms: f64 = lookups.iter().map(|l| l.statement.total_exec_time_ms).sum();
    let share: f64 = lookups
        .iter()
        .map(|l| context.time_share(l.statement))
        .sum();
    let family = context.workload.family_of(statement.queryid);
    let family_members = family.map_or(1, |f| f.members.len());
    // Round trips of the whole family: every member is the same access
    // path, so batching one of them batches them all.
    let family_round_trips: u64 = match family {
        Some(family) => family
            .members
            .iter()
            .filter_map(|id| context.statement(*id))
            .map(|s| s.calls)
            .sum(),
        None => statement.calls,
    };
    let in_statements = if lookups.len() > 1 {
        format!(" in {} statements", lookups.len())
    } else {
        String::new()
    };
    let title = format!(
        "{table_name}: {} lookups by {column}{in_statements}, {:.1} row and {} each: one round trip per row (N+1)",
        thousands(calls as f64),
        statement.rows_per_call(),
        millis(statement.mean_exec_time_ms),
    );
    let advice = format!(
        "Fetch the rows in one statement instead of one per row: collect the {column} values and run the query \
         once with `WHERE {column} = ANY($1)` and an array parameter, or JOIN {table_name} into the statement that \
         produced them (with an ORM, load the relation eagerly). Each of the {} calls pays a round trip and a \
         parse/bind/execute cycle that cost more than its {} of execution.",
        thousands(calls as f64),
        millis(statement.mean_exec_time_ms),
    );
    let mut finding = finding(&RULE, Severity::Warning, title, Fix::Rewrite { advice });
    finding.statements = lookups.iter().map(|l| l.statement.queryid).collect();
    finding.tables = vec![lead.table.clone()];
    finding.evidence = vec![
        Evidence::new("calls", calls as f64, "calls"),
        Evidence::new("rows_per_call", statement.rows_per_call(), "rows"),
        Evidence::new("mean_exec_time_ms", statement.mean_exec_time_ms, "ms"),
        Evidence::new("total_exec_time_ms", total_ms, "ms"),
        Evidence::new("time_share", share, "ratio"),
        Evidence::new("family_members", family_members as f64, "count"),
        Evidence::new("family_round_trips", family_round_trips as f64, "calls"),
    ];
    finding
}

/// `id`, or `lower(email)`.
fn display(column: &ColumnExpr) -> String {
    column
        .expression
        .clone()
        .unwrap_or_else(|| column.column.clone())
}

/// `0.004 ms`, `1.2 ms`.
fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    const BY_ID: &str = "SELECT name, price\nFROM products\nWHERE id = $1";

    fn shop() -> Scenario {
        Scenario::new()
            .table(
                "products",
                12_500,
                &[("id", -1.0), ("name", -1.0), ("price", 500.0)],
            )
            .index("products", "products_pkey", &["id"], 3_000)
    }

    #[test]
    fn fires_on_thousands_of_one_row_lookups() {
        let findings = shop()
            .statement(1, BY_ID, 3_000, 10.8)
            .statement(
                2,
                "SELECT id, name, price\nFROM products\nWHERE description ILIKE $1",
                20,
                257.0,
            )
            .check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.statements, [1]);
        assert_eq!(finding.tables, ["public.products"]);
        assert_eq!(finding.evidence("family_round_trips"), Some(3_000.0));
        let Fix::Rewrite { advice } = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert!(advice.contains("WHERE id = ANY($1)"), "{advice}");
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn variants_of_one_lookup_make_one_finding() {
        let findings = shop()
            .statement(1, BY_ID, 3_000, 10.8)
            .statement(2, "SELECT name\nFROM products\nWHERE id = $1", 1_500, 5.0)
            .check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].statements, [1, 2]);
        assert_eq!(findings[0].evidence("calls"), Some(4_500.0));
        assert_eq!(findings[0].evidence("family_members"), Some(2.0));
        assert!(
            findings[0].title.contains("in 2 statements"),
            "{}",
            findings[0].title
        );
    }

    #[test]
    fn rare_slow_or_wide_statements_are_not_n_plus_one() {
        let rare = shop().statement(1, BY_ID, 999, 3.0);
        assert!(rare.check(&RULE).is_empty());
        let slow = shop().statement(1, BY_ID, 3_000, 6_000.0);
        assert!(slow.check(&RULE).is_empty());
        let wide = shop().statement_with(Statement {
            queryid: 1,
            query: "SELECT id FROM products WHERE category_id = $1".into(),
            toplevel: true,
            calls: 3_000,
            rows: 30_000,
            total_exec_time_ms: 30.0,
            mean_exec_time_ms: 0.01,
            ..Statement::default()
        });
        assert!(wide.check(&RULE).is_empty());
    }

    #[test]
    fn batches_two_key_lookups_and_nested_statements_are_left_alone() {
        let batch = shop().statement(
            1,
            "SELECT name FROM products WHERE id = ANY($1)",
            3_000,
            10.0,
        );
        assert!(batch.check(&RULE).is_empty());
        let two_keys = shop().statement(
            1,
            "SELECT quantity FROM order_items WHERE order_id = $1 AND product_id = $2",
            3_000,
            10.0,
        );
        assert!(two_keys.check(&RULE).is_empty());
        // PostgreSQL's own foreign-key checks run inside triggers: no round trip.
        let nested = shop().statement_with(Statement {
            queryid: 1,
            query: r#"SELECT $2 FROM ONLY "public"."products" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x"#
                .into(),
            toplevel: false,
            calls: 5_000,
            rows: 5_000,
            total_exec_time_ms: 10.0,
            mean_exec_time_ms: 0.002,
            ..Statement::default()
        });
        assert!(nested.check(&RULE).is_empty());
        let update = shop().statement(
            1,
            "UPDATE products SET price = $1 WHERE id = $2",
            3_000,
            10.0,
        );
        assert!(update.check(&RULE).is_empty());
    }
}
