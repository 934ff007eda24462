//! Starting and stopping one throwaway cluster.

use std::ffi::OsString;
use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::guardian::Guardian;
use crate::server_user::ServerUser;
use crate::sql::blocking_query;
use crate::{Database, Error, PgBinaries};

/// How to start a sandbox cluster.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Use the server programs in this directory instead of searching.
    pub bindir: Option<PathBuf>,
    /// A `PATH`-style list of directories to search for `pg_config` and `initdb`.
    pub search_path: Option<OsString>,
    /// Where to create the cluster's directory (default: the system's temp dir).
    pub parent_dir: Option<PathBuf>,
    /// Extra server settings (`name`, `value`), applied after the defaults.
    pub settings: Vec<(String, String)>,
    /// Serve TLS with this certificate and key (PEM), for testing clients' TLS.
    pub tls: Option<ServerTls>,
}

/// A server certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The certificate chain, leaf first.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
}

impl SandboxOptions {
    /// Options from the environment: `OPTIDB_PG_BINDIR` (the server programs'
    /// directory, overriding the search) and `PATH` (where to search). The
    /// only place this crate reads the environment.
    pub fn from_env() -> Self {
        SandboxOptions {
            bindir: std::env::var_os("OPTIDB_PG_BINDIR")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
            search_path: std::env::var_os("PATH"),
            ..SandboxOptions::default()
        }
    }

    /// Adds a server setting, e.g. `("work_mem", "64kB")`.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }
}

/// Server settings of every sandbox: what optidb needs (statement statistics
/// including nested statements) and what makes a throwaway cluster fast
/// (nothing is ever flushed to disk for durability).
const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "127.0.0.1"),
    ("shared_preload_libraries", "pg_stat_statements"),
    ("pg_stat_statements.track", "all"),
    ("track_io_timing", "on"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("logging_collector", "off"),
];

/// Extensions installed in every database of a sandbox.
const EXTENSIONS: &[&str] = &["pg_stat_statements", "hypopg"];

/// The superuser initdb creates; the server trusts it on 127.0.0.1 only.
const SUPERUSER: &str = "postgres";

/// How often to try another port when the one we picked was taken meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an immediate shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running throwaway PostgreSQL cluster. Dropping it stops the server and
/// deletes its directory; if the process dies without dropping it, a
/// guardian process does the same.
#[derive(Debug)]
pub struct Cluster {
    binaries: PgBinaries,
    root: PathBuf,
    port: u16,
    postmaster: Option<Child>,
    guardian: Option<Guardian>,
    next_database: AtomicU64,
    startup: Duration,
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

impl Cluster {
    /// Starts a cluster with [`SandboxOptions::from_env`].
    pub fn start() -> Result<Self, Error> {
        Self::start_with(&SandboxOptions::from_env())
    }

    /// The process's shared cluster, started on first use with
    /// [`SandboxOptions::from_env`]: tests in one binary share it and each
    /// create a database of their own. It lives until the process exits,
    /// when its guardian stops it and deletes its files.
    pub fn shared() -> Result<&'static Self, Error> {
        let shared = SHARED.get_or_init(|| Self::start().map_err(|e| e.to_string()));
        shared
            .as_ref()
            .map_err(|message| Error::SharedUnavailable(message.clone()))
    }

    /// Starts a cluster: initdb into a new temporary directory, start the
    /// server on a free port, install the extensions into `template1` (so
    /// every database created afterwards has them) and `postgres`.
    pub fn start_with(options: &SandboxOptions) -> Result<Self, Error> {
        let begun = Instant::now();
        let binaries =
            PgBinaries::discover(options.bindir.as_deref(), options.search_path.as_deref())?;
        let user = ServerUser::detect()?;
        let parent = options
            .parent_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let root = tempfile::Builder::new()
            .prefix("optidb-sandbox-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(format!("create a directory in {}", parent.display()), e))?
            .keep();
        let guardian = match Guardian::spawn(&root) {
            Ok(guardian) => guardian,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&root);
                return Err(e);
            }
        };
        // From here on, dropping `cluster` (also on an early error return)
        // stops whatever was started and deletes the directory.
        let mut cluster = Cluster {
            binaries,
            root,
            port: 0,
            postmaster: None,
            guardian: Some(guardian),
            next_database: AtomicU64::new(1),
            startup: Duration::ZERO,
        };
        user.give(&cluster.root)?;
        std::fs::create_dir(cluster.socket_dir())
            .map_err(|e| Error::io("create the socket directory", e))?;
        user.give(&cluster.socket_dir())?;
        cluster.initdb(&user)?;
        let mut options = options.clone();
        if let Some(tls) = &options.tls {
            let (cert, key) = cluster.write_tls_files(&user, tls)?;
            options.settings.extend([
                ("ssl".to_string(), "on".to_string()),
                ("ssl_cert_file".to_string(), cert),
                ("ssl_key_file".to_string(), key),
            ]);
        }
        cluster.launch(&user, &options)?;
        cluster.install_extensions()?;
        cluster.startup = begun.elapsed();
        Ok(cluster)
    }

    fn initdb(&self, user: &ServerUser) -> Result<(), Error> {
        let program = self.binaries.program("initdb");
        let mut command = Command::new(&program);
        command
            .arg("--pgdata")
            .arg(self.data_dir())
            .args(["--username", SUPERUSER, "--auth", "trust"])
            .args(["--encoding", "UTF8", "--locale", "C"])
            .args(["--no-sync", "--no-instructions"])
            .current_dir(&self.root)
            .stdin(Stdio::null());
        user.apply(&mut command);
        let output = command
            .output()
            .map_err(|e| Error::io(format!("run {}", program.display()), e))?;
        if !output.status.success() {
            return Err(Error::Program {
                program: "initdb".into(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(())
    }

    /// Writes the server's certificate and key where it can read them (the
    /// key readable by the server user alone, as PostgreSQL insists).
    fn write_tls_files(
        &self,
        user: &ServerUser,
        tls: &ServerTls,
    ) -> Result<(String, String), Error> {
        use std::os::unix::fs::PermissionsExt;
        let cert = self.root.join("server.crt");
        let key = self.root.join("server.key");
        for (path, contents) in [(&cert, &tls.cert_pem), (&key, &tls.key_pem)] {
            std::fs::write(path, contents)
                .and_then(|()| {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                })
                .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
            user.give(path)?;
        }
        Ok((cert.display().to_string(), key.display().to_string()))
    }

    /// Starts the server on a free port, trying another port when the one
    /// picked was taken by someone else between our check and the server's bind.
    fn launch(&mut self, user: &ServerUser, options: &SandboxOptions) -> Result<(), Error> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let log =
                File::create(self.log_file()).map_err(|e| Error::io("create the server log", e))?;
            let log_err = log
                .try_clone()
                .map_err(|e| Error::io("open the server log", e))?;
            let mut command = Command::new(self.binaries.program("postgres"));
            command
                .arg("-D")
                .arg(self.data_dir())
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(self.socket_dir());
            let settings = DEFAULT_SETTINGS
                .iter()
                .map(|(name, value)| (*name, *value))
                .chain(
                    options
                        .settings
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str())),
                );
            for (name, value) in settings {
                command.arg("-c").arg(format!("{name}={value}"));
            }
            command
                .current_dir(&self.root)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err);
            user.apply(&mut command);
            let child = command
                .spawn()
                .map_err(|e| Error::io("start the postgres server", e))?;
            let pid = child.id();
            self.postmaster = Some(child);
            if let Some(guardian) = self.guardian.as_mut() {
                guardian.watch(pid)?;
            }
            match self.wait_ready() {
                Ok(()) => {
                    self.port = port;
                    return Ok(());
                }
                Err(error) if self.log_tail().contains("could not bind") => {
                    self.postmaster = None;
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::ServerStart {
            reason: "no free port".into(),
            log_tail: String::new(),
        }))
    }

    /// Waits until the postmaster reports `ready` in its pid file.
    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let pid_file = self.data_dir().join("postmaster.pid");
        loop {
            let exited = match self.postmaster.as_mut() {
                Some(child) => child.try_wait().ok().flatten(),
                None => None,
            };
            if let Some(status) = exited {
                return Err(Error::ServerStart {
                    reason: format!("the server exited ({status})"),
                    log_tail: self.log_tail(),
                });
            }
            let ready = std::fs::read_to_string(&pid_file)
                .map(|text| text.lines().nth(7).map(str::trim) == Some("ready"))
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::ServerStart {
                    reason: format!("not ready after {} s", READY_TIMEOUT.as_secs()),
                    log_tail: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn install_extensions(&self) -> Result<(), Error> {
        let available = blocking_query(
            &self.dsn("postgres"),
            "SELECT name FROM pg_available_extensions",
            "list the available extensions",
        )?;
        if let Some(missing) = EXTENSIONS
            .iter()
            .find(|extension| !available.iter().any(|name| name == *extension))
        {
            return Err(Error::MissingExtension {
                extension: (*missing).to_string(),
                major: self.binaries.major(),
                bindir: self.binaries.bindir().to_path_buf(),
                package: self.binaries.package_for(missing),
            });
        }
        let create: String = EXTENSIONS
            .iter()
            .map(|extension| format!("CREATE EXTENSION IF NOT EXISTS {extension};"))
            .collect();
        for database in ["template1", "postgres"] {
            blocking_query(
                &self.dsn(database),
                &create,
                &format!("install the extensions in {database}"),
            )?;
        }
        Ok(())
    }

    /// Creates a fresh, uniquely named database with the extensions installed.
    pub async fn create_database(&self) -> Result<Database, Error> {
        let number = self.next_database.fetch_add(1, Ordering::Relaxed);
        self.create_database_named(&format!("sandbox_{number}"))
            .await
    }

    /// Creates a database called `name` with the extensions installed.
    pub async fn create_database_named(&self, name: &str) -> Result<Database, Error> {
        let admin = crate::sql::connect(&self.dsn("postgres")).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_identifier(name)))
            .await
            .map_err(|e| Error::sql(format!("create database {name}"), e))?;
        Ok(Database::new(name.to_string(), self.dsn(name)))
    }

    /// A libpq key=value connection string for `database` (no password: the
    /// sandbox trusts local connections).
    pub fn dsn(&self, database: &str) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={}",
            self.host(),
            self.port,
            quote_dsn_value(database)
        )
    }

    /// The address the server listens on.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser to connect as.
    pub fn superuser(&self) -> &'static str {
        SUPERUSER
    }

    /// The server programs this cluster runs.
    pub fn binaries(&self) -> &PgBinaries {
        &self.binaries
    }

    /// The cluster's own directory: data, socket and log live under it.
    pub fn root_dir(&self) -> &Path {
        &self.root
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The private directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("socket")
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// The postmaster's process id.
    pub fn postmaster_pid(&self) -> Option<u32> {
        self.postmaster.as_ref().map(Child::id)
    }

    /// How long [`Cluster::start`] took until the cluster was ready for use.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The last lines of the server's log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(postmaster) = self.postmaster.take() {
            stop(postmaster);
        }
        let _ = std::fs::remove_dir_all(&self.root);
        if let Some(guardian) = self.guardian.take() {
            guardian.dismiss();
        }
    }
}

/// Immediate shutdown (SIGQUIT): nothing in a throwaway cluster is worth a
/// checkpoint. Killed outright if it takes too long.
fn stop(mut postmaster: Child) {
    if let Ok(pid) = i32::try_from(postmaster.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGQUIT);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        match postmaster.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() > deadline => {
                let _ = postmaster.kill();
                let _ = postmaster.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// A port that was free a moment ago (the server may still lose a race for it;
/// [`Cluster::launch`] then retries).
fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| Error::io("find a free port on 127.0.0.1", e))
}

/// `name` as a SQL identifier: double-quoted, inner quotes doubled.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a libpq key=value connection-string value.
fn quote_dsn_value(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_dsn_values_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_dsn_value("sandbox_1"), "sandbox_1");
        assert_eq!(quote_dsn_value("it's here"), "'it\\'s here'");
    }
}
