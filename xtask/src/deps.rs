//! `cargo xtask deps`: the system packages optidb needs to build and test.

use std::process::Command;

/// What the project needs, and why.
const PACKAGES: &[(&str, &str)] = &[
    (
        "libclang-dev",
        "pg_query's build runs bindgen, which needs libclang",
    ),
    (
        "postgresql-15",
        "the sandbox runs throwaway PostgreSQL 15 clusters (pg_stat_statements included)",
    ),
    (
        "postgresql-15-hypopg",
        "what-if simulation with hypothetical indexes",
    ),
];

pub fn run(args: &[String]) -> Result<(), String> {
    let check_only = args.iter().any(|arg| arg == "--check");
    if !is_debian_like() {
        eprintln!(
            "xtask deps: not a Debian or Ubuntu system: install these yourself, then set OPTIDB_PG_BINDIR to PostgreSQL 15's bin directory if it is not on PATH:"
        );
        for (package, why) in PACKAGES {
            eprintln!("  {package:<22} {why}");
        }
        return Ok(());
    }
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(package, _)| *package)
        .filter(|package| !installed(package))
        .collect();
    if missing.is_empty() {
        eprintln!("xtask deps: everything needed is installed");
        return Ok(());
    }
    let list = missing.join(" ");
    let commands = format!(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {list}"
    );
    if check_only {
        return Err(format!("missing: {list}; install with:\n  {commands}"));
    }
    if !is_root() {
        return Err(format!(
            "missing: {list}; run as root (or with sudo):\n  sudo sh -c '{commands}'\n\
             (PostgreSQL 15 not in your release? add the PGDG apt repository first: see deploy/README.md)"
        ));
    }
    eprintln!("xtask deps: installing {list}");
    crate::run(Command::new("apt-get").args(["update", "-qq"]))?;
    crate::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .map_err(|e| {
        format!("{e}\n(PostgreSQL 15 not in your release? add the PGDG apt repository first: see deploy/README.md)")
    })?;
    let still_missing: Vec<&str> = missing.into_iter().filter(|p| !installed(p)).collect();
    if still_missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "still missing after apt-get: {}",
            still_missing.join(" ")
        ))
    }
}

fn is_debian_like() -> bool {
    let Ok(release) = std::fs::read_to_string("/etc/os-release") else {
        return false;
    };
    release.lines().any(|line| {
        let line = line.trim();
        (line.starts_with("ID=") || line.starts_with("ID_LIKE="))
            && (line.contains("debian") || line.contains("ubuntu"))
    }) && which("dpkg-query")
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "install ok installed")
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
