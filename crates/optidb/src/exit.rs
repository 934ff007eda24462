//! optidb's exit codes: a contract with CI pipelines.

/// How optidb exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did its job and found nothing at or above `--fail-on`.
    Success,
    /// 1: findings at or above `--fail-on`.
    Findings,
    /// 2: a usage error, a connection error, or anything else that stopped
    /// the command from doing its job (clap's own usage errors exit 2 too).
    Error,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        })
    }
}
