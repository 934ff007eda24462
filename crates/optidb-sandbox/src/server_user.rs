//! Which OS user runs the server: ourselves, or `postgres` when we are root
//! (PostgreSQL refuses to run as root, and CI runs as root).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::unistd::{Gid, Uid, User, geteuid};

use crate::Error;

/// The OS user the server programs run as.
#[derive(Debug, Clone)]
pub(crate) enum ServerUser {
    /// The current user (not root).
    Current,
    /// Another user: we are root and switch to `postgres` for the server.
    Switched {
        /// The server user's id.
        uid: Uid,
        /// The server user's primary group.
        gid: Gid,
    },
}

impl ServerUser {
    /// `postgres` when running as root, the current user otherwise.
    pub(crate) fn detect() -> Result<Self, Error> {
        if !geteuid().is_root() {
            return Ok(ServerUser::Current);
        }
        let user = User::from_name("postgres")
            .map_err(|e| Error::io("look up the `postgres` OS user", e.into()))?
            .ok_or(Error::NoServerUser)?;
        Ok(ServerUser::Switched {
            uid: user.uid,
            gid: user.gid,
        })
    }

    /// Makes `command` run as this user.
    pub(crate) fn apply(&self, command: &mut Command) {
        if let ServerUser::Switched { uid, gid } = self {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
    }

    /// Gives `path` to this user, so the server can write there.
    pub(crate) fn give(&self, path: &Path) -> Result<(), Error> {
        if let ServerUser::Switched { uid, gid } = self {
            std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw())).map_err(
                |e| Error::io(format!("give {} to the postgres user", path.display()), e),
            )?;
        }
        Ok(())
    }
}
