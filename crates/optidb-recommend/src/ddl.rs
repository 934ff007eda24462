//! SQL text: quoted identifiers, deterministic index names, the DDL and
//! its rollback.

pub(crate) use optidb_model::sql::qualified;
pub use optidb_model::sql::quote_ident;
use optidb_model::{IndexKeySpec, IndexSpec};

/// PostgreSQL truncates identifiers to 63 bytes.
const MAX_IDENTIFIER: usize = 63;

/// Every index optidb names starts with this, so that a failed build can
/// be recognised (and cleaned up) as optidb's own.
pub const INDEX_PREFIX: &str = "optidb_";

/// A deterministic name for an index: `optidb_<table>_<keys>_idx`, with an
/// 8-hex-digit hash of the whole definition when it must be shortened.
pub fn index_name(spec: &IndexSpec) -> String {
    let keys: Vec<String> = spec.keys.iter().map(|key| slug(&key_text(key))).collect();
    let mut name = format!("{INDEX_PREFIX}{}_{}", slug(&spec.table), keys.join("_"));
    if spec.method != "btree" {
        name.push('_');
        name.push_str(&slug(&spec.method));
    }
    name.push_str("_idx");
    if name.len() > MAX_IDENTIFIER {
        let hash = format!("{:08x}", fnv1a(&create_index(spec, &name)) as u32);
        let mut cut = MAX_IDENTIFIER - hash.len() - 1;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}_{hash}", &name[..cut]);
    }
    name
}

/// `CREATE INDEX CONCURRENTLY IF NOT EXISTS "name" ON …`.
pub(crate) fn create_index(spec: &IndexSpec, name: &str) -> String {
    format!(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} {}",
        quote_ident(name),
        spec.definition()
    )
}

/// `DROP INDEX CONCURRENTLY IF EXISTS "schema"."name"`.
pub(crate) fn drop_index(schema: &str, name: &str) -> String {
    format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}",
        qualified(schema, name)
    )
}

/// An index definition as `pg_get_indexdef` prints it, made concurrent and
/// idempotent: how a dropped index is rebuilt.
pub(crate) fn recreate_index(definition: &str) -> String {
    for (plain, concurrent) in [
        (
            "CREATE UNIQUE INDEX ",
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ",
        ),
        ("CREATE INDEX ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS "),
    ] {
        if let Some(rest) = definition.strip_prefix(plain) {
            return format!("{concurrent}{rest}");
        }
    }
    definition.to_string()
}

fn key_text(key: &IndexKeySpec) -> String {
    key.expression.clone().unwrap_or_else(|| key.column.clone())
}

/// Lowercase letters, digits and single underscores.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// FNV-1a, 64 bits: a stable hash for names and ids (std's hasher is not
/// stable across releases).
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(table: &str, keys: &[&str]) -> IndexSpec {
        IndexSpec {
            schema: "public".into(),
            table: table.into(),
            method: "btree".into(),
            keys: keys.iter().map(|k| IndexKeySpec::column(k)).collect(),
            include: Vec::new(),
            predicate: None,
        }
    }

    #[test]
    fn names_are_deterministic_readable_and_short_enough() {
        assert_eq!(
            index_name(&spec("orders", &["user_id", "created_at"])),
            "optidb_orders_user_id_created_at_idx"
        );
        let mut lower = spec("users", &["email"]);
        lower.keys[0].expression = Some("lower(email)".into());
        assert_eq!(index_name(&lower), "optidb_users_lower_email_idx");
        let long = spec(
            "a_table_with_a_rather_long_name",
            &["first_long_column", "second_long_column"],
        );
        let name = index_name(&long);
        assert!(name.len() <= 63, "{name}");
        assert_eq!(name, index_name(&long), "stable");
    }

    #[test]
    fn ddl_quotes_identifiers_and_is_concurrent() {
        let mut trgm = spec("products", &["description"]);
        trgm.method = "gin".into();
        trgm.keys[0].opclass = Some("gin_trgm_ops".into());
        let name = index_name(&trgm);
        assert_eq!(
            create_index(&trgm, &name),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_products_description_gin_idx\" ON \"public\".\"products\" USING gin (\"description\" gin_trgm_ops)"
        );
        assert_eq!(
            drop_index("public", "Odd\"Name"),
            "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"Odd\"\"Name\""
        );
        assert_eq!(
            recreate_index("CREATE UNIQUE INDEX a ON public.t USING btree (x)"),
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS a ON public.t USING btree (x)"
        );
    }
}
