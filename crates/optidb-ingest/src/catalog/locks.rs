//! Lock waits right now: who waits on what, for how long, and how many
//! sessions block others.

use optidb_model::{LockSummary, LockWait, ServerInfo};
use tokio_postgres::Client;

use super::count;
use crate::Error;

pub(crate) async fn read(client: &Client, server: &ServerInfo) -> Result<LockSummary, Error> {
    // pg_locks.waitstart exists from PostgreSQL 14; before, the waiting
    // statement's start bounds the wait from above.
    let wait_start = if server.major_version() >= 14 {
        "coalesce(l.waitstart, a.query_start)"
    } else {
        "a.query_start"
    };
    let sql = format!(
        "/* optidb */
WITH waits AS (
  SELECT coalesce(quote_ident(n.nspname) || '.' || quote_ident(c.relname), l.locktype) AS target,
         l.mode, count(DISTINCT l.pid)::bigint AS sessions,
         coalesce(max(extract(epoch FROM clock_timestamp() - {wait_start}) * 1000), 0)::float8 AS longest_ms
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    LEFT JOIN pg_class c ON c.oid = l.relation
    LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE NOT l.granted AND a.datname = current_database()
   GROUP BY 1, 2
), blockers AS (
  SELECT count(DISTINCT b)::bigint AS blocking
    FROM pg_stat_activity a, unnest(pg_blocking_pids(a.pid)) AS b
   WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()
)
SELECT w.target, w.mode, w.sessions, w.longest_ms, blockers.blocking
  FROM blockers LEFT JOIN waits w ON true
 ORDER BY w.sessions DESC NULLS LAST, w.longest_ms DESC"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(Error::query("lock waits"))?;
    let waits: Vec<LockWait> = rows
        .iter()
        .filter_map(|row| {
            Some(LockWait {
                target: row.get::<_, Option<String>>(0)?,
                mode: row.get::<_, Option<String>>(1).unwrap_or_default(),
                sessions: count(row, 2),
                longest_wait_ms: row.get::<_, Option<f64>>(3).unwrap_or(0.0),
            })
        })
        .collect();
    Ok(LockSummary {
        waiting_sessions: waits.iter().map(|wait| wait.sessions).sum(),
        blocking_sessions: rows.first().map(|row| count(row, 4)).unwrap_or(0),
        longest_wait_ms: waits
            .iter()
            .map(|wait| wait.longest_wait_ms)
            .fold(0.0, f64::max),
        waits,
    })
}
