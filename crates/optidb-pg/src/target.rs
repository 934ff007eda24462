//! Where to connect: a DSN (URL or key=value) from `--dsn` or `DATABASE_URL`,
//! completed by libpq's `PG*` variables the way libpq completes it.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::Host;

use crate::pgpass::{self, Lookup, PgpassKey};
use crate::tls::{SslMode, TlsSettings};
use crate::{Error, dsn};

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
    tls: TlsSettings,
    source: TargetSource,
    notes: Vec<String>,
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
        let invalid = |reason: String| Error::InvalidDsn {
            source_name: source.name(),
            reason,
        };
        let (mut config, tls_options) = match &text {
            Some(text) => {
                let split = dsn::split(text).map_err(invalid)?;
                let config = Config::from_str(&split.rest).map_err(|e| invalid(e.to_string()))?;
                (config, split.tls)
            }
            None => (Config::new(), Vec::new()),
        };
        fill_from_env(&mut config, &env)?;
        let tls = tls_settings(&tls_options, &env).map_err(|(option, reason)| match option {
            Some(variable) => Error::InvalidVariable { variable, reason },
            None => invalid(reason),
        })?;
        config.ssl_mode(tls.mode.negotiation());
        if config.get_hosts().is_empty() {
            config.host(default_host());
        }
        if config.get_user().is_none() {
            // libpq's default: the operating-system user.
            if let Some(user) = env("USER").or_else(|| env("LOGNAME")) {
                config.user(user);
            }
        }
        let mut notes = Vec::new();
        if let Some(Host::Tcp(host)) = config.get_hosts().first()
            && !is_local(host)
            && !tls.mode.authenticates_server()
        {
            notes.push(format!(
                "sslmode={} does not verify that {host} is the server it claims to be: use sslmode=verify-full (with sslrootcert=<the server's CA file>) outside trusted networks",
                tls.mode.as_str()
            ));
        }
        if config.get_password().is_none() {
            fill_from_pgpass(&mut config, &env, &mut notes);
        }
        Ok(ConnectionTarget {
            config,
            tls,
            source,
            notes,
        })
    }

    /// A target from an already-built config (embedding tools, tests).
    pub fn from_config(config: Config) -> Self {
        let tls = TlsSettings {
            mode: match config.get_ssl_mode() {
                tokio_postgres::config::SslMode::Disable => SslMode::Disable,
                tokio_postgres::config::SslMode::Require => SslMode::Require,
                _ => SslMode::Prefer,
            },
            ..TlsSettings::default()
        };
        ConnectionTarget {
            config,
            tls,
            source: TargetSource::DsnOption,
            notes: Vec::new(),
        }
    }

    /// Things worth telling the user about how the target was resolved
    /// (e.g. a password file that was ignored, and why).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Where the settings came from.
    pub fn source(&self) -> TargetSource {
        self.source
    }

    /// The driver configuration (it holds the password: never print it).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The TLS settings.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
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
    Ok(())
}

/// The TLS settings from the connection string's options, completed by
/// `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`. An error names the
/// variable at fault (`None`: the connection string).
fn tls_settings(
    options: &[(String, String)],
    env: &impl Fn(&str) -> Option<String>,
) -> Result<TlsSettings, (Option<&'static str>, String)> {
    let option = |name: &str| {
        options
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let (mode_text, from_variable) = match option("sslmode") {
        Some(mode) => (Some(mode), false),
        None => (env("PGSSLMODE"), true),
    };
    let mode = match mode_text {
        None => SslMode::default(),
        Some(text) => SslMode::parse(&text).ok_or_else(|| {
            (
                from_variable.then_some("PGSSLMODE"),
                format!(
                    "sslmode {text:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ),
            )
        })?,
    };
    Ok(TlsSettings {
        mode,
        root_cert: option("sslrootcert").or_else(|| env("PGSSLROOTCERT")),
        client_cert: option("sslcert")
            .or_else(|| env("PGSSLCERT"))
            .map(PathBuf::from),
        client_key: option("sslkey")
            .or_else(|| env("PGSSLKEY"))
            .map(PathBuf::from),
        home: env("HOME").map(PathBuf::from),
    })
}

/// Whether `host` is this machine (where TLS matters less).
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Looks the password up in `PGPASSFILE` or `~/.pgpass`, as libpq does.
fn fill_from_pgpass(
    config: &mut Config,
    env: &impl Fn(&str) -> Option<String>,
    notes: &mut Vec<String>,
) {
    let Some(path) =
        env("PGPASSFILE").or_else(|| env("HOME").map(|home| format!("{home}/.pgpass")))
    else {
        return;
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        // libpq matches socket connections as `localhost`.
        _ => "localhost".to_string(),
    };
    let user = config.get_user().unwrap_or_default().to_string();
    let key = PgpassKey {
        host: &host,
        port: config.get_ports().first().copied().unwrap_or(5432),
        database: config.get_dbname().unwrap_or(&user),
        user: &user,
    };
    match pgpass::lookup(std::path::Path::new(&path), &key) {
        Lookup::Found(password) => {
            config.password(password);
        }
        Lookup::NotFound => {}
        Lookup::Ignored(note) => notes.push(note),
    }
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
    fn a_password_comes_from_pgpass_when_none_is_given() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "db.example:5432:shop:app:from-file\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = path.to_string_lossy().into_owned();
        let target = ConnectionTarget::resolve(
            Some("postgres://app@db.example/shop"),
            env(&[("PGPASSFILE", file.as_str())]),
        )
        .unwrap();
        assert_eq!(target.config().get_password(), Some(&b"from-file"[..]));
        // A password in the DSN wins over the file.
        let target = ConnectionTarget::resolve(
            Some("postgres://app:given@db.example/shop"),
            env(&[("PGPASSFILE", file.as_str())]),
        )
        .unwrap();
        assert_eq!(target.config().get_password(), Some(&b"given"[..]));
        // A file others may read is ignored, with a note saying why.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let target = ConnectionTarget::resolve(
            Some("postgres://app@db.example/shop"),
            env(&[("PGPASSFILE", file.as_str())]),
        )
        .unwrap();
        assert_eq!(target.config().get_password(), None);
        assert!(
            target
                .notes()
                .iter()
                .any(|note| note.contains("chmod 0600")),
            "{:?}",
            target.notes()
        );
    }

    #[test]
    fn tls_options_come_from_the_dsn_or_the_variables() {
        let target = ConnectionTarget::resolve(
            Some("postgres://u@db.example/d?sslmode=verify-full&sslrootcert=/ca.pem"),
            env(&[("PGSSLMODE", "disable")]),
        )
        .unwrap();
        assert_eq!(target.tls().mode, SslMode::VerifyFull);
        assert_eq!(target.tls().root_cert.as_deref(), Some("/ca.pem"));
        assert!(target.notes().is_empty(), "verify-full needs no warning");

        let target = ConnectionTarget::resolve(
            Some("host=db.example dbname=d"),
            env(&[("PGSSLMODE", "require"), ("PGSSLROOTCERT", "system")]),
        )
        .unwrap();
        assert_eq!(target.tls().mode, SslMode::Require);
        assert_eq!(target.tls().root_cert.as_deref(), Some("system"));
        assert!(target.notes()[0].contains("sslmode=require does not verify"));

        let local = ConnectionTarget::resolve(Some("host=127.0.0.1 dbname=d"), env(&[])).unwrap();
        assert_eq!(local.tls().mode, SslMode::Prefer);
        assert!(local.notes().is_empty(), "{:?}", local.notes());

        let err =
            ConnectionTarget::resolve(Some("host=h sslmode=sometimes"), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("--dsn") && err.to_string().contains("sometimes"),
            "{err}"
        );
    }

    #[test]
    fn the_user_defaults_to_the_os_user() {
        let target =
            ConnectionTarget::resolve(Some("host=h dbname=d"), env(&[("USER", "alice")])).unwrap();
        assert_eq!(target.describe(), "alice@h:5432/d");
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
