//! Finding the PostgreSQL server programs to run.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The directory holding a PostgreSQL installation's server programs
/// (`initdb`, `postgres`) and the version they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bindir: PathBuf,
    major: u32,
    version: String,
}

/// Where Debian and Ubuntu install each major version's programs.
const DEBIAN_VERSIONED_ROOT: &str = "/usr/lib/postgresql";

impl PgBinaries {
    /// Finds the server programs. `bindir`, when given, is used as is (an
    /// error if it lacks them). Otherwise, in order: `pg_config --bindir`,
    /// each directory of `search_path` (a `PATH`-style list) that holds
    /// `initdb`, then `/usr/lib/postgresql/*/bin`, newest version first.
    pub fn discover(bindir: Option<&Path>, search_path: Option<&OsStr>) -> Result<Self, Error> {
        Self::discover_in(bindir, search_path, Path::new(DEBIAN_VERSIONED_ROOT))
    }

    fn discover_in(
        bindir: Option<&Path>,
        search_path: Option<&OsStr>,
        versioned_root: &Path,
    ) -> Result<Self, Error> {
        if let Some(dir) = bindir {
            return Self::at(dir)?.ok_or_else(|| Error::InvalidBinDir {
                path: dir.to_path_buf(),
            });
        }
        let path_dirs: Vec<PathBuf> = search_path
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default();
        let mut candidates = Vec::new();
        if let Some(dir) = pg_config_bindir(&path_dirs) {
            candidates.push(dir);
        }
        candidates.extend(path_dirs.iter().cloned());
        candidates.extend(versioned_bindirs(versioned_root));
        for dir in &candidates {
            if let Some(found) = Self::at(dir)? {
                return Ok(found);
            }
        }
        Err(Error::BinariesNotFound {
            searched: format!(
                "pg_config --bindir, PATH, {}/*/bin ({} directories)",
                versioned_root.display(),
                candidates.len()
            ),
        })
    }

    /// The binaries in `dir`, `None` when it does not hold the server programs.
    fn at(dir: &Path) -> Result<Option<Self>, Error> {
        let complete = ["initdb", "postgres"]
            .iter()
            .all(|program| dir.join(program).is_file());
        if !complete {
            return Ok(None);
        }
        let postgres = dir.join("postgres");
        let output = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| Error::io(format!("run {}", postgres.display()), e))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let (major, version) = parse_version(&text).ok_or_else(|| Error::Program {
            program: format!("{} --version", postgres.display()),
            detail: format!("unexpected output {:?}", text.trim()),
        })?;
        Ok(Some(PgBinaries {
            bindir: dir.to_path_buf(),
            major,
            version,
        }))
    }

    /// The directory holding the programs.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The major version, e.g. 15.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The full version, e.g. `15.18`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The path of one program in [`PgBinaries::bindir`].
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The Debian package that installs `extension` for this version.
    pub(crate) fn package_for(&self, extension: &str) -> String {
        match extension {
            "pg_stat_statements" => format!("postgresql-contrib (or postgresql-{})", self.major),
            other => format!("postgresql-{}-{}", self.major, other),
        }
    }
}

/// The directory `pg_config --bindir` names, when a `pg_config` is on the path.
fn pg_config_bindir(path_dirs: &[PathBuf]) -> Option<PathBuf> {
    let pg_config = path_dirs
        .iter()
        .map(|dir| dir.join("pg_config"))
        .find(|candidate| candidate.is_file())?;
    let output = Command::new(pg_config).arg("--bindir").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// `root/<version>/bin` for every version directory under `root`, newest first.
fn versioned_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
            Some((key?, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// Parses `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` into `(15, "15.18")`.
fn parse_version(output: &str) -> Option<(u32, String)> {
    let version = output
        .split("(PostgreSQL)")
        .nth(1)?
        .split_whitespace()
        .next()?;
    let major = version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((major, version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_and_development_versions() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some((15, "15.18".to_string()))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 18beta1"),
            Some((18, "18beta1".to_string()))
        );
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn versioned_dirs_are_newest_first() {
        let root = tempfile::tempdir().unwrap();
        for version in ["9.6", "13", "15", "notaversion"] {
            std::fs::create_dir(root.path().join(version)).unwrap();
        }
        let dirs = versioned_bindirs(root.path());
        let names: Vec<_> = dirs
            .iter()
            .map(|d| {
                d.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["15", "13", "9.6"]);
    }

    #[test]
    fn a_missing_extension_names_the_package_to_install() {
        let binaries = PgBinaries {
            bindir: PathBuf::from("/usr/lib/postgresql/15/bin"),
            major: 15,
            version: "15.18".into(),
        };
        let err = Error::MissingExtension {
            extension: "hypopg".into(),
            major: binaries.major(),
            bindir: binaries.bindir().to_path_buf(),
            package: binaries.package_for("hypopg"),
        };
        assert_eq!(
            err.to_string(),
            "the PostgreSQL 15 server in /usr/lib/postgresql/15/bin has no `hypopg` extension: install the `postgresql-15-hypopg` package (`cargo xtask deps` does it)"
        );
    }

    #[test]
    fn an_explicit_directory_without_programs_is_an_error() {
        let empty = tempfile::tempdir().unwrap();
        let err = PgBinaries::discover(Some(empty.path()), None).unwrap_err();
        assert!(matches!(err, Error::InvalidBinDir { .. }), "{err}");
        assert!(err.to_string().contains("OPTIDB_PG_BINDIR"), "{err}");
    }

    #[test]
    fn nothing_found_names_the_package() {
        let empty_root = tempfile::tempdir().unwrap();
        let err =
            PgBinaries::discover_in(None, Some(OsStr::new("")), empty_root.path()).unwrap_err();
        assert!(matches!(err, Error::BinariesNotFound { .. }), "{err}");
        assert!(err.to_string().contains("postgresql-15"), "{err}");
    }
}
