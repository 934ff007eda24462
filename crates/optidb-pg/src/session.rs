//! Sessions that are safe by construction: the settings travel in the
//! startup packet, so there is no window in which a connection runs without them.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::Client;
use tokio_postgres::error::Severity;

use crate::{ConnectionTarget, Error};

/// The settings every optidb session runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// `application_name`, so DBAs can see (and exclude) optidb's sessions.
    pub application_name: String,
    /// `statement_timeout`: no statement of optidb's may run longer.
    pub statement_timeout: Duration,
    /// `lock_timeout`: optidb never queues behind application locks for long.
    pub lock_timeout: Duration,
    /// `idle_in_transaction_session_timeout`: a stuck optidb never holds a
    /// transaction (and its locks and snapshot) open.
    pub idle_in_transaction_timeout: Duration,
    /// `default_transaction_read_only`: every transaction is read-only.
    pub read_only: bool,
}

impl SessionSettings {
    /// The settings for reading: 5 s per statement, 1 s lock waits, read-only.
    pub fn read_only() -> Self {
        SessionSettings {
            application_name: "optidb".into(),
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(1),
            idle_in_transaction_timeout: Duration::from_secs(30),
            read_only: true,
        }
    }

    /// The `options` startup parameter carrying these settings. `jit` is off:
    /// it makes EXPLAIN of costly statements several times slower and
    /// changes nothing optidb reads.
    fn startup_options(&self) -> String {
        format!(
            "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={} -c jit=off -c default_transaction_read_only={}",
            self.statement_timeout.as_millis(),
            self.lock_timeout.as_millis(),
            self.idle_in_transaction_timeout.as_millis(),
            if self.read_only { "on" } else { "off" },
        )
    }
}

/// The driver configuration of a session on `target` with `settings`.
fn session_config(target: &ConnectionTarget, settings: &SessionSettings) -> tokio_postgres::Config {
    let mut config = target.config().clone();
    let options = match config.get_options() {
        Some(existing) if !existing.trim().is_empty() => {
            format!("{existing} {}", settings.startup_options())
        }
        _ => settings.startup_options(),
    };
    config
        .application_name(&settings.application_name)
        .options(&options);
    config
}

/// Opens a session on `target` with `settings`, driven on the current tokio
/// runtime. The connection closes when the returned client is dropped.
pub async fn connect(
    target: &ConnectionTarget,
    settings: &SessionSettings,
) -> Result<Client, Error> {
    let tls = crate::tls::connector(target.tls())?;
    let (client, connection) = session_config(target, settings)
        .connect(tls)
        .await
        .map_err(|source| Error::Connect {
            target: target.describe(),
            source,
        })?;
    tokio::spawn(async move {
        // Ends when the client is dropped; errors surface on the client.
        let _ = connection.await;
    });
    Ok(client)
}

/// A pool of up to `max_size` sessions on `target`, each with `settings`
/// from its first statement, for work that runs on several connections at
/// once. Connections are opened on first use and reused as they are:
/// whoever borrows one must leave no session state behind (use `SET LOCAL`
/// inside transactions, never plain `SET`).
pub fn pool(
    target: &ConnectionTarget,
    settings: &SessionSettings,
    max_size: usize,
) -> Result<Pool, Error> {
    let tls = crate::tls::connector(target.tls())?;
    let manager = Manager::from_config(
        session_config(target, settings),
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .build()
        .map_err(|e| Error::Pool {
            reason: e.to_string(),
        })
}

/// Whether `error` from `client` means the session is unusable (closed, or a
/// FATAL/PANIC), rather than one statement refused: callers that go on past
/// a failed statement must stop on these.
pub fn is_connection_failure(client: &Client, error: &tokio_postgres::Error) -> bool {
    if client.is_closed() || error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        None => true,
        Some(db) => {
            matches!(
                db.parsed_severity(),
                Some(Severity::Fatal | Severity::Panic)
            ) || matches!(db.severity(), "FATAL" | "PANIC")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_options_carry_every_guard() {
        let options = SessionSettings::read_only().startup_options();
        assert_eq!(
            options,
            "-c statement_timeout=5000 -c lock_timeout=1000 -c idle_in_transaction_session_timeout=30000 -c jit=off -c default_transaction_read_only=on"
        );
    }
}
