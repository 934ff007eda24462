//! Starts one sandbox cluster and prints how long it took to be ready, in
//! milliseconds: the measurement behind `cargo xtask bench`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    match optidb_sandbox::Cluster::start() {
        Ok(cluster) => {
            println!("{:.1}", cluster.startup_time().as_secs_f64() * 1000.0);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
