//! OPT006 unused-index: an index no query has scanned since statistics
//! began, which every write still maintains.

use optidb_model::{Catalog, Evidence, Finding, Index, Severity, TableKind};

use super::index_shapes::{
    IndexShapes, drop_index_finding, enforces_something, keys_text, size_text, table_writes,
};
use super::thousands;
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT006",
    name: "unused-index",
    default_severity: Severity::Warning,
    summary: "An index no query has scanned since statistics began, maintained by every write.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A valid index that has not been scanned once (`idx_scan = 0` in
`pg_stat_user_indexes`) since the statistics were last reset, or since the
server started.

## Why it matters

Every insert, every non-HOT update and every delete of the table maintains
the index; VACUUM scans it; it takes disk, WAL, backup time and room in
shared buffers. An index nobody reads is pure cost.

## How it is detected

optidb reports valid indexes with `idx_scan = 0` that are at least
`unused_index_min_bytes` big (smaller ones cost little), except:

- unique indexes, primary keys and indexes backing a constraint: they
  enforce something even when no query reads them;
- the only index leading with a foreign key's columns: deletes and key
  updates on the referenced table need it even when they are rare (OPT003
  would ask for it back);
- indexes of partitioned tables (their scans are counted on the partitions);
- indexes that OPT004 (duplicate) or OPT005 (redundant) already ask to
  drop, and the indexes they keep in place of a used one (the queries of the
  dropped index will use them).

The counters only cover the time since their last reset (or the server's
start): the finding says how long that is. It is a warning when that is at
least `unused_index_min_days` (a week covers weekly jobs), informational
otherwise, since a fresh server proves little.

## Example

```sql
CREATE INDEX users_last_login_at_idx ON users (last_login_at);
-- Every login runs UPDATE users SET last_login_at = now() WHERE id = $1,
-- which maintains the index; no query filters or sorts on last_login_at.
```

Fix: `DROP INDEX CONCURRENTLY users_last_login_at_idx;` Before dropping,
check that replicas do not use it (`idx_scan` is counted per server) and
that no monthly or yearly job needs it; keep the definition to recreate it.

## How to silence

Disable the rule (`disable = ["OPT006"]` in `optidb.toml`), ignore the
table (`ignore_tables = ["public.users"]`), or raise
`unused_index_min_bytes` / `unused_index_min_days` under
`[rules.thresholds]`.
"#;

const SECONDS_PER_DAY: f64 = 86_400.0;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let catalog = &context.snapshot.catalog;
    let shapes = IndexShapes::of(catalog);
    let window = context.stats_window_seconds();
    let long_enough = window.is_some_and(|seconds| {
        seconds as f64 >= thresholds.unused_index_min_days * SECONDS_PER_DAY
    });
    let since = match (&catalog.stats_reset, window) {
        (_, None) => "since statistics began (when is unknown)".to_string(),
        (Some(_), Some(seconds)) => format!(
            "in {} of statistics (since their last reset)",
            duration_text(seconds)
        ),
        (None, Some(seconds)) => format!(
            "in {} of statistics (since the server started)",
            duration_text(seconds)
        ),
    };
    let mut findings = Vec::new();
    for index in &catalog.indexes {
        if !index.valid
            || index.idx_scan > 0
            || index.bytes < thresholds.unused_index_min_bytes
            || enforces_something(index)
            || on_partitioned_table(catalog, index)
            || only_support_of_a_foreign_key(catalog, index)
            || shapes.asks_to_drop(index)
            || shapes.takes_over_used_index(index)
        {
            continue;
        }
        let writes = table_writes(catalog, index);
        let severity = if long_enough {
            Severity::Warning
        } else {
            Severity::Info
        };
        let cost = if writes > 0 {
            format!(
                ", yet {} row writes maintained it ({})",
                thousands(writes as f64),
                size_text(index.bytes as f64)
            )
        } else {
            format!("; it takes {}", size_text(index.bytes as f64))
        };
        let mut finding = drop_index_finding(
            &RULE,
            severity,
            format!(
                "{} on {} was not scanned once {since}{cost}",
                index.name,
                keys_text(index),
            ),
            index,
            None,
            writes,
        );
        if let Some(seconds) = window {
            finding.evidence.push(Evidence::new(
                "stats_window_seconds",
                seconds as f64,
                "seconds",
            ));
        }
        findings.push(finding);
    }
    findings
}

/// Whether `index` belongs to a partitioned table, whose index scans are
/// counted on the partitions' indexes, never on the parent's.
fn on_partitioned_table(catalog: &Catalog, index: &Index) -> bool {
    catalog
        .table(&index.schema, &index.table)
        .is_some_and(|table| table.kind == TableKind::Partitioned)
}

/// Whether `index` is the only valid index whose leading keys are a foreign
/// key's columns: rare parent deletes still need it, and dropping it would
/// make OPT003 ask for it back.
fn only_support_of_a_foreign_key(catalog: &Catalog, index: &Index) -> bool {
    catalog
        .foreign_keys
        .iter()
        .filter(|fk| fk.schema == index.schema && fk.table == index.table)
        .any(|fk| {
            leads_with(index, &fk.columns)
                && !catalog
                    .indexes_of(&index.schema, &index.table)
                    .any(|other| {
                        other.name != index.name && other.valid && leads_with(other, &fk.columns)
                    })
        })
}

/// Whether a B-tree `index` without predicate starts with exactly `columns`,
/// in any order: what a foreign key lookup needs (as OPT003 sees it).
fn leads_with(index: &Index, columns: &[String]) -> bool {
    index.method == "btree"
        && index.predicate.is_none()
        && !columns.is_empty()
        && index.keys.len() >= columns.len()
        && index.keys[..columns.len()].iter().all(|key| {
            key.column
                .as_ref()
                .is_some_and(|column| columns.contains(column))
        })
}

/// `8 seconds`, `12 minutes`, `5 hours`, `30 days`.
fn duration_text(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (value, unit) = match seconds {
        0..120 => (seconds, "second"),
        120..7_200 => (seconds / 60, "minute"),
        7_200..172_800 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    if value == 1 {
        format!("1 {unit}")
    } else {
        format!("{value} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::Fix;

    use super::*;
    use crate::testing::Scenario;

    /// Statistics kept for 30 days (the scenario's default).
    fn users() -> Scenario {
        Scenario::new()
            .table(
                "users",
                100_000,
                &[("id", -1.0), ("email", -1.0), ("last_login_at", -0.8)],
            )
            .table_with("users", |table| {
                table.activity.n_tup_ins = 1_000;
                table.activity.n_tup_upd = 24_000;
            })
            .index("users", "users_pkey", &["id"], 0)
            .index_with("users_pkey", |index| {
                index.unique = true;
                index.primary = true;
                index.constraint = Some("users_pkey".into());
            })
    }

    #[test]
    fn fires_on_an_index_never_scanned_in_a_month() {
        let findings = users()
            .index("users", "users_last_login_at_idx", &["last_login_at"], 0)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.indexes, ["public.users_last_login_at_idx"]);
        assert_eq!(
            finding.evidence("stats_window_seconds"),
            Some(30.0 * 86_400.0)
        );
        assert_eq!(finding.evidence("table_writes"), Some(25_000.0));
        assert!(
            matches!(&finding.fix, Fix::DropIndex { name, .. } if name == "users_last_login_at_idx")
        );
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn a_fresh_server_makes_it_informational_and_says_so() {
        let findings = users()
            .index("users", "users_last_login_at_idx", &["last_login_at"], 0)
            .with(|snapshot| snapshot.catalog.stats_reset = Some("2026-11-21T11:52:00Z".into()))
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Info);
        insta::assert_snapshot!(findings[0].title);
    }

    #[test]
    fn an_unknown_window_is_informational() {
        let findings = users()
            .index("users", "users_last_login_at_idx", &["last_login_at"], 0)
            .with(|snapshot| snapshot.catalog.postmaster_start = None)
            .check(&RULE);
        assert_eq!(findings[0].severity, Severity::Info);
        assert_eq!(findings[0].evidence("stats_window_seconds"), None);
    }

    #[test]
    fn used_small_unique_and_constraint_indexes_are_not_reported() {
        let scenario = users()
            .index("users", "used", &["last_login_at"], 1)
            .index("users", "tiny", &["email", "id"], 0)
            .index_with("tiny", |index| index.bytes = 8_192)
            .index("users", "users_email_key", &["email"], 0)
            .index_with("users_email_key", |index| index.unique = true)
            .index("users", "broken", &["email", "last_login_at"], 0)
            .index_with("broken", |index| index.valid = false);
        let findings = scenario.check(&RULE);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn duplicates_and_prefixes_are_left_to_opt004_and_opt005() {
        let scenario = users()
            .index("users", "login_a", &["last_login_at"], 7)
            .index("users", "login_b", &["last_login_at"], 0)
            .index("users", "email", &["email"], 0)
            .index("users", "email_login", &["email", "last_login_at"], 3);
        let findings = scenario.check(&RULE);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn an_unused_index_that_makes_a_used_one_redundant_is_kept() {
        // OPT005 drops `email` (used) in favour of `email_login`, which its
        // queries will then use: asking to drop both would lose both.
        let scenario = users().index("users", "email", &["email"], 90).index(
            "users",
            "email_login",
            &["email", "last_login_at"],
            0,
        );
        let findings = scenario.check(&RULE);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn the_kept_one_of_two_unused_duplicates_is_still_unused() {
        let findings = users()
            .index("users", "login_a", &["last_login_at"], 0)
            .index("users", "login_b", &["last_login_at"], 0)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].indexes, ["public.login_a"]);
    }

    #[test]
    fn the_only_index_of_a_foreign_key_stays() {
        let scenario = users()
            .table("orders", 1_000_000, &[("id", -1.0), ("user_id", 100_000.0)])
            .foreign_key("orders", &["user_id"], "users")
            .index("orders", "orders_user_id_idx", &["user_id"], 0);
        assert!(scenario.check(&RULE).is_empty());
        // Another index serves the foreign key (not a duplicate nor a
        // prefix, which OPT004 and OPT005 would report instead).
        let second = scenario
            .index("orders", "orders_user_id_desc_idx", &["user_id"], 40)
            .index_with("orders_user_id_desc_idx", |index| {
                index.keys[0].descending = true
            });
        assert_eq!(second.check(&RULE).len(), 1);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(8), "8 seconds");
        assert_eq!(duration_text(60), "60 seconds");
        assert_eq!(duration_text(720), "12 minutes");
        assert_eq!(duration_text(3 * 3_600), "3 hours");
        assert_eq!(duration_text(86_400), "24 hours");
        assert_eq!(duration_text(30 * 86_400), "30 days");
    }
}
