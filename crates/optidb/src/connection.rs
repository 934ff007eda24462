//! From the command line and the environment to a connection target.

use optidb_pg::ConnectionTarget;

use crate::cli::ConnectionArgs;

/// The target named by --dsn, DATABASE_URL or the PG* variables. The
/// library's errors already say what is wrong and how to fix it.
pub fn target(args: &ConnectionArgs) -> anyhow::Result<ConnectionTarget> {
    Ok(ConnectionTarget::resolve(args.dsn.as_deref(), |name| {
        std::env::var(name).ok()
    })?)
}
