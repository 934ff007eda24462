//! OPT005 redundant-index: an index whose keys are a strict prefix of
//! another index's keys on the same table.

use optidb_model::{Finding, Severity};

use super::index_shapes::{IndexShapes, drop_index_finding, keys_text, size_text, table_writes};
use super::thousands;
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT005",
    name: "redundant-index",
    default_severity: Severity::Warning,
    summary: "An index's keys are a prefix of another index's keys: the longer one serves its queries.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A B-tree index `A (a)` next to another B-tree index `B (a, b)` of the same
table: `A`'s keys are a strict prefix of `B`'s, so `B` can serve every
query `A` serves (equality and ranges on `a`, ordering by `a`).

## Why it matters

Like any index, `A` is maintained by every insert, non-HOT update and
delete, scanned by every VACUUM, and takes disk, WAL and cache. Once `B`
exists it buys little: `B` is somewhat larger, so scans through it read a
few more pages, but rarely enough to matter against the cost of keeping
both.

## How it is detected

For each valid B-tree index `A` that enforces nothing (not unique, not a
primary key, backing no constraint: a unique index on `(a)` enforces
something `(a, b)` does not), optidb looks for another valid B-tree index
`B` on the same table with the same predicate (or none on both) whose
first keys are exactly `A`'s keys (same column or expression, operator
class, collation, order and NULLS placement) followed by at least one more,
and whose keys or `INCLUDE` columns hold all of `A`'s `INCLUDE` columns.
Exact duplicates are left to OPT004. When several indexes cover `A`, the
finding names one that stays itself.

## Example

```sql
CREATE INDEX order_items_order_id_idx            ON order_items (order_id);
CREATE INDEX order_items_order_id_product_id_idx ON order_items (order_id, product_id);
```

Fix: `DROP INDEX CONCURRENTLY order_items_order_id_idx;` The foreign key
on `order_id` stays covered by the composite index.

## How to silence

Disable the rule (`disable = ["OPT005"]` in `optidb.toml`), or ignore the
table (`ignore_tables = ["public.order_items"]`), e.g. when a hot query
needs the smallest possible index.
"#;

fn check(context: &Context) -> Vec<Finding> {
    let catalog = &context.snapshot.catalog;
    IndexShapes::of(catalog)
        .redundant
        .iter()
        .map(|redundant| {
            let (index, covering) = (redundant.index, redundant.covered_by);
            let writes = table_writes(catalog, index);
            drop_index_finding(
                &RULE,
                Severity::Warning,
                format!(
                    "{} on {} is a prefix of {} on {}, which serves the same queries: drop it ({}, {} scans)",
                    index.name,
                    keys_text(index),
                    covering.name,
                    keys_text(covering),
                    size_text(index.bytes as f64),
                    thousands(index.idx_scan as f64),
                ),
                index,
                Some((covering, "covering_index_scans")),
                writes,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use optidb_model::Fix;

    use super::*;
    use crate::testing::Scenario;

    fn order_items() -> Scenario {
        Scenario::new()
            .table(
                "order_items",
                2_000_000,
                &[
                    ("id", -1.0),
                    ("order_id", -0.5),
                    ("product_id", 50_000.0),
                    ("quantity", 3.0),
                ],
            )
            .table_with("order_items", |table| table.activity.n_tup_ins = 40_000)
            .index("order_items", "order_items_pkey", &["id"], 0)
            .index_with("order_items_pkey", |index| {
                index.unique = true;
                index.primary = true;
                index.constraint = Some("order_items_pkey".into());
            })
    }

    #[test]
    fn fires_on_a_prefix_of_another_index() {
        let findings = order_items()
            .index(
                "order_items",
                "order_items_order_id_idx",
                &["order_id"],
                200,
            )
            .index(
                "order_items",
                "order_items_order_id_product_id_idx",
                &["order_id", "product_id"],
                100,
            )
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.order_items"]);
        assert_eq!(
            finding.indexes,
            [
                "public.order_items_order_id_idx",
                "public.order_items_order_id_product_id_idx"
            ]
        );
        assert_eq!(finding.evidence("table_writes"), Some(40_000.0));
        let Fix::DropIndex { name, .. } = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert_eq!(name, "order_items_order_id_idx");
        insta::assert_json_snapshot!(finding);
    }

    #[test]
    fn a_unique_or_constraint_prefix_stays() {
        let unique = order_items()
            .index("order_items", "oi_order_key", &["order_id"], 0)
            .index_with("oi_order_key", |index| index.unique = true)
            .index(
                "order_items",
                "oi_order_product",
                &["order_id", "product_id"],
                0,
            );
        assert!(unique.check(&RULE).is_empty());
        // The primary key (id) is a prefix of (id, quantity), but enforces it.
        let primary = order_items().index("order_items", "oi_id_quantity", &["id", "quantity"], 0);
        assert!(primary.check(&RULE).is_empty());
    }

    #[test]
    fn other_orders_shapes_and_predicates_are_not_prefixes() {
        let scenario = order_items()
            // The second key of the other index, not its first.
            .index("order_items", "oi_product", &["product_id"], 0)
            .index(
                "order_items",
                "oi_order_product",
                &["order_id", "product_id"],
                0,
            )
            // Descending vs ascending.
            .index("order_items", "oi_quantity_desc", &["quantity"], 0)
            .index_with("oi_quantity_desc", |index| index.keys[0].descending = true)
            .index("order_items", "oi_quantity_id", &["quantity", "id"], 0)
            // A partial index against a full one.
            .index("order_items", "oi_order_open", &["order_id"], 0)
            .index_with("oi_order_open", |index| {
                index.predicate = Some("(quantity > 2)".into())
            })
            // INCLUDE columns the longer index does not hold.
            .index("order_items", "oi_order_incl_quantity", &["order_id"], 0)
            .index_with("oi_order_incl_quantity", |index| {
                index.include = vec!["quantity".into()]
            });
        let findings = scenario.check(&RULE);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn include_columns_held_by_the_longer_index_do_not_prevent_it() {
        let findings = order_items()
            .index("order_items", "oi_order_incl_product", &["order_id"], 0)
            .index_with("oi_order_incl_product", |index| {
                index.include = vec!["product_id".into()]
            })
            .index(
                "order_items",
                "oi_order_product",
                &["order_id", "product_id"],
                0,
            )
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].indexes[0], "public.oi_order_incl_product");
    }

    #[test]
    fn an_exact_duplicate_is_left_to_opt004() {
        let scenario = order_items()
            .index("order_items", "oi_order_a", &["order_id"], 1)
            .index("order_items", "oi_order_b", &["order_id"], 0);
        assert!(scenario.check(&RULE).is_empty());
    }

    #[test]
    fn a_prefix_with_a_duplicate_is_reported_once() {
        // OPT004 drops oi_order_b; only oi_order_a is redundant here.
        let findings = order_items()
            .index("order_items", "oi_order_a", &["order_id"], 1)
            .index("order_items", "oi_order_b", &["order_id"], 0)
            .index(
                "order_items",
                "oi_order_product",
                &["order_id", "product_id"],
                0,
            )
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].indexes[0], "public.oi_order_a");
    }
}
