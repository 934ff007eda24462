//! Short facts about a statement's plan, for a table cell: what a reader
//! should notice first (`Seq Scan orders (1.0M rows)`, `spills to disk`,
//! `est/act 1:120`).

use optidb_model::plan::StatementPlan;
use optidb_model::{Catalog, Statement};

use crate::format::thousands;

/// A misestimate this large (either way) is worth pointing at: below it,
/// plan choices rarely change.
const MISESTIMATE_FACTOR: f64 = 10.0;

/// Sequential scans of tables smaller than this are cheap and normal.
const LARGE_TABLE_ROWS: f64 = 10_000.0;

/// The facts worth a glance, most telling first.
pub(crate) fn plan_facts(
    statement: &Statement,
    plan: Option<&StatementPlan>,
    catalog: &Catalog,
) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(plan) = plan.and_then(StatementPlan::plan) {
        let mut scanned: Vec<&str> = Vec::new();
        for node in plan.nodes().filter(|node| node.is_seq_scan()) {
            let Some(relation) = node.relation_name.as_deref() else {
                continue;
            };
            if scanned.contains(&relation) {
                continue;
            }
            scanned.push(relation);
            let rows = catalog
                .tables
                .iter()
                .find(|table| {
                    table.name == relation
                        && node
                            .schema
                            .as_deref()
                            .is_none_or(|schema| schema == table.schema)
                })
                .map(|table| table.rows())
                .unwrap_or(node.plan_rows);
            if rows >= LARGE_TABLE_ROWS {
                facts.push(format!("Seq Scan {relation} ({} rows)", compact(rows)));
            }
        }
        if let Some(estimate) = plan
            .worst_row_estimate()
            .filter(|e| e.factor >= MISESTIMATE_FACTOR)
        {
            let factor = estimate.factor.round();
            facts.push(if estimate.is_underestimate() {
                format!("est/act 1:{factor}")
            } else {
                format!("est/act {factor}:1")
            });
        }
    }
    if statement.temp_blks_written > 0 {
        facts.push(format!(
            "spills to disk ({} temp blocks)",
            thousands(statement.temp_blks_written)
        ));
    }
    if let Some(reason) = plan.and_then(StatementPlan::skip_reason) {
        facts.push(format!("no plan: {reason}"));
    }
    facts
}

/// `950`, `12k`, `1.0M`, `3.2B`.
pub(crate) fn compact(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.1}B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if n >= 1e4 {
        format!("{:.0}k", n / 1e3)
    } else if n >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(1_500.0), "1.5k");
        assert_eq!(compact(12_345.0), "12k");
        assert_eq!(compact(1_000_000.0), "1.0M");
        assert_eq!(compact(3_200_000_000.0), "3.2B");
    }
}
