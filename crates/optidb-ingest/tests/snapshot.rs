//! Reading snapshots from a real server.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use optidb_ingest::{Error, IngestOptions, take_snapshot};
use optidb_sandbox::Cluster;

#[tokio::test]
async fn top_statements_are_ranked_by_total_time_with_totals() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (id int, v text);
             INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
             SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0);",
        )
        .await
        .unwrap();
    for i in 0..20 {
        client
            .query(
                "SELECT count(*) FROM t WHERE v LIKE $1",
                &[&format!("%{i}a%")],
            )
            .await
            .unwrap();
    }
    for i in 0..3 {
        client.query("SELECT $1::int + 1", &[&i]).await.unwrap();
    }

    let snapshot = take_snapshot(
        &client,
        &IngestOptions {
            top_statements: 1,
            ..IngestOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(snapshot.server.database, db.name());
    assert_eq!(snapshot.server.major_version(), cluster.binaries().major());
    assert_eq!(snapshot.statements.len(), 1);
    let top = &snapshot.statements[0];
    assert_eq!(top.query, "SELECT count(*) FROM t WHERE v LIKE $1");
    assert_eq!(top.calls, 20);
    assert_eq!(top.rows, 20);
    assert!(top.total_exec_time_ms > 0.0);
    // Totals cover statements beyond the top one, optidb's own excluded.
    assert!(snapshot.workload.statements >= 2);
    assert!(snapshot.workload.calls >= 23);
    assert!(snapshot.workload.total_exec_time_ms >= top.total_exec_time_ms);
    let share = snapshot.time_share(top);
    assert!(share > 0.5 && share <= 1.0, "{share}");
}

#[tokio::test]
async fn a_database_without_pg_stat_statements_says_how_to_fix_it() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .batch_execute("DROP EXTENSION pg_stat_statements")
        .await
        .unwrap();
    let err = take_snapshot(&client, &IngestOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::StatementsExtensionMissing { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("CREATE EXTENSION pg_stat_statements"),
        "{err}"
    );
}

#[tokio::test]
async fn pg_stat_statements_not_preloaded_says_how_to_fix_it() {
    let options =
        optidb_sandbox::SandboxOptions::from_env().setting("shared_preload_libraries", "");
    let cluster = Cluster::start_with(&options).unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    let err = take_snapshot(&client, &IngestOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StatementsNotPreloaded), "{err}");
    assert!(
        err.to_string().contains("shared_preload_libraries"),
        "{err}"
    );
}
