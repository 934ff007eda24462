//! Query facts: what a statement's text says about the tables and columns it
//! uses (filled in by `optidb-fingerprint`).
