//! The measurements behind `cargo xtask bench`'s index-selection lines: the
//! demo fixture (scale 0.25, or the first argument) with its workload, plus
//! generated statements on its tables up to 100 statements, and 50
//! candidate indexes from their facts. Prints two lines:
//!
//! - `whatif_eval_ms <median>`: one what-if evaluation as the selection
//!   does it (create a hypothetical index, EXPLAIN a statement on its
//!   table, `hypopg_reset()`), through optidb's read-only session;
//! - `selection_ms <median> evaluations=<n> cache_hits=<n> …`: a whole
//!   selection (baseline, sizing, search) with a 25 MB budget and at most
//!   10 indexes.

// A benchmark's job is to print its measurements.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use optidb_ingest::plans::{ExplainOptions, explain_statements};
use optidb_ingest::{IngestOptions, take_snapshot};
use optidb_model::{IndexSpec, Statement};
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::Cluster;
use optidb_sandbox::fixture::DEMO;
use optidb_simulate::selection::{self, SelectionOptions};

const STATEMENTS: usize = 100;
const CANDIDATES: usize = 50;
const SELECTION_RUNS: usize = 5;
const WHATIF_RUNS: usize = 200;

/// Filter, range and sort columns per demo table.
const TABLES: &[(&str, &[&str], &[&str])] = &[
    (
        "users",
        &["email", "name"],
        &["created_at", "last_login_at"],
    ),
    ("orders", &["user_id", "status"], &["created_at", "total"]),
    (
        "order_items",
        &["order_id", "product_id"],
        &["quantity", "unit_price"],
    ),
    ("products", &["category_id", "name"], &["price"]),
    (
        "support_tickets",
        &["user_id", "status", "subject"],
        &["created_at"],
    ),
    ("events", &["user_id"], &["created_at"]),
    (
        "inventory",
        &["product_id", "warehouse_id"],
        &["quantity", "updated_at"],
    ),
];

/// Statements on the demo's tables, as an application might add them.
fn generated() -> Vec<String> {
    let mut out = Vec::new();
    for (table, filters, ranges) in TABLES {
        for filter in *filters {
            out.push(format!("SELECT * FROM {table} WHERE {filter} = $1"));
            for range in *ranges {
                out.push(format!(
                    "SELECT count(*) FROM {table} WHERE {filter} = $1 AND {range} >= $2"
                ));
                out.push(format!(
                    "SELECT * FROM {table} WHERE {filter} = $1 ORDER BY {range} DESC LIMIT 20"
                ));
            }
        }
        for range in *ranges {
            out.push(format!(
                "SELECT * FROM {table} WHERE {range} >= $1 AND {range} < $2 ORDER BY {range} LIMIT 50"
            ));
        }
        for (i, first) in filters.iter().enumerate() {
            for second in &filters[i + 1..] {
                out.push(format!(
                    "SELECT count(*) FROM {table} WHERE {first} = $1 AND {second} = $2"
                ));
            }
            out.push(format!(
                "SELECT {first}, count(*) FROM {table} GROUP BY {first} ORDER BY 2 DESC LIMIT 10"
            ));
        }
    }
    out.extend([
        "SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.created_at >= $1 AND o.status = $2".to_string(),
        "SELECT p.name, sum(oi.quantity) FROM order_items oi JOIN products p ON p.id = oi.product_id WHERE p.category_id = $1 GROUP BY p.name".to_string(),
        "SELECT t.subject FROM support_tickets t JOIN users u ON u.id = t.user_id WHERE u.email = $1 ORDER BY t.created_at DESC".to_string(),
        "SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE u.last_login_at >= $1 AND e.created_at >= $2".to_string(),
        "UPDATE orders SET status = $1 WHERE user_id = $2 AND status = $3".to_string(),
        "DELETE FROM events WHERE created_at < $1".to_string(),
    ]);
    // Interleave the tables and shapes (a stride coprime with the count), so
    // that the first ones taken are a mix.
    let n = out.len();
    let stride = (37..).find(|s| gcd(*s, n) == 1).unwrap_or(1);
    (0..n).map(|i| out[(i * stride) % n].clone()).collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scale: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 0.25,
    };
    let cluster = Cluster::start()?;
    let db = cluster.create_database().await?;
    let loader = db.connect().await?;
    DEMO.load(&loader, scale).await?;
    DEMO.run_workload(&loader, |_, _| {}).await?;
    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None)?;
    let client = optidb_pg::connect(&target, &SessionSettings::read_only()).await?;
    let mut snapshot = take_snapshot(&client, &IngestOptions::default()).await?;

    // Up to 100 statements: the demo's, then generated ones (explained,
    // never run: the selection only plans them).
    for (i, query) in generated().into_iter().enumerate() {
        if snapshot.statements.len() == STATEMENTS {
            break;
        }
        snapshot.statements.push(Statement {
            queryid: 1_000_000 + i as i64,
            query,
            calls: 1 + (i as u64 * 7919) % 500,
            ..Statement::default()
        });
    }
    let workload = optidb_fingerprint::analyze_workload(&snapshot.statements);

    // 50 costable candidates, spread evenly over the ones the facts suggest.
    let all: Vec<IndexSpec> = selection::candidates(&snapshot, &workload, 2)
        .into_iter()
        .filter(selection::is_costable)
        .collect();
    if all.len() < CANDIDATES {
        return Err(format!("only {} candidates, {CANDIDATES} wanted", all.len()).into());
    }
    let candidates: Vec<IndexSpec> = (0..CANDIDATES)
        .map(|i| all[i * all.len() / CANDIDATES].clone())
        .collect();

    // One what-if evaluation: create, EXPLAIN one statement on its table, reset.
    let explain = ExplainOptions::default();
    let mut evals = Vec::with_capacity(WHATIF_RUNS);
    for i in 0..WHATIF_RUNS {
        let candidate = &candidates[i % CANDIDATES];
        let on_table: Vec<&Statement> = snapshot
            .statements
            .iter()
            .filter(|s| {
                workload
                    .of(s.queryid)
                    .is_some_and(|f| f.facts.table_names().contains(&candidate.table))
            })
            .collect();
        let Some(statement) = on_table.get(i % on_table.len().max(1)) else {
            continue;
        };
        let ddl = selection::hypothetical_ddl(candidate);
        let started = Instant::now();
        client
            .query_one("SELECT * FROM hypopg_create_index($1)", &[&ddl])
            .await?;
        explain_statements(
            &client,
            std::slice::from_ref(*statement),
            snapshot.server.version_num,
            &explain,
        )
        .await?;
        client.batch_execute("SELECT hypopg_reset()").await?;
        evals.push(ms(started.elapsed()));
    }
    println!("whatif_eval_ms {:.3}", median(evals));

    let options = SelectionOptions {
        budget_bytes: Some(25 << 20),
        max_indexes: Some(10),
        ..SelectionOptions::default()
    };
    let mut runs = Vec::with_capacity(SELECTION_RUNS);
    let mut last = None;
    for _ in 0..SELECTION_RUNS {
        let started = Instant::now();
        let result =
            selection::select_from(&client, &snapshot, &workload, &candidates, &options, |_| {})
                .await?;
        runs.push(ms(started.elapsed()));
        last = Some(result);
    }
    let last = last.ok_or("no selection ran")?;
    println!(
        "selection_ms {:.1} evaluations={} cache_hits={} configurations={} statements={} candidates={} chosen={} relative_cost={:.3}",
        median(runs),
        last.evaluations,
        last.cache_hits,
        last.configurations,
        last.statements.len() + last.skipped.len(),
        last.candidates,
        last.chosen.len(),
        last.relative_cost,
    );
    Ok(())
}
