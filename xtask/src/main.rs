//! optidb's project tasks, run as `cargo xtask <task>`:
//!
//! - `deps`: install what the project needs from the system's packages;
//! - `test`: deps, then the whole test suite (the README's test command, and CI's);
//! - `demo`: deps, build, then `optidb demo`;
//! - `ci`: fmt check, clippy with `-D warnings`, docs, the architecture check, tests;
//! - `bench`: measure sandbox start and demo wall time, print medians.
//!
//! Std only: xtask must build before anything is installed.

// xtask is a command-line tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod arch;
mod bench;
mod deps;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "deps" => deps::run(rest),
        "test" => deps::run(&[]).and_then(|()| test(rest)),
        "demo" => deps::run(&[]).and_then(|()| demo(rest)),
        "ci" => ci(),
        "bench" => deps::run(&[]).and_then(|()| bench::run(rest)),
        "help" | "--help" | "-h" => {
            println!("{}", HELP);
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const HELP: &str = "usage: cargo xtask <task>

tasks:
  deps [--check]   install libclang-dev, postgresql-15, postgresql-15-hypopg when missing
                   (--check: only report what is missing)
  test [ARGS]      deps, then cargo test --workspace [ARGS]
  demo [ARGS]      deps, then optidb demo [ARGS]
  ci               fmt check, clippy -D warnings, docs, architecture check, tests
  bench [--runs 5] sandbox start, facts, snapshot, rules, what-if, selection, demo (medians)
  bench --tpch [--scale 1] [--sessions 2]
                   the TPC-H index-selection quality table (one run, SF1 loads in ~20 s)";

fn test(extra: &[String]) -> Result<(), String> {
    cargo(&["test", "--workspace", "--locked"], extra)
}

fn demo(extra: &[String]) -> Result<(), String> {
    cargo(
        &[
            "run",
            "--locked",
            "--quiet",
            "--package",
            "optidb",
            "--",
            "demo",
        ],
        extra,
    )
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    deps::run(&[])?;
    run(Command::new(cargo_path())
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    arch::check()?;
    test(&[])
}

fn cargo_path() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Runs cargo with `args` then `extra`, failing when it fails.
fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    run(Command::new(cargo_path()).args(args).args(extra))
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}
