//! Hand-built snapshots for rule tests: a few lines say the tables,
//! indexes, statements and plans a test needs, and `check` runs one rule.

// Each rule's tests use the helpers they need; not every helper is used by every build.
#![allow(dead_code)]

use optidb_fingerprint::analyze_workload;
use optidb_model::plan::{Plan, PlanOutcome, StatementPlan};
use optidb_model::{
    Catalog, Column, ColumnStats, Finding, ForeignKey, Index, IndexKey, ServerInfo, Snapshot,
    Statement, Table, TableActivity, WorkloadTotals,
};

use crate::{Config, Context, Rule};

/// A snapshot under construction.
pub(crate) struct Scenario {
    pub snapshot: Snapshot,
    pub config: Config,
}

impl Scenario {
    /// An empty PostgreSQL 15 database whose statistics have been collected
    /// for 30 days.
    pub fn new() -> Self {
        Scenario {
            snapshot: Snapshot {
                schema_version: Snapshot::SCHEMA_VERSION,
                captured_at: "2026-11-21T12:00:00Z".into(),
                server: ServerInfo {
                    version_num: 150018,
                    version: "15.18".into(),
                    database: "shop".into(),
                },
                catalog: Catalog {
                    postmaster_start: Some("2026-10-22T12:00:00Z".into()),
                    ..Catalog::default()
                },
                ..Snapshot::default()
            },
            config: Config::default(),
        }
    }

    /// A table in `public` with `rows` rows, analyzed, and `columns` given as
    /// (name, n_distinct as pg_stats stores it: > 0 a count, < 0 a fraction).
    pub fn table(mut self, name: &str, rows: u64, columns: &[(&str, f64)]) -> Self {
        self.snapshot.catalog.tables.push(Table {
            schema: "public".into(),
            name: name.into(),
            reltuples: rows as f64,
            relpages: (rows / 50).max(1) as i64,
            table_bytes: (rows * 160) as i64,
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, (column, n_distinct))| Column {
                    name: (*column).into(),
                    position: i as i16 + 1,
                    data_type: "bigint".into(),
                    not_null: true,
                    stats: Some(ColumnStats {
                        n_distinct: *n_distinct,
                        ..ColumnStats::default()
                    }),
                })
                .collect(),
            activity: TableActivity {
                live_tuples: rows,
                last_analyze: Some("2026-11-20T00:00:00Z".into()),
                analyze_count: 1,
                ..TableActivity::default()
            },
            ..Table::default()
        });
        self
    }

    /// Changes the table called `name`.
    pub fn table_with(mut self, name: &str, change: impl FnOnce(&mut Table)) -> Self {
        if let Some(table) = self
            .snapshot
            .catalog
            .tables
            .iter_mut()
            .find(|t| t.name == name)
        {
            change(table);
        }
        self
    }

    /// A valid btree index on plain columns, used `idx_scan` times.
    pub fn index(mut self, table: &str, name: &str, columns: &[&str], idx_scan: u64) -> Self {
        self.snapshot.catalog.indexes.push(Index {
            schema: "public".into(),
            name: name.into(),
            table: table.into(),
            definition: format!(
                "CREATE INDEX {name} ON public.{table} USING btree ({})",
                columns.join(", ")
            ),
            method: "btree".into(),
            keys: columns
                .iter()
                .map(|column| IndexKey {
                    column: Some((*column).into()),
                    definition: (*column).into(),
                    ..IndexKey::default()
                })
                .collect(),
            valid: true,
            bytes: 1 << 20,
            idx_scan,
            ..Index::default()
        });
        self
    }

    /// Changes the index called `name` (make it unique, partial, a primary key…).
    pub fn index_with(mut self, name: &str, change: impl FnOnce(&mut Index)) -> Self {
        if let Some(index) = self
            .snapshot
            .catalog
            .indexes
            .iter_mut()
            .find(|i| i.name == name)
        {
            change(index);
        }
        self
    }

    /// A foreign key `table(columns) → referenced(id)`.
    pub fn foreign_key(mut self, table: &str, columns: &[&str], referenced: &str) -> Self {
        self.snapshot.catalog.foreign_keys.push(ForeignKey {
            name: format!("{table}_{}_fkey", columns.join("_")),
            schema: "public".into(),
            table: table.into(),
            columns: columns.iter().map(|c| (*c).into()).collect(),
            referenced_schema: "public".into(),
            referenced_table: referenced.into(),
            referenced_columns: vec!["id".into()],
            on_delete: "a".into(),
            on_update: "a".into(),
        });
        self
    }

    /// A statement run `calls` times for `total_ms` in all, one row per call.
    pub fn statement(self, queryid: i64, sql: &str, calls: u64, total_ms: f64) -> Self {
        self.statement_with(Statement {
            queryid,
            query: sql.into(),
            roles: vec!["app".into()],
            toplevel: true,
            calls,
            rows: calls,
            total_exec_time_ms: total_ms,
            mean_exec_time_ms: total_ms / calls.max(1) as f64,
            ..Statement::default()
        })
    }

    /// A statement as given; the workload totals follow.
    pub fn statement_with(mut self, statement: Statement) -> Self {
        let totals = &mut self.snapshot.workload;
        *totals = WorkloadTotals {
            statements: totals.statements + 1,
            calls: totals.calls + statement.calls,
            total_exec_time_ms: totals.total_exec_time_ms + statement.total_exec_time_ms,
        };
        self.snapshot.statements.push(statement);
        self
    }

    /// Pads the workload's total time so the statements so far hold `share` of it.
    pub fn other_time(mut self, ms: f64) -> Self {
        self.snapshot.workload.total_exec_time_ms += ms;
        self
    }

    /// The generic plan of `queryid`, as EXPLAIN (FORMAT JSON) prints it.
    pub fn plan(mut self, queryid: i64, json: &str) -> Self {
        let plan = match Plan::from_json_str(json) {
            Ok(plan) => plan,
            Err(error) => panic!("bad plan JSON in a test: {error}"),
        };
        self.snapshot.plans.push(StatementPlan {
            queryid,
            outcome: PlanOutcome::Planned {
                plan: Box::new(plan),
            },
        });
        self
    }

    /// A plan of `queryid` that scans `table` sequentially with `filter`.
    pub fn seq_scan_plan(self, queryid: i64, table: &str, filter: &str) -> Self {
        let json = format!(
            r#"[{{"Plan": {{"Node Type": "Seq Scan", "Relation Name": "{table}", "Alias": "{table}",
                "Startup Cost": 0.0, "Total Cost": 1000.0, "Plan Rows": 1, "Plan Width": 8,
                "Filter": "{filter}"}}}}]"#
        );
        self.plan(queryid, &json)
    }

    /// Changes anything else.
    pub fn with(mut self, change: impl FnOnce(&mut Snapshot)) -> Self {
        change(&mut self.snapshot);
        self
    }

    /// Runs `rule` alone over the scenario.
    pub fn check(&self, rule: &Rule) -> Vec<Finding> {
        let workload = analyze_workload(&self.snapshot.statements);
        let context = Context::new(&self.snapshot, &workload, &self.config);
        (rule.check)(&context)
    }
}
