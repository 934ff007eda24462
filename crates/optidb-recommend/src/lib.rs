//! Turns findings into ranked recommendations: exact DDL, rollback DDL, a
//! plain-English rationale citing the evidence, a confidence and a risk.
//!
//! Owns: DDL generation (quoted identifiers, deterministic index names),
//! merging candidates so one index serves several statements, ranking.
//!
//! Must not: do any I/O or talk to a database. Proving a recommendation is
//! `optidb-simulate`'s job, running it is `optidb-apply`'s.
