//! Proves recommendations before they are applied: HypoPG what-if costing of
//! every affected statement ([`what_if`]), and, later, workload-level index
//! selection and a real-mode benchmark on a throwaway copy from
//! `optidb-sandbox`.
//!
//! Owns: hypothetical index sessions (always reset afterwards), cost
//! comparison and plan diffs.
//!
//! Must not: write to the target database. Hypothetical indexes live only
//! in one session's memory (HypoPG), and work in a read-only session.

mod error;
mod plan_diff;
pub mod real;
mod recommendations;
pub mod selection;
mod whatif;

pub use error::Error;
pub use recommendations::{MIN_IMPROVEMENT, Proven, prove};
pub use whatif::{Hypopg, WhatIf, WhatIfOptions, hypopg, what_if};
