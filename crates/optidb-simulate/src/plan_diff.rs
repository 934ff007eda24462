//! What changed between two plans of one statement: its cost, and in words
//! `Seq Scan on users → Index Scan on users`, `Sort removed`.

use optidb_model::StatementEffect;
use optidb_model::plan::{Plan, PlanNode, StatementPlan};

/// The effect of a change on each statement planned both `before` and
/// `after` it (in the same order; one left unplanned either time is left
/// out). `uses_index` says, from the (before, after) plans, whether the
/// index the change is about serves the statement.
pub(crate) fn statement_effects(
    before: &[StatementPlan],
    after: &[StatementPlan],
    uses_index: impl Fn(&Plan, &Plan) -> bool,
) -> Vec<StatementEffect> {
    before
        .iter()
        .zip(after)
        .filter_map(|(before, after)| {
            let (before_plan, after_plan) = (before.plan()?, after.plan()?);
            let (cost_before, cost_after) = (before_plan.total_cost(), after_plan.total_cost());
            Some(StatementEffect {
                queryid: before.queryid,
                cost_before,
                cost_after,
                improvement: if cost_before > 0.0 {
                    1.0 - cost_after / cost_before
                } else {
                    0.0
                },
                uses_index: uses_index(before_plan, after_plan),
                plan_changes: plan_changes(before_plan, after_plan),
            })
        })
        .collect()
}

/// Whether `plan` reads index `name` anywhere.
pub(crate) fn reads_index(plan: &Plan, name: &str) -> bool {
    plan.nodes()
        .any(|node| node.index_name.as_deref() == Some(name))
}

/// The changes from `before` to `after`: per table, how it is read; then
/// sorts added or removed.
pub(crate) fn plan_changes(before: &Plan, after: &Plan) -> Vec<String> {
    let mut changes = Vec::new();
    let accesses_before = accesses(before);
    let accesses_after = accesses(after);
    for (table, how) in &accesses_before {
        match accesses_after.iter().find(|(t, _)| t == table) {
            Some((_, now)) if now != how => {
                changes.push(format!("{how} on {table} → {now} on {table}"))
            }
            _ => {}
        }
    }
    let sorts = |plan: &Plan| plan.nodes().filter(|node| node.node_type == "Sort").count();
    let (sorts_before, sorts_after) = (sorts(before), sorts(after));
    if sorts_after < sorts_before {
        changes.push("Sort removed".into());
    } else if sorts_after > sorts_before {
        changes.push("Sort added".into());
    }
    changes
}

/// How each table is read: (table, node type), in plan order.
fn accesses(plan: &Plan) -> Vec<(String, String)> {
    let mut accesses: Vec<(String, String)> = Vec::new();
    for node in plan.nodes() {
        if let Some(table) = &node.relation_name
            && !accesses.iter().any(|(t, _)| t == table)
        {
            accesses.push((table.clone(), access_kind(node)));
        }
    }
    accesses
}

fn access_kind(node: &PlanNode) -> String {
    node.node_type.clone()
}
