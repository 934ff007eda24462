//! The shared vocabulary of optidb: plain serde types that every other crate
//! reads or writes (the [`Snapshot`] of a database, its [`Statement`]s, …).
//!
//! Owns: the domain types shared between crates and their invariants.
//!
//! Must not: do I/O or depend on a database driver, a runtime or a renderer.
//! A snapshot is data; it can be saved as JSON and analysed offline.

mod catalog;
pub mod facts;
mod finding;
pub mod plan;
mod recommendation;
mod severity;
mod snapshot;
pub mod sql;
mod statement;
pub mod text;
pub mod time;

pub use catalog::{
    Catalog, Column, ColumnStats, Extension, ForeignKey, Index, IndexKey, LockSummary, LockWait,
    Setting, Table, TableActivity, TableKind,
};
pub use finding::{Evidence, Finding, Fix, IndexKeySpec, IndexSpec};
pub use recommendation::{
    ActionKind, Recommendation, Risk, RiskLevel, Simulation, StatementEffect,
};
pub use severity::Severity;
pub use snapshot::{
    IngestWarning, ServerInfo, Snapshot, SnapshotError, StatementStatsInfo, WorkloadTotals,
};
pub use statement::Statement;
