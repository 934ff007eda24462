//! OPT012 stale-statistics: a table changed so much since its last ANALYZE
//! that the planner's statistics describe data that is gone.

use optidb_model::time::{epoch_seconds, seconds_between};
use optidb_model::{Evidence, Finding, Fix, Severity, Table, TableKind};

use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT012",
    name: "stale-statistics",
    default_severity: Severity::Warning,
    summary: "A table changed a lot since its last ANALYZE: the planner plans with outdated statistics.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A table whose rows changed since its last `ANALYZE` (manual or automatic)
amount to a large part of the table: `n_mod_since_analyze` in
`pg_stat_user_tables` against the row count the last `ANALYZE` recorded.

## Why it matters

The planner estimates how many rows each step of a plan returns from the
statistics `ANALYZE` gathers (`pg_stats`: most common values, histograms,
distinct counts). When the data moved on, its estimates are wrong: it picks
a nested loop for what is now a million rows, a sequential scan where an
index would do, or a hash that spills. Autovacuum re-analyzes a table once
about 10% of it changed (`autovacuum_analyze_scale_factor`); when it is
disabled on the table, or cannot keep up, the statistics stay stale.

## How it is detected

A table is reported when at least `stale_statistics_min_rows` rows changed
since its last `ANALYZE` and that is at least `stale_statistics_fraction`
of its rows (`pg_class.reltuples` as that `ANALYZE` recorded it, else the
live row count). The title says when it was last analyzed, if ever, and
whether autovacuum is disabled on the table (`autovacuum_enabled = false`)
or on the server (`autovacuum = off`), since then nothing will re-analyze it.

## Example

```sql
ALTER TABLE inventory SET (autovacuum_enabled = false);
ANALYZE inventory;                         -- 200,000 rows
UPDATE inventory SET quantity = 0;         -- 200,000 rows changed since
```

Fix: `ANALYZE inventory;` and re-enable autovacuum on it
(`ALTER TABLE inventory RESET (autovacuum_enabled);`), or schedule
`ANALYZE` after the batch jobs that rewrite it.

## How to silence

Disable the rule (`disable = ["OPT012"]` in `optidb.toml`), ignore the
table (`ignore_tables = ["public.inventory"]`), or raise
`stale_statistics_fraction` / `stale_statistics_min_rows` under
`[rules.thresholds]`.
"#;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let snapshot = context.snapshot;
    let mut findings = Vec::new();
    for table in &snapshot.catalog.tables {
        // A partitioned parent holds no rows: its partitions are reported.
        if table.kind == TableKind::Partitioned {
            continue;
        }
        let activity = &table.activity;
        let changed = activity.n_mod_since_analyze;
        // The row count the planner believes, as of the last ANALYZE.
        let analyzed_rows = if table.reltuples > 0.0 {
            table.reltuples
        } else {
            activity.live_tuples as f64
        };
        if changed < thresholds.stale_statistics_min_rows
            || (changed as f64) < thresholds.stale_statistics_fraction * analyzed_rows
        {
            continue;
        }
        let last_analyzed = latest(
            activity.last_analyze.as_deref(),
            activity.last_autoanalyze.as_deref(),
        );
        let when = match last_analyzed {
            Some(at) => format!(
                "{}: {} rows changed since its last ANALYZE ({at})",
                table.name,
                thousands(changed as f64)
            ),
            None => format!(
                "{} was never analyzed and {} rows changed",
                table.name,
                thousands(changed as f64)
            ),
        };
        let share = if analyzed_rows > 0.0 {
            format!(
                ", {} of its {} rows",
                percent(changed as f64 / analyzed_rows),
                thousands(analyzed_rows)
            )
        } else {
            String::new()
        };
        let why = match autovacuum_off(context, table) {
            Some(where_off) => {
                format!("; autovacuum is disabled {where_off}, so nothing will re-analyze it")
            }
            None => String::new(),
        };
        let mut finding = finding(
            &RULE,
            Severity::Warning,
            format!("{when}{share}{why}"),
            Fix::Analyze {
                schema: table.schema.clone(),
                table: table.name.clone(),
            },
        );
        finding.tables = vec![table.qualified_name()];
        finding.evidence = vec![
            Evidence::new("rows_changed_since_analyze", changed as f64, "rows"),
            Evidence::new("analyzed_rows", analyzed_rows, "rows"),
        ];
        if analyzed_rows > 0.0 {
            finding.evidence.push(Evidence::new(
                "changed_fraction",
                changed as f64 / analyzed_rows,
                "ratio",
            ));
        }
        if let Some(seconds) =
            last_analyzed.and_then(|at| seconds_between(at, &snapshot.captured_at))
        {
            finding.evidence.push(Evidence::new(
                "seconds_since_analyze",
                seconds as f64,
                "seconds",
            ));
        }
        findings.push(finding);
    }
    findings
}

/// Where autovacuum is off for `table`, if it is: `on it` (its storage
/// option `autovacuum_enabled`) or `on the server` (the `autovacuum` setting).
pub(super) fn autovacuum_off(context: &Context, table: &Table) -> Option<&'static str> {
    let disabled_on_table = table.options.iter().any(|option| {
        option
            .split_once('=')
            .is_some_and(|(name, value)| name.trim() == "autovacuum_enabled" && is_false(value))
    });
    let disabled_on_server = context
        .snapshot
        .catalog
        .setting("autovacuum")
        .is_some_and(|setting| is_false(&setting.value));
    if disabled_on_table {
        Some("on it")
    } else if disabled_on_server {
        Some("on the server")
    } else {
        None
    }
}

/// PostgreSQL's spellings of a false boolean (storage options keep the text as written).
fn is_false(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "false" | "off" | "no" | "0" | "f" | "n"
    )
}

/// The later of two optional timestamps.
pub(super) fn latest<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Option<&'a str> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if epoch_seconds(b) > epoch_seconds(a) {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    /// 200,000 rows analyzed on 2026-11-20, then `changed` rows modified.
    fn inventory(changed: u64) -> Scenario {
        Scenario::new()
            .table(
                "inventory",
                200_000,
                &[("product_id", 50_000.0), ("quantity", 200.0)],
            )
            .table_with("inventory", |table| {
                table.activity.n_mod_since_analyze = changed
            })
    }

    #[test]
    fn fires_when_most_of_the_table_changed_since_analyze() {
        let findings = inventory(300_000)
            .table_with("inventory", |table| {
                table.options = vec!["autovacuum_enabled=false".into()]
            })
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.inventory"]);
        assert_eq!(finding.evidence("changed_fraction"), Some(1.5));
        assert_eq!(finding.evidence("seconds_since_analyze"), Some(129_600.0));
        assert!(matches!(&finding.fix, Fix::Analyze { table, .. } if table == "inventory"));
        assert!(
            finding.title.contains("autovacuum is disabled on it"),
            "{}",
            finding.title
        );
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn a_small_share_or_few_rows_is_fresh_enough() {
        assert!(inventory(30_000).check(&RULE).is_empty());
        let tiny = Scenario::new()
            .table("settings", 100, &[("key", -1.0)])
            .table_with("settings", |table| table.activity.n_mod_since_analyze = 500);
        assert!(tiny.check(&RULE).is_empty());
    }

    #[test]
    fn a_table_never_analyzed_says_so() {
        let findings = inventory(200_000)
            .table_with("inventory", |table| {
                table.reltuples = -1.0;
                table.activity.last_analyze = None;
            })
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].evidence("seconds_since_analyze"), None);
        assert_eq!(findings[0].evidence("analyzed_rows"), Some(200_000.0));
        insta::assert_snapshot!(findings[0].title);
    }

    #[test]
    fn autovacuum_off_on_the_server_is_named() {
        let findings = inventory(100_000)
            .with(|snapshot| {
                snapshot.catalog.settings.push(optidb_model::Setting {
                    name: "autovacuum".into(),
                    value: "off".into(),
                    unit: None,
                    source: "configuration file".into(),
                });
            })
            .check(&RULE);
        assert!(
            findings[0].title.contains("disabled on the server"),
            "{}",
            findings[0].title
        );
    }

    #[test]
    fn the_latest_analyze_counts() {
        assert_eq!(
            latest(Some("2026-11-20T00:00:00Z"), Some("2026-11-21T00:00:00Z")),
            Some("2026-11-21T00:00:00Z")
        );
        assert_eq!(
            latest(Some("2026-11-22T00:00:00Z"), Some("2026-11-21T00:00:00Z")),
            Some("2026-11-22T00:00:00Z")
        );
        assert_eq!(
            latest(None, Some("2026-11-21T00:00:00Z")),
            Some("2026-11-21T00:00:00Z")
        );
        assert_eq!(latest(None, None), None);
    }
}
