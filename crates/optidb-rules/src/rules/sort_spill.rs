//! OPT011 sort-spill: a statement whose sorts or hashes do not fit in
//! `work_mem` and spill to temporary files.

use optidb_model::facts::StatementKind;
use optidb_model::plan::PlanNode;
use optidb_model::{Catalog, Evidence, Finding, Fix, Severity, Statement};

use super::{finding, percent, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT011",
    name: "sort-spill",
    default_severity: Severity::Warning,
    summary: "Sorts or hashes that outgrow work_mem and spill to temporary files.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A statement that writes temporary files: a sort, a hash join, a hash
aggregate or a materialization needed more memory than `work_mem` allows,
and PostgreSQL moved the work to disk.

## Why it matters

A sort that spills becomes an external merge sort that writes and reads its
data back, often several times; a hash that spills splits into batches that
each go through disk. Either costs from a few times to an order of magnitude
more than the same work in memory, and the temporary files compete with the
rest of the server for I/O.

## How it is detected

From `pg_stat_statements`: `temp_blks_written` above zero, for a statement
taking at least `min_time_share` of the workload's time (utility statements
such as `CREATE INDEX` are left out: their sorts follow
`maintenance_work_mem`). The evidence gives
the temporary blocks and bytes written per call (the blocks are
`block_size` bytes), the current `work_mem`, and, when the statement's plan
carries `EXPLAIN ANALYZE` data, the nodes that spilled (sorts on disk,
hashes with more than one batch, hash aggregates that wrote to disk).

The suggested `work_mem` is twice the bytes spilled per call (data takes
more room in memory than in a temporary file), rounded up to a power of two
megabytes, above the current setting, and at most 1 GB. A statement that
spills even with `work_mem` at 1 GB gets advice to look at the statement
instead.

Raise it for the statement alone, `SET LOCAL work_mem = '64MB'` in its
transaction, or for the role that runs it (`ALTER ROLE … SET work_mem`), not
server-wide: every sort and hash node of every session may use that much
memory at once.

## Example

```sql
SELECT customer_id, sum(total) FROM orders GROUP BY customer_id ORDER BY 2 DESC;
-- 2,048 temporary blocks (16 MB) written per call with work_mem = 4MB
```

Fix: `SET LOCAL work_mem = '32MB';` before the statement, in its transaction.

## How to silence

Ignore the statement (`ignore_statements = ["<queryid or fingerprint>"]`) in
`optidb.toml`, or disable the rule (`disable = ["OPT011"]`).
"#;

/// PostgreSQL's default block size, when the snapshot does not say.
const DEFAULT_BLOCK_SIZE: u64 = 8192;
/// The most `work_mem` this rule suggests, in kB (1 GB): beyond that one
/// statement's sorts compete with the whole server's memory.
const MAX_WORK_MEM_KB: u64 = 1024 * 1024;

fn check(context: &Context) -> Vec<Finding> {
    let catalog = &context.snapshot.catalog;
    let block_size = setting_number(catalog, "block_size").unwrap_or(DEFAULT_BLOCK_SIZE as f64);
    let work_mem_kb = work_mem_kb(catalog);
    context
        .snapshot
        .statements
        .iter()
        .filter(|statement| statement.temp_blks_written > 0 && statement.calls > 0)
        // CREATE INDEX, CLUSTER, REFRESH MATERIALIZED VIEW… sort with
        // maintenance_work_mem (or their own limits), not work_mem.
        .filter(|statement| {
            context
                .workload
                .of(statement.queryid)
                .is_none_or(|facts| !matches!(facts.facts.kind, StatementKind::Utility(_)))
        })
        .filter(|statement| context.time_share(statement) >= context.thresholds.min_time_share)
        .map(|statement| report(context, statement, block_size, work_mem_kb))
        .collect()
}

fn report(
    context: &Context,
    statement: &Statement,
    block_size: f64,
    work_mem_kb: Option<u64>,
) -> Finding {
    let share = context.time_share(statement);
    let blocks_per_call = statement.temp_blks_written as f64 / statement.calls as f64;
    let bytes_per_call = blocks_per_call * block_size;
    let nodes: Vec<&PlanNode> = context
        .plan(statement.queryid)
        .filter(|plan| plan.is_analyzed())
        .map(|plan| plan.spilling_nodes())
        .unwrap_or_default();

    let tables: Vec<String> = context
        .workload
        .of(statement.queryid)
        .map(|facts| {
            facts
                .facts
                .tables()
                .map(|relation| match context.table_of(relation) {
                    Some(table) => table.qualified_name(),
                    None => relation.qualified_name(),
                })
                .fold(Vec::new(), |mut names, name| {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                    names
                })
        })
        .unwrap_or_default();
    let subject = if tables.is_empty() {
        "statement".to_string()
    } else {
        tables
            .iter()
            .map(|t| t.rsplit('.').next().unwrap_or(t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let current = match work_mem_kb {
        Some(kb) => format!("work_mem is {}", size(kb as f64 * 1024.0)),
        None => "work_mem unknown".to_string(),
    };
    let spilled_by = if nodes.is_empty() {
        "sorts or hashes spill".to_string()
    } else {
        let described: Vec<String> = nodes.iter().map(|node| describe(node)).collect();
        format!(
            "{} spill{}",
            described.join(", "),
            if nodes.len() == 1 { "s" } else { "" }
        )
    };
    let title = format!(
        "{subject}: {spilled_by} {} per call to temporary files ({current}; {} calls, {} of all time)",
        size(bytes_per_call),
        thousands(statement.calls as f64),
        percent(share),
    );
    let fix = match suggested_work_mem_kb(bytes_per_call, work_mem_kb) {
        Some(kilobytes) => Fix::WorkMem { kilobytes },
        None => Fix::Investigate {
            advice: format!(
                "The statement spills {} per call although work_mem is already {}: more memory is not the \
                 answer. Sort fewer rows (filter earlier, aggregate before joining), or let an index deliver \
                 the order an ORDER BY or a merge join needs.",
                size(bytes_per_call),
                work_mem_kb.map_or_else(|| "large".to_string(), |kb| size(kb as f64 * 1024.0)),
            ),
        },
    };
    let mut finding = finding(&RULE, Severity::Warning, title, fix);
    finding.statements = vec![statement.queryid];
    finding.tables = tables;
    finding.evidence = vec![
        Evidence::new("temp_blks_written_per_call", blocks_per_call, "blocks"),
        Evidence::new("temp_bytes_written_per_call", bytes_per_call, "bytes"),
        Evidence::new("calls", statement.calls as f64, "calls"),
        Evidence::new("mean_exec_time_ms", statement.mean_exec_time_ms, "ms"),
        Evidence::new("time_share", share, "ratio"),
    ];
    if let Some(kb) = work_mem_kb {
        finding
            .evidence
            .push(Evidence::new("work_mem_bytes", kb as f64 * 1024.0, "bytes"));
    }
    if !nodes.is_empty() {
        finding.evidence.push(Evidence::new(
            "spilling_plan_nodes",
            nodes.len() as f64,
            "count",
        ));
    }
    finding
}

/// `Sort (external merge, 12,345 kB on disk)`, `Hash (8 batches)`.
fn describe(node: &PlanNode) -> String {
    let detail = if node.sort_spilled() {
        let method = node.sort_method.as_deref().unwrap_or("on disk");
        match node.sort_space_used_kb {
            Some(kb) => format!("{method}, {} on disk", size(kb as f64 * 1024.0)),
            None => method.to_string(),
        }
    } else if let Some(batches) = node.hash_batches.filter(|b| *b > 1) {
        format!("{batches} batches")
    } else if let Some(kb) = node.disk_usage_kb.filter(|kb| *kb > 0) {
        format!("{} on disk", size(kb as f64 * 1024.0))
    } else if let Some(batches) = node.hashagg_batches {
        format!("{batches} batches")
    } else {
        "on disk".to_string()
    };
    format!("{} ({detail})", node.node_type)
}

/// Twice the spill, in a power of two of megabytes, above the current
/// setting, at most 1 GB; `None` when even that is not above the current one.
fn suggested_work_mem_kb(bytes_per_call: f64, current_kb: Option<u64>) -> Option<u64> {
    let needed_mb = (bytes_per_call * 2.0 / (1024.0 * 1024.0)).ceil().max(1.0) as u64;
    let mut kilobytes = needed_mb.next_power_of_two() * 1024;
    if let Some(current) = current_kb
        && kilobytes <= current
    {
        // The spill happened at the current setting: suggesting it again
        // (or less) would change nothing.
        kilobytes = (current / 1024 + 1).next_power_of_two() * 1024;
    }
    let kilobytes = kilobytes.min(MAX_WORK_MEM_KB);
    match current_kb {
        Some(current) if kilobytes <= current => None,
        _ => Some(kilobytes),
    }
}

/// `work_mem` in kB, from its value and unit as pg_settings shows them.
fn work_mem_kb(catalog: &Catalog) -> Option<u64> {
    let setting = catalog.setting("work_mem")?;
    let value: f64 = setting.value.trim().parse().ok()?;
    let unit_kb = match setting.unit.as_deref().map(str::trim) {
        None | Some("kB") | Some("") => 1.0,
        Some("8kB") => 8.0,
        Some("MB") => 1024.0,
        Some("GB") => 1024.0 * 1024.0,
        Some(_) => return None,
    };
    Some((value * unit_kb) as u64)
}

fn setting_number(catalog: &Catalog, name: &str) -> Option<f64> {
    catalog.setting(name)?.value.trim().parse().ok()
}

/// `512 kB`, `12.5 MB`, `1.2 GB`.
fn size(bytes: f64) -> String {
    const KB: f64 = 1024.0;
    if bytes < KB * KB {
        format!("{} kB", thousands(bytes / KB))
    } else if bytes < KB * KB * KB {
        format!("{} MB", one_decimal(bytes / (KB * KB)))
    } else {
        format!("{} GB", one_decimal(bytes / (KB * KB * KB)))
    }
}

/// `4`, `15.6`.
fn one_decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use optidb_model::Setting;

    use super::*;
    use crate::testing::Scenario;

    const REPORT: &str =
        "SELECT user_id, sum(total)\nFROM orders\nGROUP BY user_id\nORDER BY 2 DESC";

    fn shop() -> Scenario {
        Scenario::new()
            .table(
                "orders",
                1_000_000,
                &[("id", -1.0), ("user_id", 100_000.0), ("total", -0.5)],
            )
            .with(|snapshot| {
                snapshot.catalog.settings = vec![
                    Setting {
                        name: "work_mem".into(),
                        value: "4096".into(),
                        unit: Some("kB".into()),
                        source: "default".into(),
                    },
                    Setting {
                        name: "block_size".into(),
                        value: "8192".into(),
                        unit: None,
                        source: "default".into(),
                    },
                ]
            })
    }

    fn spilling(queryid: i64, calls: u64, temp_blocks: u64, total_ms: f64) -> Statement {
        Statement {
            queryid,
            query: REPORT.into(),
            toplevel: true,
            calls,
            rows: calls * 100,
            total_exec_time_ms: total_ms,
            mean_exec_time_ms: total_ms / calls as f64,
            temp_blks_read: temp_blocks,
            temp_blks_written: temp_blocks,
            ..Statement::default()
        }
    }

    #[test]
    fn fires_on_a_statement_writing_temporary_blocks() {
        // 2,000 blocks × 8 kB = 15.6 MB per call: 31.25 MB needed, 32 MB suggested.
        let findings = shop()
            .statement_with(spilling(1, 10, 20_000, 4_000.0))
            .check(&RULE);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(
            finding.fix,
            Fix::WorkMem {
                kilobytes: 32 * 1024
            }
        );
        assert_eq!(finding.tables, ["public.orders"]);
        assert_eq!(
            finding.evidence("temp_bytes_written_per_call"),
            Some(2_000.0 * 8192.0)
        );
        assert_eq!(finding.evidence("work_mem_bytes"), Some(4096.0 * 1024.0));
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn an_analyzed_plan_names_the_spilling_nodes() {
        let plan = r#"[{"Plan": {"Node Type": "Sort", "Startup Cost": 1, "Total Cost": 2, "Plan Rows": 100,
            "Plan Width": 8, "Actual Rows": 100, "Actual Loops": 1, "Sort Method": "external merge",
            "Sort Space Used": 16000, "Sort Space Type": "Disk", "Plans": [
            {"Node Type": "HashAggregate", "Parent Relationship": "Outer", "Startup Cost": 1, "Total Cost": 2,
             "Plan Rows": 100, "Plan Width": 8, "Actual Rows": 100, "Actual Loops": 1,
             "HashAgg Batches": 1, "Disk Usage": 0}]}}]"#;
        let findings = shop()
            .statement_with(spilling(1, 10, 20_000, 4_000.0))
            .plan(1, plan)
            .check(&RULE);
        assert_eq!(findings[0].evidence("spilling_plan_nodes"), Some(1.0));
        assert!(
            findings[0].title.starts_with(
                "orders: Sort (external merge, 15.6 MB on disk) spills 15.6 MB per call"
            ),
            "{}",
            findings[0].title
        );
    }

    #[test]
    fn no_spill_or_a_small_share_is_not_reported() {
        let none = shop().statement_with(spilling(1, 10, 0, 4_000.0));
        assert!(none.check(&RULE).is_empty());
        let small = shop()
            .statement_with(spilling(1, 10, 20_000, 1.0))
            .other_time(10_000.0);
        assert!(small.check(&RULE).is_empty());
        let create_index = shop().statement_with(Statement {
            query: "CREATE INDEX orders_total_idx ON orders (total)".into(),
            ..spilling(1, 1, 20_000, 4_000.0)
        });
        assert!(create_index.check(&RULE).is_empty());
    }

    #[test]
    fn the_suggestion_is_a_power_of_two_above_the_current_setting_and_capped() {
        const MB: f64 = 1024.0 * 1024.0;
        assert_eq!(
            suggested_work_mem_kb(100.0 * 1024.0, Some(4096)),
            Some(8 * 1024)
        );
        assert_eq!(suggested_work_mem_kb(3.0 * MB, Some(4096)), Some(8 * 1024));
        assert_eq!(suggested_work_mem_kb(3.0 * MB, None), Some(8 * 1024));
        assert_eq!(
            suggested_work_mem_kb(5.0 * 1024.0 * MB, Some(4096)),
            Some(1024 * 1024)
        );
        assert_eq!(
            suggested_work_mem_kb(5.0 * 1024.0 * MB, Some(1024 * 1024)),
            None
        );
    }

    #[test]
    fn spilling_even_at_the_cap_asks_to_look_at_the_statement() {
        let findings = shop()
            .with(|snapshot| snapshot.catalog.settings[0].value = "1048576".into())
            .statement_with(spilling(1, 10, 20_000, 4_000.0))
            .check(&RULE);
        assert!(
            matches!(findings[0].fix, Fix::Investigate { .. }),
            "{:?}",
            findings[0].fix
        );
    }
}
