//! The architecture invariants CI enforces: the pure crates never link a
//! database driver, an async runtime or a network client.

use std::process::Command;

/// Crates that must do no I/O.
const PURE: &[&str] = &[
    "optidb-model",
    "optidb-fingerprint",
    "optidb-rules",
    "optidb-recommend",
];

/// What a pure crate must never depend on, directly or not.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "tokio-postgres",
    "deadpool-postgres",
    "async-openai",
    "reqwest",
];

pub fn check() -> Result<(), String> {
    let mut violations = Vec::new();
    for krate in PURE {
        let output = Command::new(crate::cargo_path())
            .args([
                "tree",
                "--locked",
                "--edges",
                "normal",
                "--prefix",
                "none",
                "--format",
                "{p}",
                "--package",
                krate,
            ])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if FORBIDDEN.contains(&name) {
                violations.push(format!("{krate} depends on {name}"));
            }
        }
    }
    violations.sort();
    violations.dedup();
    if violations.is_empty() {
        eprintln!(
            "xtask: architecture check passed: {} do no I/O",
            PURE.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "architecture invariant broken (docs/ARCHITECTURE.md): {}",
            violations.join("; ")
        ))
    }
}
