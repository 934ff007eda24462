//! Runs a recommendation's DDL on a live database, safely: `CONCURRENTLY`,
//! bounded by `lock_timeout` and `statement_timeout`, validated afterwards,
//! reversible, and recorded in an audit trail.
//!
//! Owns: the only write path optidb has to a user's database.
//!
//! Must not: run anything it was not explicitly asked to run, or leave an
//! INVALID index behind.
