//! The fingerprint stage over a snapshot: each statement's fingerprint and
//! facts, and the families they form.

use std::collections::{HashMap, HashSet};

use optidb_fingerprint::{FamilyInput, analyze, families};
use optidb_ingest::Snapshot;
use optidb_model::facts::QueryFacts;

/// What the statements' texts say.
pub struct TextAnalysis {
    /// Fingerprint per queryid, for the statements whose text parses.
    pub fingerprints: HashMap<i64, String>,
    /// `F1`, `F2`… per queryid, for members of families of two or more,
    /// numbered by the rank of their best member.
    labels: HashMap<i64, String>,
    /// Members whose mean time is far from their family's.
    outliers: HashSet<i64>,
}

impl TextAnalysis {
    pub fn of(snapshot: &Snapshot) -> Self {
        let analyses: Vec<(i64, f64, String, QueryFacts)> = snapshot
            .statements
            .iter()
            .filter_map(|statement| {
                let analysis = analyze(&statement.query).ok()?;
                Some((
                    statement.queryid,
                    statement.mean_exec_time_ms,
                    analysis.fingerprint,
                    analysis.facts,
                ))
            })
            .collect();
        let inputs: Vec<FamilyInput<'_>> = analyses
            .iter()
            .map(|(id, mean, fingerprint, facts)| FamilyInput {
                id: *id,
                fingerprint,
                facts,
                mean_time_ms: *mean,
            })
            .collect();
        let families = families(&inputs);
        let mut labels = HashMap::new();
        let mut next = 1;
        for statement in &snapshot.statements {
            if labels.contains_key(&statement.queryid) {
                continue;
            }
            let Some(family) = families.iter().find(|family| {
                family.members.len() > 1 && family.members.contains(&statement.queryid)
            }) else {
                continue;
            };
            for member in &family.members {
                labels.insert(*member, format!("F{next}"));
            }
            next += 1;
        }
        let outliers = families
            .iter()
            .flat_map(|family| family.outliers.iter().map(|outlier| outlier.member))
            .collect();
        TextAnalysis {
            outliers,
            fingerprints: analyses
                .into_iter()
                .map(|(id, _, fingerprint, _)| (id, fingerprint))
                .collect(),
            labels,
        }
    }

    /// The family label of `queryid`, when it shares a family.
    pub fn label(&self, queryid: i64) -> Option<String> {
        self.labels.get(&queryid).cloned()
    }

    /// Whether `queryid`'s mean time is far from its family's.
    pub fn is_outlier(&self, queryid: i64) -> bool {
        self.outliers.contains(&queryid)
    }

    /// The queryid that `id` names: a queryid, or a fingerprint.
    pub fn resolve(&self, snapshot: &Snapshot, id: &str) -> Option<i64> {
        let id = id.trim();
        if let Ok(queryid) = id.parse::<i64>()
            && snapshot.statements.iter().any(|s| s.queryid == queryid)
        {
            return Some(queryid);
        }
        snapshot
            .statements
            .iter()
            .map(|statement| statement.queryid)
            .find(|queryid| self.fingerprints.get(queryid).is_some_and(|f| f == id))
    }
}
