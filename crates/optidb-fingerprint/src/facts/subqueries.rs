//! Subqueries (`SubLink`s), derived tables and CTEs: each gets a
//! [`Subquery`] record and its own block; correlation is filled in as
//! column references inside resolve to outer relations (see `scope.rs`).

use optidb_model::facts::{
    Cte, CteMaterialization, InList, InValues, RelationKind, Subquery, SubqueryClause, SubqueryKind,
};
use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, CteMaterialize, Node, SetOperation, SubLinkType};

use super::kind::statement_kind;
use super::scope::CteName;
use super::walk::{Walker, alias_columns, last_name};

impl<'a> Walker<'a> {
    fn open_subquery(&mut self, parent: u32, clause: SubqueryClause, kind: SubqueryKind) -> usize {
        self.facts.subqueries.push(Subquery {
            block: 0, // set when the block opens
            parent,
            clause,
            kind,
            negated: false,
            lateral: false,
            correlated: false,
            correlated_columns: Vec::new(),
        });
        self.facts.subqueries.len() - 1
    }

    /// A subquery used as an expression: `EXISTS (…)`, `IN (…)`, `(SELECT …)`.
    /// `in_condition` says it is a predicate of `WHERE`/`ON` (so `x IN
    /// (SELECT …)` is recorded on `x`).
    pub(super) fn sublink(
        &mut self,
        sublink: &'a pb::SubLink,
        block: u32,
        clause: SubqueryClause,
        negated: bool,
        in_condition: bool,
    ) {
        let kind = match SubLinkType::try_from(sublink.sub_link_type) {
            Ok(SubLinkType::ExistsSublink) => SubqueryKind::Exists,
            Ok(SubLinkType::AnySublink) => {
                let operator = last_name(&sublink.oper_name);
                if operator.is_empty() || operator == "=" {
                    SubqueryKind::In
                } else {
                    SubqueryKind::Any
                }
            }
            Ok(SubLinkType::AllSublink) => SubqueryKind::All,
            Ok(SubLinkType::ArraySublink) => SubqueryKind::Array,
            Ok(SubLinkType::RowcompareSublink | SubLinkType::MultiexprSublink) => SubqueryKind::Row,
            _ => SubqueryKind::Scalar,
        };
        let index = self.open_subquery(block, clause, kind);
        self.facts.subqueries[index].negated = negated;
        if in_condition
            && kind == SubqueryKind::In
            && let Some(side) = sublink
                .testexpr
                .as_deref()
                .and_then(|t| self.column_side(t, block))
        {
            let entry = InList {
                column: side.expr(),
                negated,
                values: InValues::Subquery,
                params: Vec::new(),
            };
            self.column_facts(side.relation).in_list.push(entry);
        }
        self.boxed(sublink.testexpr.as_deref(), block, clause);
        self.statement_node(
            sublink.subselect.as_deref(),
            Some(block),
            false,
            Some(index),
        );
    }

    /// A subquery in `FROM`.
    pub(super) fn derived_table(&mut self, derived: &'a pb::RangeSubselect, block: u32) {
        let index = self.open_subquery(block, SubqueryClause::From, SubqueryKind::Derived);
        self.facts.subqueries[index].lateral = derived.lateral;
        let body = derived.subquery.as_deref();
        self.statement_node(body, Some(block), !derived.lateral, Some(index));
        let columns = alias_columns(derived.alias.as_ref()).or_else(|| body.and_then(output_names));
        let name = derived.alias.as_ref().map_or("", |a| a.aliasname.as_str());
        self.add_relation(
            RelationKind::Subquery,
            None,
            name,
            None,
            columns,
            block,
            false,
        );
    }

    /// A `WITH` clause: CTE names become visible to `block` and below.
    pub(super) fn with_clause(&mut self, with: &'a pb::WithClause, block: u32) {
        let ctes: Vec<&'a pb::CommonTableExpr> = with
            .ctes
            .iter()
            .filter_map(|node| match node.node.as_ref() {
                Some(NodeEnum::CommonTableExpr(cte)) => Some(&**cte),
                _ => None,
            })
            .collect();
        let columns = |cte: &'a pb::CommonTableExpr| {
            let named: Vec<&'a str> = cte
                .aliascolnames
                .iter()
                .filter_map(|c| match c.node.as_ref() {
                    Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
                    _ => None,
                })
                .collect();
            if named.is_empty() {
                cte.ctequery.as_deref().and_then(output_names)
            } else {
                Some(named)
            }
        };
        if with.recursive {
            // A recursive CTE sees itself and its siblings.
            for &cte in &ctes {
                let name = CteName {
                    name: &cte.ctename,
                    columns: columns(cte),
                };
                self.scopes[block as usize].ctes.push(name);
            }
        }
        for &cte in &ctes {
            let index = self.open_subquery(block, SubqueryClause::Cte, SubqueryKind::Cte);
            let query = cte.ctequery.as_deref();
            let body = self.statement_node(query, Some(block), true, Some(index));
            if !with.recursive {
                let name = CteName {
                    name: &cte.ctename,
                    columns: columns(cte),
                };
                self.scopes[block as usize].ctes.push(name);
            }
            let kind = match query.and_then(|q| q.node.as_ref()) {
                Some(node) => statement_kind(node),
                None => optidb_model::facts::StatementKind::Select,
            };
            let materialized = match CteMaterialize::try_from(cte.ctematerialized) {
                Ok(CteMaterialize::Always) => CteMaterialization::Materialized,
                Ok(CteMaterialize::Never) => CteMaterialization::NotMaterialized,
                _ => CteMaterialization::Default,
            };
            self.facts.ctes.push(Cte {
                name: cte.ctename.clone(),
                block: body,
                kind,
                materialized,
                recursive: with.recursive,
            });
        }
    }
}

/// The output column names of a query, when the text tells them all.
fn output_names(node: &Node) -> Option<Vec<&str>> {
    match node.node.as_ref()? {
        NodeEnum::SelectStmt(select) => select_output_names(select),
        NodeEnum::InsertStmt(insert) => target_names(&insert.returning_clause.as_ref()?.exprs),
        NodeEnum::UpdateStmt(update) => target_names(&update.returning_clause.as_ref()?.exprs),
        NodeEnum::DeleteStmt(delete) => target_names(&delete.returning_clause.as_ref()?.exprs),
        _ => None,
    }
}

fn select_output_names(select: &pb::SelectStmt) -> Option<Vec<&str>> {
    match SetOperation::try_from(select.op) {
        Ok(SetOperation::SetopUnion | SetOperation::SetopIntersect | SetOperation::SetopExcept) => {
            select_output_names(select.larg.as_deref()?)
        }
        _ if !select.values_lists.is_empty() => None,
        _ => target_names(&select.target_list),
    }
}

/// The names PostgreSQL gives select-list entries; `None` if one is `*`.
fn target_names(targets: &[Node]) -> Option<Vec<&str>> {
    targets
        .iter()
        .map(|target| {
            let Some(NodeEnum::ResTarget(target)) = target.node.as_ref() else {
                return None;
            };
            if !target.name.is_empty() {
                return Some(target.name.as_str());
            }
            expression_name(target.val.as_deref()?)
        })
        .collect()
}

fn expression_name(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::ColumnRef(column) => match column.fields.last()?.node.as_ref()? {
            NodeEnum::String(name) => Some(&name.sval),
            _ => None, // t.*
        },
        NodeEnum::FuncCall(call) => Some(last_name(&call.funcname)),
        NodeEnum::TypeCast(cast) => match cast.arg.as_deref().map(expression_name) {
            Some(Some(name)) if name != "?column?" => Some(name),
            _ => cast.type_name.as_ref().map(|t| last_name(&t.names)),
        },
        NodeEnum::CoalesceExpr(_) => Some("coalesce"),
        _ => Some("?column?"),
    }
}
