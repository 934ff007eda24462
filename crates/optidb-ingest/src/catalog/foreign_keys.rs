//! Foreign keys.

use optidb_model::ForeignKey;
use tokio_postgres::Client;

use super::USER_SCHEMAS;
use crate::Error;

pub(crate) async fn read(client: &Client) -> Result<Vec<ForeignKey>, Error> {
    // A foreign key on a partitioned table is cloned onto every partition
    // (conparentid <> 0): report it once, on the table it was declared on.
    let sql = format!(
        "/* optidb */
SELECT con.conname::text, n.nspname::text, c.relname::text,
       ARRAY(SELECT a.attname::text
               FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.ord),
       rn.nspname::text, rc.relname::text,
       ARRAY(SELECT a.attname::text
               FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
              ORDER BY k.ord),
       con.confdeltype::text, con.confupdtype::text
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class rc ON rc.oid = con.confrelid
  JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE con.contype = 'f' AND con.conparentid = 0 AND {USER_SCHEMAS}
 ORDER BY 2, 3, 1"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(Error::query("foreign keys"))?;
    Ok(rows
        .iter()
        .map(|row| ForeignKey {
            name: row.get(0),
            schema: row.get(1),
            table: row.get(2),
            columns: row.get(3),
            referenced_schema: row.get(4),
            referenced_table: row.get(5),
            referenced_columns: row.get(6),
            on_delete: row.get(7),
            on_update: row.get(8),
        })
        .collect())
}
