//! Families: statements grouped by fingerprint, then fingerprints of the
//! same kind over the same tables with similar predicates clustered
//! together (ORMs that add a filter or switch `=` for `IN` produce many
//! fingerprints for what is one access path).

use std::collections::{BTreeMap, BTreeSet};

use optidb_model::facts::{ColumnFacts, Family, QueryFacts, StatementKind};

use crate::outliers::{median, outliers};

/// Two fingerprints of the same kind over the same tables belong to one
/// family when the Jaccard similarity of their predicate signatures (sets
/// of `table.column:class`) is at least this. One half keeps together an
/// app that adds an optional filter to a query (`a = $1` vs `a = $1 AND b
/// = $2`: 1/2) and keeps apart different access paths over the same table
/// (`email = $1` vs `id = $1`: 0).
pub const PREDICATE_SIMILARITY: f64 = 0.5;

/// One statement to put in a family.
#[derive(Debug, Clone, Copy)]
pub struct FamilyInput<'a> {
    /// The statement's id (`pg_stat_statements.queryid`).
    pub id: i64,
    /// Its fingerprint (see [`crate::fingerprint`]).
    pub fingerprint: &'a str,
    /// Its facts (see [`crate::facts()`]).
    pub facts: &'a QueryFacts,
    /// Its mean execution time, in milliseconds.
    pub mean_time_ms: f64,
}

/// Members by fingerprint.
type ByFingerprint<'a> = BTreeMap<&'a str, Vec<FamilyInput<'a>>>;

/// Statements with one fingerprint (and, because PostgreSQL 18
/// fingerprints hide aliased table names, one table set).
struct Group<'a> {
    fingerprint: &'a str,
    members: Vec<FamilyInput<'a>>,
    signature: BTreeSet<String>,
}

/// Groups `members` into families, sorted by tables, kind and fingerprint.
/// Every member lands in exactly one family; outliers are computed per
/// family (see [`crate::outliers()`]). Deterministic: the input order does
/// not matter.
pub fn families(members: &[FamilyInput<'_>]) -> Vec<Family> {
    // (kind, tables) → fingerprint → members
    let mut buckets: BTreeMap<(StatementKind, Vec<String>), ByFingerprint<'_>> = BTreeMap::new();
    for member in members {
        buckets
            .entry((member.facts.kind.clone(), member.facts.table_names()))
            .or_default()
            .entry(member.fingerprint)
            .or_default()
            .push(*member);
    }
    let mut families = Vec::new();
    for ((kind, tables), by_fingerprint) in buckets {
        let groups: Vec<Group<'_>> = by_fingerprint
            .into_iter()
            .map(|(fingerprint, mut members)| {
                members.sort_by_key(|m| m.id);
                let signature = signature(members[0].facts);
                Group {
                    fingerprint,
                    members,
                    signature,
                }
            })
            .collect();
        for component in cluster(&groups) {
            families.push(family(
                &kind,
                &tables,
                component.iter().map(|&i| &groups[i]).collect(),
            ));
        }
    }
    families.sort_by(|a, b| {
        (&a.tables, &a.kind, &a.fingerprints).cmp(&(&b.tables, &b.kind, &b.fingerprints))
    });
    families
}

/// Leader clustering: groups are taken simplest first (fewest predicates,
/// then most members, then fingerprint) and each joins the first family
/// whose leader (its first group) is similar enough, or leads a new one.
/// Every member is thus similar to its family's leader: unlike
/// single-linkage, `a` and `b` do not end up together through `a AND b`.
/// The order depends only on the groups' contents, not on the input order.
/// Each cluster lists group indexes, its leader first.
fn cluster(groups: &[Group<'_>]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| {
        let group = &groups[i];
        (
            group.signature.len(),
            std::cmp::Reverse(group.members.len()),
            group.fingerprint,
        )
    });
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let similar = clusters.iter_mut().find(|cluster| {
            jaccard(&groups[cluster[0]].signature, &groups[i].signature) >= PREDICATE_SIMILARITY
        });
        match similar {
            Some(cluster) => cluster.push(i),
            None => clusters.push(vec![i]),
        }
    }
    clusters
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.intersection(b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// A statement's predicates as `table.column:class` strings. `=` and `IN`
/// are one class (apps switch between them with the number of values);
/// `ORDER BY` and `GROUP BY` are left out: they are not predicates.
fn signature(facts: &QueryFacts) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |table: &str, columns: &ColumnFacts| {
        let mut push = |column: &optidb_model::facts::ColumnExpr, class: &str| {
            let name = column.expression.as_deref().unwrap_or(&column.column);
            out.insert(format!("{table}.{name}:{class}"));
        };
        for e in &columns.equality {
            push(&e.column, "eq");
        }
        for e in &columns.in_list {
            push(&e.column, if e.negated { "not-in" } else { "eq" });
        }
        for e in &columns.range {
            push(&e.column, "range");
        }
        for e in &columns.like {
            push(&e.column, if e.negated { "not-like" } else { "like" });
        }
        for e in &columns.jsonb {
            push(&e.column, "jsonb");
        }
        for e in &columns.null_tests {
            push(&e.column, if e.negated { "not-null" } else { "null" });
        }
        for e in &columns.other {
            push(&e.column, &e.operator);
        }
    };
    for relation in &facts.relations {
        add(&relation.qualified_name(), &relation.columns);
    }
    add("?", &facts.unresolved);
    out
}

fn family(kind: &StatementKind, tables: &[String], groups: Vec<&Group<'_>>) -> Family {
    // The leader's smallest id stands for the family.
    let representative = groups[0].members[0].id;
    let mut fingerprints: Vec<String> = groups.iter().map(|g| g.fingerprint.to_owned()).collect();
    fingerprints.sort();
    let mut member_ids: Vec<i64> = groups
        .iter()
        .flat_map(|g| g.members.iter().map(|m| m.id))
        .collect();
    member_ids.sort_unstable();
    let times: Vec<(i64, f64)> = groups
        .iter()
        .flat_map(|g| g.members.iter().map(|m| (m.id, m.mean_time_ms)))
        .collect();
    let finite: Vec<f64> = times
        .iter()
        .map(|&(_, t)| t)
        .filter(|t| t.is_finite())
        .collect();
    Family {
        id: family_id(kind, tables, &fingerprints[0]),
        kind: kind.clone(),
        tables: tables.to_vec(),
        representative,
        median_mean_time_ms: median(finite),
        outliers: outliers(&times),
        fingerprints,
        members: member_ids,
    }
}

/// 16 hex digits of FNV-1a over the kind, the tables and the smallest
/// fingerprint: the same for the same family in every run and release
/// (the standard library's hasher promises neither).
fn family_id(kind: &StatementKind, tables: &[String], fingerprint: &str) -> String {
    let kind = match kind {
        StatementKind::Select => "select",
        StatementKind::Insert => "insert",
        StatementKind::Update => "update",
        StatementKind::Delete => "delete",
        StatementKind::Merge => "merge",
        StatementKind::Utility(tag) => tag,
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator no name contains keeps ("ab","c") apart from ("a","bc").
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    feed(kind.as_bytes());
    for table in tables {
        feed(table.as_bytes());
    }
    feed(fingerprint.as_bytes());
    format!("{hash:016x}")
}
