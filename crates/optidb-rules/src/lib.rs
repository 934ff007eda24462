//! optidb's rules: pure functions that read a [`Snapshot`](https://docs.rs/optidb-model)
//! and emit findings, each with a stable code (`OPT001`…), a severity and the
//! numbers behind it.
//!
//! Owns: the closed registry of rules, one module per rule with its
//! documentation and its firing and not-firing tests.
//!
//! Must not: do any I/O (no database, no files, no clock, no environment) or
//! depend on a runtime. Everything a rule needs is in the snapshot; this keeps
//! rules deterministic and lets a saved snapshot be analysed offline.
//! CI checks that this crate never links a database driver.
//!
//! The rules themselves arrive with the rules issue; this crate exists now so
//! the architecture and its invariants are in place from the start.
