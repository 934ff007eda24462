//! The sandbox's error type.

use std::path::PathBuf;

/// Why a sandbox could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No directory with `initdb` and `postgres` was found anywhere we looked.
    #[error(
        "no PostgreSQL server binaries found (looked in: {searched}): install the `postgresql-15` package (`cargo xtask deps` does it) or set OPTIDB_PG_BINDIR to the directory holding initdb and postgres"
    )]
    BinariesNotFound {
        /// The places searched, for the message.
        searched: String,
    },
    /// An explicitly given binary directory lacks the server programs.
    #[error(
        "{path} does not hold the PostgreSQL server programs (initdb, postgres): point OPTIDB_PG_BINDIR at the directory `pg_config --bindir` prints"
    )]
    InvalidBinDir {
        /// The directory given.
        path: PathBuf,
    },
    /// The server lacks an extension the sandbox needs.
    #[error(
        "the PostgreSQL {major} server in {bindir} has no `{extension}` extension: install the `{package}` package (`cargo xtask deps` does it)"
    )]
    MissingExtension {
        /// The extension, e.g. `hypopg`.
        extension: String,
        /// The server's major version.
        major: u32,
        /// Where the server binaries are.
        bindir: PathBuf,
        /// The Debian package that provides it.
        package: String,
    },
    /// Running as root, but there is no `postgres` OS user to run the server as.
    #[error(
        "PostgreSQL refuses to run as root and there is no `postgres` OS user to run it as: create one (`useradd --system --home /var/lib/postgresql postgres`) or run as an unprivileged user"
    )]
    NoServerUser,
    /// A program (initdb, postgres --version, …) failed.
    #[error("{program} failed: {detail}")]
    Program {
        /// The program that failed.
        program: String,
        /// What it said.
        detail: String,
    },
    /// A file-system or process operation failed.
    #[error("could not {action}: {source}")]
    Io {
        /// What we were doing.
        action: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The server exited, or did not get ready in time, while starting.
    #[error("the sandbox server did not start: {reason}; its log ends with:\n{log_tail}")]
    ServerStart {
        /// What went wrong.
        reason: String,
        /// The last lines of the server's log.
        log_tail: String,
    },
    /// The process-wide shared cluster failed to start on first use.
    #[error("the shared sandbox cluster could not be started: {0}")]
    SharedUnavailable(String),
    /// A SQL command on the sandbox failed.
    #[error("{action} failed: {source}")]
    Sql {
        /// What we were doing.
        action: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A fixture file is malformed.
    #[error("fixture {fixture}: {problem}")]
    Fixture {
        /// The fixture's name.
        fixture: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl Error {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            action: action.into(),
            source,
        }
    }

    pub(crate) fn sql(action: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Error::Sql {
            action: action.into(),
            source,
        }
    }
}
