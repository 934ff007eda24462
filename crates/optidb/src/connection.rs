//! From the command line and the environment to a connection target.

use anyhow::Context;
use optidb_pg::ConnectionTarget;

use crate::cli::ConnectionArgs;

/// The target named by --dsn, DATABASE_URL or the PG* variables.
pub fn target(args: &ConnectionArgs) -> anyhow::Result<ConnectionTarget> {
    ConnectionTarget::resolve(args.dsn.as_deref(), |name| std::env::var(name).ok())
        .context("cannot tell which database to connect to")
}
