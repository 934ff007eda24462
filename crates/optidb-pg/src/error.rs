//! Connection errors. None of them ever contains a password.

/// Why optidb could not connect.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No DSN, no `DATABASE_URL` and no `PG*` variables.
    #[error(
        "no database to connect to: pass --dsn (a postgres:// URL or key=value string), or set DATABASE_URL or the libpq variables PGHOST, PGPORT, PGUSER, PGDATABASE"
    )]
    NoTarget,
    /// The connection string does not parse.
    #[error("invalid connection string from {source_name}: {reason}")]
    InvalidDsn {
        /// Where the string came from (`--dsn`, `DATABASE_URL`).
        source_name: &'static str,
        /// What is wrong with it (never the string itself, which may hold a password).
        reason: String,
    },
    /// A variable has a value that cannot be used.
    #[error("invalid {variable}: {reason}")]
    InvalidVariable {
        /// The variable.
        variable: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// TLS could not be set up (certificate files, root store).
    #[error("{reason}")]
    Tls {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The connection pool could not be built.
    #[error("cannot build a connection pool: {reason}")]
    Pool {
        /// Why.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("could not connect to {target}: {source}")]
    Connect {
        /// `user@host:port/database`, no password.
        target: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
}
