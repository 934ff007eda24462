//! A plan tree as text, the way `EXPLAIN` (FORMAT TEXT) lays it out, so it
//! reads like what people already know.

use optidb_model::plan::{Plan, PlanNode};

/// The plan as indented text.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    render_node(&plan.root, 0, &mut out);
    if let Some(ms) = plan.planning_time_ms {
        out.push_str(&format!("Planning Time: {ms:.3} ms\n"));
    }
    if let Some(ms) = plan.execution_time_ms {
        out.push_str(&format!("Execution Time: {ms:.3} ms\n"));
    }
    out
}

fn render_node(node: &PlanNode, depth: usize, out: &mut String) {
    let indent = if depth == 0 {
        String::new()
    } else {
        format!("{}->  ", "      ".repeat(depth - 1) + "  ")
    };
    let detail_indent = " ".repeat(indent.chars().count() + 2);
    if let Some(name) = &node.subplan_name {
        out.push_str(&format!(
            "{}{name}\n",
            " ".repeat(indent.chars().count().saturating_sub(4))
        ));
    }
    out.push_str(&indent);
    out.push_str(&title(node));
    out.push_str(&format!(
        "  (cost={:.2}..{:.2} rows={:.0} width={})",
        node.startup_cost, node.total_cost, node.plan_rows, node.plan_width
    ));
    if let (Some(time), Some(rows), Some(loops)) = (
        node.actual_total_time_ms,
        node.actual_rows,
        node.actual_loops,
    ) {
        out.push_str(&format!(
            " (actual time={:.3}..{time:.3} rows={rows:.0} loops={loops})",
            node.actual_startup_time_ms.unwrap_or(0.0)
        ));
    }
    out.push('\n');
    let details: [(&str, Option<String>); 8] = [
        ("Index Cond", node.index_cond.clone()),
        ("Recheck Cond", node.recheck_cond.clone()),
        ("Hash Cond", node.hash_cond.clone()),
        ("Merge Cond", node.merge_cond.clone()),
        ("Join Filter", node.join_filter.clone()),
        ("Filter", node.filter.clone()),
        (
            "Sort Key",
            (!node.sort_key.is_empty()).then(|| node.sort_key.join(", ")),
        ),
        (
            "Group Key",
            (!node.group_key.is_empty()).then(|| node.group_key.join(", ")),
        ),
    ];
    for (label, value) in details {
        if let Some(value) = value {
            out.push_str(&format!("{detail_indent}{label}: {value}\n"));
        }
    }
    if let Some(removed) = node.rows_removed_by_filter {
        out.push_str(&format!(
            "{detail_indent}Rows Removed by Filter: {removed:.0}\n"
        ));
    }
    if let (Some(method), Some(space)) = (&node.sort_method, &node.sort_space_type) {
        out.push_str(&format!(
            "{detail_indent}Sort Method: {method}  {space}: {}kB\n",
            node.sort_space_used_kb.unwrap_or(0)
        ));
    }
    for child in &node.children {
        render_node(child, depth + 1, out);
    }
}

/// `Seq Scan on users u`, `Index Scan using users_pkey on users`, `Hash Join`…
fn title(node: &PlanNode) -> String {
    let mut title = match (&node.strategy, node.node_type.as_str()) {
        (Some(strategy), "Aggregate") if strategy != "Plain" => format!("{strategy}Aggregate"),
        _ => node.node_type.clone(),
    };
    if let Some(join) = node.join_type.as_deref().filter(|join| *join != "Inner") {
        title = title.replace(" Join", &format!(" {join} Join"));
    }
    if let Some(index) = &node.index_name {
        // A bitmap index scan names only its index, with "on".
        let word = if node.relation_name.is_some() {
            "using"
        } else {
            "on"
        };
        title.push_str(&format!(" {word} {index}"));
    }
    if let Some(relation) = &node.relation_name {
        title.push_str(" on ");
        if let Some(schema) = &node.schema {
            title.push_str(&format!("{schema}."));
        }
        title.push_str(relation);
        if let Some(alias) = node.alias.as_ref().filter(|alias| *alias != relation) {
            title.push_str(&format!(" {alias}"));
        }
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_explain() {
        let plan = Plan::from_json_str(
            r#"[{"Plan": {"Node Type": "Hash Join", "Join Type": "Inner", "Startup Cost": 1.5,
                "Total Cost": 40.25, "Plan Rows": 10, "Plan Width": 16, "Hash Cond": "(o.user_id = u.id)",
                "Plans": [
                  {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "orders",
                   "Alias": "o", "Startup Cost": 0.0, "Total Cost": 30.0, "Plan Rows": 1000,
                   "Plan Width": 8, "Filter": "(status = $1)"},
                  {"Node Type": "Hash", "Parent Relationship": "Inner", "Startup Cost": 1.2,
                   "Total Cost": 1.2, "Plan Rows": 10, "Plan Width": 8,
                   "Plans": [{"Node Type": "Index Scan", "Parent Relationship": "Outer",
                     "Relation Name": "users", "Alias": "u", "Index Name": "users_pkey",
                     "Startup Cost": 0.29, "Total Cost": 1.2, "Plan Rows": 10, "Plan Width": 8,
                     "Index Cond": "(id = $2)"}]}
                ]}}]"#,
        )
        .unwrap();
        insta::assert_snapshot!(render_plan(&plan));
    }
}
