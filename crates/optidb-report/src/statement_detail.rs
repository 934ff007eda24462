//! `optidb bottlenecks --id …`: one statement in full, with its plan tree.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};
use optidb_model::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::format::{millis, percent, thousands};
use crate::plan_tree::render_plan;
use crate::{BottleneckEntry, BottlenecksReport, Document, SCHEMA_VERSION, TableStyle};

/// One statement in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatementDetail {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The database it ran in.
    pub database: String,
    /// Its numbers and plan facts, as in the bottlenecks list (full text).
    pub statement: BottleneckEntry,
    /// pg_query fingerprint, when its text parses.
    pub fingerprint: Option<String>,
    /// Planning and I/O numbers beyond the list's.
    pub io: StatementIo,
    /// The generic plan as PostgreSQL's EXPLAIN (FORMAT JSON) document.
    pub plan: Option<serde_json::Value>,
    /// The generic plan as text, EXPLAIN-style.
    pub plan_text: Option<String>,
    /// Why there is no plan, when there is none.
    pub plan_skipped: Option<String>,
}

/// I/O and timing details of a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatementIo {
    /// Fastest call, ms.
    pub min_exec_time_ms: f64,
    /// Slowest call, ms.
    pub max_exec_time_ms: f64,
    /// Standard deviation, ms.
    pub stddev_exec_time_ms: f64,
    /// Shared blocks read from outside shared buffers.
    pub shared_blks_read: u64,
    /// Shared blocks found in shared buffers.
    pub shared_blks_hit: u64,
    /// Temporary blocks read.
    pub temp_blks_read: u64,
    /// WAL bytes generated.
    pub wal_bytes: u64,
    /// Time spent reading blocks, ms (needs track_io_timing).
    pub blk_read_time_ms: f64,
}

impl StatementDetail {
    /// The statement with `queryid` in `snapshot`, if it is there.
    pub fn from_snapshot(
        snapshot: &Snapshot,
        queryid: i64,
        fingerprint: Option<String>,
        family: Option<String>,
        family_outlier: bool,
    ) -> Option<Self> {
        let statement = snapshot.statements.iter().find(|s| s.queryid == queryid)?;
        let mut entry = BottlenecksReport::from_snapshot(snapshot)
            .statements
            .into_iter()
            .find(|entry| entry.queryid == queryid.to_string())?;
        entry.family = family;
        entry.family_outlier = family_outlier;
        let outcome = snapshot.plan_of(queryid);
        let plan = outcome.and_then(|outcome| outcome.plan());
        Some(StatementDetail {
            schema_version: SCHEMA_VERSION,
            database: snapshot.server.database.clone(),
            statement: entry,
            fingerprint,
            io: StatementIo {
                min_exec_time_ms: statement.min_exec_time_ms,
                max_exec_time_ms: statement.max_exec_time_ms,
                stddev_exec_time_ms: statement.stddev_exec_time_ms,
                shared_blks_read: statement.shared_blks_read,
                shared_blks_hit: statement.shared_blks_hit,
                temp_blks_read: statement.temp_blks_read,
                wal_bytes: statement.wal_bytes,
                blk_read_time_ms: statement.blk_read_time_ms,
            },
            plan: plan.and_then(|plan| serde_json::to_value(plan).ok()),
            plan_text: plan.map(render_plan),
            plan_skipped: outcome
                .and_then(|outcome| outcome.skip_reason())
                .map(str::to_string),
        })
    }

    /// Numbers, the full statement, and its plan, for a terminal.
    pub fn to_text(&self) -> String {
        let entry = &self.statement;
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).force_no_tty();
        let rows: Vec<(&str, String)> = vec![
            ("queryid", entry.queryid.clone()),
            (
                "fingerprint",
                self.fingerprint.clone().unwrap_or_else(|| "-".into()),
            ),
            (
                "family",
                match (&entry.family, entry.family_outlier) {
                    (Some(family), true) => {
                        format!("{family} (an outlier: its mean time is far from the family's)")
                    }
                    (Some(family), false) => family.clone(),
                    (None, _) => "-".into(),
                },
            ),
            ("calls", thousands(entry.calls)),
            (
                "total time",
                format!(
                    "{} ms ({} of all)",
                    millis(entry.total_exec_time_ms),
                    percent(entry.time_share)
                ),
            ),
            (
                "mean / min / max",
                format!(
                    "{} / {} / {} ms (stddev {})",
                    millis(entry.mean_exec_time_ms),
                    millis(self.io.min_exec_time_ms),
                    millis(self.io.max_exec_time_ms),
                    millis(self.io.stddev_exec_time_ms)
                ),
            ),
            ("rows per call", format!("{:.1}", entry.rows_per_call)),
            (
                "cache hit",
                entry
                    .cache_hit_ratio
                    .map(percent)
                    .unwrap_or_else(|| "-".into()),
            ),
            (
                "blocks hit / read",
                format!(
                    "{} / {}",
                    thousands(self.io.shared_blks_hit),
                    thousands(self.io.shared_blks_read)
                ),
            ),
            (
                "temp blocks written / read",
                format!(
                    "{} / {}",
                    thousands(entry.temp_blks_written),
                    thousands(self.io.temp_blks_read)
                ),
            ),
            ("WAL", format!("{} bytes", thousands(self.io.wal_bytes))),
        ];
        for (name, value) in rows {
            table.add_row(vec![Cell::new(name), Cell::new(value)]);
        }
        if let Some(column) = table.column_mut(0) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        let mut out = format!("{table}\n\n{}\n", entry.query.trim());
        if !entry.plan_facts.is_empty() {
            out.push_str(&format!("\n▸ {}\n", entry.plan_facts.join(" · ")));
        }
        match (&self.plan_text, &self.plan_skipped) {
            (Some(plan), _) => out.push_str(&format!("\nGeneric plan:\n{plan}")),
            (None, Some(reason)) => out.push_str(&format!("\nNo plan: {reason}\n")),
            (None, None) => out.push_str("\nNo plan: not among the explained statements\n"),
        }
        out
    }
}

impl Document for StatementDetail {
    /// The text of [`StatementDetail::to_text`]: the width of the terminal is not needed.
    fn to_table(&self, _style: TableStyle) -> String {
        self.to_text()
    }
}
