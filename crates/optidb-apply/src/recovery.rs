//! Recovery from builds that died with their session: a terminated backend,
//! a lost connection or a crash leaves an INVALID index that PostgreSQL
//! still maintains on every write but never uses.

use tokio_postgres::Client;

use crate::allowed::quote_ident;
use crate::{Applied, ApplyOptions, Error, audit, execute};

/// The prefix of every index name optidb makes (see `optidb-recommend`).
const INDEX_PREFIX: &str = "optidb_";

/// An INVALID index that optidb made, or that one of its audit rows names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidIndex {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its table, as `schema.name`.
    pub table: String,
    /// `pg_get_indexdef`.
    pub definition: String,
    /// Its size on disk, in bytes.
    pub bytes: i64,
    /// Whether a `CREATE INDEX` is building it right now: then it is not
    /// left over, and must not be dropped.
    pub in_progress: bool,
    /// The latest audit row that names it, if any.
    pub change_id: Option<i64>,
}

impl InvalidIndex {
    /// `schema.name`, quoted for SQL.
    pub fn sql_name(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// The INVALID indexes whose name starts with `optidb_` or that an audit
/// row in `optidb.changes` names, by schema and name.
pub async fn invalid_indexes(client: &Client) -> Result<Vec<InvalidIndex>, Error> {
    let rows = client
        .query(
            "/* optidb */ SELECT n.nspname::text, c.relname::text, format('%s.%s', tn.nspname, t.relname),
                    pg_get_indexdef(c.oid), pg_relation_size(c.oid),
                    EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = c.oid)
             FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
             WHERE NOT i.indisvalid
             ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(Error::query("listing INVALID indexes"))?;
    let claimed: Vec<(String, i64)> = if audit::exists(client).await? {
        client
            .query(
                "/* optidb */ SELECT index_name, max(id) FROM optidb.changes WHERE index_name IS NOT NULL GROUP BY index_name",
                &[],
            )
            .await
            .map_err(Error::query("reading optidb.changes"))?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(rows
        .iter()
        .filter_map(|row| {
            let schema: String = row.get(0);
            let name: String = row.get(1);
            let qualified = format!("{schema}.{name}");
            let change_id = claimed
                .iter()
                .find(|(index, _)| *index == qualified)
                .map(|(_, id)| *id);
            (name.starts_with(INDEX_PREFIX) || change_id.is_some()).then(|| InvalidIndex {
                schema,
                name,
                table: row.get(2),
                definition: row.get(3),
                bytes: row.get(4),
                in_progress: row.get(5),
                change_id,
            })
        })
        .collect())
}

/// Drops the INVALID index `name` (as SQL, e.g. `public.optidb_t_x_idx`)
/// with `DROP INDEX CONCURRENTLY`, through [`apply`](crate::apply)'s checks
/// and audit. Refuses a valid index (that is a recommendation's job, with a
/// rollback) and one a build is still working on.
pub async fn drop_invalid(
    client: &Client,
    name: &str,
    options: &ApplyOptions,
) -> Result<Applied, Error> {
    let refuse = |reason: &str| Error::NotInvalid {
        index: name.to_string(),
        reason: reason.to_string(),
    };
    let row = client
        .query_opt(
            "/* optidb */ SELECT n.nspname::text, c.relname::text, i.indisvalid,
                    EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = c.oid)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_index i ON i.indexrelid = c.oid
             WHERE c.oid = to_regclass($1)",
            &[&name],
        )
        .await
        .map_err(Error::query("looking up the index"))?
        .ok_or_else(|| Error::NoSuchRelation {
            relation: name.to_string(),
        })?;
    let (schema, index): (String, String) = (row.get(0), row.get(1));
    match row.get::<_, Option<bool>>(2) {
        None => return Err(refuse("it is not an index")),
        Some(true) => {
            return Err(refuse(
                "it is a valid index in use; drop it through a recommendation, which records how to rebuild it",
            ));
        }
        Some(false) => {}
    }
    if row.get::<_, bool>(3) {
        return Err(refuse(
            "a CREATE INDEX is building it right now (pg_stat_progress_create_index); wait for it to finish or cancel it first",
        ));
    }
    let ddl = format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
        quote_ident(&schema),
        quote_ident(&index)
    );
    execute::run(client, &ddl, options, None).await
}
