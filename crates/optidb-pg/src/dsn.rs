//! Takes the TLS options out of a connection string: tokio-postgres knows
//! only `sslmode` disable/prefer/require and none of `sslrootcert`,
//! `sslcert`, `sslkey`, so optidb handles those itself ([`crate::tls`]).

/// The options taken out.
pub(crate) const TLS_OPTIONS: &[&str] = &["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// A connection string without its TLS options, and those options.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split {
    /// The rest of the string, in the same syntax.
    pub rest: String,
    /// The TLS options found, as (name, value).
    pub tls: Vec<(String, String)>,
}

/// Splits a `postgres://` URL or a `key=value` string.
pub(crate) fn split(dsn: &str) -> Result<Split, String> {
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        Ok(split_url(dsn))
    } else {
        split_key_value(dsn)
    }
}

fn split_url(url: &str) -> Split {
    let Some((base, query)) = url.split_once('?') else {
        return Split {
            rest: url.to_string(),
            tls: Vec::new(),
        };
    };
    let mut kept = Vec::new();
    let mut tls = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        if TLS_OPTIONS.contains(&key.as_str()) {
            tls.push((key, percent_decode(value)));
        } else {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Split { rest, tls }
}

fn split_key_value(text: &str) -> Result<Split, String> {
    let mut kept = Vec::new();
    let mut tls = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            return Err(format!("option {key:?} has no `=value`"));
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("the value of {key:?} has no closing quote")),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        if let Some(next) = chars.get(i + 1) {
                            value.push(*next);
                        }
                        i += 2;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        let raw: String = chars[start..i].iter().collect();
        if TLS_OPTIONS.contains(&key.as_str()) {
            tls.push((key, value));
        } else {
            kept.push(raw);
        }
    }
    Ok(Split {
        rest: kept.join(" "),
        tls,
    })
}

/// Decodes `%XX` escapes (and leaves malformed ones as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn urls_lose_their_tls_options() {
        let url = split("postgres://u:p@h:5432/d?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem").unwrap();
        assert_eq!(url.rest, "postgres://u:p@h:5432/d?application_name=x");
        assert_eq!(
            url.tls,
            pairs(&[("sslmode", "verify-full"), ("sslrootcert", "/tmp/ca.pem")])
        );
        let plain = split("postgresql://h/d?sslmode=require").unwrap();
        assert_eq!(plain.rest, "postgresql://h/d");
    }

    #[test]
    fn key_value_strings_lose_their_tls_options() {
        let pairs_split = split("host=h  password='a b\\'c' sslmode = verify-ca sslrootcert='/my certs/ca.pem' dbname=d").unwrap();
        assert_eq!(pairs_split.rest, "host=h password='a b\\'c' dbname=d");
        assert_eq!(
            pairs_split.tls,
            pairs(&[
                ("sslmode", "verify-ca"),
                ("sslrootcert", "/my certs/ca.pem")
            ])
        );
    }

    #[test]
    fn malformed_key_value_strings_are_errors() {
        assert!(split("host").is_err());
        assert!(split("host='unclosed").is_err());
    }
}
