//! Runs a recommendation's DDL on a live database, safely: `CONCURRENTLY`,
//! bounded by `lock_timeout` and `statement_timeout`, validated afterwards,
//! reversible, and recorded in an audit trail.
//!
//! Owns: the only write path optidb has to a user's database.
//!
//! Must not: run anything it was not explicitly asked to run, or leave an
//! INVALID index behind.
//!
//! The pieces:
//! - [`allowed`]: the DDL gate, pure. Only `CREATE [UNIQUE] INDEX
//!   CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `ANALYZE` and non-`FULL`
//!   `VACUUM` pass (plus `CREATE EXTENSION IF NOT EXISTS pg_trgm` before a
//!   trigram index), unless the caller opts into anything.
//! - [`apply`] and [`rollback`]: run gated DDL on a writable session the
//!   caller opened (`SessionSettings { read_only: false, .. }`), with
//!   retried `lock_timeout`s, a `statement_timeout` sized from the table,
//!   validation of the new index, and cleanup of an INVALID one.
//! - [`history`]: the audit trail, table `optidb.changes`, created on
//!   first use.
//! - [`invalid_indexes`] and [`drop_invalid`]: recovery from builds that
//!   died with their session.
//! - [`verify`]: the statements' mean time since a change against before it.

pub mod allowed;
mod audit;
mod error;
mod execute;
mod recovery;
mod verify;

pub use audit::{Change, Status, history};
pub use error::Error;
pub use execute::{
    Applied, ApplyOptions, DEFAULT_LOCK_RETRIES, DEFAULT_LOCK_TIMEOUT, apply, rollback,
    statement_timeout_for,
};
pub use recovery::{InvalidIndex, drop_invalid, invalid_indexes};
pub use verify::{PAYS_OFF, Verdict, Verification, VerifiedStatement, verify};
