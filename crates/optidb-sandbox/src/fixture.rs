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
pub use workload::{ItemRun, Workload, WorkloadItem, WorkloadRun};

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
        client
            .batch_execute(self.schema)
            .await
            .map_err(|e| Error::sql(format!("fixture {}: schema.sql", self.name), e))
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
        client
            .batch_execute(self.data)
            .await
            .map_err(|e| Error::sql(format!("fixture {}: data.sql", self.name), e))
    }

    /// Schema, data at `scale`, then an empty `pg_stat_statements`, so that
    /// what it tracks afterwards is the workload alone.
    pub async fn load(&self, client: &Client, scale: f64) -> Result<(), Error> {
        self.create_schema(client).await?;
        self.generate_data(client, scale).await?;
        reset_statement_statistics(client).await
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

/// Empties `pg_stat_statements` (for every database of the cluster).
pub async fn reset_statement_statistics(client: &Client) -> Result<(), Error> {
    client
        .batch_execute("SELECT pg_stat_statements_reset()")
        .await
        .map_err(|e| Error::sql("reset pg_stat_statements", e))
}
