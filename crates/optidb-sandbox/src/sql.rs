//! Talking SQL to a sandbox: async connections for callers, and a blocking
//! helper for cluster setup (which runs in `Drop`-friendly sync code and may
//! be called from inside or outside an async runtime).

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::Error;

/// Connects to `dsn` and drives the connection on the current tokio runtime.
pub(crate) async fn connect(dsn: &str) -> Result<Client, Error> {
    let (client, connection) = tokio_postgres::connect(dsn, NoTls)
        .await
        .map_err(|e| Error::sql("connect to the sandbox", e))?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; an error here
        // surfaces as an error on the client's next call.
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs `sql` (one or more statements) on `dsn` and returns the text of the
/// first column of every row. Runs on a thread of its own with a private
/// runtime, so it works whether or not the caller is inside a runtime.
pub(crate) fn blocking_query(dsn: &str, sql: &str, action: &str) -> Result<Vec<String>, Error> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::io("start a runtime for sandbox setup", e))?;
                runtime.block_on(async {
                    let client = connect(dsn).await?;
                    let messages = client
                        .simple_query(sql)
                        .await
                        .map_err(|e| Error::sql(action, e))?;
                    Ok(messages
                        .iter()
                        .filter_map(|message| match message {
                            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                            _ => None,
                        })
                        .collect())
                })
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::Program {
                    program: "sandbox setup".into(),
                    detail: "its thread panicked".into(),
                })
            })
    })
}
