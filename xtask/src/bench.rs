//! `cargo xtask bench`: performance targets as measurements, not timed tests.
//! Prints medians of repeated runs: the machine is noisy.

use std::process::Command;
use std::time::{Duration, Instant};

pub fn run(args: &[String]) -> Result<(), String> {
    let runs: usize = args
        .iter()
        .position(|arg| arg == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    crate::run(Command::new(crate::cargo_path()).args([
        "build",
        "--release",
        "--locked",
        "--package",
        "optidb",
        "--package",
        "optidb-sandbox",
        "--examples",
        "--bins",
    ]))?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());

    let mut starts = Vec::new();
    for _ in 0..runs * 2 {
        let output = Command::new(format!("{target}/release/examples/sandbox_start"))
            .output()
            .map_err(|e| format!("cannot run the sandbox_start example: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let ms: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("unexpected sandbox_start output {text:?}"))?;
        starts.push(Duration::from_secs_f64(ms / 1000.0));
    }

    let mut demos = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(format!("{target}/release/optidb"))
            .args(["demo", "--quiet", "--format", "json"])
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("cannot run optidb demo: {e}"))?;
        if !status.success() {
            return Err(format!("optidb demo failed ({status})"));
        }
        demos.push(started.elapsed());
    }

    println!(
        "{:<34} {:>6} {:>10} {:>10} {:>10}",
        "measure", "runs", "min", "median", "max"
    );
    for (name, samples) in [
        ("sandbox cluster ready (s)", &mut starts),
        ("optidb demo, start to output (s)", &mut demos),
    ] {
        samples.sort();
        let secs = |d: &Duration| d.as_secs_f64();
        println!(
            "{:<34} {:>6} {:>10.3} {:>10.3} {:>10.3}",
            name,
            samples.len(),
            samples.first().map(secs).unwrap_or(0.0),
            samples.get(samples.len() / 2).map(secs).unwrap_or(0.0),
            samples.last().map(secs).unwrap_or(0.0),
        );
    }
    Ok(())
}
