//! Throwaway local PostgreSQL clusters, started from the system's binaries,
//! for optidb's tests, its demo and real-mode simulation.
//!
//! Owns: finding the server binaries ([`PgBinaries`]), starting a private
//! cluster ([`Cluster`]) on a free port and a private socket directory with
//! `pg_stat_statements` preloaded and `hypopg` installed, fresh databases in it
//! ([`Database`]), stopping it and deleting its files when the handle drops
//! (and, through a guardian process, when the owning process dies without
//! dropping it), and loading the fixtures under `fixtures/` into it
//! ([`fixture`]).
//!
//! Must not: touch any cluster it did not start, or print. Everything it
//! starts listens on 127.0.0.1 and a socket directory of its own only.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = optidb_sandbox::Cluster::shared()?; // one per process
//! let db = cluster.create_database().await?;        // a fresh one per test
//! let client = db.connect().await?;
//! client.batch_execute("SELECT hypopg_reset()").await?;
//! # Ok(()) }
//! ```

mod binaries;
mod cluster;
mod database;
mod error;
pub mod fixture;
mod guardian;
mod server_user;
mod sql;

pub use binaries::PgBinaries;
pub use cluster::{Cluster, SandboxOptions, ServerTls};
pub use database::Database;
pub use error::Error;
