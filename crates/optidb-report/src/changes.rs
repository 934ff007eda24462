//! `optidb apply`, `rollback`, `history` and `verify`: what was changed or
//! undone, the audit trail, and whether a change paid off.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Document, SCHEMA_VERSION, TableStyle};

/// A change just applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AppliedReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// Its id in `optidb.changes`.
    pub change_id: i64,
    /// How long it took, lock waits and retries included, ms.
    pub duration_ms: f64,
    /// The index it created or dropped, `schema.name`.
    pub index: Option<String>,
}

impl AppliedReport {
    /// The report of change `change_id`.
    pub fn new(change_id: i64, duration_ms: f64, index: Option<String>) -> Self {
        AppliedReport {
            schema_version: SCHEMA_VERSION,
            change_id,
            duration_ms,
            index,
        }
    }
}

impl Document for AppliedReport {
    fn to_table(&self, _style: TableStyle) -> String {
        format!(
            "Applied as change #{} in {:.1} s{}. Undo with: optidb rollback {}",
            self.change_id,
            self.duration_ms / 1000.0,
            self.index
                .as_ref()
                .map(|index| format!(" ({index} is valid)"))
                .unwrap_or_default(),
            self.change_id
        )
    }
}

/// A change just undone: the rollback is itself a change in the trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RolledBackReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The change undone.
    pub rolled_back: i64,
    /// The rollback's own id in `optidb.changes`.
    pub change_id: i64,
    /// How long it took, lock waits and retries included, ms.
    pub duration_ms: f64,
}

impl Document for RolledBackReport {
    fn to_table(&self, _style: TableStyle) -> String {
        format!(
            "Rolled back change #{} as change #{} in {:.1} s.",
            self.rolled_back,
            self.change_id,
            self.duration_ms / 1000.0
        )
    }
}

/// The audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The changes.
    pub changes: Vec<ChangeEntry>,
}

/// One row of `optidb.changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeEntry {
    /// Its id.
    pub id: i64,
    /// When it started (RFC 3339, UTC).
    pub applied_at: String,
    /// The operating-system user who asked.
    pub applied_by: String,
    /// The database role that ran it.
    pub db_user: String,
    /// `started`, `applied`, `failed`, `rolled_back` or `rollback_failed`.
    pub status: String,
    /// Recommendation codes it answers.
    pub codes: Vec<String>,
    /// The DDL that ran.
    pub ddl: String,
    /// The DDL that undoes it.
    pub rollback_ddl: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// For a rollback: the change it undid.
    pub rolled_back_change: Option<i64>,
}

impl Document for HistoryReport {
    fn to_table(&self, _style: TableStyle) -> String {
        if self.changes.is_empty() {
            return "No change recorded yet.".into();
        }
        let mut text = String::new();
        for change in &self.changes {
            text.push_str(&format!(
                "#{} {} {} by {} ({}): {}\n",
                change.id,
                change.applied_at,
                change.status,
                change.applied_by,
                change.db_user,
                change.ddl.trim()
            ));
            if let Some(error) = &change.error {
                text.push_str(&format!("    error: {error}\n"));
            }
        }
        text
    }
}

/// Whether a change paid off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The change.
    pub change_id: i64,
    /// Its DDL.
    pub ddl: String,
    /// The answer, in words: `paid off: …`, `did not pay off (yet): …` or `not enough data: …`.
    pub verdict: String,
    /// Per statement.
    pub statements: Vec<VerifiedEntry>,
}

/// One statement before and since a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifiedEntry {
    /// queryid, as a string.
    pub queryid: String,
    /// Mean time before, ms.
    pub mean_ms_before: Option<f64>,
    /// Mean time of the calls since, ms.
    pub mean_ms_since: Option<f64>,
    /// Calls since.
    pub calls_since: i64,
    /// pg_stat_statements was reset since the change.
    pub counters_reset: bool,
}

impl Document for VerifyReport {
    fn to_table(&self, _style: TableStyle) -> String {
        let mut text = format!(
            "Change #{}: {}\n{}\n",
            self.change_id,
            self.ddl.trim(),
            self.verdict
        );
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3} ms"));
        for s in &self.statements {
            text.push_str(&format!(
                "  {}: mean {} before, {} since ({} calls{})\n",
                s.queryid,
                ms(s.mean_ms_before),
                ms(s.mean_ms_since),
                s.calls_since,
                if s.counters_reset {
                    ", counters reset since"
                } else {
                    ""
                }
            ));
        }
        text
    }
}
