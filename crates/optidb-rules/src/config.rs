//! What `optidb.toml` may change: which rules run, what they ignore, and
//! every threshold.
//!
//! ```toml
//! [rules]
//! disable = ["OPT014", "unused-index"]     # codes or names
//! ignore_tables = ["public.audit_log", "archive.*"]
//! ignore_statements = ["-8817266385283457021", "0e2581a461ece536"]  # queryids or fingerprints
//!
//! [rules.thresholds]
//! large_table_rows = 50000
//! ```

use serde::Deserialize;

use crate::registry::Rule;

/// Which rules run, what they ignore, and their thresholds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Rules not to run, by code or name.
    pub disable: Vec<String>,
    /// Tables whose findings are dropped: `schema.table`, or `schema.*`.
    pub ignore_tables: Vec<String>,
    /// Statements whose findings are dropped: queryids or fingerprints.
    pub ignore_statements: Vec<String>,
    /// The numbers the rules compare against.
    pub thresholds: Thresholds,
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, or an unknown key or a wrong type.
    #[error("invalid optidb.toml: {0}")]
    Toml(String),
    /// A rule named in `disable` does not exist.
    #[error(
        "optidb.toml disables {0:?}, which is not a rule: see docs/rules/README.md for the codes and names"
    )]
    UnknownRule(String),
}

/// The whole of `optidb.toml` as far as rules are concerned.
#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    rules: Config,
}

impl Config {
    /// The `[rules]` section of an `optidb.toml` (other sections belong to
    /// other parts of optidb and are ignored here).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let value: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        let rules_only = match value.get("rules") {
            Some(rules) => {
                let mut table = toml::Table::new();
                table.insert("rules".into(), rules.clone());
                table
            }
            None => toml::Table::new(),
        };
        let file: File = rules_only
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Toml(e.to_string()))?;
        for name in &file.rules.disable {
            if Rule::find(name).is_none() {
                return Err(ConfigError::UnknownRule(name.clone()));
            }
        }
        Ok(file.rules)
    }

    pub(crate) fn is_enabled(&self, rule: &Rule) -> bool {
        !self
            .disable
            .iter()
            .any(|name| name.eq_ignore_ascii_case(rule.code) || name == rule.name)
    }

    pub(crate) fn ignores_table(&self, qualified: &str) -> bool {
        self.ignore_tables
            .iter()
            .any(|pattern| match pattern.strip_suffix(".*") {
                Some(schema) => qualified.split_once('.').is_some_and(|(s, _)| s == schema),
                None => pattern == qualified,
            })
    }
}

/// The numbers rules compare against. Each default says why it is what it is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Tables smaller than this are cheap to scan sequentially: an index
    /// buys little and costs every write. ~10k rows is ~100 pages.
    pub large_table_rows: f64,
    /// A predicate keeping at most this fraction of a table's rows is
    /// selective enough for an index scan to beat a sequential scan (the
    /// planner's break-even sits around a few percent of rows).
    pub selective_fraction: f64,
    /// Statements below this share of the workload's time are not worth an
    /// index of their own.
    pub min_time_share: f64,
    /// A statement at or above this share of the workload's time makes its
    /// finding critical.
    pub critical_time_share: f64,
    /// N+1: at least this many calls…
    pub n_plus_one_min_calls: u64,
    /// …returning at most this many rows per call…
    pub n_plus_one_max_rows_per_call: f64,
    /// …each faster than this (ms): tiny statements whose cost is the round trip.
    pub n_plus_one_max_mean_ms: f64,
    /// Statistics are stale when rows changed since the last ANALYZE exceed
    /// this fraction of the table (autovacuum analyzes at 10%; twice that
    /// means it is not keeping up).
    pub stale_statistics_fraction: f64,
    /// …and at least this many rows changed (small tables change little).
    pub stale_statistics_min_rows: u64,
    /// Bloat: dead rows above this fraction of all rows…
    pub bloat_dead_fraction: f64,
    /// …and at least this many dead rows.
    pub bloat_min_dead_rows: u64,
    /// Unused index findings become warnings only after statistics have been
    /// collected this long (days): a week covers weekly jobs.
    pub unused_index_min_days: f64,
    /// Indexes smaller than this (bytes) are not worth reporting as unused.
    pub unused_index_min_bytes: i64,
    /// Cache hit ratio below this over a statement's blocks is low (OLTP
    /// workloads usually sit above 99%).
    pub low_cache_hit_ratio: f64,
    /// …for statements touching at least this many blocks in total.
    pub low_cache_hit_min_blocks: u64,
    /// Lock waits longer than this (ms) suggest contention.
    pub lock_wait_ms: f64,
    /// Lock contention is critical when at least this many sessions queue on
    /// one relation (or lock type): five is a pile-up, typically DDL waiting
    /// behind a long transaction with every query of the table queued
    /// behind the DDL, not two writers briefly touching the same row.
    pub lock_contention_critical_sessions: u64,
    /// Estimated and actual rows differing by this factor mislead the planner.
    pub misestimate_factor: f64,
    /// …on a node handling at least this many rows over all its loops
    /// (estimated or actual, whichever is larger): below that, whichever
    /// plan the planner picks finishes in about a millisecond, so 1 row
    /// expected and 12 found is noise, not a reason to ANALYZE.
    pub misestimate_min_rows: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            large_table_rows: 10_000.0,
            selective_fraction: 0.05,
            min_time_share: 0.005,
            critical_time_share: 0.20,
            n_plus_one_min_calls: 1_000,
            n_plus_one_max_rows_per_call: 1.5,
            n_plus_one_max_mean_ms: 1.0,
            stale_statistics_fraction: 0.2,
            stale_statistics_min_rows: 1_000,
            bloat_dead_fraction: 0.2,
            bloat_min_dead_rows: 10_000,
            unused_index_min_days: 7.0,
            unused_index_min_bytes: 64 * 1024,
            low_cache_hit_ratio: 0.95,
            low_cache_hit_min_blocks: 100_000,
            lock_wait_ms: 1_000.0,
            lock_contention_critical_sessions: 5,
            misestimate_factor: 10.0,
            misestimate_min_rows: 1_000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rules_section_and_keeps_defaults() {
        let config = Config::from_toml(
            r#"
            [apply]
            lock_timeout = "2s"
            [rules]
            disable = ["OPT014", "unused-index"]
            ignore_tables = ["archive.*"]
            [rules.thresholds]
            large_table_rows = 50000
            "#,
        )
        .unwrap();
        assert_eq!(config.thresholds.large_table_rows, 50_000.0);
        assert_eq!(config.thresholds.selective_fraction, 0.05);
        assert!(!config.is_enabled(Rule::find("OPT014").unwrap()));
        assert!(!config.is_enabled(Rule::find("OPT006").unwrap()));
        assert!(config.is_enabled(Rule::find("OPT001").unwrap()));
        assert!(config.ignores_table("archive.events"));
        assert!(!config.ignores_table("public.events"));
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::from_toml("[rules]\ndisable = [\"OPT999\"]").unwrap_err();
        assert!(err.to_string().contains("OPT999"), "{err}");
        let err = Config::from_toml("[rules.thresholds]\nlarge_rows = 1").unwrap_err();
        assert!(err.to_string().contains("large_rows"), "{err}");
        assert!(Config::from_toml("").unwrap() == Config::default());
    }
}
