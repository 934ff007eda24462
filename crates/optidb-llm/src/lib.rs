//! Optional LLM support over any OpenAI-compatible API: plain-English
//! explanations grounded in numbered facts, and query rewrites that are shown
//! only once verified on a sandbox.
//!
//! Owns: redaction (only normalized SQL and schema facts leave the machine),
//! grounding checks on answers, the response cache.
//!
//! Must not: send literals, parameter values, DSNs, passwords or host names;
//! make a scan fail because the model did.
//!
//! The pieces, in the order a request goes through them:
//!
//! 1. [`LlmConfig::from_lookup`] decides whether the model is on at all
//!    (the binary passes `std::env::var`; this crate never reads the
//!    environment).
//! 2. [`facts`] turns a finding or a recommendation into numbered
//!    [`Fact`]s: normalized SQL, evidence numbers, table, index and plan node
//!    names; never raw statement text.
//! 3. [`Explainer::explain`] builds the prompt, checks the exact request body
//!    with the [`Redactor`] (a hit is an error and nothing is sent), serves
//!    it from the [`cache`] or sends it within the request budget, the
//!    concurrency cap and the timeout.
//! 4. [`grounding::check`] accepts an answer only when every sentence cites
//!    known facts and every number in it appears in those facts; a rejected
//!    answer is retried once, then dropped.
//!
//! Every failure is an [`LlmError`]: the caller says so once and falls back
//! to the template rationale.

pub mod cache;
mod client;
mod config;
mod error;
pub mod facts;
pub mod grounding;
pub mod redact;

pub use client::Explainer;
pub use config::{CacheConfig, DEFAULT_BASE_URL, LlmConfig};
pub use error::LlmError;
pub use facts::{Fact, FactSheet};
pub use grounding::{Answer, Explanation, Proposal, Sentence};
pub use redact::Redactor;
