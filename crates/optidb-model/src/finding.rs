//! Findings: what a rule saw, with the numbers behind it and the fix it
//! suggests (which `optidb-recommend` turns into exact DDL).

use serde::{Deserialize, Serialize};

use crate::Severity;

/// One problem a rule found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's stable code, e.g. `OPT001`.
    pub code: String,
    /// The rule's kebab-case name, e.g. `missing-index`.
    pub rule: String,
    /// How much it matters.
    pub severity: Severity,
    /// One line saying what is wrong, with the key number.
    pub title: String,
    /// The statements affected (`pg_stat_statements.queryid`).
    #[serde(default)]
    pub statements: Vec<i64>,
    /// The tables involved, as `schema.name`.
    #[serde(default)]
    pub tables: Vec<String>,
    /// The indexes involved, as `schema.name`.
    #[serde(default)]
    pub indexes: Vec<String>,
    /// The numbers behind the finding.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// What would fix it.
    pub fix: Fix,
}

impl Finding {
    /// The value of the evidence called `name`.
    pub fn evidence(&self, name: &str) -> Option<f64> {
        self.evidence
            .iter()
            .find(|evidence| evidence.name == name)
            .map(|evidence| evidence.value)
    }
}

/// One number behind a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What it measures, snake_case, e.g. `rows_scanned_per_call`.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit: `rows`, `ms`, `calls`, `bytes`, `ratio`, `blocks`, `seconds`, `count`.
    pub unit: String,
}

impl Evidence {
    /// An evidence value.
    pub fn new(name: &str, value: f64, unit: &str) -> Self {
        Evidence {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
        }
    }
}

/// What would fix a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// Build an index.
    CreateIndex(IndexSpec),
    /// Drop an index (redundant, duplicate or unused).
    DropIndex {
        /// Its schema.
        schema: String,
        /// Its name.
        name: String,
        /// Its definition, so it can be recreated.
        definition: String,
    },
    /// Refresh a table's planner statistics.
    Analyze {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
    },
    /// Reclaim a table's dead rows.
    Vacuum {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
    },
    /// Give a statement more memory for sorts and hashes.
    WorkMem {
        /// The setting suggested, in kB.
        kilobytes: u64,
    },
    /// Change the statement (or the application) as advised.
    Rewrite {
        /// What to change, in plain English, with an example.
        advice: String,
    },
    /// Look into it: the evidence points somewhere no DDL reaches.
    Investigate {
        /// Where to look.
        advice: String,
    },
}

/// An index to build.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexSpec {
    /// The table's schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// Access method: `btree`, `gin`, …
    pub method: String,
    /// Keys, in order.
    pub keys: Vec<IndexKeySpec>,
    /// `INCLUDE` columns.
    #[serde(default)]
    pub include: Vec<String>,
    /// Partial index predicate.
    #[serde(default)]
    pub predicate: Option<String>,
}

/// One key of an index to build.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexKeySpec {
    /// The column (for an expression key, the column it reads).
    pub column: String,
    /// The expression, e.g. `lower(email)`; `None` for a plain column.
    #[serde(default)]
    pub expression: Option<String>,
    /// Operator class, e.g. `gin_trgm_ops`.
    #[serde(default)]
    pub opclass: Option<String>,
    /// Sorted descending.
    #[serde(default)]
    pub descending: bool,
}

impl IndexKeySpec {
    /// A plain ascending column key.
    pub fn column(name: &str) -> Self {
        IndexKeySpec {
            column: name.to_string(),
            expression: None,
            opclass: None,
            descending: false,
        }
    }
}

impl IndexSpec {
    /// The key columns (or expressions) in order, for display.
    pub fn key_list(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| key.expression.clone().unwrap_or_else(|| key.column.clone()))
            .collect()
    }
}
