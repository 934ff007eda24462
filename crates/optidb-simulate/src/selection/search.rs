//! The searches: greedy with index interaction, and exhaustive for small
//! candidate sets. Both are generic over the [`CostOracle`], so they are
//! tested on synthetic workloads as well as on HypoPG.
//!
//! # Greedy
//!
//! One greedy *run* starts from no new index and repeatedly adds the
//! candidate with the best marginal benefit, re-costing every remaining
//! candidate together with the indexes already chosen (so two indexes
//! serving the same statement are not both credited), until no candidate
//! makes the workload cheaper, `max_indexes` is reached, or nothing else
//! fits. Under a storage budget, a run ranks by benefit per byte and has a
//! *cap*: it only picks candidates that keep its total under the cap.
//!
//! A single run at the budget is not monotone: a larger budget can let an
//! early, large pick crowd out several better small ones, and the result
//! gets worse. Instead the answer for budget `B` is the cheapest
//! configuration, fitting `B` and `max_indexes`, in a family that does not
//! depend on `B`:
//!
//! - the runs ranked by benefit per byte with caps on a fixed ladder (the
//!   smallest eligible candidate's size × 2^k, up to the size of all
//!   of them) and without a cap, and the run ranked by plain benefit
//!   without a cap;
//! - every configuration on those runs' paths, and every one-candidate
//!   extension of a path's configuration that the run costed to make its
//!   pick (those within its cap).
//!
//! The family is the same for every budget, and a larger budget only admits
//! more of it, so the best admitted configuration never gets worse when the
//! budget grows (nor when `max_indexes` does). Only the parts that can fit
//! `B` are computed: a run stops once its path no longer fits. The cost is
//! a loss of at most an octave of budget against a run capped at
//! exactly `B` (the nearest ladder cap below it), which the runs capped
//! above `B` usually make up for, and a few more evaluations, mostly
//! answered by the cache (the runs share their first picks). Extending
//! every configuration of every path up to the budget, not just up to the
//! run's cap, found somewhat better selections on TPC-H (0.476 against
//! 0.494 at 1.5 GB) for twice the EXPLAINs: more than the 3 s a 500 MB
//! selection may take there.
//!
//! **Eligible candidates.** Every candidate is costed alone first. Runs
//! only consider the candidates that lower the workload's cost alone or
//! together with a partner (below), and that no other candidate on the
//! same table dominates: no larger, no costlier to maintain, and serving
//! every statement at least as well alone (a wider key or a covering
//! variant that no statement profits from). The rest would be re-costed at
//! every step of every run for nothing. Eligibility comes from costs alone,
//! so it does not depend on the budget either.
//!
//! Without a budget there is one run, ranked by benefit.
//!
//! **Pairs.** Greedy cannot see two indexes that pay only together: the
//! join index on one side of a nested loop that only wins once a filter
//! index has made the other side small. So pairs of candidates on
//! different tables that share a statement are costed together (the most
//! promising [`PAIRS`] of them: one member with the largest benefit alone),
//! and the [`SEEDS`] pairs that gain the most over the sum of their parts
//! each start one more run (uncapped, ranked like the others). The pairs
//! and the seeds are chosen from costs alone, so the family still does not
//! depend on the budget.
//!
//! # Exhaustive
//!
//! Every subset of at most `max_indexes` candidates fitting the budget,
//! costed with the same evaluator: 2^n configurations, for small `n` only.

use std::collections::{BTreeSet, HashMap};

use super::evaluator::{CostOracle, Evaluator, Halt, Problem};
use crate::Error;

/// Ladder caps per doubling of the budget: a run capped at the nearest cap
/// below a budget uses at least half of it (2 or 4 per doubling cost TPC-H
/// at 500 MB more EXPLAINs, over its 3 s, for no better selection).
const CAPS_PER_DOUBLING: f64 = 1.0;

/// Benefits at or below this fraction of the configuration's cost are
/// planner noise, not a reason to build an index.
const NOISE: f64 = 1e-9;

/// Pairs of candidates costed together, looking for the ones that pay only
/// together: bounds the extra evaluations (most of them are cache hits,
/// since only the statements on both tables are planned again).
const PAIRS: usize = 100;

/// Super-additive pairs that seed a run of their own (each an uncapped
/// run: on TPC-H, 4 cost a fifth more EXPLAINs for no better selection).
const SEEDS: usize = 2;

/// The hard limits on a selection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Total bytes of the chosen indexes.
    pub(crate) budget: Option<i64>,
    /// How many indexes.
    pub(crate) max_indexes: Option<usize>,
}

impl Limits {
    fn fits(&self, problem: &Problem, config: &[usize]) -> bool {
        self.max_indexes.is_none_or(|max| config.len() <= max)
            && self
                .budget
                .is_none_or(|budget| problem.bytes(config) <= budget)
    }
}

/// One pick of a greedy path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepRecord {
    /// The candidate added.
    pub(crate) candidate: usize,
    /// The workload cost with it and the earlier picks.
    pub(crate) cost_after: f64,
    /// How much it lowered the workload cost.
    pub(crate) benefit: f64,
    /// That benefit per byte of the index.
    pub(crate) benefit_per_byte: f64,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// The chosen candidates, sorted by id.
    pub(crate) config: Vec<usize>,
    /// Its workload cost.
    pub(crate) cost: f64,
    /// How it was reached, pick by pick.
    pub(crate) steps: Vec<StepRecord>,
    /// The time budget ran out: the best found so far.
    pub(crate) partial: bool,
}

/// Counters for progress reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tick {
    /// Configurations costed.
    pub(crate) configurations: usize,
    /// Statements planned by the oracle.
    pub(crate) evaluations: usize,
    /// Statement costs served by the cache.
    pub(crate) cache_hits: usize,
    /// The best workload cost so far.
    pub(crate) best_cost: f64,
}

/// The best configuration seen, by (cost, number of indexes, bytes, ids):
/// a total order, so "the best of a larger family" is never worse.
struct Best {
    config: Vec<usize>,
    cost: f64,
    bytes: i64,
    steps: Vec<StepRecord>,
}

impl Best {
    fn offer(
        &mut self,
        config: &[usize],
        cost: f64,
        bytes: i64,
        steps: impl FnOnce() -> Vec<StepRecord>,
    ) {
        let better = cost
            .total_cmp(&self.cost)
            .then(config.len().cmp(&self.config.len()))
            .then(bytes.cmp(&self.bytes))
            .then_with(|| config.cmp(&self.config))
            .is_lt();
        if better {
            self.config = config.to_vec();
            self.cost = cost;
            self.bytes = bytes;
            self.steps = steps();
        }
    }

    fn found(self, partial: bool) -> Found {
        Found {
            config: self.config,
            cost: self.cost,
            steps: self.steps,
            partial,
        }
    }
}

/// How a greedy run ranks the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    /// Benefit per byte.
    PerByte,
    /// Benefit.
    Benefit,
}

/// One greedy run: a ranking and a cap on its total size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    rank: Rank,
    cap: Option<i64>,
}

/// The greedy family (see the module documentation).
pub(crate) async fn greedy<O: CostOracle>(
    evaluator: &mut Evaluator<'_, O>,
    limits: &Limits,
    tick: &mut impl FnMut(Tick),
) -> Result<Found, Error> {
    let problem = evaluator.problem();
    let mut search = Greedy {
        limits: *limits,
        children: HashMap::new(),
        eligible: Vec::new(),
        best: Best {
            config: Vec::new(),
            cost: problem.base_cost(),
            bytes: 0,
            steps: Vec::new(),
        },
    };
    match search.run_all(evaluator, tick).await {
        Ok(()) => Ok(search.best.found(false)),
        Err(Halt::OutOfTime) => Ok(search.best.found(true)),
        Err(Halt::Failed(error)) => Err(error),
    }
}

struct Greedy {
    limits: Limits,
    /// Per configuration on a path: the workload cost with each candidate
    /// added, for the candidates costed so far.
    children: HashMap<Vec<usize>, HashMap<usize, f64>>,
    /// Per candidate, whether runs consider it (see `run_all`).
    eligible: Vec<bool>,
    best: Best,
}

impl Greedy {
    async fn run_all<O: CostOracle>(
        &mut self,
        evaluator: &mut Evaluator<'_, O>,
        tick: &mut impl FnMut(Tick),
    ) -> Result<(), Halt> {
        let problem = evaluator.problem();
        let base = evaluator.cost(&[]).await?;
        self.best.offer(&[], base, 0, Vec::new);
        let singles: Vec<Vec<usize>> = (0..problem.candidates.len()).map(|c| vec![c]).collect();
        evaluator.prefetch(&singles).await?;
        let mut alone = Vec::with_capacity(problem.candidates.len());
        for c in 0..problem.candidates.len() {
            alone.push(base - evaluator.cost(&[c]).await?);
        }
        let dominated: Vec<bool> = (0..problem.candidates.len())
            .map(|c| dominated(evaluator, c))
            .collect();
        let (seeds, interacting) = self
            .seeds(evaluator, base, &alone, &dominated, tick)
            .await?;
        // A candidate that helps neither alone nor with a partner is never
        // picked: leaving it out spares re-costing it at every step.
        self.eligible = alone
            .iter()
            .enumerate()
            .map(|(c, gain)| !dominated[c] && (is_gain(*gain, base) || interacting.contains(&c)))
            .collect();
        let runs = runs(problem, &self.limits, &self.eligible);
        for &run in &runs {
            self.run(evaluator, run, Vec::new(), base, Vec::new(), tick)
                .await?;
        }
        let rank = runs.first().map_or(Rank::Benefit, |run| run.rank);
        for (a, b) in seeds {
            let (ca, cb, cab) = (
                evaluator.cost(&[a]).await?,
                evaluator.cost(&[b]).await?,
                evaluator.cost(&with(&[a], b)).await?,
            );
            // The better one first, as a greedy path would have it.
            let (first, first_cost, second) = if ca <= cb { (a, ca, b) } else { (b, cb, a) };
            let path = vec![
                step(problem, first, base, first_cost),
                step(problem, second, first_cost, cab),
            ];
            let run = Run { rank, cap: None };
            self.run(evaluator, run, with(&[a], b), cab, path, tick)
                .await?;
        }
        Ok(())
    }

    /// The pairs that seed runs: among the [`PAIRS`] most promising pairs
    /// of candidates on different tables sharing a statement, the [`SEEDS`]
    /// whose benefit together exceeds the sum of their benefits alone
    /// (`alone`) the most; and every candidate of a pair that gains
    /// anything over its parts. Costed pairs that fit the limits are
    /// offered as results.
    async fn seeds<O: CostOracle>(
        &mut self,
        evaluator: &mut Evaluator<'_, O>,
        base: f64,
        alone: &[f64],
        dominated: &[bool],
        tick: &mut impl FnMut(Tick),
    ) -> Result<(Vec<(usize, usize)>, BTreeSet<usize>), Halt> {
        let problem = evaluator.problem();
        if self.limits.max_indexes.is_some_and(|max| max < 2) {
            return Ok((Vec::new(), BTreeSet::new()));
        }
        let n = problem.candidates.len();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                if !dominated[a] && !dominated[b] && problem.shares_statement_across_tables(a, b) {
                    pairs.push((a, b));
                }
            }
        }
        let promise = |&(a, b): &(usize, usize)| alone[a].max(alone[b]);
        pairs.sort_by(|x, y| promise(y).total_cmp(&promise(x)).then(x.cmp(y)));
        pairs.truncate(PAIRS);
        let configs: Vec<Vec<usize>> = pairs.iter().map(|&(a, b)| vec![a, b]).collect();
        evaluator.prefetch(&configs).await?;
        let mut gains: Vec<(f64, (usize, usize))> = Vec::new();
        let mut interacting = BTreeSet::new();
        for (a, b) in pairs {
            let pair = [a, b];
            let cost = evaluator.cost(&pair).await?;
            if self.limits.fits(problem, &pair) {
                let bytes = problem.bytes(&pair);
                let (first, second) = if alone[a] >= alone[b] { (a, b) } else { (b, a) };
                let first_cost = base - alone[first];
                self.best.offer(&pair, cost, bytes, || {
                    vec![
                        step(problem, first, base, first_cost),
                        step(problem, second, first_cost, cost),
                    ]
                });
            }
            let excess = (base - cost) - (alone[a] + alone[b]);
            if is_gain(excess, base) {
                gains.push((excess, (a, b)));
                interacting.extend(pair);
            }
            tick(Tick {
                configurations: evaluator.configurations(),
                evaluations: evaluator.evaluations,
                cache_hits: evaluator.cache_hits,
                best_cost: self.best.cost,
            });
        }
        gains.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let seeds = gains
            .into_iter()
            .take(SEEDS)
            .map(|(_, pair)| pair)
            .collect();
        Ok((seeds, interacting))
    }

    /// Follows one run's path from `node` while it fits the limits.
    async fn run<O: CostOracle>(
        &mut self,
        evaluator: &mut Evaluator<'_, O>,
        run: Run,
        mut node: Vec<usize>,
        mut node_cost: f64,
        mut path: Vec<StepRecord>,
        tick: &mut impl FnMut(Tick),
    ) -> Result<(), Halt> {
        let problem = evaluator.problem();
        while self.limits.max_indexes.is_none_or(|max| node.len() < max)
            && self.limits.fits(problem, &node)
        {
            let node_bytes = problem.bytes(&node);
            // The children the run may pick.
            let costs = self
                .children(evaluator, &node, &path, node_cost, run.cap, tick)
                .await?;
            let mut pick: Option<(usize, f64, f64)> = None;
            for (c, cost) in costs {
                let benefit = node_cost - cost;
                if !is_gain(benefit, node_cost) {
                    continue;
                }
                let bytes = problem.candidates[c].bytes;
                if run.cap.is_some_and(|cap| node_bytes + bytes > cap) {
                    continue;
                }
                let score = match run.rank {
                    Rank::PerByte => benefit / bytes.max(1) as f64,
                    Rank::Benefit => benefit,
                };
                // Ties go to the lower id: `costs` is sorted by id.
                if pick.is_none_or(|(_, _, best)| score > best) {
                    pick = Some((c, cost, score));
                }
            }
            let Some((c, cost, _)) = pick else {
                break;
            };
            path.push(step(problem, c, node_cost, cost));
            node = with(&node, c);
            node_cost = cost;
        }
        Ok(())
    }

    /// The cost of `node` plus each candidate not in it whose total stays
    /// within `reach` (all of them without one), sorted by candidate;
    /// offers every one that fits the limits as a result.
    async fn children<O: CostOracle>(
        &mut self,
        evaluator: &mut Evaluator<'_, O>,
        node: &[usize],
        path: &[StepRecord],
        node_cost: f64,
        reach: Option<i64>,
        tick: &mut impl FnMut(Tick),
    ) -> Result<Vec<(usize, f64)>, Halt> {
        let problem = evaluator.problem();
        let node_bytes = problem.bytes(node);
        let mut known = self.children.remove(node).unwrap_or_default();
        let pending: Vec<usize> = problem
            .candidates
            .iter()
            .enumerate()
            .filter(|(c, candidate)| {
                !(node.contains(c)
                    || !self.eligible.get(*c).copied().unwrap_or(true)
                    || known.contains_key(c)
                    || reach.is_some_and(|reach| node_bytes + candidate.bytes > reach))
            })
            .map(|(c, _)| c)
            .collect();
        let configs: Vec<Vec<usize>> = pending.iter().map(|&c| with(node, c)).collect();
        // After a prefetch that ran out of time, nothing more is costed.
        let mut outcome = evaluator.prefetch(&configs).await;
        let costable = if outcome.is_ok() { &pending[..] } else { &[] };
        for &c in costable {
            let child = with(node, c);
            let cost = match evaluator.cost(&child).await {
                Ok(cost) => cost,
                Err(halt) => {
                    outcome = Err(halt);
                    break;
                }
            };
            known.insert(c, cost);
            if self.limits.fits(problem, &child) {
                let bytes = problem.bytes(&child);
                self.best.offer(&child, cost, bytes, || {
                    let mut steps = path.to_vec();
                    steps.push(step(problem, c, node_cost, cost));
                    steps
                });
            }
            tick(Tick {
                configurations: evaluator.configurations(),
                evaluations: evaluator.evaluations,
                cache_hits: evaluator.cache_hits,
                best_cost: self.best.cost,
            });
        }
        let mut costs: Vec<(usize, f64)> = known
            .iter()
            .filter(|(c, _)| {
                reach.is_none_or(|reach| node_bytes + problem.candidates[**c].bytes <= reach)
            })
            .map(|(c, cost)| (*c, *cost))
            .collect();
        costs.sort_by_key(|(c, _)| *c);
        self.children.insert(node.to_vec(), known);
        outcome.map(|()| costs)
    }
}

/// The runs of the greedy family, the most useful first (they matter when
/// the time budget runs out).
fn runs(problem: &Problem, limits: &Limits, eligible: &[bool]) -> Vec<Run> {
    let Some(budget) = limits.budget else {
        return vec![Run {
            rank: Rank::Benefit,
            cap: None,
        }];
    };
    let sizes = problem
        .candidates
        .iter()
        .zip(eligible)
        .filter(|(_, eligible)| **eligible)
        .map(|(c, _)| c.bytes.max(1));
    let (smallest, total) = sizes.fold((i64::MAX, 0i64), |(min, sum), bytes| {
        (min.min(bytes), sum.saturating_add(bytes))
    });
    let mut caps: Vec<i64> = Vec::new();
    let mut k = 0.0;
    loop {
        let cap = (smallest as f64 * (k / CAPS_PER_DOUBLING).exp2()) as i64;
        if smallest == i64::MAX || cap >= total {
            break;
        }
        if caps.last() != Some(&cap) {
            caps.push(cap);
        }
        k += 1.0;
    }
    // Closest to the budget first, in octaves.
    let distance = |cap: i64| ((cap.max(1) as f64) / (budget.max(1) as f64)).log2().abs();
    caps.sort_by(|a, b| distance(*a).total_cmp(&distance(*b)).then(a.cmp(b)));
    let mut runs: Vec<Run> = caps
        .into_iter()
        .map(|cap| Run {
            rank: Rank::PerByte,
            cap: Some(cap),
        })
        .collect();
    let uncapped = [
        Run {
            rank: Rank::PerByte,
            cap: None,
        },
        Run {
            rank: Rank::Benefit,
            cap: None,
        },
    ];
    let at = runs.len().min(2);
    runs.splice(at..at, uncapped);
    runs
}

/// The best configuration among all subsets of the candidates that fit the
/// limits.
pub(crate) async fn exhaustive<O: CostOracle>(
    evaluator: &mut Evaluator<'_, O>,
    limits: &Limits,
    tick: &mut impl FnMut(Tick),
) -> Result<Found, Error> {
    let problem = evaluator.problem();
    let mut best = Best {
        config: Vec::new(),
        cost: problem.base_cost(),
        bytes: 0,
        steps: Vec::new(),
    };
    let n = problem.candidates.len();
    let largest = limits.max_indexes.unwrap_or(n).min(n);
    let mut partial = false;
    // By size, so every subset of a configuration is costed before it (its
    // steps below are then answered by the cache).
    'sizes: for size in 0..=largest {
        let mut combination: Vec<usize> = (0..size).collect();
        loop {
            if limits.fits(problem, &combination) {
                match evaluator.cost(&combination).await {
                    Ok(cost) => {
                        let bytes = problem.bytes(&combination);
                        best.offer(&combination, cost, bytes, Vec::new);
                    }
                    Err(Halt::OutOfTime) => {
                        partial = true;
                        break 'sizes;
                    }
                    Err(Halt::Failed(error)) => return Err(error),
                }
                tick(Tick {
                    configurations: evaluator.configurations(),
                    evaluations: evaluator.evaluations,
                    cache_hits: evaluator.cache_hits,
                    best_cost: best.cost,
                });
            }
            if !next_combination(&mut combination, n) {
                break;
            }
        }
    }
    // The picks in id order, each costed with the ones before it.
    let mut steps = Vec::with_capacity(best.config.len());
    let mut before = problem.base_cost();
    for (i, &c) in best.config.iter().enumerate() {
        let cost = match evaluator.cost(&best.config[..=i]).await {
            Ok(cost) => cost,
            Err(Halt::OutOfTime) => break,
            Err(Halt::Failed(error)) => return Err(error),
        };
        steps.push(step(problem, c, before, cost));
        before = cost;
    }
    best.steps = steps;
    Ok(best.found(partial))
}

/// The next `k`-combination of `0..n` in lexicographic order; `false`
/// after the last.
fn next_combination(combination: &mut [usize], n: usize) -> bool {
    let k = combination.len();
    for i in (0..k).rev() {
        if combination[i] < n - k + i {
            combination[i] += 1;
            for j in i + 1..k {
                combination[j] = combination[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// Whether another candidate on the same table, no larger and no costlier
/// to maintain, serves every statement at least as well alone as `c`
/// (ties go to the lower id). All are costed alone already, so this is
/// answered from the cache.
fn dominated<O: CostOracle>(evaluator: &Evaluator<'_, O>, c: usize) -> bool {
    let problem = evaluator.problem();
    let this = &problem.candidates[c];
    let costs = evaluator.statement_costs(&[c]);
    problem.candidates.iter().enumerate().any(|(d, other)| {
        if d == c
            || other.table != this.table
            || other.bytes > this.bytes
            || other.write_cost > this.write_cost
        {
            return false;
        }
        let other_costs = evaluator.statement_costs(&[d]);
        let no_worse = other_costs
            .iter()
            .zip(&costs)
            .all(|(theirs, ours)| !is_gain(theirs - ours, *theirs));
        let better = other.bytes < this.bytes
            || other.write_cost < this.write_cost
            || other_costs
                .iter()
                .zip(&costs)
                .any(|(theirs, ours)| is_gain(ours - theirs, *ours));
        no_worse && (better || d < c)
    })
}

/// Whether lowering a cost of `cost` by `gain` is more than planner noise.
fn is_gain(gain: f64, cost: f64) -> bool {
    gain > NOISE * cost.abs().max(1.0)
}

/// The step adding `candidate` to a configuration costing `before`.
fn step(problem: &Problem, candidate: usize, before: f64, after: f64) -> StepRecord {
    let benefit = before - after;
    StepRecord {
        candidate,
        cost_after: after,
        benefit,
        benefit_per_byte: benefit / problem.candidates[candidate].bytes.max(1) as f64,
    }
}

/// `config` with `candidate` added, sorted.
fn with(config: &[usize], candidate: usize) -> Vec<usize> {
    let mut out = config.to_vec();
    let at = out.partition_point(|&c| c < candidate);
    out.insert(at, candidate);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_enumerated_in_order() {
        let mut all = Vec::new();
        let mut c = vec![0, 1];
        loop {
            all.push(c.clone());
            if !next_combination(&mut c, 4) {
                break;
            }
        }
        assert_eq!(
            all,
            [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]].map(|c| c.to_vec())
        );
        let mut empty: Vec<usize> = Vec::new();
        assert!(!next_combination(&mut empty, 3));
    }
}
