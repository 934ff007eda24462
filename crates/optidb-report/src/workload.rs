//! `optidb simulate --workload` and `optidb simulate --real`: the index set
//! chosen for the whole workload, and measured speedups on a sandbox copy.

use comfy_table::{Cell, CellAlignment};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::format::{new_table, one_line, thousands};
use crate::{Document, TableStyle};

/// The index set chosen for the whole workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SelectionReport {
    /// [`crate::SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The database.
    pub database: String,
    /// Σ calls × plan cost of the workload without new indexes.
    pub cost_before: f64,
    /// …with the chosen ones (write costs included when counted).
    pub cost_after: f64,
    /// `cost_after / cost_before`.
    pub relative_cost: f64,
    /// Whether the time budget cut the search short (the best found so far).
    pub partial: bool,
    /// How long the selection took, ms.
    pub elapsed_ms: f64,
    /// EXPLAINs run.
    pub evaluations: usize,
    /// What-if results served from the cache.
    pub cache_hits: usize,
    /// The indexes chosen, in the order they were picked.
    pub chosen: Vec<ChosenIndex>,
    /// Candidates HypoPG could not cost (GIN, GiST…), with the reason.
    pub uncostable: Vec<ReasonedItem>,
    /// Statements left out of the workload, with the reason.
    pub skipped: Vec<ReasonedItem>,
}

/// One chosen index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChosenIndex {
    /// The DDL to build it (`optidb apply` takes it).
    pub ddl: String,
    /// Its hypothetical size, bytes.
    pub bytes: Option<i64>,
}

/// Something left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReasonedItem {
    /// What: a DDL or a queryid.
    pub item: String,
    /// Why.
    pub reason: String,
}

impl Document for SelectionReport {
    /// The chosen indexes and the workload's cost before and after.
    fn to_table(&self, style: TableStyle) -> String {
        let mut out = format!(
            "Workload cost (calls × plan cost): {} → {} ({:.3} of today's){} in {:.0} ms, {} EXPLAINs, {} cached.\n",
            thousands(self.cost_before.round() as u64),
            thousands(self.cost_after.round() as u64),
            self.relative_cost,
            if self.partial {
                ", time budget reached: best found so far"
            } else {
                ""
            },
            self.elapsed_ms,
            self.evaluations,
            self.cache_hits,
        );
        if self.chosen.is_empty() {
            out.push_str("No index pays for itself on this workload.\n");
        } else {
            let mut table = new_table(style);
            table.set_header(vec!["#", "DDL", "size"]);
            for (index, chosen) in self.chosen.iter().enumerate() {
                table.add_row(vec![
                    Cell::new(index + 1),
                    Cell::new(&chosen.ddl),
                    Cell::new(
                        chosen
                            .bytes
                            .map(|b| optidb_model::text::bytes(b as f64))
                            .unwrap_or_else(|| "-".into()),
                    ),
                ]);
            }
            out.push_str(&format!("{table}\n"));
        }
        for item in &self.uncostable {
            out.push_str(&format!("not costed: {} ({})\n", item.item, item.reason));
        }
        if !self.skipped.is_empty() {
            out.push_str(&format!(
                "{} statement(s) left out (no plan)\n",
                self.skipped.len()
            ));
        }
        out
    }
}

/// Measured effect of an index on a sandbox copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RealReport {
    /// [`crate::SCHEMA_VERSION`] of this document.
    pub schema_version: u32,
    /// The index built on the copy.
    pub ddl: String,
    /// Where the copy lives: `throwaway cluster` or the sandbox's database.
    pub sandbox: String,
    /// Tables copied.
    pub tables: Vec<CopiedTableEntry>,
    /// Statements measured.
    pub statements: Vec<MeasuredEntry>,
    /// Statements not measured, with the reason.
    pub skipped: Vec<ReasonedItem>,
    /// Index build time on the copy, ms.
    pub index_build_ms: Option<f64>,
    /// How the copy differs from the target.
    pub notes: Vec<String>,
}

/// A copied table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CopiedTableEntry {
    /// `schema.name`.
    pub name: String,
    /// Rows copied.
    pub rows_copied: u64,
    /// Whether they are a sample.
    pub sampled: bool,
}

/// One statement measured before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeasuredEntry {
    /// queryid, as a string.
    pub queryid: String,
    /// Normalized text.
    pub query: String,
    /// Median execution time before, ms.
    pub median_ms_before: f64,
    /// Median execution time after, ms.
    pub median_ms_after: f64,
    /// before / after.
    pub speedup: f64,
    /// Runs per parameter set and side.
    pub runs: usize,
    /// Parameter sets.
    pub parameter_sets: usize,
    /// Whether the plans with the index used it.
    pub uses_index: bool,
}

impl Document for RealReport {
    /// The copy, then each statement's measured times.
    fn to_table(&self, style: TableStyle) -> String {
        let copied: Vec<String> = self
            .tables
            .iter()
            .map(|t| {
                format!(
                    "{} ({} rows{})",
                    t.name,
                    thousands(t.rows_copied),
                    if t.sampled { ", sampled" } else { "" }
                )
            })
            .collect();
        let mut out = format!(
            "{}\nMeasured on a copy in {}: {}.{}\n",
            self.ddl.trim(),
            self.sandbox,
            copied.join(", "),
            self.index_build_ms
                .map(|ms| format!(" Index built in {ms:.0} ms."))
                .unwrap_or_default()
        );
        let mut table = new_table(style);
        table.set_header(vec![
            "statement",
            "median before",
            "median after",
            "speedup",
            "uses it",
        ]);
        for effect in &self.statements {
            table.add_row(vec![
                Cell::new(one_line(&effect.query, 60)),
                Cell::new(format!("{:.3} ms", effect.median_ms_before)),
                Cell::new(format!("{:.3} ms", effect.median_ms_after)),
                Cell::new(format!("{:.1}×", effect.speedup)),
                Cell::new(if effect.uses_index { "yes" } else { "no" }),
            ]);
        }
        for column in 1..4 {
            if let Some(column) = table.column_mut(column) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        out.push_str(&format!("{table}\n"));
        for item in &self.skipped {
            out.push_str(&format!("not measured: {} ({})\n", item.item, item.reason));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out
    }
}
