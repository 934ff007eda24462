//! Why, in plain English, built from the findings' evidence.

use optidb_model::text::{self, thousands};
use optidb_model::{Finding, Snapshot};

use crate::actions::{Action, Target, megabytes};

pub(crate) fn of(action: &Action, snapshot: &Snapshot) -> String {
    let findings: Vec<String> = action.findings.iter().map(sentence).collect();
    let mut text = findings.join(" ");
    match &action.target {
        Target::CreateIndex(spec) => {
            let table = snapshot.catalog.table(&spec.schema, &spec.table);
            let scanned = action
                .findings
                .iter()
                .filter(|f| f.evidence("plan_seq_scan") == Some(1.0))
                .filter_map(|f| Some((f.evidence("table_rows")?, f.evidence("rows_per_call")?)))
                .next();
            if let Some((rows, per_call)) = scanned {
                text.push_str(&format!(
                    " The generic plan reads all {} rows of {} on every call; through the index each call reads about {}.",
                    thousands(rows),
                    spec.table,
                    thousands(per_call)
                ));
            }
            let time: f64 = statements_time(action, snapshot);
            if time > 0.0 {
                text.push_str(&format!(
                    " These statements took {} ms over the statistics window.",
                    thousands(time)
                ));
            }
            if action.findings.iter().any(|f| f.code == "OPT003") && action.findings.len() > 1 {
                text.push_str(" The same index also covers the foreign key.");
            }
            if table.is_none() {
                text.push_str(" (The table is not in the snapshot's catalog: check the name.)");
            }
        }
        Target::DropIndex { name, .. } => {
            let bytes = snapshot
                .catalog
                .indexes
                .iter()
                .find(|index| &index.name == name)
                .map(|index| index.bytes)
                .unwrap_or(0);
            text.push_str(&format!(
                " Dropping {name} frees {} and removes its upkeep from every insert and update; the rollback rebuilds it exactly.",
                text::bytes(bytes as f64)
            ));
        }
        Target::Maintain { vacuum, analyze, .. } => {
            if *analyze {
                text.push_str(" ANALYZE refreshes the planner's statistics so its row estimates match the data again.");
            }
            if *vacuum {
                text.push_str(" VACUUM makes dead rows' space reusable and updates the visibility map for index-only scans.");
            }
        }
        Target::WorkMem { kilobytes } => text.push_str(&format!(
            " Raise work_mem to {} for that statement's session or role (SET LOCAL work_mem = '{}' in its transaction), not server-wide: every sort and hash of every session may use that much.",
            megabytes(*kilobytes),
            megabytes(*kilobytes)
        )),
        Target::Rewrite { advice } | Target::Investigate { advice } => {
            text.push(' ');
            text.push_str(advice);
        }
    }
    text
}

/// A finding's title as a sentence.
fn sentence(finding: &Finding) -> String {
    let mut title = finding.title.trim().to_string();
    if let Some(first) = title.get(..1) {
        title = first.to_uppercase() + &title[1..];
    }
    if !title.ends_with('.') {
        title.push('.');
    }
    title
}

fn statements_time(action: &Action, snapshot: &Snapshot) -> f64 {
    let mut ids: Vec<i64> = action
        .findings
        .iter()
        .flat_map(|f| f.statements.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.iter()
        .filter_map(|id| snapshot.statements.iter().find(|s| s.queryid == *id))
        .map(|s| s.total_exec_time_ms)
        .sum()
}
