//! Reads a live database into a [`Snapshot`]: the
//! server, and the statements `pg_stat_statements` tracks.
//!
//! Owns: every query optidb runs to learn about a database, and the mapping
//! of what each PostgreSQL version returns onto the model's types.
//!
//! Must not: write anything, or run outside the read-only session
//! `optidb-pg` gives it. Every query is tagged `/* optidb */` so that optidb
//! can leave its own statements out of what it analyses.

mod error;
mod server;
mod statements;

pub use optidb_model::Snapshot;
use tokio_postgres::Client;

pub use error::Error;

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// How many statements to keep, the top ones by total execution time.
    pub top_statements: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions { top_statements: 50 }
    }
}

/// Reads a snapshot of the database `client` is connected to.
pub async fn take_snapshot(client: &Client, options: &IngestOptions) -> Result<Snapshot, Error> {
    let (server, captured_at) = server::read(client).await?;
    let (workload, statements) =
        statements::read_top(client, &server, options.top_statements).await?;
    Ok(Snapshot {
        schema_version: Snapshot::SCHEMA_VERSION,
        captured_at,
        server,
        workload,
        statements,
    })
}
