//! `optidb scan`: what was scanned, the ranked recommendations and the
//! findings behind them.

use comfy_table::{Cell, CellAlignment};
use optidb_model::{Finding, Fix, Recommendation, Severity, Snapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::format::{millis, new_table, thousands};
use crate::{Document, ExplanationEntry, SCHEMA_VERSION, TableStyle};

/// The result of a scan, as a JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanReport {
    /// [`SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The database scanned.
    pub database: String,
    /// The server's version string.
    pub server_version: String,
    /// When its statistics were read (RFC 3339, UTC).
    pub captured_at: String,
    /// What was scanned and what was found.
    pub summary: ScanSummary,
    /// What to do, best first.
    pub recommendations: Vec<RecommendationEntry>,
    /// Every finding, most severe first.
    pub findings: Vec<FindingEntry>,
    /// What the scan could not see, and how to let it.
    pub warnings: Vec<String>,
}

/// What was scanned and what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanSummary {
    /// Statements analysed (the top ones by total time).
    pub statements: usize,
    /// Tables in the catalog.
    pub tables: usize,
    /// Indexes in the catalog.
    pub indexes: usize,
    /// Findings at `info`.
    pub info: usize,
    /// Findings at `warning`.
    pub warning: usize,
    /// Findings at `critical`.
    pub critical: usize,
    /// How long the scan took, in milliseconds.
    pub duration_ms: f64,
    /// How recommendations were proven: `hypopg 1.3.1`, or why they were not.
    pub simulation: String,
    /// Index recommendations dropped because the simulation showed no
    /// statement getting at least 10% cheaper.
    pub dropped_by_simulation: usize,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecommendationEntry {
    /// 1 for the one expected to save the most time.
    pub rank: usize,
    /// Stable id: the same action gets the same id in every scan.
    pub id: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `create_index`, `drop_index`, `analyze`, `vacuum`, `configure`, `rewrite` or `investigate`.
    pub action: String,
    /// What to do, in one line.
    pub title: String,
    /// The SQL to run, if any.
    pub ddl: Option<String>,
    /// The SQL that undoes it, if anything needs undoing.
    pub rollback: Option<String>,
    /// Why, citing the evidence.
    pub rationale: String,
    /// 0–1.
    pub confidence: f64,
    /// How the confidence was reached.
    pub confidence_basis: String,
    /// What applying it costs and risks.
    pub risk: RiskEntry,
    /// Execution time it would have saved over the statistics window, ms.
    pub estimated_savings_ms: f64,
    /// Codes of the findings it answers.
    pub codes: Vec<String>,
    /// Statements it helps (queryids as strings: 64-bit values).
    pub statements: Vec<String>,
    /// Tables it touches, `schema.name`.
    pub tables: Vec<String>,
    /// What the what-if simulation showed, when one ran.
    pub simulation: Option<SimulationEntry>,
    /// A model's explanation with its citations (`--explain`, when the
    /// model answered and its answer passed the grounding check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<ExplanationEntry>,
}

/// A what-if simulation of an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SimulationEntry {
    /// How, e.g. `hypopg 1.3.1`.
    pub method: String,
    /// Why it could not be simulated, if it could not.
    pub skipped: Option<String>,
    /// The hypothetical index's size, bytes.
    pub index_bytes: Option<i64>,
    /// The largest improvement on any statement (0–1).
    pub best_improvement: Option<f64>,
    /// Per statement.
    pub statements: Vec<StatementEffectEntry>,
}

/// One statement's plan cost before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatementEffectEntry {
    /// queryid, as a string.
    pub queryid: String,
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

/// How the recommendations of a scan were proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationSummary {
    /// `hypopg 1.3.1`, or why there was no simulation.
    pub method: String,
    /// Recommendations dropped by it.
    pub dropped: usize,
}

/// Cost and risk of a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RiskEntry {
    /// `low`, `medium` or `high`.
    pub level: String,
    /// The lock taken.
    pub lock: String,
    /// Estimated build time, seconds.
    pub build_seconds: Option<f64>,
    /// Estimated index size, bytes.
    pub index_bytes: Option<i64>,
    /// Added (or removed) work on writes.
    pub write_overhead: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FindingEntry {
    /// Rule code, e.g. `OPT001` (see docs/rules).
    pub code: String,
    /// Rule name, e.g. `missing-index`.
    pub rule: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// What is wrong, in one line.
    pub title: String,
    /// Statements affected (queryids as strings).
    pub statements: Vec<String>,
    /// Tables involved.
    pub tables: Vec<String>,
    /// Indexes involved.
    pub indexes: Vec<String>,
    /// The numbers behind it.
    pub evidence: Vec<EvidenceEntry>,
    /// The fix it suggests, in one line.
    pub fix: String,
}

/// One number behind a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceEntry {
    /// What it measures.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
}

impl ScanReport {
    /// The report of a scan of `snapshot`.
    pub fn new(
        snapshot: &Snapshot,
        findings: &[Finding],
        recommendations: &[Recommendation],
        duration_ms: f64,
        simulation: SimulationSummary,
    ) -> Self {
        let count = |severity: Severity| findings.iter().filter(|f| f.severity == severity).count();
        ScanReport {
            schema_version: SCHEMA_VERSION,
            database: snapshot.server.database.clone(),
            server_version: snapshot.server.version.clone(),
            captured_at: snapshot.captured_at.clone(),
            summary: ScanSummary {
                statements: snapshot.statements.len(),
                tables: snapshot.catalog.tables.len(),
                indexes: snapshot.catalog.indexes.len(),
                info: count(Severity::Info),
                warning: count(Severity::Warning),
                critical: count(Severity::Critical),
                duration_ms,
                simulation: simulation.method,
                dropped_by_simulation: simulation.dropped,
            },
            recommendations: recommendations.iter().map(recommendation_entry).collect(),
            findings: findings.iter().map(finding_entry).collect(),
            warnings: snapshot
                .warnings
                .iter()
                .map(|w| w.message.clone())
                .collect(),
        }
    }
}

impl Document for ScanReport {
    /// A summary line, then the recommendations as a table.
    fn to_table(&self, style: TableStyle) -> String {
        let summary = &self.summary;
        let mut out = format!(
            "Scanned {}: {} statements, {} tables, {} indexes in {} ms. Findings: {} critical, {} warning, {} info.\n",
            self.database,
            summary.statements,
            summary.tables,
            summary.indexes,
            millis(summary.duration_ms),
            summary.critical,
            summary.warning,
            summary.info,
        );
        out.push_str(&format!("What-if: {}", summary.simulation));
        if summary.dropped_by_simulation > 0 {
            out.push_str(&format!(
                "; {} index recommendation(s) dropped: no statement got 10% cheaper",
                summary.dropped_by_simulation
            ));
        }
        out.push_str(".\n");
        if self.recommendations.is_empty() {
            out.push_str("Nothing to recommend.\n");
            return out;
        }
        let mut table = new_table(style);
        table.set_header(vec![
            "#",
            "severity",
            "why",
            "DDL",
            "risk",
            "simulated",
            "confidence",
        ]);
        for entry in &self.recommendations {
            let ddl = entry
                .ddl
                .clone()
                .unwrap_or_else(|| format!("({})", entry.action.replace('_', " ")));
            table.add_row(vec![
                Cell::new(entry.rank),
                Cell::new(&entry.severity),
                Cell::new(format!("{} [{}]", entry.title, entry.codes.join(", "))),
                Cell::new(ddl),
                Cell::new(risk_text(&entry.risk)),
                Cell::new(simulation_text(entry.simulation.as_ref())),
                Cell::new(format!("{:.2}", entry.confidence)),
            ]);
        }
        if let Some(column) = table.column_mut(0) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        out.push_str(&format!("{table}\n"));
        for entry in &self.recommendations {
            if let Some(explanation) = &entry.explanation {
                out.push_str(&format!("\n#{} explained:\n", entry.rank));
                out.push_str(&explanation.render("  "));
            }
        }
        for warning in &self.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out
    }
}

fn simulation_text(simulation: Option<&SimulationEntry>) -> String {
    match simulation {
        None => "-".into(),
        Some(SimulationEntry {
            skipped: Some(_), ..
        }) => "not simulable".into(),
        Some(simulation) => match simulation.best_improvement {
            Some(best) => format!("-{:.0}% cost", best * 100.0),
            None => "no plan".into(),
        },
    }
}

fn risk_text(risk: &RiskEntry) -> String {
    let mut parts = vec![risk.level.clone()];
    if let Some(seconds) = risk.build_seconds {
        parts.push(format!("~{seconds:.1} s build"));
    }
    if let Some(bytes) = risk.index_bytes {
        parts.push(format!(
            "~{} kB",
            thousands((bytes.max(0) as u64).div_ceil(1024))
        ));
    }
    parts.join(", ")
}

fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn recommendation_entry(recommendation: &Recommendation) -> RecommendationEntry {
    RecommendationEntry {
        rank: recommendation.rank,
        id: recommendation.id.clone(),
        severity: recommendation.severity.as_str().to_string(),
        action: name(&recommendation.action),
        title: recommendation.title.clone(),
        ddl: recommendation.ddl.clone(),
        rollback: recommendation.rollback.clone(),
        rationale: recommendation.rationale.clone(),
        confidence: recommendation.confidence,
        confidence_basis: recommendation.confidence_basis.clone(),
        risk: RiskEntry {
            level: name(&recommendation.risk.level),
            lock: recommendation.risk.lock.clone(),
            build_seconds: recommendation.risk.build_seconds,
            index_bytes: recommendation.risk.index_bytes,
            write_overhead: recommendation.risk.write_overhead.clone(),
        },
        estimated_savings_ms: recommendation.estimated_savings_ms,
        codes: recommendation.codes.clone(),
        statements: recommendation
            .statements
            .iter()
            .map(i64::to_string)
            .collect(),
        tables: recommendation.tables.clone(),
        simulation: recommendation.simulation.as_ref().map(simulation_entry),
        explanation: None,
    }
}

/// How a simulation of the model is shown.
pub fn simulation_entry(simulation: &optidb_model::Simulation) -> SimulationEntry {
    SimulationEntry {
        method: simulation.method.clone(),
        skipped: simulation.skipped.clone(),
        index_bytes: simulation.index_bytes,
        best_improvement: simulation.best_improvement(),
        statements: simulation
            .statements
            .iter()
            .map(|effect| StatementEffectEntry {
                queryid: effect.queryid.to_string(),
                cost_before: effect.cost_before,
                cost_after: effect.cost_after,
                improvement: effect.improvement,
                uses_index: effect.uses_index,
                plan_changes: effect.plan_changes.clone(),
            })
            .collect(),
    }
}

/// How a finding is shown.
pub fn finding_entry(finding: &Finding) -> FindingEntry {
    FindingEntry {
        code: finding.code.clone(),
        rule: finding.rule.clone(),
        severity: finding.severity.as_str().to_string(),
        title: finding.title.clone(),
        statements: finding.statements.iter().map(i64::to_string).collect(),
        tables: finding.tables.clone(),
        indexes: finding.indexes.clone(),
        evidence: finding
            .evidence
            .iter()
            .map(|e| EvidenceEntry {
                name: e.name.clone(),
                value: e.value,
                unit: e.unit.clone(),
            })
            .collect(),
        fix: fix_text(&finding.fix),
    }
}

fn fix_text(fix: &Fix) -> String {
    match fix {
        Fix::CreateIndex(spec) => format!(
            "create a {} index on {}.{}({})",
            spec.method,
            spec.schema,
            spec.table,
            spec.key_list().join(", ")
        ),
        Fix::DropIndex { schema, name, .. } => format!("drop index {schema}.{name}"),
        Fix::Analyze { schema, table } => format!("analyze {schema}.{table}"),
        Fix::Vacuum { schema, table } => format!("vacuum {schema}.{table}"),
        Fix::WorkMem { kilobytes } => format!("work_mem = {kilobytes}kB for the statement"),
        Fix::Rewrite { advice } => format!("rewrite: {advice}"),
        Fix::Investigate { advice } => format!("investigate: {advice}"),
    }
}

#[cfg(test)]
mod tests {
    use optidb_model::{
        ActionKind, Evidence, IndexKeySpec, IndexSpec, Risk, RiskLevel, ServerInfo,
    };

    use super::*;

    fn scan() -> ScanReport {
        let snapshot = Snapshot {
            captured_at: "2026-11-21T12:00:00Z".into(),
            server: ServerInfo {
                version_num: 150018,
                version: "15.18".into(),
                database: "shop".into(),
            },
            ..Snapshot::default()
        };
        let finding = Finding {
            code: "OPT001".into(),
            rule: "missing-index".into(),
            severity: Severity::Critical,
            title: "orders: `user_id = $n` keeps ~10 of 1,000,000 rows but is served by a sequential scan (4,000 calls, 62.0% of all time)".into(),
            statements: vec![-8_817_266_385_283_457_021],
            tables: vec!["public.orders".into()],
            indexes: Vec::new(),
            evidence: vec![Evidence::new("table_rows", 1_000_000.0, "rows")],
            fix: Fix::CreateIndex(IndexSpec {
                schema: "public".into(),
                table: "orders".into(),
                method: "btree".into(),
                keys: vec![IndexKeySpec::column("user_id"), IndexKeySpec::column("created_at")],
                include: Vec::new(),
                predicate: None,
            }),
        };
        let recommendation = Recommendation {
            id: "R1a2b3c4d".into(),
            rank: 1,
            severity: Severity::Critical,
            action: ActionKind::CreateIndex,
            title: "Create index on orders(user_id, created_at)".into(),
            ddl: Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_orders_user_id_created_at_idx\" ON \"public\".\"orders\" USING btree (\"user_id\", \"created_at\");".into()),
            rollback: Some("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"optidb_orders_user_id_created_at_idx\";".into()),
            rationale: "Orders: `user_id = $n` keeps ~10 of 1,000,000 rows.".into(),
            confidence: 0.9,
            confidence_basis: "0.60 for a btree index candidate; +0.20: the generic plan scans the table sequentially; +0.10: selectivity from pg_stats".into(),
            risk: Risk {
                level: RiskLevel::Medium,
                lock: "ShareUpdateExclusiveLock".into(),
                build_seconds: Some(12.5),
                index_bytes: Some(30_000_000),
                write_overhead: Some("one more index to maintain on ~3.2 writes/s to orders".into()),
            },
            estimated_savings_ms: 7_200.0,
            codes: vec!["OPT001".into(), "OPT003".into()],
            statements: vec![-8_817_266_385_283_457_021],
            tables: vec!["public.orders".into()],
            simulation: Some(optidb_model::Simulation {
                method: "hypopg 1.3.1".into(),
                index_bytes: Some(22_609_920),
                statements: vec![optidb_model::StatementEffect {
                    queryid: -8_817_266_385_283_457_021,
                    cost_before: 20_834.0,
                    cost_after: 12.6,
                    improvement: 1.0 - 12.6 / 20_834.0,
                    uses_index: true,
                    plan_changes: vec!["Seq Scan on orders → Index Scan on orders".into(), "Sort removed".into()],
                }],
                skipped: None,
            }),
        };
        ScanReport::new(
            &snapshot,
            &[finding],
            &[recommendation],
            84.2,
            SimulationSummary {
                method: "hypopg 1.3.1".into(),
                dropped: 1,
            },
        )
    }

    #[test]
    fn table() {
        insta::assert_snapshot!(scan().to_table(TableStyle::plain()));
    }

    #[test]
    fn json_reads_back() {
        let json = scan().to_json().unwrap();
        insta::assert_snapshot!(json);
        let back: ScanReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, scan());
    }

    #[test]
    fn nothing_found_says_so() {
        let empty = ScanReport::new(
            &Snapshot::default(),
            &[],
            &[],
            1.0,
            SimulationSummary {
                method: "skipped: offline snapshot".into(),
                dropped: 0,
            },
        );
        assert!(
            empty
                .to_table(TableStyle::plain())
                .contains("Nothing to recommend.")
        );
    }
}
