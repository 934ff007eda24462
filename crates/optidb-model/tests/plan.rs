//! Typed plan trees read from real PostgreSQL 15 EXPLAIN output (the
//! fixtures under `tests/plans/`; `tests/plans/README.md` says how each was made).

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use optidb_model::plan::{Plan, PlanError, PlanOutcome, StatementPlan};

/// Every fixture, by name.
const FIXTURES: &[(&str, &str)] = &[
    ("aggregate", include_str!("plans/aggregate.json")),
    (
        "bitmap_scan_analyze_buffers",
        include_str!("plans/bitmap_scan_analyze_buffers.json"),
    ),
    ("generic_select", include_str!("plans/generic_select.json")),
    ("generic_update", include_str!("plans/generic_update.json")),
    ("hash_join", include_str!("plans/hash_join.json")),
    (
        "hash_join_spill_analyze_buffers",
        include_str!("plans/hash_join_spill_analyze_buffers.json"),
    ),
    ("index_scan", include_str!("plans/index_scan.json")),
    (
        "index_scan_backward",
        include_str!("plans/index_scan_backward.json"),
    ),
    ("merge_join", include_str!("plans/merge_join.json")),
    (
        "misestimate_analyze",
        include_str!("plans/misestimate_analyze.json"),
    ),
    ("nested_loop", include_str!("plans/nested_loop.json")),
    (
        "never_executed_analyze",
        include_str!("plans/never_executed_analyze.json"),
    ),
    (
        "parallel_analyze_verbose_buffers",
        include_str!("plans/parallel_analyze_verbose_buffers.json"),
    ),
    (
        "seq_scan_filter",
        include_str!("plans/seq_scan_filter.json"),
    ),
    (
        "sort_external_analyze_buffers",
        include_str!("plans/sort_external_analyze_buffers.json"),
    ),
    ("subplan", include_str!("plans/subplan.json")),
    (
        "top_n_sort_analyze",
        include_str!("plans/top_n_sort_analyze.json"),
    ),
];

fn fixture(name: &str) -> Plan {
    let (_, text) = FIXTURES
        .iter()
        .find(|(fixture, _)| *fixture == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    text.parse().unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn node_types(plan: &Plan) -> Vec<&str> {
    plan.nodes().map(|node| node.node_type.as_str()).collect()
}

#[test]
fn every_fixture_parses_and_round_trips_through_snapshot_json() {
    for (name, text) in FIXTURES {
        let plan: Plan = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        let saved = serde_json::to_string_pretty(&plan).unwrap();
        let back: Plan = serde_json::from_str(&saved).unwrap();
        assert_eq!(back, plan, "{name}");
        // What is saved is still EXPLAIN JSON: it reads through the EXPLAIN path too.
        assert_eq!(Plan::from_json_str(&saved).unwrap(), plan, "{name}");
        // Modelled keys never also land in the extra maps.
        for node in plan.nodes() {
            for key in node.extra.keys() {
                assert!(
                    !matches!(
                        key.as_str(),
                        "Node Type" | "Plans" | "Total Cost" | "Shared Hit Blocks" | "Filter"
                    ),
                    "{name}: {key} left in extra"
                );
            }
        }
    }
}

#[test]
fn parses_from_a_json_value_as_well_as_text() {
    let (_, text) = FIXTURES[0];
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(Plan::from_json(&value).unwrap(), text.parse().unwrap());
    assert_eq!(Plan::from_json(&value[0]).unwrap(), text.parse().unwrap());
}

#[test]
fn seq_scan_with_a_filter_is_reported_over_the_row_threshold_only() {
    let plan = fixture("seq_scan_filter");
    let root = &plan.root;
    assert_eq!(root.node_type, "Seq Scan");
    assert_eq!(root.relation_name.as_deref(), Some("orders"));
    assert_eq!(root.alias.as_deref(), Some("orders"));
    assert_eq!((root.startup_cost, root.total_cost), (0.0, 2236.0));
    assert_eq!((root.plan_rows, root.plan_width), (16835.0, 27));
    assert!(!root.parallel_aware);
    assert_eq!(root.extra.get("Async Capable"), Some(&false.into()));

    let scans = plan.seq_scans_over(16_835);
    assert_eq!(scans.len(), 1);
    let scan = scans[0];
    assert_eq!(scan.relation, "orders");
    assert_eq!(scan.schema, None);
    assert_eq!(
        scan.filter,
        Some("((total > '50'::numeric) AND (status = 'new'::text))")
    );
    assert_eq!(scan.rows, 16835.0);
    assert!(!scan.actual, "no ANALYZE: the estimate is used");
    assert!(plan.seq_scans_over(16_836).is_empty());
    assert_eq!(plan.total_cost(), 2236.0);
    assert!(!plan.is_analyzed());
    assert_eq!(plan.planning_time_ms, None);
}

#[test]
fn index_scan_names_its_index_condition_and_direction() {
    let plan = fixture("index_scan");
    let root = &plan.root;
    assert_eq!(root.node_type, "Index Scan");
    assert_eq!(root.index_name.as_deref(), Some("orders_pkey"));
    assert_eq!(root.scan_direction.as_deref(), Some("Forward"));
    assert_eq!(root.index_cond.as_deref(), Some("(id = 42)"));
    assert!(plan.seq_scans_over(0).is_empty());

    let backward = fixture("index_scan_backward");
    assert_eq!(node_types(&backward), ["Limit", "Index Scan"]);
    let scan = &backward.root.children[0];
    assert_eq!(scan.parent_relationship.as_deref(), Some("Outer"));
    assert_eq!(scan.scan_direction.as_deref(), Some("Backward"));
    assert_eq!(scan.index_name.as_deref(), Some("orders_created_at_idx"));
}

#[test]
fn nodes_iterate_depth_first_parents_before_children() {
    let plan = fixture("nested_loop");
    assert_eq!(
        node_types(&plan),
        [
            "Nested Loop",
            "Index Scan",
            "Bitmap Heap Scan",
            "Bitmap Index Scan"
        ]
    );
    let root = &plan.root;
    assert_eq!(root.join_type.as_deref(), Some("Inner"));
    let heap = &root.children[1];
    assert_eq!(heap.parent_relationship.as_deref(), Some("Inner"));
    assert_eq!(heap.recheck_cond.as_deref(), Some("(customer_id = 7)"));
    // A bitmap index scan names the index but no table.
    let bitmap_index = &heap.children[0];
    assert_eq!(
        bitmap_index.index_name.as_deref(),
        Some("orders_customer_id_idx")
    );
    assert_eq!(bitmap_index.relation_name, None);
}

#[test]
fn tables_are_distinct_and_sorted() {
    let plan = fixture("nested_loop");
    let tables: Vec<String> = plan.tables().iter().map(|t| t.to_string()).collect();
    assert_eq!(tables, ["customers", "orders"]);
    let subplan = fixture("subplan");
    let tables: Vec<String> = subplan.tables().iter().map(|t| t.to_string()).collect();
    assert_eq!(tables, ["customers", "orders"]);
    let verbose = fixture("parallel_analyze_verbose_buffers");
    let tables: Vec<String> = verbose.tables().iter().map(|t| t.to_string()).collect();
    assert_eq!(tables, ["public.orders"]);
}

#[test]
fn hash_join_keeps_its_condition_and_finds_both_seq_scans_in_order() {
    let plan = fixture("hash_join");
    assert_eq!(
        plan.root.hash_cond.as_deref(),
        Some("(o.customer_id = c.id)")
    );
    assert_eq!(plan.root.extra.get("Inner Unique"), Some(&true.into()));
    let scans = plan.seq_scans_over(1000);
    let found: Vec<(&str, Option<&str>, Option<&str>)> = scans
        .iter()
        .map(|s| (s.relation, s.alias, s.filter))
        .collect();
    assert_eq!(
        found,
        [
            ("orders", Some("o"), Some("(status = 'paid'::text)")),
            ("customers", Some("c"), None),
        ]
    );
    assert_eq!(plan.seq_scans_over(10_000).len(), 1);
}

#[test]
fn merge_join_keeps_merge_condition_and_join_filter() {
    let plan = fixture("merge_join");
    assert_eq!(plan.root.node_type, "Merge Join");
    assert_eq!(
        plan.root.merge_cond.as_deref(),
        Some("(c.id = o.customer_id)")
    );
    assert_eq!(
        plan.root.join_filter.as_deref(),
        Some("(o.total > (c.id)::numeric)")
    );
}

#[test]
fn aggregate_keeps_strategy_and_group_key() {
    let plan = fixture("aggregate");
    assert_eq!(plan.root.strategy.as_deref(), Some("Sorted"));
    assert_eq!(plan.root.group_key, ["customer_id"]);
    assert_eq!(plan.root.extra.get("Partial Mode"), Some(&"Simple".into()));
}

#[test]
fn subplan_is_a_child_named_by_its_relationship() {
    let plan = fixture("subplan");
    let sub = &plan.root.children[0];
    assert_eq!(sub.parent_relationship.as_deref(), Some("SubPlan"));
    assert_eq!(sub.subplan_name.as_deref(), Some("SubPlan 1"));
    assert_eq!(sub.strategy.as_deref(), Some("Plain"));
    assert_eq!(plan.root.filter.as_deref(), Some("(country = 'FR'::text)"));
}

#[test]
fn external_merge_sort_spills_and_carries_buffers_and_timings() {
    let plan = fixture("sort_external_analyze_buffers");
    assert!(plan.is_analyzed());
    assert_eq!(plan.planning_time_ms, Some(0.257));
    assert_eq!(plan.execution_time_ms, Some(81.921));
    assert_eq!(plan.extra.get("Triggers"), Some(&serde_json::json!([])));
    let planning = plan.planning.as_ref().unwrap();
    assert_eq!(planning.buffers.unwrap().shared_hit, 123);
    assert!(planning.extra.is_empty());

    let sort = &plan.root;
    assert_eq!(sort.sort_key, ["total DESC", "id"]);
    assert_eq!(sort.sort_method.as_deref(), Some("external merge"));
    assert_eq!(sort.sort_space_used_kb, Some(3824));
    assert_eq!(sort.sort_space_type.as_deref(), Some("Disk"));
    assert_eq!(
        (sort.actual_rows, sort.actual_loops),
        (Some(100000.0), Some(1))
    );
    assert_eq!(sort.actual_startup_time_ms, Some(67.264));
    assert_eq!(sort.actual_total_time_ms, Some(78.626));
    let buffers = sort.buffers.unwrap();
    assert_eq!(
        (buffers.shared_hit, buffers.temp_read, buffers.temp_written),
        (742, 1420, 1596)
    );
    assert!(!sort.extra.contains_key("Temp Written Blocks"));

    let spilled: Vec<&str> = plan
        .spilling_sorts()
        .iter()
        .map(|n| n.node_type.as_str())
        .collect();
    assert_eq!(spilled, ["Sort"]);
    // Measured rows win over the estimate for an analyzed plan.
    let scans = plan.seq_scans_over(100_000);
    assert_eq!(scans.len(), 1);
    assert!(scans[0].actual);
}

#[test]
fn in_memory_sorts_do_not_spill() {
    let plan = fixture("top_n_sort_analyze");
    assert!(plan.spilling_sorts().is_empty());
    assert!(plan.spilling_nodes().is_empty());
    let sort = &plan.root.children[0];
    assert_eq!(sort.sort_method.as_deref(), Some("top-N heapsort"));
    assert_eq!(sort.sort_space_type.as_deref(), Some("Memory"));
    // No BUFFERS option: no counters.
    assert!(plan.nodes().all(|node| node.buffers.is_none()));
    assert!(plan.planning.is_none());
}

#[test]
fn hash_with_several_batches_is_a_spill_but_not_a_sort_spill() {
    let plan = fixture("hash_join_spill_analyze_buffers");
    assert!(plan.spilling_sorts().is_empty());
    let spilled: Vec<(&str, Option<u64>)> = plan
        .spilling_nodes()
        .iter()
        .map(|n| (n.node_type.as_str(), n.hash_batches))
        .collect();
    assert_eq!(spilled, [("Hash", Some(4))]);
    let hash = plan.nodes().find(|n| n.node_type == "Hash").unwrap();
    assert_eq!(hash.original_hash_batches, Some(4));
    assert_eq!(hash.hash_buckets, Some(4096));
    assert_eq!(hash.peak_memory_kb, Some(80));
    assert_eq!(plan.root.hashagg_batches, Some(1));
    assert_eq!(plan.root.disk_usage_kb, Some(0));
}

#[test]
fn rows_removed_by_filter_and_recheck_are_read() {
    let plan = fixture("bitmap_scan_analyze_buffers");
    let heap = &plan.root;
    assert_eq!(heap.rows_removed_by_filter, Some(134.0));
    assert_eq!(heap.rows_removed_by_index_recheck, Some(0.0));
    assert_eq!(heap.filter.as_deref(), Some("(status = 'new'::text)"));
}

#[test]
fn parallel_plans_keep_workers_schema_and_count_rows_over_all_loops() {
    let plan = fixture("parallel_analyze_verbose_buffers");
    let gather = plan
        .nodes()
        .find(|n| n.node_type == "Gather Merge")
        .unwrap();
    assert_eq!(
        (gather.workers_planned, gather.workers_launched),
        (Some(2), Some(2))
    );
    let scan = plan.nodes().find(|n| n.is_seq_scan()).unwrap();
    assert!(scan.parallel_aware);
    assert_eq!(scan.schema.as_deref(), Some("public"));
    assert!(scan.extra.contains_key("Workers"));
    assert!(scan.extra.contains_key("Output"));
    assert_eq!(scan.actual_rows_total(), Some(29967.0 * 3.0));
    let scans = plan.seq_scans_over(80_000);
    assert_eq!(scans.len(), 1);
    assert_eq!((scans[0].schema, scans[0].rows), (Some("public"), 89901.0));
}

#[test]
fn row_estimates_find_the_worst_misestimate() {
    let plan = fixture("misestimate_analyze");
    let estimates = plan.row_estimates();
    assert_eq!(estimates.len(), 4);
    let worst = plan.worst_row_estimate().unwrap();
    // Both the join and the scan under it expected 500 rows and got 33333;
    // the first one in depth-first order wins the tie.
    assert_eq!(worst.node.node_type, "Hash Join");
    assert_eq!((worst.estimated, worst.actual), (500.0, 33333.0));
    assert!((worst.factor - 66.666).abs() < 0.01, "{}", worst.factor);
    assert!(worst.is_underestimate());
    let exact = estimates
        .iter()
        .find(|e| e.node.node_type == "Hash")
        .unwrap();
    assert_eq!(exact.factor, 1.0);
}

#[test]
fn nodes_that_never_ran_have_no_row_estimate() {
    let plan = fixture("never_executed_analyze");
    let inner = &plan.root.children[1];
    assert_eq!(inner.actual_loops, Some(0));
    assert!(!inner.was_executed());
    assert!(inner.row_estimate().is_none());
    let estimated: Vec<&str> = plan
        .row_estimates()
        .iter()
        .map(|e| e.node.node_type.as_str())
        .collect();
    assert_eq!(estimated, ["Nested Loop", "Index Scan"]);
    // Estimated 1, got 0: counted from 1 row, that is exact.
    assert_eq!(plan.worst_row_estimate().unwrap().factor, 1.0);
}

#[test]
fn plans_without_analyze_have_no_row_estimates() {
    let plan = fixture("hash_join");
    assert!(plan.row_estimates().is_empty());
    assert!(plan.worst_row_estimate().is_none());
    assert!(plan.spilling_nodes().is_empty());
}

#[test]
fn generic_plans_show_parameters_and_modify_table_operations() {
    let select = fixture("generic_select");
    let index = select
        .nodes()
        .find(|n| n.node_type == "Bitmap Index Scan")
        .unwrap();
    assert_eq!(index.index_cond.as_deref(), Some("(customer_id = $1)"));
    let update = fixture("generic_update");
    assert_eq!(update.root.node_type, "ModifyTable");
    assert_eq!(update.root.operation.as_deref(), Some("Update"));
    assert_eq!(update.root.relation_name.as_deref(), Some("orders"));
    assert_eq!(
        update.root.children[0].index_cond.as_deref(),
        Some("(id = $1)")
    );
}

#[test]
fn unknown_keys_never_fail_parsing_and_survive_a_round_trip() {
    let text = r#"[{"Plan": {"Node Type": "Teleport Scan", "Startup Cost": 0, "Total Cost": 1.5,
        "Plan Rows": 1, "Plan Width": 4, "Warp Factor": {"level": 9}, "Plans": []},
        "JIT": {"Functions": 3}, "Settings": {"work_mem": "64kB"}, "Planning Time": 0.1}]"#;
    let plan: Plan = text.parse().unwrap();
    assert_eq!(plan.root.node_type, "Teleport Scan");
    assert_eq!(
        plan.root.extra.get("Warp Factor"),
        Some(&serde_json::json!({"level": 9}))
    );
    assert_eq!(plan.extra.len(), 2);
    let saved = serde_json::to_value(&plan).unwrap();
    assert_eq!(saved["Plan"]["Warp Factor"]["level"], 9);
    assert_eq!(saved["JIT"]["Functions"], 3);
    assert_eq!(serde_json::from_value::<Plan>(saved).unwrap(), plan);
}

#[test]
fn what_is_not_one_explain_result_is_an_error() {
    assert!(matches!("[]".parse::<Plan>(), Err(PlanError::PlanCount(0))));
    let two = format!(
        "[{0}, {0}]",
        r#"{"Plan": {"Node Type": "Result", "Startup Cost": 0, "Total Cost": 0, "Plan Rows": 1, "Plan Width": 0}}"#
    );
    let err = two.parse::<Plan>().unwrap_err();
    assert!(err.to_string().contains("2 plans"), "{err}");
    let err = r#"[{"Plan": {"Startup Cost": 0}}]"#.parse::<Plan>().unwrap_err();
    assert!(matches!(err, PlanError::Json(_)), "{err}");
    assert!(err.to_string().contains("Node Type"), "{err}");
    assert!(matches!(
        "QUERY PLAN".parse::<Plan>(),
        Err(PlanError::Json(_))
    ));
}

#[test]
fn statement_plans_are_tagged_by_status_in_json_and_round_trip() {
    let planned = StatementPlan {
        queryid: 42,
        outcome: PlanOutcome::Planned {
            plan: Box::new(fixture("index_scan")),
        },
    };
    let skipped = StatementPlan {
        queryid: -7,
        outcome: PlanOutcome::Skipped {
            reason: "relation \"gone\" does not exist (SQLSTATE 42P01)".into(),
            sqlstate: Some("42P01".into()),
        },
    };
    let utility = StatementPlan {
        queryid: 3,
        outcome: PlanOutcome::Skipped {
            reason: "SET is a utility statement: it has no plan".into(),
            sqlstate: None,
        },
    };
    let json = serde_json::to_value([&planned, &skipped, &utility]).unwrap();
    assert_eq!(json[0]["outcome"]["status"], "planned");
    assert_eq!(
        json[0]["outcome"]["plan"]["Plan"]["Node Type"],
        "Index Scan"
    );
    assert_eq!(json[1]["outcome"]["status"], "skipped");
    assert_eq!(json[1]["outcome"]["sqlstate"], "42P01");
    assert!(json[2]["outcome"].get("sqlstate").is_none());
    let back: Vec<StatementPlan> = serde_json::from_value(json).unwrap();
    assert_eq!(back, [planned.clone(), skipped.clone(), utility]);
    assert_eq!(planned.plan().unwrap().root.node_type, "Index Scan");
    assert_eq!(planned.skip_reason(), None);
    assert!(skipped.plan().is_none());
    assert!(skipped.skip_reason().unwrap().contains("\"gone\""));
}
