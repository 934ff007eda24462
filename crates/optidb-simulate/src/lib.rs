//! Proves recommendations before they are applied: HypoPG what-if costing of
//! every affected statement ([`what_if`], [`prove`]), workload-level index
//! selection ([`selection`]: greedy with index interactions under a storage
//! budget and an index cap, a what-if cache, exhaustive search for small
//! candidate sets), and a real-mode benchmark on a sampled copy in a
//! throwaway cluster from `optidb-sandbox` ([`real`]).
//!
//! Owns: hypothetical index sessions (always reset afterwards), cost
//! comparison and plan diffs, the selection algorithms and their guards
//! (per-EXPLAIN timeouts, a total time budget), sandbox copies.
//!
//! Must not: write to the target database. Hypothetical indexes live only
//! in one session's memory (HypoPG), and work in a read-only session; real
//! indexes are only ever built on a sandbox copy, which real mode refuses
//! to place in the target database.

mod error;
mod plan_diff;
pub mod real;
mod recommendations;
pub mod selection;
mod whatif;

pub use error::Error;
pub use recommendations::{MIN_IMPROVEMENT, Proven, prove};
pub use whatif::{Hypopg, WhatIf, WhatIfOptions, hypopg, what_if};
