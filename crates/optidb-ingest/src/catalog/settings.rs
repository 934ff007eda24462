//! The settings that matter to performance advice.

use optidb_model::Setting;
use tokio_postgres::Client;

use crate::Error;

/// Settings read. Rules reason about memory (sorts and hashes that spill),
/// planner costs, statistics targets, autovacuum, parallelism and what
/// `pg_stat_statements` tracks.
const SETTINGS: &[&str] = &[
    "autovacuum",
    "autovacuum_analyze_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_threshold",
    "block_size",
    "checkpoint_timeout",
    "default_statistics_target",
    "effective_cache_size",
    "effective_io_concurrency",
    "enable_bitmapscan",
    "enable_hashjoin",
    "enable_indexscan",
    "enable_mergejoin",
    "enable_nestloop",
    "enable_seqscan",
    "enable_sort",
    "hash_mem_multiplier",
    "jit",
    "lock_timeout",
    "maintenance_work_mem",
    "max_connections",
    "max_parallel_maintenance_workers",
    "max_parallel_workers",
    "max_parallel_workers_per_gather",
    "max_wal_size",
    "pg_stat_statements.max",
    "pg_stat_statements.track",
    "pg_stat_statements.track_planning",
    "plan_cache_mode",
    "random_page_cost",
    "seq_page_cost",
    "server_version_num",
    "shared_buffers",
    "shared_preload_libraries",
    "statement_timeout",
    "track_io_timing",
    "wal_buffers",
    "work_mem",
];

pub(crate) async fn read(client: &Client) -> Result<Vec<Setting>, Error> {
    let names: Vec<String> = SETTINGS.iter().map(|name| (*name).to_string()).collect();
    let rows = client
        .query(
            "/* optidb */ SELECT name, setting, unit, source
               FROM pg_settings WHERE name = ANY($1) ORDER BY name",
            &[&names],
        )
        .await
        .map_err(Error::query("pg_settings"))?;
    Ok(rows
        .iter()
        .map(|row| Setting {
            name: row.get(0),
            value: row.get(1),
            unit: row.get(2),
            source: row.get(3),
        })
        .collect())
}
