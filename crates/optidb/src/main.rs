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
mod output;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::ExitStatus;
use crate::output::Output;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let output = Output::new(&cli.global);
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
