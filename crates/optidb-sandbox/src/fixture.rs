//! The fixtures under `fixtures/`: schemas, deterministic data generators and
//! workloads with labelled planted problems, loaded into a sandbox database.
//!
//! Each fixture folder holds `schema.sql`, `data.sql` (reads its scale from
//! the `optidb.scale` setting), `workload.sql` (see [`Workload::parse`]) and
//! `expected.toml` (see [`Expectations`]). They are embedded in the binary,
//! so `optidb demo` needs no checkout.

mod expectations;
mod workload;

use tokio_postgres::Client;

pub use expectations::{Check, Expectations, PlantedProblem};
pub use workload::{ItemRun, PreparedWorkload, Workload, WorkloadItem, WorkloadRun};

use crate::Error;

/// One fixture: a schema, its data generator, a workload and what it plants.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    name: &'static str,
    schema: &'static str,
    data: &'static str,
    workload: &'static str,
    expected: &'static str,
}

/// The e-commerce demo with its planted, labelled problems.
pub const DEMO: Fixture = Fixture {
    name: "demo",
    schema: include_str!("../../../fixtures/demo/schema.sql"),
    data: include_str!("../../../fixtures/demo/data.sql"),
    workload: include_str!("../../../fixtures/demo/workload.sql"),
    expected: include_str!("../../../fixtures/demo/expected.toml"),
};

/// A well-indexed schema and workload where a good advisor recommends nothing.
pub const CLEAN: Fixture = Fixture {
    name: "clean",
    schema: include_str!("../../../fixtures/clean/schema.sql"),
    data: include_str!("../../../fixtures/clean/data.sql"),
    workload: include_str!("../../../fixtures/clean/workload.sql"),
    expected: include_str!("../../../fixtures/clean/expected.toml"),
};

impl Fixture {
    /// Every fixture, by name.
    pub const ALL: [Fixture; 2] = [DEMO, CLEAN];

    /// The fixture called `name`, if there is one.
    pub fn named(name: &str) -> Option<Fixture> {
        Self::ALL.into_iter().find(|fixture| fixture.name == name)
    }

    /// The fixture's name (its folder under `fixtures/`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Creates the fixture's tables and indexes.
    pub async fn create_schema(&self, client: &Client) -> Result<(), Error> {
        self.execute(client, "schema.sql", self.schema).await
    }

    /// Generates the data at `scale` (1 = the full size), ends with ANALYZE,
    /// and then, for fixtures that plant stale statistics, changes data.
    pub async fn generate_data(&self, client: &Client, scale: f64) -> Result<(), Error> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::Fixture {
                fixture: self.name.into(),
                problem: format!("scale must be a positive number, not {scale}"),
            });
        }
        client
            .batch_execute(&format!("SET optidb.scale = '{scale}'"))
            .await
            .map_err(|e| Error::sql("set optidb.scale", e))?;
        self.execute(client, "data.sql", self.data).await
    }

    /// Sends `sql` as one simple-query batch per part, the parts split at
    /// lines reading `-- optidb:new-batch`. A batch is one implicit
    /// transaction whose table statistics are flushed only when it ends, so
    /// an ANALYZE must come in a later batch than the rows it should count.
    async fn execute(&self, client: &Client, file: &str, sql: &str) -> Result<(), Error> {
        for (index, batch) in batches(sql).iter().enumerate() {
            client.batch_execute(batch).await.map_err(|e| {
                Error::sql(
                    format!("fixture {}: {file}, part {}", self.name, index + 1),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Creates the schema and generates the data at `scale`.
    pub async fn load(&self, client: &Client, scale: f64) -> Result<(), Error> {
        self.create_schema(client).await?;
        self.generate_data(client, scale).await
    }

    /// Runs the fixture's workload on a loaded database: computes the
    /// parameters, empties `pg_stat_statements` so that it then tracks the
    /// workload alone, and runs it, calling `progress(done, total)`.
    pub async fn run_workload(
        &self,
        client: &Client,
        progress: impl FnMut(u64, u64),
    ) -> Result<WorkloadRun, Error> {
        let workload = self.workload()?.prepare(client).await?;
        reset_statement_statistics(client).await?;
        workload.run(client, progress).await
    }

    /// The fixture's workload.
    pub fn workload(&self) -> Result<Workload, Error> {
        Workload::parse(self.name, self.workload)
    }

    /// What the fixture plants (or, for a clean one, promises).
    pub fn expectations(&self) -> Result<Expectations, Error> {
        Expectations::parse(self.name, self.expected)
    }
}

/// The line that splits a fixture's SQL file into separate batches.
const BATCH_SEPARATOR: &str = "-- optidb:new-batch";

/// `sql` split at [`BATCH_SEPARATOR`] lines, empty parts dropped.
fn batches(sql: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for line in sql.lines() {
        if line.trim() == BATCH_SEPARATOR {
            parts.push(String::new());
        } else if let Some(part) = parts.last_mut() {
            part.push_str(line);
            part.push('\n');
        }
    }
    parts.retain(|part| {
        part.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with("--")
        })
    });
    parts
}

/// Empties `pg_stat_statements` for the current database only, so tests
/// sharing a cluster do not wipe each other's statistics.
pub async fn reset_statement_statistics(client: &Client) -> Result<(), Error> {
    client
        .batch_execute(
            "/* optidb */ SELECT pg_stat_statements_reset(0, \
             (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
        )
        .await
        .map_err(|e| Error::sql("reset pg_stat_statements", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_files_split_into_batches_at_the_separator() {
        let sql = "CREATE TABLE a ();\n-- optidb:new-batch\n-- only a comment\n  -- optidb:new-batch  \nANALYZE a;\n";
        assert_eq!(batches(sql), ["CREATE TABLE a ();\n", "ANALYZE a;\n"]);
        assert_eq!(batches("SELECT 1;"), ["SELECT 1;\n"]);
    }
}
