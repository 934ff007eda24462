//! Simulating a drop on a sandbox copy (HypoPG 1.3 cannot hide an index):
//! the demo's duplicate index can go at no cost; a used index cannot.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use optidb_sandbox::Cluster;
use optidb_simulate::real::{RealOptions, cost_without_index};

#[tokio::test]
async fn dropping_the_duplicate_costs_nothing_and_dropping_a_used_index_does() {
    let (target_db, _) = common::demo_database().await;
    let (target, snapshot, workload) = common::observe(&target_db).await;
    let sandbox_db = Cluster::shared().unwrap().create_database().await.unwrap();
    let sandbox = sandbox_db.connect().await.unwrap();
    let statements = |needle: &str| {
        snapshot
            .statements
            .iter()
            .filter(|s| s.query.contains(needle))
            .cloned()
            .collect::<Vec<_>>()
    };

    // The unused twin of orders_created_at_idx1: the daily-sales range keeps its plan cost.
    let daily = statements("WHERE created_at >= $1 AND created_at < $2");
    assert_eq!(daily.len(), 1);
    let duplicate = cost_without_index(
        &target,
        &sandbox,
        &snapshot,
        &workload,
        &daily,
        ("public", "orders_created_at_idx"),
        &RealOptions::default(),
    )
    .await
    .unwrap();
    assert!(duplicate.skipped.is_none(), "{duplicate:?}");
    let effect = &duplicate.statements[0];
    assert!(
        effect.improvement >= -0.01,
        "dropping a duplicate must not cost: {effect:?}"
    );

    // The category listing's only index: dropping it costs.
    let listing = statements("ORDER BY price\nLIMIT $2");
    let used = cost_without_index(
        &target,
        &sandbox,
        &snapshot,
        &workload,
        &listing,
        ("public", "products_category_id_idx"),
        &RealOptions::default(),
    )
    .await
    .unwrap();
    let effect = &used.statements[0];
    assert!(
        effect.improvement < -0.2,
        "dropping a used index must show its cost: {effect:?}"
    );
    assert!(effect.uses_index);

    // Nothing was created on the target, and the sandbox is clean again.
    let leftovers: i64 = sandbox
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
}
