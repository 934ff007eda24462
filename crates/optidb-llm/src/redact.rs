//! The last line of defence: no request leaves with a literal or a credential.

use crate::LlmError;

/// Strings shorter than this are not checked: they would match everywhere
/// and identify nothing.
pub const MIN_FORBIDDEN_LEN: usize = 4;

/// A list of strings no request body may contain: the literals seen in the
/// workload, the DSN's host and password. [`crate::Explainer`] checks every
/// request body with it before sending; a hit is [`LlmError::Redaction`]
/// and nothing is sent.
#[derive(Clone, Default)]
pub struct Redactor {
    forbidden: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The list is exactly what must never be shown.
        f.debug_struct("Redactor")
            .field("forbidden", &self.forbidden.len())
            .finish()
    }
}

impl Redactor {
    /// Forbids nothing yet.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Forbids `text` (ignored when shorter than [`MIN_FORBIDDEN_LEN`]
    /// characters, after trimming).
    pub fn forbid(&mut self, text: &str) {
        let text = text.trim();
        if text.chars().count() >= MIN_FORBIDDEN_LEN && !self.forbidden.iter().any(|f| f == text) {
            self.forbidden.push(text.to_string());
        }
    }

    /// Forbids every constant in `sql` (string, numeric, bit and hex
    /// literals, found by PostgreSQL's own scanner). A text the scanner
    /// rejects is forbidden whole.
    pub fn forbid_literals_of(&mut self, sql: &str) {
        for literal in literals(sql) {
            self.forbid(&literal);
        }
    }

    /// Forbids the host names and password in a connection string, URL
    /// (`postgres://user:password@host:port/db`) or key/value
    /// (`host=… password=…`), and the string itself.
    pub fn forbid_dsn(&mut self, dsn: &str) {
        self.forbid(dsn);
        if let Some(rest) = dsn
            .strip_prefix("postgresql://")
            .or_else(|| dsn.strip_prefix("postgres://"))
        {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let (userinfo, hosts) = match authority.rsplit_once('@') {
                Some((userinfo, hosts)) => (Some(userinfo), hosts),
                None => (None, authority),
            };
            if let Some((_, password)) = userinfo.and_then(|u| u.split_once(':')) {
                self.forbid(password);
            }
            for host in hosts.split(',') {
                let host = host.trim_start_matches('[');
                let host = match host.rsplit_once(']') {
                    Some((v6, _)) => v6,
                    None => host.split(':').next().unwrap_or_default(),
                };
                self.forbid(host);
            }
            if let Some((_, query)) = rest.split_once('?') {
                for pair in query.split('&') {
                    if let Some((key, value)) = pair.split_once('=')
                        && matches!(key, "host" | "hostaddr" | "password")
                    {
                        self.forbid(value);
                    }
                }
            }
        } else {
            for pair in dsn.split_whitespace() {
                if let Some((key, value)) = pair.split_once('=')
                    && matches!(key.trim(), "host" | "hostaddr" | "password")
                {
                    for part in value.trim_matches('\'').split(',') {
                        self.forbid(part);
                    }
                }
            }
        }
    }

    /// How many strings are forbidden.
    pub fn len(&self) -> usize {
        self.forbidden.len()
    }

    /// Whether nothing is forbidden.
    pub fn is_empty(&self) -> bool {
        self.forbidden.is_empty()
    }

    /// Checks a request body: an error names the first forbidden string
    /// found (by position, never by content). Strings are looked for both as
    /// they are and JSON-escaped.
    pub fn check(&self, body: &str) -> Result<(), LlmError> {
        for (index, text) in self.forbidden.iter().enumerate() {
            let escaped = serde_json::to_string(text).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            if body.contains(text.as_str()) || body.contains(escaped) {
                return Err(LlmError::Redaction { index });
            }
        }
        Ok(())
    }
}

/// The constants in `sql`, as they would read unquoted; the whole text when
/// the scanner rejects it.
fn literals(sql: &str) -> Vec<String> {
    use pg_query::protobuf::Token;
    // `scan`, not `scan_tokens`: the latter builds a slice from a null
    // pointer when a text has no token at all (empty, or only a comment).
    let Ok(scanned) = pg_query::scan(sql) else {
        return vec![sql.to_string()];
    };
    scanned
        .tokens
        .iter()
        .filter(|token| {
            [
                Token::Sconst,
                Token::Iconst,
                Token::Fconst,
                Token::Bconst,
                Token::Xconst,
            ]
            .iter()
            .any(|kind| *kind as i32 == token.token)
        })
        .filter_map(|token| sql.get(token.start as usize..token.end as usize))
        .map(unquote)
        .collect()
}

fn unquote(literal: &str) -> String {
    let body = literal.trim_start_matches(['E', 'e', 'B', 'b', 'X', 'x']);
    match body.strip_prefix('\'').and_then(|b| b.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => literal.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_literals_of_a_statement() {
        let mut redactor = Redactor::new();
        redactor.forbid_literals_of(
            "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 987654321 AND n = 1.5e3 AND s = E'it''s ok'",
        );
        assert!(redactor.check("where email = $1").is_ok());
        assert!(redactor.check("mail alice@example.com").is_err());
        assert!(redactor.check("id 987654321").is_err());
        assert!(redactor.check("n 1.5e3").is_err());
        assert!(redactor.check("it's ok").is_err());
    }

    #[test]
    fn texts_without_tokens_hold_no_literal() {
        let mut redactor = Redactor::new();
        for text in ["", "/* only a comment */"] {
            redactor.forbid_literals_of(text);
        }
        assert!(redactor.is_empty());
    }

    #[test]
    fn short_strings_are_ignored() {
        let mut redactor = Redactor::new();
        redactor.forbid_literals_of("SELECT 1, 'ab'");
        assert!(redactor.is_empty());
    }

    #[test]
    fn finds_hosts_and_passwords_in_dsns() {
        let mut redactor = Redactor::new();
        redactor
            .forbid_dsn("postgres://app:hunter22@db.internal.example:5432/shop?sslmode=require");
        redactor.forbid_dsn("host=replica.example password='s3cr3tpw' dbname=shop");
        for secret in [
            "hunter22",
            "db.internal.example",
            "replica.example",
            "s3cr3tpw",
        ] {
            assert!(
                matches!(
                    redactor.check(&format!("x {secret} y")),
                    Err(LlmError::Redaction { .. })
                ),
                "{secret}"
            );
        }
        assert!(redactor.check("shop orders").is_ok());
    }

    #[test]
    fn json_escaped_forms_are_caught() {
        let mut redactor = Redactor::new();
        redactor.forbid("say \"hi\" now");
        let body = serde_json::to_string("we say \"hi\" now").unwrap();
        assert!(redactor.check(&body).is_err());
    }

    #[test]
    fn errors_never_show_the_secret() {
        let mut redactor = Redactor::new();
        redactor.forbid("hunter22");
        let message = redactor.check("hunter22").unwrap_err().to_string();
        assert!(!message.contains("hunter22"), "{message}");
    }
}
