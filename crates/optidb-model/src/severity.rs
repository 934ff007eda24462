//! How much a finding matters.

use serde::{Deserialize, Serialize};

/// How much a finding matters, least first (so `>=` compares importance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no action needed now.
    Info,
    /// Costs the workload noticeable time, or will: fix it.
    Warning,
    /// A large share of the workload's time, or a risk to it: fix it first.
    Critical,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    /// The lowercase name used in options, configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_by_importance_and_name_themselves() {
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
        for severity in Severity::ALL {
            let json = serde_json::to_string(&severity).unwrap();
            assert_eq!(json, format!("\"{}\"", severity.as_str()));
        }
    }
}
