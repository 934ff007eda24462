//! Where output goes: results to stdout, everything else (progress, hints,
//! errors) to stderr; colors only when wanted.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use optidb_report::{Document, OutputFormat, TableStyle, TableWidth};

use crate::cli::{ColorChoice, Format, GlobalArgs};

/// The binary's view of its terminal.
#[derive(Debug)]
pub struct Output {
    pub format: OutputFormat,
    color: bool,
    quiet: bool,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Self {
        let format = match global.format {
            Format::Table => OutputFormat::Table,
            Format::Json => OutputFormat::Json,
        };
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
                std::io::stdout().is_terminal() && !no_color && !dumb
            }
        };
        Output {
            format,
            color,
            quiet: global.quiet,
        }
    }

    pub fn table_style(&self) -> TableStyle {
        TableStyle {
            color: self.color,
            width: TableWidth::Terminal,
        }
    }

    /// Writes a result to stdout. A closed pipe (`optidb … | head`) comes
    /// back as an error that [`is_broken_pipe`] recognizes.
    pub fn result(&self, text: &str) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()?;
        Ok(())
    }

    /// A document on stdout, as a table or JSON per --format.
    pub fn document(&self, document: &impl Document) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Table => self.result(&document.to_table(self.table_style())),
            OutputFormat::Json => self.result(&document.to_json()?),
        }
    }

    /// A hint for people, on stderr; nothing with --quiet.
    pub fn hint(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Something the user asked for on stderr, shown even with --quiet.
    pub fn notice(&self, text: &str) {
        eprintln!("{text}");
    }

    /// The one place a fatal error is printed.
    pub fn error(&self, err: &anyhow::Error) {
        let use_color = self.color && std::io::stderr().is_terminal();
        let label = if use_color {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        eprintln!("{label}: {err:#}");
    }

    /// A spinner with a message on stderr; hidden with --quiet or when
    /// stderr is not a terminal.
    pub fn spinner(&self, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }

    /// A bar counting to `total` on stderr, hidden like [`Output::spinner`].
    pub fn counter(&self, message: &str, total: u64) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(total), self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }

    fn draw_target(&self) -> ProgressDrawTarget {
        if self.quiet {
            ProgressDrawTarget::hidden()
        } else {
            // indicatif hides itself when stderr is not a terminal.
            ProgressDrawTarget::stderr()
        }
    }
}

/// Whether `err` is stdout's reader having gone away: not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
