//! The DDL gate: which statements optidb runs on a live database. Pure: it
//! parses with libpg_query (the server's own grammar), so comments, quoting
//! and odd spacing cannot smuggle a second statement or a different one past
//! a text match.

use pg_query::NodeEnum;
use pg_query::protobuf::{ObjectType, RangeVar};

use crate::Error;

/// A possibly schema-qualified name, as written in the DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    /// The schema, when the DDL names one.
    pub schema: Option<String>,
    /// The name.
    pub name: String,
}

impl QualifiedName {
    /// The name as SQL: each part double-quoted, so it resolves to exactly
    /// what the parser read.
    pub fn sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }

    fn from_range_var(relation: &RangeVar) -> Self {
        QualifiedName {
            schema: (!relation.schemaname.is_empty()).then(|| relation.schemaname.clone()),
            name: relation.relname.clone(),
        }
    }
}

pub(crate) use optidb_model::sql::quote_ident;

/// What one statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `CREATE EXTENSION IF NOT EXISTS pg_trgm`, before a trigram index.
    CreateExtension {
        /// The extension.
        name: String,
    },
    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON table …`.
    CreateIndex {
        /// The table.
        table: QualifiedName,
        /// The index's name (always set unless `allow_any_ddl`).
        index: Option<String>,
        /// `CONCURRENTLY` (always set unless `allow_any_ddl`).
        concurrent: bool,
    },
    /// `DROP INDEX [CONCURRENTLY] [IF EXISTS] name`.
    DropIndex {
        /// The index.
        index: QualifiedName,
        /// `IF EXISTS`.
        missing_ok: bool,
    },
    /// `ANALYZE [tables]`.
    Analyze {
        /// The tables; empty means the whole database.
        tables: Vec<QualifiedName>,
    },
    /// `VACUUM [tables]` (never `FULL` unless `allow_any_ddl`).
    Vacuum {
        /// The tables; empty means the whole database.
        tables: Vec<QualifiedName>,
    },
    /// Anything else, let through by `allow_any_ddl`.
    Other,
}

/// One statement of a DDL text that passed the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, without the separator.
    pub sql: String,
    /// What it does.
    pub kind: Kind,
}

/// Checks `ddl` and splits it into statements. Without `allow_any_ddl`,
/// accepts exactly one `CREATE [UNIQUE] INDEX CONCURRENTLY name …`,
/// `DROP INDEX CONCURRENTLY …` (one index), `ANALYZE …` or `VACUUM …` (not
/// `FULL`, which locks the table out), optionally preceded by
/// `CREATE EXTENSION IF NOT EXISTS pg_trgm` when the statement is an index
/// build. With it, anything that parses passes.
pub fn check(ddl: &str, allow_any_ddl: bool) -> Result<Vec<Statement>, Error> {
    let refuse = |reason: String| Error::NotAllowed {
        ddl: ddl.trim().to_string(),
        reason,
    };
    let parsed = pg_query::parse(ddl, 0)
        .map_err(|e| refuse(format!("it does not parse as PostgreSQL: {e}")))?;
    let mut statements = Vec::new();
    for raw in &parsed.protobuf.stmts {
        let node = raw
            .stmt
            .as_ref()
            .and_then(|node| node.node.as_ref())
            .ok_or_else(|| refuse("it holds an empty statement".into()))?;
        let sql = statement_text(ddl, raw.stmt_location, raw.stmt_len);
        let kind = classify(node, &sql, allow_any_ddl)?;
        statements.push(Statement { sql, kind });
    }
    if allow_any_ddl {
        if statements.is_empty() {
            return Err(refuse("it holds no statement".into()));
        }
        return Ok(statements);
    }
    match statements.as_slice() {
        [] => Err(refuse("it holds no statement".into())),
        [
            Statement {
                kind: Kind::CreateExtension { .. },
                ..
            },
        ] => Err(refuse(
            "CREATE EXTENSION is only accepted right before the index that needs it".into(),
        )),
        [_] => Ok(statements),
        [
            Statement {
                kind: Kind::CreateExtension { .. },
                ..
            },
            Statement {
                kind: Kind::CreateIndex { .. },
                ..
            },
        ] => Ok(statements),
        _ => Err(refuse(format!(
            "it holds {} statements; optidb runs one change at a time (only CREATE EXTENSION IF NOT EXISTS pg_trgm may precede an index): split them, or pass allow_any_ddl",
            statements.len()
        ))),
    }
}

/// The text of the statement at `location`/`len` (0 meaning "to the end"),
/// trimmed.
fn statement_text(ddl: &str, location: i32, len: i32) -> String {
    let start = usize::try_from(location).unwrap_or(0).min(ddl.len());
    let end = match usize::try_from(len) {
        Ok(0) | Err(_) => ddl.len(),
        Ok(len) => (start + len).min(ddl.len()),
    };
    ddl.get(start..end).unwrap_or(ddl).trim().to_string()
}

fn classify(node: &NodeEnum, sql: &str, allow_any_ddl: bool) -> Result<Kind, Error> {
    let refuse = |reason: &str| -> Result<Kind, Error> {
        if allow_any_ddl {
            Ok(Kind::Other)
        } else {
            Err(Error::NotAllowed {
                ddl: sql.to_string(),
                reason: reason.to_string(),
            })
        }
    };
    match node {
        NodeEnum::IndexStmt(stmt) => {
            let Some(relation) = &stmt.relation else {
                return refuse("the index names no table");
            };
            let kind = Kind::CreateIndex {
                table: QualifiedName::from_range_var(relation),
                index: (!stmt.idxname.is_empty()).then(|| stmt.idxname.clone()),
                concurrent: stmt.concurrent,
            };
            if allow_any_ddl {
                return Ok(kind);
            }
            if !stmt.concurrent {
                return refuse(
                    "CREATE INDEX without CONCURRENTLY blocks every write to the table while it builds: use CREATE INDEX CONCURRENTLY, or pass allow_any_ddl",
                );
            }
            if stmt.idxname.is_empty() {
                return refuse(
                    "the index has no name, so a failed build could not be found and dropped: name it (optidb's names start with optidb_)",
                );
            }
            Ok(kind)
        }
        NodeEnum::DropStmt(stmt) => {
            if stmt.remove_type != ObjectType::ObjectIndex as i32 {
                return refuse(
                    "only DROP INDEX CONCURRENTLY is accepted: optidb never drops tables or other objects",
                );
            }
            if !stmt.concurrent && !allow_any_ddl {
                return refuse(
                    "DROP INDEX without CONCURRENTLY locks the table against reads and writes: use DROP INDEX CONCURRENTLY, or pass allow_any_ddl",
                );
            }
            let [object] = stmt.objects.as_slice() else {
                return refuse("DROP INDEX CONCURRENTLY drops one index at a time");
            };
            match object_name(object) {
                Some(index) => Ok(Kind::DropIndex {
                    index,
                    missing_ok: stmt.missing_ok,
                }),
                None => refuse("the index name could not be read"),
            }
        }
        NodeEnum::VacuumStmt(stmt) => {
            let tables = stmt
                .rels
                .iter()
                .filter_map(|rel| match rel.node.as_ref() {
                    Some(NodeEnum::VacuumRelation(rel)) => {
                        rel.relation.as_ref().map(QualifiedName::from_range_var)
                    }
                    _ => None,
                })
                .collect();
            if !stmt.is_vacuumcmd {
                return Ok(Kind::Analyze { tables });
            }
            let full = stmt.options.iter().any(|option| {
                matches!(option.node.as_ref(), Some(NodeEnum::DefElem(def)) if def.defname == "full")
            });
            if full && !allow_any_ddl {
                return refuse(
                    "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes: use plain VACUUM, or pass allow_any_ddl",
                );
            }
            Ok(Kind::Vacuum { tables })
        }
        NodeEnum::CreateExtensionStmt(stmt)
            if stmt.extname == "pg_trgm" && stmt.if_not_exists && stmt.options.is_empty() =>
        {
            Ok(Kind::CreateExtension {
                name: stmt.extname.clone(),
            })
        }
        NodeEnum::CreateExtensionStmt(_) => refuse(
            "the only extension optidb creates is pg_trgm, as CREATE EXTENSION IF NOT EXISTS pg_trgm",
        ),
        _ => refuse(
            "optidb only runs CREATE [UNIQUE] INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, ANALYZE and VACUUM; pass allow_any_ddl to run anything else",
        ),
    }
}

/// A DROP object's name: a list of one to three strings.
fn object_name(object: &pg_query::Node) -> Option<QualifiedName> {
    let Some(NodeEnum::List(list)) = object.node.as_ref() else {
        return None;
    };
    let parts: Vec<&str> = list
        .items
        .iter()
        .filter_map(|item| match item.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect();
    match parts.as_slice() {
        [name] => Some(QualifiedName {
            schema: None,
            name: (*name).to_string(),
        }),
        [schema, name] => Some(QualifiedName {
            schema: Some((*schema).to_string()),
            name: (*name).to_string(),
        }),
        _ => None,
    }
}

/// An index definition reduced to what makes two indexes the same: no
/// name, no `CONCURRENTLY`/`IF NOT EXISTS`, the table as `schema.name`
/// resolved by the server, the access method spelled out, re-printed by
/// libpg_query's deparser so spacing, quoting and comments do not matter.
/// `None` when it is not a single `CREATE INDEX`.
///
/// It compares what was written: `lower(email)` and `lower((email)::text)`
/// (how `pg_get_indexdef` prints the same expression) differ, so an
/// equivalent expression index can be missed; column indexes, the ones
/// optidb recommends most, compare exactly.
pub(crate) fn index_signature(definition: &str, schema: &str, table: &str) -> Option<String> {
    let mut parsed = pg_query::parse(definition, 0).ok()?.protobuf;
    let [raw] = parsed.stmts.as_mut_slice() else {
        return None;
    };
    let Some(NodeEnum::IndexStmt(stmt)) = raw.stmt.as_mut().and_then(|node| node.node.as_mut())
    else {
        return None;
    };
    stmt.idxname.clear();
    stmt.concurrent = false;
    stmt.if_not_exists = false;
    if stmt.access_method.is_empty() {
        stmt.access_method = "btree".into();
    }
    let relation = stmt.relation.as_mut()?;
    relation.schemaname = schema.to_string();
    relation.relname = table.to_string();
    relation.inh = true;
    relation.location = 0;
    let node = raw.stmt.as_ref()?.node.as_ref()?;
    node.deparse(pg_query::DeparseOptions::default()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ddl: &str) -> String {
        match check(ddl, false) {
            Err(Error::NotAllowed { reason, .. }) => reason,
            other => panic!("{ddl:?} was not refused: {other:?}"),
        }
    }

    fn kinds(ddl: &str) -> Vec<Kind> {
        match check(ddl, false) {
            Ok(statements) => statements.into_iter().map(|s| s.kind).collect(),
            Err(e) => panic!("{ddl:?} was refused: {e}"),
        }
    }

    fn name(schema: Option<&str>, name: &str) -> QualifiedName {
        QualifiedName {
            schema: schema.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn accepts_concurrent_index_builds_as_optidb_writes_them() {
        assert_eq!(
            kinds(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_orders_user_id_idx\" ON \"public\".\"orders\" USING btree (\"user_id\")"
            ),
            [Kind::CreateIndex {
                table: name(Some("public"), "orders"),
                index: Some("optidb_orders_user_id_idx".into()),
                concurrent: true,
            }]
        );
        assert_eq!(
            kinds("create unique index concurrently u on t (x) where x > 0;").len(),
            1
        );
    }

    #[test]
    fn accepts_pg_trgm_only_right_before_an_index() {
        let ddl = "CREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE INDEX CONCURRENTLY optidb_p_d_gin_idx ON public.p USING gin (d gin_trgm_ops);";
        let statements = check(ddl, false).unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].sql, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
        assert!(
            statements[1]
                .sql
                .starts_with("CREATE INDEX CONCURRENTLY optidb_p_d_gin_idx")
        );
        assert!(refused("CREATE EXTENSION IF NOT EXISTS pg_trgm").contains("only accepted"));
        assert!(
            refused("CREATE EXTENSION IF NOT EXISTS pg_trgm; ANALYZE t").contains("2 statements")
        );
        assert!(
            refused("CREATE EXTENSION plpython3u; CREATE INDEX CONCURRENTLY i ON t (x)")
                .contains("pg_trgm")
        );
        assert!(
            refused("CREATE EXTENSION pg_trgm; CREATE INDEX CONCURRENTLY i ON t (x)")
                .contains("pg_trgm")
        );
    }

    #[test]
    fn accepts_concurrent_drops_analyze_and_vacuum() {
        assert_eq!(
            kinds("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"Odd\"\"Name\""),
            [Kind::DropIndex {
                index: name(Some("public"), "Odd\"Name"),
                missing_ok: true,
            }]
        );
        assert_eq!(
            kinds("ANALYZE public.orders, users"),
            [Kind::Analyze {
                tables: vec![name(Some("public"), "orders"), name(None, "users")],
            }]
        );
        assert_eq!(kinds("ANALYZE"), [Kind::Analyze { tables: vec![] }]);
        assert_eq!(
            kinds("VACUUM (ANALYZE, VERBOSE) orders"),
            [Kind::Vacuum {
                tables: vec![name(None, "orders")],
            }]
        );
    }

    #[test]
    fn refuses_everything_else_saying_why() {
        assert!(refused("DROP TABLE t").contains("never drops tables"));
        assert!(refused("DROP INDEX i").contains("CONCURRENTLY"));
        assert!(refused("DROP INDEX CONCURRENTLY a, b").contains("one index"));
        assert!(refused("CREATE INDEX i ON t (x)").contains("blocks every write"));
        assert!(refused("CREATE INDEX CONCURRENTLY ON t (x)").contains("no name"));
        assert!(refused("VACUUM FULL t").contains("ACCESS EXCLUSIVE"));
        assert!(refused("TRUNCATE t").contains("allow_any_ddl"));
        assert!(refused("ALTER TABLE t ADD COLUMN c int").contains("allow_any_ddl"));
        assert!(refused("").contains("no statement"));
        assert!(refused("-- nothing but a comment").contains("no statement"));
        assert!(refused("CREATE INDEX CONCURRENTLY i ON t (x").contains("does not parse"));
    }

    #[test]
    fn refuses_a_second_statement_however_it_is_hidden() {
        // Each statement is checked on its own, so a forbidden one is
        // named as such; two allowed ones are still one too many.
        assert!(
            refused("CREATE INDEX CONCURRENTLY i ON t (x); DROP TABLE t")
                .contains("never drops tables")
        );
        assert!(
            refused("ANALYZE t /* ; */ ; SELECT pg_terminate_backend(1)").contains("allow_any_ddl")
        );
        for ddl in [
            "ANALYZE t;ANALYZE u;",
            "CREATE INDEX CONCURRENTLY i ON t (x); CREATE INDEX CONCURRENTLY j ON t (y)",
            "VACUUM t; ANALYZE u",
        ] {
            assert!(refused(ddl).contains("2 statements"), "{ddl}");
        }
        // A semicolon inside a comment or a literal is not a separator.
        assert_eq!(
            kinds("CREATE INDEX CONCURRENTLY i ON t (x) WHERE y <> ';' -- ;").len(),
            1
        );
    }

    #[test]
    fn allow_any_ddl_lets_anything_that_parses_through() {
        let statements = check("DROP TABLE t; CREATE INDEX i ON t (x)", true).unwrap();
        assert_eq!(statements[0].kind, Kind::Other);
        assert_eq!(
            statements[1].kind,
            Kind::CreateIndex {
                table: name(None, "t"),
                index: Some("i".into()),
                concurrent: false,
            }
        );
        assert!(check("DROP TABLE (", true).is_err());
    }

    #[test]
    fn index_signatures_ignore_name_spelling_and_concurrency() {
        let ours = index_signature(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"optidb_t_x_idx\" ON \"t\" (\"x\")",
            "public",
            "t",
        );
        let theirs = index_signature(
            "CREATE INDEX t_x_idx ON public.t USING btree (x)",
            "public",
            "t",
        );
        assert!(ours.is_some());
        assert_eq!(ours, theirs);
        let other = index_signature(
            "CREATE INDEX t_x_idx ON public.t USING btree (x, y)",
            "public",
            "t",
        );
        assert_ne!(ours, other);
        let unique = index_signature(
            "CREATE UNIQUE INDEX u ON public.t USING btree (x)",
            "public",
            "t",
        );
        assert_ne!(ours, unique);
        assert_eq!(index_signature("ANALYZE t", "public", "t"), None);
    }
}
