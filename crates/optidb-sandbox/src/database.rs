//! One database in a sandbox cluster.

use tokio_postgres::Client;

use crate::Error;

/// A database in a sandbox [`Cluster`](crate::Cluster), with
/// `pg_stat_statements` and `hypopg` installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    name: String,
    dsn: String,
}

impl Database {
    pub(crate) fn new(name: String, dsn: String) -> Self {
        Database { name, dsn }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A libpq key=value connection string for it.
    pub fn dsn(&self) -> &str {
        &self.dsn
    }

    /// A new connection, driven on the current tokio runtime.
    pub async fn connect(&self) -> Result<Client, Error> {
        crate::sql::connect(&self.dsn).await
    }
}
