//! Turns findings into ranked recommendations: exact DDL with quoted
//! identifiers and deterministic names, rollback DDL, a plain-English
//! rationale citing the evidence, a confidence with how it was reached, and
//! the risk (lock, build time, index size, write overhead).
//!
//! Owns: merging candidates so one index serves several statements (and
//! the foreign keys it covers), never recommending an index an existing one
//! already covers, and the ranking (estimated time saved, then severity).
//!
//! Must not: do any I/O or talk to a database. Proving a recommendation is
//! `optidb-simulate`'s job, running it is `optidb-apply`'s.

mod actions;
mod confidence;
mod ddl;
mod rationale;
mod risk;

use optidb_model::{Finding, Recommendation, Snapshot};

pub use ddl::{index_name, quote_ident};

/// The `CREATE INDEX CONCURRENTLY IF NOT EXISTS …;` optidb would run for
/// `spec`, with its deterministic name.
pub fn index_ddl(spec: &optidb_model::IndexSpec) -> String {
    format!("{};", ddl::create_index(spec, &index_name(spec)))
}

/// The recommendations that answer `findings`, best first.
pub fn recommend(snapshot: &Snapshot, findings: &[Finding]) -> Vec<Recommendation> {
    let mut recommendations: Vec<Recommendation> = actions::plan(snapshot, findings)
        .into_iter()
        .map(|action| action.into_recommendation(snapshot))
        .collect();
    recommendations.sort_by(|a, b| {
        b.estimated_savings_ms
            .total_cmp(&a.estimated_savings_ms)
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| b.confidence.total_cmp(&a.confidence))
            .then_with(|| a.id.cmp(&b.id))
    });
    for (index, recommendation) in recommendations.iter_mut().enumerate() {
        recommendation.rank = index + 1;
    }
    recommendations
}
