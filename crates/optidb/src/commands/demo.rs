//! `optidb demo`: a throwaway PostgreSQL with the demo shop, its planted
//! problems and its workload, then what optidb sees in it.

use std::time::Instant;

use anyhow::Context;
use optidb_pg::ConnectionTarget;
use optidb_sandbox::Cluster;
use optidb_sandbox::fixture::DEMO;

use crate::cli::DemoArgs;
use crate::commands::bottlenecks;
use crate::connection;
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(args: &DemoArgs, output: &Output) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();

    let spinner = output.spinner("Starting a throwaway PostgreSQL cluster");
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .context("the sandbox start was interrupted")?
        .context("cannot start a throwaway PostgreSQL cluster for the demo")?;
    spinner.finish_and_clear();
    let database = cluster.create_database_named("optidb_demo").await?;
    let client = database.connect().await?;

    let spinner = output.spinner("Creating the demo schema");
    DEMO.create_schema(&client).await?;
    spinner.set_message(format!("Generating the demo data (scale {})", args.scale));
    DEMO.generate_data(&client, args.scale).await?;
    spinner.finish_and_clear();

    let bar = output.counter("Running the demo workload", DEMO.workload()?.total_calls());
    DEMO.run_workload(&client, |done, _total| bar.set_position(done))
        .await?;
    bar.finish_and_clear();

    let target = ConnectionTarget::resolve(Some(database.dsn()), |_| None)?;
    let snapshot = connection::from_target(&target, args.limit.max(100), output).await?;
    bottlenecks::print_report(&snapshot, args.limit, output)?;

    output.hint(&format!(
        "\nDemo done in {:.1} s (PostgreSQL {} sandbox ready in {:.2} s).\n\
         Point optidb at your own database (the role needs pg_read_all_stats, the database pg_stat_statements; see deploy/):\n  \
         optidb bottlenecks --dsn 'postgres://USER@HOST:5432/DBNAME'",
        started.elapsed().as_secs_f64(),
        cluster.binaries().version(),
        cluster.startup_time().as_secs_f64(),
    ));
    if args.keep {
        output.notice(&format!(
            "\nThe demo database keeps running until Ctrl-C:\n  optidb bottlenecks --dsn '{}'",
            database.dsn()
        ));
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
    }
    drop(client);
    drop(cluster);
    Ok(ExitStatus::Success)
}
