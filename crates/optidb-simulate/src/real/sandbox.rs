//! The database real mode benchmarks on, and the guard that it is not the
//! target.

use std::time::Duration;

use optidb_pg::{ConnectionTarget, SessionSettings};
use optidb_sandbox::Cluster;
use tokio_postgres::Client;

use crate::Error;

/// A database to benchmark on: a fresh database in a throwaway cluster, or
/// one the user names (`--sandbox-dsn`). Real mode creates tables there,
/// fills them with a sample of the target's rows and builds indexes: it must
/// be a database nobody needs, and never the target itself ([`benchmark`]
/// refuses that).
///
/// [`benchmark`]: super::benchmark
#[derive(Debug)]
pub struct Sandbox<'a> {
    client: Client,
    database: String,
    // Ties a cluster-backed sandbox to its cluster: the database vanishes
    // when the cluster stops.
    cluster: Option<&'a Cluster>,
}

impl<'a> Sandbox<'a> {
    /// A fresh database in `cluster` (a throwaway one from `optidb-sandbox`).
    pub async fn in_cluster(cluster: &'a Cluster) -> Result<Sandbox<'a>, Error> {
        let database = cluster.create_database().await?;
        let client = database.connect().await?;
        Ok(Sandbox {
            client,
            database: database.name().to_string(),
            cluster: Some(cluster),
        })
    }

    /// The database at `target` (`--sandbox-dsn`), in a writable session
    /// with optidb's guards (`application_name`, timeouts, `jit = off`).
    /// Real mode refuses it if it is the target database.
    pub async fn connect(target: &ConnectionTarget) -> Result<Sandbox<'static>, Error> {
        let settings = SessionSettings {
            // Copies and index builds are bounded by `RealOptions::setup_timeout`
            // and each measured run by its own `SET LOCAL`; this bounds the rest.
            statement_timeout: Duration::from_secs(60),
            read_only: false,
            ..SessionSettings::read_only()
        };
        let client = optidb_pg::connect(target, &settings).await?;
        let database: String = client
            .query_one("/* optidb */ SELECT current_database()::text", &[])
            .await
            .map_err(|source| Error::Query {
                what: "reading the sandbox's database name",
                source,
            })?
            .get(0);
        Ok(Sandbox {
            client,
            database,
            cluster: None,
        })
    }

    /// The session on the sandbox database, to pass to [`benchmark`].
    ///
    /// [`benchmark`]: super::benchmark
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The sandbox database's name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Whether the database lives in a throwaway cluster (dropped with it).
    pub fn is_throwaway(&self) -> bool {
        self.cluster.is_some()
    }
}

/// Which server and database a session is on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    /// `pg_control_system().system_identifier`: unique per cluster (shared
    /// by its physical replicas, which are read-only anyway).
    system_identifier: Option<String>,
    /// When the postmaster started: what tells servers apart when the
    /// identifier cannot be read.
    started: String,
    database: String,
}

async fn identity(client: &Client) -> Result<Identity, Error> {
    let what = "reading which server and database a session is on";
    let base = client
        .query_one(
            "/* optidb */ SELECT current_database()::text, pg_postmaster_start_time()::text",
            &[],
        )
        .await
        .map_err(|source| Error::Query { what, source })?;
    // pg_control_system() may be revoked from the role: then the start
    // time alone tells servers apart.
    let system_identifier = client
        .query_one(
            "/* optidb */ SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .await
        .ok()
        .map(|row| row.get::<_, String>(0));
    Ok(Identity {
        system_identifier,
        started: base.get(1),
        database: base.get(0),
    })
}

/// Refuses a sandbox session that is on the target's database; returns
/// the sandbox database's name.
pub(super) async fn ensure_distinct(target: &Client, sandbox: &Client) -> Result<String, Error> {
    let target = identity(target).await?;
    let sandbox = identity(sandbox).await?;
    if same_database(&target, &sandbox) {
        return Err(Error::SameDatabase {
            database: target.database,
        });
    }
    Ok(sandbox.database)
}

fn same_database(a: &Identity, b: &Identity) -> bool {
    let same_server = match (&a.system_identifier, &b.system_identifier) {
        (Some(x), Some(y)) => x == y,
        _ => a.started == b.started,
    };
    same_server && a.database == b.database
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(system: Option<&str>, started: &str, database: &str) -> Identity {
        Identity {
            system_identifier: system.map(str::to_string),
            started: started.into(),
            database: database.into(),
        }
    }

    #[test]
    fn the_same_database_on_the_same_server_is_refused() {
        let target = id(Some("1"), "t0", "shop");
        assert!(same_database(&target, &id(Some("1"), "t0", "shop")));
        assert!(!same_database(&target, &id(Some("1"), "t0", "sandbox_1")));
        assert!(!same_database(&target, &id(Some("2"), "t9", "shop")));
        // A replica shares the identifier: refused too.
        assert!(same_database(&target, &id(Some("1"), "t9", "shop")));
        // Without the identifier, the start time decides.
        assert!(same_database(&target, &id(None, "t0", "shop")));
        assert!(!same_database(&target, &id(None, "t1", "shop")));
    }
}
