//! Which statements a candidate can change the plan of: pure.
//!
//! A statement is costed again whenever the indexes relevant to it change,
//! so the fewer candidates count as relevant, the fewer EXPLAINs a search
//! runs (a TPC-H query joins six tables: with every candidate on its
//! tables relevant, each greedy step re-plans it dozens of times). An
//! index on a table can serve a statement through one of its keys (a
//! predicate, a join, a sort, a skip scan over a leading key), or by
//! holding everything the statement reads from the table (an index-only
//! scan, even of a `count(*)`). Neither is possible when the statement's
//! text mentions none of the index's key columns and reads a column the
//! index lacks; everything else is kept relevant, including statements
//! that reach the table through a view or a function (their text does not
//! show what they read).

use optidb_model::{IndexSpec, Table};

use optidb_fingerprint::Mentions;

/// Whether `spec` (on `table`, as the catalog has it) can change the plan
/// of a statement whose text is `mentions`; `named` tells whether the text
/// names the table itself (and not only a view over it).
pub(crate) fn can_change(
    spec: &IndexSpec,
    table: Option<&Table>,
    mentions: &Mentions,
    named: bool,
) -> bool {
    if !named || mentions.natural_join() {
        return true;
    }
    if spec.keys.iter().any(|key| mentions.mentions(&key.column)) {
        return true;
    }
    // No key is mentioned: only an index-only scan can use it.
    let Some(table) = table.filter(|table| !table.columns.is_empty()) else {
        return true;
    };
    !mentions.star
        && table
            .columns
            .iter()
            .filter(|column| mentions.mentions(&column.name))
            .all(|column| {
                spec.keys.iter().any(|key| key.column == column.name)
                    || spec.include.contains(&column.name)
            })
}

#[cfg(test)]
mod tests {
    use optidb_model::{Column, IndexKeySpec};

    use super::*;
    use optidb_fingerprint::mentions;

    fn orders() -> Table {
        Table {
            schema: "public".into(),
            name: "orders".into(),
            columns: ["id", "user_id", "total", "created_at"]
                .iter()
                .map(|name| Column {
                    name: name.to_string(),
                    ..Column::default()
                })
                .collect(),
            ..Table::default()
        }
    }

    fn spec(keys: &[&str], include: &[&str]) -> IndexSpec {
        IndexSpec {
            schema: "public".into(),
            table: "orders".into(),
            method: "btree".into(),
            keys: keys.iter().map(|k| IndexKeySpec::column(k)).collect(),
            include: include.iter().map(|c| c.to_string()).collect(),
            predicate: None,
        }
    }

    #[test]
    fn an_index_serves_statements_that_mention_a_key_or_read_only_what_it_holds() {
        let table = orders();
        let by_user = mentions("SELECT total FROM orders WHERE user_id = $1");
        let count = mentions("SELECT count(*) FROM orders");
        let totals = mentions("SELECT sum(total) FROM orders");
        let all = mentions("SELECT * FROM orders");
        let on_created = spec(&["created_at"], &[]);

        assert!(can_change(
            &spec(&["user_id"], &[]),
            Some(&table),
            &by_user,
            true
        ));
        // A skip scan can use a later key.
        assert!(can_change(
            &spec(&["created_at", "user_id"], &[]),
            Some(&table),
            &by_user,
            true
        ));
        assert!(!can_change(&on_created, Some(&table), &by_user, true));
        // An index-only scan of any index counts the rows.
        assert!(can_change(&on_created, Some(&table), &count, true));
        assert!(!can_change(&on_created, Some(&table), &totals, true));
        assert!(can_change(
            &spec(&["created_at"], &["total"]),
            Some(&table),
            &totals,
            true
        ));
        assert!(!can_change(&on_created, Some(&table), &all, true));
        // Through a view, or without the table's columns, nothing is ruled out.
        assert!(can_change(&on_created, Some(&table), &by_user, false));
        assert!(can_change(&on_created, None, &by_user, true));
    }
}
