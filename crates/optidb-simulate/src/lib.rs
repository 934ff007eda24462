//! Proves recommendations before they are applied: HypoPG what-if costing of
//! every affected statement, workload-level index selection, and a real-mode
//! benchmark on a throwaway copy from `optidb-sandbox`.
//!
//! Owns: hypothetical index sessions (always reset afterwards), the what-if
//! cost cache, the selection algorithms and their guards (timeouts, budgets).
//!
//! Must not: write to the target database. Hypothetical indexes live only in
//! one session's memory; real indexes are only ever built on a sandbox copy.
