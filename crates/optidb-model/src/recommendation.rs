//! Recommendations: ranked, exact, reversible actions built from findings.

use serde::{Deserialize, Serialize};

use crate::Severity;

/// One thing to do, with the exact SQL, how to undo it, why, and the risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable id derived from the action (the same DDL gets the same id).
    pub id: String,
    /// 1 for the recommendation expected to save the most time.
    pub rank: usize,
    /// The most severe of its findings.
    pub severity: Severity,
    /// What kind of action it is.
    pub action: ActionKind,
    /// One line: what to do.
    pub title: String,
    /// The SQL to run, when there is any.
    pub ddl: Option<String>,
    /// The SQL that undoes it.
    pub rollback: Option<String>,
    /// Why, in plain English, citing the evidence.
    pub rationale: String,
    /// How sure optidb is that it helps (0–1).
    pub confidence: f64,
    /// How the confidence was reached.
    pub confidence_basis: String,
    /// What applying it costs and risks.
    pub risk: Risk,
    /// Execution time it is expected to save over the statistics window, in ms.
    pub estimated_savings_ms: f64,
    /// The codes of the findings it answers, e.g. `["OPT001", "OPT003"]`.
    pub codes: Vec<String>,
    /// The statements it helps.
    pub statements: Vec<i64>,
    /// The tables it touches.
    pub tables: Vec<String>,
    /// What a what-if simulation showed, when one ran.
    #[serde(default)]
    pub simulation: Option<Simulation>,
}

/// The kind of a recommendation's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `CREATE INDEX CONCURRENTLY`.
    CreateIndex,
    /// `DROP INDEX CONCURRENTLY`.
    DropIndex,
    /// `ANALYZE`.
    Analyze,
    /// `VACUUM`.
    Vacuum,
    /// A `work_mem` setting.
    Configure,
    /// A change to the statement or the application.
    Rewrite,
    /// Something to look into.
    Investigate,
}

/// What applying a recommendation costs and risks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    /// Overall.
    pub level: RiskLevel,
    /// The lock it takes, e.g. `ShareUpdateExclusiveLock (writes continue)`.
    pub lock: String,
    /// Estimated build time, in seconds.
    pub build_seconds: Option<f64>,
    /// Estimated size of a new index, in bytes.
    pub index_bytes: Option<i64>,
    /// What it adds to every write on the table.
    pub write_overhead: Option<String>,
}

/// How risky an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Reversible and cheap.
    Low,
    /// Takes a while or adds write cost.
    Medium,
    /// Touches the application or holds strong locks.
    High,
}

/// What a what-if simulation showed for one candidate index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    /// How it was simulated, e.g. `hypopg 1.3.1`.
    pub method: String,
    /// The hypothetical index's size, in bytes, when known.
    pub index_bytes: Option<i64>,
    /// Per statement affected.
    pub statements: Vec<StatementEffect>,
    /// Why it could not be simulated, when it could not.
    pub skipped: Option<String>,
}

impl Simulation {
    /// The largest cost improvement (0–1) on any statement.
    pub fn best_improvement(&self) -> Option<f64> {
        self.statements
            .iter()
            .map(|effect| effect.improvement)
            .reduce(f64::max)
    }
}

/// How a change affects one statement's generic plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementEffect {
    /// The statement.
    pub queryid: i64,
    /// Plan cost before.
    pub cost_before: f64,
    /// Plan cost after.
    pub cost_after: f64,
    /// `1 - after / before`: 0.9 is 90% cheaper; negative is dearer.
    pub improvement: f64,
    /// Whether the new plan uses the simulated index.
    pub uses_index: bool,
    /// What changed in the plan, e.g. `Seq Scan on users → Index Scan on users`.
    pub plan_changes: Vec<String>,
}
