//! What the simulate integration tests share: a session opened the way
//! optidb opens one, the snapshot read through it, and the demo database.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use optidb_ingest::{IngestOptions, take_snapshot};
use optidb_model::Snapshot;
use optidb_model::facts::WorkloadFacts;
use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::fixture::DEMO;
use optidb_sandbox::{Cluster, Database};
use tokio_postgres::Client;

/// A read-only session on `db`, with optidb's guards.
pub async fn session(db: &Database) -> Client {
    let target = ConnectionTarget::resolve(Some(db.dsn()), |_| None).unwrap();
    optidb_pg::connect(&target, &SessionSettings::read_only())
        .await
        .unwrap()
}

/// `db` as optidb reads it: a read-only session, the snapshot taken through
/// it and the snapshot's workload facts.
pub async fn observe(db: &Database) -> (Client, Snapshot, WorkloadFacts) {
    let client = session(db).await;
    let snapshot = take_snapshot(&client, &IngestOptions::default())
        .await
        .unwrap();
    let workload = optidb_fingerprint::analyze_workload(&snapshot.statements);
    (client, snapshot, workload)
}

/// A fresh database in the shared cluster holding the demo at scale 0.25
/// after its workload, and the writable session that loaded it.
pub async fn demo_database() -> (Database, Client) {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let loader = db.connect().await.unwrap();
    DEMO.load(&loader, 0.25).await.unwrap();
    DEMO.run_workload(&loader, |_, _| {}).await.unwrap();
    (db, loader)
}

/// How many hypothetical indexes `client`'s session holds.
pub async fn hypothetical_indexes(client: &Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM hypopg_list_indexes", &[])
        .await
        .unwrap()
        .get(0)
}
