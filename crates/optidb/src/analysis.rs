//! Family labels for display, from the fingerprint stage's output.

use std::collections::{HashMap, HashSet};

use optidb_ingest::Snapshot;
use optidb_model::facts::WorkloadFacts;

/// How families are shown: `F1`, `F2`… per queryid, for members of families
/// of two or more, numbered by the rank of their best member.
pub struct FamilyLabels {
    labels: HashMap<i64, String>,
    outliers: HashSet<i64>,
}

impl FamilyLabels {
    pub fn of(snapshot: &Snapshot, workload: &WorkloadFacts) -> Self {
        let mut labels = HashMap::new();
        let mut next = 1;
        for statement in &snapshot.statements {
            if labels.contains_key(&statement.queryid) {
                continue;
            }
            let Some(family) = workload
                .family_of(statement.queryid)
                .filter(|family| family.members.len() > 1)
            else {
                continue;
            };
            for member in &family.members {
                labels.insert(*member, format!("F{next}"));
            }
            next += 1;
        }
        let outliers = workload
            .families
            .iter()
            .flat_map(|family| family.outliers.iter().map(|outlier| outlier.member))
            .collect();
        FamilyLabels { labels, outliers }
    }

    /// The family label of `queryid`, when it shares a family.
    pub fn label(&self, queryid: i64) -> Option<String> {
        self.labels.get(&queryid).cloned()
    }

    /// Whether `queryid`'s mean time is far from its family's.
    pub fn is_outlier(&self, queryid: i64) -> bool {
        self.outliers.contains(&queryid)
    }
}

/// The queryid that `id` names: a queryid, or a fingerprint.
pub fn resolve(snapshot: &Snapshot, workload: &WorkloadFacts, id: &str) -> Option<i64> {
    let id = id.trim();
    if let Ok(queryid) = id.parse::<i64>()
        && snapshot.statements.iter().any(|s| s.queryid == queryid)
    {
        return Some(queryid);
    }
    workload
        .statements
        .iter()
        .find(|statement| statement.fingerprint == id)
        .map(|statement| statement.queryid)
}
