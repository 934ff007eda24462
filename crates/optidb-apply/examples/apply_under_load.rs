//! `optidb apply` under a concurrent write load: pgbench writes to a table
//! while an index is built on it CONCURRENTLY through `optidb_apply::apply`.
//! Prints the build time, pgbench's transaction count, failures and
//! latency, and the longest lock wait any session saw during the build
//! (sampled from pg_locks every 10 ms).
//!
//! `cargo run --release -p optidb-apply --example apply_under_load -- [--rows 2000000] [--clients 4]`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use optidb_apply::{ApplyOptions, apply};
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::Cluster;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rows = value("--rows", 2_000_000);
    let clients = value("--clients", 4);
    let cluster = Cluster::start()?;
    let db = cluster.create_database().await?;
    let setup = db.connect().await?;
    setup
        .batch_execute(&format!(
            "CREATE TABLE accounts (id bigint PRIMARY KEY, owner bigint NOT NULL, balance numeric NOT NULL);
             INSERT INTO accounts SELECT g, g % 50000, 0 FROM generate_series(1, {rows}) g;
             ANALYZE accounts;"
        ))
        .await?;
    let script = cluster.root_dir().join("writes.sql");
    std::fs::write(
        &script,
        format!(
            "\\set id random(1, {rows})\n\
             \\set fresh random(1, 99999999)\n\
             UPDATE accounts SET balance = balance + 1 WHERE id = :id;\n\
             INSERT INTO accounts VALUES ({rows} + :client_id * 100000000 + :fresh, :id % 50000, 0) ON CONFLICT DO NOTHING;\n"
        ),
    )?;

    // Lock waits, sampled while the build runs.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher_flag = watching.clone();
    let watcher_client = db.connect().await?;
    let watcher = tokio::spawn(async move {
        let mut longest_ms: f64 = 0.0;
        while watcher_flag.load(Ordering::Relaxed) {
            if let Ok(row) = watcher_client
                .query_one(
                    "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000), 0)::float8
                       FROM pg_locks l WHERE NOT l.granted AND l.waitstart IS NOT NULL",
                    &[],
                )
                .await
            {
                longest_ms = longest_ms.max(row.get::<_, f64>(0));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        longest_ms
    });

    let load_seconds = 30;
    let pgbench = Command::new(cluster.binaries().program("pgbench"))
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
        ])
        .args(["-T", &load_seconds.to_string(), "-f"])
        .arg(&script)
        .args([
            "-h",
            cluster.host(),
            "-p",
            &cluster.port().to_string(),
            "-U",
            "postgres",
            db.name(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None)?;
    let writable = SessionSettings {
        read_only: false,
        ..SessionSettings::read_only()
    };
    let session = optidb_pg::connect(&target, &writable).await?;
    let options = ApplyOptions {
        applied_by: "apply_under_load".into(),
        ..ApplyOptions::default()
    };
    let started = Instant::now();
    let applied = apply(
        &session,
        "CREATE INDEX CONCURRENTLY optidb_accounts_owner_idx ON accounts (owner)",
        &options,
    )
    .await;
    let build = started.elapsed();
    watching.store(false, Ordering::Relaxed);
    let longest_wait_ms = watcher.await?;
    let output = pgbench.wait_with_output()?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!("pgbench: {}", String::from_utf8_lossy(&output.stderr));
    }
    let line = |prefix: &str| {
        report
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    println!("rows {rows}, pgbench clients {clients} for {load_seconds} s");
    println!(
        "apply: {:?} in {:.2} s",
        applied.map(|a| a.index),
        build.as_secs_f64()
    );
    println!(
        "pgbench: {}",
        line("number of transactions actually processed")
    );
    println!("pgbench: {}", line("number of failed transactions"));
    println!("pgbench: {}", line("latency average"));
    println!("pgbench: {}", line("tps"));
    println!("pgbench exit: {}", output.status);
    println!("longest lock wait during the build: {longest_wait_ms:.1} ms (lock_timeout 2000 ms)");
    Ok(())
}
