//! The LLM features end to end: the real binary, the demo database, and a
//! local OpenAI-compatible stub server. Requests carry no literal; good
//! answers render with their citations; every kind of failure falls back
//! to the templates without failing the scan; a rewrite is shown only once
//! verified; the cache answers a repeated run without HTTP.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use optidb_llm_stub::{Reply, Request, StubServer, sentences};
use optidb_sandbox::fixture::DEMO;
use optidb_sandbox::{Cluster, Database};
use serde_json::Value;

/// Literals the tests put in the workload: none may ever reach the model.
const SECRET_EMAIL: &str = "secret.person@example.com";
const SECRET_NAME: &str = "optidb-secret-app";
const SECRET_NUMBER: &str = "987654321";

/// The demo at scale 0.25 after its workload, plus statements with
/// literals written inline (pg_stat_statements normalizes the first two;
/// it keeps the utility statement's text as it was).
async fn demo() -> Database {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    DEMO.load(&client, 0.25).await.unwrap();
    DEMO.run_workload(&client, |_, _| {}).await.unwrap();
    for _ in 0..3 {
        client
            .batch_execute(&format!(
                "SELECT * FROM users WHERE email = '{SECRET_EMAIL}';
                 SELECT * FROM orders WHERE id = {SECRET_NUMBER};
                 SET application_name = '{SECRET_NAME}';"
            ))
            .await
            .unwrap();
    }
    db
}

/// Runs the binary with the model at `stub` (or none), caching in `cache`.
fn optidb(stub: Option<&StubServer>, cache: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_optidb"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", cache)
        .env("OPTIDB_LLM_CACHE_DIR", cache.join("llm"))
        .env_remove("OPTIDB_LLM_MODEL")
        .env_remove("OPTIDB_LLM_BASE_URL")
        .env_remove("OPTIDB_LLM_API_VERSION")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null());
    if let Some(stub) = stub {
        command
            .env("OPTIDB_LLM_MODEL", "stub-model")
            .env("OPTIDB_LLM_BASE_URL", stub.base_url())
            .env("OPENAI_API_KEY", "sk-test");
    }
    command.output().unwrap()
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every request went to the chat endpoint and carried no literal of the
/// workload, no connection detail.
fn assert_nothing_sensitive(requests: &[Request], db: &Database) {
    assert!(!requests.is_empty());
    for request in requests {
        assert_eq!(request.path, "/v1/chat/completions");
        for secret in [SECRET_EMAIL, SECRET_NAME, SECRET_NUMBER, db.dsn()] {
            assert!(
                !request.body.contains(secret),
                "{secret} was sent: {}",
                request.body
            );
        }
    }
}

/// An explanation citing F1 (every sheet's first fact holds no number).
fn grounded() -> Reply {
    Reply::Content(sentences(&[("This is what the evidence shows.", &["F1"])]))
}

fn scan_args(db: &Database) -> Vec<&str> {
    vec![
        "scan",
        "--dsn",
        db.dsn(),
        "--format",
        "json",
        "--fail-on",
        "never",
        "--no-simulate",
        "--explain",
        "--explain-top",
        "3",
    ]
}

#[tokio::test]
async fn scan_explains_the_top_recommendations_with_citations_and_caches_them() {
    let db = demo().await;
    let cache = tempfile::tempdir().unwrap();
    let stub = StubServer::start(|_| grounded()).unwrap();

    let report = json(&optidb(Some(&stub), cache.path(), &scan_args(&db)));
    let recommendations = report["recommendations"].as_array().unwrap();
    assert!(recommendations.len() > 3);
    for (index, recommendation) in recommendations.iter().enumerate() {
        let explanation = &recommendation["explanation"];
        if index >= 3 {
            assert!(explanation.is_null(), "only the top 3 are explained");
            continue;
        }
        assert_eq!(explanation["model"], "stub-model");
        assert_eq!(explanation["cached"], false);
        assert_eq!(explanation["sentences"][0]["facts"][0], "F1");
        assert_eq!(explanation["facts"][0]["id"], "F1");
        assert!(
            explanation["facts"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("action ")
        );
        assert!(!recommendation["rationale"].as_str().unwrap().is_empty());
    }
    assert!(
        !report["warnings"].to_string().contains("LLM"),
        "{}",
        report["warnings"]
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 3);
    assert_nothing_sensitive(&requests, &db);
    assert!(requests.iter().all(|r| r.prompt().contains("$1")));

    // The same scan again, as a table: served from the cache, no HTTP.
    let mut args = scan_args(&db);
    args[4] = "table";
    let output = optidb(Some(&stub), cache.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stub.requests().len(), 3, "the cache answered");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("#1 explained:"), "{table}");
    assert!(
        table.contains("This is what the evidence shows. [F1]"),
        "{table}"
    );
    assert!(table.contains("(stub-model, cached;"), "{table}");
}

#[tokio::test]
async fn every_failure_falls_back_to_the_templates_and_is_said_once() {
    let db = demo().await;
    let cache = tempfile::tempdir().unwrap();
    let invented_fact = Reply::Content(sentences(&[("Orders are huge.", &["F999"])]));
    let invented_number = Reply::Content(sentences(&[("It is 42 times slower.", &["F1"])]));
    let cases: Vec<(&str, Reply, &[&str])> = vec![
        (
            "HTTP 500",
            Reply::Status(
                500,
                r#"{"error":{"message":"boom","type":"server_error","param":null,"code":null}}"#
                    .into(),
            ),
            &[],
        ),
        (
            "malformed JSON",
            Reply::Content("Sure! The index helps.".into()),
            &[],
        ),
        (
            "timeout",
            Reply::Hang(Duration::from_secs(5)),
            &["--llm-timeout", "1"],
        ),
        ("invented fact id", invented_fact, &[]),
        ("invented number", invented_number, &[]),
    ];
    for (case, reply, extra) in cases {
        let stub = StubServer::start(move |_| reply.clone()).unwrap();
        let mut args = scan_args(&db);
        args.push("--no-cache");
        args.extend_from_slice(extra);
        let output = optidb(Some(&stub), cache.path(), &args);
        let report = json(&output);
        for recommendation in report["recommendations"].as_array().unwrap() {
            assert!(recommendation["explanation"].is_null(), "{case}");
            assert!(!recommendation["rationale"].as_str().unwrap().is_empty());
        }
        let warnings = report["warnings"].to_string();
        assert!(
            warnings.contains("LLM: ") && warnings.contains("the template rationale stands"),
            "{case}: {warnings}"
        );
        assert_eq!(
            stderr(&output).matches("note: LLM:").count(),
            1,
            "{case}: said once: {}",
            stderr(&output)
        );
        assert_nothing_sensitive(&stub.requests(), &db);
    }

    // No model configured: the scan says so once and carries on.
    let output = optidb(None, cache.path(), &scan_args(&db));
    let report = json(&output);
    assert!(report["warnings"].to_string().contains("OPTIDB_LLM_MODEL"));
    assert_eq!(stderr(&output).matches("note: LLM:").count(), 1);
}

/// The demo's correlated subquery, rewritten as a join: same rows, cheaper.
const EQUIVALENT: &str = "SELECT p.id, p.name, p.price FROM products AS p JOIN (SELECT category_id, avg(price) AS average FROM products WHERE category_id = $1 GROUP BY category_id) AS a ON a.category_id = p.category_id WHERE p.category_id = $1 AND p.price > a.average ORDER BY p.price DESC";
/// A rewrite that forgets the average: cheaper, and wrong.
const WRONG: &str = "SELECT p.id, p.name, p.price FROM products AS p WHERE p.category_id = $1 ORDER BY p.price DESC";

fn proposal(rewrite: &str, index: Option<&str>) -> Reply {
    Reply::Content(
        serde_json::json!({
            "sentences": [{"text": "The subquery is computed again for every row.", "facts": ["F1"]}],
            "rewrite": rewrite,
            "index": index,
        })
        .to_string(),
    )
}

#[tokio::test]
async fn explain_shows_a_rewrite_only_once_verified() {
    let db = demo().await;
    let cache = tempfile::tempdir().unwrap();
    let client = db.connect().await.unwrap();
    let queryid_of = async |pattern: &str| -> String {
        let queryid: i64 = client
            .query_one(
                "SELECT queryid FROM pg_stat_statements
                  WHERE query LIKE $1 AND query NOT LIKE '%pg_stat_statements%'
                    AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  ORDER BY calls DESC LIMIT 1",
                &[&pattern],
            )
            .await
            .unwrap()
            .get(0);
        queryid.to_string()
    };
    let queryid = queryid_of("%avg(p2.price)%").await;
    let explain = |stub: &StubServer, queryid: &str| {
        json(&optidb(
            Some(stub),
            cache.path(),
            &[
                "explain",
                queryid,
                "--dsn",
                db.dsn(),
                "--format",
                "json",
                "--no-cache",
            ],
        ))
    };

    let stub = StubServer::scripted(vec![proposal(
        EQUIVALENT,
        Some("CREATE INDEX ON products (category_id, price)"),
    )])
    .unwrap();
    let report = explain(&stub, &queryid);
    assert_nothing_sensitive(&stub.requests(), &db);
    assert_eq!(report["explanation"]["sentences"][0]["facts"][0], "F1");
    let rewrite = &report["rewrite"];
    assert_eq!(rewrite["sql"], EQUIVALENT, "{report:#}");
    assert!(
        rewrite["evidence"]
            .as_str()
            .unwrap()
            .starts_with("same results on 5 parameter sets"),
        "{rewrite}"
    );
    assert!(rewrite["cost_after"].as_f64() < rewrite["cost_before"].as_f64());
    // That index does not make the statement cheaper: not shown.
    assert!(report["index"].is_null(), "{report:#}");
    assert!(
        report["notes"]
            .to_string()
            .contains("less than 10% cheaper"),
        "{report:#}"
    );
    let prompt = stub.requests()[0].prompt();
    assert!(prompt.contains("statement: SELECT p.id"), "{prompt}");
    assert!(prompt.contains("table public.products"), "{prompt}");

    let stub = StubServer::scripted(vec![proposal(WRONG, Some("DROP TABLE products"))]).unwrap();
    let report = explain(&stub, &queryid);
    assert!(report["rewrite"].is_null(), "{report:#}");
    assert!(report["index"].is_null(), "{report:#}");
    let notes = report["notes"].to_string();
    assert!(notes.contains("returned different results"), "{notes}");
    assert!(notes.contains("not one CREATE INDEX statement"), "{notes}");
    let table = optidb(
        Some(&stub),
        cache.path(),
        &["explain", &queryid, "--dsn", db.dsn(), "--no-cache"],
    );
    assert!(!String::from_utf8_lossy(&table.stdout).contains(WRONG));

    // An index that helps is shown with its what-if result.
    let lookup = queryid_of("%WHERE email = $1%").await;
    let stub = StubServer::scripted(vec![Reply::Content(
        serde_json::json!({
            "sentences": [{"text": "Every call reads all users.", "facts": ["F1"]}],
            "rewrite": null,
            "index": "CREATE INDEX ON users (email)",
        })
        .to_string(),
    )])
    .unwrap();
    let report = explain(&stub, &lookup);
    let index = &report["index"];
    assert_eq!(index["ddl"], "CREATE INDEX ON users (email)", "{report:#}");
    assert!(index["simulation"]["best_improvement"].as_f64().unwrap() > 0.5);
    assert!(report["rewrite"].is_null());
}

#[tokio::test]
async fn ask_answers_from_the_facts_or_says_it_cannot() {
    let db = demo().await;
    let cache = tempfile::tempdir().unwrap();
    let stub = StubServer::scripted(vec![
        Reply::Content(
            serde_json::json!({"answered": true, "sentences": [{"text": "The database's statements are listed.", "facts": ["F1"]}]}).to_string(),
        ),
        Reply::Content(r#"{"answered": false, "sentences": []}"#.into()),
    ])
    .unwrap();
    let ask = |question: &str| {
        optidb(
            Some(&stub),
            cache.path(),
            &["ask", question, "--dsn", db.dsn(), "--no-cache"],
        )
    };
    let output = ask("why is checkout slow?");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Q: why is checkout slow?"), "{text}");
    assert!(
        text.contains("The database's statements are listed. [F1]"),
        "{text}"
    );
    assert!(text.contains("F1: database "), "{text}");

    let output = ask("what will the weather be?");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("do not answer this question"));
    let requests = stub.requests();
    assert_nothing_sensitive(&requests, &db);
    assert!(
        requests[0]
            .prompt()
            .contains("Question: why is checkout slow?")
    );

    // Without a model there is nothing to answer with.
    let output = optidb(None, cache.path(), &["ask", "why?", "--dsn", db.dsn()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("needs an LLM"),
        "{}",
        stderr(&output)
    );
}
