//! Starts one sandbox cluster and prints how long it took to be ready, in
//! milliseconds: the measurement behind `cargo xtask bench`.

#![allow(clippy::print_stdout)]

fn main() -> Result<(), optidb_sandbox::Error> {
    let cluster = optidb_sandbox::Cluster::start()?;
    println!("{:.1}", cluster.startup_time().as_secs_f64() * 1000.0);
    Ok(())
}
