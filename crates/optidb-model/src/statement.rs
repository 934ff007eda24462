//! One statement as `pg_stat_statements` tracks it.

use serde::{Deserialize, Serialize};

/// One normalized statement and its cumulative execution statistics, as
/// `pg_stat_statements` reports them (times in milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// `pg_stat_statements.queryid`: stable for one normalized statement on one server.
    pub queryid: i64,
    /// Normalized text (constants replaced by `$n`), as first seen.
    pub query: String,
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
    /// Shared buffer hits.
    pub shared_blks_hit: u64,
    /// Shared blocks read from disk (or the OS cache).
    pub shared_blks_read: u64,
    /// Temporary blocks written: sorts and hashes that spilled to disk.
    pub temp_blks_written: u64,
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
            total_exec_time_ms: 0.0,
            mean_exec_time_ms: 0.0,
            min_exec_time_ms: 0.0,
            max_exec_time_ms: 0.0,
            stddev_exec_time_ms: 0.0,
            shared_blks_hit: hit,
            shared_blks_read: read,
            temp_blks_written: 0,
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
