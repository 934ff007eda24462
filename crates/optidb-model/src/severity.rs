//! How much a finding matters.

use serde::{Deserialize, Serialize};

/// How much a finding matters, least first (so `>=` compares importance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no action needed.
    Info,
    /// A small cost; fix when convenient.
    Low,
    /// A noticeable cost to the workload.
    Medium,
    /// A large share of the workload's time, or a risk to it.
    High,
    /// Hurting the database now.
    Critical,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in options and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_by_importance_and_name_themselves() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        for severity in Severity::ALL {
            let json = serde_json::to_string(&severity).unwrap();
            assert_eq!(json, format!("\"{}\"", severity.as_str()));
        }
    }
}
