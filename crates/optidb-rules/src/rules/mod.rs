//! One module per rule; the registry (`crate::registry::RULES`) lists them.

pub(crate) mod correlated_subquery;
pub(crate) mod duplicate_index;
pub(crate) mod fk_without_index;
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

/// `1,234,567`.
pub(crate) fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3%`.
#[allow(dead_code)] // Used by the rules still being written.
pub(crate) fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}
