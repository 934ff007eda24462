//! Query facts for real-world statements: one JSON snapshot per statement
//! (the SQL is in each snapshot's header), plus asserts on what matters
//! most to the rules and the index-candidate generator.

use optidb_fingerprint::{ParseError, analyze, facts};
use optidb_model::facts::{
    ColumnExpr, CteMaterialization, InValues, JsonbOp, NullsOrder, Operand, QueryFacts, RangeOp,
    RelationFacts, RelationKind, SetOperation, SortDirection, StatementKind, SubqueryClause,
    SubqueryKind,
};

/// Snapshots the facts of `sql` under `name` and returns them.
fn check(name: &str, sql: &str) -> QueryFacts {
    let facts = facts(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    insta::with_settings!({ description => sql, omit_expression => true }, {
        insta::assert_json_snapshot!(name, facts);
    });
    facts
}

/// The relation aliased (or, without an alias, named) `name`.
fn rel<'a>(facts: &'a QueryFacts, name: &str) -> &'a RelationFacts {
    facts
        .relations
        .iter()
        .find(|r| r.alias.as_deref().unwrap_or(&r.name) == name)
        .unwrap_or_else(|| panic!("no relation {name} in {facts:#?}"))
}

fn columns<'a>(list: impl IntoIterator<Item = &'a ColumnExpr>) -> Vec<&'a str> {
    list.into_iter().map(|c| c.column.as_str()).collect()
}

// ---------------------------------------------------------------- equality

#[test]
fn primary_key_lookup_is_an_equality_on_a_parameter() {
    let f = check(
        "pk_lookup",
        "SELECT id, email, name FROM users WHERE id = $1",
    );
    assert_eq!(f.kind, StatementKind::Select);
    let users = rel(&f, "users");
    assert_eq!(users.kind, RelationKind::Table);
    assert_eq!(
        columns(users.columns.equality.iter().map(|e| &e.column)),
        ["id"]
    );
    assert_eq!(users.columns.equality[0].value, Operand::Param);
}

#[test]
fn constants_are_told_apart_from_parameters() {
    let f = check(
        "eq_constant_vs_param",
        "SELECT * FROM orders WHERE status = 'paid' AND user_id = $1",
    );
    let eq = &rel(&f, "orders").columns.equality;
    assert_eq!(eq.len(), 2);
    assert_eq!(
        (eq[0].column.column.as_str(), eq[0].value),
        ("status", Operand::Constant)
    );
    assert_eq!(
        (eq[1].column.column.as_str(), eq[1].value),
        ("user_id", Operand::Param)
    );
}

#[test]
fn lower_of_a_column_is_an_expression_index_candidate() {
    let f = check(
        "lower_email",
        "SELECT id FROM users WHERE lower(email) = lower($1)",
    );
    let eq = &rel(&f, "users").columns.equality[0];
    assert_eq!(eq.column.column, "email");
    assert_eq!(eq.column.expression.as_deref(), Some("lower(email)"));
    // lower($1) has no column: it is the value side.
    assert_eq!(eq.value, Operand::Expression);
}

#[test]
fn a_cast_wraps_the_column_side_but_not_the_value_side() {
    let f = check(
        "casts",
        "SELECT * FROM events e WHERE e.created_at::date = $1::date AND e.user_id = $2::bigint",
    );
    let eq = &rel(&f, "e").columns.equality;
    assert_eq!(eq[0].column.expression.as_deref(), Some("created_at::date"));
    assert_eq!(eq[0].value, Operand::Param);
    assert_eq!(eq[1].column, ColumnExpr::bare("user_id"));
    assert_eq!(eq[1].value, Operand::Param);
}

#[test]
fn type_prefixed_parameters_from_pg_stat_statements_parse() {
    let f = check(
        "type_prefixed_param",
        "SELECT * FROM events WHERE created_at > timestamptz $1",
    );
    let range = &rel(&f, "events").columns.range[0];
    assert_eq!((range.op, range.value), (RangeOp::Gt, Operand::Param));
}

#[test]
fn bare_boolean_columns_are_equalities_on_constants() {
    let f = check(
        "bare_booleans",
        "SELECT * FROM users WHERE active AND NOT banned",
    );
    let eq = &rel(&f, "users").columns.equality;
    assert_eq!(columns(eq.iter().map(|e| &e.column)), ["active", "banned"]);
    assert!(eq.iter().all(|e| e.value == Operand::Constant));
}

// --------------------------------------------------------- parameter numbers

#[test]
fn each_predicate_records_the_number_of_the_parameter_it_compares_with() {
    let f = facts(
        "SELECT * FROM orders o WHERE $2 = o.user_id AND o.status = $1::text \
         AND o.created_at BETWEEN $3 AND timestamptz $4 AND o.total > 10 \
         AND o.id IN ($5, 7, $6) AND o.ref = ANY($7) AND o.note ILIKE $8 \
         AND lower(o.code) = lower($9) AND o.kind = 'x'",
    )
    .unwrap();
    let orders = rel(&f, "o");
    let eq: Vec<(&str, Option<u32>)> = orders
        .columns
        .equality
        .iter()
        .map(|e| (e.column.column.as_str(), e.param))
        .collect();
    assert_eq!(
        eq,
        [
            ("code", None), // lower($9) is an expression of it, not the value
            ("kind", None),
            ("status", Some(1)),
            ("user_id", Some(2)),
        ]
    );
    let range: Vec<(&str, Option<u32>, Option<u32>)> = orders
        .columns
        .range
        .iter()
        .map(|r| (r.column.column.as_str(), r.param, r.upper_param))
        .collect();
    assert_eq!(
        range,
        [("created_at", Some(3), Some(4)), ("total", None, None)]
    );
    let in_lists: Vec<(&str, &[u32])> = orders
        .columns
        .in_list
        .iter()
        .map(|i| (i.column.column.as_str(), i.params.as_slice()))
        .collect();
    assert_eq!(in_lists, [("id", &[5, 6][..]), ("ref", &[7][..])]);
    assert_eq!(orders.columns.like[0].param, Some(8));
}

#[test]
fn the_same_comparison_with_two_parameters_stays_one_predicate() {
    let f = facts("SELECT * FROM t WHERE a = $2 OR a = $1").unwrap();
    let eq = &rel(&f, "t").columns.equality;
    assert_eq!(eq.len(), 1, "{eq:?}");
    assert_eq!(eq[0].param, Some(1));
}

// ------------------------------------------------------------------- range

#[test]
fn range_comparisons_and_between() {
    let f = check(
        "ranges",
        "SELECT * FROM orders WHERE created_at >= $1 AND created_at < $2 AND total BETWEEN $3 AND $4",
    );
    let ops: Vec<(&str, RangeOp)> = rel(&f, "orders")
        .columns
        .range
        .iter()
        .map(|r| (r.column.column.as_str(), r.op))
        .collect();
    assert_eq!(
        ops,
        [
            ("created_at", RangeOp::Lt),
            ("created_at", RangeOp::Ge),
            ("total", RangeOp::Between)
        ]
    );
}

#[test]
fn a_comparison_with_the_column_on_the_right_is_flipped() {
    let f = check(
        "flipped_comparison",
        "SELECT * FROM orders WHERE $1 < created_at AND 100 >= total",
    );
    let ops: Vec<(&str, RangeOp, Operand)> = rel(&f, "orders")
        .columns
        .range
        .iter()
        .map(|r| (r.column.column.as_str(), r.op, r.value))
        .collect();
    assert_eq!(
        ops,
        [
            ("created_at", RangeOp::Gt, Operand::Param),
            ("total", RangeOp::Le, Operand::Constant)
        ]
    );
}

#[test]
fn not_inverts_comparisons() {
    let f = check(
        "not_inverts",
        "SELECT * FROM orders WHERE NOT (total > $1) AND NOT (status = $2)",
    );
    let orders = rel(&f, "orders");
    assert_eq!(orders.columns.range[0].op, RangeOp::Le);
    assert_eq!(orders.columns.other[0].operator, "<>");
    assert!(orders.columns.equality.is_empty());
}

#[test]
fn coalesce_over_two_columns_of_one_table_is_one_expression() {
    let f = check(
        "coalesce_range",
        "SELECT * FROM posts WHERE coalesce(updated_at, created_at) > $1",
    );
    let range = &rel(&f, "posts").columns.range[0];
    assert_eq!(range.column.column, "updated_at");
    assert_eq!(
        range.column.expression.as_deref(),
        Some("COALESCE(updated_at, created_at)")
    );
}

// --------------------------------------------------------------------- IN

#[test]
fn in_lists_count_their_items() {
    let f = check(
        "in_list",
        "SELECT * FROM orders WHERE status IN ('paid', 'shipped', 'refunded')",
    );
    let list = &rel(&f, "orders").columns.in_list[0];
    assert_eq!(list.values, InValues::List(3));
    assert!(!list.negated);
}

#[test]
fn pg18_squashed_in_lists_parse_as_one_item() {
    let f = check(
        "in_list_squashed",
        "SELECT * FROM orders WHERE id IN ($1 /*, ... */)",
    );
    assert_eq!(
        rel(&f, "orders").columns.in_list[0].values,
        InValues::List(1)
    );
}

#[test]
fn any_of_an_array_parameter_is_an_in_list_and_all_is_its_negation() {
    let f = check(
        "any_all",
        "SELECT * FROM users WHERE id = ANY($1) AND org_id <> ALL($2::int[])",
    );
    let lists = &rel(&f, "users").columns.in_list;
    assert_eq!(lists.len(), 2);
    assert_eq!(
        (
            lists[0].column.column.as_str(),
            lists[0].negated,
            lists[0].values
        ),
        ("id", false, InValues::Array)
    );
    assert_eq!(
        (lists[1].column.column.as_str(), lists[1].negated),
        ("org_id", true)
    );
}

#[test]
fn not_in_lists_are_negated() {
    let f = check(
        "not_in_list",
        "SELECT * FROM tasks WHERE state NOT IN ($1, $2)",
    );
    let list = &rel(&f, "tasks").columns.in_list[0];
    assert!(list.negated);
    assert_eq!(list.values, InValues::List(2));
}

// ------------------------------------------------------------------- LIKE

#[test]
fn ilike_with_a_leading_wildcard() {
    let f = check(
        "ilike_leading_wildcard",
        "SELECT * FROM users WHERE name ILIKE '%smith'",
    );
    let like = &rel(&f, "users").columns.like[0];
    assert!(like.case_insensitive);
    assert_eq!(like.leading_wildcard, Some(true));
}

#[test]
fn like_with_a_literal_prefix_has_no_leading_wildcard() {
    let f = check("like_prefix", "SELECT * FROM users WHERE email LIKE 'bob%'");
    let like = &rel(&f, "users").columns.like[0];
    assert!(!like.case_insensitive);
    assert_eq!(like.leading_wildcard, Some(false));
}

#[test]
fn like_with_a_parameter_pattern_has_an_unknown_leading_wildcard() {
    let f = check(
        "like_param",
        "SELECT * FROM users WHERE email LIKE $1 AND name NOT ILIKE $2",
    );
    let like = &rel(&f, "users").columns.like;
    assert_eq!(like[0].leading_wildcard, None);
    assert!(!like[0].negated);
    assert!(like[1].negated && like[1].case_insensitive);
}

#[test]
fn like_with_escape_looks_at_the_pattern() {
    let f = check(
        "like_escape",
        "SELECT * FROM files WHERE path LIKE '%!_tmp' ESCAPE '!'",
    );
    assert_eq!(
        rel(&f, "files").columns.like[0].leading_wildcard,
        Some(true)
    );
}

#[test]
fn a_wildcard_concatenated_before_a_parameter_is_leading() {
    let f = check(
        "like_concat",
        "SELECT * FROM products WHERE title ILIKE '%' || $1 || '%'",
    );
    assert_eq!(
        rel(&f, "products").columns.like[0].leading_wildcard,
        Some(true)
    );
}

// ------------------------------------------------------------------ JSONB

#[test]
fn jsonb_operators_are_recorded_for_gin() {
    let f = check(
        "jsonb_operators",
        "SELECT * FROM events WHERE payload @> $1 AND payload ? 'user' AND tags ?| $2 AND attrs ?& $3 AND payload @? $4",
    );
    let ops: Vec<(&str, JsonbOp)> = rel(&f, "events")
        .columns
        .jsonb
        .iter()
        .map(|j| (j.column.column.as_str(), j.op))
        .collect();
    assert_eq!(
        ops,
        [
            ("attrs", JsonbOp::AllKeysExist),
            ("payload", JsonbOp::Contains),
            ("payload", JsonbOp::KeyExists),
            ("payload", JsonbOp::PathExists),
            ("tags", JsonbOp::AnyKeyExists),
        ]
    );
}

#[test]
fn jsonb_field_comparisons_are_expressions() {
    let f = check(
        "jsonb_field",
        "SELECT * FROM events WHERE payload ->> 'kind' = $1 AND (payload -> 'meta' ->> 'score')::int > $2",
    );
    let events = rel(&f, "events");
    assert_eq!(
        events.columns.equality[0].column.expression.as_deref(),
        Some("payload ->> 'kind'")
    );
    assert_eq!(
        events.columns.range[0].column.expression.as_deref(),
        Some("((payload -> 'meta') ->> 'score')::int4")
    );
    assert!(events.columns.jsonb.iter().all(|j| j.op == JsonbOp::Field));
    assert_eq!(events.columns.jsonb.len(), 2);
}

#[test]
fn containment_with_the_column_on_the_right_is_swapped() {
    let f = check(
        "contained_by_swapped",
        "SELECT * FROM docs WHERE $1 <@ tags",
    );
    assert_eq!(rel(&f, "docs").columns.jsonb[0].op, JsonbOp::Contains);
}

#[test]
fn full_text_match_on_an_expression() {
    let f = check(
        "full_text",
        "SELECT id FROM articles WHERE to_tsvector('english', body) @@ plainto_tsquery('english', $1)",
    );
    let jsonb = &rel(&f, "articles").columns.jsonb[0];
    assert_eq!(jsonb.op, JsonbOp::PathMatch);
    assert_eq!(
        jsonb.column.expression.as_deref(),
        Some("to_tsvector('english', body)")
    );
}

// ------------------------------------------------- NULL and other operators

#[test]
fn null_tests() {
    let f = check(
        "null_tests",
        "SELECT * FROM users WHERE deleted_at IS NULL AND confirmed_at IS NOT NULL",
    );
    let tests = &rel(&f, "users").columns.null_tests;
    assert_eq!(
        (tests[0].column.column.as_str(), tests[0].negated),
        ("confirmed_at", true)
    );
    assert_eq!(
        (tests[1].column.column.as_str(), tests[1].negated),
        ("deleted_at", false)
    );
}

#[test]
fn predicates_under_or_are_recorded() {
    let f = check(
        "or_predicates",
        "SELECT * FROM users WHERE email = $1 OR phone = $2",
    );
    assert_eq!(rel(&f, "users").columns.equality.len(), 2);
}

#[test]
fn other_operators_are_kept_as_written() {
    let f = check(
        "other_operators",
        "SELECT * FROM users WHERE name ~* $1 AND status != $2 AND code IS DISTINCT FROM $3 AND slug SIMILAR TO $4",
    );
    let ops: Vec<&str> = rel(&f, "users")
        .columns
        .other
        .iter()
        .map(|o| o.operator.as_str())
        .collect();
    assert_eq!(ops, ["IS DISTINCT FROM", "~*", "SIMILAR TO", "<>"]);
}

// ------------------------------------------------------------------ joins

#[test]
fn join_on_records_a_column_pair_and_both_sides() {
    let f = check(
        "join_on",
        "SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = $1",
    );
    assert_eq!(f.joins.len(), 1);
    let join = &f.joins[0];
    assert_eq!(
        (join.left.relation, join.left.column.column.as_str()),
        (Some(0), "user_id")
    );
    assert_eq!(
        (join.right.relation, join.right.column.column.as_str()),
        (Some(1), "id")
    );
    assert_eq!(rel(&f, "o").columns.equality[0].value, Operand::Column);
}

#[test]
fn join_in_where_clause_is_a_join_pair() {
    let f = check(
        "join_in_where",
        "SELECT * FROM orders o, order_items i WHERE i.order_id = o.id AND o.user_id = $1",
    );
    assert_eq!(f.joins.len(), 1);
    assert_eq!(f.joins[0].right.column.column, "order_id");
}

#[test]
fn join_using_pairs_the_named_column() {
    let f = check(
        "join_using",
        "SELECT * FROM orders JOIN order_items USING (order_id) WHERE order_items.sku = $1",
    );
    let join = &f.joins[0];
    assert_eq!(
        (join.left.relation, join.right.relation),
        (Some(0), Some(1))
    );
    assert_eq!(join.left.column.column, "order_id");
}

#[test]
fn schema_qualified_tables_in_a_three_way_left_join() {
    let f = check(
        "left_joins_with_schema",
        "SELECT c.name, count(o.id) FROM sales.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id \
         LEFT JOIN sales.refunds r ON r.order_id = o.id AND r.created_at > $1 GROUP BY c.name",
    );
    assert_eq!(
        f.table_names(),
        ["sales.customers", "sales.orders", "sales.refunds"]
    );
    assert_eq!(f.joins.len(), 2);
    assert_eq!(rel(&f, "r").columns.range[0].column.column, "created_at");
    assert_eq!(columns(&rel(&f, "c").columns.group_by), ["name"]);
}

#[test]
fn a_self_join_keeps_both_references_apart() {
    let f = check(
        "self_join",
        "SELECT e.name, m.name FROM employees e JOIN employees m ON m.id = e.manager_id WHERE e.dept_id = $1",
    );
    assert_eq!(f.relations.len(), 2);
    assert_eq!(
        columns(rel(&f, "e").columns.equality.iter().map(|e| &e.column)),
        ["dept_id", "manager_id"]
    );
    assert_eq!(
        columns(rel(&f, "m").columns.equality.iter().map(|e| &e.column)),
        ["id"]
    );
}

#[test]
fn an_unqualified_column_with_two_tables_in_scope_is_unresolved() {
    let f = check(
        "unqualified_ambiguous",
        "SELECT * FROM orders o JOIN users u ON u.id = o.user_id WHERE status = $1",
    );
    assert_eq!(
        columns(f.unresolved.equality.iter().map(|e| &e.column)),
        ["status"]
    );
    assert!(
        rel(&f, "o")
            .columns
            .equality
            .iter()
            .all(|e| e.column.column != "status")
    );
}

#[test]
fn a_table_name_qualifies_its_columns_when_there_is_no_alias() {
    let f = check(
        "table_name_qualifier",
        "SELECT * FROM public.orders WHERE orders.user_id = $1 AND public.orders.status = $2 ORDER BY created_at",
    );
    let orders = rel(&f, "orders");
    assert_eq!(orders.schema.as_deref(), Some("public"));
    assert_eq!(orders.columns.equality.len(), 2);
    assert_eq!(orders.columns.order_by[0].column.column, "created_at");
}

#[test]
fn a_function_in_from_with_column_names() {
    let f = check(
        "unnest_join",
        "SELECT u.* FROM users u JOIN unnest($1::int[]) AS ids(id) ON ids.id = u.id",
    );
    assert_eq!(rel(&f, "ids").kind, RelationKind::Function);
    assert_eq!(rel(&f, "ids").name, "unnest");
    assert_eq!(f.joins.len(), 1);
}

// ------------------------------------------------------------- subqueries

#[test]
fn correlated_exists() {
    let f = check(
        "correlated_exists",
        "SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.total > $1)",
    );
    let sub = &f.subqueries[0];
    assert_eq!(
        (sub.kind, sub.clause),
        (SubqueryKind::Exists, SubqueryClause::Where)
    );
    assert!(sub.correlated);
    assert_eq!(sub.correlated_columns[0].relation, Some(0));
    assert_eq!(sub.correlated_columns[0].column.column, "id");
    // The correlation is also a join pair.
    assert_eq!(f.joins.len(), 1);
}

#[test]
fn uncorrelated_in_subquery() {
    let f = check(
        "uncorrelated_in",
        "SELECT * FROM users WHERE id IN (SELECT user_id FROM orders WHERE total > $1)",
    );
    let sub = &f.subqueries[0];
    assert_eq!(sub.kind, SubqueryKind::In);
    assert!(!sub.correlated);
    let list = &rel(&f, "users").columns.in_list[0];
    assert_eq!(list.values, InValues::Subquery);
    // The subquery's own unqualified columns are its table's.
    assert_eq!(rel(&f, "orders").columns.range[0].column.column, "total");
}

#[test]
fn not_exists_is_a_negated_correlated_subquery() {
    let f = check(
        "not_exists",
        "SELECT * FROM users u WHERE NOT EXISTS (SELECT 1 FROM bans b WHERE b.user_id = u.id)",
    );
    assert!(f.subqueries[0].negated && f.subqueries[0].correlated);
}

#[test]
fn not_in_subquery_is_negated() {
    let f = check(
        "not_in_subquery",
        "SELECT * FROM users WHERE id NOT IN (SELECT user_id FROM bans)",
    );
    assert!(f.subqueries[0].negated);
    assert!(!f.subqueries[0].correlated);
    assert!(rel(&f, "users").columns.in_list[0].negated);
}

#[test]
fn scalar_subquery_in_the_select_list_is_correlated() {
    let f = check(
        "scalar_subquery_select_list",
        "SELECT u.id, (SELECT max(o.created_at) FROM orders o WHERE o.user_id = u.id) AS last_order FROM users u",
    );
    let sub = &f.subqueries[0];
    assert_eq!(
        (sub.kind, sub.clause),
        (SubqueryKind::Scalar, SubqueryClause::SelectList)
    );
    assert!(sub.correlated);
}

#[test]
fn an_unqualified_column_in_a_subquery_belongs_to_the_subquery() {
    let f = check(
        "unqualified_in_subquery",
        "SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders WHERE user_id = id)",
    );
    assert!(!f.subqueries[0].correlated);
    // Two columns of one relation compared: not an equality on a value.
    assert_eq!(rel(&f, "orders").columns.other[0].operator, "=");
}

#[test]
fn nested_correlation_marks_every_level_it_crosses() {
    let f = check(
        "nested_correlation",
        "SELECT * FROM users u WHERE u.id IN (SELECT o.user_id FROM orders o WHERE EXISTS \
         (SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.user_id = u.id))",
    );
    let (outer, inner) = (&f.subqueries[0], &f.subqueries[1]);
    assert_eq!(inner.parent, outer.block);
    // The inner one references o (one level out) and u (two levels out),
    // which makes the middle one correlated too, on u only.
    assert_eq!(
        columns(inner.correlated_columns.iter().map(|c| &c.column)),
        ["id", "id"]
    );
    assert_eq!(outer.correlated_columns.len(), 1);
    assert_eq!(outer.correlated_columns[0].relation, Some(0));
}

#[test]
fn a_derived_table_exposes_its_output_columns() {
    let f = check(
        "derived_table",
        "SELECT t.user_id, t.n FROM (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id) t \
         WHERE t.n > $1 ORDER BY t.n DESC",
    );
    let t = rel(&f, "t");
    assert_eq!(t.kind, RelationKind::Subquery);
    assert_eq!(t.columns.range[0].column.column, "n");
    assert_eq!(t.columns.order_by[0].direction, SortDirection::Desc);
    assert_eq!(f.subqueries[0].kind, SubqueryKind::Derived);
    assert!(!f.subqueries[0].correlated);
}

#[test]
fn a_lateral_subquery_is_correlated() {
    let f = check(
        "lateral",
        "SELECT u.id, l.* FROM users u CROSS JOIN LATERAL (SELECT o.id, o.total FROM orders o \
         WHERE o.user_id = u.id ORDER BY o.created_at DESC LIMIT 3) l",
    );
    assert!(f.subqueries[0].lateral && f.subqueries[0].correlated);
    // LIMIT of a subquery is not the statement's.
    assert!(!f.limit);
}

#[test]
fn a_derived_table_without_lateral_cannot_see_its_siblings() {
    let f = check(
        "derived_no_lateral",
        "SELECT * FROM users u, (SELECT * FROM orders o WHERE o.user_id = u.id) x",
    );
    // Not a valid reference in PostgreSQL: not a correlation either.
    assert!(!f.subqueries[0].correlated);
}

#[test]
fn subquery_with_limit_inside_delete() {
    let f = check(
        "delete_keep_latest",
        "DELETE FROM notifications WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM notifications WHERE user_id = $1 ORDER BY created_at DESC LIMIT 100)",
    );
    assert_eq!(f.kind, StatementKind::Delete);
    assert_eq!(f.relations.len(), 2);
    assert!(f.relations[0].target && !f.relations[1].target);
    assert_eq!(
        f.relations[1].columns.order_by[0].column.column,
        "created_at"
    );
}

// ------------------------------------------------------------------- CTEs

#[test]
fn a_materialized_cte_reference_is_not_a_table() {
    let f = check(
        "cte_materialized",
        "WITH recent AS MATERIALIZED (SELECT * FROM orders WHERE created_at > $1) \
         SELECT * FROM recent r WHERE r.total > $2",
    );
    assert_eq!(f.ctes[0].materialized, CteMaterialization::Materialized);
    assert_eq!(rel(&f, "r").kind, RelationKind::Cte);
    assert_eq!(f.table_names(), ["orders"]);
    assert_eq!(f.subqueries[0].clause, SubqueryClause::Cte);
}

#[test]
fn a_cte_column_list_resolves_unqualified_columns() {
    let f = check(
        "cte_column_list",
        "WITH totals (uid, total) AS NOT MATERIALIZED (SELECT user_id, sum(amount) FROM payments GROUP BY user_id) \
         SELECT * FROM totals WHERE total > $1",
    );
    assert_eq!(f.ctes[0].materialized, CteMaterialization::NotMaterialized);
    assert_eq!(rel(&f, "totals").columns.range[0].column.column, "total");
}

#[test]
fn recursive_cte_references_itself() {
    let f = check(
        "recursive_cte",
        "WITH RECURSIVE tree AS (SELECT id, parent_id FROM categories WHERE id = $1 UNION ALL \
         SELECT c.id, c.parent_id FROM categories c JOIN tree t ON c.parent_id = t.id) SELECT * FROM tree",
    );
    assert!(f.ctes[0].recursive);
    assert_eq!(f.set_operations, [SetOperation::UnionAll]);
    assert_eq!(
        f.relations
            .iter()
            .filter(|r| r.kind == RelationKind::Cte)
            .count(),
        2
    );
    assert_eq!(f.table_names(), ["categories"]);
}

#[test]
fn a_data_modifying_cte_feeds_an_insert() {
    let f = check(
        "data_modifying_cte",
        "WITH moved AS (DELETE FROM queue WHERE id = ANY($1) RETURNING *) INSERT INTO archive SELECT * FROM moved",
    );
    assert_eq!(f.kind, StatementKind::Insert);
    assert_eq!(f.ctes[0].kind, StatementKind::Delete);
    assert!(f.returning);
    assert!(rel(&f, "queue").target && rel(&f, "archive").target);
}

// ------------------------------------------ ORDER BY, GROUP BY, windows

#[test]
fn window_functions_and_named_windows() {
    let f = check(
        "window_functions",
        "SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS rn, \
         sum(total) OVER w FROM orders WINDOW w AS (PARTITION BY user_id)",
    );
    assert_eq!(f.window_functions, ["row_number", "sum"]);
    assert!(f.aggregates.is_empty());
    assert!(rel(&f, "orders").columns.order_by.is_empty());
}

#[test]
fn group_by_position_and_alias_resolve_to_the_select_list() {
    let f = check(
        "group_by_position_alias",
        "SELECT date_trunc('day', created_at) AS day, status, count(*) FROM orders WHERE created_at >= $1 \
         GROUP BY 1, status HAVING count(*) > $2 ORDER BY day",
    );
    let orders = rel(&f, "orders");
    assert_eq!(
        orders.columns.group_by[0].expression.as_deref(),
        Some("date_trunc('day', created_at)")
    );
    assert_eq!(orders.columns.group_by[1], ColumnExpr::bare("status"));
    assert_eq!(
        orders.columns.order_by[0].column.expression.as_deref(),
        Some("date_trunc('day', created_at)")
    );
    assert_eq!(f.aggregates, ["count"]);
    // HAVING compares an aggregate: no predicate.
    assert_eq!(orders.columns.range.len(), 1);
}

#[test]
fn order_by_keys_keep_position_direction_and_nulls() {
    let f = check(
        "order_by_keys",
        "SELECT name AS n, email FROM users ORDER BY n ASC NULLS FIRST, 2 DESC",
    );
    let keys: Vec<(u32, &str, SortDirection, NullsOrder)> = rel(&f, "users")
        .columns
        .order_by
        .iter()
        .map(|k| (k.position, k.column.column.as_str(), k.direction, k.nulls))
        .collect();
    assert_eq!(
        keys,
        [
            (0, "name", SortDirection::Asc, NullsOrder::First),
            (1, "email", SortDirection::Desc, NullsOrder::Default)
        ]
    );
}

#[test]
fn distinct_on_with_limit_and_offset() {
    let f = check(
        "distinct_on_limit_offset",
        "SELECT DISTINCT ON (user_id) user_id, created_at FROM logins ORDER BY user_id, created_at DESC \
         LIMIT $1 OFFSET $2",
    );
    assert!(f.distinct && f.limit && f.offset);
    assert_eq!(rel(&f, "logins").columns.order_by.len(), 2);
}

#[test]
fn a_job_queue_poll_with_skip_locked() {
    let f = check(
        "queue_poll",
        "SELECT id FROM jobs WHERE queue = $1 AND run_at <= now() ORDER BY priority DESC, run_at \
         LIMIT 1 FOR UPDATE SKIP LOCKED",
    );
    let jobs = rel(&f, "jobs");
    assert_eq!(jobs.columns.range[0].value, Operand::Expression);
    assert_eq!(
        columns(jobs.columns.order_by.iter().map(|k| &k.column)),
        ["priority", "run_at"]
    );
}

// ---------------------------------------------------------- set operations

#[test]
fn set_operations_and_their_order_by() {
    let f = check(
        "set_operations",
        "SELECT id FROM a WHERE x = $1 UNION SELECT id FROM b EXCEPT SELECT id FROM c ORDER BY id",
    );
    assert_eq!(
        f.set_operations,
        [SetOperation::Union, SetOperation::Except]
    );
    assert_eq!(f.unresolved.order_by[0].column.column, "id");
    let blocks: Vec<u32> = f.relations.iter().map(|r| r.block).collect();
    assert_eq!(blocks.len(), 3);
    assert!(blocks.iter().all(|&b| b != 0));
}

#[test]
fn union_all_branches_keep_their_own_predicates() {
    let f = check(
        "union_all",
        "SELECT id FROM a WHERE x = 1 UNION ALL SELECT id FROM b WHERE y = 2 LIMIT 5",
    );
    assert_eq!(f.set_operations, [SetOperation::UnionAll]);
    assert!(f.limit);
    assert_eq!(rel(&f, "a").columns.equality[0].column.column, "x");
    assert_eq!(rel(&f, "b").columns.equality[0].column.column, "y");
}

// -------------------------------------------------------------------- DML

#[test]
fn insert_values_returning() {
    let f = check(
        "insert_returning",
        "INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id, created_at",
    );
    assert_eq!(f.kind, StatementKind::Insert);
    assert!(f.returning);
    assert!(rel(&f, "users").target);
}

#[test]
fn insert_select_reads_another_table() {
    let f = check(
        "insert_select",
        "INSERT INTO daily_totals (day, total) SELECT date_trunc('day', created_at), sum(total) FROM orders \
         WHERE created_at >= $1 GROUP BY 1",
    );
    assert!(rel(&f, "daily_totals").target);
    assert_eq!(rel(&f, "orders").columns.range.len(), 1);
    assert!(!f.returning);
}

#[test]
fn upsert_on_conflict_returning() {
    let f = check(
        "upsert",
        "INSERT INTO counters (key, n) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET n = counters.n + 1 RETURNING n",
    );
    assert!(f.returning);
    assert_eq!(f.relations.len(), 1);
}

#[test]
fn update_returning_records_assigned_columns() {
    let f = check(
        "update_returning",
        "UPDATE accounts SET balance = balance - $1, updated_at = now() WHERE id = $2 RETURNING balance",
    );
    let accounts = rel(&f, "accounts");
    assert!(accounts.target);
    assert_eq!(accounts.updated_columns, ["balance", "updated_at"]);
    assert_eq!(accounts.columns.equality[0].column.column, "id");
    assert!(f.returning);
}

#[test]
fn update_from_joins_another_table() {
    let f = check(
        "update_from",
        "UPDATE orders o SET status = $1 FROM users u WHERE u.id = o.user_id AND u.email = $2 AND o.status <> 'shipped'",
    );
    assert_eq!(f.joins.len(), 1);
    assert!(rel(&f, "o").target && !rel(&f, "u").target);
}

#[test]
fn delete_using_returning() {
    let f = check(
        "delete_using",
        "DELETE FROM sessions s USING users u WHERE s.user_id = u.id AND u.deleted_at IS NOT NULL RETURNING s.id",
    );
    assert_eq!(f.kind, StatementKind::Delete);
    assert!(f.returning);
    assert!(rel(&f, "u").columns.null_tests[0].negated);
}

#[test]
fn merge_joins_source_and_target() {
    let f = check(
        "merge",
        "MERGE INTO inventory t USING incoming s ON t.sku = s.sku WHEN MATCHED AND s.qty = 0 THEN DELETE \
         WHEN MATCHED THEN UPDATE SET qty = s.qty WHEN NOT MATCHED THEN INSERT (sku, qty) VALUES (s.sku, s.qty)",
    );
    assert_eq!(f.kind, StatementKind::Merge);
    assert_eq!(f.joins.len(), 1);
    assert!(rel(&f, "t").target);
    assert_eq!(rel(&f, "t").updated_columns, ["qty"]);
}

// ---------------------------------------------------- utility and errors

#[test]
fn utility_statements_get_their_command_tag() {
    for (sql, tag) in [
        ("SET statement_timeout = 0", "SET"),
        ("SHOW work_mem", "SHOW"),
        ("BEGIN", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("VACUUM ANALYZE orders", "VACUUM"),
        ("ANALYZE orders", "ANALYZE"),
        (
            "CREATE INDEX CONCURRENTLY ON orders (user_id)",
            "CREATE INDEX",
        ),
        ("EXPLAIN SELECT 1", "EXPLAIN"),
        ("CREATE ROLE app", "CreateRoleStmt"),
    ] {
        let f = facts(sql).unwrap();
        assert_eq!(f.kind, StatementKind::Utility(tag.into()), "{sql}");
        assert!(f.relations.is_empty(), "{sql}");
    }
}

#[test]
fn unparsable_texts_are_errors_with_the_parsers_message() {
    for sql in [
        "<insufficient privilege>",
        "SELECT * FROM users WHERE",
        "SELEC 1",
    ] {
        match facts(sql) {
            Err(ParseError::Syntax { reason }) => {
                assert!(reason.contains("syntax error"), "{sql}: {reason}")
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
}

#[test]
fn statements_nested_deeper_than_the_decoder_allows_are_an_error() {
    let sql = format!(
        "SELECT * FROM t WHERE x = {}1{}",
        "lower(".repeat(300),
        ")".repeat(300)
    );
    assert_eq!(facts(&sql), Err(ParseError::TooDeep));
    // A long flat AND list is no problem.
    let flat: Vec<String> = (1..=2000).map(|i| format!("c{i} = ${i}")).collect();
    let f = facts(&format!("SELECT * FROM t WHERE {}", flat.join(" AND "))).unwrap();
    assert_eq!(rel(&f, "t").columns.equality.len(), 2000);
}

#[test]
fn a_nul_byte_is_an_error_not_a_panic() {
    assert!(matches!(
        facts("SELECT 1\0"),
        Err(ParseError::Syntax { .. })
    ));
}

#[test]
fn only_single_statements_have_facts() {
    assert_eq!(
        facts("SELECT 1; SELECT 2"),
        Err(ParseError::NotOneStatement { count: 2 })
    );
    assert_eq!(
        facts("  -- nothing"),
        Err(ParseError::NotOneStatement { count: 0 })
    );
}

#[test]
fn analyze_returns_the_fingerprint_with_the_facts() {
    let a = analyze("SELECT * FROM users WHERE email = 'a@example.com'").unwrap();
    let b = analyze("SELECT * FROM users WHERE email = $1").unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint.len(), 16);
    assert_eq!(
        rel(&a.facts, "users").columns.equality[0].value,
        Operand::Constant
    );
    assert_eq!(
        rel(&b.facts, "users").columns.equality[0].value,
        Operand::Param
    );
}

#[test]
fn facts_are_deterministic_and_round_trip_through_json() {
    let sql = "SELECT * FROM a JOIN b ON b.x = a.x WHERE a.z IN (SELECT z FROM c WHERE c.w = a.w) ORDER BY b.y";
    let first = facts(sql).unwrap();
    let json = serde_json::to_string(&first).unwrap();
    assert_eq!(json, serde_json::to_string(&facts(sql).unwrap()).unwrap());
    let back: QueryFacts = serde_json::from_str(&json).unwrap();
    assert_eq!(back, first);
}
