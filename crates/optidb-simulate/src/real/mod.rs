//! Real mode: measure an index instead of estimating it. The tables a set
//! of statements use are copied (schema and a sample of rows) from the
//! target to a sandbox database, and each statement is run there with
//! realistic parameter values under `EXPLAIN ANALYZE`, several times,
//! before and after building the index; the report gives the median
//! execution times and the speedup.
//!
//! The target is only read: catalog queries and `COPY (SELECT … TABLESAMPLE
//! …) TO STDOUT`, in `READ ONLY` transactions, on the caller's (read-only)
//! session. Everything that writes happens on the sandbox, which
//! [`benchmark`] refuses when it is the target's own database.
//!
//! Steps, on the sandbox:
//!
//! 1. The session gets `jit = off` and the target's planner settings
//!    (`work_mem`, `random_page_cost`, …), so the copy is planned like the
//!    target.
//! 2. Each table the statements use is created from the snapshot's catalog
//!    (column types, `NOT NULL`; identities, defaults and generated columns
//!    read from the target), filled with a sample of its rows (`TABLESAMPLE
//!    SYSTEM … REPEATABLE`, at least [`RealOptions::sample_rows`] rows, or
//!    the whole table when smaller), given the target's indexes and primary
//!    key, then `VACUUM (ANALYZE)`d.
//! 3. Each statement is `PREPARE`d; its parameters get values drawn from
//!    the copy (see `params.rs`), [`RealOptions::parameter_sets`] sets.
//! 4. Each statement runs [`RealOptions::runs`] times per parameter set
//!    under `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON)`, in a
//!    transaction rolled back, so writes leave the copy as sampled.
//! 5. The index is built (plainly: nobody else uses the copy) and its table
//!    analyzed; step 4 again.
//! 6. What real mode created is dropped, unless [`RealOptions::keep_copy`].
//!
//! A statement that cannot be measured (its text does not prepare, a value
//! has no type default, a run times out, a table could not be copied) is
//! skipped with the reason; only a broken session or an index that does not
//! build stops the benchmark.

mod copy;
mod drop;
mod measure;
mod params;
mod rewrite;
mod sandbox;
mod sql;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use optidb_model::facts::{QueryFacts, RelationFacts, StatementKind, WorkloadFacts};
use optidb_model::{Catalog, Snapshot, Statement, Table};
use tokio_postgres::Client;

pub use drop::cost_without_index;
pub use rewrite::{RewriteCheck, Verdict, compare_statically, verify_rewrite};
pub use sandbox::Sandbox;

use crate::Error;
use crate::plan_diff::reads_index;
use copy::Created;
use sql::{qualified, refusal, timeout_ms};

/// How to benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealOptions {
    /// Rows to copy per table, at least (a block sample returns a few
    /// more); a table with fewer is copied whole. Enough rows keep the
    /// plans' shape: a sequential scan of a 20-row table is as fast as an
    /// index.
    pub sample_rows: u64,
    /// Measured executions per statement, parameter set and side (before
    /// and after the index).
    pub runs: usize,
    /// Parameter sets per statement (statements without parameters get one).
    pub parameter_sets: usize,
    /// The longest one measured execution may take; a statement that takes
    /// longer is skipped.
    pub statement_timeout: Duration,
    /// The longest one setup step may take: copying a table (on both
    /// sessions), building an index, `VACUUM (ANALYZE)`.
    pub setup_timeout: Duration,
    /// Leave the copies (and the index) in the sandbox afterwards, to look
    /// at them; by default everything real mode created there is dropped.
    pub keep_copy: bool,
}

impl Default for RealOptions {
    /// 100,000 rows per table, 5 runs of 5 parameter sets, 10 s per
    /// execution, 2 minutes per setup step, copies dropped afterwards.
    fn default() -> Self {
        RealOptions {
            sample_rows: 100_000,
            runs: 5,
            parameter_sets: 5,
            statement_timeout: Duration::from_secs(10),
            setup_timeout: Duration::from_secs(120),
            keep_copy: false,
        }
    }
}

/// What a benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RealReport {
    /// The tables copied to the sandbox.
    pub tables: Vec<CopiedTable>,
    /// One entry per statement measured, in the order asked.
    pub statements: Vec<RealEffect>,
    /// Statements that could not be measured, with the reason.
    pub skipped: Vec<SkippedStatement>,
    /// How long building the index on the copy took, in milliseconds
    /// (`None` when nothing was copied to build it on). A copy is smaller
    /// than the target: scale by the rows for an estimate.
    pub index_build_ms: Option<f64>,
    /// Things that make the copy differ from the target (an index that
    /// could not be re-created, a setting that could not be mirrored, …).
    pub notes: Vec<String>,
}

/// A table copied to the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    /// `schema.name`.
    pub name: String,
    /// Rows copied.
    pub rows_copied: u64,
    /// Whether the rows are a sample (rather than the whole table).
    pub sampled: bool,
}

/// One statement's measured effect.
#[derive(Debug, Clone, PartialEq)]
pub struct RealEffect {
    /// The statement (`pg_stat_statements.queryid`).
    pub queryid: i64,
    /// Median execution time without the index, in milliseconds.
    pub median_ms_before: f64,
    /// Median execution time with the index, in milliseconds.
    pub median_ms_after: f64,
    /// `median_ms_before / median_ms_after`: 10 is ten times faster, below 1
    /// slower.
    pub speedup: f64,
    /// Executions per parameter set and side.
    pub runs: usize,
    /// Distinct parameter sets used.
    pub parameter_sets: usize,
    /// Whether a plan with the index read it (from the `EXPLAIN ANALYZE`
    /// plans after building it).
    pub uses_index: bool,
}

/// A statement that was not measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedStatement {
    /// The statement.
    pub queryid: i64,
    /// Why, for people.
    pub reason: String,
}

/// Source of unique index names within this process.
static NEXT_INDEX: AtomicU64 = AtomicU64::new(1);

/// The index to benchmark, as real mode builds it on the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    /// A name of real mode's own, to find the index in plans.
    name: String,
    /// `CREATE [UNIQUE] INDEX name ON …`: not concurrently (nobody else
    /// uses the copy), no `IF NOT EXISTS`.
    create: String,
    /// `CREATE EXTENSION …` statements the DDL starts with.
    extensions: Vec<String>,
    /// A trigram index: `LIKE` parameters get infix patterns (`%abc%`).
    trigram: bool,
}

fn candidate(ddl: &str) -> Result<Candidate, Error> {
    let statement = crate::whatif::hypothetical_ddl(ddl);
    let name = format!(
        "optidb_candidate_{}_{}",
        std::process::id(),
        NEXT_INDEX.fetch_add(1, Ordering::Relaxed)
    );
    let create = ["CREATE UNIQUE INDEX", "CREATE INDEX"]
        .iter()
        .find_map(|prefix| {
            let rest = statement.strip_prefix(prefix)?;
            let upper = rest.trim_start().to_ascii_uppercase();
            upper
                .starts_with("ON ")
                .then(|| format!("/* optidb */ {prefix} {name}{rest}"))
        })
        .ok_or_else(|| Error::NotAnIndex { ddl: ddl.into() })?;
    let extensions = ddl
        .split(';')
        .map(str::trim)
        .filter(|part| part.to_ascii_uppercase().starts_with("CREATE EXTENSION"))
        .map(str::to_string)
        .collect();
    let lower = statement.to_ascii_lowercase();
    Ok(Candidate {
        name,
        create,
        extensions,
        trigram: lower.contains("gin_trgm_ops") || lower.contains("gist_trgm_ops"),
    })
}

/// Measures `statements` (queryids of `snapshot`) on a copy of their
/// tables in `sandbox`, before and after building the index `index_ddl`
/// (a `CREATE INDEX` as optidb or a user writes it; a leading `CREATE
/// EXTENSION` is run too).
///
/// `target` is a read-only session on the database the snapshot was taken
/// from; nothing but reads run on it. `sandbox` is a writable session on
/// another database (see [`Sandbox`]), used by nothing else meanwhile:
/// real mode changes its settings (`jit`, the target's planner settings)
/// and, without [`RealOptions::keep_copy`], drops what it created there
/// before returning. Refused when it is the target's database, or when it
/// already has one of the tables to copy.
pub async fn benchmark(
    target: &Client,
    sandbox: &Client,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    statements: &[i64],
    index_ddl: &str,
    options: &RealOptions,
) -> Result<RealReport, Error> {
    let database = sandbox::ensure_distinct(target, sandbox).await?;
    let candidate = candidate(index_ddl)?;
    let mut created = Created::default();
    let context = Context {
        copier: Copier {
            target,
            sandbox,
            database: &database,
            snapshot,
            options,
        },
        candidate: &candidate,
    };
    let result = context.run(workload, statements, &mut created).await;
    copy::cleanup(sandbox, &created, options.keep_copy).await;
    result
}

/// A statement to measure, and the tables (indexes into the list of
/// tables to copy) its relations are.
struct Job<'a> {
    queryid: i64,
    statement: &'a Statement,
    facts: &'a QueryFacts,
    /// Relation id in the facts → table.
    tables: HashMap<u32, usize>,
    /// The tables it writes (`INSERT`/`UPDATE`/`DELETE`/`MERGE` targets).
    writes: Vec<usize>,
}

/// A prepared statement with its parameter sets.
struct Ready<'a> {
    job: Job<'a>,
    name: String,
    /// `EXECUTE` arguments, one string per parameter set.
    arguments: Vec<String>,
    before: Vec<f64>,
    after: Vec<f64>,
    uses_index: bool,
}

/// What every sandbox run shares, whatever it measures: the two sessions,
/// the snapshot naming the tables, the options. Plans the statements, copies
/// their tables and draws their parameters.
struct Copier<'a> {
    target: &'a Client,
    sandbox: &'a Client,
    database: &'a str,
    snapshot: &'a Snapshot,
    options: &'a RealOptions,
}

/// An index benchmark.
struct Context<'a> {
    copier: Copier<'a>,
    candidate: &'a Candidate,
}

impl Copier<'_> {
    /// The statements to measure and the distinct tables they use; the
    /// others are skipped with the reason.
    fn jobs<'s>(
        &'s self,
        workload: &'s WorkloadFacts,
        statements: &[i64],
        skipped: &mut Vec<SkippedStatement>,
    ) -> (Vec<Job<'s>>, Vec<&'s Table>) {
        let catalog = &self.snapshot.catalog;
        let mut jobs = Vec::new();
        let mut tables: Vec<&Table> = Vec::new();
        let mut seen = Vec::new();
        for &queryid in statements {
            if seen.contains(&queryid) {
                continue;
            }
            seen.push(queryid);
            let mut skip = |reason: String| {
                skipped.push(SkippedStatement { queryid, reason });
            };
            let Some(statement) = self
                .snapshot
                .statements
                .iter()
                .find(|s| s.queryid == queryid)
            else {
                skip("not among the snapshot's statements".into());
                continue;
            };
            let Some(facts) = workload.of(queryid).map(|s| &s.facts) else {
                let why = workload
                    .unparsed
                    .iter()
                    .find(|(id, _)| *id == queryid)
                    .map_or("no query facts for it", |(_, reason)| reason.as_str());
                skip(format!("its text could not be analyzed: {why}"));
                continue;
            };
            if let StatementKind::Utility(tag) = &facts.kind {
                skip(format!(
                    "{tag} is a utility statement: it has no plan to measure"
                ));
                continue;
            }
            let mut relations = HashMap::new();
            let mut writes = Vec::new();
            let mut unresolved = None;
            for relation in facts.tables() {
                match resolve(catalog, relation) {
                    Ok(table) => {
                        let index = match tables.iter().position(|t| std::ptr::eq(*t, table)) {
                            Some(index) => index,
                            None => {
                                tables.push(table);
                                tables.len() - 1
                            }
                        };
                        relations.insert(relation.id, index);
                        if relation.target && !writes.contains(&index) {
                            writes.push(index);
                        }
                    }
                    Err(reason) => {
                        unresolved = Some(reason);
                        break;
                    }
                }
            }
            if let Some(reason) = unresolved {
                skip(reason);
                continue;
            }
            if relations.is_empty() {
                skip("it reads no table, so no index can change it".into());
                continue;
            }
            jobs.push(Job {
                queryid,
                statement,
                facts,
                tables: relations,
                writes,
            });
        }
        // Tables only skipped statements needed are not copied.
        let used: Vec<usize> = {
            let mut used: Vec<usize> = jobs
                .iter()
                .flat_map(|job| job.tables.values().copied())
                .collect();
            used.sort_unstable();
            used.dedup();
            used
        };
        if used.len() != tables.len() {
            let renumber: HashMap<usize, usize> = used
                .iter()
                .enumerate()
                .map(|(new, &old)| (old, new))
                .collect();
            for job in &mut jobs {
                for table in job.tables.values_mut() {
                    *table = renumber[table];
                }
                for table in &mut job.writes {
                    *table = renumber[table];
                }
            }
            tables = used.iter().map(|&old| tables[old]).collect();
        }
        (jobs, tables)
    }

    /// Copies `tables` to the sandbox (after installing `extensions`) and
    /// analyzes the copies: per table its copy, or why it was not copied
    /// (its statements are then skipped).
    async fn copy(
        &self,
        tables: &[&Table],
        extensions: &[String],
        created: &mut Created,
        copied_tables: &mut Vec<CopiedTable>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<Result<params::Copy, String>>, Error> {
        copy::ensure_absent(self.sandbox, self.database, tables).await?;
        copy::prepare_session(self.sandbox, self.snapshot, self.options, notes).await?;
        copy::install_extensions(self.sandbox, self.snapshot, extensions, created).await?;
        let mut copies: Vec<Result<params::Copy, String>> = Vec::with_capacity(tables.len());
        for table in tables {
            let copied = copy::copy_table(
                self.target,
                self.sandbox,
                self.snapshot,
                table,
                self.options,
                created,
                notes,
            )
            .await?;
            copies.push(copied.map(|copied| {
                let copy = params::Copy {
                    name: qualified(&table.schema, &table.name),
                    rows: copied.rows_copied,
                };
                copied_tables.push(copied);
                copy
            }));
        }
        let copied: Vec<String> = copies
            .iter()
            .filter_map(|copy| copy.as_ref().ok().map(|copy| copy.name.clone()))
            .collect();
        if !copied.is_empty() {
            copy::vacuum_analyze(self.sandbox, &copied).await?;
        }
        Ok(copies)
    }

    /// The distinct `EXECUTE` argument lists for `job` prepared as
    /// `prepared`: up to [`RealOptions::parameter_sets`] sets of values
    /// drawn from the copies (`infix_like`: `LIKE` patterns match inside
    /// values), type defaults for parameters no column gives values to.
    /// `Ok(Err(reason))` when a parameter can get no value at all.
    async fn arguments(
        &self,
        job: &Job<'_>,
        prepared: &measure::Prepared,
        copies: &[Result<params::Copy, String>],
        infix_like: bool,
        notes: &mut Vec<String>,
    ) -> Result<Result<Vec<String>, String>, Error> {
        let sources = params::sources(job.facts);
        let relation_copies: HashMap<u32, params::Copy> = job
            .tables
            .iter()
            .filter_map(|(&relation, &table)| {
                copies[table]
                    .as_ref()
                    .ok()
                    .map(|copy| (relation, copy.clone()))
            })
            .collect();
        let count = prepared.parameter_types.len();
        let sets = if sources.keys().any(|&p| (p as usize) <= count) {
            self.options.parameter_sets.max(1)
        } else {
            1
        };
        let drawn = params::draw(
            self.sandbox,
            &sources,
            &relation_copies,
            sets,
            infix_like,
            notes,
        )
        .await?;
        let mut arguments: Vec<String> = Vec::new();
        for set in &drawn {
            let mut values = Vec::with_capacity(count);
            for (index, type_name) in prepared.parameter_types.iter().enumerate() {
                let param = u32::try_from(index + 1).unwrap_or(u32::MAX);
                match set.get(&param) {
                    Some(value) => values.push(value.clone()),
                    None => match params::default_for(type_name) {
                        Some(value) => values.push(value.to_string()),
                        None => {
                            return Ok(Err(format!(
                                "${} (of type {type_name}) is compared with no column optidb can draw values from, and optidb has no default for its type",
                                index + 1
                            )));
                        }
                    },
                }
            }
            let arguments_of_set = values.join(", ");
            if !arguments.contains(&arguments_of_set) {
                arguments.push(arguments_of_set);
            }
        }
        Ok(Ok(arguments))
    }
}

impl Context<'_> {
    async fn run(
        &self,
        workload: &WorkloadFacts,
        statements: &[i64],
        created: &mut Created,
    ) -> Result<RealReport, Error> {
        let mut report = RealReport {
            tables: Vec::new(),
            statements: Vec::new(),
            skipped: Vec::new(),
            index_build_ms: None,
            notes: Vec::new(),
        };
        let copier = &self.copier;
        let (jobs, tables) = copier.jobs(workload, statements, &mut report.skipped);
        if tables.is_empty() {
            return Ok(report);
        }
        let copies = copier
            .copy(
                &tables,
                &self.candidate.extensions,
                created,
                &mut report.tables,
                &mut report.notes,
            )
            .await?;
        if copies.iter().all(Result::is_err) {
            for job in jobs {
                report.skipped.push(SkippedStatement {
                    queryid: job.queryid,
                    reason: first_failure(&job, &copies),
                });
            }
            return Ok(report);
        }

        let mut ready = Vec::new();
        for job in jobs {
            if job.tables.values().any(|&table| copies[table].is_err()) {
                report.skipped.push(SkippedStatement {
                    queryid: job.queryid,
                    reason: first_failure(&job, &copies),
                });
                continue;
            }
            match self.prepare(job, &copies, created, &mut report).await? {
                Some(prepared) => ready.push(prepared),
                None => continue,
            }
        }

        self.measure_all(&mut ready, &copies, false, &mut report)
            .await?;
        report.index_build_ms = Some(self.build_index().await?);
        self.measure_all(&mut ready, &copies, true, &mut report)
            .await?;

        for statement in ready {
            let (Some(before), Some(after)) = (
                measure::median(&statement.before),
                measure::median(&statement.after),
            ) else {
                continue;
            };
            report.statements.push(RealEffect {
                queryid: statement.job.queryid,
                median_ms_before: before,
                median_ms_after: after,
                // EXPLAIN reports microseconds: a zero would divide by zero.
                speedup: before / after.max(0.001),
                runs: self.copier.options.runs.max(1),
                parameter_sets: statement.arguments.len(),
                uses_index: statement.uses_index,
            });
        }
        Ok(report)
    }

    /// Prepares `job` on the sandbox and draws its parameter sets; `None`
    /// (and a skip) when it cannot be run.
    async fn prepare<'j>(
        &self,
        job: Job<'j>,
        copies: &[Result<params::Copy, String>],
        created: &mut Created,
        report: &mut RealReport,
    ) -> Result<Option<Ready<'j>>, Error> {
        let copier = &self.copier;
        let prepared = match measure::prepare(copier.sandbox, &job.statement.query).await? {
            Ok(prepared) => prepared,
            Err(reason) => {
                report.skipped.push(SkippedStatement {
                    queryid: job.queryid,
                    reason,
                });
                return Ok(None);
            }
        };
        created.prepared.push(prepared.name.clone());
        let arguments = copier
            .arguments(
                &job,
                &prepared,
                copies,
                self.candidate.trigram,
                &mut report.notes,
            )
            .await?;
        match arguments {
            Ok(arguments) => Ok(Some(Ready {
                job,
                name: prepared.name,
                arguments,
                before: Vec::new(),
                after: Vec::new(),
                uses_index: false,
            })),
            Err(reason) => {
                report.skipped.push(SkippedStatement {
                    queryid: job.queryid,
                    reason,
                });
                Ok(None)
            }
        }
    }

    /// Measures every statement in `ready` on one side; a statement that
    /// fails is moved to the skipped ones.
    async fn measure_all(
        &self,
        ready: &mut Vec<Ready<'_>>,
        copies: &[Result<params::Copy, String>],
        with_index: bool,
        report: &mut RealReport,
    ) -> Result<(), Error> {
        let timeout = timeout_ms(self.copier.options.statement_timeout);
        let side = if with_index {
            "with the index"
        } else {
            "without the index"
        };
        let mut index = 0;
        while index < ready.len() {
            let statement = &mut ready[index];
            let mut failure = None;
            'runs: for _ in 0..self.copier.options.runs.max(1) {
                for arguments in &statement.arguments {
                    match measure::measure(self.copier.sandbox, &statement.name, arguments, timeout)
                        .await?
                    {
                        Ok(measured) => {
                            if with_index {
                                statement.after.push(measured.execution_ms);
                                statement.uses_index |=
                                    reads_index(&measured.plan, &self.candidate.name);
                            } else {
                                statement.before.push(measured.execution_ms);
                            }
                        }
                        Err(reason) => {
                            failure = Some(format!("{side}: {reason}"));
                            break 'runs;
                        }
                    }
                }
            }
            // Rolled-back writes leave dead rows: clear them so the next
            // runs (and the other side) read a table as compact as before.
            let written: Vec<String> = statement
                .job
                .writes
                .iter()
                .filter_map(|&table| copies[table].as_ref().ok().map(|copy| copy.name.clone()))
                .collect();
            if !written.is_empty() {
                let sql = format!("/* optidb */ VACUUM {}", written.join(", "));
                if let Err(error) = self.copier.sandbox.batch_execute(&sql).await {
                    let reason = refusal(self.copier.sandbox, error, "VACUUM of a written copy")?;
                    report
                        .notes
                        .push(format!("VACUUM after writes failed: {reason}"));
                }
            }
            match failure {
                Some(reason) => {
                    let removed = ready.remove(index);
                    report.skipped.push(SkippedStatement {
                        queryid: removed.job.queryid,
                        reason,
                    });
                }
                None => index += 1,
            }
        }
        Ok(())
    }

    /// Builds the index on the copy and analyzes its table (an expression
    /// index gets statistics of its own); returns the build time in
    /// milliseconds.
    async fn build_index(&self) -> Result<f64, Error> {
        let started = Instant::now();
        if let Err(error) = self
            .copier
            .sandbox
            .execute(self.candidate.create.as_str(), &[])
            .await
        {
            let reason = refusal(
                self.copier.sandbox,
                error,
                "building the index on the sandbox",
            )?;
            return Err(Error::IndexBuild { reason });
        }
        let build_ms = started.elapsed().as_secs_f64() * 1000.0;
        let table: Option<String> = self
            .copier
            .sandbox
            .query_opt(
                "/* optidb */ SELECT i.indrelid::regclass::text FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1",
                &[&self.candidate.name],
            )
            .await
            .map_err(|source| Error::Query {
                what: "finding the index's table on the sandbox",
                source,
            })?
            .map(|row| row.get(0));
        if let Some(table) = table {
            self.copier
                .sandbox
                .batch_execute(&format!("/* optidb */ ANALYZE {table}"))
                .await
                .map_err(|source| Error::Query {
                    what: "ANALYZE after building the index",
                    source,
                })?;
        }
        Ok(build_ms)
    }
}

/// Why `job` cannot run: the first of its tables that was not copied.
fn first_failure(job: &Job<'_>, copies: &[Result<params::Copy, String>]) -> String {
    let mut tables: Vec<usize> = job.tables.values().copied().collect();
    tables.sort_unstable();
    tables
        .iter()
        .find_map(|&table| copies[table].as_ref().err().cloned())
        .unwrap_or_else(|| "none of its tables could be copied".into())
}

/// The catalog table a relation of the facts names: by schema when the
/// statement qualified it, else the only table of that name (`public`'s
/// when several schemas have one, as a default `search_path` would).
fn resolve<'c>(catalog: &'c Catalog, relation: &RelationFacts) -> Result<&'c Table, String> {
    if let Some(table) = catalog.resolve(relation.schema.as_deref(), &relation.name) {
        return Ok(table);
    }
    let several = relation.schema.is_none()
        && catalog
            .tables
            .iter()
            .filter(|table| table.name == relation.name)
            .count()
            > 1;
    Err(if several {
        format!(
            "{} names a table in several schemas: which one the statement reads depends on its search_path",
            relation.name
        )
    } else {
        format!(
            "{} is not a table in the snapshot's catalog (a view?): real mode copies tables only",
            relation.qualified_name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_candidate_is_built_plainly_under_a_name_of_its_own() {
        let c = candidate(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_users_email_idx\" ON \"public\".\"users\" USING btree (\"email\");",
        )
        .unwrap();
        assert!(c.name.starts_with("optidb_candidate_"), "{}", c.name);
        assert_eq!(
            c.create,
            format!(
                "/* optidb */ CREATE INDEX {} ON \"public\".\"users\" USING btree (\"email\")",
                c.name
            )
        );
        assert!(c.extensions.is_empty());
        assert!(!c.trigram);

        let c = candidate(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE INDEX CONCURRENTLY ON products USING gin (description gin_trgm_ops);",
        )
        .unwrap();
        assert_eq!(c.extensions, ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]);
        assert!(c.trigram);
        assert!(
            candidate("create unique index on t (a)")
                .unwrap()
                .create
                .contains("CREATE UNIQUE INDEX optidb_candidate_")
        );
    }

    #[test]
    fn anything_but_an_index_is_refused() {
        for ddl in ["DROP INDEX foo", "ALTER TABLE t ADD COLUMN x int", ""] {
            assert!(
                matches!(candidate(ddl), Err(Error::NotAnIndex { .. })),
                "{ddl}"
            );
        }
    }

    #[test]
    fn unqualified_names_resolve_to_the_only_table_or_public() {
        let table = |schema: &str, name: &str| Table {
            schema: schema.into(),
            name: name.into(),
            ..Table::default()
        };
        let catalog = Catalog {
            tables: vec![
                table("public", "users"),
                table("app", "users"),
                table("app", "events"),
            ],
            ..Catalog::default()
        };
        let facts = optidb_fingerprint::facts(
            "SELECT * FROM users u JOIN events e ON e.user_id = u.id JOIN app.users a ON true JOIN v ON true",
        )
        .unwrap();
        let names: Vec<Result<String, String>> = facts
            .tables()
            .map(|relation| resolve(&catalog, relation).map(Table::qualified_name))
            .collect();
        assert_eq!(names[0], Ok("public.users".into()));
        assert_eq!(names[1], Ok("app.events".into()));
        assert_eq!(names[2], Ok("app.users".into()));
        assert!(names[3].as_ref().unwrap_err().contains("not a table"));
    }
}
