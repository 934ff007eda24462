//! What the index rules share: when two indexes are the same index under two
//! names (OPT004), when one is a strict prefix of another (OPT005), and which
//! of them should go. OPT006 asks the same questions so that it never
//! reports an index the other two already ask to drop.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use optidb_model::{Catalog, Evidence, Finding, Fix, Index, Severity};

use super::finding;
use crate::Rule;

/// Indexes of one table that are the same index under different names.
pub(super) struct DuplicateGroup<'a> {
    /// The one to keep: it backs a constraint, else is unique, else is the
    /// most scanned, else comes first by name.
    pub keep: &'a Index,
    /// The others that can go without losing a constraint or a uniqueness
    /// guarantee, in name order.
    pub drop: Vec<&'a Index>,
    /// The others that cannot simply be dropped: each backs a constraint
    /// (or enforces a uniqueness `keep` does not), in name order.
    pub constrained: Vec<&'a Index>,
}

/// An index whose work another index of the same table already does.
pub(super) struct Redundant<'a> {
    /// The index that can go.
    pub index: &'a Index,
    /// The longer index that serves every query it does.
    pub covered_by: &'a Index,
}

/// The duplicate groups and redundant indexes of a catalog.
pub(super) struct IndexShapes<'a> {
    /// Groups of identical valid indexes, by table then name.
    pub duplicates: Vec<DuplicateGroup<'a>>,
    /// Indexes whose keys are a strict prefix of another's, by table then name.
    pub redundant: Vec<Redundant<'a>>,
}

impl<'a> IndexShapes<'a> {
    /// Compares the valid indexes of every table in `catalog`.
    pub fn of(catalog: &'a Catalog) -> Self {
        let mut by_table: BTreeMap<(&str, &str), Vec<&Index>> = BTreeMap::new();
        for index in catalog.indexes.iter().filter(|index| index.valid) {
            by_table
                .entry((index.schema.as_str(), index.table.as_str()))
                .or_default()
                .push(index);
        }
        let mut duplicates = Vec::new();
        let mut redundant = Vec::new();
        for indexes in by_table.values_mut() {
            indexes.sort_by(|a, b| a.name.cmp(&b.name));
            let groups = duplicate_groups(indexes);
            let dropped: HashSet<&str> = groups
                .iter()
                .flat_map(|group| group.drop.iter().map(|index| index.name.as_str()))
                .collect();
            // An index OPT004 drops is neither reported again nor named as
            // the index that makes another redundant.
            let remaining: Vec<&Index> = indexes
                .iter()
                .copied()
                .filter(|index| !dropped.contains(index.name.as_str()))
                .collect();
            for &index in &remaining {
                if let Some(covered_by) = covering_index(&remaining, index) {
                    redundant.push(Redundant { index, covered_by });
                }
            }
            duplicates.extend(groups);
        }
        IndexShapes {
            duplicates,
            redundant,
        }
    }

    /// Whether `index` stays in place of a duplicate or redundant index the
    /// planner did use: once that one is dropped, its queries use `index`,
    /// so `index`'s own `idx_scan = 0` says nothing about its worth.
    pub fn takes_over_used_index(&self, index: &Index) -> bool {
        let same = |other: &Index| other.schema == index.schema && other.name == index.name;
        self.duplicates
            .iter()
            .any(|group| same(group.keep) && group.drop.iter().any(|dropped| dropped.idx_scan > 0))
            || self
                .redundant
                .iter()
                .any(|redundant| same(redundant.covered_by) && redundant.index.idx_scan > 0)
    }

    /// Whether OPT004 or OPT005 asks to drop `index`.
    pub fn asks_to_drop(&self, index: &Index) -> bool {
        let same = |other: &&Index| other.schema == index.schema && other.name == index.name;
        self.duplicates
            .iter()
            .any(|group| group.drop.iter().any(same))
            || self
                .redundant
                .iter()
                .any(|redundant| same(&redundant.index))
    }
}

/// Whether dropping `index` would lose something besides speed: a
/// constraint, a primary key, or a uniqueness guarantee.
pub(super) fn enforces_something(index: &Index) -> bool {
    index.constraint.is_some() || index.primary || index.unique
}

/// `orders(created_at)`: the table and the keys as the definition shows
/// them, with their collation and operator class when not the default and
/// their order when descending.
pub(super) fn keys_text(index: &Index) -> String {
    let collations = key_collations(&index.definition);
    let keys: Vec<String> = index
        .keys
        .iter()
        .enumerate()
        .map(|(k, key)| {
            let mut text = key.definition.clone();
            if let Some(Some(collation)) = collations.get(k) {
                text.push_str(" COLLATE ");
                text.push_str(collation);
            }
            if let Some(opclass) = &key.opclass {
                text.push(' ');
                text.push_str(opclass);
            }
            if key.descending {
                text.push_str(" DESC");
            }
            text
        })
        .collect();
    format!("{}({})", index.table, keys.join(", "))
}

/// Rows written to `index`'s table since statistics were reset (inserts,
/// updates and deletes): every one of them maintains the index, except
/// HOT updates.
pub(super) fn table_writes(catalog: &Catalog, index: &Index) -> u64 {
    catalog
        .table(&index.schema, &index.table)
        .map(|table| table.activity.n_tup_ins + table.activity.n_tup_upd + table.activity.n_tup_del)
        .unwrap_or(0)
}

/// A finding of `rule` that drops `index`, citing what every index-dropping
/// rule cites: its size, its scans and the `writes` that maintain it; when
/// another index takes over its queries, `kept` names that index and the
/// evidence its scans are reported under.
pub(super) fn drop_index_finding(
    rule: &Rule,
    severity: Severity,
    title: String,
    index: &Index,
    kept: Option<(&Index, &str)>,
    writes: u64,
) -> Finding {
    let fix = Fix::DropIndex {
        schema: index.schema.clone(),
        name: index.name.clone(),
        definition: index.definition.clone(),
    };
    let mut finding = finding(rule, severity, title, fix);
    finding.tables = vec![format!("{}.{}", index.schema, index.table)];
    finding.indexes = vec![qualified(index)];
    finding.evidence = vec![
        Evidence::new("index_bytes", index.bytes as f64, "bytes"),
        Evidence::new("index_scans", index.idx_scan as f64, "count"),
    ];
    if let Some((kept, evidence)) = kept {
        finding.indexes.push(qualified(kept));
        finding
            .evidence
            .push(Evidence::new(evidence, kept.idx_scan as f64, "count"));
    }
    finding
        .evidence
        .push(Evidence::new("table_writes", writes as f64, "rows"));
    finding
}

/// `schema.name` of an index (an index lives in its table's schema).
pub(super) fn qualified(index: &Index) -> String {
    format!("{}.{}", index.schema, index.name)
}

pub(super) use optidb_model::text::bytes as size_text;

/// Groups `indexes` (valid, one table, sorted by name) by shape, keeping
/// the groups of two or more.
fn duplicate_groups<'a>(indexes: &[&'a Index]) -> Vec<DuplicateGroup<'a>> {
    let mut groups: Vec<Vec<&Index>> = Vec::new();
    for &index in indexes {
        match groups.iter_mut().find(|group| same_shape(group[0], index)) {
            Some(group) => group.push(index),
            None => groups.push(vec![index]),
        }
    }
    groups
        .into_iter()
        .filter(|group| group.len() > 1)
        .filter_map(|group| {
            let keep = *group.iter().max_by_key(|index| keep_rank(index))?;
            let (drop, constrained) = group
                .into_iter()
                .filter(|index| index.name != keep.name)
                .partition(|index| can_go_beside(index, keep));
            Some(DuplicateGroup {
                keep,
                drop,
                constrained,
            })
        })
        .collect()
}

/// What decides which of several equivalent indexes stays (the greatest):
/// a constraint needs its own index, a unique index enforces what a plain
/// one does not, then the one the planner uses most, then the first name.
fn keep_rank(index: &Index) -> (bool, bool, bool, u64, Reverse<&str>) {
    (
        index.constraint.is_some(),
        index.primary,
        index.unique,
        index.idx_scan,
        Reverse(index.name.as_str()),
    )
}

/// Whether `index` can be dropped while `kept`, of the same shape, stays:
/// it backs no constraint, and any uniqueness it enforces `kept` enforces too.
fn can_go_beside(index: &Index, kept: &Index) -> bool {
    index.constraint.is_none()
        && !index.primary
        && (!index.unique || (kept.unique && nulls_not_distinct(kept) == nulls_not_distinct(index)))
}

/// PostgreSQL 15's `UNIQUE NULLS NOT DISTINCT`, which only the definition shows.
fn nulls_not_distinct(index: &Index) -> bool {
    index.definition.contains(" NULLS NOT DISTINCT")
}

/// Whether `a` and `b` are the same index: same table, access method,
/// keys, INCLUDE columns (in any order) and predicate (and the same
/// `NULLS NOT DISTINCT`, which changes what a unique index enforces).
fn same_shape(a: &Index, b: &Index) -> bool {
    let mut a_include: Vec<&String> = a.include.iter().collect();
    let mut b_include: Vec<&String> = b.include.iter().collect();
    a_include.sort();
    b_include.sort();
    a.schema == b.schema
        && a.table == b.table
        && a.method == b.method
        && a.keys.len() == b.keys.len()
        && leading_keys_equal(a, b, a.keys.len())
        && a_include == b_include
        && a.predicate == b.predicate
        && nulls_not_distinct(a) == nulls_not_distinct(b)
}

/// The index of `indexes` that makes `index` redundant, if any: `index`
/// enforces nothing, and the other is a btree on the same table with the
/// same predicate whose keys start with all of `index`'s and go further,
/// holding `index`'s INCLUDE columns among its keys or INCLUDE columns.
/// When several do, the one that is not redundant itself (it stays), then
/// the one a duplicate group would keep.
fn covering_index<'a>(indexes: &[&'a Index], index: &Index) -> Option<&'a Index> {
    if enforces_something(index) {
        return None;
    }
    let candidates: Vec<&Index> = indexes
        .iter()
        .copied()
        .filter(|other| covers(other, index))
        .collect();
    let stays = |candidate: &&&Index| {
        enforces_something(candidate) || !indexes.iter().any(|other| covers(other, candidate))
    };
    candidates
        .iter()
        .filter(stays)
        .max_by_key(|candidate| keep_rank(candidate))
        .or_else(|| {
            candidates
                .iter()
                .max_by_key(|candidate| keep_rank(candidate))
        })
        .copied()
}

/// Whether `longer` serves every query `shorter` serves: both btree on the
/// same table with the same predicate, `shorter`'s keys a strict prefix of
/// `longer`'s, and `shorter`'s INCLUDE columns among `longer`'s columns.
fn covers(longer: &Index, shorter: &Index) -> bool {
    longer.schema == shorter.schema
        && longer.table == shorter.table
        && longer.method == "btree"
        && shorter.method == "btree"
        && longer.predicate == shorter.predicate
        && !shorter.keys.is_empty()
        && shorter.keys.len() < longer.keys.len()
        && leading_keys_equal(shorter, longer, shorter.keys.len())
        && shorter.include.iter().all(|column| {
            longer.include.contains(column)
                || longer
                    .keys
                    .iter()
                    .any(|key| key.column.as_deref() == Some(column.as_str()))
        })
}

/// Whether the first `count` keys of `a` and `b` are the same: column or
/// expression, operator class, order, NULLS placement and collation.
fn leading_keys_equal(a: &Index, b: &Index, count: usize) -> bool {
    if a.keys.len() < count || b.keys.len() < count {
        return false;
    }
    let a_collations = key_collations(&a.definition);
    let b_collations = key_collations(&b.definition);
    (0..count).all(|k| {
        let (x, y) = (&a.keys[k], &b.keys[k]);
        x.column == y.column
            && x.expression == y.expression
            && x.opclass == y.opclass
            && x.descending == y.descending
            && x.nulls_first == y.nulls_first
            && a_collations.get(k) == b_collations.get(k)
    })
}

/// The `COLLATE` of each key in a `CREATE INDEX` definition (`None` where
/// a key has none), which only the definition shows: an index on
/// `name COLLATE "C"` does not serve comparisons in the default collation.
fn key_collations(definition: &str) -> Vec<Option<&str>> {
    key_list(definition)
        .into_iter()
        .map(|key| {
            let (_, after) = key.split_once(" COLLATE ")?;
            let name_end = if let Some(quoted) = after.strip_prefix('"') {
                // The closing quote, counted from `after`, included.
                quoted.find('"').map_or(after.len(), |end| end + 2)
            } else {
                after.find(' ').unwrap_or(after.len())
            };
            Some(&after[..name_end])
        })
        .collect()
}

/// The keys of a `CREATE INDEX … USING method (k1, k2) …` definition as
/// written: the first parenthesised list after `USING`, split at its
/// top-level commas. Empty when the definition has no such list.
fn key_list(definition: &str) -> Vec<&str> {
    let Some(using) = definition.find(" USING ") else {
        return Vec::new();
    };
    let Some(open) = definition[using..].find('(').map(|at| using + at) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = open + 1;
    for (at, c) in definition.char_indices().skip_while(|(at, _)| *at < open) {
        match (quote, c) {
            (Some(open_quote), c) if c == open_quote => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    keys.push(definition[start..at].trim());
                    return keys;
                }
            }
            (None, ',') if depth == 1 => {
                keys.push(definition[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    // Unbalanced: tell nothing rather than something wrong.
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;

    #[test]
    fn key_lists_split_at_top_level_commas_only() {
        assert_eq!(
            key_list(
                "CREATE INDEX i ON public.t USING btree (a, lower((b)::text), \"c,d\" DESC) INCLUDE (e)"
            ),
            ["a", "lower((b)::text)", "\"c,d\" DESC"]
        );
        assert_eq!(
            key_collations(
                "CREATE INDEX i ON public.t USING btree (a COLLATE \"C\", b, c COLLATE \"en-x-icu\" DESC)"
            ),
            [Some("\"C\""), None, Some("\"en-x-icu\"")]
        );
        assert!(key_list("not an index").is_empty());
        assert!(key_list("CREATE INDEX i ON t USING btree (a").is_empty());
    }

    #[test]
    fn a_collation_makes_a_different_index() {
        let scenario = Scenario::new()
            .table("t", 100_000, &[("a", 10.0)])
            .index("t", "t_a", &["a"], 1)
            .index("t", "t_a_c", &["a"], 1)
            .index_with("t_a_c", |index| {
                index.definition =
                    "CREATE INDEX t_a_c ON public.t USING btree (a COLLATE \"C\")".into();
            });
        let shapes = IndexShapes::of(&scenario.snapshot.catalog);
        assert!(shapes.duplicates.is_empty());
    }

    #[test]
    fn the_unique_one_of_two_identical_indexes_stays() {
        let scenario = Scenario::new()
            .table("t", 100_000, &[("a", -1.0)])
            .index("t", "t_a_key", &["a"], 0)
            .index("t", "t_a_plain", &["a"], 50)
            .index_with("t_a_key", |index| index.unique = true);
        let shapes = IndexShapes::of(&scenario.snapshot.catalog);
        let group = &shapes.duplicates[0];
        assert_eq!(group.keep.name, "t_a_key");
        assert_eq!(group.drop[0].name, "t_a_plain");
        assert!(group.constrained.is_empty());
    }

    #[test]
    fn a_redundant_index_names_the_index_that_stays() {
        let scenario = Scenario::new()
            .table("t", 100_000, &[("a", 10.0), ("b", 10.0), ("c", 10.0)])
            .index("t", "t_a", &["a"], 5)
            .index("t", "t_a_b", &["a", "b"], 5)
            .index("t", "t_a_b_c", &["a", "b", "c"], 5);
        let shapes = IndexShapes::of(&scenario.snapshot.catalog);
        let pairs: Vec<(&str, &str)> = shapes
            .redundant
            .iter()
            .map(|r| (r.index.name.as_str(), r.covered_by.name.as_str()))
            .collect();
        assert_eq!(pairs, [("t_a", "t_a_b_c"), ("t_a_b", "t_a_b_c")]);
    }

    #[test]
    fn nulls_not_distinct_makes_a_different_unique_index() {
        let scenario = Scenario::new()
            .table("t", 100_000, &[("a", -1.0)])
            .index("t", "t_a_key", &["a"], 0)
            .index("t", "t_a_nnd", &["a"], 0)
            .index_with("t_a_key", |index| index.unique = true)
            .index_with("t_a_nnd", |index| {
                index.unique = true;
                index.definition =
                    "CREATE UNIQUE INDEX t_a_nnd ON public.t USING btree (a) NULLS NOT DISTINCT"
                        .into();
            });
        assert!(
            IndexShapes::of(&scenario.snapshot.catalog)
                .duplicates
                .is_empty()
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(512.0), "512 bytes");
        assert_eq!(size_text(622_592.0), "608 KiB");
        assert_eq!(size_text(5_627_904.0), "5.4 MiB");
        assert_eq!(size_text(16_384.0 * 8_192.0), "128 MiB");
    }
}
