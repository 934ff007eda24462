//! Simulation errors.

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// HypoPG is not installed in the database.
    #[error(
        "the hypopg extension is not installed in database {database}: install the postgresql-<major>-hypopg package on the server and run `CREATE EXTENSION hypopg;` (see deploy/README.md)"
    )]
    HypopgMissing {
        /// The database.
        database: String,
    },
    /// Reading plans failed at the connection level.
    #[error("explaining the statements failed: {0}")]
    Explain(#[from] optidb_ingest::Error),
    /// A query on the simulation session failed.
    #[error("{what} failed: {source}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
}
