//! Query blocks, the relations each one can see, and column resolution:
//! which relation a column reference belongs to, and whether resolving it
//! makes an enclosing subquery correlated.

use optidb_model::facts::{ColumnExpr, RelationColumn};
use pg_query::NodeEnum;
use pg_query::protobuf::Node;

use super::walk::Walker;

/// One query block: a `SELECT` core, a DML statement, a subquery, a CTE
/// body or a set-operation branch.
pub(super) struct Scope<'a> {
    /// The enclosing block.
    pub(super) parent: Option<u32>,
    /// The block cannot see its parent's `FROM` items, only the parent's
    /// CTEs and the blocks further out: a derived table without `LATERAL`,
    /// a CTE body, the `SELECT` of an `INSERT … SELECT`.
    pub(super) barrier: bool,
    /// Relations in the block's `FROM` (and DML target), by id.
    pub(super) relations: Vec<u32>,
    /// CTEs declared by the block's `WITH`.
    pub(super) ctes: Vec<CteName<'a>>,
    /// The subquery record (index in `QueryFacts::subqueries`) of a block
    /// that is a subquery, CTE body or derived table.
    pub(super) subquery: Option<usize>,
}

/// A CTE name visible to a block and its descendants.
pub(super) struct CteName<'a> {
    pub(super) name: &'a str,
    /// Its output columns, when known.
    pub(super) columns: Option<Vec<&'a str>>,
}

/// What resolution needs to know about a relation.
pub(super) struct RelationInfo<'a> {
    pub(super) schema: Option<&'a str>,
    pub(super) name: &'a str,
    pub(super) alias: Option<&'a str>,
    /// The relation's columns, when the statement itself says (a CTE or a
    /// derived table with a known select list, `AS x(a, b)`); `None` for a
    /// table, whose columns only the catalog knows.
    pub(super) columns: Option<Vec<&'a str>>,
}

impl RelationInfo<'_> {
    pub(super) fn may_have(&self, column: &str) -> bool {
        self.columns
            .as_ref()
            .is_none_or(|columns| columns.contains(&column))
    }

    /// Whether `qualifier` (`alias.` or `table.`) names this relation.
    fn answers_to(&self, schema: Option<&str>, qualifier: &str) -> bool {
        match self.alias {
            Some(alias) => schema.is_none() && alias == qualifier,
            None => self.name == qualifier && (schema.is_none() || schema == self.schema),
        }
    }
}

/// A resolved column reference.
#[derive(Clone, Copy)]
pub(super) struct Resolved<'a> {
    /// The relation, or `None` when it cannot be told.
    pub(super) relation: Option<u32>,
    pub(super) column: &'a str,
}

/// The name parts of a column reference, or `None` for `*` / `t.*`.
fn name_parts(fields: &[Node]) -> Option<([&str; 4], usize)> {
    let mut parts = [""; 4];
    if fields.is_empty() || fields.len() > 4 {
        return None;
    }
    for (i, field) in fields.iter().enumerate() {
        match field.node.as_ref() {
            Some(NodeEnum::String(s)) => parts[i] = &s.sval,
            _ => return None,
        }
    }
    Some((parts, fields.len()))
}

impl<'a> Walker<'a> {
    /// Opens a new block and returns its number.
    pub(super) fn open_block(
        &mut self,
        parent: Option<u32>,
        barrier: bool,
        subquery: Option<usize>,
    ) -> u32 {
        let block = self.scopes.len() as u32;
        self.scopes.push(Scope {
            parent,
            barrier,
            relations: Vec::new(),
            ctes: Vec::new(),
            subquery,
        });
        if let Some(index) = subquery
            && let Some(record) = self.facts.subqueries.get_mut(index)
        {
            record.block = block;
        }
        block
    }

    /// The CTE named `name` visible from `block`, if any.
    pub(super) fn visible_cte(&self, block: u32, name: &str) -> Option<&CteName<'a>> {
        let mut current = Some(block);
        while let Some(b) = current {
            let scope = &self.scopes[b as usize];
            if let Some(cte) = scope.ctes.iter().find(|cte| cte.name == name) {
                return Some(cte);
            }
            current = scope.parent;
        }
        None
    }

    /// Resolves a column reference seen in `block`, and marks every
    /// subquery between `block` and the relation's block as correlated.
    /// `None` for `*` and `t.*`.
    ///
    /// An unqualified column belongs to the innermost block whose relations
    /// could have it: when exactly one relation there could, it is that
    /// one's; when several could, the relation is unknown (no guess). A
    /// relation "could" unless the statement lists its columns (CTEs,
    /// derived tables, `AS x(a, b)`) and the name is not among them.
    pub(super) fn resolve(&mut self, block: u32, fields: &'a [Node]) -> Option<Resolved<'a>> {
        let (parts, len) = name_parts(fields)?;
        let column = parts[len - 1];
        let found = match len {
            1 => self.find_unqualified(block, column),
            2 => self.find_qualified(block, None, parts[0]),
            // schema.table.column, catalog.schema.table.column
            _ => self.find_qualified(block, Some(parts[len - 3]), parts[len - 2]),
        };
        let relation = match found {
            Some((relation, found_in)) => {
                if found_in != block {
                    self.mark_correlated(block, found_in, relation, column);
                }
                Some(relation)
            }
            None => None,
        };
        Some(Resolved { relation, column })
    }

    fn find_unqualified(&self, block: u32, column: &str) -> Option<(u32, u32)> {
        let mut current = Some(block);
        let mut skip_relations = false;
        while let Some(b) = current {
            let scope = &self.scopes[b as usize];
            if !skip_relations {
                let mut candidates = scope
                    .relations
                    .iter()
                    .filter(|&&r| self.relation_info[r as usize].may_have(column));
                match (candidates.next(), candidates.next()) {
                    (Some(&only), None) => return Some((only, b)),
                    (Some(_), Some(_)) => return None,
                    // No relation here could have it: look further out.
                    (None, _) => {}
                }
            }
            skip_relations = scope.barrier;
            current = scope.parent;
        }
        None
    }

    fn find_qualified(
        &self,
        block: u32,
        schema: Option<&str>,
        qualifier: &str,
    ) -> Option<(u32, u32)> {
        let mut current = Some(block);
        let mut skip_relations = false;
        while let Some(b) = current {
            let scope = &self.scopes[b as usize];
            if !skip_relations
                && let Some(&found) = scope
                    .relations
                    .iter()
                    .find(|&&r| self.relation_info[r as usize].answers_to(schema, qualifier))
            {
                return Some((found, b));
            }
            skip_relations = scope.barrier;
            current = scope.parent;
        }
        None
    }

    /// Records `relation.column` as an outer reference of every subquery
    /// from `from` (inclusive) out to `to` (exclusive).
    fn mark_correlated(&mut self, from: u32, to: u32, relation: u32, column: &str) {
        let mut current = Some(from);
        while let Some(b) = current {
            if b == to {
                break;
            }
            let scope = &self.scopes[b as usize];
            if let Some(index) = scope.subquery
                && let Some(record) = self.facts.subqueries.get_mut(index)
            {
                let outer = RelationColumn {
                    relation: Some(relation),
                    column: ColumnExpr::bare(column),
                };
                if !record.correlated_columns.contains(&outer) {
                    record.correlated_columns.push(outer);
                }
            }
            current = scope.parent;
        }
    }
}
