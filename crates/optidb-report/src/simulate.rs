//! `optidb simulate`: what each candidate index does to the plan cost of
//! every statement it touches, and to the workload in total.

use comfy_table::{Cell, CellAlignment};
use optidb_model::{Simulation, Snapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::format::{new_table, one_line, thousands};
use crate::{Document, SCHEMA_VERSION, TableStyle};

/// The result of a what-if simulation, as a JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimulateReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The database simulated on.
    pub database: String,
    /// One entry per candidate index.
    pub candidates: Vec<CandidateEntry>,
}

/// One candidate index and its effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CandidateEntry {
    /// The DDL simulated.
    pub ddl: String,
    /// How, e.g. `hypopg 1.3.1`.
    pub method: String,
    /// Why it could not be simulated, if it could not.
    pub skipped: Option<String>,
    /// The hypothetical index's size, bytes.
    pub index_bytes: Option<i64>,
    /// Statements whose plan changed or that use the index.
    pub statements: Vec<EffectEntry>,
    /// Σ calls × plan cost over those statements, before.
    pub workload_cost_before: f64,
    /// …and after.
    pub workload_cost_after: f64,
}

/// One statement's plan before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EffectEntry {
    /// queryid, as a string.
    pub queryid: String,
    /// Normalized text.
    pub query: String,
    /// Executions in the statistics window.
    pub calls: u64,
    /// Plan cost before.
    pub cost_before: f64,
    /// Plan cost after.
    pub cost_after: f64,
    /// `1 - after / before`.
    pub improvement: f64,
    /// Whether the new plan uses the index.
    pub uses_index: bool,
    /// What changed in the plan.
    pub plan_changes: Vec<String>,
}

/// Plan costs this close are the same plan, give or take rounding.
const UNCHANGED: f64 = 1e-3;

impl SimulateReport {
    /// The report of `simulations` (one per `ddls`) on `snapshot`'s statements.
    pub fn new(snapshot: &Snapshot, ddls: &[String], simulations: &[Simulation]) -> Self {
        let candidates = ddls
            .iter()
            .zip(simulations)
            .map(|(ddl, simulation)| {
                let statements: Vec<EffectEntry> = simulation
                    .statements
                    .iter()
                    .filter(|effect| effect.uses_index || effect.improvement.abs() > UNCHANGED)
                    .map(|effect| {
                        let statement = snapshot
                            .statements
                            .iter()
                            .find(|s| s.queryid == effect.queryid);
                        EffectEntry {
                            queryid: effect.queryid.to_string(),
                            query: statement.map(|s| s.query.clone()).unwrap_or_default(),
                            calls: statement.map_or(0, |s| s.calls),
                            cost_before: effect.cost_before,
                            cost_after: effect.cost_after,
                            improvement: effect.improvement,
                            uses_index: effect.uses_index,
                            plan_changes: effect.plan_changes.clone(),
                        }
                    })
                    .collect();
                let total = |cost: fn(&EffectEntry) -> f64| {
                    statements
                        .iter()
                        .map(|e| e.calls.max(1) as f64 * cost(e))
                        .sum()
                };
                CandidateEntry {
                    ddl: ddl.clone(),
                    method: simulation.method.clone(),
                    skipped: simulation.skipped.clone(),
                    index_bytes: simulation.index_bytes,
                    workload_cost_before: total(|e| e.cost_before),
                    workload_cost_after: total(|e| e.cost_after),
                    statements,
                }
            })
            .collect();
        SimulateReport {
            schema_version: SCHEMA_VERSION,
            database: snapshot.server.database.clone(),
            candidates,
        }
    }
}

impl Document for SimulateReport {
    /// Per candidate: its DDL, a table of statements, the workload total.
    fn to_table(&self, style: TableStyle) -> String {
        let mut out = String::new();
        for candidate in &self.candidates {
            out.push_str(&format!("{}\n", candidate.ddl.trim()));
            if let Some(reason) = &candidate.skipped {
                out.push_str(&format!("  not simulated: {reason}\n\n"));
                continue;
            }
            match candidate.index_bytes {
                Some(bytes) => out.push_str(&format!(
                    "  {}, hypothetical size {}\n",
                    candidate.method,
                    optidb_model::text::bytes(bytes as f64)
                )),
                None => out.push_str(&format!("  {}\n", candidate.method)),
            }
            if candidate.statements.is_empty() {
                let dropping = candidate
                    .ddl
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("DROP");
                out.push_str(if dropping {
                    "  no statement's plan changes: dropping it costs the workload nothing\n\n"
                } else {
                    "  no statement's plan changes: the planner would not use it\n\n"
                });
                continue;
            }
            let mut table = new_table(style);
            table.set_header(vec![
                "statement",
                "calls",
                "cost before",
                "cost after",
                "change",
                "uses it",
                "plan",
            ]);
            for effect in &candidate.statements {
                table.add_row(vec![
                    Cell::new(one_line(&effect.query, 60)),
                    Cell::new(thousands(effect.calls)),
                    Cell::new(format!("{:.1}", effect.cost_before)),
                    Cell::new(format!("{:.1}", effect.cost_after)),
                    Cell::new(format!("{:+.1}%", -effect.improvement * 100.0)),
                    Cell::new(if effect.uses_index { "yes" } else { "no" }),
                    Cell::new(effect.plan_changes.join("; ")),
                ]);
            }
            for column in 1..5 {
                if let Some(column) = table.column_mut(column) {
                    column.set_cell_alignment(CellAlignment::Right);
                }
            }
            let (before, after) = (
                candidate.workload_cost_before,
                candidate.workload_cost_after,
            );
            let change = if before > 0.0 {
                (after / before - 1.0) * 100.0
            } else {
                0.0
            };
            out.push_str(&format!(
                "{table}\n  workload cost (calls × plan cost): {} → {} ({change:+.1}%)\n\n",
                thousands(before.round() as u64),
                thousands(after.round() as u64),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::{ServerInfo, Statement, StatementEffect};

    use super::*;

    #[test]
    fn table_and_json() {
        let snapshot = Snapshot {
            server: ServerInfo {
                database: "shop".into(),
                ..ServerInfo::default()
            },
            statements: vec![Statement {
                queryid: 1,
                query: "SELECT id, name FROM users WHERE email = $1".into(),
                calls: 200,
                ..Statement::default()
            }],
            ..Snapshot::default()
        };
        let ddl = "CREATE INDEX ON users (email)".to_string();
        let simulation = Simulation {
            method: "hypopg 1.3.1".into(),
            index_bytes: Some(1_204_224),
            statements: vec![
                StatementEffect {
                    queryid: 1,
                    cost_before: 2_084.0,
                    cost_after: 8.3,
                    improvement: 1.0 - 8.3 / 2_084.0,
                    uses_index: true,
                    plan_changes: vec!["Seq Scan on users → Index Scan on users".into()],
                },
                StatementEffect {
                    queryid: 2,
                    cost_before: 10.0,
                    cost_after: 10.0,
                    improvement: 0.0,
                    uses_index: false,
                    plan_changes: Vec::new(),
                },
            ],
            skipped: None,
        };
        let report = SimulateReport::new(&snapshot, &[ddl], &[simulation]);
        assert_eq!(
            report.candidates[0].statements.len(),
            1,
            "unchanged statements are left out"
        );
        insta::assert_snapshot!(report.to_table(TableStyle::plain()));
        let json = report.to_json().unwrap();
        let back: SimulateReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
