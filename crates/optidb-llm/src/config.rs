//! When the model is on, and how it is reached.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::LlmError;

/// The default endpoint when `OPTIDB_LLM_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// How optidb reaches the model. Built by [`LlmConfig::from_lookup`]; the
/// binary overrides the limits from its flags (`--no-cache` sets `cache` to
/// `None`).
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// The OpenAI-compatible API's base URL, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The model, e.g. `gpt-4o-mini`.
    pub model: String,
    /// The API key; `None` for endpoints that need none. Never printed.
    pub api_key: Option<String>,
    /// Azure OpenAI's `api-version`: when set, the endpoint is Azure's
    /// (`{base_url}/openai/deployments/{model}/chat/completions?api-version=…`,
    /// the key in an `api-key` header) and `model` is the deployment.
    pub api_version: Option<String>,
    /// How long one request may take.
    pub timeout: Duration,
    /// How many HTTP requests one run may make (retries included, cache hits not).
    pub max_requests: usize,
    /// How many requests may be in flight at once.
    pub max_concurrency: usize,
    /// The response cache; `None` disables it.
    pub cache: Option<CacheConfig>,
}

/// Where and how long responses are cached.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// The cache directory (created when needed).
    pub dir: PathBuf,
    /// How long an entry stays valid.
    pub ttl: Duration,
    /// The most the entries may take together; the oldest go first.
    pub max_bytes: u64,
}

impl LlmConfig {
    /// The default request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default request budget per run.
    pub const DEFAULT_MAX_REQUESTS: usize = 20;
    /// The default concurrency cap.
    pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
    /// The default cache time-to-live: a week.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    /// The default cache size cap: 16 MiB.
    pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

    /// The configuration the variables looked up by `lookup` describe,
    /// `Ok(None)` (the model is off) unless `OPTIDB_LLM_MODEL` is set: an
    /// `OPENAI_API_KEY` alone never turns it on. An error when a value
    /// cannot work (a base URL that is not http(s), a key that cannot be
    /// sent in a header).
    ///
    /// Reads `OPTIDB_LLM_MODEL`, `OPTIDB_LLM_BASE_URL` (default
    /// [`DEFAULT_BASE_URL`]), `OPENAI_API_KEY`, `OPTIDB_LLM_API_VERSION`
    /// (Azure OpenAI), and for the cache directory `OPTIDB_LLM_CACHE_DIR`,
    /// else `$OPTIDB_CACHE_DIR/llm`, else `$XDG_CACHE_HOME/optidb/llm`,
    /// else `$HOME/.cache/optidb/llm` (no cache when none is set). Empty
    /// values count as unset. The binary passes `|name| std::env::var(name).ok()`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<LlmConfig>, LlmError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let Some(model) = get("OPTIDB_LLM_MODEL") else {
            return Ok(None);
        };
        let base_url = get("OPTIDB_LLM_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(LlmError::Config(format!(
                "OPTIDB_LLM_BASE_URL must be an http:// or https:// URL, like {DEFAULT_BASE_URL} or http://localhost:11434/v1 (Ollama)"
            )));
        }
        let api_key = get("OPENAI_API_KEY");
        if api_key
            .as_deref()
            .is_some_and(|key| !key.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(LlmError::Config(
                "OPENAI_API_KEY holds spaces or characters an HTTP header cannot carry: check how it was pasted".into(),
            ));
        }
        let cache_dir = get("OPTIDB_LLM_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| get("OPTIDB_CACHE_DIR").map(|dir| PathBuf::from(dir).join("llm")))
            .or_else(|| get("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("optidb/llm")))
            .or_else(|| get("HOME").map(|dir| PathBuf::from(dir).join(".cache/optidb/llm")));
        Ok(Some(LlmConfig {
            base_url,
            model,
            api_key,
            api_version: get("OPTIDB_LLM_API_VERSION"),
            timeout: Self::DEFAULT_TIMEOUT,
            max_requests: Self::DEFAULT_MAX_REQUESTS,
            max_concurrency: Self::DEFAULT_MAX_CONCURRENCY,
            cache: cache_dir.map(|dir| CacheConfig {
                dir,
                ttl: Self::DEFAULT_CACHE_TTL,
                max_bytes: Self::DEFAULT_CACHE_BYTES,
            }),
        }))
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("max_requests", &self.max_requests)
            .field("max_concurrency", &self.max_concurrency)
            .field("cache", &self.cache)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn off_unless_a_model_is_named() {
        let off = |vars: &[(&str, &str)]| LlmConfig::from_lookup(lookup(vars)).unwrap();
        assert_eq!(off(&[]), None);
        assert_eq!(off(&[("OPENAI_API_KEY", "sk-x")]), None);
        assert_eq!(off(&[("OPTIDB_LLM_MODEL", " ")]), None);
    }

    #[test]
    fn reads_the_documented_variables() {
        let config = LlmConfig::from_lookup(lookup(&[
            ("OPTIDB_LLM_MODEL", "m"),
            ("OPTIDB_LLM_BASE_URL", "http://127.0.0.1:1/v1"),
            ("OPENAI_API_KEY", "sk-secret"),
            ("HOME", "/home/u"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.model, "m");
        assert_eq!(config.base_url, "http://127.0.0.1:1/v1");
        assert_eq!(config.api_key.as_deref(), Some("sk-secret"));
        assert_eq!(
            config.cache.unwrap().dir,
            PathBuf::from("/home/u/.cache/optidb/llm")
        );
    }

    #[test]
    fn debug_never_shows_the_api_key() {
        let config = LlmConfig::from_lookup(lookup(&[
            ("OPTIDB_LLM_MODEL", "m"),
            ("OPENAI_API_KEY", "sk-secret"),
        ]))
        .unwrap()
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-secret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.cache, None);
    }

    #[test]
    fn cache_and_azure_settings() {
        let config = LlmConfig::from_lookup(lookup(&[
            ("OPTIDB_LLM_MODEL", "gpt-4o-deployment"),
            ("OPTIDB_LLM_BASE_URL", "https://acme.openai.azure.com"),
            ("OPTIDB_LLM_API_VERSION", "2024-10-21"),
            ("OPTIDB_CACHE_DIR", "/var/cache/optidb"),
            ("HOME", "/home/u"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.api_version.as_deref(), Some("2024-10-21"));
        assert_eq!(
            config.cache.unwrap().dir,
            PathBuf::from("/var/cache/optidb/llm")
        );
    }

    #[test]
    fn unusable_values_are_errors() {
        for vars in [
            [
                ("OPTIDB_LLM_MODEL", "m"),
                ("OPTIDB_LLM_BASE_URL", "api.openai.com"),
            ],
            [("OPTIDB_LLM_MODEL", "m"), ("OPENAI_API_KEY", "sk-a b")],
        ] {
            let error = LlmConfig::from_lookup(lookup(&vars)).unwrap_err();
            assert!(matches!(error, LlmError::Config(_)), "{error}");
        }
    }
}
