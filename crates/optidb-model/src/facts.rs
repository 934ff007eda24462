//! Query facts: what a statement's text says about the tables and columns it
//! uses (filled in by `optidb-fingerprint`), and statement families.
//!
//! The facts are organised for the rules and the index-candidate generator:
//! every relation a statement reads or writes gets a [`RelationFacts`] with
//! the columns it filters on, split by operator class (equality, range,
//! `IN`, `LIKE`, JSONB, `IS NULL`, other), its `ORDER BY` keys and its
//! `GROUP BY` columns. Column uses whose relation cannot be told from the
//! text alone go to [`QueryFacts::unresolved`] instead of being guessed.
//!
//! Every list is in a deterministic order (sorted and deduplicated, or in
//! the order of the statement text where position matters), so the facts of
//! one statement always serialize to the same JSON.
//!
//! **Query blocks.** Every `SELECT … FROM …` core, every
//! `INSERT`/`UPDATE`/`DELETE`/`MERGE`, every subquery, CTE body and
//! set-operation branch is a *block*, numbered in the order of the walk:
//! block 0 is the statement itself. Relations and subqueries carry the
//! number of the block they belong to, which tells apart two references to
//! the same table in different parts of a statement.

use serde::{Deserialize, Serialize};

/// What kind of statement a text holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// `SELECT`, `VALUES`, `TABLE` and set operations of them.
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `MERGE`.
    Merge,
    /// Anything else, with PostgreSQL's command tag for the common ones
    /// (`SET`, `BEGIN`, `VACUUM`, `CREATE INDEX`, …) and the parse node's
    /// name otherwise (`CreateRoleStmt`, …).
    Utility(String),
}

/// Everything optidb learns about one statement from its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryFacts {
    /// The statement's kind.
    pub kind: StatementKind,
    /// Every relation referenced, in the order the walk met them (a
    /// relation's [`RelationFacts::id`] is its index here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<RelationFacts>,
    /// Column uses whose relation cannot be told: an unqualified column with
    /// several candidate relations in scope, or a qualifier matching none.
    #[serde(default, skip_serializing_if = "ColumnFacts::is_empty")]
    pub unresolved: ColumnFacts,
    /// Column pairs compared across two relations, from `JOIN … ON`,
    /// `USING (…)`, `WHERE a.x = b.y` and correlated subqueries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<JoinPair>,
    /// Every subquery, CTE body and derived table, in walk order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subqueries: Vec<Subquery>,
    /// Common table expressions (`WITH`), in walk order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ctes: Vec<Cte>,
    /// Set operations anywhere in the statement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_operations: Vec<SetOperation>,
    /// Every function called (schema-qualified when written so,
    /// `pg_catalog.` dropped), including aggregates and window functions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// Aggregate calls (without `OVER`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<String>,
    /// Window function calls (with `OVER`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub window_functions: Vec<String>,
    /// The outermost `SELECT` has `DISTINCT` or `DISTINCT ON`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub distinct: bool,
    /// The outermost query has `LIMIT` or `FETCH FIRST`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub limit: bool,
    /// The outermost query has `OFFSET`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub offset: bool,
    /// The statement (or a data-modifying CTE) has `RETURNING`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub returning: bool,
}

impl QueryFacts {
    /// Facts with only a kind: what a utility statement gets.
    pub fn new(kind: StatementKind) -> Self {
        QueryFacts {
            kind,
            relations: Vec::new(),
            unresolved: ColumnFacts::default(),
            joins: Vec::new(),
            subqueries: Vec::new(),
            ctes: Vec::new(),
            set_operations: Vec::new(),
            functions: Vec::new(),
            aggregates: Vec::new(),
            window_functions: Vec::new(),
            distinct: false,
            limit: false,
            offset: false,
            returning: false,
        }
    }

    /// The references to base tables (not CTEs, subqueries or functions).
    pub fn tables(&self) -> impl Iterator<Item = &RelationFacts> {
        self.relations
            .iter()
            .filter(|relation| relation.kind == RelationKind::Table)
    }

    /// The distinct tables referenced, as `schema.name` or `name`, sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables().map(RelationFacts::qualified_name).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// What a relation reference in `FROM` (or a DML target) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// A table, or a view: the text alone cannot tell them apart.
    Table,
    /// A reference to a common table expression of the statement.
    Cte,
    /// A subquery in `FROM` (a derived table); its name is its alias.
    Subquery,
    /// A function in `FROM` (`unnest($1)`, `generate_series(…)`,
    /// `JSON_TABLE`, …); its name is the function's.
    Function,
}

/// One reference to a relation and the facts about its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationFacts {
    /// This reference's index in [`QueryFacts::relations`].
    pub id: u32,
    /// The query block the reference belongs to (0 is the statement).
    pub block: u32,
    /// Table, CTE, derived table or function.
    pub kind: RelationKind,
    /// The schema, when the statement qualified the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The table, CTE or function name; a derived table's alias.
    pub name: String,
    /// The alias the statement gave the relation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The relation is what `INSERT`, `UPDATE`, `DELETE` or `MERGE` writes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub target: bool,
    /// Columns assigned by `UPDATE … SET` or `MERGE … UPDATE SET` (an
    /// index on one of them rules out HOT updates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updated_columns: Vec<String>,
    /// How the statement uses the relation's columns.
    #[serde(flatten)]
    pub columns: ColumnFacts,
}

impl RelationFacts {
    /// `schema.name` when the statement qualified the name, else `name`.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// How a statement uses the columns of one relation (or of an unknown one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnFacts {
    /// `column = …` and bare boolean columns (`WHERE active`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equality: Vec<Equality>,
    /// `<`, `<=`, `>`, `>=`, `BETWEEN`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub range: Vec<Range>,
    /// `IN (…)`, `= ANY(…)`, `IN (SELECT …)` and their negations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_list: Vec<InList>,
    /// `LIKE`, `ILIKE` and their negations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub like: Vec<Like>,
    /// Operators a GIN index serves (`@>`, `?`, …) and `->>` comparisons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jsonb: Vec<JsonbPredicate>,
    /// `IS NULL` and `IS NOT NULL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub null_tests: Vec<NullTest>,
    /// Any other comparison on the column (`<>`, `~`, `IS DISTINCT FROM`,
    /// `SIMILAR TO`, `NOT BETWEEN`, `IS TRUE`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherPredicate>,
    /// `ORDER BY` keys on the relation's columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<OrderKey>,
    /// `GROUP BY` expressions on the relation's columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<ColumnExpr>,
}

impl ColumnFacts {
    /// No column use at all.
    pub fn is_empty(&self) -> bool {
        self.equality.is_empty()
            && self.range.is_empty()
            && self.in_list.is_empty()
            && self.like.is_empty()
            && self.jsonb.is_empty()
            && self.null_tests.is_empty()
            && self.other.is_empty()
            && self.order_by.is_empty()
            && self.group_by.is_empty()
    }
}

/// A column as a predicate or a sort key uses it: bare, or wrapped in an
/// expression (`lower(email)`, `created_at::date`, `data ->> 'kind'`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnExpr {
    /// The column's name (the first one when the expression uses several
    /// columns of the same relation).
    pub column: String,
    /// The wrapping expression, rendered without qualifiers so that it can
    /// serve as an expression index (`lower(email)`); `None` for a bare
    /// column. Parameters stay `$n`; a part optidb cannot render shows as
    /// `…`, and such an expression is not usable as DDL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl ColumnExpr {
    /// A bare column.
    pub fn bare(column: impl Into<String>) -> Self {
        ColumnExpr {
            column: column.into(),
            expression: None,
        }
    }
}

/// What a column is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    /// A `$n` parameter, possibly cast (`$1::uuid`, `timestamptz $1`).
    Param,
    /// A literal, possibly cast; also `true`/`false` for a bare boolean
    /// column.
    Constant,
    /// A column of another relation (a join or a correlation) or of an
    /// unknown one.
    Column,
    /// A scalar subquery.
    Subquery,
    /// Any other expression without columns (`now() - $1::interval`).
    Expression,
}

/// `column = value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Equality {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// What it is compared with.
    pub value: Operand,
    /// The parameter's number when the value is a `$n` (possibly cast):
    /// where real-mode simulation draws realistic values for it from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<u32>,
}

/// A range comparison operator, with the column on its left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RangeOp {
    /// `column < value`.
    #[serde(rename = "<")]
    Lt,
    /// `column <= value`.
    #[serde(rename = "<=")]
    Le,
    /// `column > value`.
    #[serde(rename = ">")]
    Gt,
    /// `column >= value`.
    #[serde(rename = ">=")]
    Ge,
    /// `column BETWEEN a AND b` (also `BETWEEN SYMMETRIC`).
    #[serde(rename = "between")]
    Between,
}

/// `column < value` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Range {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// The operator, written with the column on its left.
    pub op: RangeOp,
    /// What the column is compared with (for `BETWEEN`, the lower bound).
    pub value: Operand,
    /// The parameter's number when the value (for `BETWEEN`, the lower
    /// bound) is a `$n`, possibly cast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<u32>,
    /// For `BETWEEN`, the upper bound's parameter number when it is a `$n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_param: Option<u32>,
}

/// Where the values of an `IN` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InValues {
    /// A written list with this many items (`IN ($1, $2)`; PostgreSQL 18's
    /// `pg_stat_statements` squashes constant lists to `IN ($1 /*, ... */)`,
    /// which counts as one).
    List(u32),
    /// An array: `= ANY($1)`, `<> ALL($1)`.
    Array,
    /// A subquery: `IN (SELECT …)`.
    Subquery,
}

/// `column IN (…)`, `column = ANY(…)` and their negations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InList {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// `NOT IN`, `<> ALL(…)`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negated: bool,
    /// Where the values come from.
    pub values: InValues,
    /// The numbers of the `$n` parameters among the values, in the order
    /// written: every item of `IN ($1, $2)`, the array of `= ANY($1)`. A
    /// list, not one number: each item of a list is a value of the column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<u32>,
}

/// `column LIKE pattern` / `ILIKE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Like {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// `ILIKE` (or `~~*`).
    pub case_insensitive: bool,
    /// `NOT LIKE`, `NOT ILIKE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negated: bool,
    /// Whether the pattern starts with `%` or `_` (no B-tree prefix scan is
    /// possible): known only when the pattern is a literal; `None` for a
    /// `$n` parameter, which is what `pg_stat_statements` shows.
    pub leading_wildcard: Option<bool>,
    /// The parameter's number when the pattern is a `$n`, possibly cast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<u32>,
}

/// An operator a GIN (or GiST) index can serve, or a JSON field comparison.
///
/// The text alone does not tell a `jsonb` column from an array, a range or
/// a `tsvector`: `@>` and `<@` also apply to arrays and ranges, `@@` to full
/// text search. All of them are candidates for a GIN or GiST index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum JsonbOp {
    /// `@>`: contains.
    #[serde(rename = "@>")]
    Contains,
    /// `<@`: is contained by.
    #[serde(rename = "<@")]
    ContainedBy,
    /// `?`: the key exists.
    #[serde(rename = "?")]
    KeyExists,
    /// `?|`: any of the keys exists.
    #[serde(rename = "?|")]
    AnyKeyExists,
    /// `?&`: all the keys exist.
    #[serde(rename = "?&")]
    AllKeysExist,
    /// `@?`: the JSON path returns an item.
    #[serde(rename = "@?")]
    PathExists,
    /// `@@`: the JSON path predicate holds (or a full text match).
    #[serde(rename = "@@")]
    PathMatch,
    /// A comparison of a field (`data ->> 'kind' = $1`): the column's
    /// expression holds the field access, and the comparison is also listed
    /// under equality, range, … with that expression.
    #[serde(rename = "field")]
    Field,
}

/// A JSONB (or array, range, full text) operator on a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JsonbPredicate {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// The operator.
    pub op: JsonbOp,
}

/// `column IS NULL` / `IS NOT NULL`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NullTest {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// `IS NOT NULL`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negated: bool,
}

/// A comparison that fits no other class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OtherPredicate {
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// The operator as written (`<>`, `~*`, `IS DISTINCT FROM`, `NOT @>`, …).
    pub operator: String,
}

/// Sort direction of an `ORDER BY` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// No direction written (ascending).
    Default,
    /// `ASC`.
    Asc,
    /// `DESC`.
    Desc,
    /// `USING operator`.
    Using,
}

/// Placement of nulls for an `ORDER BY` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullsOrder {
    /// Not written (`NULLS LAST` for ascending, `NULLS FIRST` for descending).
    Default,
    /// `NULLS FIRST`.
    First,
    /// `NULLS LAST`.
    Last,
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderKey {
    /// The key's position in its `ORDER BY` (0 is the first).
    pub position: u32,
    /// The column (positional `ORDER BY 1` and output aliases are resolved
    /// to the select-list expression).
    #[serde(flatten)]
    pub column: ColumnExpr,
    /// Sort direction.
    pub direction: SortDirection,
    /// Placement of nulls.
    pub nulls: NullsOrder,
}

/// One side of a [`JoinPair`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RelationColumn {
    /// The relation's id in [`QueryFacts::relations`]; `None` when unknown.
    pub relation: Option<u32>,
    /// The column.
    #[serde(flatten)]
    pub column: ColumnExpr,
}

/// Two columns of different relations compared with each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JoinPair {
    /// The side with the lower relation id (unknown relations sort last).
    pub left: RelationColumn,
    /// The other side.
    pub right: RelationColumn,
    /// The operator, written with `left` on its left (usually `=`).
    pub operator: String,
}

/// The clause a subquery appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubqueryClause {
    /// `WHERE`.
    Where,
    /// `JOIN … ON`.
    Join,
    /// `HAVING`.
    Having,
    /// The select list.
    SelectList,
    /// `FROM` (a derived table).
    From,
    /// A `WITH` clause (a CTE body).
    Cte,
    /// `ORDER BY`.
    OrderBy,
    /// `GROUP BY`.
    GroupBy,
    /// `UPDATE … SET`, `INSERT … VALUES`, `MERGE` actions.
    Assignment,
    /// `RETURNING`.
    Returning,
    /// Anywhere else (window definitions, `LIMIT`, `ON CONFLICT`, …).
    Other,
}

/// What form a subquery takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubqueryKind {
    /// `(SELECT …)` as a value.
    Scalar,
    /// `EXISTS (SELECT …)`.
    Exists,
    /// `IN (SELECT …)` (and `= ANY (SELECT …)`).
    In,
    /// `op ANY (SELECT …)` with another operator.
    Any,
    /// `op ALL (SELECT …)`.
    All,
    /// `ARRAY(SELECT …)`.
    Array,
    /// `(a, b) op (SELECT …)` and `(a, b) = (SELECT …)` assignments.
    Row,
    /// A derived table in `FROM`.
    Derived,
    /// A CTE body.
    Cte,
}

/// One subquery, CTE body or derived table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subquery {
    /// The subquery's own block.
    pub block: u32,
    /// The block it appears in.
    pub parent: u32,
    /// The clause it appears in.
    pub clause: SubqueryClause,
    /// Its form.
    pub kind: SubqueryKind,
    /// Under `NOT` (`NOT EXISTS`, `NOT IN`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub negated: bool,
    /// A `LATERAL` derived table.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lateral: bool,
    /// The subquery references a column of an enclosing query's relation,
    /// so it is evaluated again for each outer row (unless the planner
    /// turns it into a join).
    pub correlated: bool,
    /// The outer columns it references, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlated_columns: Vec<RelationColumn>,
}

/// Whether a CTE was asked to be materialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CteMaterialization {
    /// Neither: PostgreSQL inlines a side-effect-free CTE referenced once.
    Default,
    /// `AS MATERIALIZED`.
    Materialized,
    /// `AS NOT MATERIALIZED`.
    NotMaterialized,
}

/// One common table expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cte {
    /// Its name.
    pub name: String,
    /// The block of its body.
    pub block: u32,
    /// What its body is: a `SELECT` or a data-modifying statement.
    pub kind: StatementKind,
    /// `MATERIALIZED`, `NOT MATERIALIZED` or neither.
    pub materialized: CteMaterialization,
    /// Declared in a `WITH RECURSIVE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recursive: bool,
}

/// A set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetOperation {
    /// `UNION` (removes duplicates: a sort or a hash).
    Union,
    /// `UNION ALL`.
    UnionAll,
    /// `INTERSECT`.
    Intersect,
    /// `INTERSECT ALL`.
    IntersectAll,
    /// `EXCEPT`.
    Except,
    /// `EXCEPT ALL`.
    ExceptAll,
}

/// Statements that are the same query up to constants, or close variants
/// of it (the same kind and tables, similar predicates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// A stable identifier derived from the family's kind, tables and
    /// smallest fingerprint (16 hex digits).
    pub id: String,
    /// The members' statement kind.
    pub kind: StatementKind,
    /// The members' tables, as `schema.name` or `name`, sorted.
    pub tables: Vec<String>,
    /// The members' fingerprints, sorted.
    pub fingerprints: Vec<String>,
    /// The members' ids (`pg_stat_statements.queryid`), sorted.
    pub members: Vec<i64>,
    /// The member that stands for the family: the smallest id among the
    /// statements of its simplest fingerprint.
    pub representative: i64,
    /// Median of the members' mean execution times, in milliseconds
    /// (`None` when no member has a finite mean time).
    pub median_mean_time_ms: Option<f64>,
    /// Members whose mean time is far from the family's median, sorted by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<Outlier>,
}

/// A family member whose mean execution time is far from its family's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outlier {
    /// The member's id.
    pub member: i64,
    /// Its mean execution time, in milliseconds.
    pub mean_time_ms: f64,
    /// Its modified z-score: how many (scaled) median absolute deviations
    /// it lies from the family's median; positive when slower.
    pub score: f64,
}

// serde's `skip_serializing_if` passes a reference.
fn is_false(value: &bool) -> bool {
    !*value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> QueryFacts {
        let mut facts = QueryFacts::new(StatementKind::Select);
        facts.relations.push(RelationFacts {
            id: 0,
            block: 0,
            kind: RelationKind::Table,
            schema: Some("app".into()),
            name: "users".into(),
            alias: Some("u".into()),
            target: false,
            updated_columns: Vec::new(),
            columns: ColumnFacts {
                equality: vec![Equality {
                    column: ColumnExpr {
                        column: "email".into(),
                        expression: Some("lower(email)".into()),
                    },
                    value: Operand::Param,
                    param: None,
                }],
                like: vec![Like {
                    column: ColumnExpr::bare("name"),
                    case_insensitive: true,
                    negated: false,
                    leading_wildcard: None,
                    param: Some(2),
                }],
                ..ColumnFacts::default()
            },
        });
        facts.limit = true;
        facts
    }

    #[test]
    fn facts_round_trip_through_json() {
        let facts = sample();
        let json = serde_json::to_string(&facts).unwrap();
        let back: QueryFacts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, facts);
    }

    #[test]
    fn empty_lists_and_false_flags_are_left_out_of_json() {
        let json =
            serde_json::to_value(QueryFacts::new(StatementKind::Utility("SET".into()))).unwrap();
        assert_eq!(json, serde_json::json!({"kind": {"utility": "SET"}}));
    }

    #[test]
    fn unknown_leading_wildcard_is_an_explicit_null() {
        let json = serde_json::to_value(sample()).unwrap();
        let like = &json["relations"][0]["like"][0];
        assert_eq!(like["leading_wildcard"], serde_json::Value::Null);
        assert_eq!(
            json["relations"][0]["equality"][0]["expression"],
            "lower(email)"
        );
    }

    #[test]
    fn parameter_numbers_are_written_when_known_and_optional_when_read() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["relations"][0]["like"][0]["param"], 2);
        assert!(json["relations"][0]["equality"][0].get("param").is_none());
        // Facts saved before parameter numbers were recorded still read.
        let old = serde_json::json!({"column": "id", "value": "param"});
        let equality: Equality = serde_json::from_value(old).unwrap();
        assert_eq!(equality.param, None);
        let old = serde_json::json!({"column": "id", "values": "array"});
        let in_list: InList = serde_json::from_value(old).unwrap();
        assert!(in_list.params.is_empty());
    }

    #[test]
    fn table_names_are_qualified_sorted_and_distinct() {
        let mut facts = sample();
        let mut again = facts.relations[0].clone();
        again.id = 1;
        facts.relations.push(again);
        let mut cte = facts.relations[0].clone();
        cte.id = 2;
        cte.kind = RelationKind::Cte;
        cte.schema = None;
        cte.name = "recent".into();
        facts.relations.push(cte);
        assert_eq!(facts.table_names(), vec!["app.users".to_string()]);
    }
}

/// What the fingerprint stage learned from every statement of a snapshot:
/// the input of the rules, next to the snapshot itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadFacts {
    /// One entry per statement whose text parsed, in the snapshot's order.
    pub statements: Vec<StatementFacts>,
    /// Families of those statements.
    pub families: Vec<Family>,
    /// Statements whose text did not parse, with the parser's reason.
    pub unparsed: Vec<(i64, String)>,
}

/// One statement's fingerprint and facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementFacts {
    /// `pg_stat_statements.queryid`.
    pub queryid: i64,
    /// pg_query fingerprint (16 hex digits).
    pub fingerprint: String,
    /// What the text says.
    pub facts: QueryFacts,
}

impl WorkloadFacts {
    /// The facts of `queryid`.
    pub fn of(&self, queryid: i64) -> Option<&StatementFacts> {
        self.statements.iter().find(|s| s.queryid == queryid)
    }

    /// The family `queryid` belongs to.
    pub fn family_of(&self, queryid: i64) -> Option<&Family> {
        self.families
            .iter()
            .find(|family| family.members.contains(&queryid))
    }
}
