//! What changed between two plans of one statement, in words:
//! `Seq Scan on users → Index Scan on users`, `Sort removed`.

use optidb_model::plan::{Plan, PlanNode};

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
