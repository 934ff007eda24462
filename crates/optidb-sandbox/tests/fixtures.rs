//! The fixtures deliver what they promise: every planted problem of the demo
//! is really there after load and workload, and the clean fixture keeps every
//! invariant that says a good advisor has nothing to recommend.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use optidb_sandbox::Cluster;
use optidb_sandbox::fixture::{CLEAN, DEMO, Fixture};

/// Small enough for a fast test, large enough for the planted problems
/// (the generators keep minimum table sizes).
const TEST_SCALE: f64 = 0.01;

/// Loads `fixture` into a fresh database and runs its workload.
async fn loaded(fixture: Fixture) -> tokio_postgres::Client {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    fixture.load(&client, TEST_SCALE).await.unwrap();
    let run = fixture.run_workload(&client, |_, _| {}).await.unwrap();
    assert_eq!(
        run.items
            .iter()
            .map(|item| u64::from(item.calls))
            .sum::<u64>(),
        fixture.workload().unwrap().total_calls()
    );
    // Checks run from another session, as an advisor would.
    db.connect().await.unwrap()
}

#[tokio::test]
async fn every_planted_problem_of_the_demo_is_there() {
    let expectations = DEMO.expectations().unwrap();
    let client = loaded(DEMO).await;
    let mut absent = Vec::new();
    for problem in &expectations.problems {
        if !problem.is_present(&client).await.unwrap() {
            absent.push(problem.id.as_str());
        }
    }
    assert!(absent.is_empty(), "planted problems not found: {absent:?}");
}

#[tokio::test]
async fn the_clean_fixture_keeps_its_promises() {
    let expectations = CLEAN.expectations().unwrap();
    assert!(expectations.problems.is_empty());
    let client = loaded(CLEAN).await;
    let mut broken = Vec::new();
    for invariant in &expectations.invariants {
        if !invariant.holds(&client).await.unwrap() {
            broken.push(invariant.id.as_str());
        }
    }
    assert!(
        broken.is_empty(),
        "clean-fixture invariants broken: {broken:?}"
    );
}

#[test]
fn the_demo_plants_every_problem_the_foundation_issue_lists() {
    let expectations = DEMO.expectations().unwrap();
    let kinds: HashSet<&str> = expectations
        .problems
        .iter()
        .map(|p| p.kind.as_str())
        .collect();
    for kind in [
        "missing-index",
        "missing-composite-index",
        "correlated-subquery",
        "leading-wildcard-like",
        "jsonb-without-gin",
        "fk-without-index",
        "duplicate-index",
        "redundant-index",
        "unused-index",
        "stale-statistics",
        "n-plus-one",
    ] {
        assert!(kinds.contains(kind), "no planted {kind}");
    }
    let missing_index_tables: HashSet<(&str, &str)> = expectations
        .problems
        .iter()
        .filter(|p| p.kind == "missing-index")
        .filter_map(|p| Some((p.table.as_deref()?, p.columns.first()?.as_str())))
        .collect();
    assert!(missing_index_tables.contains(&("users", "email")));
    assert!(missing_index_tables.contains(&("orders", "user_id")));
}

#[test]
fn expectations_name_real_workload_items_and_unique_ids() {
    for fixture in Fixture::ALL {
        let expectations = fixture.expectations().unwrap();
        assert_eq!(expectations.fixture, fixture.name());
        let items: HashSet<String> = fixture
            .workload()
            .unwrap()
            .items
            .into_iter()
            .map(|item| item.name)
            .collect();
        let mut ids = HashSet::new();
        for problem in &expectations.problems {
            assert!(
                ids.insert(problem.id.clone()),
                "duplicate id {}",
                problem.id
            );
            for statement in &problem.statement {
                assert!(
                    items.contains(statement),
                    "{}: no workload item {statement}",
                    problem.id
                );
            }
        }
        for invariant in &expectations.invariants {
            assert!(
                ids.insert(invariant.id.clone()),
                "duplicate id {}",
                invariant.id
            );
        }
    }
}
