//! Generic plans of normalized statements, against a real PostgreSQL (15 in
//! the sandbox: the `PREPARE` + `EXPLAIN EXECUTE` path).

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use optidb_ingest::plans::{ExplainOptions, PlanOutcome, StatementPlan, explain_statements};
use optidb_model::Statement;
use optidb_model::plan::Plan;
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::{Cluster, Database};
use tokio_postgres::Client;

/// A table with an index worth using: 10,000 rows, `id` the primary key.
const SCHEMA: &str = "
    CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL);
    INSERT INTO t SELECT g, md5(g::text), timestamptz '2026-01-01' + g * interval '1 minute'
      FROM generate_series(1, 10000) g;
    ANALYZE t;";

async fn database() -> (Database, Client) {
    let db = Cluster::shared().unwrap().create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    client.batch_execute(SCHEMA).await.unwrap();
    (db, client)
}

/// A session as optidb opens it: read-only, jit off, timeouts.
async fn read_only_session(db: &Database) -> Client {
    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None).unwrap();
    optidb_pg::connect(&target, &SessionSettings::read_only())
        .await
        .unwrap()
}

async fn version(client: &Client) -> u32 {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap();
    u32::try_from(row.get::<_, i32>(0)).unwrap()
}

fn statements(texts: &[&str]) -> Vec<Statement> {
    texts
        .iter()
        .zip(1..)
        .map(|(text, queryid)| Statement {
            queryid,
            query: (*text).to_string(),
            ..Statement::default()
        })
        .collect()
}

async fn explain(client: &Client, texts: &[&str]) -> Vec<StatementPlan> {
    explain_with(client, texts, &ExplainOptions::default()).await
}

async fn explain_with(
    client: &Client,
    texts: &[&str],
    options: &ExplainOptions,
) -> Vec<StatementPlan> {
    let statements = statements(texts);
    let plans = explain_statements(client, &statements, version(client).await, options)
        .await
        .unwrap();
    let queryids: Vec<i64> = plans.iter().map(|p| p.queryid).collect();
    let expected: Vec<i64> = statements
        .iter()
        .take(options.limit)
        .map(|s| s.queryid)
        .collect();
    assert_eq!(queryids, expected, "one plan per statement, in order");
    plans
}

fn plan(outcome: &StatementPlan) -> &Plan {
    match &outcome.outcome {
        PlanOutcome::Planned { plan } => plan,
        PlanOutcome::Skipped { reason, .. } => panic!("skipped: {reason}"),
    }
}

fn skipped(outcome: &StatementPlan) -> (&str, Option<&str>) {
    match &outcome.outcome {
        PlanOutcome::Skipped { reason, sqlstate } => (reason, sqlstate.as_deref()),
        PlanOutcome::Planned { plan } => panic!("planned: {plan:?}"),
    }
}

#[tokio::test]
async fn a_parameterized_select_gets_a_generic_index_scan() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(&client, &["SELECT * FROM t WHERE id = $1"]).await;
    let root = &plan(&plans[0]).root;
    assert_eq!(root.node_type, "Index Scan");
    assert_eq!(root.relation_name.as_deref(), Some("t"));
    assert_eq!(root.index_name.as_deref(), Some("t_pkey"));
    assert_eq!(root.index_cond.as_deref(), Some("(id = $1)"));
}

#[tokio::test]
async fn statements_without_parameters_are_explained_as_they_are() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(&client, &["SELECT count(*) FROM t WHERE v LIKE '%ab%'"]).await;
    let plan = plan(&plans[0]);
    let scans = plan.seq_scans_over(1);
    assert_eq!(scans.len(), 1, "{plan:?}");
    assert_eq!(scans[0].filter, Some("(v ~~ '%ab%'::text)"));
}

#[tokio::test]
async fn typed_literals_are_rewritten_to_casts_and_explained() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(
        &client,
        &[
            "SELECT * FROM t WHERE at > timestamptz $1 AND at < timestamp with time zone $2 - interval $3 day",
        ],
    )
    .await;
    let root = &plan(&plans[0]).root;
    let filter = root.filter.as_deref().unwrap();
    assert!(filter.contains("$1") && filter.contains("$3"), "{filter}");
}

#[tokio::test]
async fn a_typed_literal_of_an_unknown_type_is_skipped_naming_the_literal() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(&client, &["SELECT * FROM t WHERE v = citext $1"]).await;
    let (reason, sqlstate) = skipped(&plans[0]);
    assert_eq!(sqlstate, Some("42601"));
    assert!(
        reason.starts_with("`citext $1` is a typed literal"),
        "{reason}"
    );
    assert!(reason.ends_with("(SQLSTATE 42601)"), "{reason}");
}

#[tokio::test]
async fn utility_statements_are_skipped_with_a_reason() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(
        &client,
        &[
            "BEGIN",
            "SET work_mem = $1",
            "CREATE TABLE u (a int)",
            "EXPLAIN SELECT 1",
            "SELECT 1; DROP TABLE t",
        ],
    )
    .await;
    let reasons: Vec<(&str, Option<&str>)> = plans.iter().map(skipped).collect();
    assert_eq!(
        reasons,
        [
            ("BEGIN is a utility statement: it has no plan", None),
            ("SET is a utility statement: it has no plan", None),
            ("CREATE is a utility statement: it has no plan", None),
            ("EXPLAIN is a utility statement: it has no plan", None),
            ("holds more than one statement", None),
        ]
    );
    let owner = db.connect().await.unwrap();
    let tables = owner
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname IN ('t', 'u')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(tables.get::<_, i64>(0), 1, "nothing was created or dropped");
}

#[tokio::test]
async fn a_dropped_table_is_skipped_and_later_statements_still_get_plans() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(
        &client,
        &[
            "SELECT * FROM gone WHERE id = $1",
            "SELECT * FROM t WHERE id = $1",
            "SELECT count(*) FROM gone",
            "SELECT v FROM t WHERE id = 7",
        ],
    )
    .await;
    for failed in [&plans[0], &plans[2]] {
        let (reason, sqlstate) = skipped(failed);
        assert_eq!(reason, "relation \"gone\" does not exist (SQLSTATE 42P01)");
        assert_eq!(sqlstate, Some("42P01"));
    }
    assert_eq!(plan(&plans[1]).root.node_type, "Index Scan");
    assert_eq!(plan(&plans[3]).root.node_type, "Index Scan");
}

#[tokio::test]
async fn parameters_whose_type_cannot_be_inferred_are_skipped() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    // $1 never appears: PostgreSQL cannot tell its type.
    let plans = explain(&client, &["SELECT * FROM t WHERE id = $2"]).await;
    let (reason, sqlstate) = skipped(&plans[0]);
    assert_eq!(sqlstate, Some("42P18"));
    assert!(reason.contains("parameter $1"), "{reason}");
}

#[tokio::test]
async fn writes_are_planned_in_a_read_only_session_and_nothing_is_written() {
    let (db, owner) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(
        &client,
        &[
            "INSERT INTO t (id, v, at) VALUES ($1, $2, $3)",
            "UPDATE t SET v = $2 WHERE id = $1",
            "DELETE FROM t WHERE id = $1",
            "MERGE INTO t USING (SELECT $1::int AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "INSERT INTO t SELECT * FROM t WHERE id > 9000",
        ],
    )
    .await;
    let operations: Vec<Option<&str>> = plans
        .iter()
        .map(|p| plan(p).root.operation.as_deref())
        .collect();
    assert_eq!(
        operations,
        [
            Some("Insert"),
            Some("Update"),
            Some("Delete"),
            Some("Merge"),
            Some("Insert")
        ]
    );
    let update = plan(&plans[1]);
    assert_eq!(
        update.root.children[0].index_cond.as_deref(),
        Some("(id = $1)")
    );
    let rows = owner
        .query_one("SELECT count(*), count(DISTINCT v) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(
        (rows.get::<_, i64>(0), rows.get::<_, i64>(1)),
        (10000, 10000)
    );
}

#[tokio::test]
async fn the_callers_prepared_statements_survive_and_optidbs_are_gone() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    // One prepared at the protocol level (the driver's), one in SQL.
    let driver_statement = client.prepare("SELECT $1::int + 1").await.unwrap();
    client
        .batch_execute("PREPARE mine(int) AS SELECT v FROM t WHERE id = $1")
        .await
        .unwrap();

    let plans = explain(
        &client,
        &[
            "SELECT * FROM t WHERE id = $1",
            "SELECT * FROM gone WHERE id = $1",
            "SELECT * FROM t WHERE v = $1 AND id = $2",
        ],
    )
    .await;
    assert!(plans[0].plan().is_some() && plans[2].plan().is_some());

    let row = client.query_one(&driver_statement, &[&41]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    let rows = client.simple_query("EXECUTE mine(7)").await.unwrap();
    assert!(
        rows.iter()
            .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
    );
    // SQL-level prepared statements (the driver's own are protocol-level,
    // `from_sql` false).
    let names: Vec<String> = client
        .query(
            "SELECT name FROM pg_prepared_statements WHERE from_sql ORDER BY name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(names, ["mine"], "optidb's own were deallocated");
}

#[tokio::test]
async fn a_statement_over_the_timeout_is_skipped_and_the_next_one_planned() {
    let (db, owner) = database().await;
    // Planning folds immutable calls on constants: this one makes planning slow.
    owner
        .batch_execute(
            "CREATE FUNCTION slow_constant() RETURNS int IMMUTABLE LANGUAGE plpgsql AS
             $$ BEGIN PERFORM pg_sleep(2); RETURN 1; END $$;",
        )
        .await
        .unwrap();
    let client = read_only_session(&db).await;
    let options = ExplainOptions {
        statement_timeout: Duration::from_millis(100),
        ..ExplainOptions::default()
    };
    let plans = explain_with(
        &client,
        &[
            "SELECT * FROM t WHERE id = slow_constant() + $1",
            "SELECT * FROM t WHERE id = $1",
        ],
        &options,
    )
    .await;
    let (reason, sqlstate) = skipped(&plans[0]);
    assert_eq!(
        reason,
        "planning took longer than the 100 ms statement timeout (SQLSTATE 57014)"
    );
    assert_eq!(sqlstate, Some("57014"));
    assert_eq!(plan(&plans[1]).root.node_type, "Index Scan");
    // The SET LOCAL ended with its transaction: the session's own timeout is back.
    let timeout = client.simple_query("SHOW statement_timeout").await.unwrap();
    let shown = timeout.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(shown.as_deref(), Some("5s"));
}

#[tokio::test]
async fn permission_denied_is_skipped_with_its_sqlstate() {
    let (db, owner) = database().await;
    owner
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE optidb_reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             CREATE TABLE secret (id int PRIMARY KEY);
             REVOKE ALL ON secret FROM PUBLIC;
             GRANT CONNECT ON DATABASE {} TO optidb_reader;",
            db.name()
        ))
        .await
        .unwrap();
    let target =
        ConnectionTarget::resolve(Some(&format!("{} user=optidb_reader", db.dsn())), |_| None)
            .unwrap();
    let client = optidb_pg::connect(&target, &SessionSettings::read_only())
        .await
        .unwrap();
    let plans = explain(&client, &["SELECT * FROM secret WHERE id = $1"]).await;
    let (reason, sqlstate) = skipped(&plans[0]);
    assert_eq!(
        reason,
        "permission denied for table secret (SQLSTATE 42501)"
    );
    assert_eq!(sqlstate, Some("42501"));
}

#[tokio::test]
async fn identical_texts_share_one_outcome_and_keep_their_queryids() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(
        &client,
        &[
            "SELECT * FROM t WHERE id = $1",
            "BEGIN",
            "SELECT * FROM t WHERE id = $1",
        ],
    )
    .await;
    assert_eq!(plans[0].outcome, plans[2].outcome);
    assert_eq!((plans[0].queryid, plans[2].queryid), (1, 3));
}

#[tokio::test]
async fn only_the_first_statements_up_to_the_limit_are_explained() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let options = ExplainOptions {
        limit: 2,
        ..ExplainOptions::default()
    };
    let plans = explain_with(&client, &["SELECT 1", "SELECT 2", "SELECT 3"], &options).await;
    assert_eq!(plans.len(), 2);
}

#[tokio::test]
async fn more_statements_than_one_batch_all_get_plans() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let texts: Vec<String> = (0..250)
        .map(|i| format!("SELECT v FROM t WHERE id = $1 AND {i} = {i}"))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let options = ExplainOptions {
        limit: 1000,
        ..ExplainOptions::default()
    };
    let plans = explain_with(&client, &texts, &options).await;
    assert_eq!(plans.len(), 250);
    assert!(plans.iter().all(|p| p.plan().is_some()));
}

#[tokio::test]
async fn a_trailing_line_comment_does_not_swallow_optidbs_sql() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    let plans = explain(
        &client,
        &["SELECT * FROM t WHERE id = $1 -- from the app", "SELECT 1;"],
    )
    .await;
    assert_eq!(plan(&plans[0]).root.node_type, "Index Scan");
    assert_eq!(plan(&plans[1]).root.node_type, "Result");
}

#[tokio::test]
async fn optidbs_own_statements_are_tagged_in_pg_stat_statements() {
    let (db, owner) = database().await;
    let client = read_only_session(&db).await;
    let version = version(&client).await;
    owner
        .batch_execute("SELECT pg_stat_statements_reset()")
        .await
        .unwrap();
    let statements = statements(&[
        "SELECT * FROM t WHERE id = $1",
        "SELECT * FROM gone",
        "SELECT 1",
    ]);
    explain_statements(&client, &statements, version, &ExplainOptions::default())
        .await
        .unwrap();
    let rows = owner
        .query(
            "SELECT query FROM pg_stat_statements
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap();
    let texts: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    for expected in [
        "/* optidb */ EXPLAIN",
        "/* optidb */ BEGIN",
        "/* optidb */ SET LOCAL",
        "/* optidb */ ROLLBACK",
    ] {
        assert!(
            texts.iter().any(|t| t.starts_with(expected)),
            "{expected}: {texts:#?}"
        );
    }
    let untagged: Vec<&String> = texts
        .iter()
        .filter(|t| !t.starts_with("/* optidb */") && !t.contains("pg_stat_statements_reset"))
        .collect();
    assert!(untagged.is_empty(), "{untagged:#?}");
}

#[tokio::test]
async fn the_version_number_picks_explain_generic_plan_from_postgres_16() {
    let (db, _) = database().await;
    let client = read_only_session(&db).await;
    assert!(
        version(&client).await < 160000,
        "the sandbox runs PostgreSQL 15"
    );
    let statements = statements(&["SELECT * FROM t WHERE id = $1", "SELECT 1"]);
    let plans = explain_statements(&client, &statements, 160000, &ExplainOptions::default())
        .await
        .unwrap();
    // PostgreSQL 15 analyses the statement before it reads EXPLAIN's options,
    // so it stumbles on the parameter: proof that the statement went to
    // EXPLAIN directly instead of through PREPARE (which would have planned it).
    let (reason, sqlstate) = skipped(&plans[0]);
    assert_eq!(reason, "there is no parameter $1 (SQLSTATE 42P02)");
    assert_eq!(sqlstate, Some("42P02"));
    assert!(plans[1].plan().is_some());
}

#[tokio::test]
async fn a_lost_connection_is_an_error_not_a_skip() {
    let (db, owner) = database().await;
    let client = read_only_session(&db).await;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    owner
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let statements = statements(&["SELECT * FROM t WHERE id = $1"]);
    let err = explain_statements(&client, &statements, 150000, &ExplainOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, optidb_ingest::Error::Query { .. }), "{err}");
}
