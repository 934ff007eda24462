//! `optidb scan` end to end on the fixtures: every problem planted in the
//! demo is found by the right rule, the right index is recommended for each
//! missing one, and the clean fixture gets no index and no warning.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use optidb_sandbox::Cluster;
use optidb_sandbox::fixture::{CLEAN, DEMO, Fixture};
use serde_json::Value;

/// Large enough for every planted table to pass `large_table_rows`.
const SCALE: f64 = 0.25;

/// The rule that must find each kind of planted problem.
fn rule_for(kind: &str) -> &'static str {
    match kind {
        "missing-index" | "missing-composite-index" => "OPT001",
        "fk-without-index" => "OPT003",
        "duplicate-index" => "OPT004",
        "redundant-index" => "OPT005",
        "unused-index" => "OPT006",
        "correlated-subquery" => "OPT007",
        "n-plus-one" => "OPT008",
        "leading-wildcard-like" => "OPT009",
        "jsonb-without-gin" => "OPT010",
        "stale-statistics" => "OPT012",
        other => panic!("expected.toml has a kind no rule finds: {other}"),
    }
}

/// Loads `fixture`, runs its workload, and scans it with the real binary.
async fn scan(fixture: Fixture) -> Value {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    fixture.load(&client, SCALE).await.unwrap();
    fixture.run_workload(&client, |_, _| {}).await.unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_optidb"))
        .args([
            "scan",
            "--dsn",
            db.dsn(),
            "--format",
            "json",
            "--fail-on",
            "never",
            "--quiet",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_planted_problem_is_found_by_the_right_rule() {
    let report = scan(DEMO).await;
    let findings = report["findings"].as_array().unwrap();
    let mut missed = Vec::new();
    for problem in DEMO.expectations().unwrap().problems {
        let code = rule_for(&problem.kind);
        let table = problem.table.as_ref().map(|t| format!("public.{t}"));
        let found = findings.iter().any(|finding| {
            finding["code"] == code
                && table
                    .as_ref()
                    .is_none_or(|table| strings(&finding["tables"]).contains(table))
                && (!matches!(code, "OPT004" | "OPT005" | "OPT006")
                    || strings(&finding["indexes"]).iter().any(|index| {
                        problem
                            .index
                            .iter()
                            .any(|planted| index.ends_with(planted.as_str()))
                    }))
        });
        if !found {
            missed.push(format!("{} ({code})", problem.id));
        }
    }
    assert!(
        missed.is_empty(),
        "not found: {missed:?}\nfindings: {findings:#?}"
    );
}

#[tokio::test]
async fn each_missing_index_gets_the_right_leading_columns() {
    let report = scan(DEMO).await;
    let recommendations = report["recommendations"].as_array().unwrap();
    for problem in DEMO.expectations().unwrap().problems {
        if !problem.kind.starts_with("missing") {
            continue;
        }
        let table = problem.table.clone().unwrap();
        // The best-ranked index recommendation on the table.
        let top = recommendations
            .iter()
            .filter(|r| r["action"] == "create_index")
            .find(|r| strings(&r["tables"]).contains(&format!("public.{table}")))
            .unwrap_or_else(|| panic!("no index recommended for {}", problem.id));
        let title = top["title"].as_str().unwrap();
        let expected = format!("Create index on {table}({}", problem.columns.join(", "));
        assert!(
            title.starts_with(&expected),
            "{}: {title} does not start with {expected}",
            problem.id
        );
    }
}

#[tokio::test]
async fn the_clean_fixture_gets_no_index_and_no_warning() {
    let report = scan(CLEAN).await;
    let recommendations = report["recommendations"].as_array().unwrap();
    let indexes: Vec<&Value> = recommendations
        .iter()
        .filter(|r| r["action"] == "create_index")
        .collect();
    assert!(indexes.is_empty(), "{indexes:#?}");
    let loud: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}
