//! `optidb bottlenecks` (and the end of `optidb demo`): the statements that
//! take the most time.

use comfy_table::{Attribute, Cell, CellAlignment};
use optidb_model::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::format::{millis, new_table, one_line, percent, thousands};
use crate::plan_facts::plan_facts;
use crate::{Document, SCHEMA_VERSION, TableStyle};

/// The statements that take the most time, as a JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BottlenecksReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The database the statements ran in.
    pub database: String,
    /// The server's version string.
    pub server_version: String,
    /// When the statistics were read (RFC 3339, UTC).
    pub captured_at: String,
    /// Totals over every tracked statement.
    pub workload: WorkloadSummary,
    /// The top statements by total execution time, most first.
    pub statements: Vec<BottleneckEntry>,
}

/// Totals over every tracked statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkloadSummary {
    /// Distinct statements tracked.
    pub statements: u64,
    /// Executions of all of them.
    pub calls: u64,
    /// Their total execution time, in milliseconds.
    pub total_exec_time_ms: f64,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BottleneckEntry {
    /// 1 for the statement with the most total time.
    pub rank: usize,
    /// `pg_stat_statements.queryid`, as a string: a 64-bit value that
    /// JSON numbers lose precision on.
    pub queryid: String,
    /// Normalized text.
    pub query: String,
    /// Executions.
    pub calls: u64,
    /// Total execution time, in milliseconds.
    pub total_exec_time_ms: f64,
    /// Share (0–1) of the whole workload's execution time.
    pub time_share: f64,
    /// Mean execution time, in milliseconds.
    pub mean_exec_time_ms: f64,
    /// Mean rows returned or affected per call.
    pub rows_per_call: f64,
    /// Share (0–1) of blocks found in shared buffers; null when none touched.
    pub cache_hit_ratio: Option<f64>,
    /// Temporary blocks written (sorts or hashes spilled to disk).
    pub temp_blks_written: u64,
    /// The statement's family (similar statements grouped), when it shares one.
    #[serde(default)]
    pub family: Option<String>,
    /// Whether its mean time is far from its family's (median absolute
    /// deviation): the same kind of statement, unusually slow or fast.
    #[serde(default)]
    pub family_outlier: bool,
    /// What its plan shows at a glance, e.g. `Seq Scan orders (1.0M rows)`.
    #[serde(default)]
    pub plan_facts: Vec<String>,
}

impl BottlenecksReport {
    /// The report of a snapshot's statements, in the snapshot's order.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        BottlenecksReport {
            schema_version: SCHEMA_VERSION,
            database: snapshot.server.database.clone(),
            server_version: snapshot.server.version.clone(),
            captured_at: snapshot.captured_at.clone(),
            workload: WorkloadSummary {
                statements: snapshot.workload.statements,
                calls: snapshot.workload.calls,
                total_exec_time_ms: snapshot.workload.total_exec_time_ms,
            },
            statements: snapshot
                .statements
                .iter()
                .enumerate()
                .map(|(index, statement)| BottleneckEntry {
                    rank: index + 1,
                    queryid: statement.queryid.to_string(),
                    query: statement.query.clone(),
                    calls: statement.calls,
                    total_exec_time_ms: statement.total_exec_time_ms,
                    time_share: snapshot.time_share(statement),
                    mean_exec_time_ms: statement.mean_exec_time_ms,
                    rows_per_call: statement.rows_per_call(),
                    cache_hit_ratio: statement.cache_hit_ratio(),
                    temp_blks_written: statement.temp_blks_written,
                    family: None,
                    family_outlier: false,
                    plan_facts: plan_facts(
                        statement,
                        snapshot.plan_of(statement.queryid),
                        &snapshot.catalog,
                    ),
                })
                .collect(),
        }
    }

    /// Names each statement's family (`family_of(queryid)`) and marks the
    /// family's outliers (`is_outlier(queryid)`).
    pub fn with_families(
        mut self,
        family_of: impl Fn(i64) -> Option<String>,
        is_outlier: impl Fn(i64) -> bool,
    ) -> Self {
        for entry in &mut self.statements {
            if let Ok(queryid) = entry.queryid.parse() {
                entry.family = family_of(queryid);
                entry.family_outlier = is_outlier(queryid);
            }
        }
        self
    }
}

impl Document for BottlenecksReport {
    /// A table for a terminal, followed by one line of totals.
    fn to_table(&self, style: TableStyle) -> String {
        let mut table = new_table(style);
        let header = [
            "#",
            "total ms",
            "share",
            "calls",
            "mean ms",
            "rows/call",
            "cache hit",
            "family",
            "query ▸ plan",
        ];
        table.set_header(header.iter().map(|title| {
            let cell = Cell::new(title);
            if style.color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
        for entry in &self.statements {
            table.add_row(vec![
                Cell::new(entry.rank),
                Cell::new(millis(entry.total_exec_time_ms)),
                Cell::new(percent(entry.time_share)),
                Cell::new(thousands(entry.calls)),
                Cell::new(millis(entry.mean_exec_time_ms)),
                Cell::new(format!("{:.1}", entry.rows_per_call)),
                Cell::new(
                    entry
                        .cache_hit_ratio
                        .map(percent)
                        .unwrap_or_else(|| "-".into()),
                ),
                Cell::new(match (&entry.family, entry.family_outlier) {
                    (Some(family), true) => format!("{family} outlier"),
                    (Some(family), false) => family.clone(),
                    (None, _) => "-".to_string(),
                }),
                Cell::new(query_and_plan(entry)),
            ]);
        }
        for column in 0..7 {
            if let Some(column) = table.column_mut(column) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        format!(
            "{table}\n{} statements, {} calls, {} ms in total in database {}\n",
            thousands(self.workload.statements),
            thousands(self.workload.calls),
            millis(self.workload.total_exec_time_ms),
            self.database,
        )
    }
}

/// The statement on one line, then its plan facts on a second.
fn query_and_plan(entry: &BottleneckEntry) -> String {
    let query = one_line(&entry.query, 90);
    if entry.plan_facts.is_empty() {
        query
    } else {
        format!("{query}\n▸ {}", entry.plan_facts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::plan::{Plan, PlanOutcome, StatementPlan};
    use optidb_model::{Catalog, ServerInfo, Statement, Table, TableActivity, WorkloadTotals};

    use super::*;

    fn snapshot() -> Snapshot {
        let statement = |queryid, query: &str, calls, rows, total: f64, hit, read| Statement {
            queryid,
            query: query.into(),
            calls,
            rows,
            total_exec_time_ms: total,
            mean_exec_time_ms: total / calls as f64,
            shared_blks_hit: hit,
            shared_blks_read: read,
            ..Statement::default()
        };
        Snapshot {
            schema_version: Snapshot::SCHEMA_VERSION,
            captured_at: "2026-11-21T23:59:00.000Z".into(),
            server: ServerInfo {
                version_num: 150018,
                version: "15.18".into(),
                database: "shop".into(),
            },
            workload: WorkloadTotals {
                statements: 3,
                calls: 5300,
                total_exec_time_ms: 2000.0,
            },
            statements: vec![
                statement(
                    -8_817_266_385_283_457_021,
                    "SELECT id, name\n  FROM users\n WHERE email = $1",
                    300,
                    300,
                    1500.0,
                    90_000,
                    10_000,
                ),
                Statement {
                    temp_blks_written: 1234,
                    ..statement(
                        42,
                        "SELECT name, price FROM products WHERE id = $1",
                        5000,
                        5000,
                        400.0,
                        15_000,
                        0,
                    )
                },
            ],
            catalog: Catalog {
                tables: vec![Table {
                    schema: "public".into(),
                    name: "users".into(),
                    activity: TableActivity {
                        live_tuples: 1_200_000,
                        ..TableActivity::default()
                    },
                    ..Table::default()
                }],
                ..Catalog::default()
            },
            plans: vec![
                StatementPlan {
                    queryid: -8_817_266_385_283_457_021,
                    outcome: PlanOutcome::Planned {
                        plan: Box::new(
                            Plan::from_json_str(
                                r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "users",
                                    "Alias": "users", "Startup Cost": 0.0, "Total Cost": 22084.0,
                                    "Plan Rows": 1, "Plan Width": 40, "Filter": "(email = $1)"}}]"#,
                            )
                            .unwrap(),
                        ),
                    },
                },
                StatementPlan {
                    queryid: 42,
                    outcome: PlanOutcome::Skipped {
                        reason: "relation \"products\" does not exist (SQLSTATE 42P01)".into(),
                        sqlstate: Some("42P01".into()),
                    },
                },
            ],
            ..Snapshot::default()
        }
    }

    #[test]
    fn table() {
        let report = BottlenecksReport::from_snapshot(&snapshot()).with_families(
            |queryid| (queryid == 42).then(|| "F2".to_string()),
            |queryid| queryid == 42,
        );
        insta::assert_snapshot!(report.to_table(TableStyle::plain()));
    }

    #[test]
    fn json_round_trips_and_keeps_queryid_exact() {
        let report = BottlenecksReport::from_snapshot(&snapshot());
        let json = report.to_json().unwrap();
        insta::assert_snapshot!(json);
        let back: BottlenecksReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        assert_eq!(back.statements[0].queryid, "-8817266385283457021");
    }
}
