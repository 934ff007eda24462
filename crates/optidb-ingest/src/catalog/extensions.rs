//! Installed extensions.

use optidb_model::Extension;
use tokio_postgres::Client;

use crate::Error;

pub(crate) async fn read(client: &Client) -> Result<Vec<Extension>, Error> {
    let rows = client
        .query(
            "/* optidb */ SELECT e.extname::text, e.extversion, n.nspname::text
               FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
              ORDER BY 1",
            &[],
        )
        .await
        .map_err(Error::query("pg_extension"))?;
    Ok(rows
        .iter()
        .map(|row| Extension {
            name: row.get(0),
            version: row.get(1),
            schema: row.get(2),
        })
        .collect())
}
