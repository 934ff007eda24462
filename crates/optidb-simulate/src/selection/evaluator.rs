//! Costing configurations: the oracle that prices statements under a set of
//! hypothetical indexes, and the cache in front of it.
//!
//! The workload cost of a configuration `X` (a set of candidates) is
//!
//! ```text
//! cost(X) = Σ_statements calls × plan_cost(statement | X ∩ relevant(statement))
//!         + Σ_{c ∈ X} write_cost(c)
//! ```
//!
//! where `relevant(statement)` are the candidates that can change its plan:
//! on its tables, and mentioning one of its columns or holding all it reads
//! (see `relevance`). So a statement's cost
//! is looked up under the key `(queryid, X ∩ relevant(statement))`, and only
//! the statements whose key was never seen reach the oracle: when the search
//! adds an index on `orders`, the statements on `users` alone are not
//! explained again.

use std::collections::HashMap;
use std::time::Instant;

use crate::Error;

/// Prices statements under a configuration of hypothetical indexes: HypoPG
/// on a live database ([`super::hypopg::HypopgOracle`]), or a synthetic
/// model in tests of the search algorithms.
pub(crate) trait CostOracle {
    /// The plan cost of each of `statements` (positions in
    /// [`Problem::statements`]) when exactly the candidates `config`
    /// (positions in [`Problem::candidates`], sorted) exist besides the
    /// real indexes; `None` for a statement that could not be planned.
    async fn costs(
        &mut self,
        config: &[usize],
        statements: &[usize],
    ) -> Result<Vec<Option<f64>>, Error>;

    /// [`Self::costs`] of each job (a configuration and its statements),
    /// which are independent: an oracle with several sessions runs them in
    /// parallel. One after the other by default.
    async fn costs_of_jobs(&mut self, jobs: &[Job]) -> Result<Vec<Vec<Option<f64>>>, Error> {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            out.push(self.costs(&job.config, &job.statements).await?);
        }
        Ok(out)
    }
}

/// Statements to cost under one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// The candidates to create (sorted).
    pub(crate) config: Vec<usize>,
    /// The statements to cost (positions in [`Problem::statements`]).
    pub(crate) statements: Vec<usize>,
}

/// One statement of the costed workload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WorkloadStatement {
    /// `pg_stat_statements.queryid`.
    pub(crate) queryid: i64,
    /// Its weight: how many times it ran.
    pub(crate) calls: f64,
    /// Its plan cost with no new index.
    pub(crate) base_cost: f64,
}

/// One costable candidate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CandidateCost {
    /// Its estimated size, bytes.
    pub(crate) bytes: i64,
    /// What maintaining it adds to the workload's cost (see `write_cost`).
    pub(crate) write_cost: f64,
    /// The statements whose plans it can change (on its table), sorted.
    pub(crate) statements: Vec<usize>,
    /// Its table, as an id shared by the candidates on the same table.
    pub(crate) table: usize,
}

/// The selection problem as the search sees it: numbers only.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// The statements, in workload order.
    pub(crate) statements: Vec<WorkloadStatement>,
    /// The candidates, by id.
    pub(crate) candidates: Vec<CandidateCost>,
    /// Per statement, the candidates that can change its plan, sorted.
    relevant: Vec<Vec<usize>>,
}

impl Problem {
    /// A problem over `statements` and `candidates`.
    pub(crate) fn new(statements: Vec<WorkloadStatement>, candidates: Vec<CandidateCost>) -> Self {
        let mut relevant = vec![Vec::new(); statements.len()];
        for (id, candidate) in candidates.iter().enumerate() {
            for &statement in &candidate.statements {
                if let Some(list) = relevant.get_mut(statement) {
                    list.push(id);
                }
            }
        }
        Problem {
            statements,
            candidates,
            relevant,
        }
    }

    /// Σ calls × cost with no new index.
    pub(crate) fn base_cost(&self) -> f64 {
        self.statements
            .iter()
            .map(|statement| statement.calls * statement.base_cost)
            .sum()
    }

    /// The total size of `config`, bytes.
    pub(crate) fn bytes(&self, config: &[usize]) -> i64 {
        config.iter().map(|&c| self.candidates[c].bytes).sum()
    }

    /// Whether candidates `a` and `b` are on different tables that some
    /// statement uses both of (only then can they pay more together than
    /// apart: on one table, a plan reads through one index or combines
    /// them no better than their sum; with no statement in common, their
    /// effects simply add up).
    pub(crate) fn shares_statement_across_tables(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.candidates[a], &self.candidates[b]);
        a.table != b.table
            && a.statements
                .iter()
                .any(|s| b.statements.binary_search(s).is_ok())
    }

    /// The candidates of `config` that can change `statement`'s plan.
    fn key(&self, statement: usize, config: &[usize]) -> Vec<usize> {
        let relevant = &self.relevant[statement];
        config
            .iter()
            .copied()
            .filter(|c| relevant.binary_search(c).is_ok())
            .collect()
    }
}

/// Why costing stopped before the search was done.
#[derive(Debug)]
pub(crate) enum Halt {
    /// The time budget ran out: the caller returns the best so far.
    OutOfTime,
    /// The oracle failed.
    Failed(Error),
}

impl From<Error> for Halt {
    fn from(error: Error) -> Self {
        Halt::Failed(error)
    }
}

/// Costs configurations through an oracle, each (statement, relevant
/// indexes) pair once.
pub(crate) struct Evaluator<'p, O> {
    problem: &'p Problem,
    oracle: O,
    /// Plan cost per (queryid, relevant candidates of the configuration).
    statement_costs: HashMap<(i64, Vec<usize>), f64>,
    /// Workload cost per configuration.
    totals: HashMap<Vec<usize>, f64>,
    deadline: Option<Instant>,
    /// Statements the oracle was asked to plan.
    pub(crate) evaluations: usize,
    /// Statement costs answered from the cache (for configurations that
    /// touch the statement's tables).
    pub(crate) cache_hits: usize,
}

impl<'p, O: CostOracle> Evaluator<'p, O> {
    /// An evaluator of `problem` through `oracle`, which stops costing (with
    /// [`Halt::OutOfTime`]) once `deadline` has passed.
    pub(crate) fn new(problem: &'p Problem, oracle: O, deadline: Option<Instant>) -> Self {
        Evaluator {
            problem,
            oracle,
            statement_costs: HashMap::new(),
            totals: HashMap::new(),
            deadline,
            evaluations: 0,
            cache_hits: 0,
        }
    }

    /// The problem.
    pub(crate) fn problem(&self) -> &'p Problem {
        self.problem
    }

    /// Configurations costed so far.
    pub(crate) fn configurations(&self) -> usize {
        self.totals.len()
    }

    /// Each statement's plan cost under `config`, from what was costed
    /// (the base cost for pairs never costed: call after [`Self::cost`]).
    pub(crate) fn statement_costs(&self, config: &[usize]) -> Vec<f64> {
        let problem = self.problem;
        problem
            .statements
            .iter()
            .enumerate()
            .map(|(s, statement)| {
                let key = problem.key(s, config);
                if key.is_empty() {
                    return statement.base_cost;
                }
                self.statement_costs
                    .get(&(statement.queryid, key))
                    .copied()
                    .unwrap_or(statement.base_cost)
            })
            .collect()
    }

    /// Costs, in one batch of jobs the oracle may spread over its sessions,
    /// every (statement, relevant candidates) pair that `configs` need and
    /// that was never costed. Costing the configurations one by one
    /// afterwards finds them in the cache: a search that knows the
    /// configurations of its next step prefetches them.
    pub(crate) async fn prefetch(&mut self, configs: &[Vec<usize>]) -> Result<(), Halt> {
        let problem = self.problem;
        let mut jobs: Vec<Job> = Vec::new();
        let mut keys: Vec<Vec<Vec<usize>>> = Vec::new();
        let mut queued: std::collections::HashSet<(i64, Vec<usize>)> =
            std::collections::HashSet::new();
        for config in configs {
            if self.totals.contains_key(config) {
                continue;
            }
            let mut job = Job {
                config: Vec::new(),
                statements: Vec::new(),
            };
            let mut job_keys = Vec::new();
            for s in 0..problem.statements.len() {
                let key = problem.key(s, config);
                if key.is_empty() {
                    continue;
                }
                let pair = (problem.statements[s].queryid, key);
                if self.statement_costs.contains_key(&pair) || queued.contains(&pair) {
                    continue;
                }
                job.config.extend(pair.1.iter().copied());
                job.statements.push(s);
                job_keys.push(pair.1.clone());
                queued.insert(pair);
            }
            if !job.statements.is_empty() {
                job.config.sort_unstable();
                job.config.dedup();
                jobs.push(job);
                keys.push(job_keys);
            }
        }
        if jobs.is_empty() {
            return Ok(());
        }
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Err(Halt::OutOfTime);
        }
        let costs = self.oracle.costs_of_jobs(&jobs).await?;
        for ((job, job_keys), job_costs) in jobs.iter().zip(keys).zip(costs) {
            self.evaluations += job.statements.len();
            for ((&s, key), cost) in job.statements.iter().zip(job_keys).zip(job_costs) {
                let statement = &problem.statements[s];
                // As in `cost`: no plan, no credit.
                let cost = cost.unwrap_or(statement.base_cost);
                self.statement_costs.insert((statement.queryid, key), cost);
            }
        }
        Ok(())
    }

    /// The workload cost of `config` (sorted candidate ids), write costs
    /// included.
    pub(crate) async fn cost(&mut self, config: &[usize]) -> Result<f64, Halt> {
        if let Some(&total) = self.totals.get(config) {
            return Ok(total);
        }
        let problem = self.problem;
        let keys: Vec<Vec<usize>> = (0..problem.statements.len())
            .map(|s| problem.key(s, config))
            .collect();
        let mut misses: Vec<usize> = Vec::new();
        for (s, key) in keys.iter().enumerate() {
            if key.is_empty() {
                continue;
            }
            let queryid = problem.statements[s].queryid;
            if self.statement_costs.contains_key(&(queryid, key.clone())) {
                self.cache_hits += 1;
            } else {
                misses.push(s);
            }
        }
        if !misses.is_empty() {
            if self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                return Err(Halt::OutOfTime);
            }
            // Only the candidates on the missed statements' tables are
            // created: the others cannot change those plans, and every
            // hypothetical index slows planning down.
            let mut create: Vec<usize> = misses.iter().flat_map(|&s| keys[s].clone()).collect();
            create.sort_unstable();
            create.dedup();
            let costs = self.oracle.costs(&create, &misses).await?;
            self.evaluations += misses.len();
            for (&s, cost) in misses.iter().zip(costs) {
                let statement = &problem.statements[s];
                // A statement that no longer plans is taken to cost what it
                // did: the configuration gets no credit for it.
                let cost = cost.unwrap_or(statement.base_cost);
                self.statement_costs
                    .insert((statement.queryid, keys[s].clone()), cost);
            }
        }
        let mut total: f64 = config
            .iter()
            .map(|&c| problem.candidates[c].write_cost)
            .sum();
        for (statement, key) in problem.statements.iter().zip(keys) {
            let cost = if key.is_empty() {
                statement.base_cost
            } else {
                self.statement_costs
                    .get(&(statement.queryid, key))
                    .copied()
                    .unwrap_or(statement.base_cost)
            };
            total += statement.calls * cost;
        }
        self.totals.insert(config.to_vec(), total);
        Ok(total)
    }
}
