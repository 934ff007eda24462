//! Typed EXPLAIN plan trees (filled in by `optidb-ingest`).
//!
//! A [`Plan`] is one `EXPLAIN (FORMAT JSON)` result: a tree of [`PlanNode`]s
//! plus, with `ANALYZE`, the planning and execution times. It serializes with
//! PostgreSQL's own keys (`"Node Type"`, `"Total Cost"`, …), so a plan saved
//! in a snapshot is still EXPLAIN JSON that people and plan visualizers
//! recognize, and it reads back into an equal value. Keys optidb does not
//! model are kept verbatim in the `extra` maps: a newer server's additions
//! never fail parsing and are never lost on a round trip.
//!
//! [`StatementPlan`] ties a plan (or the reason there is none) to the
//! `pg_stat_statements` statement it belongs to.
//!
//! ```
//! use optidb_model::plan::Plan;
//!
//! let plan: Plan = r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "orders",
//!     "Alias": "orders", "Startup Cost": 0.0, "Total Cost": 1736.0,
//!     "Plan Rows": 100000, "Plan Width": 27}}]"#
//!     .parse()?;
//! assert_eq!(plan.seq_scans_over(10_000).len(), 1);
//! # Ok::<(), optidb_model::plan::PlanError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Keys of an EXPLAIN object that optidb does not model, kept verbatim.
pub type ExtraKeys = BTreeMap<String, Value>;

/// One `EXPLAIN (FORMAT JSON)` result: the plan tree and, when present, the
/// `ANALYZE` summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The root of the plan tree (`"Plan"`).
    #[serde(rename = "Plan")]
    pub root: PlanNode,
    /// What planning used (`"Planning"`: buffers with `BUFFERS`, memory with
    /// `MEMORY` on PostgreSQL 17+).
    #[serde(rename = "Planning", default, skip_serializing_if = "Option::is_none")]
    pub planning: Option<Planning>,
    /// Planning time in milliseconds (`ANALYZE` or `SUMMARY`).
    #[serde(
        rename = "Planning Time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub planning_time_ms: Option<f64>,
    /// Execution time in milliseconds (`ANALYZE`).
    #[serde(
        rename = "Execution Time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub execution_time_ms: Option<f64>,
    /// Every other top-level key (`"Triggers"`, `"JIT"`, `"Settings"`, …).
    #[serde(flatten)]
    pub extra: ExtraKeys,
}

/// What planning used, with `EXPLAIN (BUFFERS)` (and `MEMORY` on PostgreSQL 17+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planning {
    /// Buffers the planner touched (catalog lookups), with `BUFFERS`.
    #[serde(flatten)]
    pub buffers: Option<Buffers>,
    /// Every other key (`"Memory Used"`, …).
    #[serde(flatten)]
    pub extra: ExtraKeys,
}

/// Block counters of one node or of planning, with `EXPLAIN (BUFFERS)`.
/// Counts are 8 kB blocks (the server's block size), summed over all loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Buffers {
    /// Shared blocks found in shared buffers.
    #[serde(rename = "Shared Hit Blocks")]
    pub shared_hit: u64,
    /// Shared blocks read from disk or the OS cache.
    #[serde(rename = "Shared Read Blocks")]
    pub shared_read: u64,
    /// Shared blocks this node dirtied.
    #[serde(rename = "Shared Dirtied Blocks")]
    pub shared_dirtied: u64,
    /// Shared blocks this node had to write out.
    #[serde(rename = "Shared Written Blocks")]
    pub shared_written: u64,
    /// Local (temporary table) blocks found in local buffers.
    #[serde(rename = "Local Hit Blocks")]
    pub local_hit: u64,
    /// Local blocks read.
    #[serde(rename = "Local Read Blocks")]
    pub local_read: u64,
    /// Local blocks dirtied.
    #[serde(rename = "Local Dirtied Blocks")]
    pub local_dirtied: u64,
    /// Local blocks written.
    #[serde(rename = "Local Written Blocks")]
    pub local_written: u64,
    /// Temporary-file blocks read back (sorts, hashes and materializations
    /// that spilled).
    #[serde(rename = "Temp Read Blocks")]
    pub temp_read: u64,
    /// Temporary-file blocks written: work that did not fit in `work_mem`.
    #[serde(rename = "Temp Written Blocks")]
    pub temp_written: u64,
}

/// One node of a plan tree. Counts and rows are per loop, as PostgreSQL
/// reports them; `Option` fields are absent when the node type or the
/// EXPLAIN options do not produce them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNode {
    /// What the node does: `Seq Scan`, `Index Scan`, `Hash Join`, `Sort`,
    /// `Aggregate`, `ModifyTable`, … (a parallel sequential scan is a
    /// `Seq Scan` with [`PlanNode::parallel_aware`] set).
    #[serde(rename = "Node Type")]
    pub node_type: String,
    /// How the node feeds its parent: `Outer`, `Inner`, `Member`,
    /// `SubPlan`, `InitPlan`, `Subquery`.
    #[serde(
        rename = "Parent Relationship",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_relationship: Option<String>,
    /// Join type of a join node: `Inner`, `Left`, `Full`, `Right`, `Semi`, `Anti`, …
    #[serde(rename = "Join Type", default, skip_serializing_if = "Option::is_none")]
    pub join_type: Option<String>,
    /// `Insert`, `Update`, `Delete` or `Merge` on a `ModifyTable` node.
    #[serde(rename = "Operation", default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Name of the subplan (`SubPlan 1`, `InitPlan 2 (returns $1)`).
    #[serde(
        rename = "Subplan Name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subplan_name: Option<String>,
    /// The table the node reads or writes.
    #[serde(
        rename = "Relation Name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub relation_name: Option<String>,
    /// The table's schema (only with `VERBOSE`).
    #[serde(rename = "Schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The name the statement gives the table (or the table's own name).
    #[serde(rename = "Alias", default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The index an index, index-only or bitmap index scan uses.
    #[serde(
        rename = "Index Name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub index_name: Option<String>,
    /// `Forward`, `Backward` or `NoMovement`, on index scans.
    #[serde(
        rename = "Scan Direction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scan_direction: Option<String>,
    /// Aggregation strategy: `Plain`, `Sorted`, `Hashed` or `Mixed`; `Sorted`
    /// or `Hashed` for `SetOp`.
    #[serde(rename = "Strategy", default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Whether the node itself divides its work among parallel workers.
    #[serde(rename = "Parallel Aware", default)]
    pub parallel_aware: bool,
    /// Workers a `Gather` or `Gather Merge` planned.
    #[serde(
        rename = "Workers Planned",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub workers_planned: Option<u32>,
    /// Workers it could start (`ANALYZE`).
    #[serde(
        rename = "Workers Launched",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub workers_launched: Option<u32>,
    /// Estimated cost before the first row (arbitrary planner units).
    #[serde(rename = "Startup Cost")]
    pub startup_cost: f64,
    /// Estimated cost of returning every row, this node and its inputs included.
    #[serde(rename = "Total Cost")]
    pub total_cost: f64,
    /// Estimated rows per loop.
    #[serde(rename = "Plan Rows")]
    pub plan_rows: f64,
    /// Estimated mean row width in bytes.
    #[serde(rename = "Plan Width")]
    pub plan_width: u64,
    /// Milliseconds before the first row, mean per loop (`ANALYZE` with timing).
    #[serde(
        rename = "Actual Startup Time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_startup_time_ms: Option<f64>,
    /// Milliseconds for all rows, mean per loop (`ANALYZE` with timing).
    #[serde(
        rename = "Actual Total Time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_total_time_ms: Option<f64>,
    /// Rows returned, mean per loop (`ANALYZE`; fractional on PostgreSQL 18+).
    #[serde(
        rename = "Actual Rows",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_rows: Option<f64>,
    /// How many times the node ran (`ANALYZE`); 0 when it never ran.
    #[serde(
        rename = "Actual Loops",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_loops: Option<u64>,
    /// Condition applied to every row the node produces (rows failing it are discarded).
    #[serde(rename = "Filter", default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Rows the filter discarded, mean per loop (`ANALYZE`).
    #[serde(
        rename = "Rows Removed by Filter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rows_removed_by_filter: Option<f64>,
    /// Condition evaluated once: `false` means the subtree never runs.
    #[serde(
        rename = "One-Time Filter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub one_time_filter: Option<String>,
    /// Condition an index scan looks up in the index.
    #[serde(
        rename = "Index Cond",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub index_cond: Option<String>,
    /// Condition a bitmap heap scan rechecks on the heap rows.
    #[serde(
        rename = "Recheck Cond",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recheck_cond: Option<String>,
    /// Rows the index recheck discarded, mean per loop (`ANALYZE`).
    #[serde(
        rename = "Rows Removed by Index Recheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rows_removed_by_index_recheck: Option<f64>,
    /// Join condition of a hash join.
    #[serde(rename = "Hash Cond", default, skip_serializing_if = "Option::is_none")]
    pub hash_cond: Option<String>,
    /// Join condition of a merge join.
    #[serde(
        rename = "Merge Cond",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merge_cond: Option<String>,
    /// Condition applied to joined rows.
    #[serde(
        rename = "Join Filter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub join_filter: Option<String>,
    /// Rows the join filter discarded, mean per loop (`ANALYZE`).
    #[serde(
        rename = "Rows Removed by Join Filter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rows_removed_by_join_filter: Option<f64>,
    /// Sort keys, as SQL expressions (`total DESC`, `id`).
    #[serde(rename = "Sort Key", default, skip_serializing_if = "Vec::is_empty")]
    pub sort_key: Vec<String>,
    /// How the sort ran (`ANALYZE`): `quicksort`, `top-N heapsort`, `external merge`, …
    #[serde(
        rename = "Sort Method",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sort_method: Option<String>,
    /// Memory or disk the sort used, in kB (`ANALYZE`).
    #[serde(
        rename = "Sort Space Used",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sort_space_used_kb: Option<u64>,
    /// `Memory` or `Disk` (`Disk`: the sort spilled to temporary files).
    #[serde(
        rename = "Sort Space Type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sort_space_type: Option<String>,
    /// Grouping keys of an aggregate or group node.
    #[serde(rename = "Group Key", default, skip_serializing_if = "Vec::is_empty")]
    pub group_key: Vec<String>,
    /// Hash table buckets (`ANALYZE`).
    #[serde(
        rename = "Hash Buckets",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hash_buckets: Option<u64>,
    /// Batches of a hash (`ANALYZE`): more than 1 means it spilled to disk.
    #[serde(
        rename = "Hash Batches",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hash_batches: Option<u64>,
    /// Batches the planner expected.
    #[serde(
        rename = "Original Hash Batches",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub original_hash_batches: Option<u64>,
    /// Batches of a hash aggregate (`ANALYZE`): more than 1 means it spilled.
    #[serde(
        rename = "HashAgg Batches",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hashagg_batches: Option<u64>,
    /// Peak memory of a hash or hash aggregate, in kB (`ANALYZE`).
    #[serde(
        rename = "Peak Memory Usage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub peak_memory_kb: Option<u64>,
    /// Disk a hash aggregate spilled, in kB (`ANALYZE`).
    #[serde(
        rename = "Disk Usage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub disk_usage_kb: Option<u64>,
    /// Block counters (`BUFFERS`).
    #[serde(flatten)]
    pub buffers: Option<Buffers>,
    /// The node's inputs (`"Plans"`), in PostgreSQL's order.
    #[serde(rename = "Plans", default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<PlanNode>,
    /// Every other key (`"Output"`, `"Workers"`, `"Heap Fetches"`, …).
    #[serde(flatten)]
    pub extra: ExtraKeys,
}

/// Why an EXPLAIN result could not be read.
#[derive(Debug)]
pub enum PlanError {
    /// The text is not JSON, or the JSON is not shaped like EXPLAIN output.
    Json(serde_json::Error),
    /// EXPLAIN returned a number of plans other than one (a rule can rewrite
    /// one statement into several).
    PlanCount(usize),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Json(err) => write!(f, "not EXPLAIN (FORMAT JSON) output: {err}"),
            PlanError::PlanCount(count) => write!(
                f,
                "EXPLAIN returned {count} plans where optidb reads exactly one (a rule may have rewritten the statement)"
            ),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanError::Json(err) => Some(err),
            PlanError::PlanCount(_) => None,
        }
    }
}

impl Plan {
    /// Reads EXPLAIN output: the array of one result that `EXPLAIN (FORMAT
    /// JSON)` prints, or that result object alone.
    pub fn from_json(value: &Value) -> Result<Plan, PlanError> {
        let result = match value {
            Value::Array(results) if results.len() == 1 => &results[0],
            Value::Array(results) => return Err(PlanError::PlanCount(results.len())),
            other => other,
        };
        Plan::deserialize(result).map_err(PlanError::Json)
    }

    /// Reads EXPLAIN output from its text (see [`Plan::from_json`]).
    pub fn from_json_str(text: &str) -> Result<Plan, PlanError> {
        let value: Value = serde_json::from_str(text).map_err(PlanError::Json)?;
        Plan::from_json(&value)
    }

    /// Every node, depth first, parents before children, children in order.
    pub fn nodes(&self) -> Nodes<'_> {
        self.root.nodes()
    }

    /// The root's estimated total cost: the planner's figure for the whole statement.
    pub fn total_cost(&self) -> f64 {
        self.root.total_cost
    }

    /// Whether the plan carries `ANALYZE` data (the statement was executed).
    pub fn is_analyzed(&self) -> bool {
        self.root.actual_loops.is_some()
    }

    /// The distinct tables the plan reads or writes, sorted by schema then name.
    pub fn tables(&self) -> Vec<TableRef<'_>> {
        self.nodes()
            .filter_map(|node| {
                node.relation_name.as_deref().map(|name| TableRef {
                    schema: node.schema.as_deref(),
                    name,
                })
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Sequential scans (parallel ones included) producing at least
    /// `min_rows` rows: the actual rows over all loops when the plan was
    /// analyzed and the node ran, else the estimate. Depth-first order.
    pub fn seq_scans_over(&self, min_rows: u64) -> Vec<SeqScan<'_>> {
        self.nodes()
            .filter(|node| node.is_seq_scan())
            .filter_map(|node| {
                let (rows, actual) = match node.actual_rows_total() {
                    Some(rows) => (rows, true),
                    None => (node.plan_rows, false),
                };
                (rows >= min_rows as f64).then(|| SeqScan {
                    relation: node.relation_name.as_deref().unwrap_or_default(),
                    schema: node.schema.as_deref(),
                    alias: node.alias.as_deref(),
                    filter: node.filter.as_deref(),
                    rows,
                    actual,
                    node,
                })
            })
            .collect()
    }

    /// Sorts that spilled to disk (`ANALYZE` only: the plan alone cannot know).
    pub fn spilling_sorts(&self) -> Vec<&PlanNode> {
        self.nodes().filter(|node| node.sort_spilled()).collect()
    }

    /// Nodes that spilled to disk: sorts, hashes with more than one batch,
    /// hash aggregates that wrote to disk (`ANALYZE` only).
    pub fn spilling_nodes(&self) -> Vec<&PlanNode> {
        self.nodes().filter(|node| node.spilled()).collect()
    }

    /// Estimated against actual rows for every node that ran (`ANALYZE`
    /// only; empty otherwise). Depth-first order.
    pub fn row_estimates(&self) -> Vec<RowEstimate<'_>> {
        self.nodes().filter_map(PlanNode::row_estimate).collect()
    }

    /// The node whose row estimate was furthest off, by
    /// [`RowEstimate::factor`] (the first one on ties); `None` without `ANALYZE`.
    pub fn worst_row_estimate(&self) -> Option<RowEstimate<'_>> {
        self.row_estimates().into_iter().reduce(|worst, next| {
            if next.factor > worst.factor {
                next
            } else {
                worst
            }
        })
    }
}

impl FromStr for Plan {
    type Err = PlanError;

    fn from_str(text: &str) -> Result<Plan, PlanError> {
        Plan::from_json_str(text)
    }
}

impl PlanNode {
    /// This node and its descendants, depth first, parents before children.
    pub fn nodes(&self) -> Nodes<'_> {
        Nodes { stack: vec![self] }
    }

    /// Whether this is a sequential scan (parallel or not).
    pub fn is_seq_scan(&self) -> bool {
        self.node_type == "Seq Scan"
    }

    /// Whether `ANALYZE` data is present and the node ran at least once.
    pub fn was_executed(&self) -> bool {
        self.actual_loops.is_some_and(|loops| loops > 0)
    }

    /// Actual rows over all loops (`ANALYZE`): rows per loop × loops.
    pub fn actual_rows_total(&self) -> Option<f64> {
        Some(self.actual_rows? * self.actual_loops? as f64)
    }

    /// Whether the node is a sort that spilled to disk (`Sort Space Type:
    /// Disk`, or an external sort method).
    pub fn sort_spilled(&self) -> bool {
        self.sort_space_type.as_deref() == Some("Disk")
            || self
                .sort_method
                .as_deref()
                .is_some_and(|method| method.starts_with("external"))
    }

    /// Whether the node spilled to disk: a sort on disk, a hash with more
    /// than one batch, or a hash aggregate with more than one batch or disk usage.
    pub fn spilled(&self) -> bool {
        self.sort_spilled()
            || self.hash_batches.is_some_and(|batches| batches > 1)
            || self.hashagg_batches.is_some_and(|batches| batches > 1)
            || self.disk_usage_kb.is_some_and(|kb| kb > 0)
    }

    /// Estimated against actual rows per loop, when the node ran (`ANALYZE`).
    pub fn row_estimate(&self) -> Option<RowEstimate<'_>> {
        if !self.was_executed() {
            return None;
        }
        let actual = self.actual_rows?;
        let estimated = self.plan_rows;
        // The planner never estimates fewer than one row (ModifyTable aside):
        // count both sides from 1 so that "estimated 1, got 0" is not infinitely off.
        let (low, high) = {
            let (e, a) = (estimated.max(1.0), actual.max(1.0));
            if e < a { (e, a) } else { (a, e) }
        };
        Some(RowEstimate {
            node: self,
            estimated,
            actual,
            factor: high / low,
        })
    }
}

/// Depth-first iterator over plan nodes (see [`Plan::nodes`]).
#[derive(Debug, Clone)]
pub struct Nodes<'a> {
    stack: Vec<&'a PlanNode>,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = &'a PlanNode;

    fn next(&mut self) -> Option<&'a PlanNode> {
        let node = self.stack.pop()?;
        self.stack.extend(node.children.iter().rev());
        Some(node)
    }
}

/// A table a plan touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableRef<'a> {
    /// Its schema, when EXPLAIN said (`VERBOSE` only).
    pub schema: Option<&'a str>,
    /// Its name.
    pub name: &'a str,
}

impl fmt::Display for TableRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(self.name),
        }
    }
}

/// A sequential scan found by [`Plan::seq_scans_over`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqScan<'a> {
    /// The table scanned.
    pub relation: &'a str,
    /// Its schema (`VERBOSE` only).
    pub schema: Option<&'a str>,
    /// The name the statement gives it.
    pub alias: Option<&'a str>,
    /// The scan's filter: what an index could serve instead.
    pub filter: Option<&'a str>,
    /// Rows the scan produced: actual over all loops if [`SeqScan::actual`],
    /// else the estimate per loop.
    pub rows: f64,
    /// Whether [`SeqScan::rows`] was measured (`ANALYZE`) rather than estimated.
    pub actual: bool,
    /// The node itself.
    pub node: &'a PlanNode,
}

/// A node's estimated rows against what it actually returned, per loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowEstimate<'a> {
    /// The node.
    pub node: &'a PlanNode,
    /// Rows the planner expected per loop.
    pub estimated: f64,
    /// Rows the node returned per loop.
    pub actual: f64,
    /// How far off the estimate was, as a factor ≥ 1 either way (both sides
    /// counted from 1 row): 1 is exact, 100 is two orders of magnitude.
    pub factor: f64,
}

impl RowEstimate<'_> {
    /// Whether the planner expected fewer rows than came (the dangerous
    /// direction: it picks nested loops and small hashes).
    pub fn is_underestimate(&self) -> bool {
        self.actual > self.estimated
    }
}

/// The generic plan of one statement, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementPlan {
    /// The statement's `pg_stat_statements.queryid`.
    pub queryid: i64,
    /// The plan, or the reason it was skipped.
    pub outcome: PlanOutcome,
}

impl StatementPlan {
    /// The plan, if the statement was planned.
    pub fn plan(&self) -> Option<&Plan> {
        match &self.outcome {
            PlanOutcome::Planned { plan } => Some(plan),
            PlanOutcome::Skipped { .. } => None,
        }
    }

    /// Why the statement has no plan, if it was skipped.
    pub fn skip_reason(&self) -> Option<&str> {
        match &self.outcome {
            PlanOutcome::Planned { .. } => None,
            PlanOutcome::Skipped { reason, .. } => Some(reason),
        }
    }
}

/// What explaining a statement gave. In JSON: `{"status": "planned", "plan":
/// {…}}` or `{"status": "skipped", "reason": "…", "sqlstate": "42P01"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PlanOutcome {
    /// The statement was explained.
    Planned {
        /// Its plan (boxed: a plan is much larger than a skip).
        plan: Box<Plan>,
    },
    /// The statement could not be explained; nothing else was affected.
    Skipped {
        /// Why, short and for people (`relation "orders" does not exist
        /// (SQLSTATE 42P01)`, `SET is a utility statement: it has no plan`).
        reason: String,
        /// The server's error code, when the server refused the statement.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sqlstate: Option<String>,
    },
}
