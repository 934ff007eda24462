//! What applying an action costs and risks: the lock, the build time, the
//! index size, and the write overhead.

use optidb_model::{IndexSpec, Risk, RiskLevel, Snapshot, Table};

use crate::actions::{Action, Target};

/// Bytes per second a concurrent index build reads and sorts on ordinary
/// hardware: two table scans plus a sort, ~50 MB/s of table overall.
const BUILD_BYTES_PER_SECOND: f64 = 50.0 * 1024.0 * 1024.0;
/// Per-entry overhead of a btree index: tuple header, item pointer, line pointer.
const BTREE_ENTRY_OVERHEAD: f64 = 16.0;
/// Leaf pages are filled to 90% by default.
const BTREE_FILL: f64 = 0.9;
/// Tables larger than this take long enough to build on to be medium risk.
const LARGE_TABLE_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;
/// Writes per second above which another index is felt.
const BUSY_WRITES_PER_SECOND: f64 = 100.0;

const CONCURRENT_LOCK: &str =
    "ShareUpdateExclusiveLock: reads and writes continue; other DDL on the table waits";

pub(crate) fn of(action: &Action, snapshot: &Snapshot) -> Risk {
    match &action.target {
        Target::CreateIndex(spec) => create_index(spec, snapshot),
        Target::DropIndex { .. } => Risk {
            level: RiskLevel::Low,
            lock: CONCURRENT_LOCK.into(),
            build_seconds: None,
            index_bytes: None,
            write_overhead: Some("removes one index to maintain on every write".into()),
        },
        Target::Maintain { vacuum, .. } => Risk {
            level: RiskLevel::Low,
            lock: if *vacuum {
                "ShareUpdateExclusiveLock: reads and writes continue".into()
            } else {
                "ShareUpdateExclusiveLock (ANALYZE): reads and writes continue".into()
            },
            build_seconds: None,
            index_bytes: None,
            write_overhead: None,
        },
        Target::WorkMem { .. } => Risk {
            level: RiskLevel::Medium,
            lock: "none".into(),
            build_seconds: None,
            index_bytes: None,
            write_overhead: Some(
                "each sort or hash of the statement may use this much memory at once".into(),
            ),
        },
        Target::Rewrite { .. } => Risk {
            level: RiskLevel::High,
            lock: "none: an application change".into(),
            build_seconds: None,
            index_bytes: None,
            write_overhead: None,
        },
        Target::Investigate { .. } => Risk {
            level: RiskLevel::Low,
            lock: "none".into(),
            build_seconds: None,
            index_bytes: None,
            write_overhead: None,
        },
    }
}

fn create_index(spec: &IndexSpec, snapshot: &Snapshot) -> Risk {
    let table = snapshot.catalog.table(&spec.schema, &spec.table);
    let rows = table.map(Table::rows).unwrap_or(0.0);
    let table_bytes = table.map(|t| t.table_bytes as f64).unwrap_or(0.0);
    let key_width: f64 = spec
        .keys
        .iter()
        .map(|key| {
            table
                .and_then(|t| t.column(&key.column))
                .and_then(|c| c.stats.as_ref())
                .map(|s| f64::from(s.avg_width.max(1)))
                .unwrap_or(8.0)
        })
        .sum();
    let index_bytes = if spec.method == "btree" {
        rows * (key_width + BTREE_ENTRY_OVERHEAD) / BTREE_FILL
    } else {
        // GIN sizes depend on the data (trigrams, JSON keys): a rough table-sized guess.
        table_bytes * 0.5
    };
    let build_seconds = (table_bytes + index_bytes) / BUILD_BYTES_PER_SECOND;
    let writes_per_second = table.and_then(|t| writes_per_second(t, snapshot));
    let busy = writes_per_second.is_some_and(|w| w >= BUSY_WRITES_PER_SECOND);
    let level = if table_bytes >= LARGE_TABLE_BYTES || busy {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    };
    Risk {
        level,
        lock: CONCURRENT_LOCK.into(),
        build_seconds: Some((build_seconds * 10.0).round() / 10.0),
        index_bytes: Some(index_bytes.round() as i64),
        write_overhead: Some(match writes_per_second {
            Some(rate) => format!(
                "one more index to maintain on ~{rate:.1} writes/s to {}",
                spec.table
            ),
            None => format!(
                "one more index to maintain on every write to {}",
                spec.table
            ),
        }),
    }
}

/// Inserts, updates and deletes per second over the statistics window.
fn writes_per_second(table: &Table, snapshot: &Snapshot) -> Option<f64> {
    let seconds = snapshot.stats_window_seconds()?.max(1) as f64;
    let writes = table.activity.n_tup_ins + table.activity.n_tup_upd + table.activity.n_tup_del;
    Some(writes as f64 / seconds)
}
