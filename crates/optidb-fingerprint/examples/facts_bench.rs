//! Fingerprint + facts throughput on 5,000 distinct statements, generated
//! deterministically to look like a `pg_stat_statements` workload: point
//! lookups, filtered lists, joins, aggregates, subqueries, CTEs, window
//! functions, INSERT/UPDATE/DELETE and a few utility statements, all with
//! `$n` parameters.
//!
//! Run with `cargo run --release -p optidb-fingerprint --example facts_bench`.
//! Prints `facts_per_second N` (the median over rounds of [`analyze`] on one
//! core) and a breakdown: `pg_query::parse` alone, `pg_query::fingerprint`
//! alone and [`facts`] (parse + walk) alone, so the walk's share is
//! `facts − parse`. Last, the time [`families`] takes over the whole set.

// A benchmark's output is its result.
#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use optidb_fingerprint::{FamilyInput, analyze, facts, families, fingerprint};

const STATEMENTS: usize = 5_000;
const ROUNDS: usize = 7;

fn main() -> Result<(), Box<dyn Error>> {
    let statements = generate(STATEMENTS)?;
    let bytes: usize = statements.iter().map(String::len).sum();
    println!(
        "statements {} (distinct fingerprints), mean length {} bytes",
        statements.len(),
        bytes / statements.len()
    );

    // The four measurements are interleaved within each round, so that a
    // busy machine slows them alike.
    let runs: [&dyn Fn(&str); 4] = [
        &|sql| {
            black_box(analyze(sql).is_ok());
        },
        &|sql| {
            black_box(pg_query::parse(sql, 0).is_ok());
        },
        &|sql| {
            black_box(fingerprint(sql).is_ok());
        },
        &|sql| {
            black_box(facts(sql).is_ok());
        },
    ];
    let [analyze_rate, parse_rate, fingerprint_rate, facts_rate] = rates(&statements, runs);

    let micros = |rate: f64| 1e6 / rate;
    println!(
        "parse_per_second {parse_rate:.0} ({:.1} us)",
        micros(parse_rate)
    );
    println!(
        "fingerprint_per_second {fingerprint_rate:.0} ({:.1} us)",
        micros(fingerprint_rate)
    );
    println!(
        "facts_only_per_second {facts_rate:.0} ({:.1} us = parse {:.1} us + walk {:.1} us)",
        micros(facts_rate),
        micros(parse_rate),
        micros(facts_rate) - micros(parse_rate)
    );
    println!("facts_per_second {analyze_rate:.0}");

    // Families over the whole set, with made-up mean times.
    let analysed = statements
        .iter()
        .map(|sql| analyze(sql))
        .collect::<Result<Vec<_>, _>>()?;
    let inputs: Vec<FamilyInput<'_>> = analysed
        .iter()
        .zip(0_i64..)
        .map(|(analysis, id)| FamilyInput {
            id,
            fingerprint: &analysis.fingerprint,
            facts: &analysis.facts,
            mean_time_ms: 1.0 + (id % 7) as f64,
        })
        .collect();
    let start = Instant::now();
    let found = families(&inputs);
    println!(
        "families {} from {} statements in {:.1} ms",
        found.len(),
        inputs.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// For each run, the median over [`ROUNDS`] rounds of statements per second.
fn rates<const N: usize>(statements: &[String], runs: [&dyn Fn(&str); N]) -> [f64; N] {
    // One warm-up round.
    for run in runs {
        statements.iter().for_each(|sql| run(sql));
    }
    let mut samples: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        for (run, samples) in runs.iter().zip(samples.iter_mut()) {
            let start = Instant::now();
            statements.iter().for_each(|sql| run(sql));
            samples.push(statements.len() as f64 / start.elapsed().as_secs_f64());
        }
    }
    samples.map(|mut rates| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    })
}

/// `count` statements with distinct fingerprints (as `pg_stat_statements`
/// rows would be), the same on every run.
fn generate(count: usize) -> Result<Vec<String>, Box<dyn Error>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count);
    let mut attempts = 0;
    while out.len() < count {
        attempts += 1;
        if attempts > count * 100 {
            return Err(format!(
                "only {} distinct statements after {attempts} attempts",
                out.len()
            )
            .into());
        }
        let sql = statement(&mut rng);
        let fp = fingerprint(&sql).map_err(|e| format!("{sql}: {e}"))?;
        facts(&sql).map_err(|e| format!("{sql}: {e}"))?;
        if seen.insert(fp) {
            out.push(sql);
        }
    }
    Ok(out)
}

/// xorshift64*: small, deterministic, good enough to pick templates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A table: name, columns (the first is the key), JSON columns.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    json: &'static [&'static str],
}

const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            "id",
            "email",
            "name",
            "org_id",
            "status",
            "created_at",
            "deleted_at",
            "last_login_at",
            "country",
            "plan",
        ],
        json: &["settings"],
    },
    Table {
        name: "orders",
        columns: &[
            "id",
            "user_id",
            "status",
            "total",
            "created_at",
            "updated_at",
            "shipped_at",
            "currency",
            "coupon_id",
        ],
        json: &["metadata"],
    },
    Table {
        name: "order_items",
        columns: &["id", "order_id", "product_id", "quantity", "price", "sku"],
        json: &[],
    },
    Table {
        name: "products",
        columns: &[
            "id",
            "sku",
            "title",
            "category_id",
            "price",
            "created_at",
            "stock",
            "vendor_id",
        ],
        json: &["attrs"],
    },
    Table {
        name: "events",
        columns: &[
            "id",
            "user_id",
            "kind",
            "created_at",
            "session_id",
            "source",
        ],
        json: &["payload"],
    },
    Table {
        name: "sessions",
        columns: &["id", "user_id", "token", "expires_at", "created_at", "ip"],
        json: &[],
    },
    Table {
        name: "payments",
        columns: &[
            "id",
            "order_id",
            "user_id",
            "amount",
            "status",
            "created_at",
            "provider",
        ],
        json: &["details"],
    },
    Table {
        name: "invoices",
        columns: &[
            "id",
            "account_id",
            "due_at",
            "paid_at",
            "amount",
            "status",
            "number",
        ],
        json: &[],
    },
    Table {
        name: "accounts",
        columns: &[
            "id",
            "org_id",
            "name",
            "balance",
            "updated_at",
            "plan",
            "region",
        ],
        json: &[],
    },
    Table {
        name: "orgs",
        columns: &["id", "name", "plan", "created_at", "region"],
        json: &["features"],
    },
    Table {
        name: "comments",
        columns: &["id", "post_id", "user_id", "body", "created_at", "score"],
        json: &[],
    },
    Table {
        name: "posts",
        columns: &["id", "author_id", "title", "slug", "published_at", "status"],
        json: &["tags"],
    },
    Table {
        name: "jobs",
        columns: &[
            "id",
            "queue",
            "run_at",
            "priority",
            "attempts",
            "state",
            "locked_by",
        ],
        json: &["args"],
    },
    Table {
        name: "audit_log",
        columns: &["id", "actor_id", "action", "target_id", "created_at"],
        json: &["meta"],
    },
    Table {
        name: "shipments",
        columns: &["id", "order_id", "carrier", "status", "eta", "delivered_at"],
        json: &[],
    },
    Table {
        name: "reviews",
        columns: &["id", "product_id", "user_id", "rating", "created_at"],
        json: &[],
    },
    Table {
        name: "notifications",
        columns: &["id", "user_id", "kind", "read_at", "created_at"],
        json: &["data"],
    },
];

/// Foreign keys: (child table, column, parent table).
const JOINS: &[(&str, &str, &str)] = &[
    ("orders", "user_id", "users"),
    ("order_items", "order_id", "orders"),
    ("order_items", "product_id", "products"),
    ("payments", "order_id", "orders"),
    ("payments", "user_id", "users"),
    ("events", "user_id", "users"),
    ("sessions", "user_id", "users"),
    ("comments", "post_id", "posts"),
    ("comments", "user_id", "users"),
    ("posts", "author_id", "users"),
    ("accounts", "org_id", "orgs"),
    ("users", "org_id", "orgs"),
    ("invoices", "account_id", "accounts"),
    ("shipments", "order_id", "orders"),
    ("reviews", "product_id", "products"),
    ("reviews", "user_id", "users"),
    ("notifications", "user_id", "users"),
];

fn table(name: &str) -> &'static Table {
    TABLES.iter().find(|t| t.name == name).unwrap_or(&TABLES[0])
}

fn alias(name: &str) -> String {
    name.split('_')
        .filter_map(|part| part.chars().next())
        .collect()
}

/// Numbers `$n` parameters.
struct Params(usize);

impl Params {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

/// One predicate on `qualifier.column` of `t`.
fn predicate(rng: &mut Rng, t: &Table, qualifier: &str, p: &mut Params) -> String {
    if !t.json.is_empty() && rng.chance(10) {
        let column = format!("{qualifier}{}", rng.pick(t.json));
        return match rng.below(4) {
            0 => format!("{column} @> {}", p.next()),
            1 => format!(
                "{column} ->> '{}' = {}",
                rng.pick(&["kind", "status", "source", "type"]),
                p.next()
            ),
            2 => format!("{column} ? {}", p.next()),
            _ => format!("({column} ->> 'score')::int > {}", p.next()),
        };
    }
    let column = format!("{qualifier}{}", rng.pick(t.columns));
    match rng.below(16) {
        0..=5 => format!("{column} = {}", p.next()),
        6 => format!("{column} IN ({}, {}, {})", p.next(), p.next(), p.next()),
        7 => format!("{column} = ANY({})", p.next()),
        8 => format!("{column} > {}", p.next()),
        9 => format!("{column} <= {}", p.next()),
        10 => format!("{column} BETWEEN {} AND {}", p.next(), p.next()),
        11 => format!("{column} IS NULL"),
        12 => format!("{column} IS NOT NULL"),
        13 => format!("lower({column}) = lower({})", p.next()),
        14 => format!("{column} ILIKE {}", p.next()),
        _ => format!("{column} <> {}", p.next()),
    }
}

fn predicates(rng: &mut Rng, t: &Table, qualifier: &str, p: &mut Params, count: usize) -> String {
    (0..count)
        .map(|_| predicate(rng, t, qualifier, p))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn columns(rng: &mut Rng, t: &Table, qualifier: &str) -> String {
    if rng.chance(15) {
        return format!("{qualifier}*");
    }
    let n = 1 + rng.below(t.columns.len().min(5));
    let start = rng.below(t.columns.len());
    (0..n)
        .map(|i| format!("{qualifier}{}", t.columns[(start + i) % t.columns.len()]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn order_limit(rng: &mut Rng, t: &Table, qualifier: &str, p: &mut Params) -> String {
    let mut out = String::new();
    if rng.chance(50) {
        let dir = *rng.pick(&["", " DESC", " ASC", " DESC NULLS LAST"]);
        out.push_str(&format!(
            " ORDER BY {qualifier}{}{dir}",
            rng.pick(t.columns)
        ));
        if rng.chance(30) {
            out.push_str(&format!(", {qualifier}id"));
        }
    }
    if rng.chance(50) {
        out.push_str(&format!(" LIMIT {}", p.next()));
        if rng.chance(30) {
            out.push_str(&format!(" OFFSET {}", p.next()));
        }
    }
    out
}

fn statement(rng: &mut Rng) -> String {
    let mut p = Params(0);
    let t = rng.pick(TABLES);
    match rng.below(100) {
        // Point lookups and short filters: the bulk of OLTP.
        0..=24 => {
            let n = 1 + rng.below(3);
            format!(
                "SELECT {} FROM {} WHERE {}{}",
                columns(rng, t, ""),
                t.name,
                predicates(rng, t, "", &mut p, n),
                order_limit(rng, t, "", &mut p)
            )
        }
        // Two- and three-way joins.
        25..=41 => {
            let &(child, fk, parent) = rng.pick(JOINS);
            let (c, pt) = (table(child), table(parent));
            let (ca, pa) = (alias(child), alias(parent));
            let mut sql = format!(
                "SELECT {}, {} FROM {child} {ca} JOIN {parent} {pa} ON {pa}.id = {ca}.{fk}",
                columns(rng, c, &format!("{ca}.")),
                columns(rng, pt, &format!("{pa}."))
            );
            if rng.chance(30)
                && let Some(&(third, fk3, _)) = JOINS.iter().find(|j| j.2 == child)
            {
                let ta = format!("{}3", alias(third));
                let kind = rng.pick(&["JOIN", "LEFT JOIN"]);
                sql.push_str(&format!(" {kind} {third} {ta} ON {ta}.{fk3} = {ca}.id"));
            }
            let n = 1 + rng.below(2);
            sql.push_str(&format!(
                " WHERE {}",
                predicates(rng, pt, &format!("{pa}."), &mut p, n)
            ));
            if rng.chance(50) {
                sql.push_str(&format!(
                    " AND {}",
                    predicate(rng, c, &format!("{ca}."), &mut p)
                ));
            }
            sql.push_str(&order_limit(rng, c, &format!("{ca}."), &mut p));
            sql
        }
        // Reporting aggregates.
        42..=49 => {
            let group = rng.pick(t.columns);
            let measure = rng.pick(t.columns);
            format!(
                "SELECT date_trunc({}, created_at) AS day, {group}, count(*), {}({measure}) FROM {} \
                 WHERE created_at >= {} AND {} GROUP BY 1, 2 ORDER BY 1{}",
                p.next(),
                rng.pick(&["sum", "avg", "max", "min", "count"]),
                t.name,
                p.next(),
                predicate(rng, t, "", &mut p),
                if rng.chance(30) { " DESC" } else { "" }
            )
        }
        // EXISTS / IN subqueries, correlated or not.
        50..=56 => {
            let &(child, fk, parent) = rng.pick(JOINS);
            let (c, pt) = (table(child), table(parent));
            let (ca, pa) = (alias(child), alias(parent));
            let inner = predicate(rng, c, &format!("{ca}."), &mut p);
            let outer = predicate(rng, pt, &format!("{pa}."), &mut p);
            match rng.below(3) {
                0 => format!(
                    "SELECT {} FROM {parent} {pa} WHERE {outer} AND EXISTS (SELECT 1 FROM {child} {ca} \
                     WHERE {ca}.{fk} = {pa}.id AND {inner})",
                    columns(rng, pt, &format!("{pa}."))
                ),
                1 => format!(
                    "SELECT {} FROM {parent} {pa} WHERE {outer} AND NOT EXISTS (SELECT 1 FROM {child} {ca} \
                     WHERE {ca}.{fk} = {pa}.id AND {inner})",
                    columns(rng, pt, &format!("{pa}."))
                ),
                _ => format!(
                    "SELECT {} FROM {parent} {pa} WHERE {outer} AND {pa}.id IN (SELECT {ca}.{fk} FROM {child} {ca} \
                     WHERE {inner})",
                    columns(rng, pt, &format!("{pa}."))
                ),
            }
        }
        // Correlated scalar subqueries in the select list.
        57..=59 => {
            let &(child, fk, parent) = rng.pick(JOINS);
            let (c, pt) = (table(child), table(parent));
            let (ca, pa) = (alias(child), alias(parent));
            format!(
                "SELECT {}, (SELECT {}({ca}.{}) FROM {child} {ca} WHERE {ca}.{fk} = {pa}.id) AS agg FROM {parent} {pa} \
                 WHERE {}{}",
                columns(rng, pt, &format!("{pa}.")),
                rng.pick(&["count", "max", "sum"]),
                rng.pick(c.columns),
                predicate(rng, pt, &format!("{pa}."), &mut p),
                order_limit(rng, pt, &format!("{pa}."), &mut p)
            )
        }
        // CTEs.
        60..=63 => {
            let n = 1 + rng.below(2);
            format!(
                "WITH recent AS {}(SELECT {} FROM {} WHERE created_at > {} AND {}) SELECT r.* FROM recent r \
                 WHERE {}{}",
                rng.pick(&["", "MATERIALIZED ", "NOT MATERIALIZED "]),
                columns(rng, t, ""),
                t.name,
                p.next(),
                predicates(rng, t, "", &mut p, n),
                predicate(rng, t, "r.", &mut p),
                order_limit(rng, t, "r.", &mut p)
            )
        }
        // Window functions.
        64..=66 => format!(
            "SELECT id, {}() OVER (PARTITION BY {} ORDER BY {} DESC) AS rn FROM {} WHERE {}",
            rng.pick(&["row_number", "rank", "dense_rank"]),
            rng.pick(t.columns),
            rng.pick(t.columns),
            t.name,
            predicate(rng, t, "", &mut p)
        ),
        // INSERT, with RETURNING or an upsert.
        67..=76 => {
            let n = 2 + rng.below(t.columns.len() - 2);
            let cols: Vec<&str> = t.columns[1..n].to_vec();
            let values: Vec<String> = cols.iter().map(|_| p.next()).collect();
            let mut sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                t.name,
                cols.join(", "),
                values.join(", ")
            );
            match rng.below(3) {
                0 => sql.push_str(" RETURNING id"),
                1 => sql.push_str(&format!(
                    " ON CONFLICT ({}) DO UPDATE SET {} = EXCLUDED.{}",
                    cols[0],
                    cols[cols.len() - 1],
                    cols[cols.len() - 1]
                )),
                _ => {}
            }
            sql
        }
        // UPDATE by key, sometimes with more filters and RETURNING.
        77..=88 => {
            let set = rng.pick(&t.columns[1..]);
            let mut sql = format!("UPDATE {} SET {set} = {}", t.name, p.next());
            if rng.chance(40) {
                sql.push_str(", updated_at = now()");
            }
            sql.push_str(&format!(" WHERE id = {}", p.next()));
            if rng.chance(40) {
                sql.push_str(&format!(" AND {}", predicate(rng, t, "", &mut p)));
            }
            if rng.chance(30) {
                sql.push_str(&format!(" RETURNING {}", columns(rng, t, "")));
            }
            sql
        }
        // DELETE.
        89..=95 => {
            let n = 1 + rng.below(2);
            format!(
                "DELETE FROM {} WHERE {}{}",
                t.name,
                predicates(rng, t, "", &mut p, n),
                if rng.chance(20) { " RETURNING id" } else { "" }
            )
        }
        // Utility statements.
        _ => rng
            .pick(&[
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "SET statement_timeout = $1",
                "SHOW work_mem",
                "SELECT pg_advisory_xact_lock($1)",
                "SET application_name = $1",
            ])
            .to_string(),
    }
}
