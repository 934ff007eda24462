//! The `optidb` command: parses arguments, composes the library crates, owns
//! all output, and maps the outcome to an exit code ([`ExitStatus`]).
//!
//! Results go to stdout; progress, hints and errors go to stderr.

// The binary is the one place that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod analysis;
mod cli;
mod commands;
mod connection;
mod exit;
mod llm;
mod output;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::ExitStatus;
use crate::output::Output;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let output = Output::new(&cli.global);
    if cli.global.verbose {
        // RUST_LOG refines it, e.g. RUST_LOG=optidb_llm=debug.
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("optidb=debug,optidb_llm=debug")
        });
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            output.error(&anyhow::Error::new(err).context("cannot start the async runtime"));
            return ExitStatus::Error.into();
        }
    };
    let status = match runtime.block_on(commands::run(cli.command, &output)) {
        Ok(status) => status,
        Err(err) if output::is_broken_pipe(&err) => ExitStatus::Success,
        Err(err) => {
            output.error(&err);
            ExitStatus::Error
        }
    };
    status.into()
}
