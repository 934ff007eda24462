//! Proving a scan's index recommendations: each is costed with HypoPG on the
//! statements it is meant to help; those that improve no statement's cost
//! by [`MIN_IMPROVEMENT`] are dropped.

use optidb_model::{ActionKind, Recommendation, Snapshot};
use tokio_postgres::Client;

use crate::{Error, WhatIfOptions, what_if};

/// A recommendation must make at least one of its statements this much
/// cheaper (in plan cost) to be worth building: below it, planning noise
/// and the index's write cost outweigh the gain.
pub const MIN_IMPROVEMENT: f64 = 0.10;

/// What proving the recommendations did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proven {
    /// Recommendations dropped because no statement got cheaper enough.
    pub dropped: Vec<Recommendation>,
    /// How many were simulated.
    pub simulated: usize,
}

/// Simulates every index recommendation that names statements, records the
/// result on it, drops the ones that do not pay, and re-ranks the rest.
pub async fn prove(
    client: &Client,
    snapshot: &Snapshot,
    recommendations: &mut Vec<Recommendation>,
    options: &WhatIfOptions,
) -> Result<Proven, Error> {
    let mut proven = Proven::default();
    for recommendation in recommendations.iter_mut() {
        let Some(ddl) = recommendation.ddl.clone() else {
            continue;
        };
        if recommendation.action != ActionKind::CreateIndex || recommendation.statements.is_empty()
        {
            continue;
        }
        let statements: Vec<_> = snapshot
            .statements
            .iter()
            .filter(|s| recommendation.statements.contains(&s.queryid))
            .cloned()
            .collect();
        let mut result = what_if(
            client,
            snapshot.server.version_num,
            &statements,
            &[ddl],
            options,
        )
        .await?;
        proven.simulated += 1;
        recommendation.simulation = result.simulations.pop();
    }
    let (keep, drop): (Vec<_>, Vec<_>) = recommendations.drain(..).partition(|recommendation| {
        match &recommendation.simulation {
            // Not simulable (GIN…) or no statement explained: keep, unproven.
            Some(simulation) if simulation.skipped.is_none() => simulation
                .best_improvement()
                .is_none_or(|best| best >= MIN_IMPROVEMENT),
            _ => true,
        }
    });
    *recommendations = keep;
    for (index, recommendation) in recommendations.iter_mut().enumerate() {
        recommendation.rank = index + 1;
    }
    proven.dropped = drop;
    Ok(proven)
}
