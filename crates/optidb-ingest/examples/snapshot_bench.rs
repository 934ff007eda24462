//! The measurement behind `cargo xtask bench`'s snapshot line: a database
//! with 200 tables and 5,000 distinct statements in pg_stat_statements, and
//! a full snapshot of it (statements, catalogs, plans of the top ones) taken
//! several times through optidb's own read-only session. Prints one line:
//! `snapshot_ms <median> <min> <max> statements=<n> tables=<n>`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use optidb_ingest::{IngestOptions, take_snapshot};
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::{Cluster, SandboxOptions};

const TABLES: usize = 200;
const STATEMENTS: usize = 5_000;
const RUNS: usize = 7;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = SandboxOptions::from_env().setting("pg_stat_statements.max", "10000");
    let cluster = Cluster::start_with(&options)?;
    let db = cluster.create_database().await?;
    let client = db.connect().await?;

    let mut ddl = String::new();
    for t in 0..TABLES {
        ddl.push_str(&format!(
            "CREATE TABLE t{t} (id bigint PRIMARY KEY, account_id bigint NOT NULL, status text NOT NULL,
                                amount numeric(12,2), created_at timestamptz NOT NULL, note text);
             CREATE INDEX t{t}_account_idx ON t{t} (account_id);
             INSERT INTO t{t} SELECT g, g % 97, (ARRAY['new','paid','shipped'])[1 + g % 3], g * 1.5,
                                     timestamptz '2026-01-01' + g * interval '1 minute', md5(g::text)
               FROM generate_series(1, 200) g;"
        ));
    }
    client.batch_execute(&ddl).await?;
    client.batch_execute("ANALYZE").await?;
    client
        .batch_execute("SELECT pg_stat_statements_reset()")
        .await?;

    // 5,000 distinct normalized statements: vary table, shape and columns.
    // `{p}` repeats a redundant predicate once per pass: each pass over the
    // shapes yields statements with new parse trees, hence new queryids.
    let shapes = [
        "SELECT id, status FROM t{t} WHERE {p}account_id = 1{v}",
        "SELECT count(*) FROM t{t} WHERE {p}status = 'paid' AND amount > {v}",
        "SELECT * FROM t{t} WHERE {p}created_at > now() - interval '{v} days' ORDER BY created_at DESC LIMIT 10",
        "UPDATE t{t} SET note = 'x' WHERE {p}id = {v}",
        "SELECT a.id FROM t{t} a JOIN t{u} b ON b.account_id = a.account_id WHERE {p}a.id = {v}",
    ];
    let mut distinct = 0;
    'outer: for extra in 0.. {
        for shape in shapes {
            for t in 0..TABLES {
                if distinct == STATEMENTS {
                    break 'outer;
                }
                let pad = if shape.contains(" a JOIN ") {
                    "a.id IS NOT NULL AND "
                } else {
                    "id IS NOT NULL AND "
                };
                let sql = shape
                    .replace("{t}", &t.to_string())
                    .replace("{u}", &((t + 1) % TABLES).to_string())
                    .replace("{v}", &(distinct % 50).to_string())
                    .replace("{p}", &pad.repeat(extra));
                client.batch_execute(&sql).await?;
                distinct += 1;
            }
        }
    }

    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None)?;
    let session = optidb_pg::connect(&target, &SessionSettings::read_only()).await?;
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let snapshot = take_snapshot(&session, &IngestOptions::default()).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        last = Some(snapshot);
    }
    times.sort_by(f64::total_cmp);
    let snapshot = last.ok_or("no run")?;
    println!(
        "snapshot_ms {:.1} {:.1} {:.1} statements={} tables={}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        snapshot.workload.statements,
        snapshot.catalog.tables.len(),
    );
    Ok(())
}
