//! `optidb apply` then `optidb verify` on the demo: the users.email index
//! is built safely and the statement it was for gets measurably faster.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use optidb_sandbox::Cluster;
use optidb_sandbox::fixture::{DEMO, Workload};

fn optidb(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_optidb"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn verify_shows_the_users_email_lookup_got_faster() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    DEMO.load(&client, 0.25).await.unwrap();
    DEMO.run_workload(&client, |_, _| {}).await.unwrap();

    let scan = optidb(&[
        "scan",
        "--dsn",
        db.dsn(),
        "--format",
        "json",
        "--fail-on",
        "never",
        "-q",
    ]);
    let scan: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let rank = scan["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "Create index on users(email)")
        .expect("the users.email index is recommended")["rank"]
        .to_string();

    let applied = optidb(&[
        "apply",
        "--dsn",
        db.dsn(),
        &rank,
        "--yes",
        "--format",
        "json",
    ]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let applied: serde_json::Value = serde_json::from_slice(&applied.stdout).unwrap();
    let change = applied["change_id"].to_string();

    // The application keeps looking users up by email.
    let lookups = Workload {
        items: DEMO
            .workload()
            .unwrap()
            .items
            .into_iter()
            .filter(|item| item.name == "user-by-email")
            .collect(),
    };
    lookups
        .prepare(&client)
        .await
        .unwrap()
        .run(&client, |_, _| {})
        .await
        .unwrap();

    let verified = optidb(&["verify", "--dsn", db.dsn(), &change, "--format", "json"]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    let statement = &json["statements"][0];
    let before = statement["mean_ms_before"].as_f64().unwrap();
    let since = statement["mean_ms_since"].as_f64().unwrap();
    assert_eq!(statement["calls_since"], 200);
    assert!(
        since * 5.0 < before,
        "mean {before:.3} ms before, {since:.3} ms since"
    );
    assert!(
        json["verdict"].as_str().unwrap().starts_with("paid off"),
        "{json:#}"
    );
}
