//! Why a change was refused or failed.

/// Why [`apply`](crate::apply), [`rollback`](crate::rollback) or a recovery
/// function refused to run or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session cannot write.
    #[error(
        "the database session is read-only ({reason}): connect to the primary with a writable session (SessionSettings {{ read_only: false, .. }})"
    )]
    ReadOnly {
        /// What makes it read-only.
        reason: String,
    },
    /// The DDL is not one optidb runs without being told to.
    #[error("refusing to run {ddl:?}: {reason}")]
    NotAllowed {
        /// The DDL (or the offending statement in it).
        ddl: String,
        /// Why, and what would be accepted.
        reason: String,
    },
    /// The table (or index) the DDL names does not exist.
    #[error(
        "{relation} does not exist: check the schema and name (the recommendation may be stale)"
    )]
    NoSuchRelation {
        /// The relation as written in the DDL.
        relation: String,
    },
    /// An index of the same definition, or of the same name, already exists.
    #[error(
        "index {index} already exists with the same definition or name: nothing to do, or drop it first if it should be rebuilt"
    )]
    AlreadyExists {
        /// The existing index, as `schema.name`.
        index: String,
    },
    /// An INVALID index (left by a failed build) has the name the DDL wants.
    #[error(
        "an INVALID index {index} (left by a failed or cancelled build) has this name: drop it with DROP INDEX CONCURRENTLY (optidb's drop_invalid) and apply again"
    )]
    InvalidExists {
        /// The invalid index, as `schema.name`.
        index: String,
    },
    /// The role may not change the table.
    #[error(
        "role {role} may not change {table}: it is owned by {owner}; connect as {owner} or as a member of it (GRANT {owner} TO {role})"
    )]
    NoPrivilege {
        /// The table, as `schema.name`.
        table: String,
        /// Its owner.
        owner: String,
        /// The role optidb is connected as.
        role: String,
    },
    /// Every attempt to take the table's lock timed out.
    #[error(
        "could not lock the table within lock_timeout after {retries} retries: another transaction holds a conflicting lock (see pg_locks); try again when it is quieter, or raise the lock timeout"
    )]
    LockTimeout {
        /// How many times it retried after the first attempt.
        retries: u32,
    },
    /// The index build failed, timed out or was cancelled.
    #[error("the index build failed: {reason}{}", match (invalid_dropped, invalid_left) {
        (true, _) => "; the INVALID index it left was dropped".to_string(),
        (false, Some(index)) => format!("; an INVALID index {index} may be left: check with optidb's invalid_indexes and drop it with DROP INDEX CONCURRENTLY (optidb's drop_invalid)"),
        (false, None) => String::new(),
    })]
    BuildFailed {
        /// The server's message.
        reason: String,
        /// Whether the INVALID index the build left was dropped.
        invalid_dropped: bool,
        /// The INVALID index that may be left because it could not be
        /// checked or dropped (e.g. the session was terminated), as
        /// `schema.name`.
        invalid_left: Option<String>,
    },
    /// A statement other than an index build failed.
    #[error("{statement:?} failed: {reason}")]
    Failed {
        /// The statement.
        statement: String,
        /// The server's message.
        reason: String,
    },
    /// No audit row has this id.
    #[error("there is no change {id} in optidb.changes: list them with optidb's history")]
    NoSuchChange {
        /// The id asked for.
        id: i64,
    },
    /// The change cannot be rolled back.
    #[error("change {id} cannot be rolled back: {reason}")]
    NotReversible {
        /// The change.
        id: i64,
        /// Why.
        reason: String,
    },
    /// [`drop_invalid`](crate::drop_invalid) was asked to drop something
    /// that is not an INVALID index nobody is building.
    #[error("refusing to drop {index}: {reason}")]
    NotInvalid {
        /// The index named.
        index: String,
        /// Why it is not dropped.
        reason: String,
    },
    /// A query of optidb's own failed.
    #[error("{what} failed: {source}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl Error {
    /// A [`Error::Query`] for `what`.
    pub(crate) fn query(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
        move |source| Error::Query { what, source }
    }
}

/// The server's message for a driver error (without the driver's
/// "db error:" prefix), or the driver's own text.
pub(crate) fn server_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}
