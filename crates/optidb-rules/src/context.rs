//! What every rule gets: the snapshot, the statements' facts, the
//! thresholds, and the lookups rules share (tables by name, indexes that
//! cover columns, selectivities, plans).

use std::collections::HashMap;

use optidb_model::facts::{ColumnExpr, RelationFacts, StatementFacts, WorkloadFacts};
use optidb_model::plan::Plan;
use optidb_model::{ColumnStats, Finding, Index, IndexKey, Severity, Snapshot, Statement, Table};

use crate::config::{Config, Thresholds};

/// PostgreSQL's own guess for an equality predicate it knows nothing about
/// (`DEFAULT_EQ_SEL` in selfuncs.h).
const DEFAULT_EQ_SEL: f64 = 0.005;

/// The schema unqualified names resolve to first (the default search_path).
const DEFAULT_SCHEMA: &str = "public";

/// Everything a rule reads.
pub struct Context<'a> {
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    /// What the statements' texts say.
    pub workload: &'a WorkloadFacts,
    /// The thresholds in force.
    pub thresholds: &'a Thresholds,
    config: &'a Config,
    statements: HashMap<i64, &'a Statement>,
    ignored_statements: Vec<i64>,
}

impl<'a> Context<'a> {
    /// A context over `snapshot`.
    pub fn new(snapshot: &'a Snapshot, workload: &'a WorkloadFacts, config: &'a Config) -> Self {
        let statements = snapshot.statements.iter().map(|s| (s.queryid, s)).collect();
        let ignored_statements = config
            .ignore_statements
            .iter()
            .filter_map(|id| match id.parse::<i64>() {
                Ok(queryid) => Some(queryid),
                Err(_) => workload
                    .statements
                    .iter()
                    .find(|s| &s.fingerprint == id)
                    .map(|s| s.queryid),
            })
            .collect();
        Context {
            snapshot,
            workload,
            thresholds: &config.thresholds,
            config,
            statements,
            ignored_statements,
        }
    }

    /// Every statement whose text parsed, with its facts, in ranking order.
    pub fn statements(&self) -> impl Iterator<Item = (&'a Statement, &'a StatementFacts)> + '_ {
        self.workload
            .statements
            .iter()
            .filter_map(|facts| Some((*self.statements.get(&facts.queryid)?, facts)))
    }

    /// The statement with `queryid`.
    pub fn statement(&self, queryid: i64) -> Option<&'a Statement> {
        self.statements.get(&queryid).copied()
    }

    /// The share (0–1) of the workload's time spent in `statement`.
    pub fn time_share(&self, statement: &Statement) -> f64 {
        self.snapshot.time_share(statement)
    }

    /// Critical at or above the critical share, else `otherwise`.
    pub fn severity_for_share(&self, share: f64, otherwise: Severity) -> Severity {
        if share >= self.thresholds.critical_time_share {
            Severity::Critical
        } else {
            otherwise
        }
    }

    /// The table `schema.name`; without a schema, the one in `public`, else
    /// the only table of that name.
    pub fn table(&self, schema: Option<&str>, name: &str) -> Option<&'a Table> {
        let tables = &self.snapshot.catalog.tables;
        match schema {
            Some(schema) => tables.iter().find(|t| t.schema == schema && t.name == name),
            None => tables
                .iter()
                .find(|t| t.schema == DEFAULT_SCHEMA && t.name == name)
                .or_else(|| {
                    let mut named = tables.iter().filter(|t| t.name == name);
                    match (named.next(), named.next()) {
                        (Some(only), None) => Some(only),
                        _ => None,
                    }
                }),
        }
    }

    /// The catalog table a statement's relation refers to.
    pub fn table_of(&self, relation: &RelationFacts) -> Option<&'a Table> {
        self.table(relation.schema.as_deref(), &relation.name)
    }

    /// The valid indexes of `table`.
    pub fn indexes_of(&self, table: &'a Table) -> impl Iterator<Item = &'a Index> + 'a {
        self.snapshot.catalog.indexes.iter().filter(move |index| {
            index.schema == table.schema && index.table == table.name && index.valid
        })
    }

    /// The first valid, non-partial btree index of `table` whose leading
    /// keys are exactly `keys` in some order (a prefix index serves
    /// equality on any subset of its first keys in any order).
    pub fn index_leading_with(&self, table: &'a Table, keys: &[ColumnExpr]) -> Option<&'a Index> {
        if keys.is_empty() {
            return None;
        }
        self.indexes_of(table).find(|index| {
            index.method == "btree"
                && index.predicate.is_none()
                && index.keys.len() >= keys.len()
                && index.keys[..keys.len()]
                    .iter()
                    .all(|key| keys.iter().any(|wanted| key_matches(key, wanted)))
        })
    }

    /// Planner statistics of `table.column`.
    pub fn column_stats(&self, table: &'a Table, column: &str) -> Option<&'a ColumnStats> {
        table.column(column).and_then(|c| c.stats.as_ref())
    }

    /// The fraction of rows an equality on `table.column` with an unknown
    /// value keeps: 1 / distinct values, from pg_stats (PostgreSQL's default
    /// guess when there are no statistics).
    pub fn equality_selectivity(&self, table: &'a Table, column: &str) -> f64 {
        match self.column_stats(table, column) {
            Some(stats) => {
                let distinct = stats.distinct_values(table.rows()).max(1.0);
                ((1.0 - stats.null_frac) / distinct).clamp(0.0, 1.0)
            }
            None => DEFAULT_EQ_SEL,
        }
    }

    /// The generic plan of `queryid`, when it was explained.
    pub fn plan(&self, queryid: i64) -> Option<&'a Plan> {
        self.snapshot
            .plan_of(queryid)
            .and_then(|outcome| outcome.plan())
    }

    /// Whether the plan of `queryid` scans `table` sequentially; `None`
    /// when there is no plan to tell.
    pub fn seq_scans(&self, queryid: i64, table: &Table) -> Option<bool> {
        let plan = self.plan(queryid)?;
        Some(plan.nodes().any(|node| {
            node.is_seq_scan()
                && node.relation_name.as_deref() == Some(table.name.as_str())
                && node
                    .schema
                    .as_deref()
                    .is_none_or(|schema| schema == table.schema)
        }))
    }

    /// How long the cumulative statistics (seq_scan, idx_scan…) have been
    /// collected, in seconds: since the last reset, else since the server started.
    pub fn stats_window_seconds(&self) -> Option<i64> {
        self.snapshot.stats_window_seconds()
    }

    /// Whether a finding is about something the configuration ignores.
    pub(crate) fn is_ignored(&self, finding: &Finding) -> bool {
        finding
            .tables
            .iter()
            .any(|table| self.config.ignores_table(table))
            || (!finding.statements.is_empty()
                && finding
                    .statements
                    .iter()
                    .all(|queryid| self.ignored_statements.contains(queryid)))
    }
}

/// Whether an index key is the column or expression a statement uses.
pub fn key_matches(key: &IndexKey, wanted: &ColumnExpr) -> bool {
    match (&wanted.expression, &key.expression) {
        (None, None) => key.column.as_deref() == Some(wanted.column.as_str()),
        (Some(wanted), Some(have)) => normalize_expression(wanted) == normalize_expression(have),
        _ => false,
    }
}

/// An expression with the noise pg_get_indexdef adds removed (casts to
/// text, parentheses, spaces, case): `lower((email)::text)` = `lower(email)`.
fn normalize_expression(expression: &str) -> String {
    expression
        .to_ascii_lowercase()
        .replace("::text", "")
        .replace("::character varying", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')' && *c != '"')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_match_despite_casts_and_parentheses() {
        let key = IndexKey {
            expression: Some("lower((email)::text)".into()),
            ..IndexKey::default()
        };
        let wanted = ColumnExpr {
            column: "email".into(),
            expression: Some("lower(email)".into()),
        };
        assert!(key_matches(&key, &wanted));
        assert!(!key_matches(&key, &ColumnExpr::bare("email")));
    }
}
