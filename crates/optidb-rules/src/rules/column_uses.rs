//! Statements that use one column of one table the same way, gathered
//! across the workload: OPT009 and OPT010 report one finding per column
//! (one index serves every statement), not one per statement.

use optidb_model::facts::ColumnExpr;
use optidb_model::{Evidence, Finding, Fix, IndexKeySpec, IndexSpec, Severity, Statement, Table};

use super::{finding, percent, thousands};
use crate::{Context, Rule};

/// One column of one table, the statements using it, and what each rule
/// needs to remember about them (`D`).
pub(crate) struct ColumnUse<'a, D> {
    pub table: &'a Table,
    pub column: ColumnExpr,
    pub statements: Vec<&'a Statement>,
    /// Some statement's plan showed the sequential scan.
    pub plan_seq_scan: bool,
    pub detail: D,
}

impl<D> ColumnUse<'_, D> {
    /// The column, or its expression, as written.
    pub fn column_text(&self) -> String {
        self.column
            .expression
            .clone()
            .unwrap_or_else(|| self.column.column.clone())
    }

    /// Their share of the workload's time, together.
    pub fn share(&self, context: &Context) -> f64 {
        self.statements.iter().map(|s| context.time_share(s)).sum()
    }

    /// Calls of all of them.
    pub fn calls(&self) -> u64 {
        self.statements.iter().map(|s| s.calls).sum()
    }
}

/// The use of `column` of `table` in `uses`, added when new, with
/// `statement` and its plan's evidence recorded.
pub(crate) fn record<'u, 'a, D: Default>(
    uses: &'u mut Vec<ColumnUse<'a, D>>,
    table: &'a Table,
    column: &ColumnExpr,
    statement: &'a Statement,
    seq_scan: Option<bool>,
) -> &'u mut ColumnUse<'a, D> {
    let at = match uses
        .iter()
        .position(|u| std::ptr::eq(u.table, table) && u.column == *column)
    {
        Some(at) => at,
        None => {
            uses.push(ColumnUse {
                table,
                column: column.clone(),
                statements: Vec::new(),
                plan_seq_scan: false,
                detail: D::default(),
            });
            uses.len() - 1
        }
    };
    let entry = &mut uses[at];
    if !entry
        .statements
        .iter()
        .any(|s| s.queryid == statement.queryid)
    {
        entry.statements.push(statement);
    }
    entry.plan_seq_scan |= seq_scan == Some(true);
    entry
}

/// A finding of `rule` asking for a GIN index with `key` on the use's
/// column: `what` says how the column is used, e.g. `@>` or `ILIKE $n`;
/// `extra` adds the rule's own evidence.
pub(crate) fn gin_index_finding<D>(
    rule: &Rule,
    context: &Context,
    used: &ColumnUse<'_, D>,
    what: &str,
    missing: &str,
    key: IndexKeySpec,
    extra: Vec<Evidence>,
) -> Finding {
    let table = used.table;
    let share = used.share(context);
    let calls = used.calls();
    let total_ms: f64 = used.statements.iter().map(|s| s.total_exec_time_ms).sum();
    let rows: u64 = used.statements.iter().map(|s| s.rows).sum();
    let mut found = finding(
        rule,
        context.severity_for_share(share, Severity::Warning),
        format!(
            "{}.{} {what}: no {missing}, so each call scans all {} rows ({} calls, {} of all time)",
            table.name,
            used.column_text(),
            thousands(table.rows()),
            thousands(calls as f64),
            percent(share),
        ),
        Fix::CreateIndex(IndexSpec {
            schema: table.schema.clone(),
            table: table.name.clone(),
            method: "gin".into(),
            keys: vec![key],
            include: Vec::new(),
            predicate: None,
        }),
    );
    found.statements = used.statements.iter().map(|s| s.queryid).collect();
    found.tables = vec![table.qualified_name()];
    found.evidence = vec![
        Evidence::new("table_rows", table.rows(), "rows"),
        Evidence::new("calls", calls as f64, "calls"),
        Evidence::new("rows_per_call", rows as f64 / calls.max(1) as f64, "rows"),
        Evidence::new("total_exec_time_ms", total_ms, "ms"),
        Evidence::new("time_share", share, "ratio"),
    ];
    found.evidence.extend(extra);
    found.evidence.push(Evidence::new(
        "plan_seq_scan",
        if used.plan_seq_scan { 1.0 } else { 0.0 },
        "flag",
    ));
    found
}
