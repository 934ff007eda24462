//! Workload index selection against a real server with HypoPG: on the demo
//! fixture it finds the planted missing indexes within the limits, stays
//! within 5% of the exhaustive optimum, and leaves nothing hypothetical
//! behind; the write penalty and the guards hold on hand-made workloads.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{hypothetical_indexes, session};
use std::time::Duration;

use optidb_model::facts::WorkloadFacts;
use optidb_model::{Catalog, IndexKeySpec, IndexSpec, ServerInfo, Snapshot, Statement, Table};
use optidb_sandbox::{Cluster, Database};
use optidb_simulate::selection::{
    self, Candidate, Phase, Selection, SelectionOptions, Sessions, exhaustive, select, select_from,
};
use tokio_postgres::Client;

/// The demo at scale 0.25 after its workload: a session, the snapshot and
/// its facts (the database handle keeps it alive).
async fn demo() -> (Database, Client, Snapshot, WorkloadFacts) {
    let (db, _) = common::demo_database().await;
    let (client, snapshot, workload) = common::observe(&db).await;
    (db, client, snapshot, workload)
}

/// Whether a chosen index is on `table` and leads with `column`.
fn leads_with(candidate: &Candidate, table: &str, column: &str) -> bool {
    candidate.spec.table == table && candidate.spec.keys[0].column == column
}

fn chosen_bytes(selection: &Selection) -> i64 {
    selection.chosen.iter().map(|c| c.bytes.unwrap()).sum()
}

/// The queryid of the statement whose text contains `text`.
fn statement(snapshot: &Snapshot, text: &str) -> i64 {
    snapshot
        .statements
        .iter()
        .find(|s| {
            s.query
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(text)
        })
        .unwrap_or_else(|| panic!("no statement with {text}"))
        .queryid
}

#[tokio::test]
async fn a_generous_budget_builds_the_planted_missing_indexes_and_cuts_their_statements() {
    let (_db, client, snapshot, workload) = demo().await;
    let mut phases = Vec::new();
    let options = SelectionOptions {
        budget_bytes: Some(500 << 20),
        ..SelectionOptions::default()
    };
    let selection = select(&client, &snapshot, &workload, &options, |progress| {
        if phases.last() != Some(&std::mem::discriminant(&progress.phase)) {
            phases.push(std::mem::discriminant(&progress.phase));
        }
    })
    .await
    .unwrap();
    assert_eq!(hypothetical_indexes(&client).await, 0);
    assert!(!selection.partial);
    assert_eq!(
        phases,
        [
            Phase::Baseline,
            Phase::Sizing { done: 0, total: 0 },
            Phase::Searching
        ]
        .map(|phase| std::mem::discriminant(&phase))
    );

    let chosen = &selection.chosen;
    for (table, column) in [
        ("users", "email"),
        ("orders", "user_id"),
        ("support_tickets", "user_id"),
    ] {
        assert!(
            chosen.iter().any(|c| leads_with(c, table, column)),
            "no index leading with {table}({column}): {chosen:#?}"
        );
    }
    // The statements the planted indexes serve get at least 90% cheaper.
    for text in [
        "FROM users WHERE email = $1",
        "FROM orders WHERE user_id = $1",
        "FROM support_tickets WHERE user_id = $1 AND status = $2",
    ] {
        let queryid = statement(&snapshot, text);
        let cost = selection
            .statements
            .iter()
            .find(|s| s.queryid == queryid)
            .unwrap();
        assert!(
            cost.cost_after <= 0.1 * cost.cost_before,
            "{text}: {cost:?}"
        );
    }
    // The workload as a whole: most of its cost is a correlated subquery
    // no index fixes (a rewrite does), so the total drops less.
    assert!(selection.relative_cost < 0.95, "{selection:#?}");
    assert!(
        selection.cost_before - selection.cost_after > 200_000.0,
        "{selection:#?}"
    );

    // GIN candidates are reported, not costed.
    let uncostable: Vec<String> = selection
        .uncostable
        .iter()
        .map(|u| format!("{}({})", u.spec.table, u.spec.key_list().join(",")))
        .collect();
    assert_eq!(uncostable, ["events(payload)", "products(description)"]);
    assert!(selection.uncostable[0].reason.contains("gin"));

    // The steps retrace the choice; the cache answered most cost requests.
    assert_eq!(selection.steps.len(), chosen.len());
    assert_eq!(
        selection.steps.last().unwrap().cost_after,
        selection.cost_after
    );
    assert!(selection.steps.iter().all(|step| step.benefit > 0.0));
    assert!(selection.skipped.is_empty(), "{:?}", selection.skipped);
    assert_eq!(selection.statements.len(), snapshot.statements.len());
    assert!(selection.evaluations > selection.statements.len());
    assert!(
        selection.cache_hits > selection.evaluations,
        "{selection:#?}"
    );

    // A larger budget never gives a worse selection.
    let mut previous = f64::INFINITY;
    for budget in [0, 1 << 20, 3 << 20, 500 << 20] {
        let options = SelectionOptions {
            budget_bytes: Some(budget),
            ..SelectionOptions::default()
        };
        let at = select(&client, &snapshot, &workload, &options, |_| {})
            .await
            .unwrap();
        assert!(chosen_bytes(&at) <= budget);
        assert!(at.relative_cost <= previous, "{budget}: {at:#?}");
        previous = at.relative_cost;
    }
    assert_eq!(previous, selection.relative_cost);
}

#[tokio::test]
async fn parallel_sessions_choose_exactly_what_one_session_does() {
    let (db, client, snapshot, workload) = demo().await;
    let more = vec![session(&db).await, session(&db).await];
    let options = SelectionOptions {
        budget_bytes: Some(2 << 20),
        ..SelectionOptions::default()
    };
    let alone = select(&client, &snapshot, &workload, &options, |_| {})
        .await
        .unwrap();
    let parallel = select(
        Sessions::new(&client, &more),
        &snapshot,
        &workload,
        &options,
        |_| {},
    )
    .await
    .unwrap();
    let ddl = |selection: &Selection| -> Vec<String> {
        selection.chosen.iter().map(|c| c.ddl.clone()).collect()
    };
    assert!(!alone.chosen.is_empty());
    assert_eq!(ddl(&parallel), ddl(&alone));
    assert_eq!(parallel.cost_after, alone.cost_after);
    assert_eq!(parallel.configurations, alone.configurations);
    for session in std::iter::once(&client).chain(&more) {
        assert_eq!(hypothetical_indexes(session).await, 0);
    }
}

#[tokio::test]
async fn the_number_of_indexes_and_the_budget_are_respected() {
    let (_db, client, snapshot, workload) = demo().await;
    let one = select(
        &client,
        &snapshot,
        &workload,
        &SelectionOptions {
            max_indexes: Some(1),
            ..SelectionOptions::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(one.chosen.len(), 1, "{one:#?}");
    assert!(one.relative_cost < 1.0);

    let budget = 2 << 20;
    let small = select(
        &client,
        &snapshot,
        &workload,
        &SelectionOptions {
            budget_bytes: Some(budget),
            ..SelectionOptions::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert!(!small.chosen.is_empty());
    assert!(chosen_bytes(&small) <= budget, "{small:#?}");

    let none = select(
        &client,
        &snapshot,
        &workload,
        &SelectionOptions {
            budget_bytes: Some(0),
            ..SelectionOptions::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert!(none.chosen.is_empty());
    assert_eq!(none.relative_cost, 1.0);
    assert_eq!(hypothetical_indexes(&client).await, 0);
}

#[tokio::test]
async fn greedy_is_within_5_percent_of_the_exhaustive_optimum() {
    let (_db, client, snapshot, workload) = demo().await;
    let candidates: Vec<IndexSpec> = selection::candidates(&snapshot, &workload, 2)
        .into_iter()
        .filter(selection::is_costable)
        .collect();
    assert!(
        (8..=selection::EXHAUSTIVE_MAX_CANDIDATES).contains(&candidates.len()),
        "{}",
        candidates.len()
    );
    for (budget, max_indexes) in [(None, Some(3)), (Some(3 << 20), None), (None, None)] {
        let options = SelectionOptions {
            budget_bytes: budget,
            max_indexes,
            ..SelectionOptions::default()
        };
        let greedy = select_from(&client, &snapshot, &workload, &candidates, &options, |_| {})
            .await
            .unwrap();
        let optimum = exhaustive(&client, &snapshot, &workload, &candidates, &options)
            .await
            .unwrap();
        assert!(!optimum.partial);
        assert!(optimum.cost_after <= greedy.cost_after * (1.0 + 1e-9));
        assert!(
            greedy.cost_after <= optimum.cost_after * 1.05,
            "{budget:?}/{max_indexes:?}: greedy {} against {}",
            greedy.cost_after,
            optimum.cost_after
        );
        assert!(budget.is_none_or(|budget| chosen_bytes(&optimum) <= budget));
        assert!(max_indexes.is_none_or(|max| optimum.chosen.len() <= max));
    }
    assert_eq!(hypothetical_indexes(&client).await, 0);

    let too_many: Vec<IndexSpec> = (0..=selection::EXHAUSTIVE_MAX_CANDIDATES)
        .map(|i| spec("t", &[&format!("c{i}")]))
        .collect();
    let err = exhaustive(
        &client,
        &snapshot,
        &workload,
        &too_many,
        &SelectionOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, optidb_simulate::Error::TooManyCandidates { .. }),
        "{err}"
    );
}

fn spec(table: &str, keys: &[&str]) -> IndexSpec {
    IndexSpec {
        schema: "public".into(),
        table: table.into(),
        method: "btree".into(),
        keys: keys.iter().map(|k| IndexKeySpec::column(k)).collect(),
        include: Vec::new(),
        predicate: None,
    }
}

/// A table `w` of 20,000 rows and a snapshot of one lookup on it run
/// `calls` times, the table having seen `rows_written` writes.
async fn lookup_workload(calls: u64, rows_written: u64) -> (Database, Client, Snapshot) {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    db.connect()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE w (id int, k int, v text);
             INSERT INTO w SELECT g, g % 5000, md5(g::text) FROM generate_series(1, 20000) g;
             ANALYZE w;",
        )
        .await
        .unwrap();
    let client = session(&db).await;
    let snapshot = Snapshot {
        captured_at: "2026-01-01T01:00:00Z".into(),
        server: ServerInfo {
            version_num: 150000,
            ..ServerInfo::default()
        },
        statements: vec![Statement {
            queryid: 1,
            query: "SELECT v FROM w WHERE k = $1".into(),
            calls,
            ..Statement::default()
        }],
        catalog: Catalog {
            tables: vec![Table {
                schema: "public".into(),
                name: "w".into(),
                reltuples: 20_000.0,
                activity: optidb_model::TableActivity {
                    n_tup_ins: rows_written,
                    ..Default::default()
                },
                ..Table::default()
            }],
            ..Catalog::default()
        },
        ..Snapshot::default()
    };
    (db, client, snapshot)
}

#[tokio::test]
async fn an_index_whose_upkeep_costs_more_than_it_saves_is_not_chosen() {
    // One read a second against ~2,000 writes a second: the lookup index
    // saves ~400 cost units per read and costs 0.5 per row written.
    let (_db, client, snapshot) = lookup_workload(3_600, 7_200_000).await;
    let workload = optidb_fingerprint::analyze_workload(&snapshot.statements);
    let with_penalty = select(
        &client,
        &snapshot,
        &workload,
        &SelectionOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert!(with_penalty.chosen.is_empty(), "{with_penalty:#?}");
    assert_eq!(with_penalty.relative_cost, 1.0);

    let without = SelectionOptions {
        write_penalty: false,
        ..SelectionOptions::default()
    };
    let reads_only = select(&client, &snapshot, &workload, &without, |_| {})
        .await
        .unwrap();
    assert_eq!(reads_only.chosen.len(), 1, "{reads_only:#?}");
    assert_eq!(reads_only.chosen[0].spec.key_list(), ["k"]);
    assert_eq!(reads_only.steps[0].write_cost, 0.0);

    // The same reads with few writes: the index pays for itself.
    let (_db, client, snapshot) = lookup_workload(3_600, 20_000).await;
    let quiet = select(
        &client,
        &snapshot,
        &workload,
        &SelectionOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(quiet.chosen.len(), 1, "{quiet:#?}");
    assert_eq!(quiet.steps[0].write_cost, 10_000.0);
    assert!(quiet.relative_cost < 0.1);
}

#[tokio::test]
async fn refusals_failures_and_the_time_budget_leave_nothing_hypothetical_behind() {
    let (_db, client, mut snapshot) = lookup_workload(100, 0).await;
    snapshot.statements.push(Statement {
        queryid: 2,
        query: "SELECT * FROM gone WHERE id = $1".into(),
        calls: 100,
        ..Statement::default()
    });
    let workload = optidb_fingerprint::analyze_workload(&snapshot.statements);
    let mut refused = spec("w", &["k"]);
    refused.keys[0].expression = Some("no_such_function(k)".into());
    let mut gin = spec("w", &["v"]);
    gin.method = "gin".into();
    gin.keys[0].opclass = Some("gin_trgm_ops".into());
    let candidates = vec![spec("w", &["k"]), refused, gin, spec("w", &["k"])];

    let selection = select_from(
        &client,
        &snapshot,
        &workload,
        &candidates,
        &SelectionOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(selection.candidates, 1, "duplicates are costed once");
    assert_eq!(selection.chosen.len(), 1);
    assert_eq!(selection.skipped.len(), 1);
    assert_eq!(selection.skipped[0].queryid, 2);
    assert!(
        selection.skipped[0].reason.contains("gone"),
        "{:?}",
        selection.skipped
    );
    let reasons: Vec<&str> = selection
        .uncostable
        .iter()
        .map(|u| u.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("a gin index")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("HypoPG cannot simulate it")),
        "{reasons:?}"
    );
    assert_eq!(hypothetical_indexes(&client).await, 0);

    let out_of_time = SelectionOptions {
        time_budget: Some(Duration::ZERO),
        ..SelectionOptions::default()
    };
    let partial = select_from(
        &client,
        &snapshot,
        &workload,
        &candidates,
        &out_of_time,
        |_| {},
    )
    .await
    .unwrap();
    assert!(partial.partial);
    assert!(partial.chosen.is_empty());
    assert_eq!(partial.relative_cost, 1.0);
    assert_eq!(hypothetical_indexes(&client).await, 0);

    // A database without HypoPG says how to install it.
    let cluster = Cluster::shared().unwrap();
    let bare = cluster.create_database().await.unwrap();
    bare.connect()
        .await
        .unwrap()
        .batch_execute("DROP EXTENSION hypopg")
        .await
        .unwrap();
    let err = select(
        &session(&bare).await,
        &snapshot,
        &workload,
        &SelectionOptions::default(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, optidb_simulate::Error::HypopgMissing { .. }),
        "{err}"
    );
}

/// The CLI may spawn a selection on a multi-threaded runtime.
#[test]
fn a_selection_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let snapshot = Snapshot::default();
    let workload = WorkloadFacts::default();
    let options = SelectionOptions::default();
    let run = async {
        let cluster = Cluster::shared().unwrap();
        let db = cluster.create_database().await.unwrap();
        let client = session(&db).await;
        select(&client, &snapshot, &workload, &options, |_| {})
            .await
            .unwrap()
    };
    assert_send(&run);
}
