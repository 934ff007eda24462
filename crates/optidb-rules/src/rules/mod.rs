//! One module per rule; the registry (`crate::registry::RULES`) lists them.

mod column_uses;
pub(crate) mod correlated_subquery;
pub(crate) mod duplicate_index;
pub(crate) mod fk_without_index;
mod index_shapes;
pub(crate) mod jsonb_without_gin;
pub(crate) mod leading_wildcard_like;
pub(crate) mod lock_contention;
pub(crate) mod low_cache_hit;
pub(crate) mod missing_index;
pub(crate) mod n_plus_one;
pub(crate) mod planner_misestimate;
pub(crate) mod redundant_index;
pub(crate) mod sort_spill;
pub(crate) mod stale_statistics;
pub(crate) mod table_bloat;
pub(crate) mod unindexed_join;
pub(crate) mod unused_index;

use optidb_model::{Finding, Fix, Severity};

use crate::Rule;

/// A finding of `rule`; callers add statements, tables, indexes, evidence.
pub(crate) fn finding(rule: &Rule, severity: Severity, title: String, fix: Fix) -> Finding {
    Finding {
        code: rule.code.to_string(),
        rule: rule.name.to_string(),
        severity,
        title,
        statements: Vec::new(),
        tables: Vec::new(),
        indexes: Vec::new(),
        evidence: Vec::new(),
        fix,
    }
}

pub(crate) use optidb_model::text::{percent, thousands};
