//! A tiny watchdog process that cleans up a cluster when its owner dies
//! without dropping the handle (a killed test binary, a process-wide shared
//! cluster that statics never drop, Ctrl-C).
//!
//! The guardian is `sh`, reading commands from a pipe whose write end only we
//! hold. When our process ends, however it ends, the kernel closes that end,
//! the guardian reads end-of-file, stops the server and deletes the files.
//! When the handle drops normally, we clean up ourselves and tell the
//! guardian `done`, so it never signals a process id that may have been reused.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::Error;

/// The guardian's script. `$1` is the directory to delete. Commands on stdin:
/// `pid N` (the postmaster to stop), `done` (the owner cleaned up; exit).
/// Terminal signals are ignored so that Ctrl-C, which reaches the whole
/// foreground process group, still leaves the guardian to clean up.
const SCRIPT: &str = r#"
trap '' INT TERM HUP QUIT
dir=$1
pid=
while read -r cmd arg; do
  case "$cmd" in
    pid) pid=$arg ;;
    done) exit 0 ;;
  esac
done
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while [ "$i" -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
    # A zombie waiting for a parent that never reaps it is stopped, too.
    case "$(cat "/proc/$pid/stat" 2>/dev/null)" in *") Z "*) break ;; esac
    sleep 0.05
    i=$((i + 1))
  done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf -- "$dir"
"#;

/// The running guardian of one cluster directory.
#[derive(Debug)]
pub(crate) struct Guardian {
    child: Child,
    commands: Option<ChildStdin>,
}

impl Guardian {
    /// Starts a guardian that deletes `dir` (and stops the server, once told
    /// its pid) when this process ends without calling [`Guardian::dismiss`].
    pub(crate) fn spawn(dir: &Path) -> Result<Self, Error> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("optidb-sandbox-guardian")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a terminal's Ctrl-C does not reach it.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("start the sandbox guardian (sh)", e))?;
        let commands = child.stdin.take();
        Ok(Guardian { child, commands })
    }

    /// Tells the guardian which postmaster to stop if we die.
    pub(crate) fn watch(&mut self, postmaster_pid: u32) -> Result<(), Error> {
        self.send(&format!("pid {postmaster_pid}\n"))
    }

    /// The owner cleaned up: the guardian exits without doing anything.
    pub(crate) fn dismiss(mut self) {
        // If the guardian is already gone there is nothing left to tell it.
        let _ = self.send("done\n");
        self.commands = None;
        let _ = self.child.wait();
    }

    fn send(&mut self, line: &str) -> Result<(), Error> {
        let Some(commands) = self.commands.as_mut() else {
            return Ok(());
        };
        commands
            .write_all(line.as_bytes())
            .and_then(|()| commands.flush())
            .map_err(|e| Error::io("talk to the sandbox guardian", e))
    }
}
