//! What-if simulation against a real server with HypoPG: the demo's
//! missing indexes cut their statements' cost, and nothing hypothetical
//! outlives a run.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{hypothetical_indexes, session};
use optidb_model::ActionKind;
use optidb_sandbox::Cluster;
use optidb_simulate::{Error, WhatIfOptions, what_if};

#[tokio::test]
async fn each_planted_missing_index_cuts_its_statements_cost_by_at_least_30_percent() {
    let (db, _) = common::demo_database().await;
    let (client, snapshot, workload) = common::observe(&db).await;
    let findings = optidb_rules::check(&snapshot, &workload, &optidb_rules::Config::default());
    let recommendations = optidb_recommend::recommend(&snapshot, &findings);
    let missing: Vec<_> = recommendations
        .iter()
        .filter(|r| r.action == ActionKind::CreateIndex && r.codes.iter().any(|c| c == "OPT001"))
        .collect();
    assert_eq!(
        missing.len(),
        3,
        "users.email, orders.user_id, support_tickets(user_id, status)"
    );
    for recommendation in missing {
        let statements: Vec<_> = snapshot
            .statements
            .iter()
            .filter(|s| recommendation.statements.contains(&s.queryid))
            .cloned()
            .collect();
        let ddl = recommendation.ddl.clone().unwrap();
        let result = what_if(
            &client,
            snapshot.server.version_num,
            &statements,
            &[ddl],
            &WhatIfOptions::default(),
        )
        .await
        .unwrap();
        let simulation = &result.simulations[0];
        assert!(simulation.skipped.is_none(), "{simulation:?}");
        let best = simulation.best_improvement().unwrap();
        assert!(
            best >= 0.3,
            "{}: only {:.0}% cheaper: {simulation:#?}",
            recommendation.title,
            best * 100.0
        );
        assert!(
            simulation.statements.iter().any(|e| e.uses_index),
            "{simulation:#?}"
        );
        assert!(simulation.index_bytes.unwrap() > 0);
        assert_eq!(hypothetical_indexes(&client).await, 0);
    }
}

#[tokio::test]
async fn nothing_hypothetical_survives_a_run_with_failures() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let setup = db.connect().await.unwrap();
    setup
        .batch_execute(
            "CREATE TABLE t (id int, v text, j jsonb);
             INSERT INTO t SELECT g, md5(g::text), '{}' FROM generate_series(1, 20000) g;
             ANALYZE t;",
        )
        .await
        .unwrap();
    let client = session(&db).await;
    let statements = vec![
        optidb_model::Statement {
            queryid: 1,
            query: "SELECT v FROM t WHERE id = $1".into(),
            ..Default::default()
        },
        // Fails to explain: the table does not exist.
        optidb_model::Statement {
            queryid: 2,
            query: "SELECT * FROM gone WHERE id = $1".into(),
            ..Default::default()
        },
    ];
    let candidates = vec![
        "CREATE INDEX ON t (id)".to_string(),
        // HypoPG 1.3 cannot simulate GIN.
        "CREATE INDEX ON t USING gin (j)".to_string(),
        "CREATE INDEX ON nonexistent (x)".to_string(),
    ];
    let result = what_if(
        &client,
        150000,
        &statements,
        &candidates,
        &WhatIfOptions::default(),
    )
    .await
    .unwrap();
    assert!(result.simulations[0].best_improvement().unwrap() > 0.5);
    assert_eq!(
        result.simulations[0].statements[0].plan_changes,
        ["Seq Scan on t → Index Scan on t"]
    );
    assert!(
        result.simulations[1]
            .skipped
            .as_deref()
            .unwrap()
            .contains("gin")
    );
    assert!(result.simulations[2].skipped.is_some());
    assert_eq!(hypothetical_indexes(&client).await, 0);
}

#[tokio::test]
async fn a_database_without_hypopg_says_how_to_install_it() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    db.connect()
        .await
        .unwrap()
        .batch_execute("DROP EXTENSION hypopg")
        .await
        .unwrap();
    let client = session(&db).await;
    let err = what_if(&client, 150000, &[], &[], &WhatIfOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HypopgMissing { .. }), "{err}");
    assert!(err.to_string().contains("CREATE EXTENSION hypopg"), "{err}");
}

#[tokio::test]
async fn recommendations_that_help_no_statement_are_dropped() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let setup = db.connect().await.unwrap();
    setup
        .batch_execute(
            "CREATE TABLE t (id int, v text, w int);
             INSERT INTO t SELECT g, md5(g::text), g % 7 FROM generate_series(1, 20000) g;
             ANALYZE t;",
        )
        .await
        .unwrap();
    let client = session(&db).await;
    let snapshot = optidb_model::Snapshot {
        server: optidb_model::ServerInfo {
            version_num: 150000,
            ..Default::default()
        },
        statements: vec![optidb_model::Statement {
            queryid: 7,
            query: "SELECT v FROM t WHERE id = $1".into(),
            calls: 100,
            ..Default::default()
        }],
        ..Default::default()
    };
    let recommendation = |rank: usize, column: &str| optidb_model::Recommendation {
        id: format!("R{rank}"),
        rank,
        severity: optidb_model::Severity::Warning,
        action: ActionKind::CreateIndex,
        title: format!("Create index on t({column})"),
        ddl: Some(format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"x_{column}\" ON t ({column});"
        )),
        rollback: None,
        rationale: String::new(),
        confidence: 0.5,
        confidence_basis: String::new(),
        risk: optidb_model::Risk {
            level: optidb_model::RiskLevel::Low,
            lock: String::new(),
            build_seconds: None,
            index_bytes: None,
            write_overhead: None,
        },
        estimated_savings_ms: 0.0,
        codes: vec!["OPT001".into()],
        statements: vec![7],
        tables: vec!["public.t".into()],
        simulation: None,
    };
    let mut recommendations = vec![recommendation(1, "w"), recommendation(2, "id")];
    let proven = optidb_simulate::prove(
        &client,
        &snapshot,
        &mut recommendations,
        &WhatIfOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(proven.simulated, 2);
    assert_eq!(proven.dropped.len(), 1);
    assert_eq!(
        proven.dropped[0].title, "Create index on t(w)",
        "an index on w does nothing for id = $1"
    );
    assert_eq!(recommendations.len(), 1);
    assert_eq!(
        (recommendations[0].rank, recommendations[0].title.as_str()),
        (1, "Create index on t(id)")
    );
    assert_eq!(hypothetical_indexes(&client).await, 0);
}
