//! What an index costs the writes of its table, in plan-cost units, so that
//! it can be weighed against what it saves the reads. The model is
//! described in the [selection module's documentation](super).

use optidb_model::{Snapshot, Table};

/// Plan-cost units one index entry written costs: about what the planner
/// charges to descend a B-tree for a probe, which an insertion also does,
/// plus the leaf tuple and its WAL record. `btcostestimate` charges
/// `(height + 1) × 50 × cpu_operator_cost + log2(rows) × cpu_operator_cost`
/// for the descent: 0.42 for a three-level index of a million rows at the
/// default `cpu_operator_cost` of 0.0025. Rounded to 0.5, half of one
/// sequential page read (`seq_page_cost` = 1).
pub const WRITE_COST_PER_ROW: f64 = 0.5;

/// What maintaining one more index on `table` adds to the workload's cost.
pub(crate) fn write_cost(snapshot: &Snapshot, table: &Table) -> f64 {
    let activity = &table.activity;
    let rows = activity
        .n_tup_ins
        .saturating_add(activity.n_tup_upd)
        .saturating_add(activity.n_tup_del);
    WRITE_COST_PER_ROW * rows as f64 * window_ratio(snapshot)
}

/// The workload window over the statistics window; 1 when either is unknown.
fn window_ratio(snapshot: &Snapshot) -> f64 {
    let stats = snapshot.stats_window_seconds();
    let workload = snapshot
        .statement_stats
        .as_ref()
        .and_then(|info| info.stats_reset.as_deref())
        .and_then(|reset| optidb_model::time::seconds_between(reset, &snapshot.captured_at));
    match (workload, stats) {
        (Some(workload), Some(stats)) if workload >= 0 && stats > 0 => {
            workload as f64 / stats as f64
        }
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::{Catalog, StatementStatsInfo, TableActivity};

    use super::*;

    fn table(ins: u64, upd: u64, del: u64) -> Table {
        Table {
            activity: TableActivity {
                n_tup_ins: ins,
                n_tup_upd: upd,
                n_tup_del: del,
                ..TableActivity::default()
            },
            ..Table::default()
        }
    }

    #[test]
    fn writes_are_priced_per_row_and_scaled_to_the_workload_window() {
        let mut snapshot = Snapshot {
            captured_at: "2026-01-02T00:00:00Z".into(),
            ..Snapshot::default()
        };
        let t = table(1_000, 300, 200);
        assert_eq!(
            write_cost(&snapshot, &t),
            750.0,
            "windows unknown: as counted"
        );
        snapshot.catalog = Catalog {
            stats_reset: Some("2026-01-01T00:00:00Z".into()),
            ..Catalog::default()
        };
        snapshot.statement_stats = Some(StatementStatsInfo {
            dealloc: 0,
            stats_reset: Some("2026-01-01T12:00:00Z".into()),
        });
        assert_eq!(
            write_cost(&snapshot, &t),
            375.0,
            "the statements cover half the statistics window"
        );
        assert_eq!(write_cost(&snapshot, &table(0, 0, 0)), 0.0);
    }
}
