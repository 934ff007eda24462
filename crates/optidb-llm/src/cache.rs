//! The on-disk response cache: one file per accepted answer, keyed by a
//! SHA-256 of the model and the prompt, valid for a time-to-live, the
//! oldest evicted beyond a size cap.
//!
//! The cache is best effort: an entry that cannot be read is a miss, and an
//! answer that cannot be stored is still returned.

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::CacheConfig;

/// The cache key of a prompt sent to a model: 64 hex digits.
pub fn key(model: &str, prompt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(model.as_bytes());
    hasher.update([0]);
    hasher.update(prompt.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A response cache in one directory.
#[derive(Debug, Clone)]
pub struct DiskCache {
    config: CacheConfig,
}

impl DiskCache {
    /// The cache `config` describes (its directory is created on first store).
    pub fn new(config: CacheConfig) -> Self {
        DiskCache { config }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.config.dir.join(format!("{key}.json"))
    }

    /// The entry stored under `key`, unless it is missing, unreadable or
    /// older than the time-to-live (then it is deleted).
    pub fn get(&self, key: &str) -> Option<String> {
        let path = self.path(key);
        let modified = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        let age = SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default();
        if age > self.config.ttl {
            let _ = fs::remove_file(&path);
            return None;
        }
        fs::read_to_string(&path).ok()
    }

    /// Stores `value` under `key`, then evicts the oldest entries while the
    /// cache holds more than its size cap.
    pub fn put(&self, key: &str, value: &str) -> std::io::Result<()> {
        fs::create_dir_all(&self.config.dir)?;
        let temporary = self.config.dir.join(format!(".{key}.tmp"));
        fs::write(&temporary, value)?;
        fs::rename(&temporary, self.path(key))?;
        self.evict()
    }

    fn evict(&self) -> std::io::Result<()> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(&self.config.dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let metadata = entry.metadata()?;
                entries.push((metadata.modified()?, metadata.len(), path));
            }
        }
        entries.sort();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        for (_, len, path) in entries {
            if total <= self.config.max_bytes {
                break;
            }
            fs::remove_file(path)?;
            total -= len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cache(dir: &std::path::Path, ttl: Duration, max_bytes: u64) -> DiskCache {
        DiskCache::new(CacheConfig {
            dir: dir.join("llm"),
            ttl,
            max_bytes,
        })
    }

    #[test]
    fn keys_depend_on_model_and_prompt() {
        assert_eq!(key("m", "p"), key("m", "p"));
        assert_ne!(key("m", "p"), key("n", "p"));
        assert_ne!(key("mp", ""), key("m", "p"));
        assert_eq!(key("m", "p").len(), 64);
    }

    #[test]
    fn stores_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = cache(dir.path(), Duration::from_secs(3600), 1 << 20);
        assert_eq!(fresh.get("k"), None);
        fresh.put("k", "v").unwrap();
        assert_eq!(fresh.get("k").as_deref(), Some("v"));
        let expired = cache(dir.path(), Duration::ZERO, 1 << 20);
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(expired.get("k"), None);
        assert_eq!(fresh.get("k"), None, "an expired entry is deleted");
    }

    #[test]
    fn evicts_the_oldest_beyond_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path(), Duration::from_secs(3600), 25);
        cache.put("a", &"x".repeat(10)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        cache.put("b", &"y".repeat(10)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        cache.put("c", &"z".repeat(10)).unwrap();
        assert_eq!(cache.get("a"), None);
        assert!(cache.get("b").is_some());
        assert!(cache.get("c").is_some());
    }
}
