//! OPT014 low-cache-hit: a statement that touches many shared blocks and
//! finds too few of them in shared buffers.

use optidb_model::{Evidence, Finding, Fix, Setting, Severity, Statement};

use super::index_shapes::size_text;
use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT014",
    name: "low-cache-hit",
    default_severity: Severity::Info,
    summary: "A statement touching many blocks finds too few of them in shared buffers.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A statement that touched at least `low_cache_hit_min_blocks` shared blocks
(`shared_blks_hit + shared_blks_read` in `pg_stat_statements`) and found
less than `low_cache_hit_ratio` of them in shared buffers.

## Why it matters

A block found in shared buffers costs a memory access; a block read costs
a system call, and a disk read when the operating system has not cached it
either. OLTP workloads usually find more than 99% of their blocks in
shared buffers: a low ratio means the statement reads far more data than
fits in memory, because it scans what an index would skip, or because the
working set is larger than `shared_buffers`.

## How it is detected

For every statement, optidb compares its shared-buffer hits with the blocks
it had to read. The finding is informational, or a warning when the
statement takes at least `min_time_share` of the workload's time. Its
advice names the large tables its plan scans sequentially (an index would
read fewer blocks) and cites `shared_buffers` and `effective_cache_size`.
A read may have come from the operating system's cache: with
`track_io_timing = on`, the time spent reading is in the evidence.

## Example

```sql
-- 4 GB of orders, shared_buffers = 128MB:
SELECT count(*) FROM orders WHERE status = $1;   -- a sequential scan per call
```

Fix: an index serving the filter (`CREATE INDEX ON orders (status)` when
selective), or more memory: `shared_buffers` around a quarter of the
machine's RAM, `effective_cache_size` set to what the OS really caches.

## How to silence

Disable the rule (`disable = ["OPT014"]` in `optidb.toml`), ignore the
statement (`ignore_statements = ["<queryid>"]`), or lower
`low_cache_hit_ratio` / raise `low_cache_hit_min_blocks` under
`[rules.thresholds]`.
"#;

/// How much of a statement's text a title shows.
const TITLE_TEXT_CHARS: usize = 60;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let mut findings = Vec::new();
    for statement in &context.snapshot.statements {
        let blocks = statement.shared_blks_hit + statement.shared_blks_read;
        let Some(ratio) = statement.cache_hit_ratio() else {
            continue;
        };
        if blocks < thresholds.low_cache_hit_min_blocks || ratio >= thresholds.low_cache_hit_ratio {
            continue;
        }
        let share = context.time_share(statement);
        let severity = if share >= thresholds.min_time_share {
            Severity::Warning
        } else {
            Severity::Info
        };
        let read = statement.shared_blks_read as f64;
        let mut finding = finding(
            &RULE,
            severity,
            format!(
                "{}: cache hit ratio {} over {} blocks, {} read from outside shared buffers ({})",
                short_text(&statement.query),
                percent(ratio),
                thousands(blocks as f64),
                thousands(read),
                size_text(read * block_size(context)),
            ),
            Fix::Investigate {
                advice: advice(context, statement),
            },
        );
        finding.statements = vec![statement.queryid];
        finding.tables = tables_of(context, statement);
        finding.evidence = vec![
            Evidence::new(
                "shared_blocks_hit",
                statement.shared_blks_hit as f64,
                "blocks",
            ),
            Evidence::new("shared_blocks_read", read, "blocks"),
            Evidence::new("cache_hit_ratio", ratio, "ratio"),
            Evidence::new(
                "blocks_read_per_call",
                read / statement.calls.max(1) as f64,
                "blocks",
            ),
            Evidence::new("time_share", share, "ratio"),
        ];
        if statement.blk_read_time_ms > 0.0 {
            finding.evidence.push(Evidence::new(
                "read_time_ms",
                statement.blk_read_time_ms,
                "ms",
            ));
        }
        findings.push(finding);
    }
    findings
}

/// Where to look: large tables the plan scans sequentially, then memory.
fn advice(context: &Context, statement: &Statement) -> String {
    let mut advice = Vec::new();
    let scanned: Vec<String> = context
        .plan(statement.queryid)
        .map(|plan| {
            plan.nodes()
                .filter(|node| node.is_seq_scan())
                .filter_map(|node| {
                    let table =
                        context.table(node.schema.as_deref(), node.relation_name.as_deref()?)?;
                    (table.rows() >= context.thresholds.large_table_rows).then(|| {
                        match &node.filter {
                            Some(filter) => format!(
                                "{} ({} rows, filter {filter})",
                                table.name,
                                thousands(table.rows())
                            ),
                            None => format!("{} ({} rows)", table.name, thousands(table.rows())),
                        }
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !scanned.is_empty() {
        advice.push(format!(
            "Its plan scans {} sequentially: an index serving the filter would read a fraction of those blocks (see OPT001).",
            scanned.join(", ")
        ));
    }
    let setting = |name: &str| {
        let found = context.snapshot.catalog.setting(name)?;
        Some(match setting_bytes(found) {
            Some(bytes) => format!("{name} = {}", size_text(bytes)),
            None => format!("{name} = {}", found.value),
        })
    };
    let memory: Vec<String> = ["shared_buffers", "effective_cache_size"]
        .into_iter()
        .filter_map(setting)
        .collect();
    let memory = if memory.is_empty() {
        String::new()
    } else {
        format!(" ({})", memory.join(", "))
    };
    advice.push(format!(
        "If it really needs that many blocks, its working set exceeds shared buffers{memory}: \
         consider shared_buffers around a quarter of the machine's RAM and effective_cache_size at what the OS really caches."
    ));
    let io_timing_on = context
        .snapshot
        .catalog
        .setting("track_io_timing")
        .is_some_and(|setting| setting.value == "on");
    if statement.blk_read_time_ms <= 0.0 && !io_timing_on {
        advice.push(
            "Reads may have come from the OS cache; track_io_timing = on would tell how long they took.".to_string(),
        );
    }
    advice.join(" ")
}

/// The catalog tables the statement names, as `schema.name`, in order.
fn tables_of(context: &Context, statement: &Statement) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    let relations = context
        .workload
        .of(statement.queryid)
        .map(|facts| facts.facts.relations.as_slice())
        .unwrap_or_default();
    for relation in relations {
        if let Some(table) = context.table_of(relation) {
            let name = table.qualified_name();
            if !tables.contains(&name) {
                tables.push(name);
            }
        }
    }
    tables
}

/// The block size in bytes: the `block_size` setting, else PostgreSQL's default.
fn block_size(context: &Context) -> f64 {
    context
        .snapshot
        .catalog
        .setting("block_size")
        .and_then(|setting| setting.value.parse::<f64>().ok())
        .unwrap_or(8_192.0)
}

/// A memory setting in bytes: its value times its unit (`16384` × `8kB`).
fn setting_bytes(setting: &Setting) -> Option<f64> {
    let value: f64 = setting.value.parse().ok()?;
    let unit = setting.unit.as_deref()?;
    let digits_end = unit
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unit.len());
    let count: f64 = if digits_end == 0 {
        1.0
    } else {
        unit[..digits_end].parse().ok()?
    };
    let scale = match &unit[digits_end..] {
        "B" => 1.0,
        "kB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(value * count * scale)
}

/// The statement's text on one line, cut to a title's length.
fn short_text(query: &str) -> String {
    let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= TITLE_TEXT_CHARS {
        one_line
    } else {
        let cut: String = one_line.chars().take(TITLE_TEXT_CHARS).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    const SCAN: &str = "SELECT count(*) FROM orders WHERE status = $1";

    fn memory(name: &str, value: &str, unit: &str) -> Setting {
        Setting {
            name: name.into(),
            value: value.into(),
            unit: Some(unit.into()),
            source: "default".into(),
        }
    }

    /// A statement touching `hit + read` blocks, taking `total_ms` of a
    /// 10-second workload.
    fn shop(hit: u64, read: u64, total_ms: f64) -> Scenario {
        Scenario::new()
            .table("orders", 4_000_000, &[("id", -1.0), ("status", 5.0)])
            .statement_with(Statement {
                queryid: 42,
                query: SCAN.into(),
                calls: 100,
                rows: 100,
                total_exec_time_ms: total_ms,
                mean_exec_time_ms: total_ms / 100.0,
                shared_blks_hit: hit,
                shared_blks_read: read,
                ..Statement::default()
            })
            .other_time(10_000.0 - total_ms)
            .seq_scan_plan(42, "orders", "(status = $1)")
            .with(|snapshot| {
                snapshot.catalog.settings = vec![
                    memory("shared_buffers", "16384", "8kB"),
                    memory("effective_cache_size", "524288", "8kB"),
                ];
            })
    }

    #[test]
    fn fires_on_a_statement_reading_most_of_its_blocks() {
        let findings = shop(600_000, 400_000, 3_000.0).check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.statements, [42]);
        assert_eq!(finding.tables, ["public.orders"]);
        assert_eq!(finding.evidence("cache_hit_ratio"), Some(0.6));
        let Fix::Investigate { advice } = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert!(
            advice.contains("scans orders (4,000,000 rows, filter (status = $1))"),
            "{advice}"
        );
        assert!(
            advice.contains("shared_buffers = 128 MiB, effective_cache_size = 4.0 GiB"),
            "{advice}"
        );
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn a_small_share_of_the_time_is_informational() {
        let findings = shop(600_000, 400_000, 10.0).check(&RULE);
        assert_eq!(findings[0].severity, Severity::Info);
    }

    #[test]
    fn a_good_ratio_or_few_blocks_are_fine() {
        assert!(shop(990_000, 10_000, 3_000.0).check(&RULE).is_empty());
        assert!(shop(5_000, 5_000, 3_000.0).check(&RULE).is_empty());
        assert!(shop(0, 0, 3_000.0).check(&RULE).is_empty());
    }

    #[test]
    fn memory_settings_read_in_bytes() {
        assert_eq!(
            setting_bytes(&memory("shared_buffers", "16384", "8kB")),
            Some(134_217_728.0)
        );
        assert_eq!(
            setting_bytes(&memory("work_mem", "4096", "kB")),
            Some(4_194_304.0)
        );
        assert_eq!(
            setting_bytes(&memory("max_wal_size", "1024", "MB")),
            Some(1_073_741_824.0)
        );
        assert_eq!(setting_bytes(&memory("jit", "on", "kB")), None);
    }

    #[test]
    fn long_statements_are_cut_in_titles() {
        assert_eq!(short_text("SELECT 1\n  FROM t"), "SELECT 1 FROM t");
        let long = format!("SELECT {} FROM t", "a, ".repeat(40));
        assert!(short_text(&long).ends_with('…'));
        assert_eq!(short_text(&long).chars().count(), TITLE_TEXT_CHARS + 1);
    }
}
