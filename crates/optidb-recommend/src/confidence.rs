//! How sure optidb is that an action helps, and how much time it saves.

use optidb_model::{Finding, Snapshot};

use crate::actions::{Action, Target};

/// Share of a statement's time an index saves when the plan shows the
/// sequential scan it replaces: an index lookup of a few rows is usually
/// 10–1000× cheaper than reading the table, so ~90% is conservative.
const SAVED_WITH_SEQ_SCAN: f64 = 0.9;
/// …and when no plan confirmed the scan.
const SAVED_UNCONFIRMED: f64 = 0.5;
/// A rewrite that stops running a subquery per row, or N round trips.
const SAVED_BY_REWRITE: f64 = 0.5;
/// More work_mem turns a disk sort into a memory sort.
const SAVED_BY_WORK_MEM: f64 = 0.3;

/// The confidence (0–1) and how it was reached.
pub(crate) fn of(action: &Action) -> (f64, String) {
    let findings = &action.findings;
    let codes = |code: &str| findings.iter().any(|f| f.code == code);
    let (base, mut reasons): (f64, Vec<String>) = match &action.target {
        Target::CreateIndex(spec) => {
            let mut confidence = if codes("OPT001") || codes("OPT002") {
                0.6
            } else {
                0.5
            };
            let mut reasons = vec![format!(
                "{:.2} for a {} index candidate",
                confidence, spec.method
            )];
            if findings
                .iter()
                .any(|f| f.evidence("plan_seq_scan") == Some(1.0))
            {
                confidence += 0.2;
                reasons.push("+0.20: the generic plan scans the table sequentially".into());
            }
            if findings
                .iter()
                .any(|f| f.evidence("stats_known") == Some(1.0))
            {
                confidence += 0.1;
                reasons.push("+0.10: selectivity from pg_stats".into());
            }
            let served = findings.iter().filter(|f| !f.statements.is_empty()).count();
            if served > 1 {
                confidence += 0.05;
                reasons.push(format!("+0.05: serves {served} findings"));
            }
            if spec.method != "btree" {
                confidence -= 0.2;
                reasons.push(
                    "-0.20: HypoPG cannot cost GIN/GiST indexes; prove it on a sandbox".into(),
                );
            }
            if findings
                .iter()
                .any(|f| f.evidence("pattern_known") == Some(0.0))
            {
                confidence -= 0.1;
                reasons.push(
                    "-0.10: the LIKE pattern is a parameter; a leading wildcard is assumed".into(),
                );
            }
            (confidence, reasons)
        }
        Target::DropIndex { .. } => {
            if codes("OPT004") {
                (0.95, vec!["0.95: an identical index remains".into()])
            } else if codes("OPT005") {
                (
                    0.85,
                    vec!["0.85: a longer index with the same leading keys remains".into()],
                )
            } else {
                let long = findings
                    .iter()
                    .any(|f| f.severity >= optidb_model::Severity::Warning);
                if long {
                    (
                        0.75,
                        vec!["0.75: unused over the whole statistics window".into()],
                    )
                } else {
                    (
                        0.4,
                        vec![
                            "0.40: unused, but statistics cover too short a window to be sure"
                                .into(),
                        ],
                    )
                }
            }
        }
        Target::Maintain { .. } => (
            0.8,
            vec!["0.80: counters show the table changed since its statistics".into()],
        ),
        Target::WorkMem { .. } => (
            0.6,
            vec!["0.60: temporary blocks show sorts or hashes spilling".into()],
        ),
        Target::Rewrite { .. } => (
            0.5,
            vec!["0.50: a rewrite must be verified for equal results".into()],
        ),
        Target::Investigate { .. } => (
            0.3,
            vec!["0.30: the evidence points somewhere DDL does not reach".into()],
        ),
    };
    let confidence = base.clamp(0.05, 0.95);
    if (confidence - base).abs() > f64::EPSILON {
        reasons.push(format!("capped at {confidence:.2}"));
    }
    (confidence, reasons.join("; "))
}

/// Execution time the action would have saved over the statistics window.
pub(crate) fn savings_ms(action: &Action, snapshot: &Snapshot) -> f64 {
    let factor = |finding: &Finding| match &action.target {
        Target::CreateIndex(_) if finding.evidence("plan_seq_scan") == Some(1.0) => {
            SAVED_WITH_SEQ_SCAN
        }
        Target::CreateIndex(_) => SAVED_UNCONFIRMED,
        Target::Rewrite { .. } => SAVED_BY_REWRITE,
        Target::WorkMem { .. } => SAVED_BY_WORK_MEM,
        _ => 0.0,
    };
    // Each statement counts once, at the best factor any finding gives it.
    let mut best: Vec<(i64, f64)> = Vec::new();
    for finding in &action.findings {
        for queryid in &finding.statements {
            let f = factor(finding);
            match best.iter_mut().find(|(id, _)| id == queryid) {
                Some((_, existing)) => *existing = existing.max(f),
                None => best.push((*queryid, f)),
            }
        }
    }
    best.iter()
        .filter_map(|(queryid, f)| {
            let statement = snapshot.statements.iter().find(|s| s.queryid == *queryid)?;
            Some(statement.total_exec_time_ms * f)
        })
        .sum()
}
