//! Generic EXPLAIN plans of the top statements.
