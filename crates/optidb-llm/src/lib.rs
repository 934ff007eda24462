//! Optional LLM support over any OpenAI-compatible API: plain-English
//! explanations grounded in numbered facts, and query rewrites that are shown
//! only once verified on a sandbox.
//!
//! Owns: redaction (only normalized SQL and schema facts leave the machine),
//! grounding checks on answers, the response cache.
//!
//! Must not: send literals, parameter values, DSNs, passwords or host names;
//! make a scan fail because the model did.
