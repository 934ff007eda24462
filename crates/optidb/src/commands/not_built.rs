//! Subcommands that exist in the interface but not yet in the code.

use crate::exit::ExitStatus;
use crate::output::Output;

/// Says plainly that `command` is not built yet, and exits 2.
pub fn run(command: &str, arrives_with: &str, output: &Output) -> anyhow::Result<ExitStatus> {
    output.error(&anyhow::anyhow!(
        "`optidb {command}` is not built yet (it arrives with {arrives_with}); `optidb bottlenecks` and `optidb demo` work today"
    ));
    Ok(ExitStatus::Error)
}
