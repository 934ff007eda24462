//! Did a change pay off? Each statement's mean time since the change
//! (from the pg_stat_statements counters recorded when it was applied)
//! against its mean time before.

use tokio_postgres::Client;

use crate::audit;
use crate::{Change, Error};

/// A change pays off when its statements' mean time falls by at least
/// this fraction (10%): less is within the noise of a busy server.
pub const PAYS_OFF: f64 = 0.10;

/// What happened to a change's statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// The change.
    pub change: Change,
    /// Per statement, in the change's order.
    pub statements: Vec<VerifiedStatement>,
    /// The overall answer.
    pub verdict: Verdict,
}

/// One statement before and since a change.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedStatement {
    /// `pg_stat_statements.queryid`.
    pub queryid: i64,
    /// Mean execution time before the change, ms.
    pub mean_ms_before: Option<f64>,
    /// Mean execution time of the calls since the change, ms.
    pub mean_ms_since: Option<f64>,
    /// Calls since the change.
    pub calls_since: i64,
    /// pg_stat_statements was reset since the change: `mean_ms_since`
    /// covers the calls since that reset.
    pub counters_reset: bool,
}

/// Whether a change paid off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Mean time fell by at least [`PAYS_OFF`]: `ratio` = since / before,
    /// weighted by the calls since.
    PaidOff {
        /// since / before.
        ratio: f64,
    },
    /// Mean time did not fall enough.
    NoGain {
        /// since / before.
        ratio: f64,
    },
    /// No statement has been called since, or none was recorded before.
    NotEnoughData,
}

/// Compares the statements of change `change_id` now with when it was applied.
pub async fn verify(client: &Client, change_id: i64) -> Result<Verification, Error> {
    let change = audit::get(client, change_id)
        .await?
        .ok_or(Error::NoSuchChange { id: change_id })?;
    let now = audit::counters(client, &change.statements).await;
    let statements: Vec<VerifiedStatement> = change
        .statements
        .iter()
        .enumerate()
        .map(|(i, queryid)| {
            let before_calls = change.calls_before.get(i).copied().flatten();
            let before_total = change.total_ms_before.get(i).copied().flatten();
            let (calls_now, total_now) = now.get(i).copied().flatten().unwrap_or((0, 0.0));
            let (calls_since, total_since, reset) = match (before_calls, before_total) {
                (Some(calls), Some(total)) if calls_now >= calls => {
                    (calls_now - calls, total_now - total, false)
                }
                // Fewer calls than before: the counters were reset since.
                _ => (calls_now, total_now, before_calls.is_some()),
            };
            VerifiedStatement {
                queryid: *queryid,
                mean_ms_before: change.mean_ms_before.get(i).copied().flatten(),
                mean_ms_since: (calls_since > 0).then(|| total_since / calls_since as f64),
                calls_since,
                counters_reset: reset,
            }
        })
        .collect();
    let (mut before, mut since, mut weight) = (0.0, 0.0, 0.0);
    for statement in &statements {
        if let (Some(b), Some(s)) = (statement.mean_ms_before, statement.mean_ms_since) {
            let calls = statement.calls_since as f64;
            before += b * calls;
            since += s * calls;
            weight += calls;
        }
    }
    let verdict = if weight == 0.0 || before <= 0.0 {
        Verdict::NotEnoughData
    } else {
        let ratio = since / before;
        if ratio <= 1.0 - PAYS_OFF {
            Verdict::PaidOff { ratio }
        } else {
            Verdict::NoGain { ratio }
        }
    };
    Ok(Verification {
        change,
        statements,
        verdict,
    })
}
