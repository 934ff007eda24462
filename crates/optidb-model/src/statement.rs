//! One statement as `pg_stat_statements` tracks it.

use serde::{Deserialize, Serialize};

/// One normalized statement and its cumulative execution statistics, as
/// `pg_stat_statements` reports them (times in milliseconds), summed over
/// the roles that ran it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statement {
    /// `pg_stat_statements.queryid`: stable for one normalized statement on one server.
    pub queryid: i64,
    /// Normalized text (constants replaced by `$n`), as first seen.
    pub query: String,
    /// The roles that ran it.
    pub roles: Vec<String>,
    /// Whether it ran as a top-level statement (not only inside functions).
    /// Always true before PostgreSQL 14, which did not tell.
    pub toplevel: bool,
    /// Number of executions.
    pub calls: u64,
    /// Rows returned or affected, over all calls.
    pub rows: u64,
    /// Total execution time.
    pub total_exec_time_ms: f64,
    /// Mean execution time per call.
    pub mean_exec_time_ms: f64,
    /// Fastest call.
    pub min_exec_time_ms: f64,
    /// Slowest call.
    pub max_exec_time_ms: f64,
    /// Standard deviation of the execution time.
    pub stddev_exec_time_ms: f64,
    /// Times planned; `None` unless `pg_stat_statements.track_planning` is on.
    pub plans: Option<u64>,
    /// Total planning time; `None` unless planning is tracked.
    pub total_plan_time_ms: Option<f64>,
    /// Shared buffer hits.
    pub shared_blks_hit: u64,
    /// Shared blocks read from disk (or the OS cache).
    pub shared_blks_read: u64,
    /// Shared blocks dirtied.
    pub shared_blks_dirtied: u64,
    /// Shared blocks written by the statement's backend itself.
    pub shared_blks_written: u64,
    /// Local (temporary table) buffer hits.
    pub local_blks_hit: u64,
    /// Local blocks read.
    pub local_blks_read: u64,
    /// Local blocks dirtied.
    pub local_blks_dirtied: u64,
    /// Local blocks written.
    pub local_blks_written: u64,
    /// Temporary blocks read: sorts and hashes that spilled to disk.
    pub temp_blks_read: u64,
    /// Temporary blocks written: sorts and hashes that spilled to disk.
    pub temp_blks_written: u64,
    /// Time reading shared blocks (0 unless `track_io_timing` is on).
    pub blk_read_time_ms: f64,
    /// Time writing shared blocks (0 unless `track_io_timing` is on).
    pub blk_write_time_ms: f64,
    /// Time reading temporary blocks (PostgreSQL 15+).
    pub temp_blk_read_time_ms: Option<f64>,
    /// Time writing temporary blocks (PostgreSQL 15+).
    pub temp_blk_write_time_ms: Option<f64>,
    /// WAL records generated.
    pub wal_records: u64,
    /// WAL full-page images generated.
    pub wal_fpi: u64,
    /// WAL bytes generated.
    pub wal_bytes: u64,
}

impl Statement {
    /// Mean rows per call; 0 when the statement was never called.
    pub fn rows_per_call(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.rows as f64 / self.calls as f64
        }
    }

    /// Share (0–1) of the blocks this statement touched that were found in
    /// shared buffers; `None` when it touched none.
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let total = self.shared_blks_hit + self.shared_blks_read;
        (total > 0).then(|| self.shared_blks_hit as f64 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(calls: u64, rows: u64, hit: u64, read: u64) -> Statement {
        Statement {
            queryid: 1,
            query: "SELECT $1".into(),
            calls,
            rows,
            shared_blks_hit: hit,
            shared_blks_read: read,
            ..Statement::default()
        }
    }

    #[test]
    fn rows_per_call_is_zero_without_calls() {
        assert_eq!(statement(0, 10, 0, 0).rows_per_call(), 0.0);
        assert_eq!(statement(4, 10, 0, 0).rows_per_call(), 2.5);
    }

    #[test]
    fn cache_hit_ratio_needs_blocks() {
        assert_eq!(statement(1, 1, 0, 0).cache_hit_ratio(), None);
        assert_eq!(statement(1, 1, 3, 1).cache_hit_ratio(), Some(0.75));
    }

    #[test]
    fn round_trips_through_json() {
        let original = statement(3, 7, 5, 2);
        let json = serde_json::to_string(&original).unwrap();
        let back: Statement = serde_json::from_str(&json).unwrap();
        assert_eq!(back, original);
    }
}
