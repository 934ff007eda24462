//! Applying, rolling back and recovering on a real server: every test gets
//! its own database in the shared sandbox cluster.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use optidb_apply::{
    ApplyOptions, Error, Status, apply, drop_invalid, history, invalid_indexes, rollback,
};
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::{Cluster, Database};
use tokio_postgres::Client;

const INDEX_DDL: &str = "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_t_x_idx\" ON \"public\".\"t\" USING btree (\"x\")";

/// A fresh database with `t(id, x)` holding `rows` rows, and a superuser
/// connection to it.
async fn database(rows: i32) -> (Database, Client) {
    let db = Cluster::shared().unwrap().create_database().await.unwrap();
    let admin = db.connect().await.unwrap();
    admin
        .batch_execute(&format!(
            "CREATE TABLE t (id int PRIMARY KEY, x int);
             INSERT INTO t SELECT i, i % 97 FROM generate_series(1, {rows}) i;
             ANALYZE t;"
        ))
        .await
        .unwrap();
    (db, admin)
}

/// A session as the CLI opens it for `apply`: optidb's guards, writable.
async fn writable(db: &Database) -> Client {
    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None).unwrap();
    let settings = SessionSettings {
        read_only: false,
        ..SessionSettings::read_only()
    };
    optidb_pg::connect(&target, &settings).await.unwrap()
}

fn options() -> ApplyOptions {
    ApplyOptions {
        lock_timeout: Duration::from_millis(100),
        lock_retries: 2,
        applied_by: "alice".into(),
        codes: vec!["OPT001".into(), "OPT003".into()],
        statements: vec![42, 43],
        ..ApplyOptions::default()
    }
}

/// `Some(indisvalid)` of `public.name`, `None` when there is no such index.
async fn index_state(client: &Client, name: &str) -> Option<bool> {
    client
        .query_opt(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}

async fn setting(client: &Client, name: &str) -> String {
    client
        .query_one("SELECT current_setting($1)", &[&name])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn apply_builds_a_valid_index_and_rollback_drops_it_both_audited() {
    let (db, admin) = database(2_000).await;
    let client = writable(&db).await;

    let applied = apply(&client, INDEX_DDL, &options()).await.unwrap();
    assert_eq!(applied.index.as_deref(), Some("public.optidb_t_x_idx"));
    assert_eq!(index_state(&admin, "optidb_t_x_idx").await, Some(true));
    // The session's own guards are back once the DDL is done.
    assert_eq!(setting(&client, "lock_timeout").await, "1s");
    assert_eq!(setting(&client, "statement_timeout").await, "5s");

    let changes = history(&admin, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!(change.id, applied.change_id);
    assert_eq!(change.status, Status::Applied);
    assert_eq!(change.applied_by, "alice");
    assert_eq!(change.db_user, Cluster::shared().unwrap().superuser());
    assert_eq!(change.codes, ["OPT001", "OPT003"]);
    assert_eq!(change.statements, [42, 43]);
    assert_eq!(change.mean_ms_before, [None, None], "unknown queryids");
    assert_eq!(change.ddl, INDEX_DDL);
    assert_eq!(
        change.rollback_ddl.as_deref(),
        Some("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"optidb_t_x_idx\"")
    );
    assert_eq!(change.error, None);

    let undone = rollback(&client, applied.change_id, &options())
        .await
        .unwrap();
    assert_eq!(index_state(&admin, "optidb_t_x_idx").await, None);
    let changes = history(&admin, 10).await.unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].id, undone.change_id);
    assert_eq!(changes[0].status, Status::RolledBack);
    assert_eq!(changes[0].rolled_back_change, Some(applied.change_id));
    assert_eq!(changes[0].codes, ["OPT001", "OPT003"]);

    // Once is enough, and a rollback row is not itself rolled back.
    assert!(matches!(
        rollback(&client, applied.change_id, &options()).await,
        Err(Error::NotReversible { .. })
    ));
    assert!(matches!(
        rollback(&client, undone.change_id, &options()).await,
        Err(Error::NotReversible { .. })
    ));
    assert!(matches!(
        rollback(&client, 999, &options()).await,
        Err(Error::NoSuchChange { id: 999 })
    ));
}

#[tokio::test]
async fn dropping_an_index_records_how_to_rebuild_it() {
    let (db, admin) = database(500).await;
    admin
        .batch_execute("CREATE UNIQUE INDEX t_id_x ON t (id, x)")
        .await
        .unwrap();
    let client = writable(&db).await;
    let dropped = apply(&client, "DROP INDEX CONCURRENTLY public.t_id_x", &options())
        .await
        .unwrap();
    assert_eq!(index_state(&admin, "t_id_x").await, None);
    let change = &history(&admin, 1).await.unwrap()[0];
    assert_eq!(
        change.rollback_ddl.as_deref(),
        Some("CREATE UNIQUE INDEX CONCURRENTLY t_id_x ON public.t USING btree (id, x)")
    );
    rollback(&client, dropped.change_id, &options())
        .await
        .unwrap();
    assert_eq!(index_state(&admin, "t_id_x").await, Some(true));
}

#[tokio::test]
async fn a_build_that_cannot_get_its_lock_fails_cleanly_after_its_retries() {
    let (db, admin) = database(500).await;
    // An open transaction holding a lock that conflicts with the build's
    // ShareUpdateExclusiveLock.
    admin
        .batch_execute("BEGIN; LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE")
        .await
        .unwrap();
    let client = writable(&db).await;

    let result = apply(&client, INDEX_DDL, &options()).await;
    assert!(
        matches!(result, Err(Error::LockTimeout { retries: 2 })),
        "{result:?}"
    );
    admin.batch_execute("COMMIT").await.unwrap();

    assert_eq!(
        index_state(&admin, "optidb_t_x_idx").await,
        None,
        "no index, valid or not"
    );
    assert!(invalid_indexes(&admin).await.unwrap().is_empty());
    let changes = history(&admin, 10).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].status, Status::Failed);
    assert!(
        changes[0]
            .error
            .as_deref()
            .unwrap()
            .contains("lock_timeout"),
        "{:?}",
        changes[0].error
    );
    assert_eq!(setting(&client, "lock_timeout").await, "1s");
}

#[tokio::test]
async fn a_build_killed_mid_way_leaves_an_invalid_index_that_recovery_finds_and_drops() {
    let (db, admin) = database(300).await;
    // Each row costs 20 ms to index: a build of several seconds, and a
    // known phase ("building index") to kill it in.
    admin
        .batch_execute(
            "CREATE FUNCTION slow(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
             BEGIN PERFORM pg_sleep(0.02); RETURN v; END $$",
        )
        .await
        .unwrap();
    let client = writable(&db).await;
    let ddl = "CREATE INDEX CONCURRENTLY optidb_t_slow_idx ON public.t (slow(x))";

    let killer = async {
        for _ in 0..600 {
            let row = admin
                .query_opt(
                    "SELECT pid FROM pg_stat_progress_create_index
                     WHERE relid = 'public.t'::regclass AND phase LIKE 'building index%'",
                    &[],
                )
                .await
                .unwrap();
            if let Some(row) = row {
                let pid: i32 = row.get(0);
                admin
                    .execute("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .unwrap();
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the build never reached its building phase");
    };
    let apply_options = options();
    let (result, pid) = tokio::join!(apply(&client, ddl, &apply_options), killer);
    match result {
        Err(Error::BuildFailed {
            invalid_dropped: false,
            invalid_left: Some(index),
            ..
        }) => assert_eq!(index, "public.optidb_t_slow_idx"),
        other => panic!("expected a failed build leaving its index: {other:?}"),
    }
    // Wait for the terminated backend to be gone, so its build is no longer
    // reported as in progress.
    for _ in 0..100 {
        let alive: bool = admin
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(index_state(&admin, "optidb_t_slow_idx").await, Some(false));
    let changes = history(&admin, 10).await.unwrap();
    assert_eq!(changes[0].status, Status::Started, "the session died first");
    let invalid = invalid_indexes(&admin).await.unwrap();
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert_eq!(invalid[0].name, "optidb_t_slow_idx");
    assert_eq!(invalid[0].table, "public.t");
    assert!(!invalid[0].in_progress);
    assert_eq!(invalid[0].change_id, Some(changes[0].id));

    let fresh = writable(&db).await;
    // Valid indexes are not drop_invalid's business.
    assert!(matches!(
        drop_invalid(&fresh, "public.t_pkey", &options()).await,
        Err(Error::NotInvalid { .. })
    ));
    drop_invalid(&fresh, &invalid[0].sql_name(), &options())
        .await
        .unwrap();
    assert_eq!(index_state(&admin, "optidb_t_slow_idx").await, None);
    assert!(invalid_indexes(&admin).await.unwrap().is_empty());
}

#[tokio::test]
async fn refuses_read_only_sessions_forbidden_ddl_and_duplicates_without_writing() {
    let (db, admin) = database(100).await;

    let client = writable(&db).await;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    let result = apply(&client, INDEX_DDL, &options()).await;
    assert!(matches!(result, Err(Error::ReadOnly { .. })), "{result:?}");
    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None).unwrap();
    let reader = optidb_pg::connect(&target, &SessionSettings::read_only())
        .await
        .unwrap();
    let result = apply(&reader, INDEX_DDL, &options()).await;
    assert!(matches!(result, Err(Error::ReadOnly { .. })), "{result:?}");

    let client = writable(&db).await;
    for ddl in [
        "DROP TABLE t",
        "CREATE INDEX CONCURRENTLY optidb_a ON t (x); CREATE INDEX CONCURRENTLY optidb_b ON t (id, x)",
        "CREATE INDEX optidb_t_x_idx ON t (x)",
    ] {
        let result = apply(&client, ddl, &options()).await;
        assert!(
            matches!(result, Err(Error::NotAllowed { .. })),
            "{ddl}: {result:?}"
        );
    }
    let tables: i64 = admin
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 100);

    admin
        .batch_execute("CREATE INDEX t_x_by_hand ON t (x)")
        .await
        .unwrap();
    let result = apply(&client, INDEX_DDL, &options()).await;
    match result {
        Err(Error::AlreadyExists { index }) => assert_eq!(index, "public.t_x_by_hand"),
        other => panic!("{other:?}"),
    }
    let result = apply(
        &client,
        "CREATE INDEX CONCURRENTLY t_x_by_hand ON t (id)",
        &options(),
    )
    .await;
    assert!(
        matches!(result, Err(Error::AlreadyExists { .. })),
        "{result:?}"
    );

    // Nothing ran, so nothing was recorded (not even the audit table).
    assert!(history(&admin, 10).await.unwrap().is_empty());
    assert_eq!(index_state(&admin, "optidb_t_x_idx").await, None);
}

#[tokio::test]
async fn refuses_a_role_that_does_not_own_the_table_naming_both() {
    let (db, admin) = database(10).await;
    let owner = format!("{}_owner", db.name());
    let stranger = format!("{}_stranger", db.name());
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{owner}\"; CREATE ROLE \"{stranger}\";
             ALTER TABLE t OWNER TO \"{owner}\";"
        ))
        .await
        .unwrap();
    let client = writable(&db).await;
    client
        .batch_execute(&format!("SET ROLE \"{stranger}\""))
        .await
        .unwrap();
    match apply(&client, INDEX_DDL, &options()).await {
        Err(Error::NoPrivilege {
            table,
            owner: o,
            role,
        }) => {
            assert_eq!(table, "public.t");
            assert_eq!(o, owner);
            assert_eq!(role, stranger);
        }
        other => panic!("{other:?}"),
    }
}
