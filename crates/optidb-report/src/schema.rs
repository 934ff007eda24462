//! The JSON Schema of every document optidb writes, generated from the
//! output types: `docs/json-schema.json` is this, and a test fails when it
//! drifts.

use schemars::schema_for;
use serde_json::json;

use crate::{
    AppliedReport, AskReport, BottlenecksReport, ExplainReport, HistoryReport, RealReport,
    RolledBackReport, SCHEMA_VERSION, ScanReport, SelectionReport, SimulateReport, StatementDetail,
    VerifyReport,
};

/// One JSON Schema document describing each output (`optidb scan`,
/// `optidb bottlenecks`, `optidb bottlenecks --id`, `optidb simulate`), keyed by command.
pub fn json_schema() -> serde_json::Value {
    json!({
        "$comment": "Generated from crates/optidb-report by `cargo test -p optidb-report` (UPDATE_SCHEMA=1 to rewrite). Do not edit.",
        "schema_version": SCHEMA_VERSION,
        "outputs": {
            "scan": schema_for!(ScanReport),
            "bottlenecks": schema_for!(BottlenecksReport),
            "bottlenecks --id": schema_for!(StatementDetail),
            "simulate": schema_for!(SimulateReport),
            "simulate --workload": schema_for!(SelectionReport),
            "simulate --real": schema_for!(RealReport),
            "apply": schema_for!(AppliedReport),
            "history": schema_for!(HistoryReport),
            "rollback": schema_for!(RolledBackReport),
            "verify": schema_for!(VerifyReport),
            "explain": schema_for!(ExplainReport),
            "ask": schema_for!(AskReport),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_json_schema_is_up_to_date() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json-schema.json");
        let generated = format!("{:#}\n", json_schema());
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/json-schema.json is stale: UPDATE_SCHEMA=1 cargo test -p optidb-report"
        );
    }
}
