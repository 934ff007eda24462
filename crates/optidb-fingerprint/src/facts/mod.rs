//! Query facts from the parse tree, in one walk: [`facts()`](crate::facts())
//! and [`analyze`](crate::analyze) return them as
//! [`QueryFacts`].
//!
//! # What is recorded
//!
//! For every relation reference (table, CTE, derived table, function in
//! `FROM`, DML target): the columns compared with `=` and with what
//! (parameter, constant, column, subquery, expression); range comparisons
//! (`<`, `<=`, `>`, `>=`, `BETWEEN`); `IN` lists, `= ANY(…)` and `IN
//! (SELECT …)`; `LIKE`/`ILIKE` with whether the pattern starts with a
//! wildcard; GIN-able operators (`@>`, `<@`, `?`, `?|`, `?&`, `@?`, `@@`)
//! and `->>` field comparisons; `IS [NOT] NULL`; other comparisons; `ORDER
//! BY` keys with direction and nulls placement; `GROUP BY` columns; the
//! columns an `UPDATE` assigns. A column wrapped in an expression
//! (`lower(email)`, `created_at::date`, `data ->> 'kind'`) is recorded with
//! the expression rendered without qualifiers, an expression index
//! candidate. Statement-wide: kind, join column pairs, subqueries, CTEs,
//! set operations, functions, aggregates, window functions, and `DISTINCT`,
//! `LIMIT`, `OFFSET` of the outermost query and `RETURNING`.
//!
//! # Heuristics and their limits
//!
//! Only the text is known, not the catalog, so:
//!
//! - **Aliases** are resolved exactly: `o.user_id` belongs to the relation
//!   aliased `o` in the innermost block that has one; a relation with an
//!   alias no longer answers to its table name (as in PostgreSQL).
//! - **Unqualified columns** belong to the innermost block with a relation
//!   that could have them. A table could have any column; a CTE, a derived
//!   table or `AS x(a, b)` only the columns its text lists. One candidate:
//!   that relation. Several: unknown (`QueryFacts::unresolved`), never a
//!   guess. So an unqualified column inside a subquery is taken to be the
//!   subquery's own (`WHERE EXISTS (SELECT 1 FROM orders WHERE user_id =
//!   id)` reads `id` as `orders.id`, although PostgreSQL would bind it to
//!   the outer table if `orders` had no `id`).
//! - **Correlation**: a subquery is correlated when one of its column
//!   references (or a nested subquery's) resolves to a relation of an
//!   enclosing block; the outer columns are listed. By the rule above this
//!   needs a qualified outer reference (`u.id`), or an unqualified one in a
//!   subquery without relations that could have it. References in a
//!   derived table without `LATERAL`, a CTE body, or the `SELECT` of an
//!   `INSERT … SELECT` skip the enclosing block's `FROM` items, as in
//!   PostgreSQL.
//! - **Output names**: `ORDER BY 2`, `ORDER BY alias` and `GROUP BY alias`
//!   are resolved to the select-list expression (for `GROUP BY`,
//!   PostgreSQL prefers an input column of that name, which only the
//!   catalog knows). `ORDER BY` after a set operation sorts output columns:
//!   those keys are recorded as unresolved, by name.
//! - **Predicates** come from `WHERE`, `JOIN … ON`, `USING (…)` and `MERGE`
//!   conditions, at any depth of `AND`/`OR`: a predicate under `OR` is
//!   recorded like one under `AND`. Under `NOT`, comparisons are inverted
//!   (`NOT a = 1` is `a <> 1`), and `LIKE`, `IN`, `IS NULL`, `EXISTS` are
//!   marked negated. `HAVING`, `CASE` and select-list expressions yield no
//!   predicates (no index serves them), but their functions and subqueries
//!   are recorded.
//! - **Column sides**: a comparison's column side is a column, or an
//!   expression over columns of one relation (the first column names it);
//!   a comparison between two relations' columns is a join pair, recorded
//!   on both sides with the value `column`.
//! - **`LIKE` patterns**: the leading wildcard is known for a literal
//!   (`'%x'`, `'%' || $1`) and unknown (`None`) for a parameter.
//! - **JSONB**: `@>`, `<@` and `@@` also apply to arrays, ranges and
//!   `tsvector`s; the text cannot tell. All are GIN/GiST candidates.
//! - **Views** look like tables. Utility statements (`SET`, `VACUUM`,
//!   `EXPLAIN`, `COPY`, `CREATE TABLE AS`, …) get a kind and no facts.

mod kind;
mod predicates;
mod render;
mod scope;
mod subqueries;
mod walk;

use optidb_model::facts::{QueryFacts, StatementKind};
use pg_query::NodeEnum;

/// The facts of one parsed statement.
pub(crate) fn extract(statement: &NodeEnum) -> QueryFacts {
    let kind = kind::statement_kind(statement);
    if matches!(kind, StatementKind::Utility(_)) {
        return QueryFacts::new(kind);
    }
    let mut walker = walk::Walker::new(kind);
    walker.statement(statement, None, false, None);
    walker.finish()
}
