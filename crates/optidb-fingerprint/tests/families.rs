//! Families and outliers over analysed statements.

use optidb_fingerprint::{Analysis, FamilyInput, analyze, families};
use optidb_model::facts::Family;

/// Analyses `(id, sql, mean time)` triples.
fn analysed(statements: &[(i64, &str, f64)]) -> Vec<(i64, Analysis, f64)> {
    statements
        .iter()
        .map(|&(id, sql, time)| {
            (
                id,
                analyze(sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
                time,
            )
        })
        .collect()
}

fn family_of(analysed: &[(i64, Analysis, f64)]) -> Vec<Family> {
    let inputs: Vec<FamilyInput<'_>> = analysed
        .iter()
        .map(|(id, analysis, time)| FamilyInput {
            id: *id,
            fingerprint: &analysis.fingerprint,
            facts: &analysis.facts,
            mean_time_ms: *time,
        })
        .collect();
    families(&inputs)
}

fn members(families: &[Family]) -> Vec<Vec<i64>> {
    families.iter().map(|f| f.members.clone()).collect()
}

#[test]
fn statements_differing_only_in_constants_are_one_family() {
    let a = analysed(&[
        (1, "SELECT * FROM users WHERE id = 1", 1.0),
        (2, "SELECT * FROM users WHERE id = $1", 1.0),
        (3, "select *   from users where id = 42 -- app", 1.0),
    ]);
    let f = family_of(&a);
    assert_eq!(members(&f), [vec![1, 2, 3]]);
    assert_eq!(f[0].fingerprints.len(), 1);
    assert_eq!(f[0].tables, ["users"]);
}

#[test]
fn an_optional_extra_filter_stays_in_the_family() {
    let a = analysed(&[
        (1, "SELECT * FROM orders WHERE user_id = $1", 1.0),
        (
            2,
            "SELECT * FROM orders WHERE user_id = $1 AND status = $2",
            1.0,
        ),
        // = and IN are one class: the app switches with the number of ids.
        (3, "SELECT * FROM orders WHERE user_id IN ($1, $2)", 1.0),
    ]);
    let f = family_of(&a);
    assert_eq!(members(&f), [vec![1, 2, 3]]);
    // pg_query fingerprints `= $1` and `IN ($1, $2)` alike already.
    assert_eq!(f[0].fingerprints.len(), 2);
}

#[test]
fn different_access_paths_over_one_table_are_different_families() {
    let a = analysed(&[
        (1, "SELECT * FROM users WHERE email = $1", 1.0),
        (2, "SELECT * FROM users WHERE id = $1", 1.0),
    ]);
    let mut found = members(&family_of(&a));
    found.sort();
    assert_eq!(found, [vec![1], vec![2]]);
}

#[test]
fn different_kinds_or_tables_are_different_families() {
    let a = analysed(&[
        (1, "SELECT * FROM users WHERE id = $1", 1.0),
        (2, "DELETE FROM users WHERE id = $1", 1.0),
        (3, "SELECT * FROM accounts WHERE id = $1", 1.0),
    ]);
    let f = family_of(&a);
    assert_eq!(f.len(), 3);
    // Sorted by tables, then kind.
    assert_eq!(members(&f), [vec![3], vec![1], vec![2]]);
}

#[test]
fn aliased_tables_sharing_a_pg18_fingerprint_are_kept_apart() {
    // PostgreSQL 18 fingerprints use the alias instead of the table name.
    let a = analysed(&[
        (1, "SELECT * FROM users u WHERE u.id = $1", 1.0),
        (2, "SELECT * FROM accounts u WHERE u.id = $1", 1.0),
    ]);
    assert_eq!(a[0].1.fingerprint, a[1].1.fingerprint);
    assert_eq!(members(&family_of(&a)), [vec![2], vec![1]]);
}

#[test]
fn the_input_order_does_not_matter() {
    let statements = [
        (5, "SELECT * FROM orders WHERE user_id = $1", 2.0),
        (
            3,
            "SELECT * FROM orders WHERE user_id = $1 AND status = $2",
            3.0,
        ),
        (9, "SELECT * FROM users WHERE email = $1", 1.0),
        (1, "SELECT * FROM orders WHERE user_id = 7", 2.5),
    ];
    let mut reversed = statements;
    reversed.reverse();
    assert_eq!(
        family_of(&analysed(&statements)),
        family_of(&analysed(&reversed))
    );
}

#[test]
fn similarity_does_not_chain_through_a_statement_in_between() {
    let a = analysed(&[
        (1, "SELECT * FROM orders WHERE user_id = $1", 1.0),
        (
            2,
            "SELECT * FROM orders WHERE user_id = $1 AND status = $2",
            1.0,
        ),
        (3, "SELECT * FROM orders WHERE status = $1", 1.0),
    ]);
    let f = family_of(&a);
    assert_eq!(f.len(), 2);
    assert!(
        f.iter()
            .all(|family| !(family.members.contains(&1) && family.members.contains(&3)))
    );
}

#[test]
fn the_representative_is_the_simplest_statement() {
    let a = analysed(&[
        (
            7,
            "SELECT * FROM orders WHERE user_id = $1 AND status = $2",
            1.0,
        ),
        (4, "SELECT * FROM orders WHERE user_id = $1", 1.0),
        (2, "SELECT * FROM orders WHERE user_id = 3", 1.0),
    ]);
    let f = family_of(&a);
    assert_eq!(f[0].representative, 2);
}

#[test]
fn a_member_far_slower_than_its_family_is_an_outlier() {
    let a = analysed(&[
        (1, "SELECT * FROM orders WHERE user_id = $1", 1.0),
        (
            2,
            "SELECT * FROM orders WHERE user_id = $1 AND status = $2",
            1.2,
        ),
        (
            3,
            "SELECT * FROM orders WHERE user_id = $1 AND created_at > $2",
            0.9,
        ),
        (
            4,
            "SELECT * FROM orders WHERE user_id = $1 AND total > $2",
            1.1,
        ),
        (
            5,
            "SELECT * FROM orders WHERE user_id = $1 AND note = $2",
            250.0,
        ),
    ]);
    let f = family_of(&a);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].median_mean_time_ms, Some(1.1));
    assert_eq!(f[0].outliers.len(), 1);
    assert_eq!(f[0].outliers[0].member, 5);
    assert!(f[0].outliers[0].score > 100.0);
}

#[test]
fn family_ids_are_stable_and_distinct() {
    let statements = [
        (1, "SELECT * FROM users WHERE id = $1", 1.0),
        (2, "SELECT * FROM users WHERE email = $1", 1.0),
    ];
    let first = family_of(&analysed(&statements));
    let again = family_of(&analysed(&statements));
    assert_eq!(first[0].id, again[0].id);
    assert_ne!(first[0].id, first[1].id);
    assert_eq!(first[0].id.len(), 16);
    insta::assert_json_snapshot!("families", first);
}

#[test]
fn no_members_no_families() {
    assert!(families(&[]).is_empty());
}
