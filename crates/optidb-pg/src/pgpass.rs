//! `~/.pgpass` (or `PGPASSFILE`): passwords looked up the way libpq does.
//!
//! Each line is `hostname:port:database:username:password`; `*` matches
//! anything, `\:` and `\\` escape, `#` starts a comment, the first match
//! wins. A file readable by group or others is ignored, as libpq does.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What a connection needs a password for.
pub(crate) struct PgpassKey<'a> {
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The outcome of a lookup.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A matching line's password.
    Found(String),
    /// No file, or no matching line.
    NotFound,
    /// The file exists but is readable by others: ignored, with the fix.
    Ignored(String),
}

pub(crate) fn lookup(path: &Path, key: &PgpassKey<'_>) -> Lookup {
    let Ok(metadata) = std::fs::metadata(path) else {
        return Lookup::NotFound;
    };
    if metadata.permissions().mode() & 0o077 != 0 {
        return Lookup::Ignored(format!(
            "password file {} is readable by group or others and was ignored: chmod 0600 it",
            path.display()
        ));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => find(&text, key).map_or(Lookup::NotFound, Lookup::Found),
        Err(_) => Lookup::NotFound,
    }
}

/// The password of the first line matching `key`.
fn find(text: &str, key: &PgpassKey<'_>) -> Option<String> {
    let port = key.port.to_string();
    let wanted = [key.host, port.as_str(), key.database, key.user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let fields = split(line);
            (fields.len() == 5).then_some(fields)
        })
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(pattern, value)| pattern == "*" || pattern == value)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// Splits a line at unescaped colons, unescaping `\:` and `\\`.
fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            // The password is the rest of the line, colons included.
            ':' if fields.len() < 5 => fields.push(String::new()),
            other => {
                if let Some(field) = fields.last_mut() {
                    field.push(other);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn key<'a>(host: &'a str, database: &'a str, user: &'a str) -> PgpassKey<'a> {
        PgpassKey {
            host,
            port: 5432,
            database,
            user,
        }
    }

    const FILE: &str = "# comment\n\
        db.example:5432:shop:app:s3cret\n\
        *:5432:*:reporting:with\\:colon\n\
        db.example:*:*:*:fallback\n\
        *:*:*:weird:pass:with:colons\n";

    #[test]
    fn the_first_matching_line_wins() {
        assert_eq!(
            find(FILE, &key("db.example", "shop", "app")).as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            find(FILE, &key("db.example", "other", "app")).as_deref(),
            Some("fallback")
        );
        assert_eq!(
            find(FILE, &key("elsewhere", "x", "reporting")).as_deref(),
            Some("with:colon")
        );
        assert_eq!(
            find(FILE, &key("elsewhere", "x", "weird")).as_deref(),
            Some("pass:with:colons")
        );
        assert_eq!(find(FILE, &key("elsewhere", "x", "nobody")), None);
    }

    #[test]
    fn a_file_readable_by_others_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(FILE.as_bytes()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            lookup(&path, &key("db.example", "shop", "app")),
            Lookup::Ignored(_)
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            lookup(&path, &key("db.example", "shop", "app")),
            Lookup::Found("s3cret".into())
        );
        assert_eq!(
            lookup(&dir.path().join("missing"), &key("h", "d", "u")),
            Lookup::NotFound
        );
    }
}
