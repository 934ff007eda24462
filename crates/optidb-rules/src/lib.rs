//! optidb's rules: pure functions that read a [`Snapshot`] (and what the
//! fingerprint stage learned from its statements, [`WorkloadFacts`]) and
//! emit [`Finding`]s, each with a stable code (`OPT001`…), a severity, the
//! statements, tables and indexes involved, the numbers behind it, and the
//! fix it suggests.
//!
//! Owns: the closed registry of rules ([`RULES`]), one module per rule
//! under `rules/` with its documentation (the source of `docs/rules/`) and
//! its firing and not-firing tests; the thresholds ([`Thresholds`]) and the
//! configuration that tunes and silences them ([`Config`], from `optidb.toml`).
//!
//! Must not: do any I/O (no database, no files, no clock, no environment)
//! or depend on a runtime. Everything a rule needs is in the snapshot; this
//! keeps rules deterministic and lets a saved snapshot be analysed offline.
//! CI checks that this crate never links a database driver.

mod config;
mod context;
mod registry;
mod rules;
#[cfg(test)]
mod testing;

pub use config::{Config, ConfigError, Thresholds};
pub use context::Context;
pub use optidb_model::facts::WorkloadFacts;
pub use optidb_model::{Finding, Snapshot};
pub use registry::{RULES, Rule};

/// Runs every enabled rule over `snapshot` and returns their findings,
/// most severe first, then by rule code.
pub fn check(snapshot: &Snapshot, workload: &WorkloadFacts, config: &Config) -> Vec<Finding> {
    let context = Context::new(snapshot, workload, config);
    let mut findings: Vec<Finding> = RULES
        .iter()
        .filter(|rule| config.is_enabled(rule))
        .flat_map(|rule| (rule.check)(&context))
        .filter(|finding| !context.is_ignored(finding))
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.title.cmp(&b.title))
    });
    findings
}
