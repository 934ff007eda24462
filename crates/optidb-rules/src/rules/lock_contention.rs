//! OPT015 lock-contention: sessions that were queued on a lock for a long
//! time when the snapshot was taken.

use optidb_model::{Evidence, Finding, Fix, LockWait, Severity};

use super::{finding, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT015",
    name: "lock-contention",
    default_severity: Severity::Warning,
    summary: "Sessions were waiting on a lock for a long time when the snapshot was taken.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

Sessions waiting for a lock (`pg_locks.granted = false`) for at least
`lock_wait_ms` when the snapshot was taken, on a relation or on another
kind of lock (a transaction id when rows are contended, an advisory lock…).

## Why it matters

A waiting session does nothing while it holds a connection, and often
locks of its own. Waits chain: an `ALTER TABLE` queued behind a long
transaction makes every later query of the table queue behind the
`ALTER TABLE`, and a few seconds of that fill the connection pool. Row-level
contention (many sessions updating the same rows) serializes what should
run in parallel.

## How it is detected

optidb reads the lock waits of the snapshot (grouped by relation or lock
type and requested mode) and reports, per relation or lock type, the waits
whose longest is at least `lock_wait_ms`: how many sessions wait, the
longest wait, the modes requested and how many sessions block others. It
is a warning, critical when at least `lock_contention_critical_sessions`
sessions queue on the same target. Row locks are reported on their table,
in modes up to `AccessExclusiveLock` (`SELECT … FOR UPDATE`), so a wait on a
table may be row contention as well as DDL: the advice names both. A
snapshot is one moment: take a few to tell a pattern from an accident.

## Example

```sql
-- session 1: BEGIN; UPDATE orders SET status = 'paid' WHERE id = 1;  (and idles)
-- session 2: ALTER TABLE orders ADD COLUMN note text;  -- waits for session 1
-- sessions 3…: SELECT … FROM orders …                  -- wait behind session 2
```

Fix: find the blocker (`pg_blocking_pids(pid)` in `pg_stat_activity`), end
long or idle transactions (`idle_in_transaction_session_timeout`), run DDL
outside peak hours with a short `lock_timeout` and retries, and use
`CREATE INDEX CONCURRENTLY`.

## How to silence

Disable the rule (`disable = ["OPT015"]` in `optidb.toml`), ignore the
table (`ignore_tables = ["public.orders"]`), or raise `lock_wait_ms` under
`[rules.thresholds]`.
"#;

/// The waits on one relation or lock type, all modes together.
struct Target<'a> {
    name: &'a str,
    waits: Vec<&'a LockWait>,
}

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let locks = &context.snapshot.catalog.locks;
    let mut targets: Vec<Target> = Vec::new();
    for wait in &locks.waits {
        match targets.iter_mut().find(|target| target.name == wait.target) {
            Some(target) => target.waits.push(wait),
            None => targets.push(Target {
                name: &wait.target,
                waits: vec![wait],
            }),
        }
    }
    let mut findings = Vec::new();
    for target in targets {
        let longest_ms = target
            .waits
            .iter()
            .map(|wait| wait.longest_wait_ms)
            .fold(0.0, f64::max);
        if longest_ms < thresholds.lock_wait_ms {
            continue;
        }
        let sessions: u64 = target.waits.iter().map(|wait| wait.sessions).sum();
        let mut modes: Vec<&str> = Vec::new();
        for wait in &target.waits {
            if !wait.mode.is_empty() && !modes.contains(&wait.mode.as_str()) {
                modes.push(&wait.mode);
            }
        }
        let table = table_of(context, target.name);
        let what = match &table {
            Some(table) => table.clone(),
            None => format!("{} locks", target.name),
        };
        let severity = if sessions >= thresholds.lock_contention_critical_sessions {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut finding = finding(
            &RULE,
            severity,
            format!(
                "{} waiting on {what} for up to {:.1} s ({}); {} blocking others",
                sessions_text(sessions),
                longest_ms / 1_000.0,
                modes.join(", "),
                sessions_text(locks.blocking_sessions),
            ),
            Fix::Investigate {
                advice: advice(context, target.name, table.is_some()),
            },
        );
        finding.tables = table.into_iter().collect();
        finding.evidence = vec![
            Evidence::new("waiting_sessions", sessions as f64, "count"),
            Evidence::new("longest_wait_ms", longest_ms, "ms"),
            Evidence::new("blocking_sessions", locks.blocking_sessions as f64, "count"),
        ];
        findings.push(finding);
    }
    findings
}

/// The table a wait target names, as `schema.name`: relation locks are
/// reported as `schema.name`, other lock types by their type alone.
fn table_of(context: &Context, target: &str) -> Option<String> {
    context
        .snapshot
        .catalog
        .tables
        .iter()
        .map(|table| table.qualified_name())
        .find(|name| name == target)
        .or_else(|| target.contains('.').then(|| target.to_string()))
}

/// Where to look, from the kind of lock the sessions wait for.
fn advice(context: &Context, target: &str, is_table: bool) -> String {
    let mut advice = Vec::new();
    if is_table {
        // Row locks (pg_locks.locktype = 'tuple') are reported on their
        // table too, in modes up to AccessExclusiveLock (SELECT … FOR
        // UPDATE): the mode alone cannot tell row contention from DDL.
        advice.push(format!(
            "Sessions queue on {target}: either they update or lock the same rows (row locks are reported on the table), \
             or DDL (ALTER TABLE, CREATE INDEX without CONCURRENTLY, VACUUM FULL, LOCK TABLE) holds or awaits a strong lock on it \
             with every later query queued behind it; pg_locks.locktype of the waiters tells which ('tuple' or 'relation')."
        ));
    } else if matches!(target, "transactionid" | "tuple") {
        advice.push(
            "Sessions wait for other transactions to finish: they update or lock the same rows. \
             Keep transactions short, touch hot rows in a consistent order, or queue work with SELECT … FOR UPDATE SKIP LOCKED."
                .to_string(),
        );
    } else {
        advice.push(format!(
            "Sessions wait on {target} locks held by other sessions (advisory locks are taken by the application)."
        ));
    }
    advice.push(
        "Find the blocker with pg_blocking_pids(pid) in pg_stat_activity; end long or idle-in-transaction sessions \
         (idle_in_transaction_session_timeout) and run DDL with a short lock_timeout and retries."
            .to_string(),
    );
    let lock_timeout = match context.snapshot.catalog.setting("lock_timeout") {
        Some(setting) if setting.value == "0" => {
            " lock_timeout is 0 here: a statement waits for a lock forever.".to_string()
        }
        Some(setting) => format!(
            " lock_timeout is {}{} here.",
            setting.value,
            setting.unit.as_deref().unwrap_or_default()
        ),
        None => String::new(),
    };
    format!("{}{lock_timeout}", advice.join(" "))
}

/// `1 session`, `4 sessions`.
fn sessions_text(count: u64) -> String {
    if count == 1 {
        "1 session".to_string()
    } else {
        format!("{} sessions", thousands(count as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    fn waiting(waits: &[(&str, &str, u64, f64)], blocking: u64) -> Scenario {
        let waits: Vec<LockWait> = waits
            .iter()
            .map(|(target, mode, sessions, longest_wait_ms)| LockWait {
                target: (*target).into(),
                mode: (*mode).into(),
                sessions: *sessions,
                longest_wait_ms: *longest_wait_ms,
            })
            .collect();
        Scenario::new()
            .table("orders", 1_000_000, &[("id", -1.0)])
            .with(|snapshot| {
                let locks = &mut snapshot.catalog.locks;
                locks.waiting_sessions = waits.iter().map(|wait| wait.sessions).sum();
                locks.blocking_sessions = blocking;
                locks.longest_wait_ms = waits
                    .iter()
                    .map(|wait| wait.longest_wait_ms)
                    .fold(0.0, f64::max);
                locks.waits = waits;
                snapshot.catalog.settings.push(optidb_model::Setting {
                    name: "lock_timeout".into(),
                    value: "0".into(),
                    unit: Some("ms".into()),
                    source: "default".into(),
                });
            })
    }

    #[test]
    fn fires_per_relation_with_every_mode() {
        let findings = waiting(
            &[
                ("public.orders", "AccessExclusiveLock", 1, 14_200.0),
                ("public.orders", "AccessShareLock", 2, 9_000.0),
            ],
            1,
        )
        .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.orders"]);
        assert_eq!(finding.evidence("waiting_sessions"), Some(3.0));
        assert_eq!(finding.evidence("longest_wait_ms"), Some(14_200.0));
        let Fix::Investigate { advice } = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert!(advice.contains("DDL"), "{advice}");
        assert!(advice.contains("lock_timeout is 0 here"), "{advice}");
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn short_waits_are_not_contention() {
        assert!(
            waiting(&[("public.orders", "RowExclusiveLock", 3, 200.0)], 1)
                .check(&RULE)
                .is_empty()
        );
        assert!(waiting(&[], 0).check(&RULE).is_empty());
    }

    #[test]
    fn a_pile_up_on_rows_is_critical() {
        let findings = waiting(&[("transactionid", "ShareLock", 6, 3_000.0)], 1).check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Critical);
        assert!(findings[0].tables.is_empty());
        let Fix::Investigate { advice } = &findings[0].fix else {
            panic!("{:?}", findings[0].fix)
        };
        assert!(advice.contains("same rows"), "{advice}");
        insta::assert_snapshot!(findings[0].title);
    }

    #[test]
    fn each_target_is_its_own_finding() {
        let findings = waiting(
            &[
                ("public.orders", "RowExclusiveLock", 2, 2_000.0),
                ("advisory", "ExclusiveLock", 1, 5_000.0),
            ],
            2,
        )
        .check(&RULE);
        assert_eq!(findings.len(), 2);
        assert!(
            findings[1].title.contains("waiting on advisory locks"),
            "{}",
            findings[1].title
        );
    }
}
