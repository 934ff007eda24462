//! Snapshots of the demo fixture: every table, column, index, foreign key
//! and counter the rules will need, read the way optidb reads production.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use optidb_ingest::{IngestOptions, Snapshot, take_snapshot};
use optidb_model::TableKind;
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::fixture::DEMO;
use optidb_sandbox::{Cluster, Database};

async fn demo_database() -> Database {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    DEMO.load(&client, 0.01).await.unwrap();
    DEMO.run_workload(&client, |_, _| {}).await.unwrap();
    db
}

/// A snapshot through optidb's own read-only session.
async fn snapshot_of(dsn: &str) -> Snapshot {
    let target = ConnectionTarget::resolve(Some(dsn), |_| None).unwrap();
    let client = optidb_pg::connect(&target, &SessionSettings::read_only())
        .await
        .unwrap();
    take_snapshot(&client, &IngestOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_snapshot_holds_every_table_index_and_counter() {
    let db = demo_database().await;
    let snapshot = snapshot_of(db.dsn()).await;
    let catalog = &snapshot.catalog;

    let mut tables: Vec<&str> = catalog.tables.iter().map(|t| t.name.as_str()).collect();
    tables.sort_unstable();
    assert_eq!(
        tables,
        [
            "categories",
            "events",
            "inventory",
            "order_items",
            "orders",
            "products",
            "support_tickets",
            "users"
        ]
    );
    let users = catalog.table("public", "users").unwrap();
    assert_eq!(users.kind, TableKind::Table);
    assert_eq!(users.activity.live_tuples, 5000);
    assert!(users.table_bytes > 0 && users.index_bytes > 0);
    let email = users.column("email").unwrap();
    assert_eq!(email.data_type, "text");
    assert!(email.not_null);
    let stats = email.stats.as_ref().expect("users.email was analyzed");
    assert_eq!(stats.n_distinct, -1.0, "every email is distinct");
    let status = catalog
        .table("public", "orders")
        .unwrap()
        .column("status")
        .unwrap();
    assert!(!status.stats.as_ref().unwrap().most_common_values.is_empty());

    // The stale table: changed more than its size since the ANALYZE.
    let inventory = catalog.table("public", "inventory").unwrap();
    assert!(inventory.activity.n_mod_since_analyze as f64 > inventory.reltuples);
    assert!(
        inventory
            .options
            .contains(&"autovacuum_enabled=false".to_string())
    );
    assert!(inventory.activity.last_analyze.is_some());

    // Indexes: the duplicates, the redundant prefix, the unused one, the keys.
    let index = |name: &str| catalog.indexes.iter().find(|i| i.name == name).unwrap();
    let duplicates = [
        index("orders_created_at_idx"),
        index("orders_created_at_idx1"),
    ];
    for duplicate in duplicates {
        assert_eq!(duplicate.table, "orders");
        assert_eq!(duplicate.method, "btree");
        assert_eq!(duplicate.keys.len(), 1);
        assert_eq!(duplicate.keys[0].column.as_deref(), Some("created_at"));
        assert!(duplicate.valid && !duplicate.unique && duplicate.constraint.is_none());
    }
    assert_eq!(
        duplicates.iter().filter(|i| i.idx_scan > 0).count(),
        1,
        "the workload uses exactly one of the duplicates"
    );
    let composite = index("order_items_order_id_product_id_idx");
    let columns: Vec<_> = composite
        .keys
        .iter()
        .map(|k| k.column.as_deref().unwrap())
        .collect();
    assert_eq!(columns, ["order_id", "product_id"]);
    assert_eq!(index("users_last_login_at_idx").idx_scan, 0);
    let primary = index("users_pkey");
    assert!(primary.primary && primary.unique);
    assert_eq!(primary.constraint.as_deref(), Some("users_pkey"));
    assert!(primary.idx_scan > 0);

    // Foreign keys, including the one without an index.
    let fk = catalog
        .foreign_keys
        .iter()
        .find(|fk| fk.name == "order_items_product_id_fkey")
        .unwrap();
    assert_eq!(
        (fk.table.as_str(), fk.columns.as_slice()),
        ("order_items", &["product_id".to_string()][..])
    );
    assert_eq!(fk.referenced_table, "products");
    assert_eq!(fk.referenced_columns, ["id"]);

    // Settings, extensions, clocks.
    assert!(catalog.setting("work_mem").is_some());
    assert_eq!(
        catalog.setting("pg_stat_statements.track").unwrap().value,
        "all"
    );
    let extensions: Vec<&str> = catalog.extensions.iter().map(|e| e.name.as_str()).collect();
    assert!(extensions.contains(&"hypopg") && extensions.contains(&"pg_stat_statements"));
    assert!(catalog.postmaster_start.is_some());
    assert_eq!(catalog.locks.waiting_sessions, 0);

    // Statements: the workload, summed per queryid.
    let by_email = snapshot
        .statements
        .iter()
        .find(|s| s.query.contains("WHERE email = $1"))
        .unwrap();
    assert_eq!(by_email.calls, 200);
    assert_eq!(by_email.rows, 200);
    assert_eq!(by_email.roles, ["postgres"]);
    assert!(by_email.toplevel);
    let n_plus_one = snapshot
        .statements
        .iter()
        .find(|s| s.query.contains("FROM products\nWHERE id = $1"))
        .unwrap();
    assert_eq!(n_plus_one.calls, 3000);
    assert!(snapshot.warnings.is_empty(), "{:?}", snapshot.warnings);

    // Every top statement was explained with a generic plan ($1 unknown).
    assert_eq!(snapshot.plans.len(), snapshot.statements.len());
    let plan = snapshot
        .plan_of(by_email.queryid)
        .unwrap()
        .plan()
        .expect("explained");
    let scan = plan
        .nodes()
        .find(|node| node.is_seq_scan() && node.relation_name.as_deref() == Some("users"))
        .expect("users is scanned sequentially: email has no index");
    assert_eq!(scan.filter.as_deref(), Some("(email = $1)"));
    let n_plus_one_plan = snapshot
        .plan_of(n_plus_one.queryid)
        .unwrap()
        .plan()
        .unwrap();
    assert!(
        n_plus_one_plan
            .nodes()
            .any(|node| node.index_name.as_deref() == Some("products_pkey"))
    );
}

#[tokio::test]
async fn a_snapshot_survives_a_json_round_trip() {
    let db = demo_database().await;
    let snapshot = snapshot_of(db.dsn()).await;
    let json = serde_json::to_string(&snapshot).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    // Compared as JSON values: a failure shows the difference, not two dumps.
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&snapshot).unwrap()
    );
    assert!(
        back == snapshot,
        "the typed values differ after a round trip"
    );
}

#[tokio::test]
async fn a_role_without_pg_read_all_stats_is_told_what_to_grant() {
    let db = demo_database().await;
    let admin = db.connect().await.unwrap();
    admin
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'optidb_reader') THEN
                 CREATE ROLE optidb_reader LOGIN;
               END IF;
             END $$",
        )
        .await
        .unwrap();
    let dsn = format!(
        "{} user=optidb_reader",
        db.dsn().replace("user=postgres", "")
    );
    let snapshot = snapshot_of(&dsn).await;
    let codes: Vec<&str> = snapshot.warnings.iter().map(|w| w.code.as_str()).collect();
    assert!(codes.contains(&"statement-text-hidden"), "{codes:?}");
    assert!(codes.contains(&"column-stats-hidden"), "{codes:?}");
    let hidden = snapshot
        .warnings
        .iter()
        .find(|w| w.code == "statement-text-hidden")
        .unwrap();
    assert!(
        hidden.message.contains("GRANT pg_read_all_stats"),
        "{}",
        hidden.message
    );
}

#[tokio::test]
async fn lock_waits_are_summarized_and_locked_tables_do_not_stop_the_snapshot() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let holder = db.connect().await.unwrap();
    holder
        .batch_execute("CREATE TABLE busy (id int)")
        .await
        .unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let waiter = db.connect().await.unwrap();
    let waiting = tokio::spawn(async move { waiter.query("SELECT count(*) FROM busy", &[]).await });
    // Let the waiter queue behind the lock.
    let observer = db.connect().await.unwrap();
    for _ in 0..200 {
        let row = observer
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let snapshot = snapshot_of(db.dsn()).await;
    let locks = &snapshot.catalog.locks;
    assert_eq!(locks.waiting_sessions, 1);
    assert_eq!(locks.blocking_sessions, 1);
    assert_eq!(locks.waits[0].target, "public.busy");
    assert_eq!(locks.waits[0].mode, "AccessShareLock");
    // Sizes of the locked table could not be measured exactly.
    assert!(
        snapshot
            .warnings
            .iter()
            .any(|w| w.code == "table-sizes-estimated"),
        "{:?}",
        snapshot.warnings
    );
    assert!(snapshot.catalog.table("public", "busy").is_some());

    holder.batch_execute("ROLLBACK").await.unwrap();
    waiting.await.unwrap().unwrap();
}
