//! OPT013 table-bloat: a table holding many dead rows that no vacuum has
//! reclaimed yet.

use optidb_model::time::seconds_between;
use optidb_model::{Evidence, Finding, Fix, Severity, TableKind};

use super::stale_statistics::{autovacuum_off, latest};
use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT013",
    name: "table-bloat",
    default_severity: Severity::Warning,
    summary: "A table holds many dead rows no vacuum has reclaimed: scans read them for nothing.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A table where many rows are dead (`n_dead_tup` in `pg_stat_user_tables`):
old versions left by `UPDATE` and `DELETE` that no `VACUUM` has reclaimed.

## Why it matters

Dead rows stay in the table's pages until a vacuum removes them: every
sequential scan reads them, index scans visit them, the table and its
indexes grow, and fewer live rows fit in the cache. Autovacuum normally
cleans a table once about 20% of it is dead
(`autovacuum_vacuum_scale_factor`); dead rows pile up when it is disabled
on the table, throttled too hard to keep up, or blocked by a long-running
transaction (or a forgotten replication slot or prepared transaction) that
still needs the old rows.

## How it is detected

A table is reported when it holds at least `bloat_min_dead_rows` dead rows
and they are at least `bloat_dead_fraction` of its rows (dead / (live +
dead)). The finding gives the dead rows, their share, the table's size and
when it was last vacuumed (manually or by autovacuum), and says when
autovacuum is disabled on the table or the server.

## Example

```sql
ALTER TABLE inventory SET (autovacuum_enabled = false);
UPDATE inventory SET quantity = 0;            -- every row now has a dead version
DELETE FROM inventory WHERE warehouse_id = 4;
```

Fix: `VACUUM (ANALYZE) inventory;` and re-enable autovacuum on it. If
vacuum does not lower the count, look for old transactions
(`pg_stat_activity.xact_start`), replication slots and prepared
transactions holding it back. A plain `VACUUM` makes the space reusable but
rarely shrinks the file; `VACUUM FULL` or `pg_repack` do, with locks.

## How to silence

Disable the rule (`disable = ["OPT013"]` in `optidb.toml`), ignore the
table (`ignore_tables = ["public.inventory"]`), or raise
`bloat_dead_fraction` / `bloat_min_dead_rows` under `[rules.thresholds]`.
"#;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let snapshot = context.snapshot;
    let mut findings = Vec::new();
    for table in &snapshot.catalog.tables {
        if table.kind == TableKind::Partitioned {
            continue;
        }
        let activity = &table.activity;
        let dead = activity.dead_tuples;
        let all_rows = activity.live_tuples + dead;
        if dead < thresholds.bloat_min_dead_rows || all_rows == 0 {
            continue;
        }
        let dead_fraction = dead as f64 / all_rows as f64;
        if dead_fraction < thresholds.bloat_dead_fraction {
            continue;
        }
        let last_vacuum = latest(
            activity.last_vacuum.as_deref(),
            activity.last_autovacuum.as_deref(),
        );
        let when = match last_vacuum {
            Some(at) => format!("last vacuumed {at}"),
            None => "never vacuumed".to_string(),
        };
        let why = match autovacuum_off(context, table) {
            Some(where_off) => format!("; autovacuum is disabled {where_off}"),
            None => String::new(),
        };
        let mut finding = finding(
            &RULE,
            Severity::Warning,
            format!(
                "{} holds {} dead rows, {} of its rows, {when}{why}",
                table.name,
                thousands(dead as f64),
                percent(dead_fraction)
            ),
            Fix::Vacuum {
                schema: table.schema.clone(),
                table: table.name.clone(),
            },
        );
        finding.tables = vec![table.qualified_name()];
        finding.evidence = vec![
            Evidence::new("dead_rows", dead as f64, "rows"),
            Evidence::new("dead_fraction", dead_fraction, "ratio"),
            Evidence::new("live_rows", activity.live_tuples as f64, "rows"),
            Evidence::new("table_bytes", table.table_bytes as f64, "bytes"),
        ];
        if let Some(seconds) = last_vacuum.and_then(|at| seconds_between(at, &snapshot.captured_at))
        {
            finding.evidence.push(Evidence::new(
                "seconds_since_vacuum",
                seconds as f64,
                "seconds",
            ));
        }
        findings.push(finding);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    fn inventory(live: u64, dead: u64) -> Scenario {
        Scenario::new()
            .table("inventory", live, &[("product_id", 50_000.0)])
            .table_with("inventory", |table| table.activity.dead_tuples = dead)
    }

    #[test]
    fn fires_on_many_dead_rows() {
        let findings = inventory(50_000, 62_500)
            .table_with("inventory", |table| {
                table.options = vec!["autovacuum_enabled=false".into()];
                table.activity.last_autovacuum = Some("2026-11-01T06:00:00Z".into());
            })
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.inventory"]);
        assert_eq!(finding.evidence("dead_rows"), Some(62_500.0));
        assert_eq!(finding.evidence("dead_fraction"), Some(0.5555555555555556));
        assert_eq!(
            finding.evidence("seconds_since_vacuum"),
            Some(20.0 * 86_400.0 + 6.0 * 3_600.0)
        );
        assert!(matches!(&finding.fix, Fix::Vacuum { table, .. } if table == "inventory"));
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn few_dead_rows_or_a_small_share_are_normal() {
        assert!(inventory(10_000, 5_000).check(&RULE).is_empty());
        assert!(inventory(1_000_000, 100_000).check(&RULE).is_empty());
        assert!(inventory(0, 0).check(&RULE).is_empty());
    }

    #[test]
    fn a_never_vacuumed_table_says_so() {
        let findings = inventory(10_000, 40_000).check(&RULE);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].title.ends_with("never vacuumed"),
            "{}",
            findings[0].title
        );
        assert_eq!(findings[0].evidence("seconds_since_vacuum"), None);
    }
}
