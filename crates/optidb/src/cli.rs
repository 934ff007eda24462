//! The command line: every subcommand and option.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A PostgreSQL performance advisor: finds what makes a workload slow,
/// proves each fix before anyone runs it, and applies it safely.
///
/// Exit codes: 0 success; 1 findings at or above --fail-on; 2 usage,
/// connection or other error.
#[derive(Debug, Parser)]
#[command(name = "optidb", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format of the results on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub format: Format,
    /// When to use colors (NO_COLOR and TERM=dumb turn `auto` off).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// No progress bars or hints on stderr; errors are still shown.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Debug logging on stderr (LLM requests with their token counts…).
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON document (see docs/ for its schema).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Where the snapshot comes from. Without --dsn or --from, DATABASE_URL is
/// used, else libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
/// PGSSLMODE…; PG* variables also fill in what a DSN leaves out.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A postgres:// URL or a key=value connection string (libpq's
    /// sslmode, sslrootcert, sslcert, sslkey included).
    #[arg(long, value_name = "DSN", conflicts_with = "from")]
    pub dsn: Option<String>,
    /// Analyse a snapshot saved with --save instead of connecting.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Also save the snapshot as JSON, to analyse later with --from.
    #[arg(long, value_name = "FILE", conflicts_with = "from")]
    pub save: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find what makes the workload slow and recommend fixes, with the exact
    /// SQL, its rollback, the evidence and the risk.
    Scan(ScanArgs),
    /// Show the statements that take the most time.
    Bottlenecks(BottlenecksArgs),
    /// Prove an index with HypoPG before building it: the plan cost of every
    /// statement it touches, before and after.
    Simulate(SimulateArgs),
    /// Apply a recommendation (or DDL) safely: shown first, confirmed,
    /// CONCURRENTLY, bounded by lock and statement timeouts, validated,
    /// reversible, and recorded in optidb.changes.
    Apply(ApplyArgs),
    /// The changes optidb applied, failed or rolled back (optidb.changes).
    History(HistoryArgs),
    /// Undo a change optidb applied, with the same safety rules.
    Rollback(RollbackArgs),
    /// Did a change pay off? Its statements' mean time since, against before.
    Verify(VerifyArgs),
    /// Find INVALID indexes a killed optidb build left behind, and drop them.
    Doctor(DoctorArgs),
    /// Explain one statement: its plan and findings in plain English (needs
    /// an LLM, see README), with a rewrite shown only once verified on a
    /// sandbox copy, and a proposed index costed with HypoPG.
    Explain(ExplainArgs),
    /// Ask a question about the workload: answered from the snapshot's facts
    /// only, each claim citing them (needs an LLM, see README).
    Ask(AskArgs),
    /// Start a throwaway PostgreSQL, load a demo shop with planted problems,
    /// run its workload and show what optidb sees.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Critical)]
    pub fail_on: FailOn,
    /// Rules to disable, thresholds, tables and statements to ignore
    /// (default: ./optidb.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many statements to analyse, the top ones by total time.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
    /// Do not prove index recommendations with HypoPG (what-if).
    #[arg(long)]
    pub no_simulate: bool,
    /// Add a model's plain-English explanation, citing the evidence, to the
    /// top recommendations (needs an LLM, see README; without one, or when
    /// it fails, the template rationale stands).
    #[arg(long)]
    pub explain: bool,
    /// With --explain: how many recommendations to explain, from the top.
    #[arg(long, value_name = "N", default_value_t = 5, requires = "explain")]
    pub explain_top: usize,
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// How the LLM is used (where it is, is read from OPTIDB_LLM_MODEL,
/// OPTIDB_LLM_BASE_URL, OPENAI_API_KEY, OPTIDB_LLM_API_VERSION).
#[derive(Debug, Args)]
pub struct LlmArgs {
    /// Ask the model again instead of using cached answers.
    #[arg(long)]
    pub no_cache: bool,
    /// The most requests to the model in this run (retries included).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub llm_budget: usize,
    /// Seconds one request to the model may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub llm_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The statement: a queryid or a fingerprint (see `optidb bottlenecks`).
    #[arg(value_name = "QUERYID|FINGERPRINT", allow_hyphen_values = true)]
    pub id: String,
    /// Rules to disable, thresholds… (default: ./optidb.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many statements to read, the top ones by total time.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
    /// An existing scratch database to verify rewrites in instead of a
    /// throwaway local cluster (it must not be the target).
    #[arg(long, value_name = "DSN")]
    pub sandbox_dsn: Option<String>,
    /// Rows to copy per table at most when verifying a rewrite.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub sample_rows: u64,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The question, e.g. "why is checkout slow?".
    #[arg(value_name = "QUESTION")]
    pub question: String,
    /// Rules to disable, thresholds… (default: ./optidb.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many statements to read, the top ones by total time.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Critical,
    /// Never exit 1 because of findings.
    Never,
}

#[derive(Debug, Args)]
pub struct BottlenecksArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// How many statements to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Show one statement in full, with its plan: a queryid or a fingerprint.
    #[arg(long, value_name = "QUERYID|FINGERPRINT", allow_hyphen_values = true)]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A database (simulation needs a live one with hypopg).
    #[arg(long, value_name = "DSN")]
    pub dsn: Option<String>,
    /// A recommendation's number, as `optidb scan` ranks them.
    #[arg(
        value_name = "RECOMMENDATION",
        required_unless_present_any = ["index", "workload", "drop"],
        conflicts_with_all = ["index", "workload", "drop"]
    )]
    pub recommendation: Option<usize>,
    /// What dropping this index (`schema.name` or `name`) would cost the
    /// statements, measured on a sandbox copy (HypoPG before 1.4 cannot hide
    /// an index).
    #[arg(long, value_name = "INDEX", conflicts_with_all = ["index", "workload", "real"])]
    pub drop: Option<String>,
    /// Choose the best set of indexes for the whole workload (Σ calls × cost).
    #[arg(long, conflicts_with_all = ["index", "real"])]
    pub workload: bool,
    /// With --workload: the most the new indexes may take, e.g. 500MB, 1.5GB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "workload")]
    pub budget: Option<i64>,
    /// With --workload: the most indexes to choose.
    #[arg(long, value_name = "N", requires = "workload")]
    pub max_indexes: Option<usize>,
    /// With --workload: the most keys a candidate index has. 3 finds better
    /// sets on analytic workloads (TPC-H) for more EXPLAINs.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub max_width: u8,
    /// With --workload: stop after this many seconds with the best set so far.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub time_budget: u64,
    /// With --workload: sessions that explain in parallel (each a server
    /// backend: more than the server's free cores does not pay).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub sessions: u8,
    /// With --workload: ignore the indexes' write cost (on freshly loaded data
    /// the load counts as write traffic).
    #[arg(long, requires = "workload")]
    pub no_write_penalty: bool,
    /// Measure for real: build the index on a sampled copy of the tables in a
    /// throwaway local PostgreSQL (or --sandbox-dsn) and time the statements
    /// before and after. Never writes to the target database.
    #[arg(long)]
    pub real: bool,
    /// With --real: an existing scratch database to copy into instead of a
    /// throwaway cluster (it must not be the target).
    #[arg(long, value_name = "DSN", requires = "real")]
    pub sandbox_dsn: Option<String>,
    /// With --real: rows to copy per table at most (sampled beyond).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub sample_rows: u64,
    /// An index to simulate (`CREATE INDEX … ON table (…)`); repeatable.
    #[arg(long, value_name = "DDL")]
    pub index: Vec<String>,
    /// The scan's configuration, to number recommendations as it does
    /// (default: ./optidb.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many statements to read, the top ones by total time.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The database to change.
    #[arg(long, value_name = "DSN")]
    pub dsn: Option<String>,
    /// A recommendation's number, as `optidb scan` ranks them.
    #[arg(
        value_name = "RECOMMENDATION",
        required_unless_present = "ddl",
        conflicts_with = "ddl"
    )]
    pub recommendation: Option<usize>,
    /// DDL to run instead: CREATE INDEX CONCURRENTLY, DROP INDEX
    /// CONCURRENTLY, ANALYZE or VACUUM (anything else needs --allow-any-ddl).
    #[arg(long, value_name = "SQL")]
    pub ddl: Option<String>,
    /// Apply without asking (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the SQL that would run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accept DDL other than index builds and drops, ANALYZE and VACUUM.
    #[arg(long)]
    pub allow_any_ddl: bool,
    /// Seconds each attempt may wait for its lock (retried with backoff).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub lock_timeout: f64,
    /// The scan's configuration, to number recommendations as it does.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many statements the scan analyses.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The database.
    #[arg(long, value_name = "DSN")]
    pub dsn: Option<String>,
    /// How many changes to show, newest first.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: i64,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The database.
    #[arg(long, value_name = "DSN")]
    pub dsn: Option<String>,
    /// The change to undo (its id in `optidb history`).
    #[arg(value_name = "CHANGE")]
    pub change: i64,
    /// Roll back without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The database.
    #[arg(long, value_name = "DSN")]
    pub dsn: Option<String>,
    /// The change to verify (its id in `optidb history`).
    #[arg(value_name = "CHANGE")]
    pub change: i64,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The database.
    #[arg(long, value_name = "DSN")]
    pub dsn: Option<String>,
    /// Drop the INVALID indexes found, without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data size: 1 is about 100k users and 1M orders.
    #[arg(long, default_value_t = 0.1, value_parser = parse_scale)]
    pub scale: f64,
    /// How many statements to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Keep the demo database running until Ctrl-C, to try optidb on it.
    #[arg(long)]
    pub keep: bool,
}

/// `500MB`, `1.5GB`, `800kB`, `1048576` (bytes).
fn parse_size(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" | "kib" => 1024.0,
        "mb" | "m" | "mib" => 1024.0 * 1024.0,
        "gb" | "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "tb" | "t" | "tib" => 1024.0_f64.powi(4),
        other => return Err(format!("unknown size unit {other:?}: use kB, MB, GB or TB")),
    };
    match number.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok((value * multiplier) as i64),
        _ => Err(format!("{text:?} is not a size like 500MB or 1.5GB")),
    }
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale > 0.0 && scale <= 100.0 => Ok(scale),
        _ => Err(format!(
            "{text:?} is not a scale between 0 (exclusive) and 100"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_read_like_postgres_settings() {
        assert_eq!(parse_size("500MB"), Ok(500 * 1024 * 1024));
        assert_eq!(parse_size("1.5GB"), Ok(1536 * 1024 * 1024));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("-1MB").is_err());
    }

    #[test]
    fn scale_must_be_positive() {
        assert!(parse_scale("0.05").is_ok());
        assert!(parse_scale("0").is_err());
        assert!(parse_scale("-1").is_err());
        assert!(parse_scale("NaN").is_err());
    }
}
