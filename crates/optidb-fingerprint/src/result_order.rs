//! How a statement's result rows are ordered: what comparing the results of
//! two statements needs to know. A rewrite of an unordered query may return
//! its rows in any order; one of an ordered query must return them in the
//! same order, except among rows that tie on every sort key.

use pg_query::NodeEnum;
use pg_query::protobuf::a_const::Val;
use pg_query::protobuf::{Node, SelectStmt};

use crate::ParseError;

/// The order of a statement's result rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultOrder {
    /// No `ORDER BY` on the outermost query: any order is as good.
    Unordered,
    /// Sorted by these output columns (0-based positions in the result),
    /// in this order: rows that tie on them may come in any order.
    ByOutputColumns(Vec<usize>),
    /// Sorted by something that is not an output column (an expression, a
    /// column not selected, `*`): only the exact order can be compared.
    Opaque,
}

/// The order of the result of the single statement in `sql`. Statements
/// other than `SELECT` (and `VALUES`) are [`ResultOrder::Unordered`].
pub fn result_order(sql: &str) -> Result<ResultOrder, ParseError> {
    let parsed = pg_query::parse(sql, 0)?;
    let statement = match parsed.protobuf.stmts.as_slice() {
        [only] => only.stmt.as_deref().and_then(|stmt| stmt.node.as_ref()),
        statements => {
            return Err(ParseError::NotOneStatement {
                count: statements.len(),
            });
        }
    };
    let Some(NodeEnum::SelectStmt(select)) = statement else {
        return Ok(ResultOrder::Unordered);
    };
    if select.sort_clause.is_empty() {
        return Ok(ResultOrder::Unordered);
    }
    let outputs = output_names(select);
    let mut positions = Vec::with_capacity(select.sort_clause.len());
    for item in &select.sort_clause {
        let Some(NodeEnum::SortBy(sort)) = item.node.as_ref() else {
            return Ok(ResultOrder::Opaque);
        };
        let position = sort
            .node
            .as_deref()
            .and_then(|key| output_position(key, &outputs));
        match position {
            Some(position) => positions.push(position),
            None => return Ok(ResultOrder::Opaque),
        }
    }
    Ok(ResultOrder::ByOutputColumns(positions))
}

/// The name of each output column, `None` where it has none optidb can
/// tell (an expression without an alias). A `*` makes the positions
/// unknowable: then no names at all.
fn output_names(select: &SelectStmt) -> Vec<Option<String>> {
    // A set operation's columns are named by its first branch.
    let mut core = select;
    while let Some(left) = core.larg.as_deref() {
        core = left;
    }
    let mut names = Vec::with_capacity(core.target_list.len());
    for target in &core.target_list {
        let Some(NodeEnum::ResTarget(target)) = target.node.as_ref() else {
            return Vec::new();
        };
        if !target.name.is_empty() {
            names.push(Some(target.name.clone()));
            continue;
        }
        match target.val.as_deref().and_then(|val| val.node.as_ref()) {
            Some(NodeEnum::ColumnRef(column)) => {
                match column.fields.last().and_then(|field| field.node.as_ref()) {
                    Some(NodeEnum::String(name)) => names.push(Some(name.sval.clone())),
                    // `*` or `t.*`: how many columns it expands to is unknown.
                    _ => return Vec::new(),
                }
            }
            _ => names.push(None),
        }
    }
    names
}

/// The output position a sort key names: `ORDER BY 2`, or a column or
/// alias that is exactly one output column.
fn output_position(key: &Node, outputs: &[Option<String>]) -> Option<usize> {
    match key.node.as_ref()? {
        NodeEnum::AConst(constant) => match constant.val.as_ref()? {
            Val::Ival(integer) => {
                let position = usize::try_from(integer.ival).ok()?.checked_sub(1)?;
                (position < outputs.len()).then_some(position)
            }
            _ => None,
        },
        NodeEnum::ColumnRef(column) => {
            let Some(NodeEnum::String(name)) = column.fields.last()?.node.as_ref() else {
                return None;
            };
            let mut matching = outputs
                .iter()
                .enumerate()
                .filter(|(_, output)| output.as_deref() == Some(name.sval.as_str()));
            let (position, _) = matching.next()?;
            // Two output columns of that name: which one sorts is unclear.
            matching.next().is_none().then_some(position)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(sql: &str) -> ResultOrder {
        result_order(sql).unwrap()
    }

    #[test]
    fn unordered_queries() {
        assert_eq!(order("SELECT a FROM t"), ResultOrder::Unordered);
        assert_eq!(
            order("SELECT a FROM t WHERE b IN (SELECT b FROM u ORDER BY b LIMIT 3)"),
            ResultOrder::Unordered
        );
        assert_eq!(order("UPDATE t SET a = 1"), ResultOrder::Unordered);
    }

    #[test]
    fn sort_keys_that_are_output_columns() {
        assert_eq!(
            order("SELECT p.id, p.name, p.price FROM products p ORDER BY p.price DESC, 1"),
            ResultOrder::ByOutputColumns(vec![2, 0])
        );
        assert_eq!(
            order("SELECT id, count(*) AS n FROM t GROUP BY id ORDER BY n"),
            ResultOrder::ByOutputColumns(vec![1])
        );
        assert_eq!(
            order("SELECT a FROM t UNION SELECT b FROM u ORDER BY a"),
            ResultOrder::ByOutputColumns(vec![0])
        );
    }

    #[test]
    fn sort_keys_that_are_not() {
        assert_eq!(order("SELECT a FROM t ORDER BY b"), ResultOrder::Opaque);
        assert_eq!(order("SELECT * FROM t ORDER BY a"), ResultOrder::Opaque);
        assert_eq!(order("SELECT a FROM t ORDER BY a + 1"), ResultOrder::Opaque);
        assert_eq!(order("SELECT a, a FROM t ORDER BY a"), ResultOrder::Opaque);
        assert_eq!(order("SELECT a FROM t ORDER BY 3"), ResultOrder::Opaque);
    }

    #[test]
    fn errors() {
        assert!(result_order("SELECT FROM WHERE").is_err());
        assert!(matches!(
            result_order("SELECT 1; SELECT 2"),
            Err(ParseError::NotOneStatement { count: 2 })
        ));
    }
}
