//! Where a snapshot comes from: a live database (--dsn, DATABASE_URL, PG*
//! variables) or a file saved earlier (--from); and where it may go (--save).

use std::path::Path;

use anyhow::Context;
use optidb_ingest::{IngestOptions, Snapshot, take_snapshot};
use optidb_pg::{ConnectionTarget, SessionSettings};
use tokio_postgres::Client;

use crate::cli::SourceArgs;
use crate::output::Output;

/// A snapshot, and the read-only session it was read through when it was
/// read live (commands that go on to simulate reuse it).
pub struct Source {
    pub snapshot: Snapshot,
    pub session: Option<Client>,
}

/// The snapshot the arguments name, keeping the top `top` statements.
pub async fn snapshot(args: &SourceArgs, top: usize, output: &Output) -> anyhow::Result<Snapshot> {
    Ok(source(args, top, output).await?.snapshot)
}

/// The snapshot the arguments name, with its live session if any.
pub async fn source(args: &SourceArgs, top: usize, output: &Output) -> anyhow::Result<Source> {
    let source = match &args.from {
        Some(path) => Source {
            snapshot: read(path)?,
            session: None,
        },
        None => {
            let target =
                ConnectionTarget::resolve(args.dsn.as_deref(), |name| std::env::var(name).ok())?;
            let (snapshot, session) = read_live(&target, top, output).await?;
            Source {
                snapshot,
                session: Some(session),
            }
        }
    };
    if let Some(path) = &args.save {
        save(&source.snapshot, path)?;
        output.hint(&format!("Snapshot saved to {}", path.display()));
    }
    Ok(source)
}

/// Reads a snapshot of `target` through a read-only session.
pub async fn from_target(
    target: &ConnectionTarget,
    top: usize,
    output: &Output,
) -> anyhow::Result<Snapshot> {
    Ok(read_live(target, top, output).await?.0)
}

async fn read_live(
    target: &ConnectionTarget,
    top: usize,
    output: &Output,
) -> anyhow::Result<(Snapshot, Client)> {
    for note in target.notes() {
        output.hint(&format!("note: {note}"));
    }
    let spinner = output.spinner(&format!("Reading {}", target.describe()));
    let client = optidb_pg::connect(target, &SessionSettings::read_only()).await?;
    let snapshot = take_snapshot(
        &client,
        &IngestOptions {
            top_statements: top,
            ..IngestOptions::default()
        },
    )
    .await
    .with_context(|| format!("cannot read a snapshot of {}", target.describe()))?;
    spinner.finish_and_clear();
    for warning in &snapshot.warnings {
        output.hint(&format!("warning: {}", warning.message));
    }
    Ok((snapshot, client))
}

fn read(path: &Path) -> anyhow::Result<Snapshot> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the snapshot file {}", path.display()))?;
    Snapshot::from_json(&text).with_context(|| format!("cannot use {}", path.display()))
}

/// Writes to a temporary file beside `path`, then renames: a crash never
/// leaves half a snapshot where a whole one was.
fn save(snapshot: &Snapshot, path: &Path) -> anyhow::Result<()> {
    let json = snapshot.to_json()?;
    let partial = path.with_extension("partial");
    std::fs::write(&partial, json)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot save the snapshot to {}", path.display()))
}
