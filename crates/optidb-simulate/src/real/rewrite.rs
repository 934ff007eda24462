//! Verifying a rewritten statement before anyone sees it: on a sandbox copy
//! of its tables, the rewrite must return the same rows as the statement
//! for every parameter set drawn from the copy, and cost less.
//!
//! Rows are compared as the statement's ordering allows
//! ([`optidb_fingerprint::result_order`]): as multisets without `ORDER BY`;
//! as multisets whose sort-key sequence is the same when every sort key is
//! an output column (rows tying on the keys may come in any order); in the
//! exact order otherwise. A parameter set that returns no rows proves
//! little, so at least one set must return rows.
//!
//! Only `SELECT`s are rewritten: a write's effect is not its result. Both
//! statements run in `READ ONLY` transactions that are rolled back.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use optidb_fingerprint::ResultOrder;
use optidb_model::Snapshot;
use optidb_model::facts::{StatementKind, WorkloadFacts};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::copy::{self, Created};
use super::measure::{self, Prepared};
use super::sql::{is_timeout, reason, refusal, timeout_ms};
use super::{CopiedTable, Copier, RealOptions, SkippedStatement, sandbox};
use crate::Error;

/// What checking a rewrite found.
#[derive(Debug, Clone, PartialEq)]
pub struct RewriteCheck {
    /// The statement rewritten.
    pub queryid: i64,
    /// Whether the rewrite may be shown, and if not why.
    pub verdict: Verdict,
    /// Parameter sets both statements ran with.
    pub parameter_sets: usize,
    /// Of those, how many returned at least one row.
    pub sets_with_rows: usize,
    /// Rows compared, over all parameter sets.
    pub rows_compared: u64,
    /// The statement's plan cost on the copy, summed over the parameter
    /// sets (`None` when it was not measured).
    pub cost_before: Option<f64>,
    /// The rewrite's, likewise.
    pub cost_after: Option<f64>,
    /// The statement's median execution time on the copy, in milliseconds.
    pub median_ms_before: Option<f64>,
    /// The rewrite's.
    pub median_ms_after: Option<f64>,
    /// The tables copied.
    pub tables: Vec<CopiedTable>,
    /// Ways the copy differs from the target.
    pub notes: Vec<String>,
}

/// Whether a rewrite may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Same rows on every parameter set, at a lower plan cost: show it,
    /// with [`RewriteCheck::evidence`].
    Verified,
    /// It is not a rewrite optidb can compare (does not parse, is not a
    /// `SELECT`, reads other tables, takes other parameters).
    Refused(String),
    /// It returned other rows than the statement: never show it.
    DifferentResults {
        /// The parameter set (from 1).
        set: usize,
        /// How the results differ.
        detail: String,
    },
    /// Same rows, but no cheaper: nothing to gain.
    NotCheaper,
    /// It could not be checked (a table not copied, a timeout, no set
    /// returned rows): not shown.
    Unverified(String),
}

impl RewriteCheck {
    fn new(queryid: i64, verdict: Verdict) -> Self {
        RewriteCheck {
            queryid,
            verdict,
            parameter_sets: 0,
            sets_with_rows: 0,
            rows_compared: 0,
            cost_before: None,
            cost_after: None,
            median_ms_before: None,
            median_ms_after: None,
            tables: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The change in plan cost, as a fraction: −0.63 is 63% cheaper.
    pub fn cost_change(&self) -> Option<f64> {
        match (self.cost_before, self.cost_after) {
            (Some(before), Some(after)) if before > 0.0 => Some(after / before - 1.0),
            _ => None,
        }
    }

    /// The evidence for people: `same results on 5 parameter sets (412
    /// rows), cost −63%`.
    pub fn evidence(&self) -> String {
        let mut text = format!(
            "same results on {} parameter set{} ({} row{})",
            self.parameter_sets,
            if self.parameter_sets == 1 { "" } else { "s" },
            self.rows_compared,
            if self.rows_compared == 1 { "" } else { "s" },
        );
        if let Some(change) = self.cost_change() {
            text.push_str(&format!(", cost {:+.0}%", change * 100.0).replace('-', "−"));
        }
        if let (Some(before), Some(after)) = (self.median_ms_before, self.median_ms_after) {
            text.push_str(&format!(
                ", median {before:.2} ms → {after:.2} ms on the copy"
            ));
        }
        text
    }
}

/// Checks without a database whether `rewritten` can stand for
/// `original`: one `SELECT`, over the same tables.
pub fn compare_statically(original: &str, rewritten: &str) -> Result<(), String> {
    let before = optidb_fingerprint::facts(original)
        .map_err(|error| format!("the statement itself does not parse: {error}"))?;
    let after = optidb_fingerprint::facts(rewritten)
        .map_err(|error| format!("the rewrite does not parse: {error}"))?;
    if before.kind != StatementKind::Select || after.kind != StatementKind::Select {
        return Err(
            "only SELECT statements are rewritten: a write's effect is not its result".into(),
        );
    }
    let (tables_before, tables_after) = (before.table_names(), after.table_names());
    if tables_before != tables_after {
        return Err(format!(
            "the rewrite reads {} where the statement reads {}",
            list(&tables_after),
            list(&tables_before)
        ));
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no table".into()
    } else {
        names.join(", ")
    }
}

/// Checks `rewritten` against the statement `queryid` of `snapshot` on a
/// copy of its tables in `sandbox` (never the target, which is only read):
/// parameter sets drawn from the copy, results compared, plan costs and
/// execution times measured for both. What the check created on the
/// sandbox is dropped afterwards (unless [`RealOptions::keep_copy`]).
pub async fn verify_rewrite(
    target: &Client,
    sandbox: &Client,
    snapshot: &Snapshot,
    workload: &WorkloadFacts,
    queryid: i64,
    rewritten: &str,
    options: &RealOptions,
) -> Result<RewriteCheck, Error> {
    let database = sandbox::ensure_distinct(target, sandbox).await?;
    let copier = Copier {
        target,
        sandbox,
        database: &database,
        snapshot,
        options,
    };
    let mut skipped: Vec<SkippedStatement> = Vec::new();
    let (jobs, tables) = copier.jobs(workload, &[queryid], &mut skipped);
    let Some(job) = jobs.into_iter().next() else {
        let reason = skipped
            .into_iter()
            .next()
            .map_or("the statement cannot be run on a copy".into(), |s| s.reason);
        return Ok(RewriteCheck::new(queryid, Verdict::Unverified(reason)));
    };
    if let Err(reason) = compare_statically(&job.statement.query, rewritten) {
        return Ok(RewriteCheck::new(queryid, Verdict::Refused(reason)));
    }
    let order = match optidb_fingerprint::result_order(&job.statement.query) {
        Ok(order) => order,
        Err(error) => {
            return Ok(RewriteCheck::new(
                queryid,
                Verdict::Refused(format!("the statement does not parse: {error}")),
            ));
        }
    };
    let mut created = Created::default();
    let mut check = RewriteCheck::new(queryid, Verdict::Verified);
    let result = async {
        let copies = copier
            .copy(
                &tables,
                &[],
                &mut created,
                &mut check.tables,
                &mut check.notes,
            )
            .await?;
        if let Some(reason) = copies.iter().find_map(|copy| copy.as_ref().err()) {
            check.verdict = Verdict::Unverified(reason.clone());
            return Ok(());
        }
        let Some(original) =
            prepare(sandbox, &job.statement.query, &mut created, &mut check).await?
        else {
            return Ok(());
        };
        let Some(rewrite) = prepare(sandbox, rewritten, &mut created, &mut check).await? else {
            return Ok(());
        };
        if original.parameter_types.len() != rewrite.parameter_types.len() {
            check.verdict = Verdict::Refused(format!(
                "the rewrite takes {} parameters where the statement takes {}",
                rewrite.parameter_types.len(),
                original.parameter_types.len()
            ));
            return Ok(());
        }
        let arguments = match copier
            .arguments(&job, &original, &copies, false, &mut check.notes)
            .await?
        {
            Ok(arguments) => arguments,
            Err(reason) => {
                check.verdict = Verdict::Unverified(reason);
                return Ok(());
            }
        };
        compare_and_measure(
            sandbox, &order, &original, &rewrite, &arguments, options, &mut check,
        )
        .await
    }
    .await;
    copy::cleanup(sandbox, &created, options.keep_copy).await;
    result.map(|()| check)
}

/// Prepares `query` on the sandbox; `None` (and the verdict set) when the
/// server refuses it.
async fn prepare(
    sandbox: &Client,
    query: &str,
    created: &mut Created,
    check: &mut RewriteCheck,
) -> Result<Option<Prepared>, Error> {
    match measure::prepare(sandbox, query).await? {
        Ok(prepared) => {
            created.prepared.push(prepared.name.clone());
            Ok(Some(prepared))
        }
        Err(reason) => {
            check.verdict = Verdict::Refused(reason);
            Ok(None)
        }
    }
}

async fn compare_and_measure(
    sandbox: &Client,
    order: &ResultOrder,
    original: &Prepared,
    rewrite: &Prepared,
    arguments: &[String],
    options: &RealOptions,
    check: &mut RewriteCheck,
) -> Result<(), Error> {
    let timeout = timeout_ms(options.statement_timeout);
    for (index, args) in arguments.iter().enumerate() {
        let set = index + 1;
        let expected = match fetch(sandbox, &original.name, args, timeout).await? {
            Ok(rows) => rows,
            Err(reason) => {
                check.verdict = Verdict::Unverified(format!("the statement itself: {reason}"));
                return Ok(());
            }
        };
        let got = match fetch(sandbox, &rewrite.name, args, timeout).await? {
            Ok(rows) => rows,
            Err(reason) => {
                check.verdict = Verdict::Unverified(format!("the rewrite: {reason}"));
                return Ok(());
            }
        };
        if let Err(detail) = same_results(order, &expected, &got) {
            check.verdict = Verdict::DifferentResults { set, detail };
            return Ok(());
        }
        check.parameter_sets += 1;
        check.rows_compared += expected.len() as u64;
        if !expected.is_empty() {
            check.sets_with_rows += 1;
        }
    }
    if check.sets_with_rows == 0 {
        check.verdict = Verdict::Unverified(format!(
            "none of the {} parameter sets returned a row, so equal results prove nothing",
            check.parameter_sets
        ));
        return Ok(());
    }
    let mut costs = [0.0_f64; 2];
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..options.runs.clamp(1, 3) {
        for args in arguments {
            for (side, prepared) in [original, rewrite].into_iter().enumerate() {
                match measure::measure(sandbox, &prepared.name, args, timeout).await? {
                    Ok(measured) => {
                        costs[side] += measured.plan.root.total_cost;
                        times[side].push(measured.execution_ms);
                    }
                    Err(reason) => {
                        check.verdict = Verdict::Unverified(reason);
                        return Ok(());
                    }
                }
            }
        }
    }
    check.cost_before = Some(costs[0]);
    check.cost_after = Some(costs[1]);
    check.median_ms_before = measure::median(&times[0]);
    check.median_ms_after = measure::median(&times[1]);
    if costs[1] >= costs[0] {
        check.verdict = Verdict::NotCheaper;
    }
    Ok(())
}

/// One result row: its values as text (`None` for NULL).
type Row = Vec<Option<String>>;

/// Runs `EXECUTE name(args)` in a read-only transaction that is rolled
/// back, and returns its rows; `Ok(Err(reason))` when the server refused.
async fn fetch(
    sandbox: &Client,
    name: &str,
    args: &str,
    timeout_ms: u64,
) -> Result<Result<Vec<Row>, String>, Error> {
    let what = "running a statement and its rewrite on the sandbox";
    let sql = format!("EXECUTE {}", measure::call(name, args));
    let result = measure::rolled_back(sandbox, &sql, timeout_ms, true, what).await?;
    match result {
        Ok(messages) => Ok(Ok(messages
            .iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect())),
        Err(error) if is_timeout(&error) => Ok(Err(format!(
            "it ran longer than the {timeout_ms} ms statement timeout on the copy ({})",
            reason(&error)
        ))),
        Err(error) => Ok(Err(refusal(sandbox, error, what)?)),
    }
}

/// Whether `got` is the same result as `expected` under `order`; how they
/// differ otherwise.
fn same_results(order: &ResultOrder, expected: &[Row], got: &[Row]) -> Result<(), String> {
    if expected.len() != got.len() {
        return Err(format!("{} rows instead of {}", got.len(), expected.len()));
    }
    if let (Some(a), Some(b)) = (expected.first(), got.first())
        && a.len() != b.len()
    {
        return Err(format!("{} columns instead of {}", b.len(), a.len()));
    }
    let sorted = |rows: &[Row]| {
        let mut hashes: Vec<u64> = rows.iter().map(row_hash).collect();
        hashes.sort_unstable();
        hashes
    };
    match order {
        ResultOrder::Opaque => {
            if expected.iter().map(row_hash).ne(got.iter().map(row_hash)) {
                return Err("other rows, or the same rows in another order".into());
            }
        }
        ResultOrder::Unordered | ResultOrder::ByOutputColumns(_) => {
            if sorted(expected) != sorted(got) {
                return Err("other rows".into());
            }
        }
    }
    if let ResultOrder::ByOutputColumns(keys) = order {
        let key_sequence = |rows: &[Row]| -> Vec<Vec<Option<String>>> {
            rows.iter()
                .map(|row| {
                    keys.iter()
                        .map(|&k| row.get(k).cloned().flatten())
                        .collect()
                })
                .collect()
        };
        if key_sequence(expected) != key_sequence(got) {
            return Err("the same rows in another order".into());
        }
    }
    Ok(())
}

fn row_hash(row: &Row) -> u64 {
    let mut hasher = DefaultHasher::new();
    row.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[&[&str]]) -> Vec<Row> {
        values
            .iter()
            .map(|row| row.iter().map(|v| Some(v.to_string())).collect())
            .collect()
    }

    #[test]
    fn unordered_results_compare_as_multisets() {
        let a = rows(&[&["1", "x"], &["2", "y"], &["2", "y"]]);
        let b = rows(&[&["2", "y"], &["1", "x"], &["2", "y"]]);
        assert_eq!(same_results(&ResultOrder::Unordered, &a, &b), Ok(()));
        let c = rows(&[&["2", "y"], &["1", "x"], &["1", "x"]]);
        assert!(same_results(&ResultOrder::Unordered, &a, &c).is_err());
        assert!(same_results(&ResultOrder::Unordered, &a, &a[..2]).is_err());
    }

    #[test]
    fn ties_on_the_sort_keys_may_come_in_any_order() {
        let order = ResultOrder::ByOutputColumns(vec![1]);
        let a = rows(&[&["a", "9"], &["b", "5"], &["c", "5"], &["d", "1"]]);
        let ties_swapped = rows(&[&["a", "9"], &["c", "5"], &["b", "5"], &["d", "1"]]);
        assert_eq!(same_results(&order, &a, &ties_swapped), Ok(()));
        let misordered = rows(&[&["b", "5"], &["a", "9"], &["c", "5"], &["d", "1"]]);
        assert_eq!(
            same_results(&order, &a, &misordered),
            Err("the same rows in another order".into())
        );
        assert!(same_results(&ResultOrder::Opaque, &a, &ties_swapped).is_err());
    }

    #[test]
    fn nulls_are_not_empty_strings() {
        let a = vec![vec![None]];
        let b = vec![vec![Some(String::new())]];
        assert!(same_results(&ResultOrder::Unordered, &a, &b).is_err());
    }

    #[test]
    fn static_checks() {
        let original = "SELECT p.id FROM products p WHERE p.category_id = $1";
        assert_eq!(
            compare_statically(
                original,
                "SELECT id FROM products WHERE category_id = $1 ORDER BY id"
            ),
            Ok(())
        );
        assert!(
            compare_statically(original, "SELECT id FROM product WHERE")
                .unwrap_err()
                .contains("does not parse")
        );
        assert!(
            compare_statically(
                original,
                "SELECT p.id FROM products p JOIN categories c ON true"
            )
            .unwrap_err()
            .contains("reads categories, products where the statement reads products")
        );
        assert!(
            compare_statically(original, "DELETE FROM products WHERE category_id = $1")
                .unwrap_err()
                .contains("only SELECT")
        );
    }

    #[test]
    fn evidence_reads_like_a_sentence() {
        let mut check = RewriteCheck::new(1, Verdict::Verified);
        check.parameter_sets = 5;
        check.rows_compared = 412;
        check.cost_before = Some(100.0);
        check.cost_after = Some(37.0);
        assert_eq!(
            check.evidence(),
            "same results on 5 parameter sets (412 rows), cost −63%"
        );
    }
}
