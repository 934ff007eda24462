//! `cargo xtask bench`: performance targets as measurements, not timed tests.
//! Runs each probe (a release-built example or the optidb binary) several
//! times and prints a table of medians: the machine is noisy.

use std::process::{Command, Stdio};
use std::time::Instant;

/// One measurement: what it is, its target, and how to take one sample.
struct Probe {
    name: &'static str,
    unit: &'static str,
    target: &'static str,
    sample: fn(&str) -> Result<f64, String>,
}

const PROBES: &[Probe] = &[
    Probe {
        name: "sandbox cluster ready",
        unit: "ms",
        target: "< 3000",
        sample: |target| first_number(&run_example(target, "sandbox_start")?, ""),
    },
    Probe {
        name: "fingerprint + facts, 5,000 statements",
        unit: "stmts/s",
        target: ">= 20000",
        sample: |target| first_number(&run_example(target, "facts_bench")?, "facts_per_second"),
    },
    Probe {
        name: "snapshot: 5,000 statements, 200 tables, EXPLAIN top 100",
        unit: "ms",
        target: "<= 2000",
        sample: |target| first_number(&run_example(target, "snapshot_bench")?, "snapshot_ms"),
    },
    Probe {
        name: "rules + recommend: 5,000 statements, 200 tables",
        unit: "ms",
        target: "<= 200",
        sample: |target| first_number(&run_example(target, "rules_bench")?, "rules_recommend_ms"),
    },
    Probe {
        name: "one what-if evaluation (create + EXPLAIN + reset)",
        unit: "ms",
        target: "<= 20",
        sample: |target| first_number(&run_example(target, "selection_bench")?, "whatif_eval_ms"),
    },
    Probe {
        name: "workload selection: 100 statements, 50 candidates",
        unit: "ms",
        target: "<= 10000",
        sample: |target| first_number(&run_example(target, "selection_bench")?, "selection_ms"),
    },
    Probe {
        name: "optidb demo, start to output",
        unit: "ms",
        target: "< 60000",
        sample: |target| {
            let started = Instant::now();
            let status = Command::new(format!("{target}/release/optidb"))
                .args(["demo", "--quiet", "--format", "json"])
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run optidb demo: {e}"))?;
            if !status.success() {
                return Err(format!("optidb demo failed ({status})"));
            }
            Ok(started.elapsed().as_secs_f64() * 1000.0)
        },
    },
];

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
        "--workspace",
        "--examples",
        "--bins",
    ]))?;
    if args.iter().any(|arg| arg == "--tpch") {
        // The TPC-H quality table: one run (loading SF1 takes a while), its
        // own flags after `--tpch` passed on (e.g. `--scale 1 --sessions 2`).
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let rest: Vec<&String> = args
            .iter()
            .skip_while(|arg| *arg != "--tpch")
            .skip(1)
            .collect();
        return crate::run(
            Command::new(format!("{target}/release/examples/tpch_bench")).args(rest),
        );
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    println!(
        "{:<58} {:>8} {:>5} {:>11} {:>11} {:>11}  target",
        "measure", "unit", "runs", "min", "median", "max"
    );
    for probe in PROBES {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push((probe.sample)(&target)?);
        }
        samples.sort_by(f64::total_cmp);
        println!(
            "{:<58} {:>8} {:>5} {:>11.1} {:>11.1} {:>11.1}  {}",
            probe.name,
            probe.unit,
            samples.len(),
            samples.first().copied().unwrap_or(0.0),
            samples.get(samples.len() / 2).copied().unwrap_or(0.0),
            samples.last().copied().unwrap_or(0.0),
            probe.target,
        );
    }
    Ok(())
}

fn run_example(target: &str, name: &str) -> Result<String, String> {
    let output = Command::new(format!("{target}/release/examples/{name}"))
        .output()
        .map_err(|e| format!("cannot run the {name} example: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The first number after `label` on the line starting with it (`label`
/// empty: the first number of the output).
fn first_number(output: &str, label: &str) -> Result<f64, String> {
    output
        .lines()
        .filter(|line| line.starts_with(label))
        .find_map(|line| {
            line[label.len()..]
                .split_whitespace()
                .find_map(|word| word.parse::<f64>().ok())
        })
        .ok_or_else(|| format!("no {label:?} figure in {output:?}"))
}
