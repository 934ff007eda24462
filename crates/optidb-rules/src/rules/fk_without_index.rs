//! OPT003 fk-without-index: a foreign key whose referencing columns lead no index.

use optidb_model::facts::ColumnExpr;
use optidb_model::{Evidence, Finding, Fix, IndexKeySpec, IndexSpec, Severity};

use super::{finding, thousands};
use crate::{Context, Rule};

pub(crate) const RULE: Rule = Rule {
    code: "OPT003",
    name: "fk-without-index",
    default_severity: Severity::Warning,
    summary: "A foreign key's referencing columns lead no index.",
    doc: DOC,
    check,
};

const DOC: &str = r#"
## What

A foreign key `child(parent_id) REFERENCES parent(id)` where no index on
`child` starts with `parent_id`.

## Why it matters

Every `DELETE` from `parent`, and every update of its key, must find the
referencing rows in `child`: without an index that is a sequential scan of
`child`, holding a lock on the parent row meanwhile. Joins from `parent` to
`child` on the key pay the same price. PostgreSQL indexes the referenced
side (a primary key) but never the referencing side.

## How it is detected

For each foreign key, optidb looks for a valid, non-partial btree index whose
first keys are exactly the foreign key's columns, in any order. The finding
is a warning when the referencing table is large (`large_table_rows`) or the
referenced table sees updates or deletes; otherwise it is informational.

## Example

```sql
CREATE TABLE order_items (
  id bigint PRIMARY KEY,
  product_id bigint REFERENCES products (id)   -- no index leads with product_id
);
-- DELETE FROM products WHERE id = 42 scans all of order_items.
```

Fix: `CREATE INDEX CONCURRENTLY ON order_items (product_id);`

## How to silence

Disable the rule (`disable = ["OPT003"]` in `optidb.toml`), or ignore the
table (`ignore_tables = ["public.order_items"]`) when the parent is never
deleted from and never joined on.
"#;

fn check(context: &Context) -> Vec<Finding> {
    let thresholds = context.thresholds;
    let mut findings = Vec::new();
    for fk in &context.snapshot.catalog.foreign_keys {
        let Some(table) = context.table(Some(&fk.schema), &fk.table) else {
            continue;
        };
        let keys: Vec<ColumnExpr> = fk.columns.iter().map(ColumnExpr::bare).collect();
        if context.index_leading_with(table, &keys).is_some() {
            continue;
        }
        let referenced_writes = context
            .table(Some(&fk.referenced_schema), &fk.referenced_table)
            .map(|parent| parent.activity.n_tup_upd + parent.activity.n_tup_del)
            .unwrap_or(0);
        let rows = table.rows();
        let severity = if rows >= thresholds.large_table_rows || referenced_writes > 0 {
            Severity::Warning
        } else {
            Severity::Info
        };
        let columns = fk.columns.join(", ");
        let mut finding = finding(
            &RULE,
            severity,
            format!(
                "{}({columns}) references {} but no index leads with it: each delete or key update there scans {} rows",
                table.name,
                fk.referenced_table,
                thousands(rows)
            ),
            Fix::CreateIndex(IndexSpec {
                schema: table.schema.clone(),
                table: table.name.clone(),
                method: "btree".into(),
                keys: fk.columns.iter().map(|c| IndexKeySpec::column(c)).collect(),
                include: Vec::new(),
                predicate: None,
            }),
        );
        finding.tables = vec![
            table.qualified_name(),
            format!("{}.{}", fk.referenced_schema, fk.referenced_table),
        ];
        finding.evidence = vec![
            Evidence::new("referencing_rows", rows, "rows"),
            Evidence::new(
                "referenced_updates_and_deletes",
                referenced_writes as f64,
                "count",
            ),
        ];
        findings.push(finding);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    fn shop() -> Scenario {
        Scenario::new()
            .table("products", 1_000, &[("id", -1.0)])
            .table(
                "order_items",
                200_000,
                &[("id", -1.0), ("product_id", 1_000.0)],
            )
            .foreign_key("order_items", &["product_id"], "products")
    }

    #[test]
    fn fires_when_no_index_leads_with_the_columns() {
        let findings = shop()
            .index("order_items", "order_items_pkey", &["id"], 10)
            .check(&RULE);
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.tables, ["public.order_items", "public.products"]);
        assert_eq!(finding.evidence("referencing_rows"), Some(200_000.0));
        let Fix::CreateIndex(spec) = &finding.fix else {
            panic!("{:?}", finding.fix)
        };
        assert_eq!(spec.key_list(), ["product_id"]);
        insta::assert_snapshot!(finding.title);
    }

    #[test]
    fn an_index_leading_with_the_columns_satisfies_it() {
        let covered = shop().index("order_items", "oi_product_qty", &["product_id", "id"], 0);
        assert!(covered.check(&RULE).is_empty());
    }

    #[test]
    fn an_index_with_the_column_second_does_not() {
        let second = shop().index("order_items", "oi_id_product", &["id", "product_id"], 0);
        assert_eq!(second.check(&RULE).len(), 1);
    }

    #[test]
    fn a_small_untouched_child_is_only_informational() {
        let small = Scenario::new()
            .table("products", 1_000, &[("id", -1.0)])
            .table("tags", 50, &[("product_id", 10.0)])
            .foreign_key("tags", &["product_id"], "products");
        assert_eq!(small.check(&RULE)[0].severity, Severity::Info);
    }
}
