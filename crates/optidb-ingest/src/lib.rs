//! Reads a live database into a [`Snapshot`]: the
//! server, and the statements `pg_stat_statements` tracks.
//!
//! Owns: every query optidb runs to learn about a database, and the mapping
//! of what each PostgreSQL version returns onto the model's types.
//!
//! Must not: write anything, or run outside the read-only session
//! `optidb-pg` gives it. Every query is tagged `/* optidb */` so that optidb
//! can leave its own statements out of what it analyses.

mod catalog;
mod error;
pub mod plans;
mod server;
mod statements;

use optidb_model::IngestWarning;
pub use optidb_model::Snapshot;
use tokio_postgres::Client;

pub use error::Error;

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// How many statements to keep, the top ones by total execution time.
    pub top_statements: usize,
    /// Generic plans of the top statements; `None` reads no plans.
    pub explain: Option<plans::ExplainOptions>,
}

impl Default for IngestOptions {
    /// The top 100 statements, and plans of all of them.
    fn default() -> Self {
        IngestOptions {
            top_statements: 100,
            explain: Some(plans::ExplainOptions::default()),
        }
    }
}

/// Reads a snapshot of the database `client` is connected to: the server,
/// the top statements, the catalogs, and generic plans of the top
/// statements. Pass a read-only session from `optidb-pg`, outside any
/// transaction and used by nothing else meanwhile.
pub async fn take_snapshot(client: &Client, options: &IngestOptions) -> Result<Snapshot, Error> {
    let (server, captured_at) = server::read(client).await?;
    let mut warnings = Vec::new();
    let (top, catalog) = tokio::try_join!(
        statements::read_top(client, &server, options.top_statements),
        catalog::read(client, &server, &mut warnings),
    )?;
    if top.hidden_texts > 0 {
        warnings.push(IngestWarning {
            code: "statement-text-hidden".into(),
            message: format!(
                "{} statement text(s) show as <insufficient privilege>: optidb's role may not see other roles' statements; GRANT pg_read_all_stats (or pg_monitor) TO it (see deploy/roles.sql)",
                top.hidden_texts
            ),
        });
    }
    if let Some(info) = top.info.as_ref().filter(|info| info.dealloc > 0) {
        warnings.push(IngestWarning {
            code: "statements-evicted".into(),
            message: format!(
                "pg_stat_statements evicted {} entries since its last reset: rarely run statements are missing; raise pg_stat_statements.max (needs a restart)",
                info.dealloc
            ),
        });
    }
    // After the catalogs, not alongside: explaining runs its own
    // transactions on this connection.
    let plans = match &options.explain {
        Some(explain) => {
            plans::explain_statements(client, &top.statements, server.version_num, explain).await?
        }
        None => Vec::new(),
    };
    Ok(Snapshot {
        schema_version: Snapshot::SCHEMA_VERSION,
        plans,
        captured_at,
        server,
        workload: top.totals,
        statements: top.statements,
        statement_stats: top.info,
        catalog,
        warnings,
    })
}
