//! Sessions against a real server: the guards are in force from the first statement.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use optidb_pg::{ConnectionTarget, SessionSettings, connect};
use optidb_sandbox::Cluster;

#[tokio::test]
async fn a_read_only_session_carries_its_guards() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let target = ConnectionTarget::from_config(tokio_postgres::Config::from_str(db.dsn()).unwrap());
    let client = connect(&target, &SessionSettings::read_only())
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT current_setting('application_name'), current_setting('statement_timeout'),
                    current_setting('lock_timeout'), current_setting('jit'),
                    current_setting('default_transaction_read_only')",
            &[],
        )
        .await
        .unwrap();
    let settings: Vec<String> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(settings, ["optidb", "5s", "1s", "off", "on"]);

    let err = client
        .batch_execute("CREATE TABLE t (id int)")
        .await
        .unwrap_err();
    let message = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(message.contains("read-only transaction"), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let target = ConnectionTarget::resolve(
        Some("postgres://u:hunter2@127.0.0.1:1/d?connect_timeout=2"),
        |_| None,
    )
    .unwrap();
    let err = connect(&target, &SessionSettings::read_only())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("could not connect to u@127.0.0.1:1/d"),
        "{message}"
    );
    assert!(
        !format!("{message} {err:?}").contains("hunter2"),
        "{message}"
    );
}

#[tokio::test]
async fn pooled_sessions_carry_the_same_guards() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None).unwrap();
    let pool = optidb_pg::pool(&target, &SessionSettings::read_only(), 2).unwrap();
    let (a, b) = tokio::join!(pool.get(), pool.get());
    let (a, b) = (a.unwrap(), b.unwrap());
    for client in [&a, &b] {
        let row = client
            .query_one(
                "SELECT current_setting('application_name'), current_setting('default_transaction_read_only'), pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "optidb");
        assert_eq!(row.get::<_, String>(1), "on");
    }
    let pid = |row: tokio_postgres::Row| row.get::<_, i32>(0);
    let pid_a = pid(a.query_one("SELECT pg_backend_pid()", &[]).await.unwrap());
    let pid_b = pid(b.query_one("SELECT pg_backend_pid()", &[]).await.unwrap());
    assert_ne!(pid_a, pid_b, "two sessions at once");
    assert_eq!(pool.status().max_size, 2);
}
