//! Indexes: definition, keys (columns or expressions, order, operator
//! class), INCLUDE columns, partial predicate, constraint, validity, size
//! and usage.

use optidb_model::{Index, IndexKey};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Row};

use super::{USER_SCHEMAS, count};
use crate::Error;

/// `pg_index.indoption` bits.
const INDOPTION_DESC: i16 = 0x0001;
const INDOPTION_NULLS_FIRST: i16 = 0x0002;

pub(crate) async fn read(client: &Client) -> Result<Vec<Index>, Error> {
    match read_sized(client, "pg_relation_size(i.indexrelid)").await {
        Err(Error::Query { source, .. })
            if source.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) =>
        {
            // Locked exclusively for longer than lock_timeout: estimate.
            read_sized(
                client,
                "ic.relpages::bigint * current_setting('block_size')::bigint",
            )
            .await
        }
        other => other,
    }
}

async fn read_sized(client: &Client, size: &str) -> Result<Vec<Index>, Error> {
    let sql = format!(
        "/* optidb */
SELECT n.nspname::text, ic.relname::text, tc.relname::text,
       pg_get_indexdef(i.indexrelid), am.amname::text,
       i.indisunique, i.indisprimary, con.conname::text, i.indisvalid,
       {size}, s.idx_scan, s.idx_tup_read, s.idx_tup_fetch,
       pg_get_expr(i.indpred, i.indrelid), i.indnkeyatts::int,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
               FROM generate_series(1, i.indnatts) AS k ORDER BY k),
       ARRAY(SELECT coalesce(a.attname::text, '')
               FROM generate_series(1, i.indnatts) AS k
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]
                    AND i.indkey[k - 1] <> 0
              ORDER BY k),
       ARRAY(SELECT i.indoption[k - 1]
               FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k),
       ARRAY(SELECT CASE WHEN opc.opcdefault THEN '' ELSE opc.opcname::text END
               FROM generate_series(1, i.indnkeyatts) AS k
               JOIN pg_opclass opc ON opc.oid = i.indclass[k - 1]
              ORDER BY k)
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class tc ON tc.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = tc.relnamespace
  JOIN pg_am am ON am.oid = ic.relam
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
        AND con.contype IN ('p', 'u', 'x')
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
 WHERE tc.relkind IN ('r', 'p', 'm') AND {USER_SCHEMAS}
 ORDER BY 1, 3, 2"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(Error::query("indexes"))?;
    Ok(rows.iter().map(index).collect())
}

fn index(row: &Row) -> Index {
    let key_count = usize::try_from(row.get::<_, i32>(14)).unwrap_or(0);
    let definitions: Vec<String> = row.get(15);
    let columns: Vec<String> = row.get(16);
    let options: Vec<i16> = row.get(17);
    let opclasses: Vec<String> = row.get(18);
    let keys = (0..key_count.min(definitions.len()))
        .map(|k| {
            let column = columns.get(k).filter(|name| !name.is_empty()).cloned();
            let option = options.get(k).copied().unwrap_or(0);
            IndexKey {
                expression: column.is_none().then(|| definitions[k].clone()),
                column,
                definition: definitions[k].clone(),
                descending: option & INDOPTION_DESC != 0,
                nulls_first: option & INDOPTION_NULLS_FIRST != 0,
                opclass: opclasses.get(k).filter(|name| !name.is_empty()).cloned(),
            }
        })
        .collect();
    Index {
        schema: row.get(0),
        name: row.get(1),
        table: row.get(2),
        definition: row.get(3),
        method: row.get(4),
        unique: row.get(5),
        primary: row.get(6),
        constraint: row.get(7),
        valid: row.get(8),
        bytes: row.get::<_, Option<i64>>(9).unwrap_or(0),
        idx_scan: count(row, 10),
        idx_tup_read: count(row, 11),
        idx_tup_fetch: count(row, 12),
        predicate: row.get(13),
        keys,
        include: definitions.iter().skip(key_count).cloned().collect(),
    }
}
