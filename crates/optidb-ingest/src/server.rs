//! The server: version and the database we are in.

use optidb_model::ServerInfo;
use tokio_postgres::Client;

use crate::Error;

/// The oldest major version optidb reads (`pg_stat_statements` renamed its
/// time columns in 13).
const OLDEST_SUPPORTED: u32 = 13;

/// The server, and the server's clock now (RFC 3339, UTC).
pub(crate) async fn read(client: &Client) -> Result<(ServerInfo, String), Error> {
    let row = client
        .query_one(
            "/* optidb */ SELECT current_setting('server_version_num')::int,
                    current_setting('server_version'),
                    current_database()::text,
                    to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
            &[],
        )
        .await
        .map_err(Error::query("the server version"))?;
    let version_num: i32 = row.get(0);
    let server = ServerInfo {
        version_num: u32::try_from(version_num).unwrap_or(0),
        version: row.get(1),
        database: row.get(2),
    };
    if server.major_version() < OLDEST_SUPPORTED {
        return Err(Error::UnsupportedVersion {
            version: server.version,
        });
    }
    Ok((server, row.get(3)))
}
