//! OPT004 duplicate-index: two or more valid indexes of one table that are
//! the same index under different names.

use optidb_model::{Evidence, Finding, Fix, Index, Severity};

use super::index_shapes::{
    DuplicateGroup, IndexShapes, drop_index_finding, keys_text, qualified, size_text, table_writes,
};
use super::{finding, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT004",
    name: "duplicate-index",
    default_severity: Severity::Warning,
    summary: "Two indexes of a table are identical: one of them only costs writes and space.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

Two (or more) valid indexes on the same table with the same access method,
the same keys (column or expression, operator class, collation, order,
NULLS placement), the same `INCLUDE` columns and the same predicate:
the same index under two names.

## Why it matters

The planner can use only one of them for a given scan, but every `INSERT`,
every non-HOT `UPDATE` and every `DELETE` maintains all of them, VACUUM
scans all of them, and each takes its share of disk, WAL, backups and
shared buffers. Duplicates usually come from a migration run twice, an ORM
creating its own copy of a hand-made index, or a `CREATE INDEX
CONCURRENTLY` retried under a new name.

## How it is detected

optidb groups the valid indexes of each table by shape, comparing the
structured keys from the catalog and the collation from the index
definition. In each group it keeps one index: the one backing a constraint
(primary key, unique or exclusion), else a unique one, else the most
scanned (`idx_scan`), else the first by name. Every other index of the group
that backs no constraint (and enforces no uniqueness the kept one does not)
gets a warning asking to drop it. When the others back constraints too,
`DROP INDEX` is refused: the finding is informational and asks to look at
the constraints instead.

## Example

```sql
CREATE INDEX orders_created_at_idx  ON orders (created_at);
CREATE INDEX orders_created_at_idx1 ON orders (created_at);  -- the same index again
```

Fix: `DROP INDEX CONCURRENTLY orders_created_at_idx;` (the one the planner
used less), keeping `orders_created_at_idx1`.

## How to silence

Disable the rule (`disable = ["OPT004"]` in `optidb.toml`), or ignore the
table (`ignore_tables = ["public.orders"]`).
"#;

fn check(context: &Context) -> Vec<Finding> {
    let catalog = &context.snapshot.catalog;
    let mut findings = Vec::new();
    for group in &IndexShapes::of(catalog).duplicates {
        let size = group.drop.len() + group.constrained.len() + 1;
        for index in &group.drop {
            findings.push(drop_finding(context, group.keep, index, size));
        }
        if !group.constrained.is_empty() {
            findings.push(constrained_finding(context, group));
        }
    }
    findings
}

/// A warning asking to drop `index`, identical to `keep`, one of `size`
/// identical indexes.
fn drop_finding(context: &Context, keep: &Index, index: &Index, size: usize) -> Finding {
    let writes = table_writes(&context.snapshot.catalog, index);
    let others = if size > 2 {
        format!("; one of {size} identical indexes")
    } else {
        String::new()
    };
    drop_index_finding(
        &RULE,
        Severity::Warning,
        format!(
            "{} duplicates {} on {}: drop it, the other serves the same queries ({}, {} scans against {}{others})",
            index.name,
            keep.name,
            keys_text(index),
            size_text(index.bytes as f64),
            thousands(index.idx_scan as f64),
            thousands(keep.idx_scan as f64),
        ),
        index,
        Some((keep, "kept_index_scans")),
        writes,
    )
}

/// An informational finding for the members of `group` that each enforce
/// something: no `DROP INDEX` can remove them, a constraint has to go.
fn constrained_finding(context: &Context, group: &DuplicateGroup) -> Finding {
    let members: Vec<&Index> = std::iter::once(group.keep)
        .chain(group.constrained.iter().copied())
        .collect();
    let names: Vec<&str> = members.iter().map(|index| index.name.as_str()).collect();
    let table = format!("{}.{}", group.keep.schema, group.keep.table);
    let constraints: Vec<String> = members
        .iter()
        .map(|index| match &index.constraint {
            Some(constraint) => format!("{} backs constraint {constraint}", index.name),
            None => format!("{} is a unique index", index.name),
        })
        .collect();
    let advice = format!(
        "These indexes are identical but each enforces something ({}), so DROP INDEX is refused. \
         If the constraints say the same thing, keep one: e.g. ALTER TABLE {table} DROP CONSTRAINT <the redundant one>, \
         after checking that no foreign key depends on its index (a foreign key is tied to the index it was created against).",
        constraints.join("; ")
    );
    let bytes: i64 = group.constrained.iter().map(|index| index.bytes).sum();
    let writes = table_writes(&context.snapshot.catalog, group.keep);
    let mut finding = finding(
        &RULE,
        Severity::Info,
        format!(
            "{} are identical indexes on {}, each enforcing a constraint: every write maintains all of them",
            names.join(" and "),
            keys_text(group.keep)
        ),
        Fix::Investigate { advice },
    );
    finding.tables = vec![table];
    finding.indexes = members.iter().map(|index| qualified(index)).collect();
    finding.evidence = vec![
        Evidence::new("duplicate_index_bytes", bytes as f64, "bytes"),
        Evidence::new("table_writes", writes as f64, "rows"),
    ];
    finding
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    fn orders() -> Scenario {
        Scenario::new()
            .table("orders", 1_000_000, &[("id", -1.0), ("created_at", -0.9)])
            .table_with("orders", |table| {
                table.activity.n_tup_ins = 20_000;
                table.activity.n_tup_upd = 5_000;
            })
            .index("orders", "orders_pkey", &["id"], 10_000)
            .index_with("orders_pkey", |index| {
                index.unique = true;
                index.primary = true;
                index.constraint = Some("orders_pkey".into());
            })
    }

    #[test]
    fn fires_on_two_identical_indexes_and_drops_the_less_used() {
        let findings = orders()
            .index("orders", "orders_created_at_idx", &["created_at"], 0)
            .index("orders", "orders_created_at_idx1", &["created_at"], 60)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.orders"]);
        assert_eq!(
            finding.indexes,
            [
                "public.orders_created_at_idx",
                "public.orders_created_at_idx1"
            ]
        );
        assert_eq!(finding.evidence("table_writes"), Some(25_000.0));
        let Fix::DropIndex {
            name, definition, ..
        } = &finding.fix
        else {
            panic!("{:?}", finding.fix)
        };
        assert_eq!(name, "orders_created_at_idx");
        assert!(
            definition.starts_with("CREATE INDEX orders_created_at_idx ON"),
            "{definition}"
        );
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn equally_used_duplicates_drop_the_later_name() {
        let findings = orders()
            .index("orders", "b_idx", &["created_at"], 3)
            .index("orders", "a_idx", &["created_at"], 3)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].indexes, ["public.b_idx", "public.a_idx"]);
    }

    #[test]
    fn the_index_backing_a_constraint_stays() {
        let findings = orders()
            .index("orders", "orders_id_idx", &["id"], 500)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let Fix::DropIndex { name, .. } = &findings[0].fix else {
            panic!("{:?}", findings[0].fix)
        };
        assert_eq!(name, "orders_id_idx");
    }

    #[test]
    fn three_identical_indexes_give_two_drops() {
        let findings = orders()
            .index("orders", "c1", &["created_at"], 9)
            .index("orders", "c2", &["created_at"], 1)
            .index("orders", "c3", &["created_at"], 0)
            .check(&RULE);
        let dropped: Vec<&str> = findings.iter().map(|f| f.indexes[0].as_str()).collect();
        assert_eq!(dropped, ["public.c2", "public.c3"]);
        assert!(findings.iter().all(|f| f.indexes[1] == "public.c1"));
        assert!(
            findings[0].title.contains("one of 3 identical indexes"),
            "{}",
            findings[0].title
        );
    }

    #[test]
    fn two_constraints_on_the_same_keys_are_only_informational() {
        let findings = orders()
            .index("orders", "orders_id_key", &["id"], 0)
            .index_with("orders_id_key", |index| {
                index.unique = true;
                index.constraint = Some("orders_id_key".into());
            })
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Info);
        assert!(matches!(findings[0].fix, Fix::Investigate { .. }));
        assert_eq!(
            findings[0].indexes,
            ["public.orders_pkey", "public.orders_id_key"]
        );
        insta::assert_snapshot!(findings[0].title);
    }

    #[test]
    fn differences_in_shape_are_not_duplicates() {
        let scenario = orders()
            .index("orders", "plain", &["created_at"], 1)
            .index("orders", "descending", &["created_at"], 1)
            .index_with("descending", |index| index.keys[0].descending = true)
            .index("orders", "partial", &["created_at"], 1)
            .index_with("partial", |index| {
                index.predicate = Some("(id > 10)".into())
            })
            .index("orders", "covering", &["created_at"], 1)
            .index_with("covering", |index| index.include = vec!["id".into()])
            .index("orders", "hash", &["created_at"], 1)
            .index_with("hash", |index| index.method = "hash".into())
            .index("orders", "broken", &["created_at"], 0)
            .index_with("broken", |index| index.valid = false);
        assert!(scenario.check(&RULE).is_empty());
    }

    #[test]
    fn the_same_keys_on_two_tables_are_not_duplicates() {
        let scenario = orders()
            .table("archived_orders", 10_000, &[("created_at", -1.0)])
            .index("orders", "orders_created_at_idx", &["created_at"], 1)
            .index(
                "archived_orders",
                "archived_orders_created_at_idx",
                &["created_at"],
                1,
            );
        assert!(scenario.check(&RULE).is_empty());
    }
}
