//! The snapshot: everything optidb read from one database at one moment.

use serde::{Deserialize, Serialize};

use crate::plan::StatementPlan;
use crate::{Catalog, Statement};

/// Everything optidb read from one database at one moment, in one value that
/// can be saved as JSON and analysed offline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Version of this type's JSON shape; bumped on incompatible changes.
    pub schema_version: u32,
    /// When the snapshot was taken, as the server's clock said it (RFC 3339, UTC).
    pub captured_at: String,
    /// The server the snapshot was read from.
    pub server: ServerInfo,
    /// Totals over every statement `pg_stat_statements` tracks, not just the
    /// ones kept in [`Snapshot::statements`]: the denominator of time shares.
    pub workload: WorkloadTotals,
    /// The statements kept (the top ones by total execution time).
    pub statements: Vec<Statement>,
    /// `pg_stat_statements_info` (PostgreSQL 14+).
    #[serde(default)]
    pub statement_stats: Option<StatementStatsInfo>,
    /// Tables, indexes, foreign keys, settings, locks, extensions.
    #[serde(default)]
    pub catalog: Catalog,
    /// Generic plans of the top statements, or why each has none.
    #[serde(default)]
    pub plans: Vec<StatementPlan>,
    /// Things the snapshot could not see, and how to let it.
    #[serde(default)]
    pub warnings: Vec<IngestWarning>,
}

/// Why a saved snapshot cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not JSON, or not a snapshot.
    #[error("not an optidb snapshot: {0}")]
    Malformed(String),
    /// Written by a newer optidb.
    #[error(
        "the snapshot has schema_version {found}, newer than this optidb reads ({supported}): upgrade optidb"
    )]
    TooNew {
        /// The snapshot's version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
}

impl Snapshot {
    /// The current [`Snapshot::schema_version`].
    pub const SCHEMA_VERSION: u32 = 1;

    /// Reads a snapshot saved as JSON, refusing shapes newer than this build.
    pub fn from_json(json: &str) -> Result<Self, SnapshotError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u32>,
        }
        let version: Version =
            serde_json::from_str(json).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        match version.schema_version {
            Some(found) if found > Self::SCHEMA_VERSION => Err(SnapshotError::TooNew {
                found,
                supported: Self::SCHEMA_VERSION,
            }),
            Some(_) => {
                serde_json::from_str(json).map_err(|e| SnapshotError::Malformed(e.to_string()))
            }
            None => Err(SnapshotError::Malformed("no schema_version".into())),
        }
    }

    /// The snapshot as JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// How long the cumulative statistics (seq_scan, idx_scan, n_tup_*…)
    /// had been collected when the snapshot was taken, in seconds: since
    /// their last reset, else since the server started.
    pub fn stats_window_seconds(&self) -> Option<i64> {
        let start = self
            .catalog
            .stats_reset
            .as_deref()
            .or(self.catalog.postmaster_start.as_deref())?;
        crate::time::seconds_between(start, &self.captured_at)
    }

    /// The plan outcome of the statement with `queryid`, if it was explained.
    pub fn plan_of(&self, queryid: i64) -> Option<&StatementPlan> {
        self.plans.iter().find(|plan| plan.queryid == queryid)
    }

    /// The share (0–1) of all tracked execution time spent in `statement`.
    pub fn time_share(&self, statement: &Statement) -> f64 {
        if self.workload.total_exec_time_ms > 0.0 {
            statement.total_exec_time_ms / self.workload.total_exec_time_ms
        } else {
            0.0
        }
    }
}

/// What the server is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `server_version_num`, e.g. `150018` for 15.18.
    pub version_num: u32,
    /// `server_version` as the server reports it, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub version: String,
    /// The database the snapshot was read from.
    pub database: String,
}

impl ServerInfo {
    /// The major version, e.g. `15`.
    pub fn major_version(&self) -> u32 {
        self.version_num / 10_000
    }
}

/// How `pg_stat_statements` itself is doing (`pg_stat_statements_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementStatsInfo {
    /// Entries evicted because `pg_stat_statements.max` was reached: when
    /// above zero, rarely run statements are missing from the snapshot.
    pub dealloc: u64,
    /// When all its statistics were last reset (RFC 3339, UTC).
    pub stats_reset: Option<String>,
}

/// Something the snapshot could not see, and how to fix that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestWarning {
    /// Stable kebab-case code, e.g. `statement-text-hidden`.
    pub code: String,
    /// What is missing and how to fix it.
    pub message: String,
}

/// Totals over the whole tracked workload.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct WorkloadTotals {
    /// Number of distinct statements tracked.
    pub statements: u64,
    /// Sum of calls over all tracked statements.
    pub calls: u64,
    /// Sum of total execution time over all tracked statements, in milliseconds.
    pub total_exec_time_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            schema_version: Snapshot::SCHEMA_VERSION,
            captured_at: "2026-11-22T00:00:00Z".into(),
            server: ServerInfo {
                version_num: 150018,
                version: "15.18".into(),
                database: "shop".into(),
            },
            workload: WorkloadTotals::default(),
            statements: vec![Statement::default()],
            statement_stats: None,
            catalog: Catalog::default(),
            plans: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_saved_snapshot_reads_back() {
        let json = snapshot().to_json().unwrap();
        assert_eq!(Snapshot::from_json(&json).unwrap(), snapshot());
    }

    #[test]
    fn newer_or_foreign_json_is_refused_with_a_reason() {
        let newer = snapshot()
            .to_json()
            .unwrap()
            .replace("\"schema_version\":1", "\"schema_version\":99");
        let err = Snapshot::from_json(&newer).unwrap_err();
        assert!(err.to_string().contains("upgrade optidb"), "{err}");
        let err = Snapshot::from_json("{\"rules\": []}").unwrap_err();
        assert!(err.to_string().contains("no schema_version"), "{err}");
        assert!(Snapshot::from_json("not json").is_err());
    }
}
