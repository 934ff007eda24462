//! Column uses the statement text left unattributed, attributed with the
//! catalog: pure, deterministic.
//!
//! The facts come from the text alone, so an unqualified column in a block
//! with several tables (`FROM customer, orders WHERE c_custkey = o_custkey
//! AND o_orderdate < $1`, the way TPC-H and much hand-written SQL join) is
//! [`QueryFacts::unresolved`], and its join pair has no relation on either
//! side. The catalog knows which tables have such a column: PostgreSQL
//! would have refused the statement had two relations of one block had it,
//! so the column belongs to one of the statement's relations that has it.
//! When several do (in different blocks, which the unresolved facts no
//! longer tell apart) it is attributed to each of them: a candidate more
//! costs a few EXPLAINs, a candidate missed costs the index.

use optidb_model::facts::{ColumnExpr, ColumnFacts, Equality, Operand, QueryFacts, RelationFacts};
use optidb_model::{Snapshot, Table};

use super::candidates::resolve;

/// The statement's relations with its unresolved column uses (and the
/// unattributed sides of its join pairs, as equalities with a column)
/// added to the relations whose table has the column. Relations that are
/// not catalog tables are returned as they are.
pub(crate) fn attributed_relations(snapshot: &Snapshot, facts: &QueryFacts) -> Vec<RelationFacts> {
    let mut relations = facts.relations.clone();
    let tables: Vec<Option<&Table>> = facts
        .relations
        .iter()
        .map(|relation| resolve(snapshot, relation))
        .collect();
    // The relations whose table has `column`; a table whose columns the
    // catalog does not list claims none (that would be a guess).
    let owners = |column: &ColumnExpr| -> Vec<usize> {
        tables
            .iter()
            .enumerate()
            .filter(|(_, table)| table.is_some_and(|table| table.column(&column.column).is_some()))
            .map(|(i, _)| i)
            .collect()
    };

    let unresolved = &facts.unresolved;
    for equality in &unresolved.equality {
        for owner in owners(&equality.column) {
            push(&mut relations[owner].columns.equality, equality.clone());
        }
    }
    for side in facts
        .joins
        .iter()
        .flat_map(|pair| [&pair.left, &pair.right])
        .filter(|side| side.relation.is_none())
    {
        for owner in owners(&side.column) {
            let equality = Equality {
                column: side.column.clone(),
                value: Operand::Column,
                param: None,
            };
            push(&mut relations[owner].columns.equality, equality);
        }
    }
    attribute(&unresolved.range, &owners, &mut relations, |c| &mut c.range);
    attribute(&unresolved.in_list, &owners, &mut relations, |c| {
        &mut c.in_list
    });
    attribute(&unresolved.like, &owners, &mut relations, |c| &mut c.like);
    attribute(&unresolved.jsonb, &owners, &mut relations, |c| &mut c.jsonb);
    attribute(&unresolved.null_tests, &owners, &mut relations, |c| {
        &mut c.null_tests
    });
    attribute(&unresolved.other, &owners, &mut relations, |c| &mut c.other);
    attribute(&unresolved.order_by, &owners, &mut relations, |c| {
        &mut c.order_by
    });
    for column in &unresolved.group_by {
        for owner in owners(column) {
            push(&mut relations[owner].columns.group_by, column.clone());
        }
    }
    relations
}

/// A fact about one column.
trait OnColumn {
    fn column(&self) -> &ColumnExpr;
}

macro_rules! on_column {
    ($($fact:ty),*) => {$(
        impl OnColumn for $fact {
            fn column(&self) -> &ColumnExpr {
                &self.column
            }
        }
    )*};
}

on_column!(
    optidb_model::facts::Range,
    optidb_model::facts::InList,
    optidb_model::facts::Like,
    optidb_model::facts::JsonbPredicate,
    optidb_model::facts::NullTest,
    optidb_model::facts::OtherPredicate,
    optidb_model::facts::OrderKey
);

/// Adds each of `facts` to the list `list` picks in every owner's facts.
fn attribute<T: OnColumn + Clone + PartialEq>(
    facts: &[T],
    owners: &impl Fn(&ColumnExpr) -> Vec<usize>,
    relations: &mut [RelationFacts],
    list: impl Fn(&mut ColumnFacts) -> &mut Vec<T>,
) {
    for fact in facts {
        for owner in owners(fact.column()) {
            push(list(&mut relations[owner].columns), fact.clone());
        }
    }
}

fn push<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::facts::{
        JoinPair, Range, RangeOp, RelationColumn, RelationKind, StatementKind,
    };
    use optidb_model::{Catalog, Column};

    use super::*;

    fn table(name: &str, columns: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    ..Column::default()
                })
                .collect(),
            ..Table::default()
        }
    }

    fn relation(id: u32, name: &str) -> RelationFacts {
        RelationFacts {
            id,
            block: 0,
            kind: RelationKind::Table,
            schema: None,
            name: name.into(),
            alias: None,
            target: false,
            updated_columns: Vec::new(),
            columns: ColumnFacts::default(),
        }
    }

    fn unqualified(column: &str) -> RelationColumn {
        RelationColumn {
            relation: None,
            column: ColumnExpr::bare(column),
        }
    }

    /// `FROM customer, orders WHERE c_custkey = o_custkey AND o_orderdate
    /// < $1`: both join columns and the range find their tables; a column
    /// no table of the statement has stays unattributed.
    #[test]
    fn unqualified_columns_go_to_the_tables_that_have_them() {
        let snapshot = Snapshot {
            catalog: Catalog {
                tables: vec![
                    table("customer", &["c_custkey", "c_name"]),
                    table("orders", &["o_orderkey", "o_custkey", "o_orderdate"]),
                ],
                ..Catalog::default()
            },
            ..Snapshot::default()
        };
        let mut facts = QueryFacts::new(StatementKind::Select);
        facts.relations = vec![relation(0, "customer"), relation(1, "orders")];
        facts.joins = vec![JoinPair {
            left: unqualified("c_custkey"),
            right: unqualified("o_custkey"),
            operator: "=".into(),
        }];
        let range = Range {
            column: ColumnExpr::bare("o_orderdate"),
            op: RangeOp::Lt,
            value: Operand::Param,
            param: Some(1),
            upper_param: None,
        };
        facts.unresolved.range = vec![range.clone()];
        facts.unresolved.group_by = vec![ColumnExpr::bare("nowhere")];

        let relations = attributed_relations(&snapshot, &facts);
        let join = |column: &str| Equality {
            column: ColumnExpr::bare(column),
            value: Operand::Column,
            param: None,
        };
        assert_eq!(relations[0].columns.equality, [join("c_custkey")]);
        assert_eq!(relations[1].columns.equality, [join("o_custkey")]);
        assert_eq!(relations[1].columns.range, [range]);
        assert!(relations[0].columns.range.is_empty());
        assert!(relations.iter().all(|r| r.columns.group_by.is_empty()));
    }
}
