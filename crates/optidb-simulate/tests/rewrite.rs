//! Rewrite verification against a real server: on the demo, the correlated
//! subquery's join rewrite is verified (same rows, cheaper); a rewrite that
//! drops a condition is caught by its results; one reading another table is
//! refused before anything runs; the sandbox is left as it was found.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use optidb_sandbox::Cluster;
use optidb_simulate::real::{RealOptions, Sandbox, Verdict, verify_rewrite};

const EQUIVALENT: &str = "SELECT p.id, p.name, p.price
FROM products AS p
JOIN (SELECT category_id, avg(price) AS average FROM products WHERE category_id = $1 GROUP BY category_id) AS a
  ON a.category_id = p.category_id
WHERE p.category_id = $1 AND p.price > a.average
ORDER BY p.price DESC";

/// Forgets the comparison with the average: cheaper, and wrong.
const WRONG: &str = "SELECT p.id, p.name, p.price
FROM products AS p
WHERE p.category_id = $1
ORDER BY p.price DESC";

const OTHER_TABLE: &str = "SELECT p.id, p.name, p.price
FROM products AS p JOIN categories c ON c.id = p.category_id
WHERE p.category_id = $1
ORDER BY p.price DESC";

#[tokio::test]
async fn only_an_equivalent_cheaper_rewrite_is_verified() {
    let (db, _loader) = common::demo_database().await;
    let (client, snapshot, workload) = common::observe(&db).await;
    let queryid = snapshot
        .statements
        .iter()
        .find(|s| s.query.contains("SELECT avg(p2.price)"))
        .expect("the demo's correlated subquery")
        .queryid;
    let sandbox = Sandbox::in_cluster(Cluster::shared().unwrap())
        .await
        .unwrap();
    let options = RealOptions::default();
    let verify = |sql: &'static str| {
        verify_rewrite(
            &client,
            sandbox.client(),
            &snapshot,
            &workload,
            queryid,
            sql,
            &options,
        )
    };

    let check = verify(EQUIVALENT).await.unwrap();
    eprintln!("{check:#?}\n{}", check.evidence());
    assert_eq!(check.verdict, Verdict::Verified, "{check:#?}");
    assert_eq!(check.parameter_sets, 5, "{check:#?}");
    assert!(check.sets_with_rows > 0 && check.rows_compared > 0);
    assert!(
        check.cost_change().unwrap() < -0.3,
        "the join should be far cheaper: {check:#?}"
    );
    assert!(
        check
            .evidence()
            .starts_with("same results on 5 parameter sets")
    );

    let check = verify(WRONG).await.unwrap();
    assert!(
        matches!(&check.verdict, Verdict::DifferentResults { set: 1, detail } if detail.contains("rows instead of")),
        "{check:#?}"
    );
    assert_eq!(
        check.cost_before, None,
        "nothing is measured once results differ"
    );

    let check = verify(OTHER_TABLE).await.unwrap();
    assert!(
        matches!(&check.verdict, Verdict::Refused(reason) if reason.contains("categories")),
        "{check:#?}"
    );
    assert!(check.tables.is_empty(), "refused before copying anything");

    let left: (bool, i64) = sandbox
        .client()
        .query_one(
            "SELECT to_regclass('public.products') IS NULL, (SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'optidb%')",
            &[],
        )
        .await
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert_eq!(
        left,
        (true, 0),
        "the copy or a prepared statement was left behind"
    );
}
