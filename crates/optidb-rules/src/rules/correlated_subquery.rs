//! OPT007 correlated-subquery: a subquery that refers to the outer row, so
//! PostgreSQL runs it again for every outer row.

use optidb_model::facts::{
    JoinPair, Operand, QueryFacts, RangeOp, RelationFacts, Subquery, SubqueryClause, SubqueryKind,
};
use optidb_model::plan::{Plan, PlanNode};
use optidb_model::{Evidence, Finding, Fix, Severity, Statement};

use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT007",
    name: "correlated-subquery",
    default_severity: Severity::Warning,
    summary: "A correlated subquery runs once per outer row; a join computes it once.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A scalar subquery, or an `IN`/`ANY`/`ALL` subquery, in `WHERE`, `HAVING` or
the select list that refers to a column of the outer query (`WHERE
p2.category_id = p.category_id`). PostgreSQL cannot turn such a subquery into
a join: the plan shows it as a `SubPlan`, executed again for every outer row.

## Why it matters

The work is multiplied by the number of outer rows: an average over the 250
products of a category, computed once per product of that category, reads
62,500 rows where 250 would do. The statement grows quadratically with the
data, and an index only makes each repetition cheaper.

## How it is detected

From the statement's text: a subquery that references a column of an
enclosing query (see the fingerprint stage's heuristics), in `WHERE`,
`HAVING` or the select list, in the scalar, `ARRAY`, row, `IN`, `ANY` or
`ALL` form. Correlated `EXISTS`/`NOT EXISTS` are left alone: the planner
turns them into semi and anti joins.

When the statement has a plan, it decides: the finding needs a `SubPlan`
node that is not hashed (a hashed subplan runs once; a subquery the planner
made into a join leaves no `SubPlan` at all). A plan with more per-row
subplans than the text has scalar and `IN` subqueries also reports the
correlated `EXISTS` the planner could not make into a join (under an `OR`,
say). With `EXPLAIN ANALYZE` data the evidence counts the subquery's runs;
a generic plan gives an estimate from its costs (the cost of the node that
evaluates the subquery over the cost of one run).

The severity follows the statement's share of the workload's time:
critical at `critical_time_share`, informational below `min_time_share` or
when the plan shows the subquery running about once per call (a single
outer row).

## Example

```sql
SELECT p.id, p.name, p.price
FROM products AS p
WHERE p.category_id = $1
  AND p.price > (SELECT avg(p2.price) FROM products AS p2 WHERE p2.category_id = p.category_id);
```

Fix: compute the average once per category, in a derived table joined on
the correlation column:

```sql
SELECT p.id, p.name, p.price
FROM products AS p
JOIN (SELECT category_id, avg(price) AS avg_price FROM products GROUP BY category_id) AS s
  ON s.category_id = p.category_id
WHERE p.category_id = $1 AND p.price > s.avg_price;
```

or with a window function, `avg(price) OVER (PARTITION BY category_id)`, in
a subquery over `products`. A correlated `IN (SELECT …)` becomes an
`EXISTS (SELECT 1 … WHERE <correlation> AND <the IN comparison>)`, which the
planner runs as a semi join.

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) in
`optidb.toml`, or disable the rule (`disable = ["OPT007"]`).
"#;

fn check(context: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (statement, facts) in context.statements() {
        let facts = &facts.facts;
        let candidates: Vec<&Subquery> = facts
            .subqueries
            .iter()
            .filter(|s| is_candidate(s))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let (per_row, estimate) = match context.plan(statement.queryid) {
            Some(plan) => {
                let subplans = per_row_subplans(plan);
                if subplans.is_empty() {
                    // The planner made every one of them a join or a
                    // hashed subplan: nothing runs per row.
                    continue;
                }
                let non_exists = candidates
                    .iter()
                    .filter(|s| s.kind != SubqueryKind::Exists)
                    .count();
                let per_row: Vec<&Subquery> = candidates
                    .iter()
                    .copied()
                    // An EXISTS counts only when the plan has a per-row
                    // subplan the other subqueries do not explain.
                    .filter(|s| s.kind != SubqueryKind::Exists || subplans.len() > non_exists)
                    .collect();
                (per_row, runs_per_call(plan, &subplans))
            }
            None => (
                candidates
                    .into_iter()
                    .filter(|s| s.kind != SubqueryKind::Exists)
                    .collect(),
                None,
            ),
        };
        if per_row.is_empty() {
            continue;
        }
        let confirmed = context.plan(statement.queryid).is_some();
        findings.push(report(
            context, statement, facts, &per_row, confirmed, estimate,
        ));
    }
    findings
}

/// A correlated subquery of a form and place that can run once per outer row.
fn is_candidate(subquery: &Subquery) -> bool {
    subquery.correlated
        && matches!(
            subquery.clause,
            SubqueryClause::Where | SubqueryClause::Having | SubqueryClause::SelectList
        )
        && matches!(
            subquery.kind,
            SubqueryKind::Scalar
                | SubqueryKind::Array
                | SubqueryKind::Row
                | SubqueryKind::In
                | SubqueryKind::Any
                | SubqueryKind::All
                | SubqueryKind::Exists
        )
}

/// The plan's `SubPlan` nodes that run per outer row: not `InitPlan`s (run
/// once) and not hashed (`hashed SubPlan 1` in a condition: built once).
fn per_row_subplans(plan: &Plan) -> Vec<&PlanNode> {
    let conditions: Vec<&str> = plan
        .nodes()
        .flat_map(|node| {
            [
                &node.filter,
                &node.join_filter,
                &node.index_cond,
                &node.recheck_cond,
                &node.hash_cond,
                &node.merge_cond,
                &node.one_time_filter,
            ]
            .into_iter()
            .filter_map(|condition| condition.as_deref())
        })
        .collect();
    plan.nodes()
        .filter(|node| node.parent_relationship.as_deref() == Some("SubPlan"))
        .filter(|node| {
            let name = node.subplan_name.as_deref().unwrap_or_default();
            name.starts_with("SubPlan") && !conditions.iter().any(|c| mentions_hashed(c, name))
        })
        .collect()
}

/// Whether `condition` says `hashed SubPlan 1` (and not `hashed SubPlan 12`).
fn mentions_hashed(condition: &str, name: &str) -> bool {
    let needle = format!("hashed {name}");
    condition.match_indices(&needle).any(|(at, _)| {
        !condition[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// How many times per call the busiest per-row subplan ran.
enum Runs {
    /// Measured (`EXPLAIN ANALYZE`: the subplan's loops).
    Actual(f64),
    /// Estimated from a generic plan's costs.
    Estimated(f64),
}

fn runs_per_call(plan: &Plan, subplans: &[&PlanNode]) -> Option<Runs> {
    if let Some(loops) = subplans.iter().filter_map(|node| node.actual_loops).max() {
        return Some(Runs::Actual(loops as f64));
    }
    // Each evaluation of a correlated subplan is costed at the subplan's
    // total cost, and the node evaluating it adds one per row it tests:
    // that node's cost (less its ordinary inputs') over one run counts the runs.
    subplans
        .iter()
        .filter(|subplan| subplan.total_cost > 0.0)
        .filter_map(|subplan| {
            let parent = plan.nodes().find(|node| {
                node.children
                    .iter()
                    .any(|child| std::ptr::eq(child, *subplan))
            })?;
            let inputs: f64 = parent
                .children
                .iter()
                .filter(|child| child.parent_relationship.as_deref() != Some("SubPlan"))
                .filter(|child| child.parent_relationship.as_deref() != Some("InitPlan"))
                .map(|child| child.total_cost)
                .sum();
            let runs = ((parent.total_cost - inputs) / subplan.total_cost).floor();
            (runs >= 1.0).then_some(runs)
        })
        .reduce(f64::max)
        .map(Runs::Estimated)
}

fn report(
    context: &Context,
    statement: &Statement,
    facts: &QueryFacts,
    subqueries: &[&Subquery],
    confirmed: bool,
    runs: Option<Runs>,
) -> Finding {
    // `check` reports only statements with at least one subquery.
    let first = subqueries[0];
    let outer = outer_relation(facts, first);
    let inner = inner_relation(facts, first);
    let share = context.time_share(statement);
    let runs_once = match runs {
        Some(Runs::Actual(n) | Runs::Estimated(n)) => n < 2.0,
        None => false,
    };
    // Cheap, or run about once per call (one outer row): a rewrite would
    // gain little, but the pattern is worth knowing before the data grows.
    let severity = if share < context.thresholds.min_time_share || runs_once {
        Severity::Info
    } else {
        context.severity_for_share(share, Severity::Warning)
    };

    let mut tables: Vec<String> = Vec::new();
    for subquery in subqueries {
        for relation in [
            outer_relation(facts, subquery),
            inner_relation(facts, subquery),
        ]
        .into_iter()
        .flatten()
        {
            let name = match context.table_of(relation) {
                Some(table) => table.qualified_name(),
                None => relation.qualified_name(),
            };
            if !tables.contains(&name) {
                tables.push(name);
            }
        }
    }

    let runs_text = match &runs {
        Some(Runs::Actual(n)) => format!("{} runs per call, ", thousands(*n)),
        Some(Runs::Estimated(n)) => format!("~{} runs per call, ", thousands(*n)),
        None => String::new(),
    };
    let subject = match outer {
        Some(relation) => reference(relation),
        None => "statement".to_string(),
    };
    let on = inner.map(|r| format!(" on {}", r.name)).unwrap_or_default();
    let several = if subqueries.len() > 1 {
        format!(" (and {} more)", subqueries.len() - 1)
    } else {
        String::new()
    };
    let title = format!(
        "{subject}: correlated {} subquery{on} in {}{several} runs once per outer row ({runs_text}{} calls, {} of all time)",
        kind_name(first.kind),
        clause_name(first.clause),
        thousands(statement.calls as f64),
        percent(share),
    );
    let advice = advice(context, statement, facts, first);
    let mut finding = finding(&RULE, severity, title, Fix::Rewrite { advice });
    finding.statements = vec![statement.queryid];
    finding.tables = tables;
    finding.evidence = vec![
        Evidence::new("calls", statement.calls as f64, "calls"),
        Evidence::new("mean_exec_time_ms", statement.mean_exec_time_ms, "ms"),
        Evidence::new("time_share", share, "ratio"),
        Evidence::new("rows_per_call", statement.rows_per_call(), "rows"),
        Evidence::new("correlated_subqueries", subqueries.len() as f64, "count"),
        Evidence::new("plan_confirmed", if confirmed { 1.0 } else { 0.0 }, "flag"),
    ];
    match runs {
        Some(Runs::Actual(n)) => {
            finding
                .evidence
                .push(Evidence::new("outer_rows_per_call", n, "rows"))
        }
        Some(Runs::Estimated(n)) => {
            finding
                .evidence
                .push(Evidence::new("estimated_outer_rows_per_call", n, "rows"))
        }
        None => {}
    }
    finding
}

/// The outer relation the subquery refers to (the first correlated column's).
fn outer_relation<'f>(facts: &'f QueryFacts, subquery: &Subquery) -> Option<&'f RelationFacts> {
    let id = subquery
        .correlated_columns
        .iter()
        .find_map(|c| c.relation)?;
    facts.relations.get(id as usize)
}

/// The first relation the subquery itself reads.
fn inner_relation<'f>(facts: &'f QueryFacts, subquery: &Subquery) -> Option<&'f RelationFacts> {
    facts.relations.iter().find(|r| r.block == subquery.block)
}

/// `products p`, or `products` when not aliased.
fn reference(relation: &RelationFacts) -> String {
    match &relation.alias {
        Some(alias) if *alias != relation.name => format!("{} {alias}", relation.name),
        _ => relation.name.clone(),
    }
}

/// The name the statement uses for a relation's columns.
fn qualifier(relation: &RelationFacts) -> &str {
    relation.alias.as_deref().unwrap_or(&relation.name)
}

fn kind_name(kind: SubqueryKind) -> &'static str {
    match kind {
        SubqueryKind::Scalar | SubqueryKind::Row => "scalar",
        SubqueryKind::Array => "ARRAY",
        SubqueryKind::In => "IN",
        SubqueryKind::Any => "ANY",
        SubqueryKind::All => "ALL",
        SubqueryKind::Exists => "EXISTS",
        SubqueryKind::Derived | SubqueryKind::Cte => "derived",
    }
}

fn clause_name(clause: SubqueryClause) -> &'static str {
    match clause {
        SubqueryClause::Where => "WHERE",
        SubqueryClause::Having => "HAVING",
        SubqueryClause::SelectList => "the select list",
        _ => "the statement",
    }
}

/// A correlation `inner.column = outer.column`, as the statement names them.
struct Correlation {
    outer: String,
    inner_column: String,
    equality: bool,
}

/// The comparisons between the subquery's own relations and the outer ones.
fn correlations(facts: &QueryFacts, subquery: &Subquery) -> Vec<Correlation> {
    let inner = |id: Option<u32>| {
        id.and_then(|id| facts.relations.get(id as usize))
            .is_some_and(|r| r.block == subquery.block)
    };
    let outer = |id: Option<u32>| {
        subquery
            .correlated_columns
            .iter()
            .any(|c| c.relation == id && id.is_some())
    };
    let name =
        |id: Option<u32>, column: &str| match id.and_then(|id| facts.relations.get(id as usize)) {
            Some(relation) => format!("{}.{column}", qualifier(relation)),
            None => column.to_string(),
        };
    facts
        .joins
        .iter()
        .filter_map(
            |JoinPair {
                 left,
                 right,
                 operator,
             }| {
                let (o, i) = if outer(left.relation) && inner(right.relation) {
                    (left, right)
                } else if outer(right.relation) && inner(left.relation) {
                    (right, left)
                } else {
                    return None;
                };
                Some(Correlation {
                    outer: name(o.relation, &o.column.column),
                    inner_column: i
                        .column
                        .expression
                        .clone()
                        .unwrap_or_else(|| i.column.column.clone()),
                    equality: operator == "=",
                })
            },
        )
        .collect()
}

/// Advice naming the statement's own tables and columns.
fn advice(
    context: &Context,
    statement: &Statement,
    facts: &QueryFacts,
    subquery: &Subquery,
) -> String {
    let (Some(outer), Some(inner)) = (
        outer_relation(facts, subquery),
        inner_relation(facts, subquery),
    ) else {
        return "Rewrite the subquery as a join computed once (a derived table grouped by the correlation \
                columns, or a window function) instead of once per outer row."
            .to_string();
    };
    let correlations = correlations(facts, subquery);
    let expression = subquery_select_list(&statement.query, inner);
    let shown = expression.clone().unwrap_or_else(|| "…".to_string());
    let inner_table = match context.table_of(inner) {
        Some(table) if table.schema != "public" => table.qualified_name(),
        _ => inner.qualified_name(),
    };
    let o = reference(outer);
    if correlations.is_empty() || correlations.iter().any(|c| !c.equality) {
        return format!(
            "The subquery on {inner_table} is run again for every row of {o}. Compute it in one pass instead: \
             a window function over {inner_table} (PARTITION BY / ORDER BY the correlated columns) or a join \
             to a derived table grouped by them; if it must stay per row, make each run an index lookup on the \
             correlated columns of {inner_table}."
        );
    }
    let group_by: Vec<&str> = correlations
        .iter()
        .map(|c| c.inner_column.as_str())
        .collect();
    let group_by = group_by.join(", ");
    let alias = derived_alias(facts);
    let on: Vec<String> = correlations
        .iter()
        .map(|c| format!("{alias}.{} = {}", c.inner_column, c.outer))
        .collect();
    let on = on.join(" AND ");
    match subquery.kind {
        SubqueryKind::In | SubqueryKind::Any | SubqueryKind::All => {
            let compared = in_comparison(facts, subquery);
            let negated = subquery.negated || subquery.kind == SubqueryKind::All;
            let (exists, join) = if negated {
                ("NOT EXISTS", "anti")
            } else {
                ("EXISTS", "semi")
            };
            let inner_ref = reference(inner);
            let mut conditions: Vec<String> = correlations
                .iter()
                .map(|c| format!("{}.{} = {}", qualifier(inner), c.inner_column, c.outer))
                .collect();
            if let (Some(column), Some(selected)) = (compared, expression.as_deref()) {
                conditions.push(format!("{}.{selected} = {column}", qualifier(inner)));
            } else {
                conditions.push("<the compared columns>".to_string());
            }
            format!(
                "PostgreSQL cannot make a correlated {} subquery into a join, so it runs once per row of {o}. \
                 Rewrite it as {exists} (SELECT 1 FROM {inner_ref} WHERE {}), which the planner runs as a {join} \
                 join{}.",
                kind_name(subquery.kind),
                conditions.join(" AND "),
                if negated {
                    " (mind NULLs: NOT IN is never true when the subquery returns a NULL)"
                } else {
                    ""
                },
            )
        }
        SubqueryKind::Exists => format!(
            "The planner could not make this correlated EXISTS on {inner_table} into a semi join (it sits under \
             OR, in the select list, or has LIMIT or aggregates), so it runs once per row of {o}. Move it to a \
             top-level AND of WHERE, or join {inner_table} once on {on}."
        ),
        _ => {
            let value = value_name(expression.as_deref());
            let is_aggregate = expression.as_deref().is_some_and(|e| {
                facts
                    .aggregates
                    .iter()
                    .any(|a| e.to_ascii_lowercase().starts_with(&format!("{a}(")))
            });
            if expression.is_some() && !is_aggregate {
                // A plain lookup (`SELECT name FROM users u WHERE u.id = o.user_id`): a join.
                return format!(
                    "The subquery reads {inner_table} once per row of {o}. Join it instead: LEFT JOIN {} ON {} \
                     and use {}.{shown} (LEFT keeps rows without a match, as the subquery did).",
                    reference(inner),
                    correlations
                        .iter()
                        .map(|c| format!("{}.{} = {}", qualifier(inner), c.inner_column, c.outer))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                    qualifier(inner),
                );
            }
            let filter = match (subquery.clause, outer_comparison(facts, subquery)) {
                (SubqueryClause::Where, Some((column, op))) => {
                    format!(
                        " and filter on {}.{column} {op} {alias}.{value}",
                        qualifier(outer)
                    )
                }
                (SubqueryClause::Where, None) => {
                    format!(" and compare with {alias}.{value} in WHERE")
                }
                (SubqueryClause::Having, _) => {
                    format!(" and compare with {alias}.{value} in HAVING")
                }
                // In the select list a row without a match must stay, with
                // what the subquery gave it: NULL (or 0 for a count).
                _ => format!(
                    " and select {alias}.{value}; make it a LEFT JOIN so rows without a match stay (coalesce(…, 0) for a count)"
                ),
            };
            format!(
                "Compute {shown} once per {group_by} instead of once per row of {o}: join a derived table \
                 computed once, JOIN (SELECT {group_by}, {shown} AS {value} FROM {inner_table} GROUP BY {group_by}) \
                 {alias} ON {on}{filter} (or compute {shown} OVER (PARTITION BY {group_by}) in a subquery over \
                 {inner_table}). PostgreSQL never turns a correlated scalar subquery into a join by itself."
            )
        }
    }
}

/// An alias for the derived table that the statement does not use yet.
fn derived_alias(facts: &QueryFacts) -> &'static str {
    ["s", "agg", "sub", "derived"]
        .into_iter()
        .find(|candidate| !facts.relations.iter().any(|r| qualifier(r) == *candidate))
        .unwrap_or("derived")
}

/// `avg(price)` → `avg_price`; anything else → `value`.
fn value_name(expression: Option<&str>) -> String {
    let Some(expression) = expression else {
        return "value".to_string();
    };
    let Some((function, rest)) = expression.split_once('(') else {
        return "value".to_string();
    };
    let argument = rest.trim_end_matches(')').trim();
    let argument = if argument == "*" { "all" } else { argument };
    let identifier =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier(function.trim()) && identifier(argument) {
        format!("{}_{argument}", function.trim().to_ascii_lowercase())
    } else {
        "value".to_string()
    }
}

/// The outer column compared with the subquery's value in `WHERE`, and the
/// operator, when the text says so unambiguously.
fn outer_comparison(facts: &QueryFacts, subquery: &Subquery) -> Option<(String, &'static str)> {
    let in_parent = facts
        .subqueries
        .iter()
        .filter(|s| s.parent == subquery.parent && s.clause == SubqueryClause::Where);
    if in_parent.count() != 1 {
        return None;
    }
    let mut found = Vec::new();
    for relation in facts
        .relations
        .iter()
        .filter(|r| r.block == subquery.parent)
    {
        for range in relation
            .columns
            .range
            .iter()
            .filter(|r| r.value == Operand::Subquery)
        {
            let op = match range.op {
                RangeOp::Lt => "<",
                RangeOp::Le => "<=",
                RangeOp::Gt => ">",
                RangeOp::Ge => ">=",
                RangeOp::Between => return None,
            };
            found.push((display_column(&range.column), op));
        }
        for equality in relation
            .columns
            .equality
            .iter()
            .filter(|e| e.value == Operand::Subquery)
        {
            found.push((display_column(&equality.column), "="));
        }
    }
    match found.as_slice() {
        [(column, op)] => Some((column.clone(), *op)),
        _ => None,
    }
}

/// The outer column of `column IN (SELECT …)`, qualified as the statement does.
fn in_comparison(facts: &QueryFacts, subquery: &Subquery) -> Option<String> {
    let mut found = Vec::new();
    for relation in facts
        .relations
        .iter()
        .filter(|r| r.block == subquery.parent)
    {
        for item in &relation.columns.in_list {
            if item.values == optidb_model::facts::InValues::Subquery {
                found.push(format!(
                    "{}.{}",
                    qualifier(relation),
                    display_column(&item.column)
                ));
            }
        }
    }
    match found.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

fn display_column(column: &optidb_model::facts::ColumnExpr) -> String {
    column
        .expression
        .clone()
        .unwrap_or_else(|| column.column.clone())
}

/// The select list of the one parenthesized `SELECT … FROM <inner> …` in
/// `sql` that reads the subquery's relation, without the relation's
/// qualifier (`avg(p2.price)` → `avg(price)`); `None` when no single
/// subquery matches or its select list is not one short expression.
///
/// The facts do not keep select lists; this reads just enough of the
/// normalized text to name the subquery's value in the advice, and falls
/// back to `…` whenever the text is not as expected.
fn subquery_select_list(sql: &str, inner: &RelationFacts) -> Option<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut matches = Vec::new();
    for (open, _) in chars.iter().enumerate().filter(|(_, c)| **c == '(') {
        let Some(close) = matching_paren(&chars, open) else {
            continue;
        };
        let body = &chars[open + 1..close];
        if let Some(list) = select_list_reading(body, inner) {
            matches.push(list);
        }
    }
    let [list] = matches.as_slice() else {
        return None;
    };
    let list = list.split_whitespace().collect::<Vec<_>>().join(" ");
    let top_level_comma = {
        let mut depth = 0i32;
        list.chars().any(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => return true,
                _ => {}
            }
            false
        })
    };
    if list.is_empty()
        || list.len() > 80
        || top_level_comma
        || list.contains('"')
        || list.contains('\'')
    {
        return None;
    }
    Some(strip_qualifier(&list, qualifier(inner)))
}

/// The index of the `)` closing the `(` at `open`, skipping quoted text.
fn matching_paren(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// For `SELECT <list> FROM <table> [AS] <alias> …` at the top of `body`
/// reading `inner`, the list.
fn select_list_reading(body: &[char], inner: &RelationFacts) -> Option<String> {
    // Blank out nested parentheses so only this level's keywords count.
    let mut flat = String::with_capacity(body.len());
    let mut depth = 0i32;
    for &c in body {
        match c {
            '(' => {
                depth += 1;
                flat.push(if depth == 1 { '(' } else { ' ' });
            }
            ')' => {
                flat.push(if depth == 1 { ')' } else { ' ' });
                depth -= 1;
            }
            c if depth > 0 => flat.push(if c.is_whitespace() { ' ' } else { '\u{1}' }),
            c => flat.push(c),
        }
    }
    let original: String = body.iter().collect();
    let words: Vec<(usize, &str)> = word_positions(&flat);
    let (select_at, first) = *words.first()?;
    if !first.eq_ignore_ascii_case("select") {
        return None;
    }
    let from = words
        .iter()
        .position(|(_, w)| w.eq_ignore_ascii_case("from"))?;
    let (from_at, _) = words[from];
    let table = words.get(from + 1)?.1;
    let table_name = table.rsplit('.').next().unwrap_or(table).trim_matches('"');
    if table_name != inner.name {
        return None;
    }
    let mut next = words.get(from + 2).map(|(_, w)| *w);
    if next.is_some_and(|w| w.eq_ignore_ascii_case("as")) {
        next = words.get(from + 3).map(|(_, w)| *w);
    }
    if let Some(alias) = &inner.alias
        && next != Some(alias.as_str())
    {
        return None;
    }
    // Byte offsets of `flat` and `original` agree only for ASCII; the
    // statement's own text is used, so go by characters.
    let list: String = original
        .chars()
        .skip(char_index(&flat, select_at) + "select".len())
        .take(char_index(&flat, from_at) - char_index(&flat, select_at) - "select".len())
        .collect();
    Some(list.trim().to_string())
}

/// Words (runs of identifier characters, `.`, `"`) with their byte offsets.
fn word_positions(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '$');
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, &text[s..]));
    }
    words
}

fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// `avg(p2.price)` → `avg(price)` for qualifier `p2`.
fn strip_qualifier(text: &str, qualifier: &str) -> String {
    let prefix = format!("{qualifier}.");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let before = rest[..at].chars().next_back();
        out.push_str(&rest[..at]);
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            out.push_str(&prefix);
        }
        rest = &rest[at + prefix.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    const ABOVE_AVERAGE: &str = "SELECT p.id, p.name, p.price\nFROM products AS p\nWHERE p.category_id = $1\n  AND p.price > (SELECT avg(p2.price) FROM products AS p2 WHERE p2.category_id = p.category_id)\nORDER BY p.price DESC";

    /// The generic plan PostgreSQL 15 makes of `ABOVE_AVERAGE` (abridged).
    const SUBPLAN: &str = r#"[{"Plan": {"Node Type": "Sort", "Startup Cost": 102276.46, "Total Cost": 102276.67,
        "Plan Rows": 83, "Plan Width": 33, "Sort Key": ["p.price DESC"], "Plans": [
        {"Node Type": "Index Scan", "Parent Relationship": "Outer", "Relation Name": "products", "Alias": "p",
         "Index Name": "products_category_id_idx", "Startup Cost": 0.29, "Total Cost": 102273.81,
         "Plan Rows": 83, "Plan Width": 33, "Filter": "(price > (SubPlan 1))", "Index Cond": "(category_id = $1)",
         "Plans": [
          {"Node Type": "Aggregate", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1",
           "Strategy": "Plain", "Startup Cost": 405.91, "Total Cost": 405.92, "Plan Rows": 1, "Plan Width": 32,
           "Plans": [
            {"Node Type": "Bitmap Heap Scan", "Parent Relationship": "Outer", "Relation Name": "products",
             "Alias": "p2", "Startup Cost": 6.22, "Total Cost": 405.29, "Plan Rows": 250, "Plan Width": 6,
             "Recheck Cond": "(category_id = p.category_id)"}]}]}]}}]"#;

    fn shop() -> Scenario {
        Scenario::new()
            .table(
                "products",
                12_500,
                &[("id", -1.0), ("category_id", 50.0), ("price", 500.0)],
            )
            .index(
                "products",
                "products_category_id_idx",
                &["category_id"],
                100,
            )
    }

    #[test]
    fn fires_on_a_scalar_subquery_the_plan_runs_per_row() {
        let findings = shop()
            .statement(1, ABOVE_AVERAGE, 20, 588.0)
            .other_time(2_200.0)
            .plan(1, SUBPLAN)
            .check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(finding.tables, ["public.products"]);
        assert_eq!(finding.evidence("plan_confirmed"), Some(1.0));
        assert_eq!(
            finding.evidence("estimated_outer_rows_per_call"),
            Some(251.0)
        );
        let Fix::Rewrite { advice } = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert!(
            advice.contains(
                "JOIN (SELECT category_id, avg(price) AS avg_price FROM products GROUP BY category_id) s \
                 ON s.category_id = p.category_id and filter on p.price > s.avg_price"
            ),
            "{advice}"
        );
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn without_a_plan_the_text_is_enough_at_a_lower_confidence() {
        let findings = shop().statement(1, ABOVE_AVERAGE, 20, 588.0).check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].evidence("plan_confirmed"), Some(0.0));
        assert_eq!(findings[0].evidence("estimated_outer_rows_per_call"), None);
    }

    #[test]
    fn a_plan_without_a_per_row_subplan_clears_it() {
        let joined = shop().statement(1, ABOVE_AVERAGE, 20, 588.0).seq_scan_plan(
            1,
            "products",
            "(price > 1)",
        );
        assert!(joined.check(&RULE).is_empty());
        let hashed = r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "products", "Alias": "p",
            "Startup Cost": 10, "Total Cost": 300, "Plan Rows": 10, "Plan Width": 8,
            "Filter": "(NOT (hashed SubPlan 1))", "Plans": [
            {"Node Type": "Seq Scan", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1",
             "Relation Name": "order_items", "Alias": "i", "Startup Cost": 0, "Total Cost": 10,
             "Plan Rows": 100, "Plan Width": 8}]}}]"#;
        let in_subquery = "SELECT p.id FROM products p WHERE p.id NOT IN (SELECT i.product_id FROM order_items i WHERE i.order_id = p.category_id)";
        assert!(
            shop()
                .statement(1, in_subquery, 20, 100.0)
                .plan(1, hashed)
                .check(&RULE)
                .is_empty()
        );
    }

    #[test]
    fn uncorrelated_subqueries_and_exists_are_left_alone() {
        let uncorrelated =
            "SELECT id FROM products WHERE price > (SELECT avg(price) FROM products)";
        assert!(
            shop()
                .statement(1, uncorrelated, 20, 100.0)
                .check(&RULE)
                .is_empty()
        );
        let exists = "SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)";
        assert!(
            shop()
                .statement(1, exists, 20, 100.0)
                .check(&RULE)
                .is_empty()
        );
    }

    #[test]
    fn select_list_lookups_and_in_subqueries_get_their_own_advice() {
        let lookup = "SELECT o.id, (SELECT u.name FROM users u WHERE u.id = o.user_id) FROM orders o WHERE o.status = $1";
        let findings = shop().statement(1, lookup, 20, 100.0).check(&RULE);
        let Fix::Rewrite { advice } = &findings[0].fix else {
            panic!()
        };
        assert!(
            advice.contains("LEFT JOIN users u ON u.id = o.user_id and use u.name"),
            "{advice}"
        );
        assert!(
            findings[0].title.contains("in the select list"),
            "{}",
            findings[0].title
        );

        let in_list = "SELECT p.id FROM products p WHERE p.id IN (SELECT i.product_id FROM order_items i WHERE i.order_id = p.category_id)";
        let findings = shop().statement(1, in_list, 20, 100.0).check(&RULE);
        let Fix::Rewrite { advice } = &findings[0].fix else {
            panic!()
        };
        assert!(
            advice.contains("EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = p.category_id AND i.product_id = p.id)"),
            "{advice}"
        );
    }

    #[test]
    fn a_small_share_or_a_single_outer_row_is_only_informational() {
        let findings = shop()
            .statement(1, ABOVE_AVERAGE, 20, 1.0)
            .other_time(10_000.0)
            .check(&RULE);
        assert_eq!(findings[0].severity, Severity::Info);
        let one_row = SUBPLAN.replace("102273.81", "414.5");
        let findings = shop()
            .statement(1, ABOVE_AVERAGE, 20, 588.0)
            .plan(1, &one_row)
            .check(&RULE);
        assert_eq!(
            findings[0].evidence("estimated_outer_rows_per_call"),
            Some(1.0)
        );
        assert_eq!(findings[0].severity, Severity::Info);
    }

    #[test]
    fn select_lists_are_read_only_when_unambiguous() {
        let facts = optidb_fingerprint::facts(ABOVE_AVERAGE).unwrap();
        assert_eq!(
            subquery_select_list(ABOVE_AVERAGE, &facts.relations[1]).as_deref(),
            Some("avg(price)")
        );
        let two = "SELECT a.x FROM t a WHERE a.y > (SELECT max(b.y) FROM t b WHERE b.k = a.k) AND a.z < (SELECT min(b.z) FROM t b WHERE b.k = a.k)";
        let facts = optidb_fingerprint::facts(two).unwrap();
        assert_eq!(subquery_select_list(two, &facts.relations[1]), None);
        assert_eq!(
            strip_qualifier("coalesce(p2.price, pp2.price)", "p2"),
            "coalesce(price, pp2.price)"
        );
        assert_eq!(value_name(Some("count(*)")), "count_all");
        assert_eq!(value_name(Some("a + b")), "value");
        assert!(mentions_hashed("(NOT (hashed SubPlan 1))", "SubPlan 1"));
        assert!(!mentions_hashed("(NOT (hashed SubPlan 12))", "SubPlan 1"));
    }
}
