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
    /// [`exhaustive`](crate::selection::exhaustive) was given more
    /// candidates than it can try every subset of.
    #[error(
        "an exhaustive search takes at most {max} candidates, not {given}: use the greedy selection, or fewer candidates"
    )]
    TooManyCandidates {
        /// Costable candidates given.
        given: usize,
        /// The most it takes.
        max: usize,
    },
    /// A query on the simulation session failed.
    #[error("{what} failed: {source}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Real mode was given the target database itself as its sandbox.
    #[error(
        "the sandbox is the target database {database} itself: real mode copies tables and builds indexes there, so it needs a different database (a throwaway local cluster, or --sandbox-dsn naming another database)"
    )]
    SameDatabase {
        /// The database's name.
        database: String,
    },
    /// The sandbox database already holds a table real mode would copy.
    #[error(
        "the sandbox database {database} already has a table {table}: real mode copies into tables of its own and never replaces or drops what it did not create; use a fresh, empty database"
    )]
    SandboxNotEmpty {
        /// The sandbox database.
        database: String,
        /// The table, as `schema.name`.
        table: String,
    },
    /// The index to benchmark is not a `CREATE INDEX` statement.
    #[error("not a CREATE INDEX statement, so there is no index to benchmark: {ddl}")]
    NotAnIndex {
        /// The DDL given.
        ddl: String,
    },
    /// Building the index on the sandbox copy failed.
    #[error(
        "building the index on the sandbox copy failed ({reason}): is its table one of the statements' tables, and does the sandbox have the extensions its operator classes need?"
    )]
    IndexBuild {
        /// What the server said.
        reason: String,
    },
    /// A throwaway sandbox database could not be created.
    #[error("creating the sandbox database failed: {0}")]
    Sandbox(#[from] optidb_sandbox::Error),
    /// The sandbox given by DSN could not be connected to.
    #[error("connecting to the sandbox failed: {0}")]
    SandboxConnect(#[from] optidb_pg::Error),
}
