//! What optidb shows: versioned output types (a contract for CI pipelines
//! and other tools) and their renderers (a terminal table, JSON).
//!
//! Owns: the shape of every output and how it is rendered. Output types are
//! separate from the model's types, so the model can change without
//! breaking anyone who parses optidb's JSON; every document carries
//! [`SCHEMA_VERSION`].
//!
//! Must not: print, or compute findings. It renders what it is given into
//! strings; the binary decides where they go.

mod bottlenecks;
mod changes;
mod explanation;
mod format;
mod plan_facts;
mod plan_tree;
mod scan;
mod schema;
mod simulate;
mod statement_detail;
mod workload;

pub use bottlenecks::{BottleneckEntry, BottlenecksReport, WorkloadSummary};
pub use changes::{
    AppliedReport, ChangeEntry, HistoryReport, RolledBackReport, VerifiedEntry, VerifyReport,
};
pub use explanation::{
    AskReport, CitedSentence, ExplainReport, ExplanationEntry, FactEntry, ProposedIndexEntry,
    RewriteEntry,
};
pub use format::{OutputFormat, TableStyle, TableWidth};
pub use plan_tree::render_plan;
pub use scan::{
    EvidenceEntry, FindingEntry, RecommendationEntry, RiskEntry, ScanReport, ScanSummary,
    SimulationEntry, SimulationSummary, StatementEffectEntry, finding_entry, simulation_entry,
};
pub use schema::json_schema;
pub use simulate::{CandidateEntry, EffectEntry, SimulateReport};
pub use statement_detail::{StatementDetail, StatementIo};
pub use workload::{
    ChosenIndex, CopiedTableEntry, MeasuredEntry, RealReport, ReasonedItem, SelectionReport,
};

/// Every document optidb writes: a table for people, JSON for tools.
pub trait Document: serde::Serialize {
    /// The document for a terminal.
    fn to_table(&self, style: TableStyle) -> String;

    /// The document as pretty-printed JSON (shape described by
    /// [`json_schema`]).
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// Version of the JSON output's shape. Bumped on any incompatible change;
/// fields may be added without a bump.
pub const SCHEMA_VERSION: u32 = 1;
