//! Workload index selection: which set of new indexes makes the whole
//! workload cheapest, within a storage budget and a number of indexes.
//!
//! 1. **Candidates** come from the statements' query facts ([`candidates()`]:
//!    single and multi-column B-trees ordered like OPT001's, covering
//!    variants with `INCLUDE`, expression indexes, GIN where the operator
//!    needs it), unqualified columns attributed with the catalog.
//! 2. **The workload** is every statement of the snapshot that ran and has
//!    a generic plan, weighted by its calls; the others are left out and
//!    listed ([`Selection::skipped`]).
//! 3. **The cost** of a configuration is Σ calls × plan cost with its
//!    indexes created in HypoPG, plus the write cost of maintaining them
//!    (below). Each (statement, candidates on its tables) pair is explained
//!    once and cached; GIN and GiST candidates, which HypoPG 1.3 cannot
//!    create, are reported as [`Selection::uncostable`] instead.
//! 4. **The search** is greedy with index interaction (every remaining
//!    candidate re-costed with the ones already chosen), arranged so that a
//!    larger budget never gives a worse selection ([`select`]), or
//!    exhaustive for small candidate sets ([`exhaustive`]).
//!
//! # Write costs
//!
//! ```text
//! write_cost(index on T) = WRITE_COST_PER_ROW × (n_tup_ins + n_tup_upd + n_tup_del of T)
//!                          × workload window / statistics window
//! ```
//!
//! Every inserted row adds an entry to every index, an update does too
//! (unless HOT, which a new index on an updated column prevents: every
//! update is counted), and VACUUM removes a deleted row's entries index by
//! index. The counters cover the statistics window
//! ([`Snapshot::stats_window_seconds`]) while the workload's calls cover
//! `pg_stat_statements`' (since its `stats_reset`), so they are scaled to
//! the latter (taken as equal when either is unknown).
//! [`WRITE_COST_PER_ROW`] (0.5) prices one index entry in plan-cost units.
//! Counters include bulk loads: on a freshly loaded database, an index on
//! the loaded tables pays for every row loaded.
//!
//! # Guards
//!
//! Each EXPLAIN has its own `statement_timeout`
//! ([`ExplainOptions`]); [`SelectionOptions::time_budget`] bounds the
//! search, which then returns the best selection found so far with
//! [`Selection::partial`] set; progress goes to a caller's callback. Every
//! hypothetical index is dropped before a selection returns, also on error.
//! Costing runs on as many [`Sessions`] as the caller gives (the
//! concurrency cap): each search step's configurations are prefetched as
//! one batch of jobs dealt to the sessions, which explain in parallel (on
//! TPC-H SF1 two sessions are 1.6× faster on two cores); the result is
//! the same as with one session.

mod attribute;
mod candidates;
mod evaluator;
mod hypopg;
mod relevance;
mod search;
#[cfg(test)]
mod synthetic;
mod write_cost;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use optidb_ingest::plans::{ExplainOptions, explain_statements};
use optidb_model::facts::{RelationKind, WorkloadFacts};
use optidb_model::{IndexSpec, Snapshot, Statement};
use tokio_postgres::Client;

pub use candidates::{candidates, hypothetical_ddl, is_costable};
pub use write_cost::WRITE_COST_PER_ROW;

use crate::Error;
use crate::whatif::{hypopg as installed_hypopg, reset};
use evaluator::{CandidateCost, Evaluator, Problem, WorkloadStatement};
use hypopg::HypopgOracle;
use search::{Found, Limits, Tick};

/// The most candidates [`exhaustive`] takes: 2^16 configurations.
pub const EXHAUSTIVE_MAX_CANDIDATES: usize = 16;

/// How to select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionOptions {
    /// The most the chosen indexes may take together, in bytes (HypoPG's
    /// size estimates); `None` for no limit.
    pub budget_bytes: Option<i64>,
    /// The most indexes to choose; `None` for no limit.
    pub max_indexes: Option<usize>,
    /// The most keys a generated candidate has (default 2).
    pub max_width: usize,
    /// Whether each index's maintenance cost is counted against it
    /// (default `true`; see [`WRITE_COST_PER_ROW`]).
    pub write_penalty: bool,
    /// How each statement is explained: its timeout, and how many of the
    /// snapshot's statements (the first ones) make up the workload.
    pub explain: ExplainOptions,
    /// How long the selection may take, from its start; checked before
    /// each what-if evaluation, so it can be overrun by one (a few
    /// EXPLAINs, each bounded by `explain.statement_timeout`). When it runs
    /// out, the best selection so far comes back with
    /// [`Selection::partial`] set.
    pub time_budget: Option<Duration>,
}

impl Default for SelectionOptions {
    /// No budget, no limit on the number of indexes, candidates of up to
    /// two keys, write costs counted, default EXPLAIN options, no time limit.
    fn default() -> Self {
        SelectionOptions {
            budget_bytes: None,
            max_indexes: None,
            max_width: 2,
            write_penalty: true,
            explain: ExplainOptions::default(),
            time_budget: None,
        }
    }
}

/// A candidate index HypoPG could cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The index.
    pub spec: IndexSpec,
    /// `CREATE INDEX ON …` as HypoPG takes it (no name, not concurrent).
    pub ddl: String,
    /// Its estimated size (`hypopg_relation_size`), bytes.
    pub bytes: Option<i64>,
}

/// A candidate left out of the costed selection, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncostable {
    /// The index.
    pub spec: IndexSpec,
    /// `CREATE INDEX ON …`.
    pub ddl: String,
    /// Why it was not costed (GIN/GiST, or HypoPG's refusal).
    pub reason: String,
}

/// A statement of the snapshot left out of the workload: it has no plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedStatement {
    /// `pg_stat_statements.queryid`.
    pub queryid: i64,
    /// Why EXPLAIN skipped it.
    pub reason: String,
}

/// One statement of the costed workload, before and after the selection.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementCost {
    /// `pg_stat_statements.queryid`.
    pub queryid: i64,
    /// Its weight: how many times it ran.
    pub calls: u64,
    /// Its plan cost without any new index.
    pub cost_before: f64,
    /// Its plan cost with the chosen indexes.
    pub cost_after: f64,
}

/// One pick of the selection, in the order the search made them.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The index added.
    pub candidate: Candidate,
    /// The workload cost with it and the picks before it (write costs
    /// included).
    pub cost_after: f64,
    /// How much it lowered the workload cost.
    pub benefit: f64,
    /// That benefit per byte of the index.
    pub benefit_per_byte: f64,
    /// Its write cost, included in `cost_after`.
    pub write_cost: f64,
}

/// The result of a selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The indexes to build, in the order they were picked.
    pub chosen: Vec<Candidate>,
    /// Σ calls × plan cost without any new index.
    pub cost_before: f64,
    /// Σ calls × plan cost with the chosen indexes, plus their write costs.
    pub cost_after: f64,
    /// `cost_after / cost_before` (1 for an empty workload).
    pub relative_cost: f64,
    /// Statements explained (EXPLAINs run), the baseline included.
    pub evaluations: usize,
    /// Statement costs answered by the what-if cache.
    pub cache_hits: usize,
    /// Configurations costed.
    pub configurations: usize,
    /// How long the selection took, sizing and baseline included.
    pub elapsed: Duration,
    /// The time budget ran out: this is the best selection found until then.
    pub partial: bool,
    /// How the chosen set was reached, pick by pick.
    pub steps: Vec<Step>,
    /// Candidates HypoPG cannot cost (GIN, GiST, or refused), for a
    /// sandbox benchmark to prove.
    pub uncostable: Vec<Uncostable>,
    /// Statements left out of the workload because they have no plan.
    pub skipped: Vec<SkippedStatement>,
    /// The costed workload: the statements that ran and have a plan, in
    /// the snapshot's order.
    pub statements: Vec<StatementCost>,
    /// Candidates costed.
    pub candidates: usize,
}

/// Where a selection is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Configurations costed so far.
    pub configurations: usize,
    /// Statements explained so far.
    pub evaluations: usize,
    /// Statement costs answered by the cache so far.
    pub cache_hits: usize,
    /// The best relative workload cost found so far (1 before the search).
    pub best_relative_cost: f64,
    /// Time since the selection started.
    pub elapsed: Duration,
}

/// A phase of a selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Explaining the workload without new indexes.
    Baseline,
    /// Creating each candidate alone to measure its size.
    Sizing {
        /// Candidates measured.
        done: usize,
        /// Candidates to measure.
        total: usize,
    },
    /// Costing configurations.
    Searching,
}

/// The sessions a selection costs configurations on: one, or several that
/// explain a configuration's statements in parallel (each is a server
/// backend planning on its own core; the number given is the concurrency
/// cap). All must be on the snapshot's database with HypoPG, in no
/// transaction, and used by nothing else meanwhile (read-only ones do).
/// A `&Client` converts into one session.
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    first: &'a Client,
    more: &'a [Client],
}

impl<'a> Sessions<'a> {
    /// `first`, and `more` sessions to cost in parallel with it.
    pub fn new(first: &'a Client, more: &'a [Client]) -> Self {
        Sessions { first, more }
    }

    /// Every session, the first first.
    fn all(&self) -> Vec<&'a Client> {
        std::iter::once(self.first).chain(self.more).collect()
    }

    /// `hypopg_reset()` on every session, each tried even when one fails.
    async fn reset(&self) -> Result<(), Error> {
        let mut result = Ok(());
        for client in self.all() {
            let reset_result = reset(client).await;
            if result.is_ok() {
                result = reset_result;
            }
        }
        result
    }
}

impl<'a> From<&'a Client> for Sessions<'a> {
    fn from(client: &'a Client) -> Self {
        Sessions::new(client, &[])
    }
}

/// Selects indexes for the workload of `snapshot` among the [`candidates()`]
/// its facts suggest, greedily, costing on `sessions` (see [`Sessions`]).
///
/// With a budget, the result never gets worse when the budget (or
/// `max_indexes`) grows, unless the time budget cut the search short.
pub async fn select<'c>(
    sessions: impl Into<Sessions<'c>>,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    options: &SelectionOptions,
    progress: impl FnMut(Progress),
) -> Result<Selection, Error> {
    let candidates = candidates(snapshot, workload, options.max_width);
    select_from(sessions, snapshot, workload, &candidates, options, progress).await
}

/// [`select`] among the given candidates.
pub async fn select_from<'c>(
    sessions: impl Into<Sessions<'c>>,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    candidates: &[IndexSpec],
    options: &SelectionOptions,
    progress: impl FnMut(Progress),
) -> Result<Selection, Error> {
    run(
        &sessions.into(),
        snapshot,
        workload,
        candidates,
        options,
        Algorithm::Greedy,
        progress,
    )
    .await
}

/// The best selection among `candidates` by trying every subset that fits
/// the limits: for measuring how far the greedy selection is from the
/// optimum. At most [`EXHAUSTIVE_MAX_CANDIDATES`] costable candidates.
pub async fn exhaustive<'c>(
    sessions: impl Into<Sessions<'c>>,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    candidates: &[IndexSpec],
    options: &SelectionOptions,
) -> Result<Selection, Error> {
    run(
        &sessions.into(),
        snapshot,
        workload,
        candidates,
        options,
        Algorithm::Exhaustive,
        |_| {},
    )
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Greedy,
    Exhaustive,
}

async fn run(
    sessions: &Sessions<'_>,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    candidates: &[IndexSpec],
    options: &SelectionOptions,
    algorithm: Algorithm,
    mut progress: impl FnMut(Progress),
) -> Result<Selection, Error> {
    let start = Instant::now();
    let client = sessions.first;
    let hypopg = installed_hypopg(client).await?;
    sessions.reset().await?;
    let outcome = Run {
        client,
        sessions,
        snapshot,
        workload,
        options,
        start,
        hypopg_version: &hypopg.version,
    }
    .select(candidates, algorithm, &mut progress)
    .await;
    // Whatever happened, leave no hypothetical index behind.
    let reset_result = sessions.reset().await;
    let selection = outcome?;
    reset_result?;
    Ok(selection)
}

/// One selection's inputs.
struct Run<'a> {
    /// The first session: the baseline plans and the sizes.
    client: &'a Client,
    /// Every session: the costing.
    sessions: &'a Sessions<'a>,
    snapshot: &'a Snapshot,
    workload: &'a WorkloadFacts,
    options: &'a SelectionOptions,
    start: Instant,
    hypopg_version: &'a str,
}

impl Run<'_> {
    async fn select(
        &self,
        specs: &[IndexSpec],
        algorithm: Algorithm,
        progress: &mut impl FnMut(Progress),
    ) -> Result<Selection, Error> {
        let report = |progress: &mut dyn FnMut(Progress), phase: Phase| {
            progress(Progress {
                phase,
                configurations: 0,
                evaluations: 0,
                cache_hits: 0,
                best_relative_cost: 1.0,
                elapsed: self.start.elapsed(),
            })
        };

        // The workload: the statements that ran and have a plan.
        report(progress, Phase::Baseline);
        let ran: Vec<Statement> = self
            .snapshot
            .statements
            .iter()
            .filter(|statement| statement.calls > 0)
            .cloned()
            .collect();
        let version = self.snapshot.server.version_num;
        let plans = explain_statements(self.client, &ran, version, &self.options.explain).await?;
        let mut statements: Vec<Statement> = Vec::new();
        let mut weighted: Vec<WorkloadStatement> = Vec::new();
        let mut tables: Vec<Vec<TableName>> = Vec::new();
        let mut named: Vec<Vec<TableName>> = Vec::new();
        let mut texts: Vec<optidb_fingerprint::Mentions> = Vec::new();
        let mut skipped = Vec::new();
        for (statement, plan) in ran.iter().zip(&plans) {
            match plan.plan() {
                Some(plan) => {
                    let names = named_tables(self.snapshot, self.workload, statement);
                    tables.push(statement_tables(plan, &names));
                    named.push(names);
                    texts.push(optidb_fingerprint::mentions(&statement.query));
                    weighted.push(WorkloadStatement {
                        queryid: statement.queryid,
                        calls: statement.calls as f64,
                        base_cost: plan.total_cost(),
                    });
                    statements.push(statement.clone());
                }
                None => skipped.push(SkippedStatement {
                    queryid: statement.queryid,
                    reason: plan.skip_reason().unwrap_or_default().to_string(),
                }),
            }
        }
        let baseline_evaluations = plans.len();

        // The candidates: costable ones sized, the others set aside.
        let mut seen = BTreeSet::new();
        let mut uncostable = Vec::new();
        let mut costable: Vec<(IndexSpec, String)> = Vec::new();
        for spec in specs.iter().filter(|spec| seen.insert(*spec)) {
            let ddl = hypothetical_ddl(spec);
            if is_costable(spec) {
                costable.push((spec.clone(), ddl));
            } else {
                uncostable.push(Uncostable {
                    reason: format!(
                        "HypoPG {} costs btree, brin, hash and bloom indexes only: a {} index needs a sandbox benchmark",
                        self.hypopg_version, spec.method
                    ),
                    spec: spec.clone(),
                    ddl,
                });
            }
        }
        if algorithm == Algorithm::Exhaustive && costable.len() > EXHAUSTIVE_MAX_CANDIDATES {
            return Err(Error::TooManyCandidates {
                given: costable.len(),
                max: EXHAUSTIVE_MAX_CANDIDATES,
            });
        }
        let total = costable.len();
        report(progress, Phase::Sizing { done: 0, total });
        let ddl: Vec<String> = costable.iter().map(|(_, ddl)| ddl.clone()).collect();
        let sizes = hypopg::sizes(self.client, &ddl, |done| {
            report(progress, Phase::Sizing { done, total })
        })
        .await?;
        let mut sized: Vec<Candidate> = Vec::new();
        let mut costs: Vec<CandidateCost> = Vec::new();
        let mut table_ids: Vec<(String, String)> = Vec::new();
        for ((spec, ddl), size) in costable.into_iter().zip(sizes) {
            let bytes = match size {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    uncostable.push(Uncostable {
                        spec,
                        ddl,
                        reason: "HypoPG did not estimate its size".into(),
                    });
                    continue;
                }
                Err(refusal) => {
                    uncostable.push(Uncostable {
                        spec,
                        ddl,
                        reason: format!("HypoPG cannot simulate it: {refusal}"),
                    });
                    continue;
                }
            };
            let catalog_table = self.snapshot.catalog.table(&spec.schema, &spec.table);
            let on_table =
                |names: &[TableName]| names.iter().any(|name| name.is(&spec.schema, &spec.table));
            let affected = (0..tables.len())
                .filter(|&s| {
                    on_table(&tables[s])
                        && relevance::can_change(
                            &spec,
                            catalog_table,
                            &texts[s],
                            on_table(&named[s]),
                        )
                })
                .collect();
            let write_cost = match catalog_table {
                Some(table) if self.options.write_penalty => {
                    write_cost::write_cost(self.snapshot, table)
                }
                _ => 0.0,
            };
            let table = (spec.schema.clone(), spec.table.clone());
            let table = match table_ids.iter().position(|known| *known == table) {
                Some(id) => id,
                None => {
                    table_ids.push(table);
                    table_ids.len() - 1
                }
            };
            costs.push(CandidateCost {
                bytes,
                write_cost,
                statements: affected,
                table,
            });
            sized.push(Candidate {
                spec,
                ddl,
                bytes: Some(bytes),
            });
        }

        // The search.
        let problem = Problem::new(weighted, costs);
        let cost_before = problem.base_cost();
        let oracle = HypopgOracle::new(
            &self.sessions.all(),
            version,
            &statements,
            sized
                .iter()
                .map(|candidate| candidate.ddl.clone())
                .collect(),
            self.options.explain.clone(),
        );
        let deadline = self.options.time_budget.map(|budget| self.start + budget);
        let mut evaluator = Evaluator::new(&problem, oracle, deadline);
        let limits = Limits {
            budget: self.options.budget_bytes,
            max_indexes: self.options.max_indexes,
        };
        let start = self.start;
        let mut tick = |tick: Tick| {
            progress(Progress {
                phase: Phase::Searching,
                configurations: tick.configurations,
                evaluations: baseline_evaluations + tick.evaluations,
                cache_hits: tick.cache_hits,
                best_relative_cost: relative(tick.best_cost, cost_before),
                elapsed: start.elapsed(),
            })
        };
        let found: Found = match algorithm {
            Algorithm::Greedy => search::greedy(&mut evaluator, &limits, &mut tick).await?,
            Algorithm::Exhaustive => search::exhaustive(&mut evaluator, &limits, &mut tick).await?,
        };

        let step_of = |record: &search::StepRecord| Step {
            candidate: sized[record.candidate].clone(),
            cost_after: record.cost_after,
            benefit: record.benefit,
            benefit_per_byte: record.benefit_per_byte,
            write_cost: problem.candidates[record.candidate].write_cost,
        };
        let steps: Vec<Step> = found.steps.iter().map(step_of).collect();
        // Pick order; the steps list them all (kept defensive all the same).
        let mut order: Vec<usize> = found.steps.iter().map(|step| step.candidate).collect();
        let rest: Vec<usize> = found
            .config
            .iter()
            .copied()
            .filter(|c| !order.contains(c))
            .collect();
        order.extend(rest);
        Ok(Selection {
            chosen: order.iter().map(|&c| sized[c].clone()).collect(),
            cost_before,
            cost_after: found.cost,
            relative_cost: relative(found.cost, cost_before),
            evaluations: baseline_evaluations + evaluator.evaluations,
            cache_hits: evaluator.cache_hits,
            configurations: evaluator.configurations(),
            elapsed: self.start.elapsed(),
            partial: found.partial,
            steps,
            uncostable,
            skipped,
            statements: statements
                .iter()
                .zip(&problem.statements)
                .zip(evaluator.statement_costs(&found.config))
                .map(|((statement, weighted), cost_after)| StatementCost {
                    queryid: statement.queryid,
                    calls: statement.calls,
                    cost_before: weighted.base_cost,
                    cost_after,
                })
                .collect(),
            candidates: sized.len(),
        })
    }
}

fn relative(cost: f64, before: f64) -> f64 {
    if before > 0.0 { cost / before } else { 1.0 }
}

/// A table a statement reads or writes: from its plan (where views are
/// resolved to their tables, but names are unqualified) and from its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TableName {
    schema: Option<String>,
    name: String,
}

impl TableName {
    /// Whether this is `schema.table` (any schema when unqualified).
    fn is(&self, schema: &str, table: &str) -> bool {
        self.name == table && self.schema.as_deref().is_none_or(|s| s == schema)
    }
}

/// The tables a statement's text names (the relations of its facts,
/// resolved in the catalog where possible).
fn named_tables(
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    statement: &Statement,
) -> Vec<TableName> {
    let Some(facts) = workload.of(statement.queryid) else {
        return Vec::new();
    };
    let names: BTreeSet<TableName> = facts
        .facts
        .relations
        .iter()
        .filter(|relation| relation.kind == RelationKind::Table)
        .map(|relation| match candidates::resolve(snapshot, relation) {
            Some(table) => TableName {
                schema: Some(table.schema.clone()),
                name: table.name.clone(),
            },
            None => TableName {
                schema: relation.schema.clone(),
                name: relation.name.clone(),
            },
        })
        .collect();
    names.into_iter().collect()
}

/// The tables a statement reads or writes: those its plan scans (views
/// resolved, names unqualified) and those its text names.
fn statement_tables(plan: &optidb_model::plan::Plan, named: &[TableName]) -> Vec<TableName> {
    let mut names: BTreeSet<TableName> = plan
        .nodes()
        .filter_map(|node| {
            Some(TableName {
                schema: node.schema.clone(),
                name: node.relation_name.clone()?,
            })
        })
        .collect();
    names.extend(named.iter().cloned());
    names.into_iter().collect()
}
