//! Where to connect: a DSN (URL or key=value) from `--dsn` or `DATABASE_URL`,
//! completed by libpq's `PG*` variables the way libpq completes it.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::{Host, SslMode};

use crate::Error;

/// Where the connection settings came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSource {
    /// The `--dsn` option.
    DsnOption,
    /// The `DATABASE_URL` variable.
    DatabaseUrl,
    /// libpq's `PG*` variables alone.
    PgVariables,
}

impl TargetSource {
    fn name(self) -> &'static str {
        match self {
            TargetSource::DsnOption => "--dsn",
            TargetSource::DatabaseUrl => "DATABASE_URL",
            TargetSource::PgVariables => "PG* variables",
        }
    }
}

/// A resolved database to connect to.
#[derive(Debug, Clone)]
pub struct ConnectionTarget {
    config: Config,
    source: TargetSource,
}

/// libpq's variables that optidb honours, and what they set.
const PG_VARIABLES: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGCONNECT_TIMEOUT",
];

impl ConnectionTarget {
    /// Resolves the target: `dsn` (from `--dsn`) if given, else
    /// `DATABASE_URL`, else the `PG*` variables alone; in the first two cases
    /// the `PG*` variables fill in what the string leaves out, as in libpq.
    /// `env` looks a variable up (the binary passes `std::env::var`).
    pub fn resolve(dsn: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = |name: &str| env(name).filter(|value| !value.is_empty());
        let (text, source) = match (dsn, env("DATABASE_URL")) {
            (Some(dsn), _) => (Some(dsn.to_string()), TargetSource::DsnOption),
            (None, Some(url)) => (Some(url), TargetSource::DatabaseUrl),
            (None, None) => {
                if !PG_VARIABLES.iter().any(|name| env(name).is_some()) {
                    return Err(Error::NoTarget);
                }
                (None, TargetSource::PgVariables)
            }
        };
        let mut config = match &text {
            Some(text) => Config::from_str(text).map_err(|e| Error::InvalidDsn {
                source_name: source.name(),
                reason: e.to_string(),
            })?,
            None => Config::new(),
        };
        fill_from_env(&mut config, &env)?;
        if config.get_hosts().is_empty() {
            config.host(default_host());
        }
        if matches!(config.get_ssl_mode(), SslMode::Require) {
            return Err(Error::TlsUnsupported { mode: "require" });
        }
        Ok(ConnectionTarget { config, source })
    }

    /// A target from an already-built config (embedding tools, tests).
    pub fn from_config(config: Config) -> Self {
        ConnectionTarget {
            config,
            source: TargetSource::DsnOption,
        }
    }

    /// Where the settings came from.
    pub fn source(&self) -> TargetSource {
        self.source
    }

    /// The driver configuration (it holds the password: never print it).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// `user@host:port/database`, safe to print: no password.
    pub fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "?".to_string(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("?");
        let database = self.config.get_dbname().unwrap_or(user);
        format!("{user}@{host}:{port}/{database}")
    }
}

/// Sets from the `PG*` variables whatever `config` does not set yet.
fn fill_from_env(config: &mut Config, env: &impl Fn(&str) -> Option<String>) -> Result<(), Error> {
    if config.get_hosts().is_empty()
        && let Some(hosts) = env("PGHOST").or_else(|| env("PGHOSTADDR"))
    {
        for host in hosts.split(',') {
            config.host(host.trim());
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = env("PGPORT")
    {
        let port = port
            .trim()
            .parse::<u16>()
            .map_err(|_| Error::InvalidVariable {
                variable: "PGPORT",
                reason: format!("{port:?} is not a port number"),
            })?;
        config.port(port);
    }
    if config.get_user().is_none()
        && let Some(user) = env("PGUSER")
    {
        config.user(user);
    }
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(database) = env("PGDATABASE")
    {
        config.dbname(database);
    }
    if config.get_connect_timeout().is_none()
        && let Some(seconds) = env("PGCONNECT_TIMEOUT")
    {
        let seconds = seconds
            .trim()
            .parse::<u64>()
            .map_err(|_| Error::InvalidVariable {
                variable: "PGCONNECT_TIMEOUT",
                reason: format!("{seconds:?} is not a number of seconds"),
            })?;
        config.connect_timeout(Duration::from_secs(seconds));
    }
    if let Some(mode) = env("PGSSLMODE") {
        let mode = match mode.as_str() {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" | "verify-ca" | "verify-full" => SslMode::Require,
            other => {
                return Err(Error::InvalidVariable {
                    variable: "PGSSLMODE",
                    reason: format!(
                        "{other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ),
                });
            }
        };
        config.ssl_mode(mode);
    }
    Ok(())
}

/// libpq's default: the local socket directory when a server listens there,
/// else localhost.
fn default_host() -> String {
    ["/var/run/postgresql", "/tmp"]
        .into_iter()
        .find(|dir| std::path::Path::new(dir).join(".s.PGSQL.5432").exists())
        .unwrap_or("localhost")
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn dsn_option_wins_over_database_url() {
        let target = ConnectionTarget::resolve(
            Some("postgres://alice:secret@db.example:6543/shop"),
            env(&[("DATABASE_URL", "postgres://bob@other/x")]),
        )
        .unwrap();
        assert_eq!(target.source(), TargetSource::DsnOption);
        assert_eq!(target.describe(), "alice@db.example:6543/shop");
    }

    #[test]
    fn database_url_then_pg_variables_fill_the_gaps() {
        let target = ConnectionTarget::resolve(
            None,
            env(&[
                ("DATABASE_URL", "host=db.example dbname=shop"),
                ("PGUSER", "carol"),
                ("PGPORT", "6000"),
                ("PGHOST", "ignored.example"),
            ]),
        )
        .unwrap();
        assert_eq!(target.source(), TargetSource::DatabaseUrl);
        assert_eq!(target.describe(), "carol@db.example:6000/shop");
    }

    #[test]
    fn pg_variables_alone_are_enough() {
        let target = ConnectionTarget::resolve(
            None,
            env(&[
                ("PGHOST", "h"),
                ("PGUSER", "u"),
                ("PGDATABASE", "d"),
                ("PGPASSWORD", "pw"),
            ]),
        )
        .unwrap();
        assert_eq!(target.source(), TargetSource::PgVariables);
        assert_eq!(target.describe(), "u@h:5432/d");
        assert_eq!(target.config().get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn nothing_at_all_says_how_to_connect() {
        let err = ConnectionTarget::resolve(None, env(&[])).unwrap_err();
        assert!(err.to_string().contains("--dsn"), "{err}");
    }

    #[test]
    fn errors_never_show_the_password() {
        for dsn in [
            "postgres://u:hunter2@h:notaport/d",
            "host=h password=hunter2 port=notaport",
            "host=h password=hunter2 sslmode=bogus",
        ] {
            let err = ConnectionTarget::resolve(Some(dsn), env(&[])).unwrap_err();
            assert!(
                !format!("{err} {err:?}").contains("hunter2"),
                "{dsn}: {err}"
            );
        }
        let target = ConnectionTarget::resolve(Some("postgres://u:hunter2@h/d"), env(&[])).unwrap();
        assert!(!target.describe().contains("hunter2"));
    }

    #[test]
    fn bad_variables_are_named() {
        let err = ConnectionTarget::resolve(None, env(&[("PGPORT", "x")])).unwrap_err();
        assert!(err.to_string().contains("PGPORT"), "{err}");
        let err = ConnectionTarget::resolve(None, env(&[("PGHOST", "h"), ("PGSSLMODE", "maybe")]))
            .unwrap_err();
        assert!(err.to_string().contains("PGSSLMODE"), "{err}");
    }
}
