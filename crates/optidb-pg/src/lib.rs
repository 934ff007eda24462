//! optidb's connections to PostgreSQL: where to connect ([`ConnectionTarget`],
//! resolved the way libpq does from a DSN and the `PG*` variables) and
//! sessions that are safe by construction ([`SessionSettings`]): every
//! connection names itself `optidb`, carries `statement_timeout`,
//! `lock_timeout`, `idle_in_transaction_session_timeout` and `jit = off`, and
//! reads run with `default_transaction_read_only = on`.
//!
//! Owns: connection strings, credentials (`~/.pgpass`), TLS (libpq's
//! `sslmode` semantics on rustls), session settings.
//!
//! Must not: read the environment itself (the binary passes a lookup
//! function), or let a password reach an error message or a log.

mod dsn;
mod error;
mod pgpass;
mod session;
mod target;
mod tls;

pub use deadpool_postgres::Pool;
pub use error::Error;
pub use session::{SessionSettings, connect, is_connection_failure, pool};
pub use target::{ConnectionTarget, TargetSource};
pub use tls::{SslMode, TlsSettings};
