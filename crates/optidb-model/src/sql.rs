//! SQL text every crate writes alike: quoted identifiers and an index's
//! definition. Pure: building text is not running it.

use crate::{IndexKeySpec, IndexSpec};

/// An identifier as SQL: double-quoted, inner quotes doubled. Always
/// quoted, so reserved words and mixed case need no special cases.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

impl IndexSpec {
    /// What follows `CREATE INDEX [name]`: `ON "schema"."table" USING
    /// method (keys) [INCLUDE (…)] [WHERE …]`, identifiers quoted.
    pub fn definition(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(key_sql).collect();
        let mut sql = format!(
            "ON {} USING {} ({})",
            qualified(&self.schema, &self.table),
            self.method,
            keys.join(", ")
        );
        if !self.include.is_empty() {
            let include: Vec<String> = self.include.iter().map(|c| quote_ident(c)).collect();
            sql.push_str(&format!(" INCLUDE ({})", include.join(", ")));
        }
        if let Some(predicate) = &self.predicate {
            sql.push_str(&format!(" WHERE {predicate}"));
        }
        sql
    }
}

/// One key: a quoted column or a parenthesized expression, then its
/// operator class and `DESC`.
fn key_sql(key: &IndexKeySpec) -> String {
    let mut sql = match &key.expression {
        Some(expression) => format!("({expression})"),
        None => quote_ident(&key.column),
    };
    if let Some(opclass) = &key.opclass {
        sql.push(' ');
        sql.push_str(opclass);
    }
    if key.descending {
        sql.push_str(" DESC");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(quote_ident("users"), "\"users\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(qualified("public", "Order"), "\"public\".\"Order\"");
    }

    #[test]
    fn an_index_definition_holds_every_part() {
        let spec = IndexSpec {
            schema: "public".into(),
            table: "orders".into(),
            method: "btree".into(),
            keys: vec![
                IndexKeySpec::column("user_id"),
                IndexKeySpec {
                    descending: true,
                    ..IndexKeySpec::column("created_at")
                },
                IndexKeySpec {
                    expression: Some("lower(email)".into()),
                    opclass: Some("text_pattern_ops".into()),
                    ..IndexKeySpec::column("email")
                },
            ],
            include: vec!["total".into()],
            predicate: Some("status = 'open'".into()),
        };
        assert_eq!(
            spec.definition(),
            "ON \"public\".\"orders\" USING btree (\"user_id\", \"created_at\" DESC, (lower(email)) text_pattern_ops) INCLUDE (\"total\") WHERE status = 'open'"
        );
    }
}
