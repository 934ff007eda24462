//! Real mode against real servers: the demo's missing `users.email` index,
//! measured on a sandbox copy, makes its lookup several times faster; the
//! target is only read; the target itself is refused as a sandbox; rolled
//! back writes leave the copy as it was copied.

// A failed unwrap in a test is a failed assertion; the measured numbers are
// printed for whoever runs the tests with --nocapture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use optidb_model::ActionKind;
use optidb_pg::ConnectionTarget;
use optidb_sandbox::Cluster;
use optidb_simulate::Error;
use optidb_simulate::real::{RealOptions, Sandbox, benchmark};
use tokio_postgres::Client;

/// Everything a write to the target would change: row counters per table,
/// the tables, the indexes.
async fn target_state(client: &Client) -> Vec<String> {
    // Statistics of other sessions reach the views when those go idle;
    // `pg_stat_force_next_flush` makes the reading session's own land too.
    let mut state = Vec::new();
    for row in client
        .query(
            "SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables ORDER BY relname",
            &[],
        )
        .await
        .unwrap()
    {
        let (name, ins, upd, del): (String, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        state.push(format!("table {name}: ins {ins} upd {upd} del {del}"));
    }
    for row in client
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog') ORDER BY indexdef",
            &[],
        )
        .await
        .unwrap()
    {
        state.push(row.get(0));
    }
    state
}

async fn flush_statistics(client: &Client) {
    client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
    // The flush happens when the session goes idle after that query.
    client.batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn the_missing_users_email_index_is_at_least_five_times_faster_on_the_copy() {
    let (db, loader) = common::demo_database().await;
    flush_statistics(&loader).await;

    let (client, snapshot, workload) = common::observe(&db).await;
    let findings = optidb_rules::check(&snapshot, &workload, &optidb_rules::Config::default());
    let recommendations = optidb_recommend::recommend(&snapshot, &findings);
    let email = recommendations
        .iter()
        .find(|r| {
            r.action == ActionKind::CreateIndex
                && r.ddl
                    .as_deref()
                    .is_some_and(|ddl| ddl.contains("users") && ddl.contains("email"))
        })
        .expect("the demo's users.email recommendation");
    let lookup = snapshot
        .statements
        .iter()
        .find(|s| s.query.contains("FROM users") && s.query.contains("WHERE email = $1"))
        .unwrap()
        .queryid;
    assert!(email.statements.contains(&lookup), "{email:#?}");

    let before = target_state(&loader).await;
    let sandbox = Sandbox::in_cluster(Cluster::shared().unwrap())
        .await
        .unwrap();
    assert_ne!(sandbox.database(), db.name());
    let report = benchmark(
        &client,
        sandbox.client(),
        &snapshot,
        &workload,
        &email.statements,
        email.ddl.as_deref().unwrap(),
        &RealOptions::default(),
    )
    .await
    .unwrap();
    eprintln!("{report:#?}");

    let effect = report
        .statements
        .iter()
        .find(|e| e.queryid == lookup)
        .unwrap_or_else(|| panic!("the lookup was not measured: {report:#?}"));
    assert!(
        effect.speedup >= 5.0,
        "only {:.1}x faster: {report:#?}",
        effect.speedup
    );
    assert!(effect.uses_index, "{report:#?}");
    assert_eq!((effect.runs, effect.parameter_sets), (5, 5));
    // 25,000 users at scale 0.25: fewer than 100,000, so copied whole.
    let users = report
        .tables
        .iter()
        .find(|t| t.name == "public.users")
        .unwrap();
    assert_eq!((users.rows_copied, users.sampled), (25_000, false));
    assert!(report.index_build_ms.unwrap() > 0.0);

    // The target was only read.
    flush_statistics(&loader).await;
    assert_eq!(target_state(&loader).await, before);
    // And the sandbox was left as it was found.
    let left: bool = sandbox
        .client()
        .query_one("SELECT to_regclass('public.users') IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(left, "the copy was not dropped");
}

#[tokio::test]
async fn copies_are_sampled_down_to_the_rows_asked_for() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let setup = db.connect().await.unwrap();
    setup
        .batch_execute(
            "CREATE TABLE big (id bigint PRIMARY KEY, code text NOT NULL, at timestamptz NOT NULL);
             INSERT INTO big SELECT g, 'c' || g, timestamptz '2024-01-01' + g * interval '1 minute'
               FROM generate_series(1, 60000) g;
             ANALYZE big;
             SELECT id FROM big WHERE code = 'c17';
             SELECT count(*) FROM big WHERE at >= '2024-01-02' AND at < '2024-01-03';",
        )
        .await
        .unwrap();
    let (client, snapshot, workload) = common::observe(&db).await;
    let queryid = |text: &str| {
        snapshot
            .statements
            .iter()
            .find(|s| s.query.contains(text))
            .unwrap_or_else(|| panic!("{text}: {:#?}", snapshot.statements))
            .queryid
    };
    let (by_code, by_day, analyze) = (
        queryid("code = $1"),
        queryid("at >= $1"),
        queryid("ANALYZE big"),
    );
    let sandbox = Sandbox::in_cluster(cluster).await.unwrap();
    let options = RealOptions {
        sample_rows: 10_000,
        runs: 3,
        parameter_sets: 3,
        ..RealOptions::default()
    };
    let report = benchmark(
        &client,
        sandbox.client(),
        &snapshot,
        &workload,
        &[by_code, by_day, 424242, analyze],
        "CREATE INDEX ON big (at)",
        &options,
    )
    .await
    .unwrap();
    eprintln!("{report:#?}");
    let big = &report.tables[0];
    assert!(big.sampled, "{report:#?}");
    assert!(
        (10_000..30_000).contains(&big.rows_copied),
        "{} rows copied",
        big.rows_copied
    );
    // The range gets a narrow window of real values: the new index serves it.
    let day = report
        .statements
        .iter()
        .find(|e| e.queryid == by_day)
        .unwrap();
    assert!(day.uses_index, "{report:#?}");
    assert_eq!(day.parameter_sets, 3);
    assert!(report.statements.iter().any(|e| e.queryid == by_code));
    let skipped: Vec<(i64, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.queryid, s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (424242, "not among the snapshot's statements"),
            (
                analyze,
                "ANALYZE is a utility statement: it has no plan to measure"
            ),
        ]
    );
}

#[tokio::test]
async fn the_target_database_itself_is_refused_as_the_sandbox() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let writable = db.connect().await.unwrap();
    writable
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let (client, snapshot, workload) = common::observe(&db).await;
    // `--sandbox-dsn` naming the target's own database.
    let same = ConnectionTarget::resolve(Some(db.dsn()), |_| None).unwrap();
    let sandbox = Sandbox::connect(&same).await.unwrap();
    assert!(!sandbox.is_throwaway());
    let err = benchmark(
        &client,
        sandbox.client(),
        &snapshot,
        &workload,
        &[],
        "CREATE INDEX ON t (v)",
        &RealOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::SameDatabase { .. }), "{err}");
    assert!(err.to_string().contains("different database"), "{err}");
    let indexes: i64 = writable
        .query_one("SELECT count(*) FROM pg_indexes WHERE tablename = 't'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(indexes, 1, "only the primary key");
}

#[tokio::test]
async fn a_sandbox_that_already_has_the_tables_is_refused() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    db.connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); SELECT * FROM t WHERE v = 'x'")
        .await
        .unwrap();
    let (client, snapshot, workload) = common::observe(&db).await;
    let queryid = snapshot
        .statements
        .iter()
        .find(|s| s.query.contains("v = $1"))
        .unwrap()
        .queryid;
    let sandbox = Sandbox::in_cluster(cluster).await.unwrap();
    sandbox
        .client()
        .batch_execute("CREATE TABLE t (precious text); INSERT INTO t VALUES ('keep me')")
        .await
        .unwrap();
    let err = benchmark(
        &client,
        sandbox.client(),
        &snapshot,
        &workload,
        &[queryid],
        "CREATE INDEX ON t (v)",
        &RealOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::SandboxNotEmpty { .. }), "{err}");
    let kept: String = sandbox
        .client()
        .query_one("SELECT precious FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, "keep me");
}

#[tokio::test]
async fn benchmarking_an_update_leaves_the_copys_rows_as_they_were_copied() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let setup = db.connect().await.unwrap();
    setup
        .batch_execute(
            "CREATE TABLE accounts (
                 id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                 email text NOT NULL,
                 balance integer NOT NULL DEFAULT 0,
                 touched timestamptz);
             INSERT INTO accounts (email, balance)
               SELECT 'user' || g || '@example.com', g % 1000 FROM generate_series(1, 20000) g;
             ANALYZE accounts;
             UPDATE accounts SET balance = balance + 5, touched = now() WHERE email = 'user7@example.com';
             INSERT INTO accounts (email) VALUES ('new@example.com');",
        )
        .await
        .unwrap();
    flush_statistics(&setup).await;
    let (client, snapshot, workload) = common::observe(&db).await;
    let queryid = |text: &str| {
        snapshot
            .statements
            .iter()
            .find(|s| s.query.starts_with(text) && !s.query.contains("generate_series"))
            .unwrap_or_else(|| panic!("{text}: {:#?}", snapshot.statements))
            .queryid
    };
    let (update, insert) = (queryid("UPDATE accounts"), queryid("INSERT INTO accounts"));
    let before = target_state(&setup).await;

    let sandbox = Sandbox::in_cluster(cluster).await.unwrap();
    let report = benchmark(
        &client,
        sandbox.client(),
        &snapshot,
        &workload,
        &[update, insert],
        "CREATE INDEX ON accounts (email)",
        &RealOptions {
            keep_copy: true,
            ..RealOptions::default()
        },
    )
    .await
    .unwrap();
    eprintln!("{report:#?}");
    let measured: Vec<i64> = report.statements.iter().map(|e| e.queryid).collect();
    assert!(measured.contains(&update), "{report:#?}");
    assert!(measured.contains(&insert), "{report:#?}");
    let update_effect = report
        .statements
        .iter()
        .find(|e| e.queryid == update)
        .unwrap();
    assert!(update_effect.uses_index, "{report:#?}");

    // The copy holds exactly the target's rows (the whole table was
    // copied): every update and insert the runs made was rolled back.
    let checksum =
        "SELECT count(*)::text || ' ' || md5(string_agg(a::text, ',' ORDER BY id)) FROM accounts a";
    let target_sum: String = client.query_one(checksum, &[]).await.unwrap().get(0);
    let copy_sum: String = sandbox
        .client()
        .query_one(checksum, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(copy_sum, target_sum);
    flush_statistics(&setup).await;
    assert_eq!(target_state(&setup).await, before);
}
