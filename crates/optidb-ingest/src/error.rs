//! Ingest errors: each says what is wrong and how to fix it.

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server is older than optidb supports.
    #[error("PostgreSQL {version} is not supported: optidb needs PostgreSQL 13 or newer")]
    UnsupportedVersion {
        /// The server's version.
        version: String,
    },
    /// `pg_stat_statements` is not installed in the database.
    #[error(
        "the pg_stat_statements extension is not installed in database {database}: run `CREATE EXTENSION pg_stat_statements;` there as a superuser (the library must also be in shared_preload_libraries; see deploy/postgresql.conf)"
    )]
    StatementsExtensionMissing {
        /// The database.
        database: String,
    },
    /// `pg_stat_statements` is installed but its library was not preloaded.
    #[error(
        "pg_stat_statements is installed but not loaded: add it to shared_preload_libraries in postgresql.conf and restart the server (see deploy/postgresql.conf)"
    )]
    StatementsNotPreloaded,
    /// A query failed.
    #[error("reading {what} failed: {source}")]
    Query {
        /// What was being read.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl Error {
    pub(crate) fn query(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
        move |source| Error::Query { what, source }
    }
}
