//! Candidate indexes from the statements' query facts: pure, deterministic.
//!
//! For every table a statement filters, joins or sorts, the columns it uses
//! are split into equality-like keys (`=`, `IN`, join columns), range keys
//! (`<`, `BETWEEN`, …) and sort keys (`ORDER BY`), and B-tree candidates are
//! built the way OPT001 orders an index: equality columns first (most
//! selective first), then one range column, then the `ORDER BY` columns.
//! Every single column is a candidate, and so is every pair "equality
//! column, then a less selective equality column, the range or the sort";
//! wider candidates (up to `max_width`) are the prefixes of the statement's
//! ideal key orders. Operators only GIN
//! serves (`@>`, `?`, leading-wildcard `LIKE`, `ILIKE`, `~`) give GIN
//! candidates, which HypoPG cannot cost (see [`is_costable`]).
//!
//! Where a statement's text shows every column it reads from a table, each
//! one-key B-tree candidate there also comes as a covering variant, the other
//! columns read in `INCLUDE`, if that stays narrow (see
//! `covering_candidates`): what an index-only scan needs.
//!
//! Column uses the text could not attribute to a relation (unqualified
//! columns in a join) are attributed with the catalog first (see
//! `attribute`).
//!
//! Candidates an existing valid index already provides (the same keys, or
//! a prefix of its keys, and every `INCLUDE` column) are left out.

use std::collections::BTreeSet;

use optidb_model::facts::{
    ColumnExpr, InValues, JsonbOp, Operand, OrderKey, RangeOp, RelationFacts, RelationKind,
    SortDirection, StatementKind, WorkloadFacts,
};
use optidb_model::{Index, IndexKeySpec, IndexSpec, Snapshot, Table};

use super::attribute::attributed_relations;
use optidb_fingerprint::{Mentions, mentions};

/// PostgreSQL's selectivity of an equality it has no statistics for
/// (`DEFAULT_EQ_SEL`).
const DEFAULT_EQ_SEL: f64 = 0.005;
/// …of one inequality (`DEFAULT_INEQ_SEL`).
const DEFAULT_INEQ_SEL: f64 = 1.0 / 3.0;
/// …of a two-sided range (`DEFAULT_RANGE_INEQ_SEL`).
const DEFAULT_RANGE_SEL: f64 = 0.005;

/// The most columns (keys and `INCLUDE`) of a covering candidate.
const MAX_COVERING_COLUMNS: usize = 5;
/// The largest share of its table's row width a covering candidate may
/// take: beyond it, an index-only scan saves too little over the table.
const MAX_COVERING_SHARE: f64 = 0.5;

/// Access methods HypoPG 1.3 can create hypothetical indexes for.
const COSTABLE_METHODS: [&str; 4] = ["btree", "brin", "hash", "bloom"];

/// Whether HypoPG can cost an index of this kind (B-tree, BRIN, hash and
/// bloom; not GIN or GiST).
pub fn is_costable(spec: &IndexSpec) -> bool {
    COSTABLE_METHODS.contains(&spec.method.as_str())
}

/// Candidate indexes for the statements of `snapshot` (those with facts in
/// `workload`), at most `max_width` keys each (at least 1), sorted and
/// distinct. GIN candidates are included; [`is_costable`] tells them apart.
pub fn candidates(
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    max_width: usize,
) -> Vec<IndexSpec> {
    let max_width = max_width.max(1);
    let mut found: BTreeSet<IndexSpec> = BTreeSet::new();
    for statement in &snapshot.statements {
        let Some(facts) = workload.of(statement.queryid) else {
            continue;
        };
        if matches!(facts.facts.kind, StatementKind::Utility(_)) {
            continue;
        }
        // An aggregate's or a window function's result (`ORDER BY revenue`
        // naming `sum(…)`) is no index key.
        let aggregates: Vec<&str> = facts
            .facts
            .aggregates
            .iter()
            .chain(&facts.facts.window_functions)
            .map(String::as_str)
            .collect();
        let text = mentions(&statement.query);
        for relation in &attributed_relations(snapshot, &facts.facts) {
            if relation.kind != RelationKind::Table {
                continue;
            }
            let Some(table) = resolve(snapshot, relation) else {
                continue;
            };
            let mut specs = relation_candidates(table, relation, &aggregates, max_width);
            if !relation.target {
                let covering = covering_candidates(table, &text, &specs);
                specs.extend(covering);
            }
            for spec in specs {
                if !already_indexed(snapshot, table, &spec) {
                    found.insert(spec);
                }
            }
        }
    }
    found.into_iter().collect()
}

/// The catalog table a relation of the statement names: `schema.name`;
/// without a schema, the one in `public`, else the only one of that name.
pub(crate) fn resolve<'a>(snapshot: &'a Snapshot, relation: &RelationFacts) -> Option<&'a Table> {
    snapshot
        .catalog
        .resolve(relation.schema.as_deref(), &relation.name)
}

/// A key column with how much of the table an equality or range on it keeps.
struct Key {
    column: ColumnExpr,
    selectivity: f64,
}

fn relation_candidates(
    table: &Table,
    relation: &RelationFacts,
    aggregates: &[&str],
    max_width: usize,
) -> Vec<IndexSpec> {
    let columns = &relation.columns;
    let usable = |column: &ColumnExpr| usable(table, column, aggregates);

    // Equality-like: compared with a value, a list, or a column of another
    // relation (the inner side of a nested loop probes it like a parameter).
    let mut equalities: Vec<Key> = Vec::new();
    for equality in &columns.equality {
        push_key(
            &mut equalities,
            table,
            &equality.column,
            1.0,
            usable(&equality.column),
        );
    }
    for in_list in columns.in_list.iter().filter(|in_list| !in_list.negated) {
        let values = match in_list.values {
            InValues::List(n) => f64::from(n.max(1)),
            InValues::Array | InValues::Subquery => 10.0,
        };
        push_key(
            &mut equalities,
            table,
            &in_list.column,
            values,
            usable(&in_list.column),
        );
    }
    equalities.sort_by(|a, b| {
        a.selectivity
            .total_cmp(&b.selectivity)
            .then_with(|| a.column.cmp(&b.column))
    });

    let mut ranges: Vec<Key> = Vec::new();
    for range in columns
        .range
        .iter()
        .filter(|range| range.value != Operand::Column && usable(&range.column))
    {
        if equalities.iter().any(|key| key.column == range.column)
            || ranges.iter().any(|key| key.column == range.column)
        {
            continue;
        }
        let bounded = range.op == RangeOp::Between
            || columns
                .range
                .iter()
                .filter(|other| other.column == range.column)
                .count()
                >= 2;
        ranges.push(Key {
            column: range.column.clone(),
            selectivity: if bounded {
                DEFAULT_RANGE_SEL
            } else {
                DEFAULT_INEQ_SEL
            },
        });
    }
    ranges.sort_by(|a, b| {
        a.selectivity
            .total_cmp(&b.selectivity)
            .then_with(|| a.column.cmp(&b.column))
    });

    let order = order_keys(&columns.order_by, &usable);
    let group = columns.group_by.iter().find(|column| usable(column));

    let mut specs: Vec<Vec<IndexKeySpec>> = Vec::new();
    // Single columns.
    for key in equalities.iter().chain(&ranges) {
        specs.push(vec![plain(&key.column)]);
    }
    if let Some(first) = order.first() {
        // One key: an ascending index read backwards serves either direction.
        specs.push(vec![IndexKeySpec {
            descending: false,
            ..first.clone()
        }]);
    }
    if let Some(group) = group {
        specs.push(vec![plain(group)]);
    }
    if max_width >= 2 {
        // Pairs: an equality column, then a less selective equality column,
        // a range or the sort. (Two equalities the other way round cost the
        // same for this statement; the most selective first is OPT001's.)
        for (i, first) in equalities.iter().enumerate() {
            let seconds = equalities[i + 1..]
                .iter()
                .map(|key| plain(&key.column))
                .chain(ranges.iter().map(|key| plain(&key.column)))
                .chain(order.first().map(|key| IndexKeySpec {
                    descending: false,
                    ..key.clone()
                }));
            for second in seconds {
                specs.push(vec![plain(&first.column), second]);
            }
        }
        // The ideal orders, and their prefixes: equalities, then the most
        // selective range, or else the sort keys (the sort must come right
        // after the equalities to be read in order).
        let equality_keys: Vec<IndexKeySpec> =
            equalities.iter().map(|key| plain(&key.column)).collect();
        let mut with_range = equality_keys.clone();
        with_range.extend(ranges.first().map(|key| plain(&key.column)));
        let mut with_order = equality_keys;
        with_order.extend(order.iter().cloned());
        for ideal in [with_range, with_order] {
            for width in 2..=max_width.min(ideal.len()) {
                specs.push(ideal[..width].to_vec());
            }
        }
    }

    let mut out: Vec<IndexSpec> = specs
        .into_iter()
        .filter(|keys| distinct_keys(keys))
        .map(|keys| btree(table, keys))
        .collect();
    out.extend(gin_candidates(table, relation));
    out
}

/// Covering variants of the one-key B-tree candidates `specs` of one
/// table: the same key with every other column the statement reads from the table
/// (as far as its text tells, see [`Mentions`]) in `INCLUDE`, so that an
/// index-only scan can answer it. Only where the text shows what it reads
/// (no `*`, a catalog that lists the table's columns), where the key is a
/// plain column, and where the index stays narrow: at most
/// [`MAX_COVERING_COLUMNS`] columns in all, and at most
/// [`MAX_COVERING_SHARE`] of the table's row width when `pg_stats` knows
/// the widths. A narrow covering index is what turns a scan of most of a
/// wide table into a read of a much smaller index. (Variants of two-key
/// candidates too made TPC-H's candidate set a quarter larger and its
/// selections no better.)
fn covering_candidates(table: &Table, text: &Mentions, specs: &[IndexSpec]) -> Vec<IndexSpec> {
    if text.star || table.columns.is_empty() {
        return Vec::new();
    }
    let read: Vec<&str> = table
        .columns
        .iter()
        .filter(|column| text.mentions(&column.name))
        .map(|column| column.name.as_str())
        .collect();
    let width = |columns: &[&str]| -> Option<i64> {
        columns
            .iter()
            .map(|name| {
                let stats = table.column(name)?.stats.as_ref()?;
                Some(i64::from(stats.avg_width.max(1)))
            })
            .sum()
    };
    let row_width = {
        let all: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        width(&all)
    };
    let mut out = Vec::new();
    for spec in specs {
        if spec.method != "btree"
            || !spec.include.is_empty()
            || spec.keys.len() > 1
            || spec.keys.iter().any(|key| key.expression.is_some())
        {
            continue;
        }
        let include: Vec<String> = read
            .iter()
            .filter(|column| !spec.keys.iter().any(|key| key.column == **column))
            .map(|column| column.to_string())
            .collect();
        if include.is_empty() || spec.keys.len() + include.len() > MAX_COVERING_COLUMNS {
            continue;
        }
        let narrow = match (width(&read), row_width) {
            (Some(index), Some(row)) => index as f64 <= MAX_COVERING_SHARE * row as f64,
            _ => true,
        };
        if narrow {
            out.push(IndexSpec {
                include,
                ..spec.clone()
            });
        }
    }
    out
}

/// Adds `column` as an equality-like key unless it is there already.
fn push_key(keys: &mut Vec<Key>, table: &Table, column: &ColumnExpr, values: f64, usable: bool) {
    if !usable || keys.iter().any(|key| &key.column == column) {
        return;
    }
    keys.push(Key {
        column: column.clone(),
        selectivity: (equality_selectivity(table, &column.column) * values).min(1.0),
    });
}

/// The fraction of rows an equality on `column` keeps: 1 / distinct values
/// from `pg_stats`, PostgreSQL's default without statistics.
fn equality_selectivity(table: &Table, column: &str) -> f64 {
    match table.column(column).and_then(|c| c.stats.as_ref()) {
        Some(stats) => {
            let distinct = stats.distinct_values(table.rows()).max(1.0);
            ((1.0 - stats.null_frac) / distinct).clamp(0.0, 1.0)
        }
        None => DEFAULT_EQ_SEL,
    }
}

/// The sort keys usable as index keys, in `ORDER BY` order. When the
/// directions are mixed the index must store them that way; when they
/// agree, an ascending index read backwards serves a descending sort.
fn order_keys(order_by: &[OrderKey], usable: &impl Fn(&ColumnExpr) -> bool) -> Vec<IndexKeySpec> {
    let mut keys: Vec<&OrderKey> = order_by.iter().collect();
    keys.sort_by_key(|key| key.position);
    // A key the index cannot hold ends what an index can serve.
    let keys: Vec<&OrderKey> = keys
        .into_iter()
        .take_while(|key| key.direction != SortDirection::Using && usable(&key.column))
        .collect();
    let descending = |key: &OrderKey| key.direction == SortDirection::Desc;
    let mixed = keys.iter().any(|k| descending(k)) && !keys.iter().all(|k| descending(k));
    keys.into_iter()
        .map(|key| IndexKeySpec {
            descending: mixed && descending(key),
            ..plain(&key.column)
        })
        .collect()
}

/// GIN candidates for operators a B-tree cannot serve. Only bare columns:
/// optidb does not guess the expression a GIN index would need.
fn gin_candidates(table: &Table, relation: &RelationFacts) -> Vec<IndexSpec> {
    let columns = &relation.columns;
    let mut out = Vec::new();
    for jsonb in columns
        .jsonb
        .iter()
        .filter(|p| p.op != JsonbOp::Field && p.column.expression.is_none())
    {
        out.push(gin(table, &jsonb.column.column, None));
    }
    let trigram = |column: &ColumnExpr| {
        column.expression.is_none() && table_has_column(table, &column.column)
    };
    for like in columns.like.iter().filter(|like| !like.negated) {
        // A B-tree serves `LIKE 'abc%'` only with a pattern opclass or the C
        // collation, and never ILIKE or a leading wildcard: trigram GIN does.
        let btree_able = !like.case_insensitive && like.leading_wildcard == Some(false);
        if !btree_able && trigram(&like.column) {
            out.push(gin(table, &like.column.column, Some("gin_trgm_ops")));
        }
    }
    for other in &columns.other {
        if matches!(other.operator.as_str(), "~" | "~*") && trigram(&other.column) {
            out.push(gin(table, &other.column.column, Some("gin_trgm_ops")));
        }
    }
    out
}

/// Whether `column` can be an index key: a column the table has (when the
/// catalog lists its columns), or an expression optidb could render without
/// parameters and that calls none of `aggregates`.
fn usable(table: &Table, column: &ColumnExpr, aggregates: &[&str]) -> bool {
    match &column.expression {
        None => table_has_column(table, &column.column),
        Some(expression) => {
            let lower = expression.to_ascii_lowercase();
            !expression.contains('$')
                && !expression.contains('…')
                && !aggregates
                    .iter()
                    .any(|name| lower.contains(&format!("{}(", name.to_ascii_lowercase())))
        }
    }
}

fn table_has_column(table: &Table, column: &str) -> bool {
    table.columns.is_empty() || table.column(column).is_some()
}

fn plain(column: &ColumnExpr) -> IndexKeySpec {
    IndexKeySpec {
        column: column.column.clone(),
        expression: column.expression.clone(),
        opclass: None,
        descending: false,
    }
}

fn distinct_keys(keys: &[IndexKeySpec]) -> bool {
    keys.iter().enumerate().all(|(i, key)| {
        keys[..i]
            .iter()
            .all(|earlier| earlier.column != key.column || earlier.expression != key.expression)
    })
}

fn btree(table: &Table, keys: Vec<IndexKeySpec>) -> IndexSpec {
    IndexSpec {
        schema: table.schema.clone(),
        table: table.name.clone(),
        method: "btree".into(),
        keys,
        include: Vec::new(),
        predicate: None,
    }
}

fn gin(table: &Table, column: &str, opclass: Option<&str>) -> IndexSpec {
    IndexSpec {
        schema: table.schema.clone(),
        table: table.name.clone(),
        method: "gin".into(),
        keys: vec![IndexKeySpec {
            opclass: opclass.map(str::to_string),
            ..IndexKeySpec::column(column)
        }],
        include: Vec::new(),
        predicate: None,
    }
}

/// Whether a valid existing index already gives what `spec` would: for a
/// B-tree, a non-partial B-tree whose keys start with `spec`'s keys; for a
/// GIN, a GIN on the same column and operator class.
fn already_indexed(snapshot: &Snapshot, table: &Table, spec: &IndexSpec) -> bool {
    snapshot
        .catalog
        .indexes_of(&table.schema, &table.name)
        .filter(|index| index.valid && index.predicate.is_none() && index.method == spec.method)
        .any(|index| covers(index, spec))
}

fn covers(index: &Index, spec: &IndexSpec) -> bool {
    let holds = |column: &String| {
        index.include.contains(column)
            || index
                .keys
                .iter()
                .any(|key| key.column.as_deref() == Some(column.as_str()))
    };
    spec.include.iter().all(holds)
        && index.keys.len() >= spec.keys.len()
        && index.keys.iter().zip(&spec.keys).all(|(have, want)| {
            let same_key = match (&want.expression, &have.expression) {
                (None, None) => have.column.as_deref() == Some(want.column.as_str()),
                (Some(want), Some(have)) => normalize(want) == normalize(have),
                _ => false,
            };
            same_key && have.opclass == want.opclass && have.descending == want.descending
        })
}

/// An expression without the noise `pg_get_indexdef` adds (casts to text,
/// parentheses, quotes, spaces, case): `lower((email)::text)` = `lower(email)`.
fn normalize(expression: &str) -> String {
    expression
        .to_ascii_lowercase()
        .replace("::text", "")
        .replace("::character varying", "")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"'))
        .collect()
}

/// `spec` as the `CREATE INDEX` HypoPG takes: no name, no `CONCURRENTLY`,
/// identifiers always quoted, e.g. `CREATE INDEX ON "public"."users" USING
/// btree ("email")`.
pub fn hypothetical_ddl(spec: &IndexSpec) -> String {
    format!("CREATE INDEX {}", spec.definition())
}

#[cfg(test)]
mod tests {
    use optidb_model::facts::{QueryFacts, StatementFacts};
    use optidb_model::{Catalog, Column, ColumnStats, IndexKey, Statement};

    use super::*;

    fn column(name: &str, distinct: f64) -> Column {
        Column {
            name: name.into(),
            stats: Some(ColumnStats {
                n_distinct: distinct,
                ..ColumnStats::default()
            }),
            ..Column::default()
        }
    }

    fn table(name: &str, rows: u64, columns: &[(&str, f64)]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            reltuples: rows as f64,
            columns: columns.iter().map(|(n, d)| column(n, *d)).collect(),
            ..Table::default()
        }
    }

    /// A snapshot of `tables` and statements whose facts come from `facts`.
    fn scenario(
        tables: Vec<Table>,
        indexes: Vec<Index>,
        facts: Vec<QueryFacts>,
    ) -> (Snapshot, WorkloadFacts) {
        let snapshot = Snapshot {
            statements: (0..facts.len())
                .map(|i| Statement {
                    queryid: i as i64,
                    calls: 1,
                    ..Statement::default()
                })
                .collect(),
            catalog: Catalog {
                tables,
                indexes,
                ..Catalog::default()
            },
            ..Snapshot::default()
        };
        let workload = WorkloadFacts {
            statements: facts
                .into_iter()
                .enumerate()
                .map(|(i, facts)| StatementFacts {
                    queryid: i as i64,
                    fingerprint: format!("{i:016x}"),
                    facts,
                })
                .collect(),
            ..WorkloadFacts::default()
        };
        (snapshot, workload)
    }

    fn relation(name: &str, columns: optidb_model::facts::ColumnFacts) -> RelationFacts {
        RelationFacts {
            id: 0,
            block: 0,
            kind: RelationKind::Table,
            schema: None,
            name: name.into(),
            alias: None,
            target: false,
            updated_columns: Vec::new(),
            columns,
        }
    }

    fn select(relations: Vec<RelationFacts>) -> QueryFacts {
        let mut facts = QueryFacts::new(StatementKind::Select);
        facts.relations = relations;
        facts
    }

    fn eq(column: &str) -> optidb_model::facts::Equality {
        optidb_model::facts::Equality {
            column: ColumnExpr::bare(column),
            value: Operand::Param,
            param: Some(1),
        }
    }

    fn listed(specs: &[IndexSpec]) -> Vec<String> {
        specs
            .iter()
            .map(|spec| {
                format!(
                    "{}:{}({})",
                    spec.method,
                    spec.table,
                    spec.key_list().join(",")
                )
            })
            .collect()
    }

    fn tickets() -> Table {
        table(
            "support_tickets",
            150_000,
            &[
                ("id", -1.0),
                ("user_id", 25_000.0),
                ("status", 4.0),
                ("created_at", -1.0),
            ],
        )
    }

    #[test]
    fn equality_columns_lead_most_selective_first_then_range_then_sort() {
        let facts = select(vec![relation(
            "support_tickets",
            optidb_model::facts::ColumnFacts {
                equality: vec![eq("status"), eq("user_id")],
                order_by: vec![OrderKey {
                    position: 0,
                    column: ColumnExpr::bare("created_at"),
                    direction: SortDirection::Desc,
                    nulls: optidb_model::facts::NullsOrder::Default,
                }],
                ..Default::default()
            },
        )]);
        let (snapshot, workload) = scenario(vec![tickets()], Vec::new(), vec![facts]);
        assert_eq!(
            listed(&candidates(&snapshot, &workload, 3)),
            [
                "btree:support_tickets(created_at)",
                "btree:support_tickets(status)",
                "btree:support_tickets(status,created_at)",
                "btree:support_tickets(user_id)",
                "btree:support_tickets(user_id,created_at)",
                "btree:support_tickets(user_id,status)",
                "btree:support_tickets(user_id,status,created_at)",
            ]
        );
        let narrow = candidates(&snapshot, &workload, 1);
        assert!(narrow.iter().all(|spec| spec.keys.len() == 1), "{narrow:?}");
    }

    #[test]
    fn what_an_existing_index_provides_is_no_candidate() {
        let facts = select(vec![relation(
            "support_tickets",
            optidb_model::facts::ColumnFacts {
                equality: vec![eq("status"), eq("user_id")],
                ..Default::default()
            },
        )]);
        let index = Index {
            schema: "public".into(),
            name: "t_status_user".into(),
            table: "support_tickets".into(),
            method: "btree".into(),
            keys: ["status", "user_id"]
                .iter()
                .map(|c| IndexKey {
                    column: Some(c.to_string()),
                    definition: c.to_string(),
                    ..IndexKey::default()
                })
                .collect(),
            valid: true,
            ..Index::default()
        };
        let (snapshot, workload) = scenario(vec![tickets()], vec![index], vec![facts]);
        assert_eq!(
            listed(&candidates(&snapshot, &workload, 2)),
            [
                "btree:support_tickets(user_id)",
                "btree:support_tickets(user_id,status)"
            ]
        );
    }

    #[test]
    fn expressions_ranges_joins_and_gin_operators() {
        use optidb_model::facts::{JsonbPredicate, Like, Range};
        let users = select(vec![relation(
            "users",
            optidb_model::facts::ColumnFacts {
                equality: vec![optidb_model::facts::Equality {
                    column: ColumnExpr {
                        column: "email".into(),
                        expression: Some("lower(email)".into()),
                    },
                    value: Operand::Param,
                    param: Some(1),
                }],
                range: vec![Range {
                    column: ColumnExpr::bare("created_at"),
                    op: RangeOp::Ge,
                    value: Operand::Param,
                    param: Some(2),
                    upper_param: None,
                }],
                like: vec![Like {
                    column: ColumnExpr::bare("name"),
                    case_insensitive: true,
                    negated: false,
                    leading_wildcard: None,
                    param: Some(3),
                }],
                jsonb: vec![JsonbPredicate {
                    column: ColumnExpr::bare("prefs"),
                    op: JsonbOp::Contains,
                }],
                ..Default::default()
            },
        )]);
        let mut join = select(vec![
            relation(
                "orders",
                optidb_model::facts::ColumnFacts {
                    equality: vec![optidb_model::facts::Equality {
                        column: ColumnExpr::bare("user_id"),
                        value: Operand::Column,
                        param: None,
                    }],
                    ..Default::default()
                },
            ),
            // A relation the catalog does not know gives nothing.
            relation(
                "elsewhere",
                optidb_model::facts::ColumnFacts {
                    equality: vec![eq("x")],
                    ..Default::default()
                },
            ),
        ]);
        join.relations[1].id = 1;
        let tables = vec![
            table(
                "users",
                10_000,
                &[
                    ("email", -1.0),
                    ("created_at", -1.0),
                    ("name", 100.0),
                    ("prefs", 10.0),
                ],
            ),
            table("orders", 100_000, &[("user_id", 10_000.0)]),
        ];
        let (snapshot, workload) = scenario(tables, Vec::new(), vec![users, join]);
        let found = candidates(&snapshot, &workload, 2);
        assert_eq!(
            listed(&found),
            [
                "btree:orders(user_id)",
                "btree:users(created_at)",
                "btree:users(lower(email))",
                "btree:users(lower(email),created_at)",
                "gin:users(name)",
                "gin:users(prefs)",
            ]
        );
        assert_eq!(
            found.iter().filter(|spec| is_costable(spec)).count(),
            4,
            "GIN is not costable"
        );
        let ddl: Vec<String> = found.iter().map(hypothetical_ddl).collect();
        assert_eq!(
            ddl[3],
            "CREATE INDEX ON \"public\".\"users\" USING btree ((lower(email)), \"created_at\")"
        );
        assert_eq!(
            ddl[4],
            "CREATE INDEX ON \"public\".\"users\" USING gin (\"name\" gin_trgm_ops)"
        );
        assert_eq!(
            crate::whatif::hypothetical_ddl(&ddl[3]),
            ddl[3],
            "what HypoPG takes as it is"
        );
    }

    /// `orders(id, user_id, total, note)` with widths from `pg_stats`: a
    /// wide `note`.
    fn orders_table() -> Table {
        let mut orders = table(
            "orders",
            100_000,
            &[
                ("id", -1.0),
                ("user_id", 10_000.0),
                ("total", 1_000.0),
                ("note", -1.0),
            ],
        );
        for column in &mut orders.columns {
            if let Some(stats) = column.stats.as_mut() {
                stats.avg_width = if column.name == "note" { 200 } else { 8 };
            }
        }
        orders
    }

    /// `WHERE user_id = $1` on `orders`, for the statement `text`.
    fn by_user(text: &str, indexes: Vec<Index>) -> Vec<String> {
        let facts = select(vec![relation(
            "orders",
            optidb_model::facts::ColumnFacts {
                equality: vec![eq("user_id")],
                ..Default::default()
            },
        )]);
        let (mut snapshot, workload) = scenario(vec![orders_table()], indexes, vec![facts]);
        snapshot.statements[0].query = text.into();
        candidates(&snapshot, &workload, 2)
            .iter()
            .map(hypothetical_ddl)
            .collect()
    }

    #[test]
    fn a_covering_variant_holds_the_other_columns_the_statement_reads() {
        let plain = "CREATE INDEX ON \"public\".\"orders\" USING btree (\"user_id\")";
        let covering = format!("{plain} INCLUDE (\"id\", \"total\")");
        let found = by_user(
            "SELECT id, sum(total) FROM orders WHERE user_id = $1",
            Vec::new(),
        );
        assert_eq!(found, [plain.to_string(), covering.clone()]);
        assert_eq!(
            crate::whatif::hypothetical_ddl(&covering),
            covering,
            "what HypoPG takes as it is"
        );

        // An existing index on the key does not cover; one that holds the
        // columns does.
        let index = |include: &[&str]| Index {
            schema: "public".into(),
            name: "orders_user".into(),
            table: "orders".into(),
            method: "btree".into(),
            keys: vec![IndexKey {
                column: Some("user_id".into()),
                definition: "user_id".into(),
                ..IndexKey::default()
            }],
            include: include.iter().map(|c| c.to_string()).collect(),
            valid: true,
            ..Index::default()
        };
        let text = "SELECT id, total FROM orders WHERE user_id = $1";
        assert_eq!(by_user(text, vec![index(&[])]), [covering]);
        assert!(by_user(text, vec![index(&["id", "total"])]).is_empty());
    }

    #[test]
    fn no_covering_variant_without_a_known_or_narrow_column_list() {
        let plain = ["CREATE INDEX ON \"public\".\"orders\" USING btree (\"user_id\")"];
        // Only the key is read: the plain index already covers.
        assert_eq!(
            by_user("SELECT user_id FROM orders WHERE user_id = $1", Vec::new()),
            plain
        );
        // `*` reads every column.
        assert_eq!(
            by_user("SELECT * FROM orders WHERE user_id = $1", Vec::new()),
            plain
        );
        // `note` makes the index most of the row.
        assert_eq!(
            by_user(
                "SELECT note, total FROM orders WHERE user_id = $1",
                Vec::new()
            ),
            plain
        );
    }

    /// `FROM customer, orders WHERE c_custkey = o_custkey AND o_orderdate
    /// < $1 ORDER BY sum(o_totalprice)`, unqualified: the facts leave the
    /// columns unresolved, the catalog places them.
    #[test]
    fn unqualified_join_and_filter_columns_give_candidates_on_their_tables() {
        use optidb_model::facts::{JoinPair, Range, RelationColumn};
        let mut facts = select(vec![
            relation("customer", Default::default()),
            relation("orders", Default::default()),
        ]);
        facts.relations[1].id = 1;
        let unqualified = |column: &str| RelationColumn {
            relation: None,
            column: ColumnExpr::bare(column),
        };
        facts.joins = vec![JoinPair {
            left: unqualified("c_custkey"),
            right: unqualified("o_custkey"),
            operator: "=".into(),
        }];
        facts.unresolved.range = vec![Range {
            column: ColumnExpr::bare("o_orderdate"),
            op: RangeOp::Lt,
            value: Operand::Param,
            param: Some(1),
            upper_param: None,
        }];
        facts.unresolved.order_by = vec![OrderKey {
            position: 0,
            column: ColumnExpr {
                column: "o_totalprice".into(),
                expression: Some("sum(o_totalprice)".into()),
            },
            direction: SortDirection::Desc,
            nulls: optidb_model::facts::NullsOrder::Default,
        }];
        facts.aggregates = vec!["sum".into()];
        let tables = vec![
            table(
                "customer",
                150_000,
                &[("c_custkey", -1.0), ("c_name", -1.0)],
            ),
            table(
                "orders",
                1_500_000,
                &[
                    ("o_custkey", 100_000.0),
                    ("o_orderdate", 2_400.0),
                    ("o_totalprice", -1.0),
                ],
            ),
        ];
        let (snapshot, workload) = scenario(tables, Vec::new(), vec![facts]);
        assert_eq!(
            listed(&candidates(&snapshot, &workload, 2)),
            [
                "btree:customer(c_custkey)",
                "btree:orders(o_custkey)",
                "btree:orders(o_custkey,o_orderdate)",
                "btree:orders(o_orderdate)",
            ]
        );
    }

    #[test]
    fn mixed_sort_directions_are_kept_in_the_index() {
        let facts = select(vec![relation(
            "support_tickets",
            optidb_model::facts::ColumnFacts {
                order_by: vec![
                    OrderKey {
                        position: 0,
                        column: ColumnExpr::bare("status"),
                        direction: SortDirection::Default,
                        nulls: optidb_model::facts::NullsOrder::Default,
                    },
                    OrderKey {
                        position: 1,
                        column: ColumnExpr::bare("created_at"),
                        direction: SortDirection::Desc,
                        nulls: optidb_model::facts::NullsOrder::Default,
                    },
                ],
                ..Default::default()
            },
        )]);
        let (snapshot, workload) = scenario(vec![tickets()], Vec::new(), vec![facts]);
        let found = candidates(&snapshot, &workload, 2);
        let ddl: Vec<String> = found.iter().map(hypothetical_ddl).collect();
        assert_eq!(
            ddl,
            [
                "CREATE INDEX ON \"public\".\"support_tickets\" USING btree (\"status\")",
                "CREATE INDEX ON \"public\".\"support_tickets\" USING btree (\"status\", \"created_at\" DESC)",
            ]
        );
    }
}
