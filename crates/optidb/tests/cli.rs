//! The real `optidb` binary: exit codes, stdout, stderr.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use optidb_sandbox::Cluster;

/// `optidb` with a clean environment: no connection variables, no colors.
fn optidb(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_optidb"));
    command.args(args).env("NO_COLOR", "1");
    for (name, _) in std::env::vars() {
        if name == "DATABASE_URL" || (name.starts_with("PG") && name != "PGDATA") {
            command.env_remove(name);
        }
    }
    command
}

fn run(args: &[&str]) -> Output {
    optidb(args).stdin(Stdio::null()).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn no_connection_settings_is_a_usage_error() {
    let output = run(&["bottlenecks"]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&output));
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let output = run(&["--format", "yaml", "bottlenecks"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid value 'yaml'"));
}

#[test]
fn an_unreachable_database_exits_2_without_the_password() {
    let output = run(&[
        "bottlenecks",
        "--dsn",
        "postgres://app:hunter2@127.0.0.1:1/shop",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("could not connect to app@127.0.0.1:1/shop"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

/// A fresh database with table `t(id, v)` of `rows` rows, analyzed, and
/// `calls` executions of `query` (one text parameter, the call number, for
/// LIKE; one integer, for lookups) in pg_stat_statements.
async fn database_with(rows: i32, query: &str, calls: i32) -> String {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .batch_execute(&format!(
            "CREATE TABLE t (id int, v text);
             INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;
             ANALYZE t;"
        ))
        .await
        .unwrap();
    for call in 0..calls {
        if query.contains("LIKE") {
            client.query(query, &[&format!("%{call}%")]).await.unwrap();
        } else {
            client.query(query, &[&call]).await.unwrap();
        }
    }
    db.dsn().to_string()
}

/// A database with a little LIKE workload in pg_stat_statements.
async fn database_with_workload() -> String {
    database_with(20_000, "SELECT count(*) FROM t WHERE v LIKE $1", 5).await
}

#[tokio::test]
async fn bottlenecks_as_json_follow_the_schema() {
    let dsn = database_with_workload().await;
    let output = run(&["bottlenecks", "--dsn", &dsn, "--format", "json", "-n", "3"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    let statements = json["statements"].as_array().unwrap();
    assert!(!statements.is_empty() && statements.len() <= 3);
    assert_eq!(statements[0]["rank"], 1);
    assert!(statements[0]["queryid"].is_string());
    let like = statements
        .iter()
        .find(|s| s["query"] == "SELECT count(*) FROM t WHERE v LIKE $1")
        .expect("the LIKE statement is among the top 3");
    assert_eq!(like["calls"], 5);
}

#[tokio::test]
async fn bottlenecks_as_a_table_without_colors() {
    let dsn = database_with_workload().await;
    let output = run(&["bottlenecks", "--dsn", &dsn]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("SELECT count(*) FROM t WHERE v LIKE $1"),
        "{stdout}"
    );
    assert!(stdout.contains("total ms"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "NO_COLOR output has escape codes"
    );
}

#[tokio::test]
async fn a_closed_stdout_is_not_an_error() {
    let dsn = database_with_workload().await;
    let mut child = optidb(&["bottlenecks", "--dsn", &dsn])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, like `| head -0`
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn demo_shows_the_workloads_top_statements() {
    let output = run(&[
        "demo", "--scale", "0.01", "--format", "json", "--quiet", "-n", "15",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stderr.is_empty(), "--quiet: {}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["database"], "optidb_demo");
    let queries: Vec<&str> = json["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["query"].as_str().unwrap())
        .collect();
    for expected in [
        "FROM users\nWHERE email = $1",
        "FROM orders\nWHERE user_id = $1",
        "WHERE payload @> $1",
        "WHERE description ILIKE $1",
    ] {
        assert!(
            queries.iter().any(|query| query.contains(expected)),
            "{expected:?} not among {queries:#?}"
        );
    }
}

#[tokio::test]
async fn a_saved_snapshot_is_analysed_offline_with_the_same_result() {
    let dsn = database_with_workload().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let file = file.to_str().unwrap();
    let live = run(&[
        "bottlenecks",
        "--dsn",
        &dsn,
        "--save",
        file,
        "--format",
        "json",
    ]);
    assert_eq!(live.status.code(), Some(0), "{}", stderr(&live));
    assert!(stderr(&live).contains("Snapshot saved to"));
    let offline = run(&["bottlenecks", "--from", file, "--format", "json"]);
    assert_eq!(offline.status.code(), Some(0), "{}", stderr(&offline));
    assert_eq!(offline.stdout, live.stdout);
}

#[test]
fn an_unreadable_or_newer_snapshot_file_exits_2_with_the_reason() {
    let output = run(&["bottlenecks", "--from", "/nonexistent/snap.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read the snapshot file /nonexistent/snap.json"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("future.json");
    std::fs::write(&file, r#"{"schema_version": 99}"#).unwrap();
    let output = run(&["bottlenecks", "--from", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("upgrade optidb"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dsn_and_from_are_exclusive() {
    let output = run(&["bottlenecks", "--dsn", "host=x", "--from", "snap.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn one_statement_in_full_by_queryid_or_fingerprint() {
    let dsn = database_with_workload().await;
    let list = run(&["bottlenecks", "--dsn", &dsn, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let like = json["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["query"] == "SELECT count(*) FROM t WHERE v LIKE $1")
        .unwrap();
    let queryid = like["queryid"].as_str().unwrap();

    let by_queryid = run(&["bottlenecks", "--dsn", &dsn, "--id", queryid]);
    assert_eq!(by_queryid.status.code(), Some(0), "{}", stderr(&by_queryid));
    let text = String::from_utf8(by_queryid.stdout).unwrap();
    assert!(text.contains("Generic plan:"), "{text}");
    assert!(text.contains("Seq Scan on t"), "{text}");
    assert!(text.contains("Filter: (v ~~ $1)"), "{text}");

    let detail = run(&[
        "bottlenecks",
        "--dsn",
        &dsn,
        "--id",
        queryid,
        "--format",
        "json",
    ]);
    let detail: serde_json::Value = serde_json::from_slice(&detail.stdout).unwrap();
    let fingerprint = detail["fingerprint"].as_str().unwrap();
    assert_eq!(detail["plan"]["Plan"]["Node Type"], "Aggregate");

    let by_fingerprint = run(&[
        "bottlenecks",
        "--dsn",
        &dsn,
        "--id",
        fingerprint,
        "--format",
        "json",
    ]);
    let again: serde_json::Value = serde_json::from_slice(&by_fingerprint.stdout).unwrap();
    assert_eq!(again["statement"]["queryid"], queryid);

    let missing = run(&["bottlenecks", "--dsn", &dsn, "--id", "0123456789abcdef"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no statement with queryid or fingerprint 0123456789abcdef"));
}

#[tokio::test]
async fn scan_exit_codes_follow_fail_on_and_optidb_toml_silences_rules() {
    let dsn = database_with_workload().await;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let snap = snap.to_str().unwrap();
    let live = run(&[
        "scan",
        "--dsn",
        &dsn,
        "--save",
        snap,
        "--format",
        "json",
        "--fail-on",
        "info",
    ]);
    assert_eq!(
        live.status.code(),
        Some(1),
        "findings at or above info: {}",
        stderr(&live)
    );
    let json: serde_json::Value = serde_json::from_slice(&live.stdout).unwrap();
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"OPT009"),
        "LIKE on a 20,000-row table: {codes:?}"
    );

    // Offline, from the saved snapshot: same findings, no database needed.
    let offline = run(&[
        "scan",
        "--from",
        snap,
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(offline.status.code(), Some(0), "{}", stderr(&offline));
    let again: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(again["findings"], json["findings"]);

    let config = dir.path().join("optidb.toml");
    std::fs::write(&config, "[rules]\ndisable = [\"leading-wildcard-like\"]\n").unwrap();
    let quiet = run(&[
        "scan",
        "--from",
        snap,
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "info",
    ]);
    let quiet_json: serde_json::Value = serde_json::from_slice(&quiet.stdout).unwrap();
    assert!(
        !quiet_json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "OPT009"),
        "{quiet_json:#}"
    );

    std::fs::write(&config, "[rules]\ndisable = [\"OPT999\"]\n").unwrap();
    let bad = run(&["scan", "--from", snap, "--config", config.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("OPT999"), "{}", stderr(&bad));
}

/// A database whose top statement looks rows up by an unindexed column.
async fn database_with_lookups() -> String {
    database_with(50_000, "SELECT v FROM t WHERE id = $1", 50).await
}

#[tokio::test]
async fn simulate_costs_a_given_index_and_a_scan_recommendation() {
    let dsn = database_with_lookups().await;
    let given = run(&[
        "simulate",
        "--dsn",
        &dsn,
        "--index",
        "CREATE INDEX ON t (id)",
        "--format",
        "json",
    ]);
    assert_eq!(given.status.code(), Some(0), "{}", stderr(&given));
    let json: serde_json::Value = serde_json::from_slice(&given.stdout).unwrap();
    let effect = &json["candidates"][0]["statements"][0];
    assert_eq!(effect["query"], "SELECT v FROM t WHERE id = $1");
    assert_eq!(effect["uses_index"], true);
    assert!(effect["improvement"].as_f64().unwrap() > 0.9, "{effect}");

    let first = run(&["simulate", "--dsn", &dsn, "1"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let text = String::from_utf8(first.stdout).unwrap();
    assert!(text.contains("\"optidb_t_id_idx\""), "{text}");
    assert!(text.contains("Seq Scan on t → Index Scan on t"), "{text}");

    let missing = run(&["simulate", "--dsn", &dsn, "99"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no recommendation #99"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test]
async fn simulate_chooses_for_the_workload_and_measures_for_real() {
    let dsn = database_with_lookups().await;
    let chosen = run(&[
        "simulate",
        "--dsn",
        &dsn,
        "--workload",
        "--budget",
        "100MB",
        "--format",
        "json",
    ]);
    assert_eq!(chosen.status.code(), Some(0), "{}", stderr(&chosen));
    let json: serde_json::Value = serde_json::from_slice(&chosen.stdout).unwrap();
    let ddl: Vec<&str> = json["chosen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ddl"].as_str().unwrap())
        .collect();
    assert!(ddl.iter().any(|ddl| ddl.contains("(\"id\")")), "{ddl:?}");
    assert!(json["relative_cost"].as_f64().unwrap() < 0.5, "{json}");

    let real = run(&[
        "simulate",
        "--dsn",
        &dsn,
        "--real",
        "--index",
        "CREATE INDEX ON t (id)",
        "--format",
        "json",
    ]);
    assert_eq!(real.status.code(), Some(0), "{}", stderr(&real));
    let json: serde_json::Value = serde_json::from_slice(&real.stdout).unwrap();
    let measured = &json["statements"][0];
    assert_eq!(measured["query"], "SELECT v FROM t WHERE id = $1");
    assert!(measured["speedup"].as_f64().unwrap() > 2.0, "{measured}");
    assert_eq!(json["tables"][0]["rows_copied"], 50_000);
}

#[tokio::test]
async fn simulate_drop_shows_what_an_index_is_worth() {
    let dsn = database_with_lookups().await;
    let setup = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(setup.1);
    setup
        .0
        .batch_execute("CREATE INDEX t_id_idx ON t (id); CREATE INDEX t_v_idx ON t (v)")
        .await
        .unwrap();
    let used = run(&[
        "simulate",
        "--dsn",
        &dsn,
        "--drop",
        "public.t_id_idx",
        "--format",
        "json",
    ]);
    assert_eq!(used.status.code(), Some(0), "{}", stderr(&used));
    let json: serde_json::Value = serde_json::from_slice(&used.stdout).unwrap();
    let effect = &json["candidates"][0]["statements"][0];
    assert!(effect["improvement"].as_f64().unwrap() < -0.5, "{effect}");
    let unused = run(&["simulate", "--dsn", &dsn, "--drop", "t_v_idx"]);
    assert!(
        String::from_utf8_lossy(&unused.stdout).contains("dropping it costs the workload nothing")
    );
}

#[tokio::test]
async fn apply_shows_asks_runs_records_and_rolls_back() {
    let dsn = database_with_lookups().await;
    let index_exists = || async {
        let (client, connection) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'optidb_t_id_idx'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
            == 1
    };

    let dry = run(&["apply", "--dsn", &dsn, "1", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let sql = String::from_utf8(dry.stdout).unwrap();
    assert!(
        sql.starts_with("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_t_id_idx\""),
        "{sql}"
    );
    assert!(!index_exists().await, "--dry-run runs nothing");

    let unasked = run(&["apply", "--dsn", &dsn, "1"]);
    assert_eq!(unasked.status.code(), Some(2));
    assert!(
        stderr(&unasked).contains("pass --yes"),
        "{}",
        stderr(&unasked)
    );
    assert!(
        stderr(&unasked).contains("up to"),
        "the simulated effect is shown: {}",
        stderr(&unasked)
    );
    assert!(!index_exists().await);

    let applied = run(&["apply", "--dsn", &dsn, "1", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert!(index_exists().await);
    let history = run(&["history", "--dsn", &dsn, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(json["changes"][0]["status"], "applied");
    let id = json["changes"][0]["id"].as_i64().unwrap().to_string();

    let undone = run(&["rollback", "--dsn", &dsn, &id, "--yes", "--format", "json"]);
    assert_eq!(undone.status.code(), Some(0), "{}", stderr(&undone));
    assert!(!index_exists().await);
    let json: serde_json::Value = serde_json::from_slice(&undone.stdout).unwrap();
    assert_eq!(json["rolled_back"].to_string(), id);
    assert!(json["change_id"].as_i64().unwrap() > json["rolled_back"].as_i64().unwrap());
    let history = run(&["history", "--dsn", &dsn, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(json["changes"][0]["status"], "rolled_back");

    let refused = run(&["apply", "--dsn", &dsn, "--ddl", "DROP TABLE t", "--yes"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("DROP TABLE"),
        "{}",
        stderr(&refused)
    );

    let doctor = run(&["doctor", "--dsn", &dsn]);
    assert_eq!(doctor.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("No INVALID index"));
}
