//! Output formats and the knobs of human-readable rendering.

/// How results are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A table for people at a terminal.
    Table,
    /// One JSON document, for pipelines and other tools.
    Json,
}

impl OutputFormat {
    /// Whether people read it (progress and hints then make sense).
    pub fn is_human_readable(self) -> bool {
        matches!(self, OutputFormat::Table)
    }
}

/// How to draw tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStyle {
    /// Use ANSI colors and attributes.
    pub color: bool,
    /// How wide tables may get.
    pub width: TableWidth,
}

/// A new table drawn the way every optidb table is: condensed UTF-8
/// borders, styled only when colors are on, as wide as `style` allows.
pub(crate) fn new_table(style: TableStyle) -> comfy_table::Table {
    use comfy_table::ContentArrangement;
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    if style.color {
        table.enforce_styling();
    }
    match style.width {
        TableWidth::Terminal => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
        TableWidth::Fixed(width) => {
            table
                .force_no_tty()
                .set_width(width)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        TableWidth::Unlimited => {
            table
                .force_no_tty()
                .set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

/// How wide a table may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableWidth {
    /// As wide as the terminal on stdout, unlimited when stdout is not one.
    Terminal,
    /// At most this many columns.
    Fixed(u16),
    /// As wide as the content needs.
    Unlimited,
}

impl TableStyle {
    /// Plain, no color, no width limit: what tests snapshot.
    pub fn plain() -> Self {
        TableStyle {
            color: false,
            width: TableWidth::Unlimited,
        }
    }
}

/// Milliseconds, with precision where it matters: `0.042`, `3.14`, `512.3`, `12,345`.
pub(crate) fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.3}")
    } else if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 1000.0 {
        format!("{ms:.1}")
    } else {
        thousands(ms.round() as u64)
    }
}

/// An integer with thousands separators: `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    optidb_model::text::thousands(n as f64)
}

pub(crate) use optidb_model::text::percent;

/// A statement on one line, whitespace collapsed, cut to `max` characters.
pub(crate) fn one_line(sql: &str, max: usize) -> String {
    let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let mut cut: String = collapsed.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(millis(0.0421), "0.042");
        assert_eq!(millis(3.456), "3.46");
        assert_eq!(millis(512.34), "512.3");
        assert_eq!(millis(12345.6), "12,346");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(0.9734), "97.3%");
    }

    #[test]
    fn statements_fit_on_one_line() {
        assert_eq!(
            one_line("SELECT *\n  FROM t\n WHERE a = $1", 80),
            "SELECT * FROM t WHERE a = $1"
        );
        assert_eq!(one_line("SELECT abcdef", 8), "SELECT …");
    }
}
