//! The measurement behind `cargo xtask bench`'s rules line: every rule and
//! the recommender over a snapshot of 5,000 statements and 200 tables
//! (built in memory, so it measures the pure stages alone). Prints
//! `rules_recommend_ms <median> <min> <max> findings=<n> recommendations=<n>`
//! and the fingerprint stage's time for the same statements.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use optidb_model::{
    Catalog, Column, ColumnStats, Index, IndexKey, ServerInfo, Snapshot, Statement, Table,
    TableActivity, WorkloadTotals,
};
use optidb_rules::{Config, check};

const TABLES: usize = 200;
const STATEMENTS: usize = 5_000;
const RUNS: usize = 9;

fn main() {
    let snapshot = snapshot();
    let started = Instant::now();
    let workload = optidb_fingerprint::analyze_workload(&snapshot.statements);
    let fingerprint_ms = started.elapsed().as_secs_f64() * 1000.0;
    let config = Config::default();
    let mut times = Vec::new();
    let mut counts = (0, 0);
    for _ in 0..RUNS {
        let started = Instant::now();
        let findings = check(&snapshot, &workload, &config);
        let recommendations = optidb_recommend::recommend(&snapshot, &findings);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        counts = (findings.len(), recommendations.len());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rules_recommend_ms {:.1} {:.1} {:.1} findings={} recommendations={}",
        times[RUNS / 2],
        times[0],
        times[RUNS - 1],
        counts.0,
        counts.1
    );
    println!(
        "fingerprint_ms {fingerprint_ms:.1} statements={}",
        snapshot.statements.len()
    );
}

fn snapshot() -> Snapshot {
    let columns = [
        ("id", -1.0),
        ("account_id", 5_000.0),
        ("status", 3.0),
        ("amount", -0.5),
        ("created_at", -1.0),
        ("note", -0.9),
    ];
    let tables: Vec<Table> = (0..TABLES)
        .map(|t| Table {
            schema: "public".into(),
            name: format!("t{t}"),
            reltuples: 100_000.0,
            table_bytes: 16_000_000,
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, (name, n_distinct))| Column {
                    name: (*name).into(),
                    position: i as i16 + 1,
                    data_type: "bigint".into(),
                    not_null: true,
                    stats: Some(ColumnStats {
                        n_distinct: *n_distinct,
                        avg_width: 8,
                        ..ColumnStats::default()
                    }),
                })
                .collect(),
            activity: TableActivity {
                live_tuples: 100_000,
                n_tup_ins: 1_000,
                seq_scan: 10,
                ..TableActivity::default()
            },
            ..Table::default()
        })
        .collect();
    let index = |t: usize, name: &str, column: &str, scans: u64| Index {
        schema: "public".into(),
        name: format!("t{t}_{name}"),
        table: format!("t{t}"),
        definition: format!("CREATE INDEX t{t}_{name} ON public.t{t} USING btree ({column})"),
        method: "btree".into(),
        keys: vec![IndexKey {
            column: Some(column.into()),
            definition: column.into(),
            ..IndexKey::default()
        }],
        valid: true,
        bytes: 2_000_000,
        idx_scan: scans,
        ..Index::default()
    };
    let indexes: Vec<Index> = (0..TABLES)
        .flat_map(|t| {
            [
                index(t, "pkey", "id", 1_000),
                index(t, "account_idx", "account_id", t as u64 % 2),
            ]
        })
        .collect();
    let shapes = [
        "SELECT id, status FROM t{t} WHERE {p}account_id = $1",
        "SELECT count(*) FROM t{t} WHERE {p}status = $1 AND amount > $2",
        "SELECT * FROM t{t} WHERE {p}created_at > $1 ORDER BY created_at DESC LIMIT $2",
        "UPDATE t{t} SET note = $1 WHERE {p}id = $2",
        "SELECT a.id FROM t{t} a JOIN t{u} b ON b.account_id = a.account_id WHERE {p}a.id = $1",
        "SELECT id FROM t{t} WHERE {p}note ILIKE $1",
    ];
    let mut statements = Vec::with_capacity(STATEMENTS);
    'outer: for pass in 0.. {
        for (s, shape) in shapes.iter().enumerate() {
            for t in 0..TABLES {
                if statements.len() == STATEMENTS {
                    break 'outer;
                }
                let pad = if shape.contains(" a JOIN ") {
                    "a.id IS NOT NULL AND "
                } else {
                    "id IS NOT NULL AND "
                };
                let n = statements.len() as u64;
                let calls = 10 + (n * 7919) % 5_000;
                let total = (1 + (n * 104_729) % 2_000) as f64 * 0.7;
                statements.push(Statement {
                    queryid: (n as i64 + 1) * 7_919 * if s % 2 == 0 { 1 } else { -1 },
                    query: shape
                        .replace("{t}", &t.to_string())
                        .replace("{u}", &((t + 1) % TABLES).to_string())
                        .replace("{p}", &pad.repeat(pass)),
                    toplevel: true,
                    calls,
                    rows: calls,
                    total_exec_time_ms: total,
                    mean_exec_time_ms: total / calls as f64,
                    shared_blks_hit: calls * 10,
                    ..Statement::default()
                });
            }
        }
    }
    let total: f64 = statements.iter().map(|s| s.total_exec_time_ms).sum();
    Snapshot {
        schema_version: Snapshot::SCHEMA_VERSION,
        captured_at: "2026-11-21T12:00:00Z".into(),
        server: ServerInfo {
            version_num: 150018,
            version: "15.18".into(),
            database: "bench".into(),
        },
        workload: WorkloadTotals {
            statements: statements.len() as u64,
            calls: statements.iter().map(|s| s.calls).sum(),
            total_exec_time_ms: total,
        },
        statements,
        catalog: Catalog {
            tables,
            indexes,
            postmaster_start: Some("2026-10-21T12:00:00Z".into()),
            ..Catalog::default()
        },
        ..Snapshot::default()
    }
}
